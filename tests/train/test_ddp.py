"""torchrun with 2 CPU processes (gloo): DDP and FSDP2 give the one-process losses at the same global batch."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.test_train import make_dataset, run_args
from train.metrics import read_metrics

REPO = Path(__file__).resolve().parents[2]
# One process: 2 micro-steps of 4 sequences; two ranks: 1 micro-step of 4 each. Same 256 tokens.
STEPS = ["steps=5", "eval_every=0", "checkpoint_every=3", "seq_len=32", "micro_batch=4", "batch_tokens=256"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[str, str]:
    return make_dataset(tmp_path_factory.mktemp("ddp-data"))


def _run(args: list[str], nproc: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={nproc}"] if nproc > 1 else [sys.executable]
    done = subprocess.run([*launcher, "-m", "train.train", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def one_process(dataset, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("one")
    _run(run_args(out, dataset, *STEPS), nproc=1)
    return read_metrics(str(out / "metrics.jsonl"))


def _assert_same(expected: list[dict], got: list[dict]) -> None:
    assert [r["step"] for r in got] == [1, 2, 3, 4, 5]
    for a, b in zip(expected, got, strict=False):
        assert abs(a["loss"] - b["loss"]) < 1e-5, (a["step"], a["loss"], b["loss"])
        assert abs(a["grad_norm"] - b["grad_norm"]) < 1e-4 and a["epochs"] == b["epochs"]
    assert expected[-1]["eval_loss"] == pytest.approx(got[-1]["eval_loss"], abs=1e-5)


def test_ddp_two_ranks_match_one_process(dataset, one_process, tmp_path):
    _run(run_args(tmp_path, dataset, *STEPS, "parallel=ddp"), nproc=2)
    _assert_same(one_process, read_metrics(str(tmp_path / "metrics.jsonl")))


def test_fsdp_two_ranks_match_one_process_and_its_checkpoint_resumes_alone(dataset, one_process, tmp_path):
    _run(run_args(tmp_path, dataset, *STEPS, "parallel=fsdp"), nproc=2)
    _assert_same(one_process, read_metrics(str(tmp_path / "metrics.jsonl")))
    # The gathered FSDP checkpoint is the one-process format: back to step 3, resume without torchrun.
    shutil.rmtree(tmp_path / "checkpoints" / "step-00000005")
    _run(run_args(tmp_path, dataset, *STEPS), nproc=1)
    _assert_same(one_process, read_metrics(str(tmp_path / "metrics.jsonl")))
