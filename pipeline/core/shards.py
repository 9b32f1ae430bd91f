"""Shard files: their names and folders, the one reader every tool uses, and atomic writers.

Shards are Arrow IPC files (`part-*.arrow`, zstd) or, with `shards.format: parquet`, Parquet files
(`part-*.parquet`, zstd, one row group per record batch); `read_shard_batches` and `read_shard` read
either, batch by batch. Shards, staged files and side files are written under a hidden temporary
name in their final folder and renamed when complete, so a killed job never leaves a half file
under a final name. (The shard plan and writer: pipeline/jobs/write_shards.py.)
"""
from __future__ import annotations

import hashlib
import posixpath
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline.core.config import SHARD_FORMATS
from pipeline.core.document import ARROW_SCHEMA, DROPPED_SCHEMA

DROPPED_DIR = "dropped"
TMP_PREFIX = ".tmp-"
_SHARD_RE = re.compile(r"^part-\d{5}-of-\d{5}\.(?:" + "|".join(SHARD_FORMATS) + ")$")
# Parquet columns with few distinct values; dictionary pages for the text would only be dropped again.
_DICTIONARY_COLUMNS = ("source", "lang", "ppl_bucket", "drop_reason", "drop_stage")


def shard_name(index: int, num_shards: int, fmt: str = "arrow") -> str:
    return f"part-{index:05d}-of-{num_shards:05d}.{fmt}"


def is_shard_name(name: str) -> bool:
    return _SHARD_RE.match(name) is not None


def shard_relpath(source: str, index: int, num_shards: int, dropped: bool = False, fmt: str = "arrow") -> str:
    folder = posixpath.join(DROPPED_DIR, source) if dropped else source
    return posixpath.join(folder, shard_name(index, num_shards, fmt))


def join(out_dir: str, relpath: str) -> str:
    return FileSystems.join(out_dir, *relpath.split("/"))


def shard_paths(out_dir: str, source: str, dropped: bool = False) -> list[str]:
    """The shard files of `source` in a run folder (kept, or under dropped/), either format, in
    shard order. A run writes one format; listing both finds the shards of either."""
    folder = join(out_dir, posixpath.join(DROPPED_DIR, source) if dropped else source)
    found = FileSystems.match([join(folder, "part-*")])[0].metadata_list
    return sorted(m.path for m in found if is_shard_name(posixpath.basename(m.path.replace("\\", "/"))))


def _is_parquet(path: str) -> bool:
    return path.endswith(".parquet")


def _open_input(path: str, memory_map: bool = False) -> Any:
    """A random-access pyarrow file for a local path (a plain file unless `memory_map`) or a URI
    (read into memory through Beam's FileSystems)."""
    if "://" in path:
        with FileSystems.open(path) as f:
            return pa.BufferReader(f.read())
    return pa.memory_map(path) if memory_map else pa.OSFile(path)


def open_arrow(path: str, columns: list[int] | list[str] | None = None,
               memory_map: bool = False) -> pa.ipc.RecordBatchFileReader:
    """An Arrow IPC file's reader; `columns` (indices or names) are the only fields decompressed."""
    source = _open_input(path, memory_map)
    options = None
    if columns is not None:
        if columns and isinstance(columns[0], str):
            names = pa.ipc.open_file(source).schema.names
            columns = [names.index(c) for c in columns]
        options = pa.ipc.IpcReadOptions(included_fields=list(columns))
    return pa.ipc.open_file(source, options=options)


class ShardFile:
    """Random access to one shard's record batches (Parquet: row groups), a few columns at a time:
    a search reads its key columns batch by batch and the other columns only where rows match."""

    def __init__(self, path: str) -> None:
        self._source = _open_input(path)
        if _is_parquet(path):
            self._parquet = pq.ParquetFile(self._source)
            self.num_batches, self.schema = self._parquet.num_row_groups, self._parquet.schema_arrow
        else:
            self._parquet = None
            reader = pa.ipc.open_file(self._source)
            self.num_batches, self.schema = reader.num_record_batches, reader.schema
            self._readers: dict[tuple[str, ...] | None, pa.ipc.RecordBatchFileReader] = {None: reader}

    def batch(self, index: int, columns: list[str] | None = None) -> pa.Table:
        """Batch `index` (only `columns`, in file order, when given)."""
        if self._parquet is not None:
            return self._parquet.read_row_group(index, columns=columns)
        key = tuple(columns) if columns is not None else None
        if key not in self._readers:
            fields = [self.schema.names.index(c) for c in columns]
            self._readers[key] = pa.ipc.open_file(self._source, options=pa.ipc.IpcReadOptions(included_fields=fields))
        return pa.Table.from_batches([self._readers[key].get_batch(index)])

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> ShardFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_shard_batches(path: str, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """A shard's record batches (Arrow IPC or Parquet, by its name), one at a time; only `columns`,
    in file order, when given.

    Read through a plain file, not a memory map: the mapped pages a pass touches count in the
    process's resident memory until the map closes, so a memory-mapped pass over a large shard
    looks like holding all of it. Memory is one record batch (Parquet: one row group)."""
    with ShardFile(path) as shard:
        for i in range(shard.num_batches):
            yield from shard.batch(i, columns).to_batches()


def read_shard(path: str, columns: list[str] | None = None) -> pa.Table:
    """A whole shard as one table (small shards, tests and checks; streaming passes use
    read_shard_batches)."""
    if _is_parquet(path):
        with _open_input(path) as source:
            return pq.read_table(source, columns=columns)
    return open_arrow(path, columns).read_all()


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


class _AtomicFile:
    """A file written under a temporary name in its final folder through a hashing sink, renamed
    by `close()`, which returns its manifest entry (path, rows, bytes, sha256). One that is never
    closed leaves only its temporary file, which the next run removes."""

    def __init__(self, out_dir: str, relpath: str) -> None:
        self._final = join(out_dir, relpath)
        self._relpath = relpath
        folder, name = posixpath.split(relpath)
        self._tmp = join(out_dir, posixpath.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}"))
        self._raw = FileSystems.create(self._tmp)
        self._sink = _HashingSink(self._raw)
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


class AtomicArrowWriter(_AtomicFile):
    """One Arrow IPC file written batch by batch, atomically (see _AtomicFile)."""

    def __init__(self, out_dir: str, relpath: str, schema: pa.Schema, compression: str | None = "zstd") -> None:
        super().__init__(out_dir, relpath)
        options = pa.ipc.IpcWriteOptions(compression=compression)
        self._writer = pa.ipc.new_file(pa.PythonFile(self._sink, mode="w"), schema, options=options)


class AtomicParquetWriter(_AtomicFile):
    """One Parquet file (zstd), atomically; each record batch written becomes one row group, so a
    streaming reader (DuckDB, datasets, read_shard_batches) holds one batch of the shard at a time."""

    def __init__(self, out_dir: str, relpath: str, schema: pa.Schema) -> None:
        super().__init__(out_dir, relpath)
        dictionary = [name for name in _DICTIONARY_COLUMNS if name in schema.names]
        self._writer = pq.ParquetWriter(pa.PythonFile(self._sink, mode="w"), schema, compression="zstd",
                                        use_dictionary=dictionary)


def shard_writer(out_dir: str, relpath: str, schema: pa.Schema) -> _AtomicFile:
    """The atomic writer for a shard, by its name's format (shard_relpath)."""
    if _is_parquet(relpath):
        return AtomicParquetWriter(out_dir, relpath, schema)
    return AtomicArrowWriter(out_dir, relpath, schema)


def write_batches_atomic(
    out_dir: str, relpath: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch], compression: str | None = "zstd"
) -> dict[str, Any]:
    """Stream record batches into one Arrow IPC file, written under a temporary name and renamed
    when complete; returns its manifest entry (path, rows, bytes, sha256)."""
    writer = AtomicArrowWriter(out_dir, relpath, schema, compression)
    for batch in batches:
        writer.write(batch)
    return writer.close()


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes (a local path or a URI)."""
    digest = hashlib.sha256()
    with FileSystems.open(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_text_atomic(path: str, text: str) -> None:
    """Small JSON side files (manifest, stats, config) get the same temp-then-rename treatment."""
    folder, name = posixpath.split(path.replace("\\", "/"))
    tmp = FileSystems.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}") if folder else f"{TMP_PREFIX}{name}"
    with FileSystems.create(tmp) as f:
        f.write(text.encode("utf-8"))
    FileSystems.rename([tmp], [path])


def empty_table(dropped: bool) -> pa.Table:
    return (DROPPED_SCHEMA if dropped else ARROW_SCHEMA).empty_table()
