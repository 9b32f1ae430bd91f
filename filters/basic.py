"""Checks every source shares. A check is `check(doc) -> DropReason | None` and never modifies."""
from __future__ import annotations

from pipeline.core.document import Document, DropReason


def check_not_empty(doc: Document) -> DropReason | None:
    """Nothing but whitespace left: there is nothing to train on."""
    return DropReason.EMPTY if not doc.text.strip() else None
