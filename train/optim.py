"""LLaMA's optimizer recipe (Touvron et al. 2023, section 2.3).

AdamW with beta1 = 0.9, beta2 = 0.95, weight decay 0.1, gradient clipping at 1.0, 2,000 warmup
steps and a cosine schedule down to 10% of the peak learning rate (peak per size in Table 2).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

# LLaMA-7B/13B: 1.0T tokens at 4M tokens per step, about 250k steps, of which 2,000 warm up.
PAPER_WARMUP_STEPS = 2000
PAPER_TOTAL_STEPS = 250_000


def configure_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-8,
    fused: bool | None = None,
) -> torch.optim.AdamW:
    """AdamW with two groups: decay every parameter with >= 2 dims (Linear weights and the
    embeddings, as nanoGPT/Megatron do), no decay on the 1-D ones (RMSNorm weights; biases if any).

    fused=None picks the fused CUDA kernel when every parameter is on a CUDA device.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    if fused is None:
        fused = bool(params) and all(p.device.type == "cuda" for p in params)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=fused or None)


def lr_at(step: int, *, peak_lr: float, warmup_steps: int, total_steps: int, min_ratio: float = 0.1) -> float:
    """Learning rate for optimizer step `step` (0-based): linear warmup, cosine to min_ratio * peak.

    Corner values:
      step < warmup_steps:           peak * (step + 1) / warmup_steps, so step 0 already trains
                                     (peak / warmup_steps) and step warmup_steps - 1 reaches peak;
      step == warmup_steps:          peak (cosine at phase 0);
      warmup_steps < step < total:   peak -> min_ratio * peak along half a cosine, non-increasing;
      step >= total_steps:           min_ratio * peak, constant (a run extended past its plan
                                     keeps training at the floor, as LLaMA's schedule ends).
    """
    if warmup_steps < 0 or total_steps < warmup_steps:
        raise ValueError(f"need 0 <= warmup_steps <= total_steps, got warmup_steps={warmup_steps}, "
                         f"total_steps={total_steps}")
    min_lr = min_ratio * peak_lr
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)  # in [0, 1)
    return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def scaled_warmup(
    total_steps: int,
    paper_warmup: int = PAPER_WARMUP_STEPS,
    paper_total: int = PAPER_TOTAL_STEPS,
    min_warmup: int = 10,
) -> int:
    """Warmup steps for a run of total_steps: the paper's fraction (2,000 of ~250k steps, 0.8%).

    Rule: round(total_steps * paper_warmup / paper_total), at least min_warmup (Adam's second
    moment needs a few steps before full-size updates), at most paper_warmup, and never more than
    total_steps. A full-length run gets exactly the paper's 2,000.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    warmup = round(total_steps * paper_warmup / paper_total)
    return min(paper_warmup, total_steps, max(min_warmup, warmup))


def clip_grad_norm(model: nn.Module | Iterable[torch.Tensor], max_norm: float = 1.0) -> float:
    """Clip the global gradient norm to max_norm (LLaMA: 1.0); returns the norm before clipping."""
    params = model.parameters() if isinstance(model, nn.Module) else model
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    if hasattr(norm, "full_tensor"):  # a DTensor under FSDP2: already reduced, just materialize it
        norm = norm.full_tensor()
    return float(norm)
