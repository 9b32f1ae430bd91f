"""WriteShards: deterministic, atomic Arrow IPC shards and the manifest that lists them.

Determinism: a document's shard is a stable hash of its id; documents are grouped by shard through
Beam's shuffle and sorted by id inside the group, so worker count and bundle order cannot change a
byte. Atomicity: every file is written under a hidden temporary name in its final folder and
renamed when complete, so a killed job never leaves a half shard under a final name.
"""
from __future__ import annotations

import hashlib
import posixpath
import uuid
from typing import Any, Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import xxhash
from apache_beam.io.filesystems import FileSystems

from pipeline.document import (
    ARROW_SCHEMA,
    DROPPED_SCHEMA,
    Document,
    DropReason,
    Dropped,
    documents_to_table,
    dropped_to_table,
)
from pipeline.stages import DROPPED

DROPPED_DIR = "dropped"
TMP_PREFIX = ".tmp-"


def shard_of(doc_id: str, num_shards: int) -> int:
    """Stable across processes, machines and Python versions (unlike hash())."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8")) % num_shards


def shard_name(index: int, num_shards: int) -> str:
    return f"part-{index:05d}-of-{num_shards:05d}.arrow"


def shard_relpath(source: str, index: int, num_shards: int, dropped: bool = False) -> str:
    folder = posixpath.join(DROPPED_DIR, source) if dropped else source
    return posixpath.join(folder, shard_name(index, num_shards))


def join(out_dir: str, relpath: str) -> str:
    return FileSystems.join(out_dir, *relpath.split("/"))


class _HashingSink:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.num_bytes = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.num_bytes += view.nbytes
        self._raw.write(view)
        return view.nbytes

    def tell(self) -> int:
        return self.num_bytes

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        self.closed = True  # the owner closes the underlying file


def write_atomic(out_dir: str, relpath: str, table: pa.Table, batch_rows: int) -> dict[str, Any]:
    """Write `table` as one zstd Arrow IPC file at out_dir/relpath, atomically; return its entry."""
    return write_batches_atomic(out_dir, relpath, table.schema, table.to_batches(max_chunksize=batch_rows))


def write_batches_atomic(
    out_dir: str, relpath: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch], compression: str | None = "zstd"
) -> dict[str, Any]:
    """Stream record batches into one Arrow IPC file, written under a temporary name and renamed
    when complete; returns its manifest entry (path, rows, bytes, sha256)."""
    final = join(out_dir, relpath)
    folder, name = posixpath.split(relpath)
    tmp = join(out_dir, posixpath.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}"))
    options = pa.ipc.IpcWriteOptions(compression=compression)
    num_rows = 0
    with FileSystems.create(tmp) as raw:
        sink = _HashingSink(raw)
        with pa.ipc.new_file(pa.PythonFile(sink, mode="w"), schema, options=options) as writer:
            for batch in batches:
                writer.write_batch(batch)
                num_rows += batch.num_rows
    # os.rename on local disk replaces an earlier run's shard atomically; object stores copy.
    FileSystems.rename([tmp], [final])
    return {"path": relpath, "rows": num_rows, "bytes": sink.num_bytes, "sha256": sink.sha256.hexdigest()}


def write_text_atomic(path: str, text: str) -> None:
    """Small JSON side files (manifest, stats, config) get the same temp-then-rename treatment."""
    folder, name = posixpath.split(path.replace("\\", "/"))
    tmp = FileSystems.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}") if folder else f"{TMP_PREFIX}{name}"
    with FileSystems.create(tmp) as f:
        f.write(text.encode("utf-8"))
    FileSystems.rename([tmp], [path])


def empty_table(dropped: bool) -> pa.Table:
    return (DROPPED_SCHEMA if dropped else ARROW_SCHEMA).empty_table()


def _version_key(doc: Document) -> tuple[str, str, str, str]:
    """Orders copies of one id: the newest (then a fixed content order) sorts last and is kept."""
    return (doc.id, doc.created or "", doc.text, doc.metadata)


def _drop_key(drop: Dropped) -> tuple[str, ...]:
    return (drop.doc.id, drop.stage, drop.reason.value, drop.detail, drop.doc.text, drop.doc.metadata)


def unique_by_id(docs: list[Document]) -> tuple[list[Document], list[Dropped]]:
    """Sorted documents with one per id, and the other copies as DUPLICATE_ID drops."""
    ordered = sorted(docs, key=_version_key)
    kept: list[Document] = []
    dropped: list[Dropped] = []
    for i, doc in enumerate(ordered):
        if i + 1 < len(ordered) and ordered[i + 1].id == doc.id:
            dropped.append(Dropped(doc, DropReason.DUPLICATE_ID, "write", "a newer copy with this id is kept"))
        else:
            kept.append(doc)
    return kept, dropped


class _WriteShardFn(beam.DoFn):
    def __init__(self, out_dir: str, num_shards: int, batch_rows: int, dropped: bool) -> None:
        self._out_dir, self._num_shards = out_dir, num_shards
        self._batch_rows, self._dropped = batch_rows, dropped

    def process(self, keyed: tuple[tuple[str, int], Iterable[Document | Dropped]]):
        (source, index), items = keyed
        if self._dropped:
            table = dropped_to_table(sorted(items, key=_drop_key))
        else:
            # Ids are unique within a source by the readers' construction, except for the same
            # record in two input files; a copy is a counted drop, never a crash or a silent loss.
            docs, duplicates = unique_by_id(list(items))
            for drop in duplicates:
                yield beam.pvalue.TaggedOutput(DROPPED, drop)
            table = documents_to_table(docs)
        relpath = shard_relpath(source, index, self._num_shards, self._dropped)
        entry = write_atomic(self._out_dir, relpath, table, self._batch_rows)
        text_bytes = pa.compute.sum(pa.compute.binary_length(table.column("text"))).as_py() or 0
        yield {**entry, "source": source, "shard": index, "dropped": self._dropped, "text_bytes": text_bytes}


class WriteShards(beam.PTransform):
    """Documents (or Dropped records) -> one Arrow file per (source, shard).

    Main output: one manifest entry per shard written. For documents, the `dropped` output holds
    the copies of a repeated id (DUPLICATE_ID).
    """

    def __init__(self, out_dir: str, num_shards: int, batch_rows: int, dropped: bool = False) -> None:
        super().__init__()
        self._out_dir, self._num_shards = out_dir, num_shards
        self._batch_rows, self._dropped = batch_rows, dropped

    def expand(self, pcoll):
        num_shards = self._num_shards

        def key(item: Document | Dropped) -> tuple[tuple[str, int], Document | Dropped]:
            doc = item.doc if isinstance(item, Dropped) else item
            return (doc.source, shard_of(doc.id, num_shards)), item

        return (
            pcoll
            | "KeyByShard" >> beam.Map(key)
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard"
            >> beam.ParDo(_WriteShardFn(self._out_dir, num_shards, self._batch_rows, self._dropped)).with_outputs(
                DROPPED, main="entries"
            )
        )
