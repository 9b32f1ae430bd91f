"""Reading C4 (allenai/c4): JSON Lines, one `{"text","timestamp","url"}` object per line.

`parse_c4_file` is pure; `ReadC4` is the thin Beam composite that fans files out to it. C4's
cleaning heuristics live in filters/c4.py. Files may be plain (`.json`, `.jsonl`) or gzip (`.json.gz`, `.jsonl.gz`,
one or many members; pipeline/sources/multistream.py); the suffix says which.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from typing import Any

from filters.c4 import C4Config, C4Filter
from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import open_raw
from pipeline.core.stages import Recipe, SourcePlan, SourceSpec
from pipeline.sources.multistream import READ_SIZE, Damaged, decompressed_chunks

SOURCE = "c4"
STAGE = "read"
# A longer line is not held: C4's documents are at most a few hundred KB, and a file that is one
# huge line (a binary file, a decompression bomb) must not fill a worker's memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"  # some writers start a UTF-8 file with one; it is no part of the record

# allenai/c4 writes "2019-04-25T12:57:54Z"; pandas re-serialisations write "2019-04-25 12:57:54".
# Matching these with a regex is the hot path; anything else goes through datetime.
_TIMESTAMP_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})Z?")


def normalize_timestamp(raw: str) -> str | None:
    """ISO 8601 UTC with a Z ("2019-04-25T12:57:54Z"), or None when `raw` is not a timestamp.

    A timestamp without a zone is taken as UTC: C4 (and Common Crawl, where it comes from)
    records crawl times in UTC.
    """
    raw = raw.strip()
    m = _TIMESTAMP_RE.fullmatch(raw)
    if m:
        return f"{m.group(1)}T{m.group(2)}Z"
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_error(rel: str, line_number: int, detail: str) -> Dropped:
    doc = Document(id=f"{rel}:{line_number}", source=SOURCE, text="",
                   metadata=dump_meta({"file": rel, "line": line_number}))
    return Dropped(doc, DropReason.PARSE_ERROR, stage=STAGE, detail=detail)


def parse_c4_line(raw: bytes, rel: str, line_number: int) -> Document | Dropped:
    """One JSON line -> a Document, or a PARSE_ERROR Dropped that says what was wrong with it."""
    try:
        # Without its line ending, a record cut off mid-string reads "Unterminated string".
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        return _parse_error(rel, line_number, f"invalid UTF-8 at byte {e.start}")
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as e:
        return _parse_error(rel, line_number, f"invalid JSON: {e.msg} at column {e.colno}")
    if not isinstance(record, dict):
        return _parse_error(rel, line_number, f"not a JSON object but {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str):
        return _parse_error(rel, line_number, "no string 'text' field")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:  # a JSON escape of half a surrogate pair ("\ud800")
            return _parse_error(rel, line_number, f"text is not valid Unicode (lone surrogate at character {e.start})")
    meta: dict[str, Any] = {"file": rel, "line": line_number}
    created = None
    timestamp = record.get("timestamp")
    if isinstance(timestamp, str):
        created = normalize_timestamp(timestamp)
    if timestamp is not None and created is None:
        # Keep the document (its text is fine) but leave a visible trace of the odd timestamp.
        meta["bad_timestamp"] = str(timestamp)
    url = record.get("url")
    return Document(
        id=f"{rel}:{line_number}",
        source=SOURCE,
        text=text,
        url=url if isinstance(url, str) else None,
        created=created,
        lang=None,  # English by C4's construction (langdetect >= 0.99), but not measured here
        metadata=dump_meta(meta),
    )


def _lines(path: str) -> Iterator[bytes | int | Damaged]:
    """The file's lines without their b"\\n"; the byte count (an int) of a line over MAX_LINE_BYTES,
    which is read past and never held; a Damaged where a gzip member broke (its partial line is
    part of the damage). Gzip by suffix, member by member (multistream.py)."""
    with open_raw(path) as raw:
        if path.lower().endswith(".gz"):
            chunks: Iterator[bytes | Damaged] = decompressed_chunks(raw, MAX_LINE_BYTES)
        else:
            chunks = iter(functools.partial(raw.read, READ_SIZE), b"")
        pending: list[bytes] = []
        size = 0  # of the line being read; over the cap, only counted
        for chunk in chunks:
            if isinstance(chunk, Damaged):
                pending, size = [], 0
                yield chunk
                continue
            *complete, rest = chunk.split(b"\n")
            for piece in complete:
                size += len(piece)
                if size > MAX_LINE_BYTES:
                    yield size
                else:
                    yield b"".join(pending) + piece if pending else piece
                pending, size = [], 0
            size += len(rest)
            if size > MAX_LINE_BYTES:
                pending = []
            elif rest:
                pending.append(rest)
        if size > MAX_LINE_BYTES:
            yield size
        elif pending:
            yield b"".join(pending)


def parse_c4_file(path: str, rel: str, cfg: C4Config) -> Iterator[Document | Dropped]:
    """Stream one C4 file. The id is `<rel>:<line>` (1-based), stable and unique per file.

    A bad line is one PARSE_ERROR and the file goes on; a line over MAX_LINE_BYTES is one TOO_LARGE
    (read past, never held). A gzip member that is corrupt or cut short is one PARSE_ERROR and
    reading resumes at the next member: line numbers after it count the lines read, as the lines
    lost with the damage cannot be counted. In a single-member file (allenai/c4's) nothing after
    the damage can be recovered. `cfg` is accepted so every source has the same signature;
    reading uses none of C4's cleaning switches.
    """
    del cfg  # the cleaning rules apply in filters.c4, after reading
    for line_number, raw in enumerate(_lines(path), start=1):
        if isinstance(raw, Damaged):
            yield _parse_error(rel, line_number, f"stream broken after line {line_number - 1}: {raw}")
        elif isinstance(raw, int):
            doc = Document(id=f"{rel}:{line_number}", source=SOURCE, text="",
                           metadata=dump_meta({"file": rel, "line": line_number}))
            yield Dropped(doc, DropReason.TOO_LARGE, STAGE, f"line of {raw} bytes, over {MAX_LINE_BYTES}")
        elif raw.strip():
            # A blank line is not a record in JSON Lines (a trailing newline makes one), so it
            # is not a document to count or drop; its number is still used so ids match lines.
            yield parse_c4_line(raw.removeprefix(_BOM) if line_number == 1 else raw, rel, line_number)


def plan(cfg: Any, models: Any) -> SourcePlan:
    return SourcePlan(clean=Recipe(C4Filter, cfg.c4))


SPEC = SourceSpec(SOURCE, C4Config, (".json.gz", ".jsonl.gz", ".json", ".jsonl"), parse_c4_file, plan,
                  stages=("clean",))
