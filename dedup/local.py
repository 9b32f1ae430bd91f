"""Run one dedup step over documents held in memory, the way the corpus job runs it.

For notebooks, benchmarks and tests: keys per "file" of `docs_per_file` documents (sidecars in a
temporary folder), the step's decide transform under Beam (FnApiRunner, `workers` processes),
then apply. The corpus job does the same over staged files (pipeline/jobs/passes.py).
"""
from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from dedup.common import DECISION, KeyedStep, decisions_by_row, merge_stats
from pipeline.core.document import Document, Dropped


def _keys_by_file(step: KeyedStep, files: list[list[Document]], staging: str) -> list[tuple[int, list]]:
    keyed = []
    for f, batch in enumerate(files):
        buckets: dict[int, list] = {}
        step.begin_file(staging, f)
        for bucket, record in [*step.keys(batch, [(f, r) for r in range(len(batch))]), *step.end_file()]:
            buckets.setdefault(bucket, []).append(record)
        keyed += sorted(buckets.items(), key=lambda kv: kv[0])
    return keyed


def _dump(records: list, path: str) -> None:
    with open(path, "wb") as f:
        pickle.dump(records, f)


def run_step(step: KeyedStep, docs: list[Document], workers: int = 1, docs_per_file: int = 1000
             ) -> tuple[list[Document], list[Dropped], dict[str, Any]]:
    """(kept documents, Dropped records, merged stats) of `step` over `docs`, in input order."""
    files = [docs[i:i + docs_per_file] for i in range(0, len(docs), docs_per_file)]
    flags = ["--runner=FnApiRunner"]
    if workers > 1:
        flags += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    folder = tempfile.mkdtemp(prefix="corral-dedup-")
    try:
        keyed = _keys_by_file(step, files, folder)
        with beam.Pipeline(options=PipelineOptions(flags=flags)) as p:
            decided = p | beam.Create(keyed) | step.decide(folder)
            decided | beam.combiners.ToList() | beam.Map(_dump, os.path.join(folder, "decided.pickle"))
        with open(os.path.join(folder, "decided.pickle"), "rb") as f:
            records = pickle.load(f)
    finally:
        shutil.rmtree(folder)
    per_file: dict[int, list] = {}
    stat_records = []
    for record in records:
        if record[0] == DECISION:
            per_file.setdefault(record[1], []).append((record[2], record[3]))
        else:
            stat_records.append((record[1], record[2]))
    decisions = {(f, r): v for f, pairs in per_file.items() for r, v in decisions_by_row(pairs).items()}
    kept, dropped, applied = [], [], {}
    for f, batch in enumerate(files):
        for r, doc in enumerate(batch):
            found = decisions.get((f, r)) or decisions.get((f, -1))
            out = step.apply(doc, sorted(found, key=repr), applied) if found else doc
            (dropped if isinstance(out, Dropped) else kept).append(out)
    stats = merge_stats(stat_records + [((step.source, step.name, k), v) for k, v in applied.items()])
    return kept, dropped, stats
