"""CCNet's paragraph (line) dedup (Wenzek et al. 2020, section 3.1; LLaMA section 2: "deduplicates
the data at the line level"), as cc_net/dedup.py does it: every line whose 64-bit hash (of
cc_net's normalize_for_dedup) occurs in another document of the scope is removed, and a line
repeated inside one document keeps only its first copy; documents left shorter than `min_chars` are dropped
(`too_short_after_dedup`). Scope: the whole source, or per dump or per file (document metadata).
"""
from __future__ import annotations

from collections.abc import Iterator

from dedup.hashing import line_hash
from dedup.repeated import RemoveRepeated, Unit
from pipeline.core.config import LineDedupConfig
from pipeline.core.document import Document
from pipeline.core.text import normalize_for_dedup


class LineUnits:
    """A document's lines as units: ((scope, line hash), start, end incl. its newline)."""

    def __init__(self, scope: str) -> None:
        self._scope = scope

    def __call__(self, doc: Document) -> Iterator[Unit]:
        scope = "" if self._scope == "all" else str(doc.meta().get(self._scope, ""))
        position = 0
        for line in doc.text.splitlines(keepends=True):
            start, position = position, position + len(line)
            # Lines that normalize to nothing (blank, only control characters) would all collide:
            # kept, where cc_net removes a page's second blank line and blank lines shared by pages.
            if normalize_for_dedup(line):
                yield (scope, line_hash(line)), start, position


def dedup_lines(source: str, cfg: LineDedupConfig) -> RemoveRepeated:
    return RemoveRepeated(source, "lines", LineUnits(cfg.scope), "all_if_shared", cfg.min_chars)
