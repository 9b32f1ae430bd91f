import hashlib

import apache_beam as beam
import pyarrow as pa
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.document import ARROW_SCHEMA, Document, DropReason, Dropped, documents_to_table, table_to_documents
from pipeline.shards import WriteShards, shard_name, shard_of, unique_by_id, write_atomic


def _docs(n):
    return [Document(id=f"d{i:03d}", source="c4", text=f"text {i}") for i in range(n)]


def test_shard_of_is_stable_and_in_range():
    assert shard_of("abc", 8) == shard_of("abc", 8)
    assert {shard_of(f"id{i}", 4) for i in range(200)} == {0, 1, 2, 3}
    assert shard_of("abc", 1) == 0
    assert shard_name(3, 12) == "part-00003-of-00012.arrow"


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


def test_write_shards_groups_sorts_and_is_order_independent(tmp_path):
    docs = _docs(40)
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    for out, order in ((out_a, docs), (out_b, list(reversed(docs)))):
        with TestPipeline() as p:
            entries = (p | beam.Create(order) | WriteShards(str(out), num_shards=3, batch_rows=7)).entries
            assert_that(entries | beam.Map(lambda e: e["rows"]) | beam.combiners.ToList() | beam.Map(sum), equal_to([40]))
    for i in range(3):
        name = f"c4/part-0000{i}-of-00003.arrow"
        a, b = (out_a / name).read_bytes(), (out_b / name).read_bytes()
        assert a == b
        ids = pa.ipc.open_file(pa.BufferReader(a)).read_all().column("id").to_pylist()
        assert ids == sorted(ids) and all(shard_of(x, 3) == i for x in ids)


def test_write_shards_dropped_has_reason_columns(tmp_path):
    drops = [Dropped(d, DropReason.EMPTY, "filter", "why") for d in _docs(3)]
    with TestPipeline() as p:
        _ = p | beam.Create(drops) | WriteShards(str(tmp_path), num_shards=1, batch_rows=10, dropped=True)
    table = pa.ipc.open_file(str(tmp_path / "dropped/c4/part-00000-of-00001.arrow")).read_all()
    assert table.column("drop_reason").to_pylist() == ["empty"] * 3
    assert table.column("drop_stage").to_pylist() == ["filter"] * 3


def test_repeated_id_keeps_newest_copy_and_reports_the_other():
    old = Document(id="x", source="wikipedia", text="old", created="2020-01-01T00:00:00Z")
    new = Document(id="x", source="wikipedia", text="new", created="2023-01-01T00:00:00Z")
    other = Document(id="y", source="wikipedia", text="y")
    kept, dropped = unique_by_id([new, other, old])
    assert kept == [new, other]
    assert [(d.doc, d.reason, d.stage) for d in dropped] == [(old, DropReason.DUPLICATE_ID, "write")]
