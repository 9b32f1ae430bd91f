"""Atomic Arrow IPC files: shards, staged files and side files are written under a hidden temporary
name in their final folder and renamed when complete, so a killed job never leaves a half file
under a final name. Shard names and folders. (The shard plan and writer: pipeline/jobs/write_shards.py.)
"""
from __future__ import annotations

import hashlib
import posixpath
import uuid
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
from apache_beam.io.filesystems import FileSystems

from pipeline.core.document import ARROW_SCHEMA, DROPPED_SCHEMA

DROPPED_DIR = "dropped"
TMP_PREFIX = ".tmp-"


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


class AtomicArrowWriter:
    """One Arrow IPC file written batch by batch under a temporary name in its final folder and
    renamed by `close()`, which returns its manifest entry (path, rows, bytes, sha256). A writer
    that is never closed leaves only its temporary file, which the next run removes."""

    def __init__(self, out_dir: str, relpath: str, schema: pa.Schema, compression: str | None = "zstd") -> None:
        self._final = join(out_dir, relpath)
        self._relpath = relpath
        folder, name = posixpath.split(relpath)
        self._tmp = join(out_dir, posixpath.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}"))
        self._raw = FileSystems.create(self._tmp)
        self._sink = _HashingSink(self._raw)
        options = pa.ipc.IpcWriteOptions(compression=compression)
        self._writer = pa.ipc.new_file(pa.PythonFile(self._sink, mode="w"), schema, options=options)
        self.num_rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)
        self.num_rows += batch.num_rows

    def close(self) -> dict[str, Any]:
        self._writer.close()
        self._raw.close()
        # os.rename on local disk replaces an earlier run's file atomically; object stores copy.
        FileSystems.rename([self._tmp], [self._final])
        sink = self._sink
        return {"path": self._relpath, "rows": self.num_rows, "bytes": sink.num_bytes,
                "sha256": sink.sha256.hexdigest()}


def write_batches_atomic(
    out_dir: str, relpath: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch], compression: str | None = "zstd"
) -> dict[str, Any]:
    """Stream record batches into one Arrow IPC file, written under a temporary name and renamed
    when complete; returns its manifest entry (path, rows, bytes, sha256)."""
    writer = AtomicArrowWriter(out_dir, relpath, schema, compression)
    for batch in batches:
        writer.write(batch)
    return writer.close()


def write_text_atomic(path: str, text: str) -> None:
    """Small JSON side files (manifest, stats, config) get the same temp-then-rename treatment."""
    folder, name = posixpath.split(path.replace("\\", "/"))
    tmp = FileSystems.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}") if folder else f"{TMP_PREFIX}{name}"
    with FileSystems.create(tmp) as f:
        f.write(text.encode("utf-8"))
    FileSystems.rename([tmp], [path])


def empty_table(dropped: bool) -> pa.Table:
    return (DROPPED_SCHEMA if dropped else ARROW_SCHEMA).empty_table()
