"""Bad MediaWiki dumps: cut and corrupt bzip2 streams, malformed pages, odd encodings, a bomb."""
from __future__ import annotations

import bz2
import itertools
from pathlib import Path
from xml.sax.saxutils import escape

from scripts.bad.common import (
    MIB,
    Case,
    Cases,
    Markers,
    bz2_zeros,
    corrupt_bz2_stream,
    good_text,
    text_noise,
)

SOURCE = "wikipedia"
HEADER = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>enwiki</dbname>
    <base>https://en.wikipedia.org/wiki/Main_Page</base>
  </siteinfo>
"""
FOOTER = "</mediawiki>\n"


def page(title: str, text: str, page_id: int) -> str:
    return (f"  <page>\n    <title>{escape(title)}</title>\n    <ns>0</ns>\n    <id>{page_id}</id>\n"
            f"    <revision>\n      <id>{page_id + 50000}</id>\n      <timestamp>2022-06-01T00:00:00Z</timestamp>\n"
            f'      <text xml:space="preserve">{escape(text)}</text>\n    </revision>\n  </page>\n')


def good_page(marker: str, page_id: int) -> str:
    bold = "'''"  # wikitext bold
    text = (f"{bold}{marker.capitalize()}{bold} " + good_text(marker, 5, " ") + "\n\n== History ==\n"
            + good_text(marker + "h", 3, " "))
    return page(f"Article {marker}", text, page_id)


def build(folder: Path, big: bool = False) -> list[Case]:
    ids = itertools.count(1001)  # unique across the files: a page's id is enwiki/<page id>
    mark = Markers("wp")

    def good(marker: str) -> str:
        return good_page(marker, next(ids))

    cases = Cases(SOURCE, folder)
    case = cases.add

    m1, m2 = mark(), mark()
    case("good file", "enwiki-good.xml", (HEADER + good(m1) + good(m2) + FOOTER).encode(), [m1, m2], [])

    # Multistream bzip2 as Wikimedia ships it: the header in the first stream, pages in the next.
    m3, m4 = mark(), mark()
    last = bz2.compress(page("Cut", text_noise("wp-cut", 20_000), next(ids)).encode() + FOOTER.encode(), 9)
    data = bz2.compress((HEADER + good(m3)).encode(), 9) + bz2.compress(good(m4).encode(), 9) + last[: len(last) // 2]
    case("truncated bzip2", "enwiki-truncated-multistream.xml.bz2", data, [m3, m4], ["parse_error"])

    m5, m6 = mark(), mark()
    data = (bz2.compress((HEADER + good(m5)).encode(), 9)
            + corrupt_bz2_stream(page("Lost", "lost text", next(ids)).encode())
            + bz2.compress((good(m6) + FOOTER).encode(), 9))
    case("corrupt bzip2 stream mid-file", "enwiki-corrupt-multistream.xml.bz2", data, [m5, m6], ["parse_error"])

    m7, m8 = mark(), mark()
    unclosed = ("  <page>\n    <title>Unclosed</title>\n    <ns>0</ns>\n    <id>77</id>\n"
                "    <revision><text>an <b>unclosed tag</revision>\n  </page>\n")
    no_id = ("  <page>\n    <title>No id</title>\n    <ns>0</ns>\n"
             "    <revision><text>text without an id</text></revision>\n  </page>\n")
    data = HEADER + good(m7) + unclosed + no_id + good(m8) + FOOTER
    case("malformed XML pages", "enwiki-malformed.xml", data.encode(), [m7, m8], ["parse_error", "parse_error"])

    # Invalid UTF-8 bytes and a Latin-1 word inside UTF-8 pages; a whole dump in UTF-16.
    m9, m10, m11 = mark(), mark(), mark()
    bad = good(m9).replace(" History ", " Hist\udcffory ").encode("utf-8", "surrogateescape")
    latin = good(m10).replace("</text>", " caf\udce9</text>").encode("utf-8", "surrogateescape")
    case("invalid UTF-8 bytes in pages", "enwiki-encodings.xml", HEADER.encode() + bad + latin + FOOTER.encode(),
         [m9, m10], [])
    case("a dump in UTF-16", "enwiki-utf16.xml", (HEADER + good(m11) + FOOTER).encode("utf-16"), [m11], [])

    case("zero-byte file", "enwiki-zero.xml", b"", [], ["empty"])
    case("zero-byte bzip2 file", "enwiki-zero.xml.bz2", b"", [], ["empty"])

    m12 = mark()
    case("file name not valid UTF-8", b"enwiki-\xff\xfe.xml", (HEADER + good(m12) + FOOTER).encode(), [m12], [])

    if big:
        # Under wikipedia.max_page_bytes (64 MiB): a page like any other, read with bounded copies.
        m13, huge, m14 = mark(), mark(), mark()
        line = huge + " " + "word " * (50 * MIB // 5)
        data = (HEADER + good(m13) + page("Huge", line, next(ids)) + good(m14) + FOOTER).encode()
        case("a single 50 MB line", "enwiki-50mb-line.xml", data, [m13, huge, m14], [], True)

        # 1 GiB of NUL bytes inside one page's <text>, in ~1.3 KB of bzip2 streams.
        m15, m16 = mark(), mark()
        opening = page("Bomb", "@@", next(ids)).split("@@")[0]
        data = (bz2.compress((HEADER + good(m15) + opening).encode(), 9) + bz2_zeros(1 << 30)
                + bz2.compress(("</text>\n    </revision>\n  </page>\n" + good(m16) + FOOTER).encode(), 9))
        case("bzip2 decompression bomb", "enwiki-bomb.xml.bz2", data, [m15, m16], ["parse_error"], True)
    return cases
