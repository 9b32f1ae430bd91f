"""The thin Beam layer every source shares: read files, apply a per-document step, route drops.

A step is a plain callable `Document -> Document | Dropped`. It is built by a picklable factory in
`DoFn.setup()`, so a model or word list loads once per worker, never in `__init__` on the launcher.
Every step counts `seen`, `kept` and `dropped/<reason>` per source as Beam counters, and sends
Dropped records to the `dropped` output instead of discarding them.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.document import Document, DropReason, Dropped

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
            counter = self._dropped[reason.value] = Metrics.counter(self._source, f"{self._stage}/dropped/{reason.value}")
        counter.inc()


def _route(item: Document | Dropped, counters: _Counters) -> Iterator[Any]:
    counters.seen.inc()
    if isinstance(item, Dropped):
        counters.drop(item.reason)
        yield beam.pvalue.TaggedOutput(DROPPED, item)
    else:
        counters.kept.inc()
        yield item


class _ReadFileFn(beam.DoFn):
    """Runs a source's pure `parse_file(path, rel, cfg)` over one file."""

    def __init__(self, source: str, parse_file: Callable[..., Iterable[Document | Dropped]], cfg: Any) -> None:
        self._source, self._parse_file, self._cfg = source, parse_file, cfg

    def setup(self) -> None:
        self._counters = _Counters(self._source, "read")

    def process(self, item: tuple[str, str]) -> Iterator[Any]:
        path, rel = item
        try:
            for out in self._parse_file(path, rel, self._cfg):
                yield from _route(out, self._counters)
        except Exception as exc:  # noqa: BLE001 - parsers handle expected damage; this is the last net
            # Whatever was yielded before stays; the rest of this file is counted, and the job goes on.
            _LOG.exception("reading %s failed", path)
            doc = Document(id=f"{rel}#read-error", source=self._source, text="", metadata=f'{{"file":"{rel}"}}')
            yield from _route(Dropped(doc, DropReason.PARSE_ERROR, "read", f"{type(exc).__name__}: {exc}"[:500]), self._counters)


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

    def __init__(self, fn: Callable[[Document, Any], "Document | Dropped"], cfg: Any) -> None:
        self._fn, self._cfg = fn, cfg

    def __call__(self) -> Step:
        fn, cfg = self._fn, self._cfg
        return lambda doc: fn(doc, cfg)
