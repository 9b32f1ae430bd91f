"""dedup/hashing.py: exact-dedup normalization and hashes, CCNet line normalization, C4 sentence
spans, and the book overlap measure (on the real near-duplicate Gutenberg editions too)."""
from __future__ import annotations

from pathlib import Path

import pytest
import xxhash

from dedup.hashing import (
    NORMALIZATION_MODES,
    book_overlap,
    book_shingles,
    content_hash,
    line_hash,
    normalize_for_exact,
    sentence_spans,
)
from pipeline.core.text import normalize_for_dedup, normalize_line, sentence_offsets

BLANKS = ["", " ", "\t\n  \r\n", "\u3000\xa0"]
FIVE_SENTENCES = ("The market opens early. Farmers bring fresh bread! Prices stay fair?\n"
                  "Children ride the carousel. Parking is free nearby.")


def read_book(path: Path) -> str:
    data = path.read_bytes()
    return data.decode("latin-1") if "latin1" in path.name else data.decode("utf-8")


# --- normalize_for_exact ---------------------------------------------------------------------

def test_normalize_none_keeps_text():
    text = "  Hello\t World \n"
    assert normalize_for_exact(text, "none") == text


def test_normalize_whitespace_strips_and_collapses():
    assert normalize_for_exact("  Hello\t\t World \n again ", "whitespace") == "Hello World again"


def test_normalize_lower():
    assert normalize_for_exact("  Hello\t World ", "lower") == "hello world"


def test_normalize_ccnet_is_per_line():
    text = "Café 2024\n  Ünïcode — dash  \n"
    expected = "\n".join(normalize_line(line) for line in text.split("\n"))
    assert normalize_for_exact(text, "ccnet") == expected == "cafe 0000\nunicode  -  dash\n"


@pytest.mark.parametrize("mode", NORMALIZATION_MODES)
@pytest.mark.parametrize("text", BLANKS)
def test_normalize_blank_text(mode, text):
    expected = {"none": text, "ccnet": "\n".join("" for _ in text.split("\n"))}.get(mode, "")
    assert normalize_for_exact(text, mode) == expected


def test_normalize_unknown_mode_lists_valid_ones():
    with pytest.raises(ValueError, match="none, whitespace, lower, ccnet"):
        normalize_for_exact("text", "nfkc")


# --- content_hash ----------------------------------------------------------------------------

def test_content_hash_is_pinned_128_bit_hex():
    # Pinned values: a change of hash function or encoding would silently break cross-run dedup.
    assert content_hash("hello world") == "df8d09e93f874900a99b8775cc15b6c7"
    assert content_hash("") == "99aa06d3014798d86001c324468d497f"
    assert len(content_hash("x")) == 32 and int(content_hash("x"), 16) < 2**128


def test_content_hash_differs_and_handles_surrogates():
    assert content_hash("a") != content_hash("b")
    assert content_hash("broken \ud800 text") != content_hash("broken  text")


# --- normalize_line (CCNet) ------------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("  Hello World  ", "hello world"),                      # strip, case
    ("Crème Brûlée à l'Ångström", "creme brulee a l'angstrom"),  # accents
    ("Call 555-1234 in 2024", "call 000-0000 in 0000"),       # digits
    ("٣ apples and ０２３", "0 apples and 000"),                # Unicode digits
    ("“Hello” — he said…", '"hello"  -  he said...'),         # CCNet punctuation map
    ("a\tb\x00c\x7fd\x9fe", "abcde"),                          # non-printing characters removed
    ("ÉCOLE", "ecole"),
])
def test_normalize_line_examples(line, expected):
    assert normalize_line(line) == expected


def test_normalize_line_matches_ccnet_tests():
    # cc_net tests/test_normalizer.py: test_numbers, and test_unicode_punct through normalize()
    # (with numbers=True the full-width one is a digit before it is punctuation).
    assert normalize_line("０２３４５６７８９ | 0123456789") == "000000000 | 0000000000"
    weird = "，。、„”“«»１」「《》´∶：？！（）；–—．～’…━〈〉【】％"
    assert normalize_line(weird) == ',.,"""""0""""\'::?!();- - . ~\'...-<>[]%'


def test_normalize_line_keeps_ccnet_quirks():
    assert normalize_line("\x01 padded") == " padded"  # removed after the strip, not re-stripped
    assert normalize_line("한") == "\u1112\u1161\u11ab"  # output stays NFD (Hangul jamo)


@pytest.mark.parametrize("line", BLANKS)
def test_normalize_line_blank(line):
    assert normalize_line(line) == ""


# --- line_hash -------------------------------------------------------------------------------

def test_line_hash_is_64_bit_of_normalized_line():
    assert line_hash("Hello World") == xxhash.xxh3_64_intdigest(b"hello world")
    assert 0 <= line_hash("anything") < 2**64


def test_line_hash_equal_for_ccnet_dedup_equivalent_lines():
    # cc_net normalize_for_dedup: case and digits folded, unicode punctuation deleted...
    assert line_hash("  Café opened in 1999… ") == line_hash("café OPENED in 2024")
    assert line_hash("one line") != line_hash("another line")
    # ... accents and ASCII punctuation kept, unlike normalize_line
    assert line_hash("Café opened.") != line_hash("cafe opened.")
    assert line_hash("opened.") != line_hash("opened")


# Expected values worked out by hand from cc_net/text_normalizer.py normalize_for_dedup: strip,
# lower, DIGIT_RE -> "0", PUNCT_OR_NON_PRINTING_CHARS_RE (UNICODE_PUNCT keys, chr 0-31, 127-159)
# deleted.
@pytest.mark.parametrize("line, expected", [
    ("  Hello, World!  ", "hello, world!"),
    ("Prix : 1 234,56 €", "prix : 0 000,00 €"),
    ("«Bonjour» — dit-il…", "bonjour  dit-il"),
    ("Ünïcödé ＡＢＣ", "ünïcödé ａｂｃ"),
    ("a\tb\x85c", "abc"),
    ("０１２ ٣", "000 0"),
    ("【note】：ok？", "noteok"),
])
def test_normalize_for_dedup_matches_ccnet(line, expected):
    assert normalize_for_dedup(line) == expected


@pytest.mark.parametrize("line", BLANKS)
def test_normalize_for_dedup_blank(line):
    assert normalize_for_dedup(line) == ""


@pytest.mark.parametrize("line", BLANKS)
def test_line_hash_blank_lines_share_the_empty_hash(line):
    assert line_hash(line) == 0x2D06800538D394C2  # xxh3_64(b"")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` (sentence_offsets), as strings."""
    return [text[lo:hi] for lo, hi in sentence_offsets(text)]


# --- split_sentences / sentence_spans (C4) ---------------------------------------------------

def test_split_sentences():
    assert split_sentences(FIVE_SENTENCES) == [
        "The market opens early.", "Farmers bring fresh bread!", "Prices stay fair?",
        "Children ride the carousel.", "Parking is free nearby."]


def test_split_sentences_abbreviations_quotes_and_lines():
    text = 'Dr. Who met J. R. Smith. He said "stop!" Then left\nA new line  '
    assert split_sentences(text) == ["Dr. Who met J. R. Smith.", 'He said "stop!"', "Then left",
                                     "A new line"]


@pytest.mark.parametrize("text", BLANKS)
def test_split_sentences_blank(text):
    assert split_sentences(text) == []
    assert sentence_spans(text) == []


def test_split_sentences_agrees_with_c4_count():
    c4 = pytest.importorskip("filters.c4")
    for text in [FIVE_SENTENCES, "Dr. Who met J. R. Smith. Yes... no?! ok", "x\n\n  y.  z", ""]:
        assert len(split_sentences(text)) == c4.count_sentences(text)


def test_sentence_spans_slide_by_one_sentence():
    spans = sentence_spans(FIVE_SENTENCES)
    sentences = split_sentences(FIVE_SENTENCES)
    assert len(spans) == 3  # sentences 1-3, 2-4, 3-5
    for i, (_, start, end) in enumerate(spans):
        assert FIVE_SENTENCES[start:end].startswith(sentences[i])
        assert FIVE_SENTENCES[start:end].endswith(sentences[i + 2])
    assert len({h for h, _, _ in spans}) == 3


def test_sentence_spans_hash_ignores_case_and_whitespace():
    moved = "Intro text here. " + FIVE_SENTENCES.upper().replace(" ", "  ").replace("\n", " ")
    assert [h for h, _, _ in sentence_spans(FIVE_SENTENCES)] == [h for h, _, _ in sentence_spans(moved)][1:]


def test_sentence_spans_short_text_and_span_size():
    assert sentence_spans("Only one sentence. And two.") == []
    singles = sentence_spans(FIVE_SENTENCES, span=1)
    assert [FIVE_SENTENCES[s:e] for _, s, e in singles] == split_sentences(FIVE_SENTENCES)
    with pytest.raises(ValueError, match="span"):
        sentence_spans(FIVE_SENTENCES, span=0)


# --- book_overlap ----------------------------------------------------------------------------

def test_book_overlap_cases():
    assert book_overlap({1, 2, 3}, {1, 2, 3}) == 1.0
    assert book_overlap({1, 2, 3, 4}, {3, 4, 5, 6}) == 0.5
    assert book_overlap({1, 2}, {3, 4}) == 0.0
    assert book_overlap({1, 2}, {1, 2, 3, 4, 5, 6, 7, 8}) == 1.0  # abridged inside full edition
    assert book_overlap({1, 2, 9}, {1, 2, 3, 4}) == book_overlap({1, 2, 3, 4}, {1, 2, 9})


@pytest.mark.parametrize("a, b", [(set(), {1}), ({1}, set()), (set(), set())])
def test_book_overlap_empty(a, b):
    assert book_overlap(a, b) == 0.0


def test_book_shingles():
    text = "One two three four five six"
    assert book_shingles(text) == {xxhash.xxh3_64_intdigest(b"one two three four five"),
                                   xxhash.xxh3_64_intdigest(b"two three four five six")}
    assert book_shingles("   ") == set()
    abridged = " ".join(f"w{i}" for i in range(100))
    full = " ".join(f"w{i}" for i in range(1000))
    assert book_overlap(book_shingles(abridged), book_shingles(full)) == 1.0


def test_book_overlap_on_real_editions(shared_samples):
    books = shared_samples / "books"
    new = read_book(books / "pg3261_en_NewsFromNowhere.txt")
    old = read_book(books / "pg3261_en_NewsFromNowhere_OLD-EDITION_nwsnw10.txt")
    alice = read_book(books / "pg11_en_Alice_PGgithub_NOHEADER.txt")
    assert book_overlap(book_shingles(new), book_shingles(old)) > 0.9  # LLaMA drops this pair
    assert book_overlap(book_shingles(new), book_shingles(alice)) < 0.05
