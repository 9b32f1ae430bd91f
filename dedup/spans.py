"""C4's three-sentence-span dedup (Raffel et al. 2020, section 2.2: "we discarded all but one of
any three-sentence span occurring more than once in the data set"). The occurrence kept is the one
with the smallest (document id, offset); the others are cut from their documents, and documents
left shorter than `min_chars` are dropped (`too_short_after_dedup`).
"""
from __future__ import annotations

from collections.abc import Iterator

from dedup.hashing import sentence_spans
from dedup.repeated import RemoveRepeated, Unit
from pipeline.core.config import SpanDedupConfig
from pipeline.core.document import Document


class SpanUnits:
    def __init__(self, span: int) -> None:
        self._span = span

    def __call__(self, doc: Document) -> Iterator[Unit]:
        yield from sentence_spans(doc.text, self._span)


def dedup_spans(source: str, cfg: SpanDedupConfig) -> RemoveRepeated:
    return RemoveRepeated(source, "spans", SpanUnits(cfg.span), "all_but_first", cfg.min_chars)
