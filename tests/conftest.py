"""Shared test helpers: paths to the bundled sample and to the read-only shared real samples."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

logging.getLogger().setLevel(logging.ERROR)  # Beam's import-time apitools warning

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
SHARED_SAMPLES = REPO.parent / "shared" / "corpus-samples"


@pytest.fixture
def shared_samples() -> Path:
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/corpus-samples is not present")
    return SHARED_SAMPLES
