import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.config import ShardsConfig
from pipeline.core.document import (
    ARROW_SCHEMA,
    Document,
    Dropped,
    DropReason,
    documents_to_table,
    table_to_documents,
)
from pipeline.core.shards import (
    is_shard_name,
    read_shard,
    read_shard_batches,
    shard_name,
    shard_paths,
    shard_writer,
    write_atomic,
)
from pipeline.core.staging import StagedWriter, staged_relpath
from pipeline.jobs.passes import FileTask
from pipeline.jobs.write_shards import PlanShards, WriteShard, split_evenly


def _docs(n):
    return [Document(id=f"d{i:03d}", source="c4", text=f"text {i}") for i in range(n)]


def test_shard_name():
    assert shard_name(3, 12) == "part-00003-of-00012.arrow"


@pytest.mark.parametrize("sizes, num_shards", [([10, 0, 5, 7], 4), ([3], 8), ([], 2), ([100], 1), ([1, 1, 1], 3)])
def test_split_evenly_cuts_contiguous_equal_ranges(sizes, num_shards):
    shards = split_evenly(sizes, num_shards)
    assert len(shards) == num_shards
    flat = [(item, row) for pieces in shards for item, start, stop in pieces for row in range(start, stop)]
    assert flat == [(item, row) for item, size in enumerate(sizes) for row in range(size)]  # order kept, no gap
    counts = [sum(stop - start for _, start, stop in pieces) for pieces in shards]
    assert max(counts) - min(counts) <= 1


def test_write_atomic_round_trips_and_reports_hash(tmp_path):
    table = documents_to_table(_docs(5))
    entry = write_atomic(str(tmp_path), "c4/part-00000-of-00001.arrow", table, batch_rows=2)
    data = (tmp_path / "c4" / "part-00000-of-00001.arrow").read_bytes()
    assert entry["rows"] == 5 and entry["bytes"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    read = pa.ipc.open_file(pa.BufferReader(data)).read_all()
    assert read.schema.equals(ARROW_SCHEMA)
    assert table_to_documents(read) == _docs(5)
    assert [p.name for p in (tmp_path / "c4").iterdir()] == ["part-00000-of-00001.arrow"]  # no temp left


def _stage(tmp_path, index, kind, items, dropped=False):
    writer = StagedWriter(str(tmp_path), staged_relpath("wikipedia", index, kind), dropped=dropped)
    for item in items:
        writer.add(item)
    return writer.close()


def _info(index, final, dropped0=0, dropped1=0):
    task = FileTask("wikipedia", index, f"/in/{index}.xml", f"{index}.xml")
    return {"task": task, "dropped0": dropped0, "final": final, "dropped1": dropped1}


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_plan_and_write_shards_follow_input_order_and_drop_id_copies(tmp_path, fmt):
    old = Document(id="x", source="wikipedia", text="old", created="2020-01-01T00:00:00Z")
    new = Document(id="x", source="wikipedia", text="new", created="2023-01-01T00:00:00Z")
    files = [[Document(id=f"a{i}", source="wikipedia", text=f"a {i}") for i in range(5)] + [old],
             [new] + [Document(id=f"b{i}", source="wikipedia", text=f"b {i}") for i in range(3)]]
    drop = Dropped(files[0][0], DropReason.EMPTY, "filter", "why")
    for index, docs in enumerate(files):
        _stage(tmp_path, index, "final", docs)
        _stage(tmp_path, index, "dropped0", [drop] if index == 0 else [], dropped=True)
        _stage(tmp_path, index, "dropped1", [], dropped=True)
    collected = ("wikipedia", [(0, {"file": [_info(0, 6, dropped0=1)], "ids": [(5, None)]}),
                               (1, {"file": [_info(1, 4)], "ids": []})])
    tasks = list(PlanShards(ShardsConfig(num_shards=3, num_dropped_shards=1, batch_rows=2, format=fmt))(collected))
    assert [(t.index, t.dropped) for t in tasks] == [(0, False), (1, False), (2, False), (0, True)]
    write = WriteShard(str(tmp_path), 2)
    write.setup()
    entries = [e for t in tasks for _, e in write.process(t)]
    ids = [read_shard(str(tmp_path / e["path"])).column("id").to_pylist() for e in entries]
    assert ids[:3] == [["a0", "a1", "a2"], ["a3", "a4"], ["x", "b0", "b1", "b2"]]  # the older x is not kept
    dropped = read_shard(str(tmp_path / entries[3]["path"]))
    assert dropped.column("id").to_pylist() == ["a0", "x"]
    assert dropped.column("drop_reason").to_pylist() == ["empty", "duplicate_id"]
    assert dropped.column("text").to_pylist() == ["a 0", "old"]
    assert [e["rows"] for e in entries] == [3, 2, 4, 2]
    assert all(e["path"].endswith(f".{fmt}") for e in entries)
    assert [p.rsplit("/", 1)[1] for p in shard_paths(str(tmp_path), "wikipedia")] == [
        f"part-0000{i}-of-00003.{fmt}" for i in range(3)]
    assert shard_paths(str(tmp_path), "wikipedia", dropped=True) == [str(tmp_path / entries[3]["path"])]
    # batch_rows rows per record batch, in Parquet one row group each: streaming readers hold one
    batches = list(read_shard_batches(str(tmp_path / entries[2]["path"]), ["id"]))
    assert [b.num_rows for b in batches] == [2, 2] and batches[0].schema.names == ["id"]
    if fmt == "parquet":
        assert pq.ParquetFile(str(tmp_path / entries[2]["path"])).metadata.num_row_groups == 2
        assert pq.ParquetFile(str(tmp_path / entries[2]["path"])).metadata.row_group(0).column(2).compression == "ZSTD"


def test_shard_names_of_both_formats():
    assert is_shard_name("part-00001-of-00008.arrow") and is_shard_name("part-00001-of-00008.parquet")
    assert not is_shard_name(".tmp-abc-part-00001-of-00008.parquet") and not is_shard_name("part-1-of-8.csv")
    assert shard_name(3, 12, "parquet") == "part-00003-of-00012.parquet"


def test_empty_shards_read_back_with_their_schema(tmp_path):
    for fmt in ("arrow", "parquet"):
        entry = shard_writer(str(tmp_path), f"c4/part-00000-of-00001.{fmt}", ARROW_SCHEMA).close()
        table = read_shard(str(tmp_path / entry["path"]))
        assert table.num_rows == 0 and table.schema.equals(ARROW_SCHEMA)
        assert list(read_shard_batches(str(tmp_path / entry["path"]))) == []


def test_record_batches_end_at_batch_rows_or_batch_bytes(monkeypatch):
    import pipeline.jobs.write_shards as shards

    monkeypatch.setattr(shards, "BATCH_BYTES", 25)
    docs = [Document(id=f"d{i}", source="c4", text="x" * n) for i, n in enumerate([10, 10, 10, 1, 1, 1, 1, 1, 30, 2])]
    table = documents_to_table(docs)
    pieces = [table.slice(0, 4), table.slice(4, 3), table.slice(7, 3)]  # cut anywhere: same batches
    batches = [t.num_rows for t in shards._rebatch(iter(pieces), batch_rows=4)]
    assert batches == [3, 4, 2, 1]  # 30 bytes at the third row; 4 rows; 31 bytes at the second; the rest
    assert batches == [t.num_rows for t in shards._rebatch(iter([table]), batch_rows=4)]
