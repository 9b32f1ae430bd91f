"""Checkpoints: round trip, atomic folders, keep-K, and a kill -9 mid-run that resumes exactly."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.train.test_train import make_dataset, run_args
from train.checkpoint import list_checkpoints, load_checkpoint, resolve_checkpoint, save_checkpoint, step_dir
from train.metrics import read_metrics
from train.parallel import Dist

REPO = Path(__file__).resolve().parents[2]
ALONE = Dist("none", 0, 1, 0, torch.device("cpu"))


def _model_and_optimizer(seed: int):
    from train.model import Transformer, preset
    from train.optim import configure_optimizer

    torch.manual_seed(seed)
    model = Transformer(preset("tiny", vocab_size=64, max_seq_len=16))
    optimizer = configure_optimizer(model, 1e-3)
    tokens = torch.randint(0, 64, (2, 16))
    _, loss = model(tokens, tokens)
    loss.backward()
    optimizer.step()
    return model, optimizer


def test_round_trip_restores_weights_optimizer_and_every_rng(tmp_path):
    model, optimizer = _model_and_optimizer(seed=1)
    random.seed(5), np.random.seed(6), torch.manual_seed(7)
    path = save_checkpoint(str(tmp_path), 3, model, optimizer, {"sampler": {"windows_drawn": 9}}, ALONE, keep=2)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())

    other, other_optimizer = _model_and_optimizer(seed=2)
    state = load_checkpoint(path, other, other_optimizer, ALONE)
    assert state["step"] == 3 and state["sampler"] == {"windows_drawn": 9}
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    for a, b in zip(optimizer.state.values(), other_optimizer.state.values(), strict=False):
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_atomic_folders_keep_k_and_resolve(tmp_path):
    model, optimizer = _model_and_optimizer(seed=1)
    os.makedirs(tmp_path / "checkpoints" / ".step-00000004.tmp")  # left by a run killed while writing
    for step in (1, 2, 3, 4):
        save_checkpoint(str(tmp_path), step, model, optimizer, {}, ALONE, keep=2)
    assert list_checkpoints(str(tmp_path)) == [step_dir(str(tmp_path), 3), step_dir(str(tmp_path), 4)]
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["step-00000003", "step-00000004"]
    assert resolve_checkpoint(str(tmp_path)) == step_dir(str(tmp_path), 4)
    assert resolve_checkpoint(step_dir(str(tmp_path), 3)) == step_dir(str(tmp_path), 3)
    with pytest.raises(ValueError, match="checkpoint"):
        resolve_checkpoint(str(tmp_path / "nothing"))


def _pretrain(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "train.train", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.002)


def test_kill_9_mid_run_then_resume_matches_the_uninterrupted_run(tmp_path):
    dataset = make_dataset(tmp_path / "data")
    steps = ["steps=40", "checkpoint_every=5", "keep_checkpoints=3"]
    straight = _pretrain(run_args(tmp_path / "straight", dataset, *steps))

    killed = tmp_path / "killed"
    proc = _pretrain(run_args(killed, dataset, *steps))
    _wait_for(killed / "checkpoints" / "step-00000005", proc)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # killed mid-run, not finished
    resumed_from = int(os.path.basename(list_checkpoints(str(killed))[-1]).split("-")[1])
    assert 5 <= resumed_from < 40
    resume = _pretrain(run_args(killed, dataset, *steps))
    assert resume.wait(timeout=120) == 0, resume.stderr.read().decode()
    assert straight.wait(timeout=120) == 0, straight.stderr.read().decode()

    expected = read_metrics(str(tmp_path / "straight" / "metrics.jsonl"))
    got = read_metrics(str(killed / "metrics.jsonl"))
    assert [r["step"] for r in got] == list(range(1, 41))
    for a, b in zip(expected, got, strict=False):
        assert abs(a["loss"] - b["loss"]) <= 1e-6, (a["step"], a["loss"], b["loss"])
        assert a["epochs"] == b["epochs"] and a.get("eval_loss") == pytest.approx(b.get("eval_loss"), abs=1e-6)
