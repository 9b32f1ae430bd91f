"""The job's last step: count outcomes through Beam, then write manifest.json and stats.json.

Counts come from the data itself (CombinePerKey over what each stage emitted), not from runner
metrics, so stats.json is exact on every runner. The final step also writes an empty shard for
every shard index no document hashed to, so a source always has exactly `num_shards` files.
"""
from __future__ import annotations

import json
import posixpath
import re
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from dedup.common import merge_stats

from pipeline.document import Document, Dropped
from pipeline.shards import DROPPED_DIR, TMP_PREFIX, empty_table, join, shard_relpath, write_atomic, write_text_atomic

_SHARD_RE = re.compile(r"^part-\d{5}-of-\d{5}\.arrow$")


class CountOutcomes(beam.PTransform):
    """(seen records, kept shard entries, dropped records) -> three small keyed count collections.

    Kept counts come from the shards as written, so they are exactly what a reader will find.
    """

    def expand(self, pcolls):
        seen, kept_entries, dropped = pcolls
        return {
            "seen": seen | "SeenBySource" >> beam.Map(_source_of) | "CountSeen" >> beam.combiners.Count.PerElement(),
            "kept": kept_entries
            | "KeptSizes" >> beam.Map(lambda e: (e["source"], (e["rows"], e["text_bytes"])))
            | "SumKept" >> beam.CombinePerKey(_sum_pairs),
            "dropped": dropped
            | "DropKeys" >> beam.Map(lambda d: (d.doc.source, d.stage, d.reason.value))
            | "CountDropped" >> beam.combiners.Count.PerElement(),
        }


def _source_of(item: Document | Dropped) -> str:
    return item.doc.source if isinstance(item, Dropped) else item.source


def _sum_pairs(pairs) -> tuple[int, int]:
    docs = num_bytes = 0
    for d, b in pairs:
        docs += d
        num_bytes += b
    return docs, num_bytes


def build_stats(source_files: dict[str, dict[str, Any]], seen, kept, dropped, dedup=()) -> dict[str, Any]:
    """Assemble stats.json; asserts seen == kept + dropped for every source."""
    sources: dict[str, Any] = {}
    merged_dedup = merge_stats(list(dedup))
    for source, files in sorted(source_files.items()):
        info = {k: v for k, v in files.items() if k != "dedup_steps"}
        steps = {step: {"documents_removed": 0, **merged_dedup.get(source, {}).get(step, {})} for step in files.get("dedup_steps", ())}
        sources[source] = {"seen": 0, "kept": 0, "kept_bytes": 0, "dropped": {}, "stages": {}, "dedup": steps, **info}
    for source, count in seen:
        sources[source]["seen"] = count
    for source, (count, num_bytes) in kept:
        sources[source]["kept"], sources[source]["kept_bytes"] = count, num_bytes
    for (source, stage, reason), count in sorted(dropped):
        entry = sources[source]
        entry["dropped"][reason] = entry["dropped"].get(reason, 0) + count
        entry["stages"].setdefault(stage, {}).setdefault("dropped", {})[reason] = count
    for source, entry in sources.items():
        entry["dropped"] = dict(sorted(entry["dropped"].items()))
        total = entry["kept"] + sum(entry["dropped"].values())
        assert entry["seen"] == total, f"{source}: seen {entry['seen']} != kept + dropped {total}"
    totals = {k: sum(e[k] for e in sources.values()) for k in ("seen", "kept", "kept_bytes")}
    return {"sources": sources, "totals": totals}


class _FinalizeFn(beam.DoFn):
    def __init__(self, out_dir: str, source_files: dict[str, dict[str, Any]], shards_cfg: Any) -> None:
        self._out_dir, self._source_files, self._cfg = out_dir, source_files, shards_cfg

    def process(self, _, seen, kept, dropped, dedup, kept_shards, dropped_shards):
        stats = build_stats(self._source_files, seen, kept, dropped, dedup)
        kept_entries = self._complete(kept_shards, self._cfg.num_shards, dropped=False)
        dropped_entries = self._complete(dropped_shards, self._cfg.num_dropped_shards, dropped=True) if self._cfg.write_dropped else []
        self._remove_stale({e["path"] for e in kept_entries + dropped_entries})
        manifest = {"shards": kept_entries, "dropped_shards": dropped_entries}
        write_text_atomic(join(self._out_dir, "manifest.json"), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        write_text_atomic(join(self._out_dir, "stats.json"), json.dumps(stats, indent=2, sort_keys=True) + "\n")
        yield stats

    def _complete(self, entries: list[dict[str, Any]], num_shards: int, dropped: bool) -> list[dict[str, Any]]:
        """Every source gets all its shard indices; the ones no document hashed to are written empty."""
        by_path = {e["path"]: {k: e[k] for k in ("path", "rows", "bytes", "sha256", "source")} for e in entries}
        for source in sorted(self._source_files):
            for index in range(num_shards):
                relpath = shard_relpath(source, index, num_shards, dropped)
                if relpath not in by_path:
                    entry = write_atomic(self._out_dir, relpath, empty_table(dropped), self._cfg.batch_rows)
                    by_path[relpath] = {**entry, "source": source}
        return [by_path[p] for p in sorted(by_path)]

    def _remove_stale(self, current: set[str]) -> None:
        """Shards or temp files an earlier run (other shard count, killed job) left in these folders."""
        for source in self._source_files:
            for folder in (source, posixpath.join(DROPPED_DIR, source)):
                pattern = join(self._out_dir, posixpath.join(folder, "*"))
                for meta in FileSystems.match([pattern])[0].metadata_list:
                    name = posixpath.basename(meta.path)
                    rel = posixpath.join(folder, name)
                    stale_shard = _SHARD_RE.match(name) and rel not in current
                    if stale_shard or name.startswith(TMP_PREFIX):
                        FileSystems.delete([meta.path])


class Finalize(beam.PTransform):
    """Waits for every count and shard, then writes manifest.json and stats.json."""

    def __init__(self, out_dir: str, source_files: dict[str, dict[str, Any]], shards_cfg: Any) -> None:
        super().__init__()
        self._fn = _FinalizeFn(out_dir, source_files, shards_cfg)

    def expand(self, inputs):
        side = beam.pvalue.AsList
        return (
            beam.pvalue.PBegin(inputs["seen"].pipeline)
            | "Once" >> beam.Create([None])
            | "WriteManifestAndStats"
            >> beam.ParDo(
                self._fn,
                side(inputs["seen"]),
                side(inputs["kept"]),
                side(inputs["dropped"]),
                side(inputs["dedup"]),
                side(inputs["kept_shards"]),
                side(inputs["dropped_shards"]),
            )
        )
