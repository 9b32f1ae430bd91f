"""The dedup step names a config can list per source, and the composite each one builds."""
from __future__ import annotations

import apache_beam as beam

from dedup.exact import DedupExact
from dedup.lines import dedup_lines
from dedup.minhash import dedup_books, dedup_near
from dedup.spans import dedup_spans
from pipeline.config import DedupConfig


def build_dedup(step: str, source: str, cfg: DedupConfig) -> beam.PTransform:
    """exact | lines (CCNet) | near (MinHash LSH) | books (LLaMA's 90% rule) | spans (C4)."""
    if step == "exact":
        return DedupExact(source, cfg.exact)
    if step == "lines":
        return dedup_lines(source, cfg.lines)
    if step == "near":
        return dedup_near(source, cfg.near)
    if step == "books":
        return dedup_books(source, cfg.books_rule)
    if step == "spans":
        return dedup_spans(source, cfg.spans)
    raise AssertionError(f"config validation lets only known steps through, got {step!r}")
