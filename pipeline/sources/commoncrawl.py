"""Reading Common Crawl: WARC `response` records and WET `conversion` records -> Documents.

`parse_commoncrawl_file` is pure; `ReadCommonCrawl` is the thin Beam composite. Files: `*.warc`,
`*.warc.gz`, `*.warc.wet`, `*.warc.wet.gz`, `*.wet`, `*.wet.gz` (WAT files are metadata, not text,
and are never handed to this reader). Gzip is read member by member, one record per member as Common
Crawl ships it (WARC 1.1 annex D); one gzip stream for the whole file and plain files work too.

What becomes what (the issue; WARC 1.1, ISO 28500:2017):
- a `response` with an HTML, XHTML or text/plain payload and a 2xx status: one Document; the text is
  resiliparse's main-content extraction (html_text.py says how the charset is chosen);
- a WET `conversion` record: one Document with the record's text;
- a `response` that is not a text page (image/png, application/pdf, a 404 page): a document we
  decline, so it is counted: Dropped(EMPTY, "read", "content type image/png" or "http status 404");
- warcinfo, request, metadata, resource, revisit, continuation: not documents, skipped uncounted
  (warcinfo's `isPartOf` names the crawl, kept as metadata `dump`);
- a damaged record: one PARSE_ERROR and reading goes on with the next record.

Damage. Content-Length is WARC's only framing, so a record is intact only when its block is followed
by the end of the file (or gzip member) or, after blank lines, by the next `WARC/` record. A bad
header, a Content-Length that breaks that rule, a block over `max_record_bytes` (skipped, never held
whole), an unreadable HTTP header or encoding, a corrupt gzip member: each is one PARSE_ERROR with id
`<rel>@<offset>` (the member's file offset; `+n` inside a member holding several records), and reading
resumes at the next gzip member, or in a plain stream at the next line `WARC/<n>.<n>` after the
damaged record's header. A file cut short ends with the PARSE_ERROR of the cut record.

Decision: a record whose Content-Length is wrong is not salvaged by guessing where it ends. A wrong
length cannot be told apart from a cut or overwritten record, and the bytes up to the next `WARC/`
line may not be the record's. cc_net's hand-made test file counts its lengths in characters, not
bytes (and two of its records share one WARC-Record-ID): every one of its records is a PARSE_ERROR,
while a record in it with a correct length still comes out. Header lines may end in LF alone.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from filters.ccnet import (
    CommonCrawlConfig,
    LanguageModelFiles,
    bucket_step,
    lang_id_step,
    perplexity_step,
    wiki_ref_step,
)
from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import open_raw
from pipeline.core.stages import Recipe, SourcePlan, SourceSpec
from pipeline.sources.c4 import normalize_timestamp
from pipeline.sources.html_text import (
    Payload,
    PayloadError,
    decode_payload,
    html_to_text,
    parse_http_response,
    plain_to_text,
    split_content_type,
)
from pipeline.sources.multistream import READ_SIZE as _READ_SIZE
from pipeline.sources.multistream import Damaged as _Damaged
from pipeline.sources.multistream import GzipMembers as _GzipMembers

SOURCE = "commoncrawl"
STAGE = "read"
TEXT_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
_MAX_LINE = 1 << 16  # also the most a WARC header may hold
_VERSION_RE = re.compile(rb"WARC/\d+\.\d+\r?\n")
_DUMP_RE = re.compile(r"CC-MAIN-\d{4}-\d{2}")
_IS_PART_OF_RE = re.compile(rb"^isPartOf:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)


class _Malformed(Exception):
    """A record that cannot be read; `headers` holds what of its WARC header was read."""

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.headers = headers or {}


class _Stream:
    """Buffered reads over byte chunks, with peek and unread so the parser can step back to resync."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf, self._at = chunks, b"", 0
        self.pos = 0  # bytes consumed since the stream began

    def _fill(self, n: int) -> bool:
        have = len(self._buf) - self._at
        if have >= n:
            return True
        parts = [self._buf[self._at:]]
        while have < n and (chunk := next(self._chunks, b"")):
            parts.append(chunk)
            have += len(chunk)
        self._buf, self._at = b"".join(parts), 0  # one join: large blocks are not copied per chunk
        return have >= n

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self._buf[self._at:self._at + n]

    def read(self, n: int) -> bytes:
        out = self.peek(n)
        self._at += len(out)
        self.pos += len(out)
        return out

    def readline(self, limit: int = _MAX_LINE) -> bytes:
        """A line with its b"\\n", the first `limit` bytes of a longer one, or b"" at the end."""
        while True:
            end = self._buf.find(b"\n", self._at, self._at + limit)
            have = len(self._buf) - self._at
            if end >= 0 or have >= limit or not self._fill(have + 1):
                return self.read(end + 1 - self._at if end >= 0 else min(have, limit))

    def skip(self, n: int) -> int:
        """Discard up to n bytes, a window at a time; the number discarded."""
        done = 0
        while done < n and (got := len(self.read(min(n - done, _READ_SIZE)))):
            done += got
        return done

    def unread(self, data: bytes) -> None:
        self._buf, self._at = data + self._buf[self._at:], 0
        self.pos -= len(data)


def _plain_chunks(raw: BinaryIO) -> Iterator[bytes]:
    while chunk := raw.read(_READ_SIZE):
        yield chunk


# --- WARC records -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Record:
    offset: str  # "<file offset>" or "<member offset>+<offset in member>"
    headers: dict[str, str]  # WARC header, names lower-cased
    block: bytes


@dataclasses.dataclass(frozen=True)
class _Bad:
    offset: str
    detail: str
    headers: dict[str, str]


def _read_headers(stream: _Stream) -> dict[str, str]:
    """Named fields up to the blank line (WARC 1.1 section 4); folded lines continue the last field."""
    headers: dict[str, str] = {}
    size, last = 0, ""
    while (line := stream.readline()).strip():
        size += len(line)
        if size > _MAX_LINE:
            raise _Malformed(f"WARC header over {_MAX_LINE} bytes", headers)
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if text[:1] in (" ", "\t") and last:
            headers[last] += " " + text.strip()
            continue
        name, sep, value = text.partition(":")
        if not sep:
            raise _Malformed(f"WARC header line without a colon: {text[:60]!r}", headers)
        last = name.strip().lower()
        headers[last] = value.strip()
    if not line:
        raise _Malformed("WARC header cut short by the end of the data", headers)
    return headers


def _ends_cleanly(stream: _Stream) -> bool:
    """After a block: blank lines (CRLF CRLF by the spec), then the end or the next record."""
    ahead = stream.peek(256)
    rest = ahead.lstrip(b"\r\n")
    if rest.startswith(b"WARC/") or (not rest and len(ahead) < 256):
        stream.read(len(ahead) - len(rest))
        return True
    return False


def _read_block(stream: _Stream, headers: dict[str, str], max_bytes: int) -> bytes:
    length = headers.get("content-length", "")
    if not length.isdigit():
        raise _Malformed(f"Content-Length {length[:20]!r} is not a byte count", headers)
    n = int(length)
    if n > max_bytes:
        stream.skip(n)  # never held whole; reading resyncs at the next record after it
        raise _Malformed(f"record of {n} bytes is over max_record_bytes ({max_bytes})", headers)
    block = stream.read(n)
    if len(block) < n:
        # A cut record, or a Content-Length that runs past the end: the records inside it are found.
        stream.unread(block)
        raise _Malformed(f"record cut short: {len(block)} of {n} bytes", headers)
    if not _ends_cleanly(stream):
        stream.unread(block)  # resync from the header's end: the next record may begin inside
        raise _Malformed(f"Content-Length {n} does not end the record", headers)
    return block


def _resync(stream: _Stream) -> None:
    """Move to the next line `WARC/<n>.<n>`, where the next record should begin."""
    at_line_start = True
    while line := stream.readline():
        if at_line_start and _VERSION_RE.fullmatch(line):
            stream.unread(line)
            return
        at_line_start = line.endswith(b"\n")


def _records(stream: _Stream, where: Callable[[int], str], max_bytes: int) -> Iterator[_Record | _Bad]:
    """The records of one stream; a damaged one is a _Bad and reading resyncs after it."""
    while True:
        start, headers, counted = stream.pos, {}, False
        try:
            while (line := stream.readline()) and not line.strip():
                start = stream.pos  # blank lines between records are tolerated
            if not line:
                return
            try:
                if not _VERSION_RE.fullmatch(line):
                    raise _Malformed(f"no WARC/<version> line where a record begins: {line[:40]!r}")
                headers = _read_headers(stream)
                yield _Record(where(start), headers, _read_block(stream, headers, max_bytes))
            except _Malformed as e:
                yield _Bad(where(start), str(e), e.headers)
                counted = True  # damage met while skipping this record is the same damage
                _resync(stream)
        except _Damaged as e:  # the bytes below broke: this stream is over, the next member is not
            if not counted:
                yield _Bad(where(start), str(e), headers)
            return


def _in_member(member_offset: int, pos: int) -> str:
    return str(member_offset) if pos == 0 else f"{member_offset}+{pos}"


def _file_records(raw: BinaryIO, gzipped: bool, max_bytes: int) -> Iterator[_Record | _Bad]:
    if not gzipped:
        yield from _records(_Stream(_plain_chunks(raw)), str, max_bytes)
        return
    members = _GzipMembers(raw, window=max_bytes)
    while (offset := members.next_member()) is not None:
        yield from _records(_Stream(members.inflate()), functools.partial(_in_member, offset), max_bytes)


# --- records -> Documents -----------------------------------------------------------------------------
def _record_id(headers: dict[str, str]) -> str | None:
    rid = headers.get("warc-record-id", "").strip().strip("<>").removeprefix("urn:uuid:")
    return rid or None


def _url(headers: dict[str, str]) -> str | None:
    # wget writes `WARC-Target-URI: <https://...>` (the WARC 1.0 grammar's angle brackets).
    return headers.get("warc-target-uri", "").strip().strip("<>").strip() or None


def _created(headers: dict[str, str]) -> str | None:
    date = headers.get("warc-date")
    return normalize_timestamp(date) if date else None


def _dump_in(text: str) -> str | None:
    m = _DUMP_RE.search(text)
    return m.group(0) if m else None


def _parse_error(rel: str, bad: _Bad) -> Dropped:
    meta: dict[str, Any] = {"file": rel, "offset": bad.offset}
    if (rid := _record_id(bad.headers)) is not None:
        meta["warc_record_id"] = rid
    doc = Document(id=f"{rel}@{bad.offset}", source=SOURCE, text="", url=_url(bad.headers),
                   created=_created(bad.headers), metadata=dump_meta(meta))
    return Dropped(doc, DropReason.PARSE_ERROR, STAGE, bad.detail[:500])


def _payload(rec: _Record, kind: str, max_bytes: int) -> Payload:
    """The record's payload: HTTP for a response (`application/http`), the block itself otherwise."""
    warc_type, warc_charset = split_content_type(rec.headers.get("content-type", ""))
    http = warc_type == "application/http" or (not warc_type and rec.block.startswith(b"HTTP/"))
    if kind == "response" and http:
        payload = parse_http_response(rec.block, max_bytes)
    else:  # a WET conversion (text/plain), or a response that is not HTTP (dns:, ftp:)
        payload = Payload(None, warc_type, warc_charset, rec.block)
    if payload.content_type:
        return payload
    # No Content-Type: Common Crawl's own identification, else HTML if it looks like markup.
    identified = rec.headers.get("warc-identified-payload-type", "").lower()
    guess = identified or ("text/html" if payload.body.lstrip()[:1] == b"<" else "")
    return dataclasses.replace(payload, content_type=guess)


def _document(rec: _Record, kind: str, rel: str, dump: str | None, payload: Payload,
              text: str = "", charset: str | None = None) -> Document:
    rid = _record_id(rec.headers)
    digest = rec.headers.get("warc-payload-digest") or rec.headers.get("warc-block-digest")
    meta = {"file": rel, "warc_record_id": rid, "payload_digest": digest, "content_type": payload.content_type,
            "charset": charset, "dump": dump, "record_type": kind}
    return Document(id=f"{rel}#{rid}" if rid else f"{rel}@{rec.offset}", source=SOURCE, text=text,
                    url=_url(rec.headers), created=_created(rec.headers), metadata=dump_meta(meta))


def _to_item(rec: _Record, kind: str, rel: str, dump: str | None, cfg: CommonCrawlConfig) -> Document | Dropped:
    """One response or conversion record -> a Document, a declined page (EMPTY), a page shorter
    than cfg.min_chars (TOO_SHORT) or a PARSE_ERROR."""
    try:
        payload = _payload(rec, kind, cfg.max_record_bytes)
    except PayloadError as e:
        return _parse_error(rel, _Bad(rec.offset, str(e), rec.headers))
    declined = None
    if payload.status is not None and not 200 <= payload.status < 300:
        declined = f"http status {payload.status}"  # an error page or redirect, not the page itself
    elif payload.content_type not in TEXT_TYPES:
        declined = f"content type {payload.content_type or 'unknown'}"
    if declined:
        return Dropped(_document(rec, kind, rel, dump, payload), DropReason.EMPTY, STAGE, declined)
    html = payload.content_type != "text/plain"
    decoded, charset = decode_payload(payload.body, payload.charset, html=html)
    text = html_to_text(decoded) if html else plain_to_text(decoded)
    doc = _document(rec, kind, rel, dump, payload, text, charset)
    # cc_net's reader drops `len(doc["raw_content"]) < min_len` (300); a page with no text at all
    # is left to the `empty` check, as for every source.
    if text.strip() and len(text) < cfg.min_chars:
        return Dropped(doc, DropReason.TOO_SHORT, STAGE, f"{len(text)} characters, under commoncrawl.min_chars")
    return doc


def parse_commoncrawl_file(path: str, rel: str, cfg: CommonCrawlConfig) -> Iterator[Document | Dropped]:
    """Stream one WARC or WET file (plain or gzip); the module docstring says what becomes what.

    `dump` is the crawl the warcinfo record's `isPartOf` names, else a `CC-MAIN-YYYY-WW` in the path.
    """
    dump = _dump_in(rel)
    with open_raw(path) as raw:
        for item in _file_records(raw, path.lower().endswith(".gz"), cfg.max_record_bytes):
            if isinstance(item, _Bad):
                yield _parse_error(rel, item)
                continue
            kind = item.headers.get("warc-type", "").lower()
            if kind == "warcinfo":
                m = _IS_PART_OF_RE.search(item.block)
                dump = m.group(1).decode("utf-8", "replace") if m else dump
            elif kind in ("response", "conversion"):
                yield _to_item(item, kind, rel, dump, cfg)


@dataclasses.dataclass(frozen=True)
class CommonCrawlModels:
    """What `make models` trained, as the corpus job loads it (pipeline/jobs/models.py)."""

    lid: str
    lms: dict[str, LanguageModelFiles]
    wikiref: str


def plan(cfg: Any, models: CommonCrawlModels | None) -> SourcePlan:
    assert models is not None, "the launcher loads the models of a source that needs them"
    cc = cfg.commoncrawl
    # CCNet's order: line dedup (the dedup steps), language ID, perplexity; then, with the cut-offs
    # of the whole source, the buckets and the Wikipedia-reference classifier.
    return SourcePlan(after_dedup=(("lang", Recipe(lang_id_step, cc, models.lid)),
                                   ("perplexity", Recipe(perplexity_step, models.lms))),
                      bucket=Recipe(bucket_step, cc),
                      after_bucket=(("wiki_ref", Recipe(wiki_ref_step, cc, models.wikiref)),))


# WARC (response records) and WET (conversion records); WAT metadata files are not text. Exact
# copies first (one of two identical pages stays), then CCNet's line dedup on the rest.
SPEC = SourceSpec(SOURCE, CommonCrawlConfig, (".warc", ".warc.gz", ".warc.wet", ".warc.wet.gz", ".wet", ".wet.gz"),
                  parse_commoncrawl_file, plan, dedup=("exact", "lines"), stages=("lang", "perplexity", "wiki_ref"),
                  needs_models=True)
