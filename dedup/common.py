"""What every dedup step shares: keys out, decisions back, and one output shape.

Document text never crosses a shuffle (DESIGN.md, data flow). A dedup step is therefore three
parts, each run where the data already is:

  keys(docs, positions)  per input file, beside the staged documents: small records (hashes, ids)
                         routed to a bucket, or compact arrays per file and bucket (MinHash);
  decide                 a PTransform over those records only (GroupByKey / CoGroupByKey), giving
                         DECISION records for the documents to change and STAT records;
  apply(doc, decisions)  per input file again, on the staged documents and that file's decisions.

A position is (file index, row): the document's row in its file's staged `read` file, the same
on every worker. Every record that leaves `decide` is one tuple whose first element says what it
is (DECISION or STAT): single-output transforms only, which every Beam runner executes alike.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import xxhash

from pipeline.core.document import Document, Dropped

DECISION, STAT = "decision", "stat"
NUM_BUCKETS = 64  # key buckets per step: the parallelism of the decide side, a few records per file each
Position = tuple[int, int]  # (file index, row in the staged file)


def bucket_of(key: bytes | str | int) -> int:
    if isinstance(key, int):
        key = key.to_bytes(8, "little", signed=key < 0)
    elif isinstance(key, str):
        key = key.encode("utf-8", "surrogatepass")
    return xxhash.xxh64_intdigest(key) % NUM_BUCKETS


def decision(position: Position, value: Any) -> tuple:
    """The decision for one document (row -1: every document of the file). A step that decides
    many may send (DECISION, file, [row, ...], [value, ...]) instead: one record per file."""
    return DECISION, position[0], position[1], value


def decisions_by_row(records: Iterable[tuple[Any, Any]]) -> dict[int, list]:
    """One file's (row, value) pairs, or ([rows], [values]) batches -> row -> its values."""
    by_row: dict[int, list] = {}
    for row, value in records:
        if isinstance(row, list):
            for r, v in zip(row, value, strict=False):
                by_row.setdefault(r, []).append(v)
        else:
            by_row.setdefault(row, []).append(value)
    return by_row


def stat(source: str, step: str, name: str, value: int) -> tuple:
    return STAT, (source, step, name), int(value)


def stage_name(step: str) -> str:
    return f"dedup_{step}"


class KeyedStep:
    """The protocol of a dedup step (see the module docstring); subclasses fill in the parts.

    `keys` returns (bucket, record) pairs; the job groups each file's records by bucket into one
    list, so the shuffle carries a few elements per file. `decide_bucket` sees every record of one
    bucket. `apply` returns the document (changed or not) or a Dropped record, and adds to `stats`
    the counts it makes ({name: int}).
    """

    name = ""

    def __init__(self, source: str) -> None:
        self.source = source

    def begin_file(self, out_dir: str, file_index: int) -> None:
        """Called before a file's first keys() (a step may keep per-file state or a sidecar file)."""

    def keys(self, docs: list[Document], positions: list[Position]) -> Iterable[tuple[int, Any]]:
        raise NotImplementedError

    def end_file(self) -> Iterable[tuple[int, Any]]:
        """Called after a file's last keys(): (bucket, record) pairs the step held back."""
        return ()

    def decide_bucket(self, records: Iterable[Any]) -> Iterator[tuple]:
        raise NotImplementedError

    def decide(self, out_dir: str) -> beam.PTransform:
        """(bucket, [record, ...]) per file and bucket -> DECISION and STAT records. `out_dir` is
        the job's output folder, where a step's per-file sidecar files are staged."""
        return _DecideByBucket(self)

    def apply(self, doc: Document, decisions: list[Any], stats: dict[str, int]) -> Document | Dropped:
        raise NotImplementedError


def _records(grouped: tuple[int, Iterable[list[Any]]]) -> Iterator[Any]:
    for batch in grouped[1]:
        yield from batch


class _DecideByBucket(beam.PTransform):
    def __init__(self, step: KeyedStep) -> None:
        super().__init__()
        self._step = step

    def expand(self, keyed):
        step = self._step
        return (
            keyed
            | "GroupByBucket" >> beam.GroupByKey()
            | "DecideBucket" >> beam.FlatMap(lambda grouped: step.decide_bucket(_records(grouped)))
        )


def merge_stats(records: list[tuple[tuple[str, str, str], int]]) -> dict[str, dict[str, dict[str, int]]]:
    """((source, step, name), value) records -> {source: {step: {name: total}}}."""
    merged: dict[str, dict[str, dict[str, int]]] = {}
    for (source, step, name), value in sorted(records):
        slot = merged.setdefault(source, {}).setdefault(step, {})
        slot[name] = max(slot.get(name, value), value) if name.startswith("max_") else slot.get(name, 0) + value
    return merged


def add_stat(stats: dict[str, int], name: str, value: int) -> None:
    if name.startswith("max_"):
        stats[name] = max(stats.get(name, value), value)
    else:
        stats[name] = stats.get(name, 0) + value
