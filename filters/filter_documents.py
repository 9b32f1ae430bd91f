"""FilterDocuments: the one Beam step that runs a source's checks in order (first failure drops)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import apache_beam as beam

from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.stages import ApplyStep

Check = Callable[[Document], "DropReason | None"]


class _RunChecks:
    """Picklable factory; builds the checks in DoFn.setup() so a model-backed check loads once."""

    def __init__(self, make_checks: Sequence[Callable[[], Check]]) -> None:
        self._make_checks = tuple(make_checks)

    def __call__(self) -> Callable[[Document], Document | Dropped]:
        checks = [make() for make in self._make_checks]

        def step(doc: Document) -> Document | Dropped:
            for check in checks:
                reason = check(doc)
                if reason is not None:
                    return Dropped(doc, reason, "filter", getattr(check, "__name__", type(check).__name__))
            return doc

        return step


def run_checks(make_checks: Sequence[Callable[[], Check]]) -> Callable[[Document], Document | Dropped]:
    """Build the checks (models load here) and return the step that runs them in order."""
    return _RunChecks(make_checks)()


class Plain:
    """A factory for a check that needs no setup: Plain(check)() is check."""

    def __init__(self, check: Check) -> None:
        self._check = check

    def __call__(self) -> Check:
        return self._check


class FilterDocuments(beam.PTransform):
    """Documents -> kept (main) and Dropped (`dropped`), checks applied in the given order."""

    def __init__(self, source: str, make_checks: Sequence[Callable[[], Check]]) -> None:
        super().__init__()
        self._source, self._make_checks = source, make_checks

    def expand(self, docs):
        return docs | ApplyStep(self._source, "filter", _RunChecks(self._make_checks))
