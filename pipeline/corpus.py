"""The corpus job, wiring only: per source Read -> Clean -> Filter -> Dedup -> model steps -> WriteShards.

Every step's drops are flattened into one collection that feeds dropped/ and stats.json.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import apache_beam as beam

from dedup.steps import build_dedup
from filters.basic import check_not_empty
from filters.c4 import C4Filter
from filters.ccnet import LangIdStep, LanguageModelFiles, PerplexityStep, WikiRefStep
from filters.filter_documents import FilterDocuments, Plain
from pipeline.config import CorpusConfig
from pipeline.finalize import CountOutcomes, Finalize
from pipeline.inputs import SourceFiles
from pipeline.shards import WriteShards
from filters.github import clean_github
from pipeline.sources.arxiv import ReadArxiv
from pipeline.sources.books import ReadBooks
from pipeline.sources.c4 import ReadC4
from pipeline.sources.commoncrawl import ReadCommonCrawl
from pipeline.sources.github import ReadGitHub
from pipeline.sources.stackexchange import ReadStackExchange
from pipeline.sources.wikipedia import ReadWikipedia, clean_wikipedia
from pipeline.stages import ApplyStep, Bind


@dataclasses.dataclass(frozen=True)
class CommonCrawlModels:
    lid: str
    lms: dict[str, LanguageModelFiles]
    wikiref: str


@dataclasses.dataclass(frozen=True)
class SourcePlan:
    read: beam.PTransform
    clean: Callable | None  # a step factory, or None when the reader's output is already clean
    checks: list  # check factories for FilterDocuments
    after_dedup: list[tuple[str, Callable]] = dataclasses.field(default_factory=list)  # (stage, step factory)


def _plan(source: str, cfg: CorpusConfig, models: CommonCrawlModels | None) -> SourcePlan:
    checks = [Plain(check_not_empty)]
    if source == "c4":
        return SourcePlan(ReadC4(cfg.c4), functools.partial(C4Filter, cfg.c4), checks)
    if source == "wikipedia":
        return SourcePlan(ReadWikipedia(cfg.wikipedia), Bind(clean_wikipedia, cfg.wikipedia), checks)
    if source == "github":
        return SourcePlan(ReadGitHub(cfg.github), Bind(clean_github, cfg.github), checks)
    if source == "stackexchange":  # reading groups posts into questions through the shuffle
        return SourcePlan(ReadStackExchange(cfg.stackexchange), None, checks)
    if source == "arxiv":  # the LaTeX cleaning happens while reading, where the archive's files are
        return SourcePlan(ReadArxiv(cfg.arxiv), None, checks)
    if source == "books":  # Gutenberg boilerplate is stripped while reading, as the encoding is decided
        return SourcePlan(ReadBooks(cfg.books), None, checks)
    assert source == "commoncrawl" and models is not None, source
    cc = cfg.commoncrawl
    # CCNet's order: line dedup (the dedup steps), language ID, perplexity and buckets, then the
    # Wikipedia-reference classifier.
    steps = [("lang", LangIdStep(cc, models.lid)), ("perplexity", PerplexityStep(cc, models.lms)), ("wiki_ref", WikiRefStep(cc, models.wikiref))]
    return SourcePlan(ReadCommonCrawl(cc), None, checks, steps)


def _source_branch(p: beam.Pipeline, sf: SourceFiles, cfg: CorpusConfig, models: CommonCrawlModels | None) -> dict[str, Any]:
    name = sf.source.capitalize()
    plan = _plan(sf.source, cfg, models)
    raw = p | f"List{name}Files" >> beam.Create(list(sf.files)) | f"Read{name}" >> plan.read
    kept, dropped, stats = raw.kept, [raw.dropped], []
    if plan.clean is not None:
        cleaned = kept | f"Clean{name}" >> ApplyStep(sf.source, "clean", plan.clean)
        kept, dropped = cleaned.kept, dropped + [cleaned.dropped]
    filtered = kept | f"Filter{name}" >> FilterDocuments(sf.source, plan.checks)
    kept, dropped = filtered.kept, dropped + [filtered.dropped]
    for step in getattr(cfg.dedup, sf.source):
        out = kept | f"Dedup{name}{step.capitalize()}" >> build_dedup(step, sf.source, cfg.dedup)
        kept, dropped, stats = out["kept"], dropped + [out["dropped"]], stats + [out["stats"]]
    for stage, make_step in plan.after_dedup:
        out = kept | f"{name}{stage.title().replace('_', '')}" >> ApplyStep(sf.source, stage, make_step)
        kept, dropped = out.kept, dropped + [out.dropped]
    return {"seen": [raw.kept, raw.dropped], "kept": kept, "dropped": dropped, "dedup_stats": stats}


def build_corpus(p: beam.Pipeline, cfg: CorpusConfig, inputs: list[SourceFiles], models: CommonCrawlModels | None = None):
    """Adds the whole job to `p`; returns the one-element collection holding stats.json's content."""
    assert inputs, "the launcher checks that at least one source is present"
    branches = [_source_branch(p, sf, cfg, models) for sf in inputs]
    seen = [pc for b in branches for pc in b["seen"]] | "AllSeen" >> beam.Flatten()
    kept = [b["kept"] for b in branches] | "AllKept" >> beam.Flatten()
    dropped = [pc for b in branches for pc in b["dropped"]] | "AllDropped" >> beam.Flatten()
    dedup_stats = [pc for b in branches for pc in b["dedup_stats"]] | "AllDedupStats" >> beam.Flatten(pipeline=p)

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
    return finalize_inputs | "Finalize" >> Finalize(out, source_files, shards)
