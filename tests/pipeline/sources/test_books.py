"""Reading Gutenberg books (pipeline/sources/books.py): encodings, compression, drops, the real
files of ../shared/corpus-samples/books, the book dedup after the reader, and the bundled sample's
books (scripts/sample/books.py)."""
from __future__ import annotations

import bz2
import gzip
import re
from pathlib import Path

import pytest

from dedup.hashing import book_overlap, book_shingles, normalize_for_exact
from dedup.minhash import dedup_books
from pipeline.core.config import BookDedupConfig
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.sources.books import BooksConfig, declared_codec, decode_book, language_code, parse_books_file
from scripts.sample import books as sample
from tests.conftest import SHARED_SAMPLES, read_files
from tests.dedup.test_composites import _run

BOOKS = SHARED_SAMPLES / "books"
CFG = BooksConfig()
BODY = "CHAPTER I.\n\nThe caf\u00e9 by the river opened at dawn.\nIts owner, Ren\u00e9e, sang while she swept."


def gutenberg(body: str = BODY, charset: str = "UTF-8", language: str = "French") -> str:
    return (f"The Project Gutenberg EBook of Le Caf\u00e9, by Ann Example\n\nTitle: Le Caf\u00e9\n\n"
            f"Author: Ann Example\n\nRelease Date: May 1, 2010 [EBook #4242]\n\nLanguage: {language}\n\n"
            f"Character set encoding: {charset}\n\n*** START OF THIS PROJECT GUTENBERG EBOOK LE CAFE ***\n\n\n"
            f"Produced by A. Volunteer\n\n\n{body}\n\n\n*** END OF THIS PROJECT GUTENBERG EBOOK LE CAFE ***\n\n"
            "*** START: FULL LICENSE ***\nTHE FULL PROJECT GUTENBERG LICENSE\n")


def write(path: Path, data: bytes) -> str:
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    elif path.name.endswith(".bz2"):
        data = bz2.compress(data)
    path.write_bytes(data)
    return str(path)


def parse(path: str, rel: str = "books/a.txt", cfg: BooksConfig = CFG) -> Document | Dropped:
    out = list(parse_books_file(path, rel, cfg))
    assert len(out) == 1
    return out[0]


@pytest.mark.parametrize("name", ["a.txt", "a.txt.gz", "a.txt.bz2"])
def test_plain_gzip_and_bzip2(tmp_path, name):
    doc = parse(write(tmp_path / name, gutenberg().encode("utf-8")), rel="books/" + name)
    assert isinstance(doc, Document)
    assert (doc.id, doc.source, doc.text, doc.url, doc.lang) == (
        "books/" + name, "books", BODY, "https://www.gutenberg.org/ebooks/4242", "fr")
    assert doc.meta() == {"file": "books/" + name, "title": "Le Caf\u00e9", "author": "Ann Example",
                          "language": "French", "release_date": "May 1, 2010", "ebook": 4242,
                          "encoding": "utf-8", "had_header": True, "had_footer": True}


@pytest.mark.parametrize("data, encoding", [
    (b"\xef\xbb\xbf" + gutenberg().encode("utf-8"), "utf-8-sig"),
    (gutenberg().encode("utf-8"), "utf-8"),
    (gutenberg().encode("utf-16"), "utf-16"),  # with its BOM
    (gutenberg(charset="ISO-8859-1").encode("latin-1"), "latin-1"),
    (gutenberg(charset="ISO Latin-1").encode("latin-1"), "latin-1"),
    (gutenberg(charset="").encode("latin-1"), "latin-1"),  # nothing declared: the 8-bit fallback
    (gutenberg(charset="UTF-8").encode("latin-1"), "latin-1"),  # a wrong declaration is not trusted
    (gutenberg(charset="ASCII").encode("latin-1"), "latin-1"),
])
def test_encodings_decode_to_the_same_body(tmp_path, data, encoding):
    doc = parse(write(tmp_path / "a.txt", data))
    assert doc.text == BODY and doc.meta()["encoding"] == encoding
    assert "\ufeff" not in doc.text


def test_pure_ascii_is_reported_as_ascii(tmp_path):
    doc = parse(write(tmp_path / "a.txt", gutenberg(body="Plain words only.").encode("ascii", "replace")))
    assert doc.text == "Plain words only." and doc.meta()["encoding"] == "ascii"


def test_declared_latin1_with_cp1252_quotes(tmp_path):
    """Bytes 0x93/0x94 are invisible C1 controls in Latin-1: such files are really Windows-1252."""
    data = gutenberg(body="He said \x93yes\x94.", charset="ISO-8859-1").encode("latin-1")
    doc = parse(write(tmp_path / "a.txt", data))
    assert doc.text == "He said \u201cyes\u201d." and doc.meta()["encoding"] == "cp1252"


def test_other_declared_charset(tmp_path):
    data = gutenberg(body="Price: 5 \u20ac.", charset="ISO-8859-15").encode("iso8859_15")
    doc = parse(write(tmp_path / "a.txt", data))
    assert doc.text == "Price: 5 \u20ac." and doc.meta()["encoding"] == "iso8859-15"


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_ends_become_lf(tmp_path, newline):
    data = gutenberg().replace("\n", newline).encode("utf-8")
    doc = parse(write(tmp_path / "a.txt", data))
    assert doc.text == BODY and "\r" not in doc.text


def test_declared_codec():
    assert declared_codec(b"Title: X\r\nCharacter set encoding: ISO-646-US (US-ASCII)\r\n") == "ascii"
    assert declared_codec(b"Character set encoding: ISO-8859-1\n") == "latin-1"
    assert declared_codec(b"Character set encoding: ISO-8859-15\n") == "iso8859-15"
    assert declared_codec(b"Character set encoding: UTF-8\n") == "utf-8"
    assert declared_codec(b"Character set encoding: Klingon\n") is None
    assert declared_codec(b"no declaration") is None


def test_bom_with_a_bad_byte_keeps_the_book():
    text, codec = decode_book(b"\xef\xbb\xbfcaf\xc3\xa9 and \xe9t\xe9")
    assert (text, codec) == ("caf\u00e9 and \ufffdt\ufffd", "utf-8-sig")


def test_decode_never_fails():
    assert decode_book(bytes(range(256)))[1] == "latin-1"  # cp1252 leaves 0x81 undefined


@pytest.mark.parametrize("name, code", [("English", "en"), ("Spanish", "es"), ("French", "fr"), ("Dutch", "nl"),
                                        ("Latin", "la"), (" german ", "de"), ("English and French", None),
                                        ("Klingon", None), (None, None), ("", None)])
def test_language_code(name, code):
    assert language_code(name) == code


def test_no_boilerplate_kept_whole(tmp_path):
    text = "[Illustration]\n\nA Short Book\n\nby Someone\n\nIt began on a Tuesday."
    doc = parse(write(tmp_path / "a.txt", text.encode("utf-8")))
    assert doc.text == text and doc.url is None and doc.lang is None
    assert not doc.meta()["had_header"] and not doc.meta()["had_footer"]


@pytest.mark.parametrize("data", [b"", b"   \r\n\t\r\n", b"\xef\xbb\xbf\n\n", gutenberg(body="").encode("utf-8")])
def test_empty_whitespace_and_boilerplate_only_are_dropped(tmp_path, data):
    out = parse(write(tmp_path / "a.txt", data))
    assert isinstance(out, Dropped) and out.reason is DropReason.EMPTY and out.stage == "read"
    assert out.doc.id == "books/a.txt" and out.doc.meta()["file"] == "books/a.txt"


def test_min_chars(tmp_path):
    out = parse(write(tmp_path / "a.txt", b"Too short."), cfg=BooksConfig(min_chars=100))
    assert isinstance(out, Dropped) and out.reason is DropReason.EMPTY


@pytest.mark.parametrize("name", ["a.txt", "a.txt.gz"])
def test_too_large(tmp_path, name):
    path = write(tmp_path / name, b"word " * 1000)
    out = parse(path, cfg=BooksConfig(max_book_bytes=4999))
    assert isinstance(out, Dropped) and out.reason is DropReason.TOO_LARGE and "4999" in out.detail
    assert isinstance(parse(path, cfg=BooksConfig(max_book_bytes=5000)), Document)


def test_truncated_gzip_is_a_parse_error(tmp_path):
    path = tmp_path / "a.txt.gz"
    write(path, gutenberg(body=BODY * 200).encode("utf-8"))
    path.write_bytes(path.read_bytes()[:-100])
    out = parse(str(path))
    assert isinstance(out, Dropped) and out.reason is DropReason.PARSE_ERROR and "stream broken" in out.detail


def test_not_gzip_at_all_is_a_parse_error(tmp_path):
    path = tmp_path / "a.txt.gz"
    path.write_bytes(b"I was never compressed.\n")
    out = parse(str(path))
    assert isinstance(out, Dropped) and out.reason is DropReason.PARSE_ERROR


def test_read_books_composite(tmp_path):
    good = write(tmp_path / "good.txt", gutenberg().encode("utf-8"))
    empty = write(tmp_path / "empty.txt", b"")
    kept, dropped = read_files("books", parse_books_file, [(good, "good.txt"), (empty, "empty.txt")], CFG)
    assert [(d.id, d.text) for d in kept] == [("good.txt", BODY)]
    assert [(d.doc.id, d.reason.value) for d in dropped] == [("empty.txt", "empty")]


# --- the real Gutenberg files (read-only, ../shared/corpus-samples/books) --------------------------
EXPECTED = {  # file: (title starts with, author, language, lang, ebook)
    "pg11_en_Alice_PGgithub_NOHEADER.txt": (None, None, None, None, None),
    "pg1342_en_PrideAndPrejudice_HEADER-STRIPPED-FOOTER-KEPT.txt": ("Pride and Prejudice", "Jane Austen", None, None,
                                                                    None),
    "pg2000_es_DonQuijote.txt": ("Don Quijote", "Miguel de Cervantes Saavedra", "Spanish", "es", 2000),
    "pg24675_nl_Ontboezemingen_latin1.txt": ("Ontboezemingen", "Gabri\u00ebl (AKA Carel van Nievelt)", "Dutch", "nl",
                                             24675),
    "pg31894_la_TwoLatinPlays.txt": ("Two Latin Plays for High-School Students", "Susan Paxson", "Latin", "la", 31894),
    "pg3261_en_NewsFromNowhere.txt": ("News from Nowhere", "William Morris", "English", "en", 3261),
    "pg3261_en_NewsFromNowhere_OLD-EDITION_nwsnw10.txt": ("News from Nowhere", "William Morris", "English", "en", 3261),
    "pg44157_fr_EntreNous_latin1.txt": ("Entre Nous", "Lucie Vos", "French", "fr", 44157),
    "pg44157_fr_EntreNous_utf8.txt": ("Entre Nous", "Lucie Vos", "French", "fr", 44157),
    "pg972_en_DevilsDictionary.txt": ("The Devil's Dictionary", "Ambrose Bierce", "English", "en", 972),
    # The 1993 small-print file has no Title:/Author:/Language: fields: its banner line names them.
    "pg972_en_DevilsDictionary_OLD-EDITION_dvldc10.txt": ("The Devil's Dictionary", "Bierce", None, None, 972),
}
SAME_BOOK = [
    ("pg972_en_DevilsDictionary.txt", "pg972_en_DevilsDictionary_OLD-EDITION_dvldc10.txt"),
    ("pg3261_en_NewsFromNowhere.txt", "pg3261_en_NewsFromNowhere_OLD-EDITION_nwsnw10.txt"),
    ("pg44157_fr_EntreNous_utf8.txt", "pg44157_fr_EntreNous_latin1.txt"),
]
_BOILERPLATE_RE = re.compile(
    r"(?i)START OF (THE|THIS) PROJECT GUTENBERG|END OF (THE|THIS) PROJECT GUTENBERG|SMALL PRINT\b|"
    r"gutenberg\.(org|net)|Project Gutenberg(-tm|\u2122)|End of (the )?Project Gutenberg|FULL LICENSE|"
    r"This file should be named|^\s*Produced by|Distributed Proofreading")
# The only lines naming Project Gutenberg left in any real book: the transcriber's own notes in
# Ontboezemingen's body, which belong to that edition's text.
_BODY_MENTIONS = {"[Note Project Gutenberg: music transcribed in Lilypond format]",
                  "[Note Project Gutenberg: Music transcribed in Lilypond format]"}


@pytest.fixture(scope="module")
def real_books() -> dict[str, Document]:
    if not BOOKS.is_dir():
        pytest.skip(f"{BOOKS} is not present")
    out = {p.name: parse(str(p), rel=p.name) for p in sorted(BOOKS.glob("*.txt"))}
    assert sorted(out) == sorted(EXPECTED)
    assert all(isinstance(d, Document) for d in out.values())
    return out


def test_real_books_metadata(real_books):
    for name, (title, author, language, lang, ebook) in EXPECTED.items():
        doc, meta = real_books[name], real_books[name].meta()
        assert (meta["title"] or "").startswith(title or ""), name
        assert (title is None) == (meta["title"] is None), name
        assert (meta["author"], meta["language"], doc.lang, meta["ebook"]) == (author, language, lang, ebook), name
        assert doc.url == (f"https://www.gutenberg.org/ebooks/{ebook}" if ebook else None)
        assert doc.id == name and "\r" not in doc.text and "\ufeff" not in doc.text


def test_real_books_lose_all_boilerplate(real_books):
    for name, doc in real_books.items():
        lines = doc.text.split("\n")
        assert not [x for x in lines if _BOILERPLATE_RE.search(x)], name
        mentions = {x.strip() for x in lines if re.search(r"(?i)project\s+gutenberg", x)}
        assert mentions <= _BODY_MENTIONS, (name, mentions)


def test_real_encodings(real_books):
    encodings = {name: d.meta()["encoding"] for name, d in real_books.items()}
    assert encodings["pg2000_es_DonQuijote.txt"] == "utf-8-sig"
    assert encodings["pg24675_nl_Ontboezemingen_latin1.txt"] == "latin-1"
    assert encodings["pg44157_fr_EntreNous_latin1.txt"] == "latin-1"
    assert encodings["pg972_en_DevilsDictionary.txt"] == "ascii"
    assert "Gabri\u00ebl" in real_books["pg24675_nl_Ontboezemingen_latin1.txt"].text


def test_entre_nous_latin1_and_utf8_are_the_same_body(real_books):
    """The Latin-1 edition spells typography differently (' for \u2019, oe for \u0153, \u00ab\u00bb for \u201e\u201d),
    so bodies match on CCNet-normalized word 5-grams, as the book dedup compares them."""
    a, b = (normalize_for_exact(real_books[f"pg44157_fr_EntreNous_{e}.txt"].text, "ccnet") for e in ("utf8", "latin1"))
    assert book_overlap(book_shingles(a), book_shingles(b)) > 0.99
    assert real_books["pg44157_fr_EntreNous_latin1.txt"].text.startswith("  Au lecteur.")
    assert real_books["pg44157_fr_EntreNous_utf8.txt"].text.startswith("  Au lecteur.")


def test_don_quijote(real_books):
    doc = real_books["pg2000_es_DonQuijote.txt"]
    assert doc.lang == "es" and doc.text.startswith("El ingenioso hidalgo don Quijote de la Mancha")
    assert doc.text.endswith("Vale.\n\nFin")


def test_alice_without_boilerplate_is_kept_whole(real_books):
    raw = (BOOKS / "pg11_en_Alice_PGgithub_NOHEADER.txt").read_bytes().decode("utf-8")
    assert real_books["pg11_en_Alice_PGgithub_NOHEADER.txt"].text == raw.strip("\n")


def test_pride_and_prejudice_loses_its_footer(real_books):
    doc = real_books["pg1342_en_PrideAndPrejudice_HEADER-STRIPPED-FOOTER-KEPT.txt"]
    meta = doc.meta()
    assert not meta["had_header"] and meta["had_footer"]
    assert doc.text.endswith("TOOKS COURT, CHANCERY LANE, LONDON.")
    assert not doc.text.startswith("Title:") and "Author: Jane Austen" not in doc.text
    assert len(doc.text) > 650_000  # the book itself stays (the file is 744 KB with the licence)


def test_old_editions_lose_small_print_and_credits(real_books):
    old = real_books["pg3261_en_NewsFromNowhere_OLD-EDITION_nwsnw10.txt"]
    assert old.text.startswith("NEWS FROM NOWHERE\nor AN EPOCH OF REST")
    assert old.text.endswith("{3}  Cirencester and Burford he must have meant.")
    assert real_books["pg3261_en_NewsFromNowhere.txt"].text.startswith("NEWS FROM NOWHERE\nOR\nAN EPOCH OF REST")


def test_dedup_collapses_the_real_editions(real_books):
    docs = list(real_books.values())
    kept, dropped, stats = _run(dedup_books("books", BookDedupConfig()), docs)
    for a, b in SAME_BOOK:
        assert (a in kept) != (b in kept), (a, b)
        loser = b if a in kept else a
        assert dropped[loser][0] == "duplicate_book" and dropped[loser][1]["duplicate_of"] in (a, b)
    assert sorted(kept + list(dropped)) == sorted(EXPECTED) and len(kept) == len(EXPECTED) - 3
    assert stats["books"]["books"]["clusters"] == 3 and stats["books"]["books"]["max_cluster"] == 2


# --- the bundled sample's books ---------------------------------------------------------------------
def test_sample_is_byte_identical_across_runs(tmp_path):
    sample.write_sample(tmp_path / "one")
    sample.write_sample(tmp_path / "two")
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(sample.FILENAMES)
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert sum((tmp_path / "one" / n).stat().st_size for n in names) < 40_000


def test_sample_outcomes(tmp_path):
    sample.write_sample(tmp_path)
    docs = {n: parse(str(tmp_path / n), rel=n) for n in sample.FILENAMES}
    assert all(isinstance(d, Document) for d in docs.values())
    for doc in docs.values():
        assert not re.search(r"(?i)gutenberg|small print|produced by|prepared by|transcribed from|licen[cs]e", doc.text)
        assert "\r" not in doc.text and "\ufeff" not in doc.text
    keeper, old, jardin, commonplace, birds = (docs[n] for n in sample.FILENAMES)
    assert keeper.text.startswith("THE KEEPER OF GULL ROCK") and keeper.meta()["encoding"] == "utf-8-sig"
    assert (keeper.lang, keeper.url, old.url) == ("en", "https://www.gutenberg.org/ebooks/90001", keeper.url)
    assert old.meta()["encoding"] == "ascii" and "harbor" in old.text
    assert (jardin.lang, jardin.meta()["encoding"]) == ("fr", "latin-1")
    assert "\u00c0 l'automne" in jardin.text and "L\u00e9on" in jardin.text
    assert (commonplace.meta()["title"], commonplace.meta()["author"], commonplace.meta()["ebook"]) == (
        "On Keeping a Commonplace Book", "Henry Corral", 90003)
    assert birds.text == sample.BIRDS_TEXT.strip() and not birds.meta()["had_header"]


def test_sample_editions_collapse(tmp_path):
    sample.write_sample(tmp_path)
    docs = [parse(str(tmp_path / n), rel=n) for n in sample.FILENAMES]
    kept, dropped, _ = _run(dedup_books("books", BookDedupConfig()), docs)
    assert (sample.KEEPER in kept) != (sample.KEEPER_OLD in kept)
    assert len(kept) == 4 and [r for r, _ in dropped.values()] == ["duplicate_book"]
