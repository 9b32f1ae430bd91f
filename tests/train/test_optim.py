"""LLaMA's optimizer recipe: AdamW groups, the warmup + cosine schedule, clipping."""
from __future__ import annotations

import math

import pytest
import torch

from train.model import ModelConfig, Transformer
from train.optim import clip_grad_norm, configure_optimizer, lr_at, scaled_warmup

SMALL = ModelConfig(dim=32, n_layers=2, n_heads=2, vocab_size=50, multiple_of=16, max_seq_len=16)
PEAK = 3e-4


def lr(step: int, warmup: int = 100, total: int = 1000) -> float:
    return lr_at(step, peak_lr=PEAK, warmup_steps=warmup, total_steps=total)


def test_param_groups_decay_matrices_not_norms():
    model = Transformer(SMALL)
    optimizer = configure_optimizer(model, lr=PEAK)
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert decay["betas"] == (0.9, 0.95) and decay["lr"] == PEAK
    ids = lambda group: {id(p) for p in group["params"]}  # noqa: E731
    assert id(model.norm.weight) in ids(no_decay)
    assert id(model.layers[0].attention_norm.weight) in ids(no_decay)
    assert id(model.layers[0].attention.wq.weight) in ids(decay)
    assert id(model.tok_embeddings.weight) in ids(decay) and id(model.output.weight) in ids(decay)
    assert len(ids(decay)) + len(ids(no_decay)) == len(list(model.parameters()))
    assert not optimizer.defaults["fused"]  # CPU parameters: the CUDA kernel is not chosen


def test_lr_schedule_corners():
    assert lr(0) == pytest.approx(PEAK / 100)
    assert lr(99) == pytest.approx(PEAK)  # last warmup step reaches the peak
    assert lr(100) == pytest.approx(PEAK)  # cosine phase 0
    assert lr(550) == pytest.approx(0.55 * PEAK)  # halfway down: midpoint of peak and 10%
    assert lr(1000) == pytest.approx(0.1 * PEAK)
    assert lr(5000) == pytest.approx(0.1 * PEAK)


def test_lr_warmup_increasing_and_decay_monotone():
    values = [lr(s) for s in range(1100)]
    assert all(a < b for a, b in zip(values[:99], values[1:100], strict=True))
    assert all(a >= b for a, b in zip(values[100:], values[101:], strict=False))


def test_lr_no_warmup_and_bad_arguments():
    assert lr_at(0, peak_lr=1.0, warmup_steps=0, total_steps=10) == 1.0
    with pytest.raises(ValueError):
        lr_at(0, peak_lr=1.0, warmup_steps=20, total_steps=10)


def test_scaled_warmup():
    assert scaled_warmup(250_000) == 2000  # the paper's run
    assert scaled_warmup(1_000_000) == 2000  # never above the paper's
    assert scaled_warmup(25_000) == 200  # proportional
    assert scaled_warmup(300) == 10  # floor for short runs
    assert scaled_warmup(5) == 5  # never longer than the run
    with pytest.raises(ValueError):
        scaled_warmup(0)


def test_clip_grad_norm_returns_pre_clip_norm():
    model = Transformer(SMALL)
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.5)
    n = sum(p.numel() for p in model.parameters())
    norm = clip_grad_norm(model, max_norm=1.0)
    assert isinstance(norm, float) and norm == pytest.approx(0.5 * math.sqrt(n), rel=1e-5)
    after = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())).item()
    assert after == pytest.approx(1.0, rel=1e-4)
