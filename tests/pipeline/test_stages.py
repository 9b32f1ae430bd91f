import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.document import Document, DropReason, Dropped
from pipeline.stages import ApplyStep, Bind, ReadFiles


def _parse(path, rel, cfg):
    yield Document(id=f"{rel}:1", source="c4", text="one")
    yield Dropped(Document(id=f"{rel}:2", source="c4", text=""), DropReason.PARSE_ERROR, "read", "bad line")
    if rel == "broken":
        raise OSError("disk went away")
    yield Document(id=f"{rel}:3", source="c4", text="three")


class _ReadTest(ReadFiles):
    source = "c4"
    parse_file = staticmethod(_parse)


def test_read_files_routes_and_survives_a_failing_file():
    with TestPipeline() as p:
        out = p | beam.Create([("p1", "good"), ("p2", "broken")]) | _ReadTest(cfg=None)
        assert_that(out.kept | "KeptIds" >> beam.Map(lambda d: d.id), equal_to(["good:1", "good:3", "broken:1"]), label="kept")
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
