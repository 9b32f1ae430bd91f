"""The model side of an ablation: the same trainer preset, seeds and token budget on every variant.

Each run is `python -m train.train pretrain` in a process of its own, its output in train.log beside
it (with --nproc-per-node N: `torchrun --standalone --nproc_per_node N -m train.train pretrain`, with
`--train-set parallel=ddp` or fsdp): the trainer as `make pretrain` runs it, so the larger presets
and GPUs need nothing else. What the ablation sets on top of the preset: the token shards, the shared
tokenizer, the output folder, the seed, the steps (from the token budget), and no held-out split or
eval of the trainer's own (the ablation evaluates every run on one held-out set instead; a split of
each variant's own documents would take different documents out of each).

Same seed, same initial weights: the trainer seeds torch with `seed` before it builds the model
(train.train.build_model), and every variant has the same model preset, sequence length and
vocabulary (one tokenizer), so run (variant, seed) starts where (other variant, seed) starts.
"""
from __future__ import annotations

import dataclasses
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline.ablate import reuse
from pipeline.core.config import config_to_dict
from pipeline.core.shards import file_sha256

REPO = Path(__file__).resolve().parents[2]
TRAIN_LOG = "train.log"
# Keys every run gets from the ablation, whatever the preset says.
FORCED = {"heldout_fraction": 0, "eval_batches": 0, "eval_every": 0}


@dataclasses.dataclass(frozen=True)
class TrainPlan:
    preset: str = "pretrain_ablate"  # a trainer preset in configs/ or a YAML file
    overrides: tuple[str, ...] = ()  # --train-set key=value
    tokens: float | None = None  # training tokens per run; None: the preset's steps
    seeds: tuple[int, ...] = (1, 2, 3)
    nproc: int = 0  # 0: one plain process a run; N: torchrun with N processes

    def steps(self) -> int:
        from train.config import load_train_config

        base = load_train_config(self.preset, list(self.overrides))
        if self.tokens is None:
            return base.steps
        return max(1, math.ceil(self.tokens / (base.global_windows(max(1, self.nproc)) * base.seq_len)))

    def overrides_for(self, tokens_dir: str, tokenizer: str, out_dir: str, seed: int) -> list[str]:
        forced = {**FORCED, "tokens_dir": tokens_dir, "tokenizer_path": tokenizer, "out_dir": out_dir,
                  "seed": seed, "steps": self.steps()}
        return [*self.overrides, *(f"{k}={v}" for k, v in forced.items())]

    def config(self, tokens_dir: str, tokenizer: str, out_dir: str, seed: int) -> Any:
        from train.config import load_train_config

        return load_train_config(self.preset, self.overrides_for(tokens_dir, tokenizer, out_dir, seed))


def launcher(nproc: int) -> list[str]:
    if nproc == 0:
        return [sys.executable]
    found = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if not found:
        raise ValueError("--nproc-per-node needs torchrun (installed with torch) on PATH or beside python")
    return [found, "--standalone", f"--nproc_per_node={nproc}"]


def train_run(plan: TrainPlan, tokens_dir: str, tokenizer: str, out_dir: str, seed: int, fresh: bool) -> bool:
    """Train one run (unless its fingerprint matches a finished one); True when it trained."""
    from train.checkpoint import list_checkpoints

    cfg = plan.config(tokens_dir, tokenizer, out_dir, seed)
    fingerprint = {"config": config_to_dict(cfg), "nproc": plan.nproc, "tokenizer": file_sha256(tokenizer),
                   "tokens": file_sha256(os.path.join(tokens_dir, "manifest.json"))}
    if not fresh and reuse.current(out_dir, fingerprint) and list_checkpoints(out_dir):
        return False
    reuse.start(out_dir)
    command = [*launcher(plan.nproc), "-m", "train.train", "pretrain", "--config", plan.preset, "--fresh"]
    for item in plan.overrides_for(tokens_dir, tokenizer, out_dir, seed):
        command += ["--set", item]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    log = os.path.join(out_dir, TRAIN_LOG)
    with open(log, "w", encoding="utf-8") as f:
        code = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, env=env, check=False).returncode
    if code:
        with open(log, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        if code == 2 and lines and lines[-1].startswith("corral: error: "):
            raise ValueError(lines[-1].removeprefix("corral: error: "))
        tail = "\n".join(lines[-20:])
        raise RuntimeError(f"training {out_dir} failed with exit code {code}; its log {log} ends:\n{tail}")
    reuse.done(out_dir, fingerprint)
    return True
