"""Bad Common Crawl inputs: WARC/WET files cut, corrupted, mis-framed, mis-encoded, over the caps."""
from __future__ import annotations

import uuid
from pathlib import Path

from scripts.bad.common import (
    MIB,
    Case,
    Cases,
    Markers,
    corrupt_gzip_member,
    good_text,
    gz,
    gzip_bomb,
    text_noise,
)

SOURCE = "commoncrawl"


def record(kind: str, uri: str, block: bytes, content_type: str, length: int | None = None) -> bytes:
    """One WARC/1.0 record; `length` overrides the true Content-Length (to mis-frame it)."""
    rid = uuid.uuid5(uuid.NAMESPACE_URL, uri + kind)
    header = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2099-01-01T00:00:00Z\r\n"
        f"WARC-Record-ID: <urn:uuid:{rid}>\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(block) if length is None else length}\r\n\r\n"
    )
    return header.encode() + block + b"\r\n\r\n"


def conversion(marker: str, text: str | None = None) -> bytes:
    """A WET conversion record: plain text, 8 distinct sentence lines (well over CCNet's 300 chars)."""
    body = (text if text is not None else good_text(marker, 8)).encode()
    return record("conversion", f"https://example.org/{marker}", body, "text/plain")


def response(marker: str, html: bytes, http_headers: str = "Content-Type: text/html") -> bytes:
    block = f"HTTP/1.1 200 OK\r\n{http_headers}\r\n\r\n".encode() + html
    return record("response", f"https://example.org/{marker}", block, "application/http; msgtype=response")


def page(marker: str, encoding: str = "utf-8", extra: str = "") -> bytes:
    paragraphs = "".join(f"<p>{s} {extra}</p>\n" for s in good_text(marker, 8).split("\n"))
    html = (f"<html><head><title>{marker}</title></head><body><article>\n"
            f"<h1>Notes</h1>\n{paragraphs}</article></body></html>")
    return html.encode(encoding)


def build(folder: Path, big: bool = False) -> list[Case]:
    mark = Markers("cc")
    cases = Cases(SOURCE, folder)
    case = cases.add

    m1, m2 = mark(), mark()
    case("good file", "cc-good.warc.wet.gz", gz(conversion(m1)) + gz(conversion(m2)), [m1, m2], [])

    m3, m4 = mark(), mark()
    last = gz(conversion("cut", text_noise("cc-cut", 8000)))
    data = gz(conversion(m3)) + gz(conversion(m4)) + last[: len(last) // 2]
    case("truncated gzip", "cc-truncated.warc.gz", data, [m3, m4], ["parse_error"])

    m5, m6 = mark(), mark()
    data = gz(conversion(m5)) + corrupt_gzip_member(conversion("lost")) + gz(conversion(m6))
    case("corrupt gzip member mid-file", "cc-corrupt-member.warc.wet.gz", data, [m5, m6], ["parse_error"])

    # Content-Length 50 bytes short, then one that runs far past the end of the file.
    m7, m8, m9 = mark(), mark(), mark()
    short_body = good_text("short", 8).encode()
    short = record("conversion", "https://example.org/short", short_body, "text/plain", len(short_body) - 50)
    long_body = good_text("long", 8).encode()
    too_long = record("conversion", "https://example.org/long", long_body, "text/plain", len(long_body) + 100_000)
    data = conversion(m7) + short + conversion(m8) + too_long + conversion(m9)
    case("WARC records with a wrong Content-Length", "cc-content-length.warc.wet", data, [m7, m8, m9],
         ["parse_error"] * 2)

    # cp1252 without a charset; UTF-8 with stray invalid bytes; UTF-8 declared as ISO-8859-1.
    m10, m11, m12 = mark(), mark(), mark()
    data = (response(m10, page(m10, "cp1252", "caf\u00e9 \u201cquoted\u201d"))
            + response(m11, page(m11, extra="bad \udcff byte".encode("utf-8", "surrogateescape").decode("latin-1")),
                       "Content-Type: text/html; charset=utf-8")
            + response(m12, page(m12, extra="na\u00efve r\u00e9sum\u00e9"),
                       "Content-Type: text/html; charset=iso-8859-1"))
    case("invalid UTF-8 and mixed encodings", "cc-encodings.warc", data, [m10, m11, m12], [])

    case("zero-byte file", "cc-zero.warc.gz", b"", [], ["empty"])

    m13 = mark()
    case("file name not valid UTF-8", b"cc-\xff.warc.wet", conversion(m13), [m13], [])

    if big:
        m14, m15 = mark(), mark()
        huge = record("conversion", "https://example.org/huge", b"word " * (50 * MIB // 5), "text/plain")
        data = conversion(m14) + huge + conversion(m15)
        case("a single 50 MB line", "cc-50mb-line.warc.wet", data, [m14, m15], ["parse_error"], True)

        # A ~1 MB gzip body that inflates to 1 GiB, served with Content-Encoding: gzip.
        m16, m17 = mark(), mark()
        bomb = response("bomb", gzip_bomb(b"a" * MIB, 1024), "Content-Type: text/html\r\nContent-Encoding: gzip")
        data = gz(conversion(m16)) + gz(bomb) + gz(conversion(m17))
        case("gzip decompression bomb in a payload", "cc-bomb.warc.gz", data, [m16, m17], ["parse_error"], True)
    return cases
