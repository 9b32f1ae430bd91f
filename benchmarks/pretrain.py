"""Training-step benchmark: the trainer's own optimizer step against this machine's matmul rate.

    .venv/bin/python -m benchmarks.pretrain                       # CPU: tiny and 35m, float32, 2 threads
    .venv/bin/python -m benchmarks.pretrain --compile             # also with torch.compile
    python -m benchmarks.pretrain --device cuda --preset 1b --dtype bf16 --compile   # GPU MFU
    python -m benchmarks.pretrain --device cuda --preset 1b --dtype bf16 --compile --skip-eager --fsdp

First a dense matmul of the same dtype (2048^2 fp32 on CPU, 8192^2 on GPU) gives the rate a
step could reach at best; then train.train.train_step (forward, backward, clipping, AdamW; the
same code `corral pretrain` runs) on random tokens at vocab 32,000. Achieved FLOP/s =
model.flops_per_token(seq_len) (6N + attention, PaLM's count) x tokens/s. The table gives the ratio
to the matmul rate and, on CUDA, MFU against the datasheet peak (--peak, default H100/H200 SXM
dense bf16, 989 TFLOP/s), each beside its target (issue 15): on 2 CPU threads, fp32 eager, tiny
>= 0.65 and 35m >= 0.80 of the matmul rate; on one GPU, 1b bf16 compiled >= 57% MFU.

--fsdp wraps the model as `parallel: fsdp` does (FSDP2 fully_shard per Block and the root, bf16
parameters under --dtype bf16) in a one-process group, so its overhead shows on one device.
--unfused-loss times the model with the full logits and F.cross_entropy instead of train.loss.
--attention picks the attention kernel tried first, as the trainer's `attention` setting does
(auto: cuDNN's on Hopper GPUs and newer, torch's order elsewhere; flash is torch's own first choice).
"""
from __future__ import annotations

import argparse
import os
import socket
import time

import numpy as np
import torch

from train.config import ATTENTION, TrainConfig
from train.metrics import measure_matmul_flops
from train.ops import attention_choice, attention_kernels, keep_freed_memory
from train.parallel import Dist, wrap_model
from train.train import Run, build_model, make_optimizer, train_step

H100_BF16_DENSE = 989e12
# Shapes per preset: a few thousand tokens per micro-step, so the matmuls are not tiny; 1b's is
# configs/pretrain_1b.yaml's micro-batch.
SHAPES = {"tiny": (16, 256), "35m": (8, 512), "125m": (4, 1024), "1b": (16, 2048)}


# (device, dtype, compiled, preset) -> (what, target): the ratio to the measured matmul on CPU, MFU on CUDA.
TARGETS = {("cpu", "fp32", False, "tiny"): ("ratio", 0.65), ("cpu", "fp32", False, "35m"): ("ratio", 0.80),
           ("cuda", "bf16", True, "1b"): ("mfu", 0.57)}


def _one_process_group(device: torch.device) -> None:
    """A process group of this process alone, which FSDP2 needs even on one device."""
    import torch.distributed as tdist

    if tdist.is_initialized():
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(port))
    tdist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=0, world_size=1)


def _run(preset: str, micro_batch: int, seq_len: int, device: torch.device, amp: torch.dtype | None,
         compile: bool, fsdp: bool = False, fused_loss: bool = True) -> Run:
    cfg = TrainConfig(model=preset, seq_len=seq_len, micro_batch=micro_batch, steps=1000, compile=compile,
                      parallel="fsdp" if fsdp else "none")
    raw = build_model(cfg, 32000, device)
    raw.fused_loss = fused_loss
    dist = Dist("fsdp" if fsdp else "none", 0, 1, 0, device)
    if fsdp:
        _one_process_group(device)
    wrapped = wrap_model(raw, dist, param_dtype=amp if fsdp else None)
    model = torch.compile(wrapped) if compile else wrapped
    return Run(cfg, dist, raw, wrapped, model, make_optimizer(cfg, raw, dist), None, amp, 1, 0, 0.0,
               np.zeros((0, 0)))


def time_steps(run: Run, seconds: float, warmup: int) -> tuple[float, int]:
    """(tokens/s at the median step time, steps timed) of train_step on random tokens, after `warmup` steps.

    The median, not the mean: on a shared machine a neighbour's burst slows a few steps a lot.
    """
    cfg = run.cfg
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 32000, size=(cfg.micro_batch, cfg.seq_len + 1), dtype=np.int64)
    sync = torch.cuda.synchronize if run.dist.device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        train_step(run, rows)
    sync()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 3:
        start = time.perf_counter()
        train_step(run, rows)  # .item() on the loss inside: the step is complete when it returns
        times.append(time.perf_counter() - start)
    return cfg.micro_batch * cfg.seq_len / float(np.median(times)), len(times)


def bench(preset: str, args: argparse.Namespace, device: torch.device, amp: torch.dtype | None, compile: bool) -> dict:
    micro_batch, seq_len = SHAPES.get(preset, (4, 1024))
    micro_batch, seq_len = args.micro_batch or micro_batch, args.seq_len or seq_len
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with attention_kernels(args.attention, device):
        run = _run(preset, micro_batch, seq_len, device, amp, compile, args.fsdp, not args.unfused_loss)
        tokens_per_sec, steps = time_steps(run, args.seconds, warmup=3 if compile else 1)
    achieved = run.raw.flops_per_token(seq_len) * tokens_per_sec
    result = {"preset": preset, "params": run.raw.num_params(), "shape": f"{micro_batch} x {seq_len}",
              "compile": compile, "tokens_per_sec": tokens_per_sec, "achieved": achieved, "steps": steps,
              "target": TARGETS.get((device.type, args.dtype, compile, preset))}
    del run
    if device.type == "cuda":
        result["memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
        torch.cuda.empty_cache()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--preset", action="append", help="model preset(s); default tiny and 35m on CPU, 1b on CUDA")
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the targets are for 2)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (CPU: 25-40 s warm-up each)")
    parser.add_argument("--skip-eager", action="store_true", help="with --compile: time the compiled model only")
    parser.add_argument("--fsdp", action="store_true", help="wrap with FSDP2 (fully_shard) in a one-process group")
    parser.add_argument("--unfused-loss", action="store_true", help="full logits + F.cross_entropy (comparison)")
    parser.add_argument("--attention", default="auto", choices=ATTENTION, help="SDPA kernel (the trainer's setting)")
    parser.add_argument("--micro-batch", type=int, default=0)
    parser.add_argument("--seq-len", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per configuration")
    parser.add_argument("--peak", type=float, default=H100_BF16_DENSE, help="datasheet peak FLOP/s for MFU (CUDA)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
        keep_freed_memory()  # as train.train.setup does on the CPU
    amp = torch.bfloat16 if args.dtype == "bf16" else None
    presets = args.preset or (["tiny", "35m"] if device.type == "cpu" else ["1b"])
    matmul = measure_matmul_flops(device, amp or torch.float32, seconds=3.0)
    where = f"{args.threads} threads" if device.type == "cpu" else torch.cuda.get_device_name()
    print(f"matmul ({args.dtype}, {where}): {matmul / 1e9:,.0f} GFLOP/s\n")
    modes = ((True,) if args.skip_eager else (False, True)) if args.compile else (False,)
    results = [bench(p, args, device, amp, c) for p in presets for c in modes]
    _table(results, matmul, args, device)
    if args.fsdp:
        import torch.distributed as tdist

        tdist.destroy_process_group()


def _table(results: list[dict], matmul: float, args: argparse.Namespace, device: torch.device) -> None:
    cuda = device.type == "cuda"
    wrap = "FSDP2, 1 process" if args.fsdp else "none"
    loss = "F.cross_entropy on full logits" if args.unfused_loss else "train.loss (chunked, fused)"
    attention = attention_choice(args.attention, device) or "torch's order"
    print(f"wrapping: {wrap}; loss: {loss}; attention: {attention}\n")
    head = "| preset | params | batch x seq | compile | tokens/s | achieved GFLOP/s | / matmul |"
    head += " MFU (vs datasheet) | max memory GB |" if cuda else ""
    print(head + " target |")
    print("|" + "---|" * head.count("|"))
    for r in results:
        line = (f"| {r['preset']} | {r['params'] / 1e6:.1f}M | {r['shape']} | {'yes' if r['compile'] else 'no'} | "
                f"{r['tokens_per_sec']:,.0f} | {r['achieved'] / 1e9:,.1f} | {r['achieved'] / matmul:.2f} |")
        if cuda:
            line += f" {r['achieved'] / args.peak:.1%} | {r['memory_gb']:.1f} |"
        print(line + f" {_target(r, matmul, args.peak)} |")


def _target(r: dict, matmul: float, peak: float) -> str:
    if r["target"] is None:
        return ""
    what, goal = r["target"]
    if what == "ratio":
        return f">= {goal:.2f}: {'met' if r['achieved'] / matmul >= goal else 'not met'}"
    return f">= {goal:.0%} MFU (0.85 of matmul): {'met' if r['achieved'] / peak >= goal else 'not met'}"


if __name__ == "__main__":
    main()
