"""Cutting text units (lines, sentence spans) that repeat across documents, decided from hashes.

The shape both CCNet's line dedup and C4's span dedup share:

  1. keys: each document sends its units as (unit hash, id, position, start, end) to the hash's
     bucket;
  2. decide: every occurrence of a unit meets in its bucket, and a policy picks the occurrences to
     remove: `all_if_shared` (CCNet: every copy, when the unit occurs in two or more documents;
     all but the first, when it repeats inside one document) or
     `all_but_first` (C4: all but the occurrence with the smallest (id, start));
  3. apply: each document, beside its staged text, loses the character ranges decided for it.

No step holds more than one bucket's unit hashes or one document's removals, and the result does
not depend on input order or worker count.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dedup.common import KeyedStep, add_stat, bucket_of, decision, stage_name, stat
from pipeline.core.document import Document, Dropped, DropReason

Unit = tuple[Any, int, int]  # (hashable key, start char, end char)
_SPACES_BEFORE_NEWLINE = re.compile(r"[ \t]+(?=\n)|[ \t]+$")


def _all_if_shared(occurrences: list[tuple]) -> Iterator[tuple]:
    """CCNet: a unit in two or more documents is removed from all of them; a unit repeated inside
    one document only keeps its first copy (cc_net/dedup.py finalize_doc)."""
    first_doc = occurrences[0][3]  # positions, not ids: two input files may repeat an id
    if any(occ[3] != first_doc for occ in occurrences):
        yield from occurrences
    else:
        first = min(occurrences, key=lambda occ: occ[1])  # the smallest start
        yield from (occ for occ in occurrences if occ is not first)


def _all_but_first(occurrences: list[tuple]) -> Iterator[tuple]:
    """C4: every occurrence but the one with the smallest (id, start) is removed."""
    first = min(occurrences)
    for occurrence in occurrences:
        if occurrence != first:
            yield occurrence


POLICIES = {"all_if_shared": _all_if_shared, "all_but_first": _all_but_first}


def cut_ranges(text: str, ranges: list[tuple[int, int]]) -> tuple[str, int, int]:
    """`text` without the union of `ranges`; returns (text, ranges cut, characters cut)."""
    merged: list[list[int]] = []
    for start, end in sorted(set(ranges)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, position = [], 0
    for start, end in merged:
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return "".join(pieces), len(set(ranges)), sum(end - start for start, end in merged)


def _bucket_key(key: Any) -> Any:
    return key if isinstance(key, int) else repr(key)


def _signed(value: Any) -> Any:
    """64-bit hashes as signed ints: Beam's integer coder takes nothing above 2**63 - 1."""
    if isinstance(value, int) and value >= 1 << 63:
        return value - (1 << 64)
    return value


def _encodable(key: Any) -> Any:
    return tuple(_signed(v) for v in key) if isinstance(key, tuple) else _signed(key)


class RemoveRepeated(KeyedStep):
    """Repeated units cut out of documents (see the module docstring)."""

    def __init__(self, source: str, name: str, units: Callable[[Document], Iterable[Unit]], policy: str,
                 min_chars: int) -> None:
        super().__init__(source)
        assert policy in POLICIES, policy
        self.name, self._units, self._policy, self._min_chars = name, units, policy, min_chars

    def keys(self, docs: list[Document], positions) -> Iterator[tuple[int, Any]]:
        for doc, position in zip(docs, positions, strict=False):
            for key, start, end in self._units(doc):
                key = _encodable(key)
                yield bucket_of(_bucket_key(key)), (key, doc.id, position, start, end)

    def decide_bucket(self, records: Iterable[Any]) -> Iterator[tuple]:
        by_unit: dict[Any, list] = {}
        for key, doc_id, position, start, end in records:
            key = tuple(key) if isinstance(key, list) else key
            by_unit.setdefault(key, []).append((doc_id, start, end, tuple(position)))
        decide = POLICIES[self._policy]
        for occurrences in by_unit.values():
            if len(occurrences) > 1:
                for _, start, end, position in decide(occurrences):
                    yield decision(position, (start, end))

    def apply(self, doc: Document, decisions: list[Any], stats: dict[str, int]) -> Document | Dropped:
        text, num_units, num_chars = cut_ranges(doc.text, [tuple(r) for r in decisions])
        text = _SPACES_BEFORE_NEWLINE.sub("", text)
        add_stat(stats, f"{self.name}_removed", num_units)
        add_stat(stats, "chars_removed", num_chars)
        doc = dataclasses.replace(doc.with_meta(**{f"{self.name}_removed": num_units}), text=text)
        if len(text.strip()) < self._min_chars:
            add_stat(stats, "documents_removed", 1)
            detail = f"{len(text.strip())} chars left after removing {num_units} repeated {self.name}"
            return Dropped(doc, DropReason.TOO_SHORT_AFTER_DEDUP, stage_name(self.name), detail)
        return doc


__all__ = ["RemoveRepeated", "Unit", "cut_ranges", "stat"]
