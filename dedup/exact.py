"""Exact dedup: one document per hash of its normalized text, decided from hashes alone.

Each document sends (128-bit hash of its normalized text, id, position) to the hash's bucket; the
documents of one hash meet there, the smallest id is kept (deterministic whatever the input order
or worker count) and the others are dropped with reason `duplicate_exact`, the kept id in their
metadata as `duplicate_of`. Used for GitHub's exact file-level dedup (LLaMA section 2) and as the
default for the other sources.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dedup.common import KeyedStep, bucket_of, decision, stage_name, stat
from dedup.hashing import content_hash, normalize_for_exact
from pipeline.core.config import ExactDedupConfig
from pipeline.core.document import Document, Dropped, DropReason


class ExactStep(KeyedStep):
    name = "exact"

    def __init__(self, source: str, cfg: ExactDedupConfig) -> None:
        super().__init__(source)
        self._mode = cfg.normalization

    def keys(self, docs: list[Document], positions) -> Iterator[tuple[int, Any]]:
        for doc, position in zip(docs, positions, strict=False):
            digest = content_hash(normalize_for_exact(doc.text, self._mode))
            yield bucket_of(digest), (digest, doc.id, position)

    def decide_bucket(self, records: Iterable[Any]) -> Iterator[tuple]:
        by_hash: dict[str, list] = {}
        for digest, doc_id, position in records:
            by_hash.setdefault(digest, []).append((doc_id, tuple(position)))
        for group in by_hash.values():
            if len(group) < 2:
                continue
            group.sort()
            keeper = group[0][0]
            for _, position in group[1:]:
                yield decision(position, keeper)
            yield stat(self.source, self.name, "documents_removed", len(group) - 1)
            yield stat(self.source, self.name, "clusters", 1)
            yield stat(self.source, self.name, "max_cluster", len(group))

    def apply(self, doc: Document, decisions: list[Any], stats: dict[str, int]) -> Document | Dropped:
        keeper = decisions[0]
        dropped = doc.with_meta(duplicate_of=keeper)
        return Dropped(dropped, DropReason.DUPLICATE_EXACT, stage_name(self.name), keeper)
