"""Wikipedia: wikitext cleaning (pipeline/sources/wikitext.py), dump reading and page filtering
(pipeline/sources/wikipedia.py), the bundled sample (scripts/sample/wikipedia.py), and the real
dumps in ../shared/corpus-samples/wikipedia."""
from __future__ import annotations

import bz2
import dataclasses
import random
from html import escape
from pathlib import Path

import pytest

from pipeline.core.document import Document, Dropped, DropReason
from pipeline.sources.wikipedia import WikipediaConfig, clean_wikipedia, parse_wikipedia_file, wikitext_to_text
from scripts.sample.wikipedia import write_sample

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_DUMPS = REPO_ROOT.parent / "shared" / "corpus-samples" / "wikipedia"
CFG = WikipediaConfig()
MARKUP = ("[[", "{{", "<ref", "|}", "{|")


# ---------------------------------------------------------------- wikitext_to_text

@pytest.mark.parametrize("wikitext, expected", [
    ("A {{Infobox x|a=1|b={{nested}}}} B", "A B"),
    ("Fact.<ref>Cite {{cite web|url=x}}</ref> Next<ref name=a/> end<ref name=\"b\" />.", "Fact. Next end."),
    ("A <!-- hidden [[link]] --> B", "A B"),
    ("Before\n{| class=wikitable\n|-\n! H\n|-\n| cell || cell2\n|}\nAfter", "Before\n\nAfter"),
    ("Text\n[[Category:Foo]] [[category:lower case]]", "Text"),
    ("Text\n[[Категория:Бар]] [[Категорія:X]] [[Категорија:Y]] [[Kategorie:Z]]", "Text"),
    ("A [[File:x.jpg|thumb|cap [[L]]]] B [[Image:y.png]] C", "A B C"),
    ("A [[Файл:z.png|мини]] [[Изображение:q.jpg]] [[Datei:a.png]] [[Fichier:b.png|vignette]] B", "A B"),
    ("Text [[de:Foo]] [[fr:Bar|Barre]] [[zh-min-nan:X]]", "Text"),
    ("[[Paris|the capital]] and [[London]]", "the capital and London"),
    ("[[Paris, Texas|]] and [[Mercury (planet)|]]", "Paris and Mercury"),
    ("[[:Category:Foo]] and [[:de:Haus|a German page]]", "Category:Foo and a German page"),
    ("See [http://example.com the site], [http://bare.example.com] or http://free.example.com",
     "See the site, or http://free.example.com"),
    ("Intro\n== Section ==\nBody\n=== Sub ===\nMore", "Intro\n\nSection\n\nBody\n\nSub\n\nMore"),
    ("'''bold''' and ''italic'' and '''''both'''''", "bold and italic and both"),
    ("* one\n* two\n# three\n: indent\n; term : definition", "one\ntwo\nthree\nindent\nterm definition"),
    ("a&nbsp;b &amp; c &lt;d&gt; &mdash; e", "a b & c <d> — e"),
    ("__TOC__\nText __NOTOC__ and __init__", "Text and __init__"),
    ("<b>bold</b> <span style=\"x\">span</span> <sup>2</sup>", "bold span 2"),
    ("A<gallery>\nFile:a.jpg|caption\n</gallery> B <math>x^2</math> C <timeline>x</timeline>", "A B C"),
    ("Name ({{IPA|x}}; born 1809) is ({{lang|x}}, {{lang|y}}) here {{c}}.", "Name (born 1809) is here."),
    ("Text\n== References ==\n<references/>\n== External links ==\n{{Commons}}", "Text"),
    ("Line one   \nLine two\n\n\n\n\nLine three", "Line one\nLine two\n\nLine three"),
])
def test_wikitext_to_text(wikitext, expected):
    assert wikitext_to_text(wikitext) == expected


def test_siteinfo_prefixes_are_recognised():
    text = "Word [[Pilt:Foo.jpg|thumb]] [[Kategooria:Bar]]"  # Estonian: not in the built-in table
    assert wikitext_to_text(text) == "Word thumb Kategooria:Bar"
    assert wikitext_to_text(text, file_prefixes=["Pilt"], category_prefixes=["Kategooria"]) == "Word"


@pytest.mark.parametrize("wikitext", ["", " ", "   \n\t \n", "{{only a template}}", "[[Category:X]]",
                                      "<!-- comment -->", "<ref>only a ref</ref>"])
def test_empty_and_markup_only_input_gives_empty_text(wikitext):
    assert wikitext_to_text(wikitext) == ""


@pytest.mark.parametrize("wikitext, expected", [
    ("{{unclosed template\ntext", "unclosed template\ntext"),
    ("[[unclosed link", "unclosed link"),
    ("Start\n{| unclosed table\n| x\n\nAfter", "Start\nAfter"),
    ("Prose <table><tr><td>cell text</div></td></tr></table> end", "Prose cell text end"),
    ("An ''unbalanced italic<ref>Ref ''text</ref> and [[Link|la''bel]]", "An unbalanced italic and label"),
])
def test_malformed_markup_leaves_no_brackets(wikitext, expected):
    assert wikitext_to_text(wikitext) == expected


def test_never_raises_and_leaves_no_markup_on_random_input():
    pieces = ["{{", "}}", "[[", "]]", "|", "{|", "|}", "<ref>", "</ref>", "<ref name=x/>", "<!--", "-->",
              "''", "'''", "==", "\n", "*", "#", ":", "&nbsp;", "&#99999999;", "<b>", "</b>", "<math>",
              "word", " ", "[http://a.example b]", "File:", "Category:", "<table>", "<td>", "__TOC__", "<", "&"]
    rng = random.Random(0)
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        out = wikitext_to_text(text)
        assert not any(token in out for token in MARKUP), (text, out)


# ---------------------------------------------------------------- parse_wikipedia_file

SITEINFO = """  <siteinfo>
    <sitename>Вікіпедія</sitename>
    <dbname>ukwiki</dbname>
    <base>https://uk.wikipedia.org/wiki/Main</base>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="1" case="first-letter">Обговорення</namespace>
      <namespace key="6" case="first-letter">Файл</namespace>
      <namespace key="14" case="first-letter">Категорія</namespace>
    </namespaces>
  </siteinfo>
"""


def page_xml(title: str, page_id: int, text: str, ns: int | None = 0, redirect: bool = False) -> str:
    ns_line = f"    <ns>{ns}</ns>\n" if ns is not None else ""
    redirect_line = f'    <redirect title="{escape(title)}" />\n' if redirect else ""
    return (f"  <page>\n    <title>{escape(title)}</title>\n{ns_line}    <id>{page_id}</id>\n{redirect_line}"
            f"    <revision>\n      <id>{page_id * 10}</id>\n      <timestamp>2016-07-31T20:42:58Z</timestamp>\n"
            f"      <text xml:space=\"preserve\">{escape(text, quote=False)}</text>\n    </revision>\n  </page>\n")


def dump_xml(pages: list[str], siteinfo: str = SITEINFO, schema: str = "0.10") -> str:
    return (f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-{schema}/" version="{schema}" xml:lang="uk">\n'
            + siteinfo + "".join(pages) + "</mediawiki>\n")


def write(path: Path, text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(bz2.compress(data) if path.name.endswith(".bz2") else data)
    return str(path)


def parse(path: str, rel: str | None = None, cfg: WikipediaConfig = CFG) -> list[Document | Dropped]:
    return list(parse_wikipedia_file(path, rel or Path(path).name, cfg))


THREE_PAGES = [page_xml("Київ", 1, "'''Київ''' — столиця [[Україна|України]]."),
               page_xml("Обговорення:Київ", 2, "Питання", ns=1),
               page_xml("Kiev", 3, "#ПЕРЕНАПРАВЛЕННЯ [[Київ]]")]


@pytest.mark.parametrize("name", ["ukwiki-test.xml", "ukwiki-test.xml.bz2"])
def test_parse_plain_and_bz2(tmp_path, name):
    docs = parse(write(tmp_path / name, dump_xml(THREE_PAGES)))
    assert [d.id for d in docs] == ["ukwiki/1", "ukwiki/2", "ukwiki/3"]
    doc = docs[0]
    assert isinstance(doc, Document)
    assert (doc.source, doc.lang, doc.lang_score, doc.created) == ("wikipedia", "uk", None, "2016-07-31T20:42:58Z")
    assert doc.text == "'''Київ''' — столиця [[Україна|України]]."
    assert doc.url == "https://uk.wikipedia.org/wiki/%D0%9A%D0%B8%D1%97%D0%B2"
    meta = doc.meta()
    assert meta == {"title": "Київ", "page_id": 1, "revision_id": 10, "ns": 0, "redirect": False,
                    "dbname": "ukwiki", "file": name,
                    "ns_aliases": {"file": ["Файл"], "category": ["Категорія"]}}
    assert docs[1].meta()["ns"] == 1
    assert docs[2].meta()["redirect"] is True  # localized "#ПЕРЕНАПРАВЛЕННЯ", no <redirect> element


def test_parse_multistream_bz2(tmp_path):
    text = dump_xml(THREE_PAGES)
    cut = text.index("  <page>", text.index("</page>"))  # header + first page | the rest
    path = tmp_path / "ukwiki-multistream.xml.bz2"
    path.write_bytes(bz2.compress(text[:cut].encode()) + bz2.compress(text[cut:].encode()))
    assert [d.id for d in parse(str(path))] == ["ukwiki/1", "ukwiki/2", "ukwiki/3"]


def test_schema_0_3_without_ns_uses_title_prefix(tmp_path):
    pages = [page_xml("Pear", 1, "A fruit.", ns=None), page_xml("Talk:Pear", 2, "Hi", ns=None),
             page_xml("Category:Fruit", 3, "Fruits", ns=None), page_xml("Star Wars: A New Hope", 4, "Film", ns=None)]
    docs = parse(write(tmp_path / "enwiki-old.xml", dump_xml(pages, siteinfo="", schema="0.3")))
    assert [d.meta()["ns"] for d in docs] == [0, 1, 14, 0]
    assert [d.lang for d in docs] == ["en"] * 4  # no siteinfo: language from the file name
    assert docs[0].id == "enwiki/1" and docs[0].meta()["dbname"] == "enwiki"


def test_malformed_page_is_one_drop_and_reading_goes_on(tmp_path):
    bad = "  <page>\n    <title>Broken & unescaped</title>\n    <id>2</id>\n  </page>\n"
    docs = parse(write(tmp_path / "ukwiki-bad.xml", dump_xml([THREE_PAGES[0], bad, THREE_PAGES[2]])))
    assert [type(d).__name__ for d in docs] == ["Document", "Dropped", "Document"]
    drop = docs[1]
    assert (drop.reason, drop.stage, drop.doc.source, drop.doc.text) == (
        DropReason.PARSE_ERROR, "read", "wikipedia", "")
    assert drop.doc.id == "ukwiki-bad.xml#page-at-line-23"  # 12 header lines, then a 10-line page
    assert "malformed page XML" in drop.detail


def test_page_without_closing_tag_and_page_without_id(tmp_path):
    unclosed = "  <page>\n    <title>Cut</title>\n"
    no_id = page_xml("No id", 5, "text").replace("<id>5</id>", "")
    docs = parse(write(tmp_path / "ukwiki-x.xml", dump_xml([unclosed, no_id, THREE_PAGES[0]])))
    assert [getattr(d, "reason", None) for d in docs] == [DropReason.PARSE_ERROR, DropReason.PARSE_ERROR, None]
    assert "no </page>" in docs[0].detail and "numeric <id>" in docs[1].detail


def test_oversized_page_is_dropped(tmp_path):
    big = page_xml("Big", 2, "x" * 5000)
    cfg = dataclasses.replace(CFG, max_page_bytes=2000)
    docs = parse(write(tmp_path / "ukwiki-big.xml", dump_xml([THREE_PAGES[0], big, THREE_PAGES[2]])), cfg=cfg)
    assert [getattr(d, "reason", None) for d in docs] == [None, DropReason.PARSE_ERROR, None]
    assert "max_page_bytes" in docs[1].detail


def test_truncated_plain_file_keeps_pages_read(tmp_path):
    text = dump_xml(THREE_PAGES)
    cut = text[: text.index("<text", text.index("<title>Kiev"))]
    docs = parse(write(tmp_path / "ukwiki-cut.xml", cut))
    assert [d.id for d in docs[:2]] == ["ukwiki/1", "ukwiki/2"]
    assert len(docs) == 3 and docs[2].reason is DropReason.PARSE_ERROR and "truncated" in docs[2].detail


def test_truncated_bz2_stream_keeps_pages_read(tmp_path):
    # bz2 recovers whole blocks only (100 kB of input at level 1): write several blocks' worth.
    rng = random.Random(1)
    words = ["".join(rng.choice("абвгдежзиклмнопрстуф") for _ in range(6)) for _ in range(500)]
    pages = [page_xml(f"Сторінка {i}", i, " ".join(rng.choices(words, k=1500))) for i in range(1, 40)]
    data = bz2.compress(dump_xml(pages).encode(), 1)
    path = tmp_path / "ukwiki-cut.xml.bz2"
    path.write_bytes(data[: len(data) * 2 // 3])
    docs = parse(str(path))
    assert isinstance(docs[-1], Dropped) and docs[-1].reason is DropReason.PARSE_ERROR
    assert "compressed stream" in docs[-1].detail
    kept = docs[:-1]
    assert kept and all(isinstance(d, Document) for d in kept)
    assert [d.id for d in kept] == [f"ukwiki/{i}" for i in range(1, len(kept) + 1)]


def test_utf16_dump_with_bom_and_crlf(tmp_path):
    path = tmp_path / "ukwiki-utf16.xml"
    path.write_bytes(dump_xml(THREE_PAGES).replace("\n", "\r\n").encode("utf-16"))
    docs = parse(str(path))
    assert [d.id for d in docs] == ["ukwiki/1", "ukwiki/2", "ukwiki/3"]
    assert docs[0].meta()["title"] == "Київ"


def test_history_export_uses_latest_revision(tmp_path):
    two = page_xml("Pear", 7, "old text").replace(
        "    </revision>\n", "    </revision>\n    <revision>\n      <id>99</id>\n"
        "      <timestamp>2020-01-02T03:04:05Z</timestamp>\n      <text>new text</text>\n    </revision>\n")
    doc, = parse(write(tmp_path / "enwiki-history.xml", dump_xml([two], siteinfo="")))
    assert (doc.text, doc.created, doc.meta()["revision_id"]) == ("new text", "2020-01-02T03:04:05Z", 99)


# ---------------------------------------------------------------- clean_wikipedia

def article(text: str = "'''Київ''' — столиця [[Україна|України]].", lang: str | None = "uk", **meta) -> Document:
    base = {"title": "Київ", "page_id": 1, "ns": 0, "redirect": False, "ns_aliases": {"file": ["Файл"], "category": []}}
    doc = Document(id="ukwiki/1", source="wikipedia", text=text, lang=lang)
    return doc.with_meta(**{**base, **meta})


def test_clean_keeps_article_as_plain_text():
    kept = clean_wikipedia(article(), CFG)
    assert isinstance(kept, Document)
    assert kept.text == "Київ — столиця України."
    assert (kept.id, kept.lang, kept.meta()["title"]) == ("ukwiki/1", "uk", "Київ")


@pytest.mark.parametrize("doc, reason", [
    (article(ns=1), DropReason.NON_ARTICLE_NAMESPACE),
    (article(redirect=True), DropReason.REDIRECT),
    (article(lang="ja"), DropReason.LANGUAGE_NOT_KEPT),
    (article(lang=None), DropReason.LANGUAGE_NOT_KEPT),
    (article(text=""), DropReason.EMPTY),
    (article(text="  \n\t "), DropReason.EMPTY),
    (article(text="{{Infobox}}\n[[Файл:x.jpg|thumb]]\n[[Category:Y]]"), DropReason.EMPTY),
])
def test_clean_drops(doc, reason):
    dropped = clean_wikipedia(doc, CFG)
    assert isinstance(dropped, Dropped)
    assert (dropped.reason, dropped.stage, dropped.doc) == (reason, "clean", doc)


def test_clean_drop_order_and_detail():
    dropped = clean_wikipedia(article(ns=4, redirect=True, lang="ja"), CFG)
    assert dropped.reason is DropReason.NON_ARTICLE_NAMESPACE
    dropped = clean_wikipedia(article(lang="ja", redirect=True), CFG)
    assert dropped.reason is DropReason.REDIRECT
    assert "'ja'" in clean_wikipedia(article(lang="ja"), CFG).detail


def test_clean_respects_config():
    cfg = dataclasses.replace(CFG, languages=("ja",), namespaces=(0, 1), min_chars=100)
    assert clean_wikipedia(article(lang="ja", ns=1), cfg).reason is DropReason.EMPTY
    assert isinstance(clean_wikipedia(article(lang="ja", ns=1, text="Текст " * 30), cfg), Document)


# ---------------------------------------------------------------- the bundled sample

def parse_and_clean(folder: Path) -> dict[str, list[Document | Dropped]]:
    out: dict[str, list[Document | Dropped]] = {}
    for path in sorted(folder.iterdir()):
        for rec in parse_wikipedia_file(str(path), path.name, CFG):
            out.setdefault(path.name, []).append(rec if isinstance(rec, Dropped) else clean_wikipedia(rec, CFG))
    return out


def test_sample_is_byte_identical_across_runs(tmp_path):
    write_sample(tmp_path / "a")
    write_sample(tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir()) and len(names) == 4
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)
    assert sum((tmp_path / "a" / n).stat().st_size for n in names) < 200_000


def test_sample_keeps_en_de_fr_articles_and_drops_the_rest(tmp_path):
    write_sample(tmp_path)
    results = parse_and_clean(tmp_path)
    kept = {n: [r for r in recs if isinstance(r, Document)] for n, recs in results.items()}
    drops = [r for recs in results.values() for r in recs if isinstance(r, Dropped)]
    assert len(kept["enwiki-sample-pages-articles.xml.bz2"]) == 8
    assert len(kept["dewiki-sample-pages-articles.xml"]) == 2
    assert len(kept["frwiki-sample-pages-articles-multistream.xml.bz2"]) == 2
    assert kept["jawiki-sample-pages-articles.xml.bz2"] == []
    reasons = sorted(d.reason.value for d in drops)
    assert reasons == ["language_not_kept"] * 2 + ["non_article_namespace"] * 2 + ["redirect"] * 3
    for doc in (d for docs in kept.values() for d in docs):
        assert not any(token in doc.text for token in MARKUP), doc.id
        assert "Category" not in doc.text and "Kategorie" not in doc.text and "Catégorie" not in doc.text


# ---------------------------------------------------------------- the real dumps

@pytest.fixture(scope="module")
def real_results() -> dict[str, list[Document | Dropped]]:
    if not REAL_DUMPS.is_dir():
        pytest.skip(f"real dumps not found at {REAL_DUMPS}")
    return parse_and_clean(REAL_DUMPS)


def kept_docs(results: dict[str, list[Document | Dropped]], prefix: str) -> list[Document]:
    return [r for name, recs in results.items() if name.startswith(prefix) for r in recs if isinstance(r, Document)]


@pytest.mark.parametrize("lang", ["ja", "vi", "el", "hy", "bn", "mr"])
def test_real_dumps_in_other_languages_keep_nothing(real_results, lang):
    assert any(name.startswith(f"{lang}wiki") for name in real_results)
    assert kept_docs(real_results, f"{lang}wiki") == []


@pytest.mark.parametrize("lang", ["en", "bg", "uk"])
def test_real_dumps_in_kept_languages_keep_articles(real_results, lang):
    docs = kept_docs(real_results, f"{lang}wiki")
    assert docs and all(d.lang == lang and d.meta()["ns"] == 0 for d in docs)


def test_real_dumps_read_without_parse_errors_and_keep_no_markup_or_redirects(real_results):
    records = [r for recs in real_results.values() for r in recs]
    assert not [r for r in records if isinstance(r, Dropped) and r.reason is DropReason.PARSE_ERROR]
    for doc in (r for r in records if isinstance(r, Document)):
        assert not any(token in doc.text for token in MARKUP), doc.id
        assert not doc.meta()["redirect"]
    for recs in real_results.values():  # ids are unique per wiki; two shared dumps both hold "Pear"
        ids = [r.id for r in recs if isinstance(r, Document)]
        assert len(set(ids)) == len(ids)


def test_real_schema_0_3_redirect(real_results):
    rec, = real_results["enwiki-export-Pyrus.xml.bz2"]
    assert isinstance(rec, Dropped) and rec.reason is DropReason.REDIRECT
    assert (rec.doc.lang, rec.doc.meta()["ns"], rec.doc.meta()["title"]) == ("en", 0, "Pyrus")


def test_real_dump_without_siteinfo(real_results):
    docs = real_results["enwiki-table-markup.xml.bz2"]
    assert docs and all(isinstance(d, Document) and d.lang == "en" for d in docs)
    assert all("wikitable" not in d.text and "||" not in d.text for d in docs)


def test_dump_written_on_one_line_is_one_drop(tmp_path):
    one_line = dump_xml(THREE_PAGES).replace("\n", "")
    docs = parse(write(tmp_path / "ukwiki-compact.xml", one_line))
    assert len(docs) == 1 and docs[0].reason is DropReason.PARSE_ERROR
    assert "lines of their own" in docs[0].detail


def test_empty_file_yields_nothing(tmp_path):
    assert parse(write(tmp_path / "enwiki-empty.xml", "")) == []
