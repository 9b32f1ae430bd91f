import pytest

from filters.basic import check_not_empty
from pipeline.core.document import Document, DropReason
from pipeline.core.stages import run_checks


@pytest.mark.parametrize("text, reason", [("words", None), ("", DropReason.EMPTY), ("  \n\t ", DropReason.EMPTY)])
def test_check_not_empty(text, reason):
    assert check_not_empty(Document(id="a", source="c4", text=text)) is reason


def _short(doc):
    return DropReason.EMPTY if len(doc.text) < 3 else None


def test_run_checks_drops_with_first_failing_check():
    docs = [Document(id=str(i), source="c4", text=t) for i, t in enumerate(["hello", "", "ab"])]
    step = run_checks([check_not_empty, _short])
    out = [step(d) for d in docs]
    assert out[0] is docs[0]
    assert [(d.doc.id, d.reason.value, d.stage, d.detail) for d in out[1:]] == [
        ("1", "empty", "filter", "check_not_empty"), ("2", "empty", "filter", "_short")]
