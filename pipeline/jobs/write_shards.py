"""Writing a source's shards from its staged final files: the plan and the writer.

Determinism: a source's shards are contiguous, equal slices of its documents in input order (input
files sorted, each file's documents in file order); only the plan (file row counts, small) goes
through Beam's shuffle, and each shard's writer streams its slices from the staged files, so
worker count and bundle order cannot change a byte. The files (Arrow IPC or Parquet, by
shards.format) are written atomically (pipeline/core/shards.py).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from pipeline.core.document import ARROW_SCHEMA, DROPPED_SCHEMA, DropReason
from pipeline.core.progress import ProgressCounter
from pipeline.core.shards import shard_relpath, shard_writer
from pipeline.core.staging import read_batches, read_rows, staged_relpath

ENTRY = "entry"  # the record a written shard leaves for Finalize


@dataclasses.dataclass(frozen=True)
class Piece:
    """Rows [start, stop) of one staged file; `kind` says how they become shard rows."""

    kind: str  # final (kept documents) | dropped (Dropped records) | duplicate_id (final rows dropped here)
    relpath: str
    start: int
    stop: int
    skip: tuple[int, ...] = ()  # rows of [start, stop) that do not go (final: the duplicate-id copies)
    rows: tuple[int, ...] = ()  # duplicate_id only: the rows that go


@dataclasses.dataclass(frozen=True)
class ShardTask:
    source: str
    index: int
    num_shards: int
    dropped: bool
    pieces: tuple[Piece, ...]
    fmt: str = "arrow"  # shards.format: arrow or parquet


def split_evenly(sizes: list[int], num_shards: int) -> list[list[tuple[int, int, int]]]:
    """Cut the concatenation of items of `sizes` rows into `num_shards` contiguous ranges of (almost)
    equal rows; per shard, the (item, start, stop) pieces it takes, in order."""
    total = sum(sizes)
    bounds = [total * s // num_shards for s in range(num_shards + 1)]
    shards: list[list[tuple[int, int, int]]] = [[] for _ in range(num_shards)]
    offset = 0
    shard = 0
    for item, size in enumerate(sizes):
        start = 0
        while start < size:
            while bounds[shard + 1] <= offset + start:
                shard += 1
            stop = min(size, bounds[shard + 1] - offset)
            shards[shard].append((item, start, stop))
            start = stop
        offset += size
    return shards


class PlanShards:
    """One source's final files (with their duplicate-id rows) -> one ShardTask per shard.

    Shards follow input-file order: shard i holds the i-th of `num_shards` contiguous, equal
    slices of the source's documents (file by file, row by row). They depend only on the input and
    the config, never on workers or bundles. Every shard index gets a task, so a source always has
    exactly `num_shards` files (some empty when there are fewer documents than shards).
    """

    def __init__(self, shards_cfg: Any) -> None:
        self._cfg = shards_cfg

    def __call__(self, collected: tuple[str, Iterable]) -> Iterator[ShardTask]:
        source, files = collected
        files = sorted(((index, grouped) for index, grouped in files if grouped["file"]), key=lambda f: f[0])
        infos = [(grouped["file"][0], tuple(sorted(row for row, _ in grouped["ids"]))) for _, grouped in files]
        yield from self._kept(source, infos)
        if self._cfg.write_dropped:
            yield from self._dropped(source, infos)

    def _kept(self, source: str, infos: list) -> Iterator[ShardTask]:
        num = self._cfg.num_shards
        for s, parts in enumerate(split_evenly([info["final"] for info, _ in infos], num)):
            pieces = []
            for item, start, stop in parts:
                info, id_rows = infos[item]
                skip = tuple(r for r in id_rows if start <= r < stop)
                pieces.append(Piece("final", _staged(info, "final"), start, stop, skip))
            yield ShardTask(source, s, num, False, tuple(pieces), self._cfg.format)

    def _dropped(self, source: str, infos: list) -> Iterator[ShardTask]:
        items = []  # the dropped rows of each file: its read drops, its later drops, its id copies
        for info, id_rows in infos:
            items.append(("dropped", _staged(info, "dropped0"), info["dropped0"], ()))
            items.append(("dropped", _staged(info, "dropped1"), info["dropped1"], ()))
            if "dropped2" in info:  # a source with a bucket pass (CommonCrawl)
                items.append(("dropped", _staged(info, "dropped2"), info["dropped2"], ()))
            items.append(("duplicate_id", _staged(info, "final"), len(id_rows), id_rows))
        num = self._cfg.num_dropped_shards
        for s, parts in enumerate(split_evenly([size for _, _, size, _ in items], num)):
            pieces = []
            for item, start, stop in parts:
                kind, relpath, _, id_rows = items[item]
                if kind == "duplicate_id":
                    pieces.append(Piece(kind, relpath, 0, 0, rows=id_rows[start:stop]))
                else:
                    pieces.append(Piece(kind, relpath, start, stop))
            yield ShardTask(source, s, num, True, tuple(pieces), self._cfg.format)


def _staged(info: dict[str, Any], kind: str) -> str:

    task = info["task"]
    return staged_relpath(task.source, task.index, kind)


def _duplicate_id_rows(table: pa.Table) -> pa.Table:
    n = table.num_rows
    extra = [pa.array([DropReason.DUPLICATE_ID.value] * n, pa.string()), pa.array(["write"] * n, pa.string()),
             pa.array(["a newer copy with this id is kept"] * n, pa.string())]
    return pa.Table.from_arrays(table.columns + extra, schema=DROPPED_SCHEMA)


class WriteShard(beam.DoFn):
    """A ShardTask -> one shard file, streamed piece by piece; an ENTRY record for the manifest."""

    def __init__(self, out_dir: str, batch_rows: int) -> None:
        self._out, self._batch_rows = out_dir, batch_rows

    def setup(self) -> None:
        self._progress = ProgressCounter(self._out)

    def finish_bundle(self) -> None:
        self._progress.flush()

    def _tables(self, piece: Piece) -> Iterator[pa.Table]:

        if piece.kind == "duplicate_id":
            if piece.rows:
                yield _duplicate_id_rows(read_rows(self._out, piece.relpath, piece.rows))
            return
        offset, skip = piece.start, set(piece.skip)
        for batch in read_batches(self._out, piece.relpath, piece.start, piece.stop):
            table = pa.Table.from_batches([batch])
            if skip:
                table = table.filter(pa.array([offset + i not in skip for i in range(batch.num_rows)]))
            offset += batch.num_rows
            yield table

    def process(self, task: ShardTask) -> Iterator[tuple]:
        schema = DROPPED_SCHEMA if task.dropped else ARROW_SCHEMA
        relpath = shard_relpath(task.source, task.index, task.num_shards, task.dropped, task.fmt)
        writer = shard_writer(self._out, relpath, schema)
        text_bytes = 0
        if not task.dropped:  # the copies of a repeated id are dropped here, where the kept shard skips them
            self._progress.add(task.source, dropped=sum(len(p.skip) for p in task.pieces))
        for table in _rebatch((t for piece in task.pieces for t in self._tables(piece)), self._batch_rows):
            text_bytes += pa.compute.sum(pa.compute.binary_length(table.column("text"))).as_py() or 0
            for batch in table.to_batches(max_chunksize=self._batch_rows):
                writer.write(batch)
            if not task.dropped:
                self._progress.add(task.source, kept=table.num_rows)
        entry = writer.close()
        yield ENTRY, {**entry, "source": task.source, "shard": task.index, "dropped": task.dropped,
                      "text_bytes": text_bytes}


BATCH_BYTES = 64 << 20  # a shard's record batch ends at batch_rows rows or at this much text


def _rebatch(tables: Iterable[pa.Table], batch_rows: int) -> Iterator[pa.Table]:
    """Tables of any sizes -> record-batch tables of `batch_rows` rows, or fewer where their text
    reaches BATCH_BYTES (every reader holds one batch: a thousand books would be gigabytes). Cut
    from the rows alone, so a shard's batches do not depend on how its pieces were cut."""
    pending: list[pa.Table] = []
    for table in tables:
        pending.append(table)
        merged = pa.concat_tables(pending)
        while merged.num_rows:
            sizes = pa.compute.binary_length(merged.column("text")).to_numpy(zero_copy_only=False)
            over = np.flatnonzero(np.cumsum(sizes) >= BATCH_BYTES)
            cut = min(batch_rows, int(over[0]) + 1 if over.size else batch_rows)
            if cut > merged.num_rows or (cut == merged.num_rows and cut < batch_rows and not over.size):
                break
            yield merged.slice(0, cut).combine_chunks()
            merged = merged.slice(cut)
        pending = [merged]
    if pending and pending[0].num_rows:
        yield pending[0].combine_chunks()
