"""Staged documents: the per-input-file Arrow files that hold document text between the job's phases.

The corpus job never sends document text through a shuffle (DESIGN.md, data flow). Phase 1 writes
each input file's documents to `OUT/_staging/<source>/<file>.<kind>.arrow`; phase 2 decides from
small keys alone; phase 3 reads the staged file back, batch by batch, and applies that file's
decisions. Every staged file is written under a temporary name and renamed when complete, so a
killed job leaves nothing half written under a final name; the job removes `_staging` when the
run is complete.

Kinds: `read` (documents that passed reading, cleaning and filtering), `dropped0` (their drops),
`final` (documents that passed dedup and the model steps), `dropped1` (the drops of those steps);
for CommonCrawl, `scored` (pages that passed dedup, language ID and got a perplexity) comes before
`final`, and `dropped2` holds the drops of the bucket pass between them.
"""
from __future__ import annotations

import posixpath
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from pipeline.core.document import (
    ARROW_SCHEMA,
    DROPPED_SCHEMA,
    Document,
    Dropped,
    documents_to_table,
    dropped_to_table,
    table_to_documents,
)
from pipeline.core.shards import AtomicArrowWriter, join, open_arrow

STAGING_DIR = "_staging"
BATCH_ROWS = 512  # documents per record batch: bounds the memory of every streaming pass
BATCH_BYTES = 32 << 20  # ... and text bytes per batch, whichever comes first (512 books are GBs)
STAGING_COMPRESSION = "lz4"  # read back once or twice: fast beats small


def staged_relpath(source: str, file_index: int, kind: str) -> str:
    return posixpath.join(STAGING_DIR, source, f"{file_index:06d}.{kind}.arrow")


class StagedWriter:
    """Streams Documents (or Dropped records) of one input file into one staged Arrow file.

    Every BATCH_ROWS records become one record batch on disk, so a file of any size costs one
    batch of memory. `close()` completes the file (always written, possibly empty) and returns its
    row count. With `enabled=False` records are only counted (dropped documents of a run that
    does not write them).
    """

    def __init__(self, out_dir: str, relpath: str, dropped: bool, enabled: bool = True) -> None:
        self._to_table = dropped_to_table if dropped else documents_to_table
        schema = DROPPED_SCHEMA if dropped else ARROW_SCHEMA
        self._writer = AtomicArrowWriter(out_dir, relpath, schema, STAGING_COMPRESSION) if enabled else None
        self._pending: list = []
        self._pending_chars = 0
        self.num_rows = 0

    def add(self, item: Document | Dropped) -> None:
        self.num_rows += 1
        if self._writer is not None:
            self._pending.append(item)
            self._pending_chars += len((item.doc if isinstance(item, Dropped) else item).text)
            if len(self._pending) >= BATCH_ROWS or self._pending_chars >= BATCH_BYTES:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            for batch in self._to_table(self._pending).to_batches():
                self._writer.write(batch)
            self._pending, self._pending_chars = [], 0

    def close(self) -> int:
        if self._writer is not None:
            self._flush()
            self._writer.close()
        return self.num_rows


def _open(out_dir: str, relpath: str, columns: list[int] | None = None) -> pa.ipc.RecordBatchFileReader:
    """`columns`: the indices of the fields to read (the others are never decompressed). Memory-mapped:
    passes take batches of a staged file by index, out of order."""
    return open_arrow(join(out_dir, relpath), columns, memory_map=True)


def read_batches(out_dir: str, relpath: str, start: int = 0, stop: int | None = None,
                 columns: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    """Record batches of a staged file, rows [start, stop) only (fields `columns` only, by index),
    read one batch at a time."""
    reader = _open(out_dir, relpath, columns)
    offset = 0
    for i in range(reader.num_record_batches):
        batch = reader.get_batch(i)
        end = offset + batch.num_rows
        if stop is not None and offset >= stop:
            break
        if end > start:
            lo = max(start - offset, 0)
            hi = batch.num_rows if stop is None else min(stop - offset, batch.num_rows)
            yield batch.slice(lo, hi - lo)
        offset = end


def read_rows(out_dir: str, relpath: str, rows, columns: list[int] | None = None) -> pa.Table | None:
    """The given rows (sorted, unique; any sequence of ints) of a staged file, in that order
    (fields `columns` only, by index), one record batch in memory at a time; None when `rows` is
    empty."""
    wanted, tables, offset = np.asarray(rows, dtype=np.int64), [], 0
    for batch in read_batches(out_dir, relpath, columns=columns):
        end = offset + batch.num_rows
        local = wanted[(wanted >= offset) & (wanted < end)] - offset
        if local.size:
            tables.append(pa.Table.from_batches([batch]).take(pa.array(local)))
        offset = end
    return pa.concat_tables(tables) if tables else None


def read_documents(out_dir: str, relpath: str) -> Iterator[list[Document]]:
    """A staged `read` file back as lists of Documents, one record batch at a time."""
    for batch in read_batches(out_dir, relpath):
        yield table_to_documents(batch)


def release_memory() -> None:
    """Hand Arrow's freed buffers back to the system after a file: its pool otherwise keeps the
    high-water mark of the largest batch any pass met, for the life of the worker."""
    pa.default_memory_pool().release_unused()


def remove_staging(out_dir: str) -> None:
    folder = join(out_dir, STAGING_DIR)
    if FileSystems.exists(folder):
        FileSystems.delete([folder])




def read_batch(out_dir: str, relpath: str, index: int) -> pa.RecordBatch:
    """One record batch of a staged file, by its index (the file's footer says where it lies)."""
    return _open(out_dir, relpath).get_batch(index)


def spill_relpath(source: str, step: str, kind: str, name: str) -> str:
    """A dedup step's spilled keys (MinHash band keys, candidate pairs, edges): small arrays staged
    like documents, so that only references to them cross a shuffle."""
    return posixpath.join(STAGING_DIR, source, f"{step}-{kind}", f"{name}.arrow")
