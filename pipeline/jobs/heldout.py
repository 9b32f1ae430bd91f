"""The held-out pass (`corral ablate`): evaluation documents taken from the input before any config
filters it. The read-time step that keeps them out of every training set: pipeline/core/holdout.py.

Which documents: per source, those whose key, xxh64 of (source, id) under `seed`, falls below
`fraction` of the 64-bit range, the `max_docs` smallest keys at most (a uniform sample without
replacement, decided by the ids alone). The text evaluated is the document as its source's reader
gives it (`parse_*` in pipeline/sources), before any cleaning, filter or dedup step: so neither
variant of an ablation is evaluated on what it chose to keep.

The Beam job, text never crossing a shuffle (DESIGN.md):

  per input file:  read -> the file's candidates (keys under the rate, its max_docs smallest) staged
                   beside the output; (source, (documents read, keys)) out
  per source:      keys only through GroupByKey -> the max_docs smallest distinct keys
                   -> the chosen rows read back from the staged files -> <out>/<source>.arrow
  once:            heldout.json: per source the ids and counts, and the text hashes of every
                   evaluation document (plus any the launcher adds, e.g. a user's evaluation corpus)

A corpus job given `holdout.ids_file: <out>/heldout.json` drops, right after reading, every
document with a held-out id and every document whose text equals an evaluation document's (up to
whitespace) as `held_out` (stage `read`), so exact copies under other ids stay out as well.
Memory: one file's max_docs candidates while it is read, and one source's chosen documents while
its evaluation file is written.
"""
from __future__ import annotations

import dataclasses
import heapq
import json
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from pipeline.core.document import ARROW_SCHEMA, Document, documents_to_table, table_to_documents
from pipeline.core.holdout import HELDOUT_FILE, heldout_key, text_key
from pipeline.core.shards import join, write_batches_atomic, write_text_atomic
from pipeline.core.stages import read_records
from pipeline.core.staging import StagedWriter, read_rows, remove_staging, staged_relpath
from pipeline.jobs.inputs import SourceFiles
from pipeline.jobs.passes import FileTask

_RANGE = 1 << 64


@dataclasses.dataclass(frozen=True)
class HeldoutSettings:
    fraction: float = 0.2  # at most this share of a source's documents (by key)
    max_docs: int = 1000  # and at most this many per source
    seed: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"eval fraction {self.fraction}: give a number in (0, 1]")
        if self.max_docs < 1:
            raise ValueError(f"eval max docs {self.max_docs}: give at least 1")

    @property
    def threshold(self) -> int:
        return min(int(self.fraction * _RANGE), _RANGE)


class _Candidates(beam.DoFn):
    """One input file: its documents under the rate, the max_docs smallest keys, staged in key order;
    emits (source, (documents read, [(key, file index, row), ...]))."""

    def __init__(self, readers: dict[str, tuple[Any, Any]], settings: HeldoutSettings, out_dir: str) -> None:
        self._readers, self._settings, self._out = readers, settings, out_dir

    def process(self, task: FileTask) -> Iterator[tuple[str, tuple[int, list[tuple[int, int, int]]]]]:
        parse_file, parse_cfg = self._readers[task.source]
        threshold, limit = self._settings.threshold, self._settings.max_docs
        heap: list[tuple[int, int, Document]] = []  # (-key, order read, doc): the limit smallest keys
        num_read = 0
        for item in read_records(task.source, parse_file, task.path, task.rel, parse_cfg):
            if not isinstance(item, Document) or not item.text.strip():
                continue
            num_read += 1
            key = heldout_key(task.source, item.id, self._settings.seed)
            if key >= threshold:
                continue
            if len(heap) < limit:
                heapq.heappush(heap, (-key, num_read, item))
            elif key < -heap[0][0]:
                heapq.heapreplace(heap, (-key, num_read, item))
        chosen = sorted((-k, n, doc) for k, n, doc in heap)
        staged = StagedWriter(self._out, staged_relpath(task.source, task.index, "heldout"), dropped=False)
        for _, _, doc in chosen:
            staged.add(doc)
        staged.close()
        yield task.source, (num_read, [(key, task.index, row) for row, (key, _, _) in enumerate(chosen)])


def _choose(item: tuple[str, Iterable[tuple[int, list]]], max_docs: int) -> tuple[str, dict[str, int], list]:
    """A source's max_docs smallest distinct keys (one id read twice is one document), in input order."""
    source, files = item
    files = list(files)
    keys = sorted(k for _, file_keys in files for k in file_keys)
    chosen, seen = [], set()
    for key, index, row in keys:
        if key not in seen:
            seen.add(key)
            chosen.append((key, index, row))
        if len(chosen) == max_docs:
            break
    counts = {"read": sum(n for n, _ in files), "candidates": len(keys)}
    return source, counts, sorted(chosen, key=lambda c: (c[1], c[2]))


class _WriteSource(beam.DoFn):
    """A source's chosen documents, read back from the staged files, into <out>/<source>.arrow."""

    def __init__(self, out_dir: str) -> None:
        self._out = out_dir

    def process(self, item: tuple[str, dict[str, int], list]) -> Iterator[dict[str, Any]]:
        source, counts, chosen = item
        docs: list[Document] = []
        for index in sorted({c[1] for c in chosen}):
            rows = [c[2] for c in chosen if c[1] == index]
            table = read_rows(self._out, staged_relpath(source, index, "heldout"), rows)
            docs += table_to_documents(table)
        batches = documents_to_table(docs).to_batches(max_chunksize=256)
        write_batches_atomic(self._out, f"{source}.arrow", ARROW_SCHEMA, batches)
        yield {"source": source, **counts, "documents": len(docs),
               "bytes": sum(len(d.text.encode()) for d in docs), "ids": sorted({d.id for d in docs}),
               "texts": [text_key(d.text) for d in docs]}


def _write_index(summaries: list[dict[str, Any]], out_dir: str, settings: HeldoutSettings,
                 extra_texts: tuple[int, ...]) -> dict[str, Any]:
    summaries = sorted(summaries, key=lambda s: s["source"])
    index = {
        "settings": dataclasses.asdict(settings),
        "sources": {s["source"]: {k: s[k] for k in ("read", "candidates", "documents", "bytes")} for s in summaries},
        "ids": {s["source"]: s["ids"] for s in summaries},
        "text_xxh64": sorted({t for s in summaries for t in s["texts"]} | set(extra_texts)),
        "extra_texts": len(set(extra_texts)),
    }
    write_text_atomic(join(out_dir, HELDOUT_FILE), json.dumps(index, indent=1, sort_keys=True) + "\n")
    remove_staging(out_dir)
    return index


def build_heldout(p: beam.Pipeline, inputs: list[SourceFiles], readers: dict[str, tuple[Any, Any]],
                  settings: HeldoutSettings, out_dir: str, extra_texts: tuple[int, ...] = ()) -> None:
    """Adds the held-out pass to `p`: `readers` maps a source to its (parse_file, parse_cfg);
    `extra_texts` are text hashes (text_key) that heldout.json lists besides the chosen documents'."""
    tasks = [FileTask(sf.source, i, path, rel) for sf in inputs for i, (path, rel) in enumerate(sf.files)]
    _ = (
        p
        | "ListFiles" >> beam.Create(tasks, reshuffle=False)  # SpreadFiles reshuffles
        | "SpreadFiles" >> beam.Reshuffle()
        | "Candidates" >> beam.ParDo(_Candidates(readers, settings, out_dir))
        | "BySource" >> beam.GroupByKey()
        | "Choose" >> beam.Map(_choose, settings.max_docs)
        | "WriteSources" >> beam.ParDo(_WriteSource(out_dir))
        | "AllSources" >> beam.combiners.ToList()
        | "WriteIndex" >> beam.Map(_write_index, out_dir, settings, tuple(extra_texts))
    )
