"""The job's last step: sum the small records every pass left, then write manifest.json and
stats.json, and remove the staged files.

Counts come from the data itself (COUNT records each pass made per file, ENTRY records of the
shards as written), not from runner metrics, so stats.json is exact on every runner.
"""
from __future__ import annotations

import json
import posixpath
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from dedup.common import STAT, merge_stats
from pipeline.core.shards import DROPPED_DIR, TMP_PREFIX, is_shard_name, join, write_text_atomic
from pipeline.core.staging import remove_staging
from pipeline.jobs.passes import COUNT, INFO, SEEN
from pipeline.jobs.write_shards import ENTRY


def _sum_or_max(values) -> tuple[bool, int]:
    """Partial results and inputs alike are (is_max, value): STATs named max_* combine by max."""
    values = list(values)
    is_max = values[0][0]
    numbers = [v for _, v in values]
    return is_max, (max(numbers) if is_max else sum(numbers))


def _is_max(record: tuple) -> bool:
    return record[0] == STAT and record[1][2].startswith("max_")


def build_stats(source_files: dict[str, dict[str, Any]], seen, kept, dropped, dedup=(), infos=()) -> dict[str, Any]:
    """Assemble stats.json; asserts seen == kept + dropped for every source. `infos` are
    ((source, section, key), value) records, written as sources[source][section][key]."""
    sources: dict[str, Any] = {}
    merged_dedup = merge_stats(list(dedup))
    for source, files in sorted(source_files.items()):
        info = {k: v for k, v in files.items() if k != "dedup_steps"}
        steps = {step: {"documents_removed": 0, **merged_dedup.get(source, {}).get(step, {})}
                 for step in files.get("dedup_steps", ())}
        sources[source] = {"seen": 0, "kept": 0, "kept_bytes": 0, "dropped": {}, "stages": {}, "dedup": steps, **info}
    for source, count in seen:
        sources[source]["seen"] = count
    for source, (count, num_bytes) in kept:
        sources[source]["kept"], sources[source]["kept_bytes"] = count, num_bytes
    for (source, stage, reason), count in sorted(dropped):
        entry = sources[source]
        entry["dropped"][reason] = entry["dropped"].get(reason, 0) + count
        entry["stages"].setdefault(stage, {}).setdefault("dropped", {})[reason] = count
    for (source, section, key), value in sorted(infos, key=lambda r: r[0]):
        sources[source].setdefault(section, {})[key] = value
    for source, entry in sources.items():
        entry["dropped"] = dict(sorted(entry["dropped"].items()))
        total = entry["kept"] + sum(entry["dropped"].values())
        assert entry["seen"] == total, f"{source}: seen {entry['seen']} != kept + dropped {total}"
    totals = {k: sum(e[k] for e in sources.values()) for k in ("seen", "kept", "kept_bytes")}
    return {"sources": sources, "totals": totals}


class _FinalizeFn(beam.DoFn):
    def __init__(self, out_dir: str, source_files: dict[str, dict[str, Any]], shards_cfg: Any) -> None:
        self._out_dir, self._source_files, self._cfg = out_dir, source_files, shards_cfg

    def process(self, keyed):
        _, records = keyed
        seen, dropped, dedup, entries, infos = {}, {}, [], [], []
        for kind, value in records:
            if kind == ENTRY:
                entries.append(value)
            elif kind == INFO:
                infos.append(value)
            elif kind == COUNT:
                (source, stage, reason), n = value
                if stage == SEEN:
                    seen[source] = seen.get(source, 0) + n
                else:
                    dropped[(source, stage, reason)] = dropped.get((source, stage, reason), 0) + n
            else:
                dedup.append(value)
        kept_entries = sorted((e for e in entries if not e["dropped"]), key=lambda e: e["path"])
        dropped_entries = sorted((e for e in entries if e["dropped"]), key=lambda e: e["path"])
        kept = {}
        for e in kept_entries:
            rows, num_bytes = kept.get(e["source"], (0, 0))
            kept[e["source"]] = (rows + e["rows"], num_bytes + e["text_bytes"])
        stats = build_stats(self._source_files, seen.items(), kept.items(), dropped.items(), dedup, infos)
        fields = ("path", "rows", "bytes", "sha256", "source")
        manifest = {"shards": [{k: e[k] for k in fields} for e in kept_entries],
                    "dropped_shards": [{k: e[k] for k in fields} for e in dropped_entries]}
        self._remove_stale({e["path"] for e in entries})
        write_text_atomic(join(self._out_dir, "manifest.json"), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        write_text_atomic(join(self._out_dir, "stats.json"), json.dumps(stats, indent=2, sort_keys=True) + "\n")
        remove_staging(self._out_dir)
        yield stats

    def _remove_stale(self, current: set[str]) -> None:
        """Shards or temp files an earlier run (other shard count, killed job) left in these folders."""
        for source in self._source_files:
            for folder in (source, posixpath.join(DROPPED_DIR, source)):
                pattern = join(self._out_dir, posixpath.join(folder, "*"))
                for meta in FileSystems.match([pattern])[0].metadata_list:
                    name = posixpath.basename(meta.path)
                    rel = posixpath.join(folder, name)
                    stale_shard = is_shard_name(name) and rel not in current  # either format
                    if stale_shard or name.startswith(TMP_PREFIX):
                        FileSystems.delete([meta.path])


class Finalize(beam.PTransform):
    """Every COUNT, STAT, INFO and ENTRY record of the job -> manifest.json and stats.json (one element)."""

    def __init__(self, out_dir: str, source_files: dict[str, dict[str, Any]], shards_cfg: Any) -> None:
        super().__init__()
        self._fn = _FinalizeFn(out_dir, source_files, shards_cfg)

    def expand(self, records):
        counts = (
            records
            | "NotEntries" >> beam.Filter(lambda r: r[0] not in (ENTRY, INFO))
            | "KeyCounts" >> beam.Map(lambda r: ((r[0], r[1]), (_is_max(r), r[2])))
            | "SumCounts" >> beam.CombinePerKey(_sum_or_max)
            | "AsRecords" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], kv[1][1])))
        )
        entries = (
            records
            | "Entries" >> beam.Filter(lambda r: r[0] in (ENTRY, INFO))
            | "AsPairs" >> beam.Map(lambda r: (INFO, (r[1], r[2])) if r[0] == INFO else r)
        )
        return (
            (counts, entries)
            | "AllSummaries" >> beam.Flatten()
            | "OneKey" >> beam.Map(lambda r: (None, r))
            | "Collect" >> beam.GroupByKey()
            | "WriteManifestAndStats" >> beam.ParDo(self._fn)
        )
