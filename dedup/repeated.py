"""RemoveRepeated: cut text units (lines, sentence spans) that repeat across documents.

The shape both CCNet's line dedup and C4's span dedup share, expressed through Beam's shuffle:

  1. each document emits its units as (unit hash, (doc id, start, end));
  2. GroupByKey on the hash brings every occurrence of a unit together, and a policy picks the
     occurrences to remove: `all_if_shared` (CCNet: every copy, when the unit occurs in two or more
     documents) or `all_but_first` (C4: all but the occurrence with the smallest (id, start));
  3. the removals are grouped by document id and joined (CoGroupByKey) with the documents, which
     are rebuilt without the removed character ranges.

No step holds more than one hash's occurrences or one document's removals, so the same code
runs over any number of workers, and the result does not depend on input order.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Callable, Iterable, Iterator

import apache_beam as beam

from dedup.common import STATS, outputs, stage_name, stat
from pipeline.document import Document, DropReason, Dropped
from pipeline.stages import DROPPED

Unit = tuple[object, int, int]  # (hashable key, start char, end char)
_SPACES_BEFORE_NEWLINE = re.compile(r"[ \t]+(?=\n)|[ \t]+$")


def _all_if_shared(occurrences: Iterable[tuple[str, int, int]]) -> Iterator[tuple[str, int, int]]:
    first_doc = None
    for doc_id, _, _ in occurrences:  # first pass: is the unit in two documents?
        if first_doc is None:
            first_doc = doc_id
        elif doc_id != first_doc:
            yield from occurrences  # GroupByKey values can be iterated again
            return


def _all_but_first(occurrences: Iterable[tuple[str, int, int]]) -> Iterator[tuple[str, int, int]]:
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


class _ApplyRemovalsFn(beam.DoFn):
    def __init__(self, source: str, step: str, min_chars: int) -> None:
        self._source, self._step, self._min_chars = source, step, min_chars

    def process(self, joined):
        _, grouped = joined
        removals = [tuple(r) for r in grouped["remove"]]
        for doc in grouped["doc"]:
            if not removals:
                yield doc
                continue
            text, num_units, num_chars = cut_ranges(doc.text, removals)
            text = _SPACES_BEFORE_NEWLINE.sub("", text)
            yield stat(self._source, self._step, f"{self._step}_removed", num_units)
            yield stat(self._source, self._step, "chars_removed", num_chars)
            doc = doc.with_meta(**{f"{self._step}_removed": num_units})
            doc = dataclasses.replace(doc, text=text)
            if len(text.strip()) < self._min_chars:
                yield stat(self._source, self._step, "documents_removed", 1)
                detail = f"{len(text.strip())} chars left after removing {num_units} repeated {self._step}"
                yield beam.pvalue.TaggedOutput(DROPPED, Dropped(doc, DropReason.TOO_SHORT_AFTER_DEDUP, stage_name(self._step), detail))
            else:
                yield doc


class RemoveRepeated(beam.PTransform):
    """Documents -> {kept, dropped, stats} with repeated units cut out (see the module docstring)."""

    def __init__(self, source: str, step: str, units: Callable[[Document], Iterable[Unit]], policy: str, min_chars: int) -> None:
        super().__init__()
        assert policy in POLICIES, policy
        self._source, self._step, self._units = source, step, units
        self._policy, self._min_chars = policy, min_chars

    def expand(self, docs):
        units, decide = self._units, POLICIES[self._policy]
        removals = (
            docs
            | "EmitUnits" >> beam.FlatMap(lambda d: ((key, (d.id, start, end)) for key, start, end in units(d)))
            | "GroupByUnit" >> beam.GroupByKey()
            | "PickRemovals" >> beam.FlatMap(lambda kv: decide(kv[1]))
            | "KeyByDoc" >> beam.Map(lambda occ: (occ[0], (occ[1], occ[2])))
        )
        by_id = docs | "KeyById" >> beam.Map(lambda d: (d.id, d))
        result = (
            {"doc": by_id, "remove": removals}
            | "JoinRemovals" >> beam.CoGroupByKey()
            | "CutUnits" >> beam.ParDo(_ApplyRemovalsFn(self._source, self._step, self._min_chars)).with_outputs(DROPPED, STATS, main="kept")
        )
        return outputs(result)
