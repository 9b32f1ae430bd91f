"""Reading Common Crawl WARC and WET files (pipeline/sources/commoncrawl.py) and the bundled
sample's Common Crawl files (scripts/sample/commoncrawl.py)."""
from __future__ import annotations

import collections
import gzip
from pathlib import Path

import pytest

from filters.ccnet import CommonCrawlConfig
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.sources.commoncrawl import parse_commoncrawl_file
from scripts.sample.commoncrawl import ARTICLES, DUMP, WARC_FILENAME, WET_FILENAME, write_sample
from tests.conftest import read_files

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLES = REPO_ROOT.parent / "shared" / "corpus-samples" / "commoncrawl"
# The format tests read short hand-made pages: no length rule (test_min_chars_* checks it).
CFG = CommonCrawlConfig(min_chars=1)
META_KEYS = {"file", "warc_record_id", "payload_digest", "content_type", "charset", "dump", "record_type"}
PARAGRAPH = "The old mill by the river was rebuilt after the flood and now grinds flour for the village bakery."


def rid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def warc(kind: str, block: bytes, i: int = 0, url: str | None = None, *fields: str,
         length: int | None = None, eol: bytes = b"\r\n") -> bytes:
    head = [f"WARC-Type: {kind}", "WARC-Date: 2099-01-02T03:04:05Z", *fields]
    head += [f"WARC-Record-ID: <urn:uuid:{rid(i)}>"] if i else []
    head += [f"WARC-Target-URI: {url}"] if url else []
    head += [f"Content-Length: {len(block) if length is None else length}"]
    return eol.join([b"WARC/1.0", *(h.encode() for h in head), b""]) + eol + block + eol + eol


def http(body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode() + body


def html(text: str, encoding: str = "utf-8") -> bytes:
    return f"<html><head><title>Page</title></head><body><p>{text}</p></body></html>".encode(encoding)


def response(i: int, body: bytes | None = None, content_type: str = "text/html; charset=utf-8", **kw) -> bytes:
    block = http(html(f"{PARAGRAPH} Page {i}.") if body is None else body, content_type, kw.pop("status", "200 OK"))
    return warc("response", block, i, f"https://example.com/{i}", "WARC-Payload-Digest: sha1:P" + str(i),
                "Content-Type: application/http; msgtype=response", **kw)


WARCINFO = warc("warcinfo", b"isPartOf: CC-MAIN-2099-05\r\npublisher: tests\r\n", 99)


def write(path: Path, records: list[bytes]) -> str:
    """Gzip one member per record for .gz names (as Common Crawl does), plain otherwise."""
    data = b"".join(gzip.compress(r, mtime=0) for r in records) if path.name.endswith(".gz") else b"".join(records)
    path.write_bytes(data)
    return str(path)


def parse(path: str, rel: str = "cc/file.warc.gz", cfg: CommonCrawlConfig = CFG) -> list[Document | Dropped]:
    return list(parse_commoncrawl_file(path, rel, cfg))


def kinds(out: list) -> list[str]:
    return [o.reason.value if isinstance(o, Dropped) else "doc" for o in out]


# --- records and fields -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a.warc.gz", "a.warc", "a.warc.wet.gz", "a.warc.wet", "a.wet", "a.wet.gz"])
def test_gzip_per_record_and_plain(tmp_path, name):
    records = [WARCINFO, warc("request", b"GET / HTTP/1.1\r\n\r\n", 1, "https://example.com/1"), response(2),
               warc("metadata", b"fetchTimeMs: 5\r\n", 3, "https://example.com/1"),
               warc("conversion", "Grüße aus Köln.\nZweite Zeile.".encode(), 4, "https://example.de/",
                    "Content-Type: text/plain")]
    doc, wet = parse(write(tmp_path / name, records), rel="cc/" + name)
    assert (doc.id, doc.source, doc.url, doc.created, doc.lang, doc.lang_score) == (
        f"cc/{name}#{rid(2)}", "commoncrawl", "https://example.com/2", "2099-01-02T03:04:05Z", None, None)
    assert doc.text == f"{PARAGRAPH} Page 2."  # the <title> is not main text
    assert doc.meta() == {"file": "cc/" + name, "warc_record_id": rid(2), "payload_digest": "sha1:P2",
                          "content_type": "text/html", "charset": "utf-8", "dump": "CC-MAIN-2099-05",
                          "record_type": "response"}
    assert (wet.id, wet.text, wet.meta()["record_type"], wet.meta()["content_type"]) == (
        f"cc/{name}#{rid(4)}", "Grüße aus Köln.\nZweite Zeile.", "conversion", "text/plain")


def test_one_gzip_stream_for_the_whole_file(tmp_path):
    path = tmp_path / "a.warc.gz"
    path.write_bytes(gzip.compress(b"".join([WARCINFO, response(1), response(2, length=5), response(3)]), mtime=0))
    out = parse(str(path), rel="r")
    assert [d.id if isinstance(d, Document) else d.doc.id for d in out] == [
        f"r#{rid(1)}", f"r@0+{len(WARCINFO) + len(response(1))}", f"r#{rid(3)}"]  # offset inside the member


@pytest.mark.parametrize("name", ["a.warc.gz", "a.warc"])
def test_large_records_cross_read_boundaries(tmp_path, name):
    words = " ".join(f"word{i * 7919 % 100003}" for i in range(60_000))  # ~600 KB, compresses poorly
    out = parse(write(tmp_path / name, [response(1, html(words)), response(2, html(words[::-1])), response(3)]))
    assert kinds(out) == ["doc"] * 3 and out[0].text == words and out[1].text == words[::-1]


def test_responses_that_are_not_plain_http_records(tmp_path):
    no_type = warc("response", http(html("No WARC Content-Type.")), 1, "https://example.com/1")
    dns = warc("response", b"20990102030405\nexample.com. 300 IN A 192.0.2.1\n", 2, "dns:example.com",
               "Content-Type: text/dns")
    out = parse(write(tmp_path / "a.warc", [no_type, dns]))
    assert kinds(out) == ["doc", "empty"] and out[0].text == "No WARC Content-Type."
    assert out[1].detail == "content type text/dns"


def test_dump_from_the_file_name_without_warcinfo(tmp_path):
    path = write(tmp_path / "a.warc", [response(1)])
    rel = "crawl-data/CC-MAIN-2020-34/segments/x/warc/CC-MAIN-20200808165417-20200808195417-00395.warc"
    assert parse(path, rel=rel)[0].meta()["dump"] == "CC-MAIN-2020-34"
    assert parse(path, rel="wget/sample.warc")[0].meta()["dump"] is None


def test_angle_brackets_missing_id_and_lf_only_headers(tmp_path):
    # wget writes <https://...>; a record without WARC-Record-ID falls back to its byte offset.
    block = http(html("No id here."))
    no_id = warc("response", block, 0, "<https://example.org/a>", "Content-Type: application/http", eol=b"\n")
    out = parse(write(tmp_path / "a.warc", [response(1), no_id]), rel="r")
    assert [d.url for d in out] == ["https://example.com/1", "https://example.org/a"]
    assert out[1].id == f"r@{len(response(1))}" and out[1].meta()["warc_record_id"] is None


def test_non_documents_are_skipped_silently(tmp_path):
    records = [warc(kind, b"x", i) for i, kind in enumerate(["request", "metadata", "resource", "revisit"], 1)]
    with_others = parse(write(tmp_path / "a.warc", [WARCINFO, *records, response(9)]))
    assert with_others == parse(write(tmp_path / "b.warc", [WARCINFO, response(9)]))


@pytest.mark.parametrize("content_type, status, detail", [
    ("image/png", "200 OK", "content type image/png"),
    ("application/pdf", "200 OK", "content type application/pdf"),
    ("text/html", "404 Not Found", "http status 404"),
])
def test_declined_responses_are_counted_as_empty(tmp_path, content_type, status, detail):
    declined = response(2, b"\x89PNG...", content_type, status=status)
    out = parse(write(tmp_path / "a.warc.gz", [response(1), declined, response(3)]))
    assert kinds(out) == ["doc", "empty", "doc"]
    assert out[1].stage == "read" and out[1].detail == detail and out[1].doc.id == f"cc/file.warc.gz#{rid(2)}"
    assert out[1].doc.url == "https://example.com/2" and out[1].doc.text == ""


def test_missing_content_type_uses_identified_type_or_markup(tmp_path):
    def bare(i: int, body: bytes, *fields: str) -> bytes:
        return warc("response", b"HTTP/1.1 200 OK\r\n\r\n" + body, i, None, "Content-Type: application/http", *fields)
    out = parse(write(tmp_path / "a.warc", [bare(1, html("markup")), bare(2, b"%PDF-1.4"),
                                           bare(3, b"%PDF-1.4", "WARC-Identified-Payload-Type: application/pdf")]))
    assert kinds(out) == ["doc", "empty", "empty"]
    assert [d.detail for d in out[1:]] == ["content type unknown", "content type application/pdf"]


def test_empty_text_is_still_a_document(tmp_path):
    (doc,) = parse(write(tmp_path / "a.warc", [response(1, b"<html><body>  </body></html>")]))
    assert isinstance(doc, Document) and doc.text == ""


def test_wget_style_chunked_gzip_body(tmp_path):
    body = gzip.compress(html("Grüße aus dem Netz."), mtime=0)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    block = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nTransfer-Encoding: chunked\r\n"
             b"Content-Encoding: gzip\r\n\r\n" + chunked)
    record = warc("response", block, 1, "<https://x.org/>", "Content-Type: application/http")
    (doc,) = parse(write(tmp_path / "a.warc.gz", [record]))
    assert "Grüße aus dem Netz." in doc.text


# --- charsets end to end --------------------------------------------------------------------------------
def test_charset_from_header_meta_or_detection(tmp_path):
    russian = "Пожарная безопасность складов и торговых центров. " * 8
    meta = f'<html><head><meta charset="windows-1251"></head><body><p>{russian}</p></body></html>'.encode("cp1251")
    records = [response(1, html(russian, "cp1251"), "text/html; charset=windows-1251"),  # header
               response(2, meta, "text/html"),  # <meta> only
               response(3, html(russian, "cp1251"), "text/html"),  # nothing declared: detection
               response(4, html("Grüße aus Köln"), "text/html")]  # short UTF-8, nothing declared
    out = parse(write(tmp_path / "a.warc.gz", records))
    assert [d.meta()["charset"] for d in out] == ["cp1251", "cp1251", "cp1251", "utf-8"]
    assert all(russian.strip() in d.text for d in out[:3]) and "Grüße aus Köln" in out[3].text


# --- damage -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a.warc.gz", "a.warc"])
@pytest.mark.parametrize("delta", [+40, -40, +5, -1])
def test_wrong_content_length_in_the_middle(tmp_path, name, delta):
    bad = response(2, length=len(http(html(f"{PARAGRAPH} Page 2."))) + delta)
    out = parse(write(tmp_path / name, [response(1), bad, response(3)]), rel="r")
    assert kinds(out) == ["doc", "parse_error", "doc"]
    first = gzip.compress(response(1), mtime=0) if name.endswith(".gz") else response(1)
    assert out[1].doc.id == f"r@{len(first)}"  # the damaged record's byte offset (its member's, in gzip)
    assert out[1].doc.url == "https://example.com/2" and out[1].doc.meta()["warc_record_id"] == rid(2)
    assert out[1].stage == "read" and out[1].doc.text == ""
    assert out[2].id == f"r#{rid(3)}" and out[2].text.endswith("Page 3.")


@pytest.mark.parametrize("delta", [+1, +4])
def test_length_that_only_takes_blank_separator_bytes_is_accepted(tmp_path, delta):
    # The block still ends at a record boundary; it just carries one to four bytes of CR/LF.
    bad = response(2, length=len(http(html(f"{PARAGRAPH} Page 2."))) + delta)
    assert kinds(parse(write(tmp_path / "a.warc", [response(1), bad, response(3)]))) == ["doc"] * 3


def test_truncated_gzip_member_at_the_end(tmp_path):
    path = tmp_path / "a.warc.gz"
    write(path, [response(1), response(2, html(PARAGRAPH * 50))])
    data = path.read_bytes()
    path.write_bytes(data[:-60])
    out = parse(str(path), rel="r")
    assert kinds(out) == ["doc", "parse_error"]
    assert "cut short" in out[1].detail and out[1].doc.url == "https://example.com/2"


def test_corrupt_or_cut_member_in_the_middle(tmp_path):
    members = [gzip.compress(response(i, html(f"{PARAGRAPH * 20} Page {i}.")), mtime=0) for i in (1, 2, 3)]
    middle = bytearray(members[1])
    middle[len(middle) // 2] ^= 0xFF
    for damaged in (bytes(middle), members[1][: len(members[1]) // 2]):
        path = tmp_path / "a.warc.gz"
        path.write_bytes(members[0] + damaged + members[2])
        out = parse(str(path))
        assert kinds(out) == ["doc", "parse_error", "doc"], damaged[:4]
        assert out[2].text.endswith("Page 3.")


def test_garbage_before_a_record(tmp_path):
    out = parse(write(tmp_path / "a.warc", [b"junk that is not a record\r\nmore junk\r\n", response(1)]))
    assert kinds(out) == ["parse_error", "doc"] and "no WARC/<version> line" in out[0].detail


@pytest.mark.parametrize("data", [b"WARC/1.0\r\nWARC-Type: response\r\n", b"<html>not a WARC file</html>", b""])
def test_broken_plain_files(tmp_path, data):
    path = tmp_path / "a.warc"
    path.write_bytes(data)
    assert kinds(parse(str(path))) == (["parse_error"] if data else [])


def test_gzip_name_but_not_gzip(tmp_path):
    path = tmp_path / "a.warc.gz"
    path.write_bytes(response(1))
    out = parse(str(path))
    assert kinds(out) == ["parse_error"] and "corrupt gzip member" in out[0].detail


@pytest.mark.parametrize("name", ["a.warc.gz", "a.warc"])
def test_oversized_record_is_a_parse_error_and_reading_goes_on(tmp_path, name):
    big = response(2, html("x" * 5000))
    out = parse(write(tmp_path / name, [response(1), big, response(3)]),
                cfg=CommonCrawlConfig(max_record_bytes=2000, min_chars=1))
    assert kinds(out) == ["doc", "parse_error", "doc"] and "over max_record_bytes" in out[1].detail


def test_bad_header_line(tmp_path):
    bad = b"WARC/1.0\r\nWARC-Type: response\r\nthis line has no colon\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n"
    assert kinds(parse(write(tmp_path / "a.warc", [response(1), bad, response(3)]))) == ["doc", "parse_error", "doc"]


def test_ids_stable_and_unique(tmp_path):
    path = write(tmp_path / "a.warc.gz", [response(i) for i in range(1, 30)])
    first, second = parse(path), parse(path)
    assert first == second and len({d.id for d in first}) == 29


def test_read_composite(tmp_path):
    path = write(tmp_path / "a.warc.gz", [response(1), response(2, b"png", "image/png"), response(3, length=3)])
    kept, dropped = read_files("commoncrawl", parse_commoncrawl_file, [(path, "cc/a.warc.gz")], CFG)
    assert [d.id for d in kept] == [f"cc/a.warc.gz#{rid(1)}"]
    assert sorted(d.reason.value for d in dropped) == ["empty", "parse_error"]


# --- the real shared samples --------------------------------------------------------------------------
def real(name: str) -> list[Document | Dropped]:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return list(parse_commoncrawl_file(str(path), f"commoncrawl/{name}", CFG))


def test_real_cc_warc_sample():
    out = real("CC-MAIN-2020-34_sample.warc.gz")
    assert len(out) == 16 and all(isinstance(d, Document) for d in out)
    assert all(set(d.meta()) == META_KEYS and d.url and d.created and d.meta()["payload_digest"] for d in out)
    assert {d.meta()["dump"] for d in out} == {"CC-MAIN-2020-34"}
    by_host = {d.url.split("/")[2]: d for d in out}
    russian = by_host["01spb.ru"]  # windows-1251, declared in the HTTP header
    assert russian.meta()["charset"] == "cp1251"
    assert "О компании" in russian.text and "пожарной безопасности" in russian.text
    assert "Hovenier in Oosterbeek" in by_host["0900-hovenier.nl"].text
    assert "Persönliche Statistik" in by_host["06.live-radsport.ch"].text  # <meta> iso-8859-1
    assert "企业公告" in by_host["041696.com"].text  # <meta> gbk
    assert not any("Ã" in d.text or "â€" in d.text for d in out)  # no UTF-8 read as cp1252


def test_real_whirlwind_warc_and_wet():
    (page,) = real("CC-MAIN-2024-22_whirlwind.warc.gz")
    (wet,) = real("CC-MAIN-2024-22_whirlwind.warc.wet.gz")
    assert page.url == wet.url == "https://an.wikipedia.org/wiki/Escopete"
    assert wet.meta()["record_type"] == "conversion" and wet.meta()["dump"] == "CC-MAIN-2024-22"
    assert wet.meta()["payload_digest"].startswith("sha1:")  # a WET record has only a block digest
    assert "Escopete" in wet.text and "Biquipedia" in wet.text and "Escopete" in page.text


def test_real_clipped_response_is_a_parse_error():
    (bad,) = real("clipped-response.warc.gz")
    assert bad.reason is DropReason.PARSE_ERROR and "cut short" in bad.detail
    assert bad.doc.url.startswith("http://www.houstonpress.com/")


def test_real_semisynthetic_wet_with_lengths_in_characters(tmp_path):
    # Its Content-Lengths count characters (and miss by a few), so no record ends where it says:
    # each is one PARSE_ERROR, found by resyncing at the next WARC/1.0 line.
    out = real("cc_net_sample_SEMISYNTHETIC.warc.wet")
    assert kinds(out) == ["parse_error"] * 4
    urls = [None, "http://sample_english.com", "http://sample_chinese.zh", "http://sample_russian.ru"]
    assert [d.doc.url for d in out] == urls
    # With the English record's length made right, that record comes out and the others stay errors.
    data = (SAMPLES / "cc_net_sample_SEMISYNTHETIC.warc.wet").read_bytes()
    fixed = data.replace(b"Content-Length: 353\n", b"Content-Length: 354\n")
    (tmp_path / "fixed.warc.wet").write_bytes(fixed)
    out = parse(str(tmp_path / "fixed.warc.wet"))
    assert kinds(out) == ["parse_error", "doc", "parse_error", "parse_error"]
    assert out[1].text.startswith("Famous Mark Twain Quotes") and out[1].text.endswith("Truth isn't.")


@pytest.mark.parametrize("name, count", [("wget_sample-0000.warc.gz", 22), ("wget_sample-0001.warc.gz", 15)])
def test_real_wget_samples(name, count):
    out = real(name)
    assert len(out) == count and all(isinstance(d, Document) for d in out)
    assert all(d.url.startswith("https://") and not d.url.endswith(">") for d in out)
    assert all(d.meta()["charset"] == "utf-8" and d.meta()["dump"] is None for d in out)
    assert not any("â€" in d.text for d in out)
    if name.endswith("0001.warc.gz"):
        # allenai.org was fetched three times; two fetches have the same payload (exact dedup's job).
        copies = [d for d in out if d.url == "https://allenai.org/"]
        digests = collections.Counter(d.meta()["payload_digest"] for d in copies)
        assert len(copies) == 3 and sorted(digests.values()) == [1, 2]
        same = [d for d in copies if digests[d.meta()["payload_digest"]] == 2]
        assert same[0].text == same[1].text and same[0].id != same[1].id


# --- the bundled sample -------------------------------------------------------------------------------
def test_sample_is_byte_identical_across_runs(tmp_path):
    write_sample(tmp_path / "one")
    write_sample(tmp_path / "two")
    for name in (WARC_FILENAME, WET_FILENAME):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted([WARC_FILENAME, WET_FILENAME])
    assert sum(p.stat().st_size for p in (tmp_path / "one").iterdir()) < 300_000


def test_sample_outcomes(tmp_path):
    write_sample(tmp_path)
    out = parse(str(tmp_path / WARC_FILENAME), rel=f"commoncrawl/{WARC_FILENAME}")
    assert collections.Counter(kinds(out)) == {"doc": 23, "empty": 1}
    docs = [d for d in out if isinstance(d, Document)]
    assert {d.meta()["dump"] for d in docs} == {DUMP}
    assert all(len(d.text.split()) >= 300 for d in docs[:12])
    by_url = {d.url: d for d in docs}
    baikal = by_url["https://ozera.example.ru/baikal"]  # windows-1251, declared in the HTTP header only
    assert baikal.meta()["charset"] == "cp1251" and "Байкал — самое глубокое озеро на Земле." in baikal.text
    assert "árboles más antiguos" in by_url["https://campo.example.es/cultivo-del-olivo"].text
    assert by_url["https://mirror.example.info/earth/glaciers"].text == by_url[ARTICLES[1][0]].text
    assert "Home | Topics" not in by_url[ARTICLES[0][0]].text  # the menu is boilerplate
    wet = parse(str(tmp_path / WET_FILENAME))
    assert kinds(wet) == ["doc"] * 6 and {d.meta()["record_type"] for d in wet} == {"conversion"}


# --- CCNet's length rule at read ----------------------------------------------------------------------
def test_min_chars_default_is_ccnet_300_at_read(tmp_path):
    """cc_net's CCShardReader(min_len=300) drops `len(raw_content) < 300`: 299 out, 300 in."""
    assert CommonCrawlConfig().min_chars == 300
    texts = ["x" * 299, "y" * 300, "   "]
    records = [warc("conversion", t.encode(), i + 1, f"https://example.com/{i}", "Content-Type: text/plain")
               for i, t in enumerate(texts)]
    out = parse(write(tmp_path / "a.wet", records), rel="cc/a.wet", cfg=CommonCrawlConfig())
    assert kinds(out) == ["too_short", "doc", "doc"]  # the blank page goes on to the `empty` check
    assert out[0].stage == "read" and out[0].detail == "299 characters, under commoncrawl.min_chars"
    assert len(out[1].text) == 300
