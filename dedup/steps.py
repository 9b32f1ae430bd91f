"""The dedup step names a config can list per source, and the KeyedStep each one builds."""
from __future__ import annotations

from dedup.common import KeyedStep
from dedup.exact import ExactStep
from dedup.lines import dedup_lines
from dedup.minhash import dedup_books, dedup_near
from dedup.spans import dedup_spans
from pipeline.core.config import DedupConfigBase

_BUILDERS = {
    "exact": lambda source, cfg: ExactStep(source, cfg.exact),
    "lines": lambda source, cfg: dedup_lines(source, cfg.lines),  # CCNet
    "near": lambda source, cfg: dedup_near(source, cfg.near),  # MinHash LSH
    "books": lambda source, cfg: dedup_books(source, cfg.books_rule),  # LLaMA's 90% rule
    "spans": lambda source, cfg: dedup_spans(source, cfg.spans),  # C4
}


def build_dedup(step: str, source: str, cfg: DedupConfigBase) -> KeyedStep:
    """exact | lines (CCNet) | near (MinHash LSH) | books (LLaMA's 90% rule) | spans (C4)."""
    assert step in _BUILDERS, f"config validation lets only known steps through, got {step!r}"
    return _BUILDERS[step](source, cfg)
