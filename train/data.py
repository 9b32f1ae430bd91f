"""Token shards for the trainer, memory-mapped through pyarrow (nothing copied into Python objects).

`TokenShards(root)` opens every `<root>/<source>/part-*.arrow` written by `make tokenize`; each
source's token ids are one flat numpy view over the mapped files (no copy), with document
boundaries from the list offsets. The mixture sampler of the trainer draws from these views.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class ShardView:
    path: str
    tokens: np.ndarray  # every token id of the shard, flat, a view of the mapped file
    offsets: np.ndarray  # document i is tokens[offsets[i]:offsets[i + 1]]
    table: pa.Table  # keeps the memory map alive while the views are in use

    @property
    def num_documents(self) -> int:
        return len(self.offsets) - 1


def open_token_shard(path: str) -> ShardView:
    table = pa.ipc.open_file(pa.memory_map(path, "r")).read_all()
    column = table.column("tokens")
    if column.num_chunks != 1:
        column = pa.chunked_array([pa.concat_arrays(column.chunks)]) if column.num_chunks else column
    if column.num_chunks == 0 or len(column) == 0:
        empty = np.zeros(0, dtype=np.uint16)
        return ShardView(path, empty, np.zeros(1, dtype=np.int64), table)
    lists = column.chunk(0)
    # Zero copy: the values buffer and offsets of the large_list are numpy views of the mapping.
    values = lists.values.to_numpy(zero_copy_only=True)
    offsets = lists.offsets.to_numpy(zero_copy_only=True)
    return ShardView(path, values[offsets[0]:offsets[-1]], offsets - offsets[0], table)


class TokenShards:
    """All token shards under a `make tokenize` output folder, by source."""

    def __init__(self, root: str) -> None:
        manifest_path = Path(root) / "manifest.json"
        if not manifest_path.is_file():
            raise ValueError(f"{root} holds no token manifest.json: run `make tokenize` first")
        with open(manifest_path, encoding="utf-8") as f:
            entries = json.load(f)["shards"]
        self.shards: dict[str, list[ShardView]] = {}
        for entry in sorted(entries, key=lambda e: e["path"]):
            self.shards.setdefault(entry["source"], []).append(open_token_shard(str(Path(root) / entry["path"])))

    def num_tokens(self, source: str) -> int:
        return sum(len(s.tokens) for s in self.shards.get(source, []))

    def documents(self, source: str):
        """Each document's token ids (views), shard by shard in manifest order."""
        for shard in self.shards.get(source, []):
            for i in range(shard.num_documents):
                yield shard.tokens[shard.offsets[i]:shard.offsets[i + 1]]


def write_token_shards(root: str, docs: dict[str, list], num_shards: int = 2) -> dict:
    """Write token shards and manifest.json as `make tokenize` does (pipeline.jobs.tokenize_job.token_schema),
    from lists of token ids per source: for tests, benchmarks and hand-made data sets.

    Document i of a source goes to shard i % num_shards; uint16 ids (vocabularies up to 65,536).
    """
    import hashlib

    schema = pa.schema([pa.field("id", pa.string(), nullable=False),
                        pa.field("tokens", pa.large_list(pa.uint16()), nullable=False)])
    entries = []
    for source, source_docs in sorted(docs.items()):
        (Path(root) / source).mkdir(parents=True, exist_ok=True)
        for s in range(num_shards):
            rows = [(f"{source}/{i}", list(d)) for i, d in enumerate(source_docs) if i % num_shards == s]
            table = pa.table({"id": [r[0] for r in rows], "tokens": [r[1] for r in rows]}, schema=schema)
            rel = f"{source}/part-{s:05d}-of-{num_shards:05d}.arrow"
            with pa.OSFile(str(Path(root) / rel), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
                writer.write_table(table)
            data = (Path(root) / rel).read_bytes()
            entries.append({"path": rel, "source": source, "rows": len(rows), "bytes": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(), "tokens": sum(len(r[1]) for r in rows)})
    manifest = {"shards": entries}
    (Path(root) / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest
