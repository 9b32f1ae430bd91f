import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.stages import ApplyStep, Bind, ReadFiles, read_records


def _parse(path, rel, cfg):
    yield Document(id=f"{rel}:1", source="c4", text="one")
    yield Dropped(Document(id=f"{rel}:2", source="c4", text=""), DropReason.PARSE_ERROR, "read", "bad line")
    if rel == "broken":
        raise OSError("disk went away")
    yield Document(id=f"{rel}:3", source="c4", text="three")


class _ReadTest(ReadFiles):
    source = "c4"
    parse_file = staticmethod(_parse)


def test_read_files_routes_and_survives_a_failing_file(tmp_path):
    for name in ("p1", "p2"):
        (tmp_path / name).write_text("x")
    files = [(str(tmp_path / "p1"), "good"), (str(tmp_path / "p2"), "broken")]
    with TestPipeline() as p:
        out = p | beam.Create(files) | _ReadTest(cfg=None)
        assert_that(out.kept | "KeptIds" >> beam.Map(lambda d: d.id), equal_to(["good:1", "good:3", "broken:1"]),
                    label="kept")
        drops = out.dropped | beam.Map(lambda d: (d.doc.id, d.reason.value))
        expected = [("good:2", "parse_error"), ("broken:2", "parse_error"), ("broken#read-error", "parse_error")]
        assert_that(drops, equal_to(expected), label="dropped")


def _upper_or_drop(doc, cfg):
    if cfg in doc.text:
        return Dropped(doc, DropReason.EMPTY, "clean")
    return Document(id=doc.id, source=doc.source, text=doc.text.upper())


def test_apply_step_with_bound_config():
    docs = [Document(id="a", source="c4", text="keep"), Document(id="b", source="c4", text="xx")]
    with TestPipeline() as p:
        out = p | beam.Create(docs) | ApplyStep("c4", "clean", Bind(_upper_or_drop, "x"))
        assert_that(out.kept | "Texts" >> beam.Map(lambda d: d.text), equal_to(["KEEP"]), label="kept")
        assert_that(out.dropped | beam.Map(lambda d: d.doc.id), equal_to(["b"]), label="dropped")


def test_a_listed_file_gone_at_read_time_is_a_user_error_naming_it(tmp_path):
    gone = str(tmp_path / "gone.json.gz")
    with pytest.raises(ValueError, match="gone.json.gz cannot be opened"):
        list(read_records("c4", lambda path, rel, cfg: iter(()), gone, "gone.json.gz", None))
