"""The encode job (`make tokenize`, second half): corpus shards -> token shards, as a Beam job.

Each corpus shard `<corpus>/<source>/part-i-of-N.arrow` (or `.parquet`) becomes `<tokens>/<source>/part-i-of-N.arrow`:
uncompressed Arrow IPC (so the trainer memory-maps it), one row per document with its `id` and
`tokens` (large_list of uint16 while the vocabulary fits 65,536 ids, else uint32). Token ids are
the document's SentencePiece ids without BOS/EOS (the trainer adds EOS between documents).
One shard maps to one shard, read and written batch by batch (memory: one record batch, whatever
the shard's size), so the output is byte-identical whatever the worker count. `manifest.json` lists
the token shards; `stats.json` holds per-source documents, tokens and tokens per byte, and the same
counts are merged into the corpus stats.json.
"""
from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import sentencepiece as spm

from pipeline.core.progress import ProgressCounter
from pipeline.core.shards import join, read_shard_batches, write_batches_atomic, write_text_atomic


def token_schema(vocab_size: int) -> pa.Schema:
    token_type = pa.uint16() if vocab_size <= 1 << 16 else pa.uint32()
    return pa.schema([pa.field("id", pa.string(), nullable=False),
                      pa.field("tokens", pa.large_list(token_type), nullable=False)])


def token_relpath(corpus_relpath: str) -> str:
    """A corpus shard's token shard: the same name, always Arrow IPC (the trainer memory-maps it),
    whether the corpus shard is `.arrow` or `.parquet`."""
    return posixpath.splitext(corpus_relpath)[0] + ".arrow"


# Characters per SentencePiece encode call (see _EncodeShardFn._encode): about 0.4M tokens.
ENCODE_CHARS = 1 << 20


class _EncodeShardFn(beam.DoFn):
    def __init__(self, model_path: str, corpus_dir: str, out_dir: str, batch_docs: int) -> None:
        self._model_path, self._corpus_dir = model_path, corpus_dir
        self._out_dir, self._batch_docs = out_dir, batch_docs

    def setup(self) -> None:
        self._sp = spm.SentencePieceProcessor(model_file=self._model_path)  # once per worker
        self._schema = token_schema(self._sp.get_piece_size())
        self._progress = ProgressCounter(self._out_dir)

    def finish_bundle(self) -> None:
        self._progress.flush()

    def _batches(self, source: str, relpath: str, counts: dict[str, int]) -> Iterator[pa.RecordBatch]:
        for batch in read_shard_batches(join(self._corpus_dir, relpath), ["id", "text"]):
            for start in range(0, batch.num_rows, self._batch_docs):
                part = batch.slice(start, self._batch_docs)
                tokens = self._encode(part.column("text"), counts)
                num_bytes = pa.compute.sum(pa.compute.binary_length(part.column("text"))).as_py() or 0
                counts["text_bytes"] += num_bytes
                self._progress.add(source, read=part.num_rows, kept=part.num_rows, num_bytes=num_bytes)
                yield pa.record_batch([part.column("id"), tokens], schema=self._schema)

    def _encode(self, texts: pa.Array, counts: dict[str, int]) -> pa.Array:
        """The token lists of `texts`, encoded at most ENCODE_CHARS characters a call: SentencePiece
        returns a Python int per token (about 36 bytes), so batch_docs books at once would hold
        gigabytes; each call's ids become a compact Arrow array at once."""
        token_type = self._schema.field("tokens").type
        pieces = []
        for lo, hi in _spans(pa.compute.utf8_length(texts).to_numpy(zero_copy_only=False), ENCODE_CHARS):
            ids = self._sp.encode(texts.slice(lo, hi - lo).to_pylist(), out_type=int, num_threads=1)
            counts["tokens"] += sum(map(len, ids))
            pieces.append(pa.array(ids, type=token_type))
        return pa.concat_arrays(pieces) if pieces else pa.array([], type=token_type)

    def process(self, item: tuple[str, str]):
        source, relpath = item
        counts = {"tokens": 0, "text_bytes": 0}
        entry = write_batches_atomic(self._out_dir, token_relpath(relpath), self._schema,
                                     self._batches(source, relpath, counts), compression=None)
        yield {**entry, "source": source, **counts}


def _spans(lengths: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive [lo, hi) row ranges of at most `limit` characters each (a longer text alone)."""
    spans, lo, used = [], 0, 0
    for i, n in enumerate(lengths.tolist()):
        if i > lo and used + n > limit:
            spans.append((lo, i))
            lo, used = i, 0
        used += n
    if len(lengths):
        spans.append((lo, len(lengths)))
    return spans


def _finalize(entries: list[dict[str, Any]], out_dir: str, corpus_dir: str) -> dict[str, Any]:
    entries = sorted(entries, key=lambda e: e["path"])
    stats: dict[str, dict[str, Any]] = {}
    for e in entries:
        s = stats.setdefault(e["source"], {"documents": 0, "tokens": 0, "text_bytes": 0})
        s["documents"] += e["rows"]
        s["tokens"] += e["tokens"]
        s["text_bytes"] += e["text_bytes"]
    for s in stats.values():
        s["tokens_per_byte"] = round(s["tokens"] / s["text_bytes"], 4) if s["text_bytes"] else 0.0
    shards = [{k: e[k] for k in ("path", "source", "rows", "bytes", "sha256", "tokens")} for e in entries]
    write_text_atomic(join(out_dir, "manifest.json"), json.dumps({"shards": shards}, indent=2, sort_keys=True) + "\n")
    write_text_atomic(join(out_dir, "stats.json"), json.dumps({"sources": stats}, indent=2, sort_keys=True) + "\n")
    corpus_stats_path = join(corpus_dir, "stats.json")
    with open(corpus_stats_path, encoding="utf-8") as f:
        corpus_stats = json.load(f)
    for source, s in stats.items():
        corpus_stats["sources"].setdefault(source, {})["tokens"] = s
    write_text_atomic(corpus_stats_path, json.dumps(corpus_stats, indent=2, sort_keys=True) + "\n")
    return stats


def build_encode(p: beam.Pipeline, model_path: str, corpus_dir: str, out_dir: str, batch_docs: int) -> None:
    """Adds the encode job to `p`: every shard of the corpus manifest, empty ones included."""
    with open(Path(corpus_dir) / "manifest.json", encoding="utf-8") as f:
        shards = sorted((e["source"], e["path"]) for e in json.load(f)["shards"])
    entries = (
        p
        | "ListShards" >> beam.Create(shards, reshuffle=False)  # SpreadShards reshuffles
        | "SpreadShards" >> beam.Reshuffle()
        | "EncodeShard" >> beam.ParDo(_EncodeShardFn(model_path, corpus_dir, out_dir, batch_docs))
    )
    _ = (
        entries
        | "AllEntries" >> beam.combiners.ToList()
        | "WriteManifestAndStats" >> beam.Map(_finalize, out_dir, corpus_dir)
    )
