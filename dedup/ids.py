"""One document per id within a source: the writer's guarantee, decided from id hashes alone.

Ids are unique within a source by the readers' construction, except for the same record in two
input files (the same Wikipedia page in two dumps). The copies meet by the 128-bit hash of their
id; the newest (`created`, then the later input position) is kept and the others are dropped as
`duplicate_id` at stage `write`: a counted drop, never a crash or a silent loss.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import xxhash

from dedup.common import KeyedStep, bucket_of, decision
from pipeline.core.document import Document, Dropped, DropReason


class UniqueIdsStep(KeyedStep):
    name = "ids"

    def keys(self, docs: list[Document], positions) -> Iterator[tuple[int, Any]]:
        for doc, position in zip(docs, positions, strict=False):
            digest = xxhash.xxh3_128_digest(doc.id.encode("utf-8", "surrogatepass"))
            yield bucket_of(digest), (digest, doc.created or "", position)

    def decide_bucket(self, records: Iterable[Any]) -> Iterator[tuple]:
        by_id: dict[bytes, list] = {}
        for digest, created, position in records:
            by_id.setdefault(digest, []).append((created, tuple(position)))
        for copies in by_id.values():
            if len(copies) > 1:
                copies.sort()
                for _, position in copies[:-1]:
                    yield decision(position, None)

    def apply(self, doc: Document, decisions: list[Any], stats: dict[str, int]) -> Document | Dropped:
        return Dropped(doc, DropReason.DUPLICATE_ID, "write", "a newer copy with this id is kept")
