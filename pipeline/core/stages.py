"""The thin Beam layer every source shares: read files, apply a per-document step, route drops.

A step is a plain callable `Document -> Document | Dropped`. It is built by a picklable factory in
`DoFn.setup()`, so a model or word list loads once per worker, never in `__init__` on the launcher.
Every step counts `seen`, `kept` and `dropped/<reason>` per source as Beam counters, and sends
Dropped records to the `dropped` output instead of discarding them.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import printable

DROPPED = "dropped"
Step = Callable[[Document], "Document | Dropped"]
_LOG = logging.getLogger(__name__)


class _Counters:
    def __init__(self, source: str, stage: str) -> None:
        self._source, self._stage = source, stage
        self.seen = Metrics.counter(source, f"{stage}/seen")
        self.kept = Metrics.counter(source, f"{stage}/kept")
        self._dropped: dict[str, Any] = {}

    def drop(self, reason: DropReason) -> None:
        counter = self._dropped.get(reason.value)
        if counter is None:
            counter = self._dropped[reason.value] = Metrics.counter(
                self._source, f"{self._stage}/dropped/{reason.value}")
        counter.inc()


def _route(item: Document | Dropped, counters: _Counters) -> Iterator[Any]:
    counters.seen.inc()
    if isinstance(item, Dropped):
        counters.drop(item.reason)
        yield beam.pvalue.TaggedOutput(DROPPED, item)
    else:
        counters.kept.inc()
        yield item


def _input_exists(path: str) -> bool:
    if "://" in path:
        return FileSystems.exists(path)
    return os.path.lexists(path)


def read_records(source: str, parse_file: Callable[..., Iterable[Any]], path: str, rel: str, cfg: Any) -> Iterator[Any]:
    """A source's pure `parse_file(path, rel, cfg)` over one file, with the nets every reader shares.

    A file listed at launch that is gone at read time is a user error naming it (ValueError: the
    job stops with one line), never a counted parse error with wrong numbers. A file the parser
    yields nothing for is one EMPTY record (a zero-byte or record-less file is counted, never
    silently skipped); a parser exception keeps what was yielded and counts the rest of the file as
    one PARSE_ERROR; a string that is not valid UTF-8 (a file or member name that is not, a JSON
    escape of half a surrogate pair) never reaches a shard, where Arrow would refuse it and stop
    the job: names are escaped, such text is dropped.
    """
    if not _input_exists(path):
        raise ValueError(f"input file {printable(str(path))} cannot be opened (it was listed when the job started): "
                         "check that every worker sees the input, then run again")
    num_records = 0
    try:
        for out in parse_file(path, rel, cfg):
            num_records += 1
            yield _utf8_safe(out)
    except Exception as exc:  # noqa: BLE001 - parsers handle expected damage; this is the last net
        _LOG.exception("reading %s failed", rel)
        doc = Document(id=f"{rel}#read-error", source=source, text="", metadata=dump_meta({"file": rel}))
        detail = printable(f"{type(exc).__name__}: {exc}"[:500])
        yield Dropped(doc, DropReason.PARSE_ERROR, "read", detail)
        return
    if num_records == 0:
        doc = Document(id=f"{rel}#empty", source=source, text="", metadata=dump_meta({"file": rel}))
        yield Dropped(doc, DropReason.EMPTY, "read", "no records in this file")


class _ReadFileFn(beam.DoFn):
    """read_records over one (path, rel) element, drops routed to the `dropped` output."""

    def __init__(self, source: str, parse_file: Callable[..., Iterable[Document | Dropped]], cfg: Any) -> None:
        self._source, self._parse_file, self._cfg = source, parse_file, cfg

    def setup(self) -> None:
        self._counters = _Counters(self._source, "read")

    def process(self, item: tuple[str, str]) -> Iterator[Any]:
        path, rel = item
        for out in read_records(self._source, self._parse_file, path, rel, self._cfg):
            yield from _route(out, self._counters)


_TEXT_FIELDS = ("id", "url", "created", "lang")


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _utf8_safe_json(value: Any) -> Any:
    if isinstance(value, str):
        return value if _is_utf8(value) else printable(value)
    if isinstance(value, dict):
        return {_utf8_safe_json(k): _utf8_safe_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utf8_safe_json(v) for v in value]
    return value


def _utf8_safe(item: Any) -> Any:
    """`item` with every string valid UTF-8 (see _ReadFileFn); a Document whose text is not
    becomes a PARSE_ERROR. Anything else (a source's own records) passes untouched."""
    if isinstance(item, Dropped):
        doc = _utf8_safe_doc(item.doc, escape_text=True)
        detail = item.detail if _is_utf8(item.detail) else printable(item.detail)
        return item if doc is item.doc and detail is item.detail else Dropped(doc, item.reason, item.stage, detail)
    if isinstance(item, Document):
        doc = _utf8_safe_doc(item, escape_text=False)
        if _is_utf8(doc.text):
            return doc
        bad = next(i for i, c in enumerate(doc.text) if not _is_utf8(c))
        escaped = dataclasses.replace(doc, text=printable(doc.text))
        return Dropped(escaped, DropReason.PARSE_ERROR, "read",
                       f"text is not valid Unicode (lone surrogate at character {bad})")
    return item


def _utf8_safe_doc(doc: Document, escape_text: bool) -> Document:
    fields = {name: printable(value) for name in _TEXT_FIELDS
              if (value := getattr(doc, name)) is not None and not _is_utf8(value)}
    if not _is_utf8(doc.metadata):
        fields["metadata"] = dump_meta(_utf8_safe_json(json.loads(doc.metadata)))
    if escape_text and not _is_utf8(doc.text):
        fields["text"] = printable(doc.text)
    return dataclasses.replace(doc, **fields) if fields else doc


class ReadFiles(beam.PTransform):
    """(path, rel) pairs -> Documents, with drops on the `dropped` output.

    Reshuffle spreads files over workers; a source module subclasses this as Read<Source>.
    """

    source: str = ""
    parse_file: Callable[..., Iterable[Document | Dropped]]

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self._cfg = cfg

    def expand(self, files):
        parse = type(self).parse_file
        return (
            files
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles" >> beam.ParDo(_ReadFileFn(self.source, parse, self._cfg)).with_outputs(DROPPED, main="kept")
        )


class _StepFn(beam.DoFn):
    def __init__(self, source: str, stage: str, make_step: Callable[[], Step]) -> None:
        self._source, self._stage, self._make_step = source, stage, make_step

    def setup(self) -> None:
        self._step = self._make_step()  # models and word lists load here, once per worker
        self._counters = _Counters(self._source, self._stage)

    def process(self, doc: Document) -> Iterator[Any]:
        yield from _route(self._step(doc), self._counters)


class ApplyStep(beam.PTransform):
    """Documents -> kept Documents (main) and Dropped records (`dropped`)."""

    def __init__(self, source: str, stage: str, make_step: Callable[[], Step]) -> None:
        super().__init__()
        self._source, self._stage, self._make_step = source, stage, make_step

    def expand(self, docs):
        fn = _StepFn(self._source, self._stage, self._make_step)
        return docs | beam.ParDo(fn).with_outputs(DROPPED, main="kept")


class Bind:
    """A picklable factory for a pure step: Bind(fn, cfg)() is `lambda doc: fn(doc, cfg)`."""

    def __init__(self, fn: Callable[[Document, Any], Document | Dropped], cfg: Any) -> None:
        self._fn, self._cfg = fn, cfg

    def __call__(self) -> Step:
        fn, cfg = self._fn, self._cfg
        return lambda doc: fn(doc, cfg)
