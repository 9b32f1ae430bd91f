"""Process groups and model wrapping: DDP and FSDP2 live here, never in model.py.

`parallel: ddp|fsdp` expects torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR):
    torchrun --nproc_per_node 8 -m train.train pretrain --config pretrain_1b --set parallel=fsdp
gloo on CPU, nccl on CUDA. FSDP2 (`fully_shard`) shards each Block, then the root, so a Block's
parameters are gathered just before it runs and freed after.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch import nn


@dataclass(frozen=True)
class Dist:
    mode: str  # none | ddp | fsdp
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(mode: str) -> Dist:
    """Join torchrun's process group (ddp, fsdp) or run alone (none); picks this rank's device."""
    cuda = torch.cuda.is_available()
    if mode == "none":
        return Dist("none", 0, 1, 0, torch.device("cuda" if cuda else "cpu"))
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise ValueError(f"parallel={mode} needs torchrun's environment: run "
                         f"`torchrun --nproc_per_node N -m train.train pretrain ...`, or set parallel=none")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local_rank)
    if not tdist.is_initialized():
        tdist.init_process_group(backend="nccl" if cuda else "gloo")
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    return Dist(mode, tdist.get_rank(), tdist.get_world_size(), local_rank, device)


def shutdown(dist: Dist) -> None:
    if dist.mode != "none" and tdist.is_initialized():
        tdist.destroy_process_group()


def wrap_model(model: nn.Module, dist: Dist, param_dtype: torch.dtype | None = None) -> nn.Module:
    """DDP or FSDP2 around a model already on dist.device; the model itself for mode none.

    For fsdp the returned module is the same object (fully_shard works in place); for ddp it is
    the DDP wrapper, and state dicts are taken from the unwrapped model. param_dtype (bf16) makes
    FSDP gather parameters in bf16 -- half the all-gather traffic -- and reduce gradients in fp32.
    """
    if dist.mode == "ddp":
        ids = [dist.local_rank] if dist.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if dist.mode == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        policy = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32 if param_dtype else None)
        for block in model.layers:
            fully_shard(block, mp_policy=policy)
        fully_shard(model, mp_policy=policy)
    return model


def sync_gradients(model: nn.Module, dist: Dist, last_micro_step: bool):
    """A context for one micro-step's backward: gradients are reduced across ranks only on the last."""
    if dist.mode == "ddp" and not last_micro_step:
        return model.no_sync()
    if dist.mode == "fsdp":
        model.set_requires_gradient_sync(last_micro_step)
    return contextlib.nullcontext()


def all_reduce_sum(values: list[float], dist: Dist) -> list[float]:
    """Sums of per-rank numbers (for losses and counts); float64 so the sum is order-stable enough."""
    if dist.world == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=dist.device)
    tdist.all_reduce(t)
    return t.tolist()


def broadcast_float(value: float, dist: Dist) -> float:
    """Rank 0's value on every rank (so a measured peak is the same everywhere)."""
    if dist.world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=dist.device)
    tdist.broadcast(t, src=0)
    return float(t.item())
