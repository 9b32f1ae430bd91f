"""Web payloads -> text: the HTTP response in a WARC record, its codings, its charset, its main text.

HTTP (RFC 9112): the status line and header fields are split off; `Transfer-Encoding: chunked` (wget
stores the body as it came) and `Content-Encoding` gzip, deflate or br are undone. Common Crawl stores
bodies already decoded and renames the headers (`X-Crawler-Content-Encoding`), so they pass untouched;
a body labelled gzip that is not gzip is taken as stored. A decoded body is capped at
`max_bytes`, so a small compressed body cannot expand into memory without bound.

Decoding order (the issue; WHATWG HTML "determining the character encoding", section 13.2.3.2):
  1. a byte-order mark;
  2. the charset of the HTTP Content-Type header;
  3. for HTML, a `<meta charset>`, `<meta http-equiv="Content-Type" content="...; charset=...">` or
     `<?xml ... encoding=...?>` in the first 4 KB (HTML5 scans 1 KB; real pages put it later);
  4. a strict UTF-8 decode;
  5. resiliparse's detector, then a lenient decode (bad bytes become U+FFFD).
Detection comes last because it guesses cp1252 for short UTF-8 pages (DESIGN.md pitfalls).
A declared charset is used only if its name is known (WHATWG labels, mapped by resiliparse to Python
codecs, so latin1 means windows-1252 as in browsers) and the bytes decode strictly under it;
otherwise the next step decides. One exception to the order: bytes with non-ASCII characters that
are valid UTF-8 are decoded as UTF-8 before any declared ASCII-compatible charset. Text in
windows-1251, GBK or Latin-1 practically never forms valid UTF-8, while UTF-8 pages served with a
wrong declaration (Apache's old default `charset=ISO-8859-1`) are common, and a strict cp1252 or
cp1251 decode of them succeeds and garbles every accented letter. A multi-byte character cut at the
very end (Common Crawl truncates payloads at 1 MiB) does not make a strict decode fail: it is dropped.

Main text: resiliparse's `extract_plain_text` with `main_content=True` (boilerplate removal: menus,
footers, sidebars), keeping paragraphs as lines because CCNet's line-level dedup works on lines.
"""
from __future__ import annotations

import codecs
import dataclasses
import io
import re
import zlib

from fastwarc.stream_io import BrotliReader
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding, map_encoding_to_html5
from resiliparse.parse.html import HTMLTree

_SNIFF_BYTES = 4096
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# <meta charset="x">, <meta http-equiv=... content="text/html; charset=x">, <?xml encoding="x"?>.
_META_CHARSET_RE = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)"""
    rb"""|<\?xml\b[^>]*?\bencoding\s*=\s*["']\s*([A-Za-z0-9._:\-]+)""",
    re.IGNORECASE,
)
_BLANK_RUN_RE = re.compile(r"\n{3,}")
_STATUS_RE = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})\b")
_CHARSET_PARAM_RE = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


class PayloadError(ValueError):
    """An HTTP message or body coding that cannot be read."""


@dataclasses.dataclass(frozen=True)
class Payload:
    status: int | None  # HTTP status; None for a record that is not HTTP (WET text, dns:)
    content_type: str  # media type, lower case, without parameters; "" if not given
    charset: str | None  # the charset label the Content-Type gives, if any
    body: bytes  # transfer and content codings undone


def split_content_type(value: str) -> tuple[str, str | None]:
    """("text/html", "utf-8") from "text/html; charset=UTF-8"."""
    mime, _, params = value.partition(";")
    m = _CHARSET_PARAM_RE.search(params)
    return mime.strip().lower(), (m.group(1) if m else None)


def _header_end(block: bytes) -> tuple[int, int]:
    crlf, lf = block.find(b"\r\n\r\n"), block.find(b"\n\n")
    if crlf >= 0 and not 0 <= lf < crlf:
        return crlf, crlf + 4
    if lf >= 0:
        return lf, lf + 2
    raise PayloadError("HTTP header without its closing blank line")


def parse_http_response(block: bytes, max_bytes: int) -> Payload:
    """A WARC response block (`application/http; msgtype=response`) -> its Payload."""
    end, body_start = _header_end(block)
    # HTTP header fields are ISO-8859-1 at most (RFC 9110 section 5.5): latin-1 never fails.
    lines = block[:end].decode("latin-1").splitlines()
    m = _STATUS_RE.match(lines[0] if lines else "")
    if m is None:
        raise PayloadError(f"no HTTP status line: {(lines or [''])[0][:60]!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    body = block[body_start:]
    if "chunked" in fields.get("transfer-encoding", "").lower():
        body = dechunk(body)
    # Codings are listed in the order they were applied; undo them last to first.
    for coding in reversed([c.strip().lower() for c in fields.get("content-encoding", "").split(",")]):
        body = decode_content(body, coding, max_bytes)
    mime, charset = split_content_type(fields.get("content-type", ""))
    return Payload(int(m.group(1)), mime, charset, body)


def dechunk(body: bytes) -> bytes:
    """Undo `Transfer-Encoding: chunked` (RFC 9112 section 7.1); a cut last chunk keeps what is there.

    A body whose first line is no chunk size was stored de-chunked under a stale header: kept as is.
    """
    parts, pos = [], 0
    while pos < len(body):
        eol = body.find(b"\n", pos)
        size_field = body[pos:eol if eol >= 0 else len(body)].split(b";")[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            if pos == 0:
                return body
            raise PayloadError(f"bad chunk size {size_field[:20]!r} at body byte {pos}") from None
        if size == 0 or eol < 0:
            break
        parts.append(body[eol + 1:eol + 1 + size])
        pos = eol + 1 + size
        pos += 2 if body.startswith(b"\r\n", pos) else 1 if body.startswith(b"\n", pos) else 0
    return b"".join(parts)


def _read_at_most(reader: BrotliReader, n: int) -> bytes:
    parts, have = [], 0
    while have < n and (part := reader.read(n - have)):
        parts.append(part)
        have += len(part)
    return b"".join(parts)


def decode_content(body: bytes, coding: str, max_bytes: int) -> bytes:
    """Undo one Content-Encoding; at most max_bytes come out (more is a PayloadError)."""
    if coding in ("", "identity", "none"):
        return body
    try:
        if coding in ("gzip", "x-gzip", "deflate"):
            if coding != "deflate" and not body.startswith(b"\x1f\x8b"):
                return body  # stored decoded under the original header
            # "deflate" is zlib-wrapped by the RFC, raw deflate from some servers.
            wbits = 31 if coding != "deflate" else 15 if body[:1] == b"\x78" else -15
            # A cut body (Common Crawl truncates at 1 MiB) inflates as far as it goes, without error.
            out = zlib.decompressobj(wbits).decompress(body, max_bytes + 1)
        elif coding == "br":
            out = _read_at_most(BrotliReader(io.BytesIO(body)), max_bytes + 1)
        else:
            raise PayloadError(f"unsupported Content-Encoding {coding!r}")
    except (zlib.error, OSError) as e:
        raise PayloadError(f"Content-Encoding {coding}: {e}") from None
    if len(out) > max_bytes:
        raise PayloadError(f"Content-Encoding {coding}: body expands past max_record_bytes ({max_bytes})")
    return out


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label (WHATWG names and aliases), or None if it is unknown."""
    if not label:
        return None
    name = map_encoding_to_html5(label.strip().strip("\"'"), fallback_utf8=False)
    if name is None:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:  # a WHATWG name Python has no codec for (x-mac-cyrillic, ...)
        return None


def meta_charset(head: bytes) -> str | None:
    """The charset label a `<meta>` tag or XML declaration gives in `head`, if any."""
    m = _META_CHARSET_RE.search(head)
    if m is None:
        return None
    return (m.group(1) or m.group(2)).decode("ascii")


def decode_strict(data: bytes, codec: str) -> str | None:
    """`data` decoded without any error, or None; a character cut off at the very end is dropped."""
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _bom(data: bytes) -> str | None:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    return None


def _candidates(data: bytes, http_charset: str | None, html: bool) -> list[str]:
    """Codecs to try strictly, in order (module docstring)."""
    bom = _bom(data)
    if bom is not None:
        return [bom]  # WHATWG: a byte-order mark overrides every declaration
    declared = [codec_for(http_charset)]
    if html:
        declared.append(codec_for(meta_charset(data[:_SNIFF_BYTES])))
    order = [c for c in declared if c is not None] + ["utf-8"]
    # UTF-16 text without a BOM can be valid UTF-8 byte for byte; only ASCII-based declarations yield.
    if not data.isascii() and not order[0].startswith(("utf-16", "utf-32")):
        order.insert(0, "utf-8")
    return order


def decode_payload(data: bytes, http_charset: str | None, html: bool) -> tuple[str, str]:
    """(text, codec used): the first strict decode in `_candidates` order, else detection."""
    for codec in _candidates(data, http_charset, html):
        text = decode_strict(data, codec)
        if text is not None:
            return text.removeprefix("\ufeff"), codec
    codec = codec_for(detect_encoding(data)) or "utf-8"
    return bytes_to_str(data, codec, errors="replace", fallback_encodings=()), codec


def html_to_text(html: str) -> str:
    """The main text of an HTML page, one paragraph per line, without menus, footers or scripts."""
    tree = HTMLTree.parse(html)
    text = extract_plain_text(
        tree,
        preserve_formatting=True,  # paragraphs stay lines: CCNet dedups and scores by line
        main_content=True,
        list_bullets=False,  # a "•" before list items is markup, not text
        alt_texts=False,  # alt texts are mostly "logo", "icon", file names
        links=False,
        form_fields=False,
        noscript=False,
        comments=False,  # user comment sections are mostly short, off-topic or spam
    )
    # U+FEFF inside a page (a BOM from an included file) is invisible noise, not text.
    return _BLANK_RUN_RE.sub("\n\n", text.replace("\ufeff", "")).strip()


def plain_to_text(text: str) -> str:
    """A text/plain payload as text: line endings normalized, outer blank space removed."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()
