"""`corral verify OUT`: re-derive every count of a corpus run from its files with plain pyarrow
(Arrow IPC or Parquet shards, pipeline.core.shards.read_shard).

Checks that each manifest entry exists with its size, sha256, row count and schema; that stats.json
satisfies seen == kept + dropped; that the shards hold exactly the kept and dropped counts; and that
ids are unique within a source. Returns the list of problems (empty when the run is consistent).
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
from typing import Any

import pyarrow as pa

from pipeline.core.document import ARROW_SCHEMA, DROPPED_SCHEMA
from pipeline.core.shards import read_shard


def _check_entry(out: str, entry: dict[str, Any], schema: pa.Schema, problems: list[str]) -> pa.Table | None:
    path = os.path.join(out, entry["path"])
    if not os.path.isfile(path):
        problems.append(f"{entry['path']}: listed in manifest.json but missing")
        return None
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        problems.append(f"{entry['path']}: size or sha256 differs from manifest.json")
    table = read_shard(path)
    if table.num_rows != entry["rows"]:
        problems.append(f"{entry['path']}: {table.num_rows} rows, manifest says {entry['rows']}")
    if not table.schema.equals(schema):
        problems.append(f"{entry['path']}: schema differs from the Document schema")
    return table


def verify_corpus(out: str) -> list[str]:
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    with open(os.path.join(out, "stats.json"), encoding="utf-8") as f:
        stats = json.load(f)
    problems: list[str] = []
    kept_rows: collections.Counter[str] = collections.Counter()
    ids: dict[str, set[str]] = collections.defaultdict(set)
    for entry in manifest["shards"]:
        table = _check_entry(out, entry, ARROW_SCHEMA, problems)
        if table is not None:
            kept_rows[entry["source"]] += table.num_rows
            before = len(ids[entry["source"]])
            ids[entry["source"]].update(table.column("id").to_pylist())
            if len(ids[entry["source"]]) != before + table.num_rows:
                problems.append(f"{entry['path']}: document ids repeat within {entry['source']}")
    dropped_rows: collections.Counter[tuple[str, str]] = collections.Counter()
    for entry in manifest["dropped_shards"]:
        table = _check_entry(out, entry, DROPPED_SCHEMA, problems)
        if table is not None:
            for reason in table.column("drop_reason").to_pylist():
                dropped_rows[(entry["source"], reason)] += 1
    for source, s in stats["sources"].items():
        if s["seen"] != s["kept"] + sum(s["dropped"].values()):
            problems.append(f"stats.json {source}: seen {s['seen']} != kept + dropped")
        if kept_rows[source] != s["kept"]:
            problems.append(f"{source}: shards hold {kept_rows[source]} documents, stats.json says kept {s['kept']}")
        if manifest["dropped_shards"]:
            for reason, count in s["dropped"].items():
                if dropped_rows[(source, reason)] != count:
                    problems.append(f"{source}: dropped/ holds {dropped_rows[(source, reason)]} {reason}, "
                                    f"stats.json says {count}")
    return problems
