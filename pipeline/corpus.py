"""The corpus job, wiring only. Document text never crosses a shuffle (DESIGN.md, data flow):

  Phase 1, per input file:   read -> clean -> filter -> staged `read` file (+ its drops), and the
                             first dedup step's keys
  Phase 2, keys only:        each dedup step decides from its keys (GroupByKey per bucket); a step
                             after the first gets its keys from a replay of the staged file with the
                             earlier steps' decisions applied
  Phase 3, per input file:   staged documents + that file's decisions -> dedup applied -> model steps
                             (CommonCrawl) -> staged `final` file (+ its drops), and id keys
  Write, per output shard:   contiguous ranges of the final files, in input-file order, into shards;
                             copies of one id dropped (`duplicate_id`); manifest.json, stats.json

Only file tasks, keys, decisions and counts go through GroupByKey / CoGroupByKey, every ParDo has
one output (records say what they are in their first element), and no side inputs are used: the
same graph runs on the FnApiRunner, the portable runner with a worker pool, and the DaskRunner.
"""
from __future__ import annotations

import apache_beam as beam

from dedup.common import DECISION, STAT
from dedup.ids import UniqueIdsStep
from dedup.steps import build_dedup
from pipeline.config import CorpusConfig
from pipeline.finalize import Finalize
from pipeline.inputs import SourceFiles
from pipeline.passes import COUNT, FILE, KEYS, FileTask, FinishFile, ReadAndStage, ReplayKeys
from pipeline.plan import CommonCrawlModels, plan_source
from pipeline.shards import PlanShards, WriteShard

__all__ = ["CommonCrawlModels", "build_corpus"]


def _tagged(pcoll, tag: str, label: str):
    return pcoll | label >> beam.Filter(lambda record, t=tag: record[0] == t)


def _keys(pcoll, label: str):
    """KEYS records -> (bucket, [record, ...]) elements for a step's decide transform."""
    return _tagged(pcoll, KEYS, f"{label}Only") | f"{label}ByBucket" >> beam.Map(lambda r: (r[1], r[2]))


def _decisions_by_file(decided, label: str):
    return _tagged(decided, DECISION, f"{label}Decisions") | f"{label}ByFile" >> beam.Map(lambda r: (r[1], (r[2], r[3])))


class CorpusSource(beam.PTransform):
    """One source's branch: file tasks -> COUNT / STAT / final FILE records (text stays staged)."""

    def __init__(self, sf: SourceFiles, cfg: CorpusConfig, models: CommonCrawlModels | None) -> None:
        super().__init__()
        self._sf, self._cfg, self._models = sf, cfg, models

    def expand(self, pbegin):
        sf, cfg = self._sf, self._cfg
        plan = plan_source(sf.source, cfg, self._models)
        steps = plan.pre_steps + [build_dedup(step, sf.source, cfg.dedup) for step in getattr(cfg.dedup, sf.source)]
        out, write_dropped = cfg.output, cfg.shards.write_dropped
        tasks = [FileTask(sf.source, i, path, rel) for i, (path, rel) in enumerate(sf.files)]
        first_keys = steps[0] if steps else None
        read = (
            pbegin
            | "ListFiles" >> beam.Create(tasks)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadAndStage" >> beam.ParDo(ReadAndStage(plan, first_keys, out, write_dropped))
        )
        files = _tagged(read, FILE, "StagedFiles") | "FileByIndex" >> beam.Map(lambda r: (r[1], r[2]))
        decisions, outputs = [], [read]
        keys = _keys(read, "Keys0") if steps else None
        for j, step in enumerate(steps):
            if j > 0:  # keys of the documents as the earlier steps left them
                replay = {"file": files, **{f"d{i}": d for i, d in enumerate(decisions)}} | f"JoinForKeys{j}" >> beam.CoGroupByKey()
                keys = _keys(replay | f"Replay{j}" >> beam.ParDo(ReplayKeys(steps[:j], step, out)), f"Keys{j}")
            decided = keys | f"Decide{step.name.title()}" >> step.decide(out)
            decisions.append(_decisions_by_file(decided, f"Step{j}"))
            outputs.append(_tagged(decided, STAT, f"Step{j}Stats"))
        joined = {"file": files, **{f"d{i}": d for i, d in enumerate(decisions)}} | "JoinDecisions" >> beam.CoGroupByKey()
        finished = joined | "Finish" >> beam.ParDo(FinishFile(plan, steps, out, write_dropped))
        ids = UniqueIdsStep(sf.source)
        id_drops = _decisions_by_file(_keys(finished, "IdKeys") | "DecideIds" >> ids.decide(out), "Ids")
        id_counts = id_drops | "CountIdDrops" >> beam.Map(lambda _: (COUNT, (sf.source, "write", "duplicate_id"), 1))
        final_files = _tagged(finished, FILE, "FinalFiles") | "FinalByIndex" >> beam.Map(lambda r: (r[1], r[2]))
        shard_records = (
            {"file": final_files, "ids": id_drops}
            | "JoinIdDrops" >> beam.CoGroupByKey()
            | "ToOneKey" >> beam.Map(lambda kv: (sf.source, kv))
            | "CollectFiles" >> beam.GroupByKey()
            | "PlanShards" >> beam.FlatMap(PlanShards(cfg.shards))
            | "SpreadShards" >> beam.Reshuffle()
            | "WriteShard" >> beam.ParDo(WriteShard(out, cfg.shards.batch_rows))
        )
        counts = [_tagged(pc, tag, f"Out{i}{tag}") for i, pc in enumerate(outputs + [finished]) for tag in (COUNT, STAT)]
        return (counts + [id_counts, shard_records]) | "SourceRecords" >> beam.Flatten()


def build_corpus(p: beam.Pipeline, cfg: CorpusConfig, inputs: list[SourceFiles], models: CommonCrawlModels | None = None):
    """Adds the whole job to `p`; returns the one-element collection holding stats.json's content."""
    assert inputs, "the launcher checks that at least one source is present"
    records = [p | f"{sf.source.capitalize()}" >> CorpusSource(sf, cfg, models) for sf in inputs]
    source_files = {
        sf.source: {"files": len(sf.files), "ignored_files": list(sf.ignored), "dedup_steps": list(getattr(cfg.dedup, sf.source))}
        for sf in inputs
    }
    return records | "AllRecords" >> beam.Flatten() | "Finalize" >> Finalize(cfg.output, source_files, cfg.shards)

