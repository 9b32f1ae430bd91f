"""Evaluation documents kept out of training (`corral ablate`): the keys that choose them and the
read-time step that drops them. The held-out pass that writes the set is pipeline/jobs/heldout.py.

A corpus job given `holdout.ids_file` (a heldout.json) drops, right after reading and before any
cleaning, filter or dedup step, every document with a held-out id of its source, and every document
whose text equals an evaluation document's up to whitespace (an exact copy under another id), as
`held_out` in stage `read`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

import xxhash
from apache_beam.io.filesystems import FileSystems

from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.shards import file_sha256

HELDOUT_FILE = "heldout.json"


def heldout_key(source: str, doc_id: str, seed: int) -> int:
    """A document's place in the held-out order: a function of (source, id) and the seed alone."""
    return xxhash.xxh64_intdigest(f"{source}\n{doc_id}".encode(), seed=seed)


def text_key(text: str) -> int:
    """Exact copies up to whitespace: xxh64 of the text with every whitespace run made one space."""
    return xxhash.xxh64_intdigest(" ".join(text.split()).encode())


def holdout_digest(path: str) -> str:
    """sha256 of a heldout.json ("" for none): what a run made with a held-out set records of it."""
    return file_sha256(path) if path else ""


class HeldOut:
    """The read-time step: Document -> Document | Dropped(HELD_OUT)."""

    def __init__(self, ids: dict[str, Iterable[str]], texts: Iterable[int]) -> None:
        self._ids = {source: frozenset(values) for source, values in ids.items()}
        self._texts = frozenset(texts)

    @classmethod
    def load(cls, path: str) -> HeldOut:
        with FileSystems.open(path) as f:
            data = json.load(f)
        return cls(data["ids"], data["text_xxh64"])

    def __call__(self, doc: Document) -> Document | Dropped:
        if doc.id in self._ids.get(doc.source, ()):
            return Dropped(doc, DropReason.HELD_OUT, "read", "evaluation document")
        if self._texts and text_key(doc.text) in self._texts:
            return Dropped(doc, DropReason.HELD_OUT, "read", "same text as an evaluation document")
        return doc
