import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from filters.basic import check_not_empty
from filters.filter_documents import FilterDocuments, Plain
from pipeline.core.document import Document, DropReason


@pytest.mark.parametrize("text, reason", [("words", None), ("", DropReason.EMPTY), ("  \n\t ", DropReason.EMPTY)])
def test_check_not_empty(text, reason):
    assert check_not_empty(Document(id="a", source="c4", text=text)) is reason


def _short(doc):
    return DropReason.EMPTY if len(doc.text) < 3 else None


def test_filter_documents_routes_drops_with_first_failing_check():
    docs = [Document(id=str(i), source="c4", text=t) for i, t in enumerate(["hello", "", "ab"])]
    with TestPipeline() as p:
        out = p | beam.Create(docs) | FilterDocuments("c4", [Plain(check_not_empty), Plain(_short)])
        assert_that(out.kept | "KeptIds" >> beam.Map(lambda d: d.id), equal_to(["0"]), label="kept")
        drops = out.dropped | beam.Map(lambda d: (d.doc.id, d.reason.value, d.stage, d.detail))
        assert_that(drops, equal_to([("1", "empty", "filter", "check_not_empty"), ("2", "empty", "filter", "_short")]),
                    label="dropped")
