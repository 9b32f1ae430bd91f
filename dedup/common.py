"""What every dedup composite shares: its output shape and its statistics records.

A dedup composite maps Documents to a dict of three PCollections: `kept` (Documents), `dropped`
(Dropped records, stage "dedup_<step>") and `stats` (((source, step, name), int) records that the
job sums, or maxes for names starting with "max_", into stats.json).
"""
from __future__ import annotations

from typing import Any

import apache_beam as beam

from pipeline.stages import DROPPED

STATS = "stats"


def stat(source: str, step: str, name: str, value: int) -> beam.pvalue.TaggedOutput:
    return beam.pvalue.TaggedOutput(STATS, ((source, step, name), int(value)))


def stage_name(step: str) -> str:
    return f"dedup_{step}"


def outputs(result: Any) -> dict[str, beam.PCollection]:
    """A ParDo's with_outputs(DROPPED, STATS, main="kept") as the dedup output dict."""
    return {"kept": result.kept, "dropped": result[DROPPED], "stats": result[STATS]}


def merge_stats(records: list[tuple[tuple[str, str, str], int]]) -> dict[str, dict[str, dict[str, int]]]:
    """((source, step, name), value) records -> {source: {step: {name: total}}}."""
    merged: dict[str, dict[str, dict[str, int]]] = {}
    for (source, step, name), value in sorted(records):
        slot = merged.setdefault(source, {}).setdefault(step, {})
        slot[name] = max(slot.get(name, value), value) if name.startswith("max_") else slot.get(name, 0) + value
    return merged
