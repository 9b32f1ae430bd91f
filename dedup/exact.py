"""DedupExact: one document per hash of its normalized text, through Beam's shuffle.

The documents of one hash meet in one GroupByKey group; the smallest id is kept (deterministic
whatever the input order or worker count) and the others are dropped with reason
`duplicate_exact`, the kept id in their metadata as `duplicate_of`. Used for GitHub's exact
file-level dedup (LLaMA section 2) and as the default for the other sources.
"""
from __future__ import annotations

from typing import Iterable

import apache_beam as beam

from dedup.common import STATS, outputs, stage_name, stat
from dedup.hashing import content_hash, normalize_for_exact
from pipeline.config import ExactDedupConfig
from pipeline.document import Document, DropReason, Dropped
from pipeline.stages import DROPPED


class _KeepSmallestIdFn(beam.DoFn):
    def __init__(self, source: str, step: str) -> None:
        self._source, self._step = source, step

    def process(self, keyed: tuple[str, Iterable[Document]]):
        _, group = keyed
        docs = sorted(group, key=lambda d: (d.id, d.text, d.metadata))
        keeper = docs[0]
        yield keeper
        if len(docs) > 1:
            for doc in docs[1:]:
                dropped = doc.with_meta(duplicate_of=keeper.id)
                yield beam.pvalue.TaggedOutput(DROPPED, Dropped(dropped, DropReason.DUPLICATE_EXACT, stage_name(self._step), keeper.id))
            yield stat(self._source, self._step, "documents_removed", len(docs) - 1)
            yield stat(self._source, self._step, "clusters", 1)
            yield stat(self._source, self._step, "max_cluster", len(docs))


class DedupExact(beam.PTransform):
    """Documents -> {kept, dropped, stats}: exact duplicates of normalized text removed."""

    def __init__(self, source: str, cfg: ExactDedupConfig, step: str = "exact") -> None:
        super().__init__()
        self._source, self._cfg, self._step = source, cfg, step

    def expand(self, docs):
        mode = self._cfg.normalization
        result = (
            docs
            | "KeyByContentHash" >> beam.Map(lambda d: (content_hash(normalize_for_exact(d.text, mode)), d))
            | "GroupByHash" >> beam.GroupByKey()
            | "KeepSmallestId" >> beam.ParDo(_KeepSmallestIdFn(self._source, self._step)).with_outputs(DROPPED, STATS, main="kept")
        )
        return outputs(result)
