"""The corpus job, wiring only. Document text never crosses a shuffle (DESIGN.md, data flow):

  Phase 1, per input file:   read -> clean -> filter -> staged `read` file (+ its drops), and the
                             first dedup step's keys
  Phase 2, keys only:        each dedup step decides from its keys (GroupByKey per bucket); a step
                             after the first gets its keys from a replay of the staged file with the
                             earlier steps' decisions applied
  Phase 3, per input file:   staged documents + that file's decisions -> dedup applied -> model steps
                             (CommonCrawl) -> staged `final` file (+ its drops), and id keys
  Phase 4 (CommonCrawl):     the perplexities of phase 3, per language (GroupByKey) -> bucket
                             cut-offs at percentiles -> joined to each file by a small CoGroupByKey
                             -> buckets and the reference classifier per file -> staged `final` file
  Write, per output shard:   contiguous ranges of the final files, in input-file order, into shards;
                             copies of one id dropped (`duplicate_id`); manifest.json, stats.json

Only file tasks, keys, decisions and counts go through GroupByKey / CoGroupByKey, every ParDo has
one output (records say what they are in their first element), and no side inputs are used: the
same graph runs on the FnApiRunner, the portable runner with a worker pool, and the DaskRunner.
"""
from __future__ import annotations

import apache_beam as beam
import numpy as np

from dedup.common import DECISION, STAT
from dedup.ids import UniqueIdsStep
from dedup.steps import build_dedup
from filters.ccnet import Cutoffs, choose_cutoffs
from pipeline.jobs.finalize import Finalize
from pipeline.jobs.inputs import SourceFiles
from pipeline.jobs.passes import (
    COUNT,
    FILE,
    INFO,
    KEYS,
    PPL,
    BucketFile,
    FileTask,
    FinishFile,
    ReadAndStage,
    ReplayKeys,
)
from pipeline.jobs.write_shards import PlanShards, WriteShard
from pipeline.sources.commoncrawl import CommonCrawlModels
from pipeline.sources.registry import SOURCES, CorpusConfig

__all__ = ["Corpus", "CorpusSource"]


# Selecting records by tag is one FlatMap, not a Filter and a Map: Beam spends about as long
# building and translating each ParDo of the graph as a small input takes to run through it.
def _select(pcoll, tags: frozenset[str], label: str, shape=None):
    """The records of `pcoll` whose tag is in `tags`, each as `shape(record)` (default: as is)."""
    if shape is None:
        return pcoll | label >> beam.Filter(lambda r: r[0] in tags)
    return pcoll | label >> beam.FlatMap(lambda r: (shape(r),) if r[0] in tags else ())


def _tagged(pcoll, tag: str, label: str, shape=None):
    return _select(pcoll, frozenset((tag,)), label, shape)


def _keys(pcoll, label: str):
    """KEYS records -> (bucket, [record, ...]) elements for a step's decide transform."""
    return _tagged(pcoll, KEYS, f"{label}ByBucket", lambda r: (r[1], r[2]))


def _decisions_by_file(decided, label: str):
    return _tagged(decided, DECISION, f"{label}ByFile", lambda r: (r[1], (r[2], r[3])))


def _by_index(records, label: str):
    """FILE records -> (file index, file info)."""
    return _tagged(records, FILE, label, lambda r: (r[1], r[2]))


_REPORTED = frozenset((COUNT, STAT, INFO))  # what Finalize sums into stats.json


def _cutoff_record(source: str, lang: str, cutoffs: Cutoffs, percentiles: tuple[float, ...]) -> tuple:
    """stats.json's record of one language's cut-offs: the values used, their origin, and the
    percentiles of the run's pages (the same values unless commoncrawl.ppl_cutoffs overrode them)."""
    finite = lambda v: v if np.isfinite(v) else None  # noqa: E731 - JSON has no infinity
    return INFO, (source, "perplexity_cutoffs", lang), {
        "cutoffs": [finite(v) for v in cutoffs.values], "from": cutoffs.origin, "pages": cutoffs.pages,
        "percentiles": {f"{p:g}": finite(v) for p, v in zip(percentiles, cutoffs.percentiles, strict=False)}}


class _Buckets(beam.PTransform):
    """Phase 4: the scored files' perplexities -> cut-offs per language -> the bucket pass per file.
    Only perplexities (8 bytes a page), file records and cut-offs cross the shuffles. Like every
    composite of the job, its output is one collection of tagged records (passes.py): the bucket
    pass's COUNT, KEYS and FILE records and an INFO record per language's cut-offs."""

    def __init__(self, source: str, cfg: CorpusConfig, plan) -> None:
        super().__init__()
        self._source, self._cfg, self._plan = source, cfg, plan

    def expand(self, finished):
        source, cfg = self._source, self._cfg
        percentiles = tuple(cfg.models.ppl_percentiles)
        cutoffs = (
            _tagged(finished, PPL, "PerplexitiesByLanguage", lambda r: (r[1][1], r[2]))
            | "GroupByLanguage" >> beam.GroupByKey()
            | "Cutoffs" >> beam.Map(
                lambda kv: (kv[0], choose_cutoffs(cfg.commoncrawl, percentiles, np.concatenate(list(kv[1])))))
        )
        scored = _tagged(finished, FILE, "ScoredBySource", lambda r: (source, (r[1], r[2])))
        bucketed = (
            {"files": scored, "cutoffs": cutoffs | "CutoffsBySource" >> beam.Map(lambda kv: (source, kv))}
            | "JoinCutoffs" >> beam.CoGroupByKey()
            | "CutoffsToFiles" >> beam.FlatMap(
                lambda kv: ((i, (info, dict(kv[1]["cutoffs"])))
                            for i, info in sorted(kv[1]["files"], key=lambda f: f[0])))
            | "SpreadScored" >> beam.Reshuffle()
            | "Bucket" >> beam.ParDo(BucketFile(self._plan, cfg.output, cfg.shards.write_dropped))
        )
        infos = cutoffs | "CutoffRecords" >> beam.Map(lambda kv: _cutoff_record(source, kv[0], kv[1], percentiles))
        return (bucketed, infos) | "BucketRecords" >> beam.Flatten()


class CorpusSource(beam.PTransform):
    """One source's branch: file tasks -> COUNT / STAT / final FILE records (text stays staged)."""

    def __init__(self, sf: SourceFiles, cfg: CorpusConfig, models: CommonCrawlModels | None) -> None:
        super().__init__()
        self._sf, self._cfg, self._models = sf, cfg, models

    def expand(self, pbegin):
        sf, cfg = self._sf, self._cfg
        spec = SOURCES[sf.source]
        plan = spec.plan(cfg, self._models)
        dedup = plan.dedup or cfg.dedup
        steps = [*plan.pre_steps, *(build_dedup(step, sf.source, dedup) for step in dedup.steps(sf.source))]
        out, write_dropped = cfg.output, cfg.shards.write_dropped
        tasks = [FileTask(sf.source, i, path, rel) for i, (path, rel) in enumerate(sf.files)]
        first_keys = steps[0] if steps else None
        read = (
            pbegin
            | "ListFiles" >> beam.Create(tasks, reshuffle=False)  # SpreadFiles reshuffles
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadAndStage" >> beam.ParDo(
                ReadAndStage(spec.read_args(cfg), plan, first_keys, out, write_dropped, cfg.holdout.ids_file))
        )
        files = _by_index(read, "StagedByIndex")
        decisions, outputs = [], [read]
        keys = _keys(read, "Keys0") if steps else None
        for j, step in enumerate(steps):
            if j > 0:  # keys of the documents as the earlier steps left them
                replay = ({"file": files, **{f"d{i}": d for i, d in enumerate(decisions)}}
                          | f"JoinForKeys{j}" >> beam.CoGroupByKey())
                keys = _keys(replay | f"Replay{j}" >> beam.ParDo(ReplayKeys(steps[:j], step, out)), f"Keys{j}")
            decided = keys | f"Decide{step.name.title()}" >> step.decide(out)
            decisions.append(_decisions_by_file(decided, f"Step{j}"))
            outputs.append(decided)
        joined = ({"file": files, **{f"d{i}": d for i, d in enumerate(decisions)}}
                  | "JoinDecisions" >> beam.CoGroupByKey())
        finished = joined | "Finish" >> beam.ParDo(FinishFile(plan, steps, out, write_dropped))
        if plan.bucket is not None:
            outputs.append(finished)
            finished = finished | "Buckets" >> _Buckets(sf.source, cfg, plan)
        ids = UniqueIdsStep(sf.source)
        id_drops = _decisions_by_file(_keys(finished, "IdKeys") | "DecideIds" >> ids.decide(out), "Ids")
        id_counts = id_drops | "CountIdDrops" >> beam.Map(lambda _: (COUNT, (sf.source, "write", "duplicate_id"), 1))
        final_files = _by_index(finished, "FinalByIndex")
        shard_records = (
            {"file": final_files, "ids": id_drops}
            | "JoinIdDrops" >> beam.CoGroupByKey()
            | "ToOneKey" >> beam.Map(lambda kv: (sf.source, kv))
            | "CollectFiles" >> beam.GroupByKey()
            | "PlanShards" >> beam.FlatMap(PlanShards(cfg.shards))
            | "SpreadShards" >> beam.Reshuffle()
            | "WriteShard" >> beam.ParDo(WriteShard(out, cfg.shards.batch_rows))
        )
        counts = [_select(pc, _REPORTED, f"Reported{i}") for i, pc in enumerate(outputs + [finished])]
        return (counts + [id_counts, shard_records]) | "SourceRecords" >> beam.Flatten()


class Corpus(beam.PTransform):
    """The whole job: `pipeline | Corpus(cfg, inputs, models)` writes the shards, manifest.json and
    stats.json under cfg.output, and is the one-element collection holding stats.json's content."""

    def __init__(self, cfg: CorpusConfig, inputs: list[SourceFiles], models: CommonCrawlModels | None = None) -> None:
        super().__init__()
        assert inputs, "the launcher checks that at least one source is present"
        self._cfg, self._inputs, self._models = cfg, inputs, models

    def expand(self, pbegin):
        cfg, inputs = self._cfg, self._inputs
        records = [pbegin | f"{sf.source.capitalize()}" >> CorpusSource(sf, cfg, self._models) for sf in inputs]
        source_files = {
            sf.source: {"files": len(sf.files), "ignored_files": list(sf.ignored),
                        "dedup_steps": list(cfg.dedup.steps(sf.source))}
            for sf in inputs
        }
        return records | "AllRecords" >> beam.Flatten() | "Finalize" >> Finalize(cfg.output, source_files, cfg.shards)

