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


def build_models(tmp_path_factory, input_root: Path, name: str) -> str:
    """Train the CommonCrawl models for `input_root` into a temporary folder; returns it."""
    from pipeline.cli import main

    models_dir = tmp_path_factory.mktemp(name)
    assert main(["models", "--input", str(input_root), "--set", f"models.dir={models_dir}"]) == 0
    return str(models_dir)


@pytest.fixture(scope="session")
def sample_models(tmp_path_factory) -> str:
    return build_models(tmp_path_factory, SAMPLE, "sample-models")


@pytest.fixture(scope="session")
def shared_models(tmp_path_factory) -> str:
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/corpus-samples is not present")
    return build_models(tmp_path_factory, SHARED_SAMPLES, "shared-models")


def run_corpus(out: Path, input_root: Path, models_dir: str, *extra: str) -> Path:
    from pipeline.cli import main

    args = ["corpus", "--input", str(input_root), "--output", str(out), "--set", f"models.dir={models_dir}", *extra]
    assert main(args) == 0
    return out


@pytest.fixture(scope="session")
def sample_corpus(tmp_path_factory, sample_models) -> Path:
    return run_corpus(tmp_path_factory.mktemp("sample-corpus") / "corpus", SAMPLE, sample_models)


@pytest.fixture(scope="session")
def shared_corpus(tmp_path_factory, shared_models) -> Path:
    return run_corpus(tmp_path_factory.mktemp("shared-corpus") / "corpus", SHARED_SAMPLES, shared_models)


def read_files(source: str, parse_file, files, cfg) -> tuple[list, list]:
    """What the corpus job's read pass takes from `parse_file` over `files` ((path, rel) pairs),
    the read nets of pipeline.core.stages.read_records included: (Documents, Dropped records)."""
    from pipeline.core.document import Dropped
    from pipeline.core.stages import read_records

    kept, dropped = [], []
    for path, rel in files:
        for out in read_records(source, parse_file, path, rel, cfg):
            (dropped if isinstance(out, Dropped) else kept).append(out)
    return kept, dropped
