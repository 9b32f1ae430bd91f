"""The corpus job's passes: model steps over a staged batch, step by step."""
from __future__ import annotations

import dataclasses

from pipeline.core.document import Document, Dropped, DropReason
from pipeline.jobs.passes import _run_steps, _run_steps_batch


def _docs(n: int) -> list[Document]:
    return [Document(id=f"d{i}", source="commoncrawl", text=f"page {i} " * (i + 1)) for i in range(n)]


def _recording_steps(calls: list[tuple[str, str]]):
    """Two steps that log their calls: `first` drops every third document, `second` edits the text."""

    def first(doc: Document) -> Document | Dropped:
        calls.append(("first", doc.id))
        if int(doc.id[1:]) % 3 == 0:
            return Dropped(doc, DropReason.TOO_SHORT, "first", "every third")
        return dataclasses.replace(doc, text=doc.text.upper())

    def second(doc: Document) -> Document | Dropped:
        calls.append(("second", doc.id))
        return dataclasses.replace(doc, lang="en")

    return [first, second]


def test_batch_steps_run_step_by_step_with_the_results_of_one_document_at_a_time():
    docs = _docs(7)
    calls: list[tuple[str, str]] = []
    got = _run_steps_batch(list(docs), _recording_steps(calls))
    # every document through the first step before any reaches the second; dropped ones stop there
    assert calls == [("first", d.id) for d in docs] + [("second", d.id) for d in docs if int(d.id[1:]) % 3]
    one_by_one = [_run_steps(d, _recording_steps([])) for d in docs]
    assert got == one_by_one
    assert [type(x).__name__ for x in got] == ["Dropped", "Document", "Document", "Dropped", "Document", "Document",
                                               "Dropped"]
    assert got[1].text == docs[1].text.upper() and got[1].lang == "en"


def test_a_document_dropped_before_the_batch_passes_through_untouched():
    docs: list[Document | Dropped] = _docs(3)
    docs[1] = Dropped(docs[1], DropReason.DUPLICATE_EXACT, "dedup", "exact copy")
    calls: list[tuple[str, str]] = []
    got = _run_steps_batch(docs, _recording_steps(calls))
    assert got[1] is docs[1] and ("first", "d1") not in calls
    assert _run_steps_batch([], _recording_steps(calls)) == []
