"""The corpus job, wiring only: per source Read -> Clean -> Filter -> Dedup steps -> WriteShards.

Every step's drops are flattened into one collection that feeds dropped/ and stats.json.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import apache_beam as beam

from dedup.steps import build_dedup
from filters.basic import check_not_empty
from filters.c4 import C4Filter
from filters.filter_documents import FilterDocuments, Plain
from pipeline.config import CorpusConfig
from pipeline.finalize import CountOutcomes, Finalize
from pipeline.inputs import SourceFiles
from pipeline.shards import WriteShards
from pipeline.sources.c4 import ReadC4
from pipeline.sources.wikipedia import ReadWikipedia, clean_wikipedia
from pipeline.stages import ApplyStep, Bind


def _c4_plan(cfg: CorpusConfig) -> tuple[beam.PTransform, Callable, list]:
    return ReadC4(cfg.c4), functools.partial(C4Filter, cfg.c4), [Plain(check_not_empty)]


def _wikipedia_plan(cfg: CorpusConfig) -> tuple[beam.PTransform, Callable, list]:
    return ReadWikipedia(cfg.wikipedia), Bind(clean_wikipedia, cfg.wikipedia), [Plain(check_not_empty)]


# source -> (Read<Source>, clean step factory, checks for FilterDocuments)
PLANS: dict[str, Callable[[CorpusConfig], tuple[beam.PTransform, Callable, list]]] = {
    "c4": _c4_plan,
    "wikipedia": _wikipedia_plan,
}


def _source_branch(p: beam.Pipeline, sf: SourceFiles, cfg: CorpusConfig) -> dict[str, Any]:
    name = sf.source.capitalize()
    read, make_clean, checks = PLANS[sf.source](cfg)
    files = p | f"List{name}Files" >> beam.Create(list(sf.files))
    raw = files | f"Read{name}" >> read
    cleaned = raw.kept | f"Clean{name}" >> ApplyStep(sf.source, "clean", make_clean)
    filtered = cleaned.kept | f"Filter{name}" >> FilterDocuments(sf.source, checks)
    kept, dropped, stats = filtered.kept, [raw.dropped, cleaned.dropped, filtered.dropped], []
    for step in getattr(cfg.dedup, sf.source):
        out = kept | f"Dedup{name}{step.capitalize()}" >> build_dedup(step, sf.source, cfg.dedup)
        kept = out["kept"]
        dropped.append(out["dropped"])
        stats.append(out["stats"])
    return {"seen": [raw.kept, raw.dropped], "kept": kept, "dropped": dropped, "dedup_stats": stats}


def build_corpus(p: beam.Pipeline, cfg: CorpusConfig, inputs: list[SourceFiles]) -> beam.PCollection:
    """Adds the whole job to `p`; returns the one-element collection holding stats.json's content."""
    assert inputs, "the launcher checks that at least one source is present"
    branches = [_source_branch(p, sf, cfg) for sf in inputs]
    seen = [pc for b in branches for pc in b["seen"]] | "AllSeen" >> beam.Flatten()
    kept = [b["kept"] for b in branches] | "AllKept" >> beam.Flatten()
    dropped = [pc for b in branches for pc in b["dropped"]] | "AllDropped" >> beam.Flatten()
    dedup_stats = [pc for b in branches for pc in b["dedup_stats"]] | "AllDedupStats" >> beam.Flatten()

    out, shards = cfg.output, cfg.shards
    written = kept | "WriteShards" >> WriteShards(out, shards.num_shards, shards.batch_rows)
    dropped = (dropped, written.dropped) | "WithDuplicateIds" >> beam.Flatten()
    if shards.write_dropped:
        dropped_shards = (
            dropped | "WriteDropped" >> WriteShards(out, shards.num_dropped_shards, shards.batch_rows, dropped=True)
        ).entries
    else:
        dropped_shards = p | "NoDroppedShards" >> beam.Create([])
    counts = (seen, written.entries, dropped) | "CountOutcomes" >> CountOutcomes()
    source_files = {
        sf.source: {"files": len(sf.files), "ignored_files": list(sf.ignored), "dedup_steps": list(getattr(cfg.dedup, sf.source))}
        for sf in inputs
    }
    finalize_inputs = {**counts, "dedup": dedup_stats, "kept_shards": written.entries, "dropped_shards": dropped_shards}
    return finalize_inputs | "Finalize" >> Finalize(
        out, source_files, shards
    )
