"""The matmul kernel for float32 on CPU: oneDNN's, where torch.mm and F.linear call MKL's sgemm.

On this machine's CPU oneDNN ran the trainer's shapes 10-20% faster than MKL when the weight is the
second operand of x @ W^T (forward) and dy @ W (the input's gradient), and up to 1.4x faster for
the output layer's chunks of 128-192 tokens; MKL stays ahead for dy^T @ x (the weight's gradient),
so that one keeps torch.mm. `linear` is F.linear everywhere else: CUDA, bf16, autocast.
keep_freed_memory() stops glibc's malloc from handing freed blocks back to the kernel, and
attention_kernels() picks the scaled-dot-product-attention kernel that runs first.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

_ONEDNN_LINEAR = getattr(torch.ops.mkldnn, "_linear_pointwise", None) if torch.backends.mkldnn.is_available() else None


def use_onednn(x: torch.Tensor) -> bool:
    """True where onednn_linear applies: float32 on CPU, autocast off."""
    return (_ONEDNN_LINEAR is not None and x.device.type == "cpu" and x.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu"))


@torch.library.custom_op("corral::onednn_linear", mutates_args=())
def onednn_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x @ weight^T for a 2-D x (M, K) and weight (N, K), by oneDNN; no autograd. A custom op, so
    torch.compile calls it as it is (inductor lowers oneDNN's own op for frozen weights only)."""
    return _ONEDNN_LINEAR(x, weight, None, "none", [], "")


@onednn_linear.register_fake
def _(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return x.new_empty(x.shape[0], weight.shape[0])


class _Linear(torch.autograd.Function):
    """x @ W^T with both oneDNN products; the weight's gradient by torch.mm (MKL)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        x2 = x.reshape(-1, x.shape[-1])  # (M, K)
        ctx.save_for_backward(x2, weight)
        return onednn_linear(x2, weight).view(*x.shape[:-1], weight.shape[0])  # (..., N)

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor):
        x2, weight = ctx.saved_tensors
        gy = grad_y.reshape(-1, weight.shape[0])  # (M, N)
        grad_x = onednn_linear(gy, weight.t().contiguous()).view(*grad_y.shape[:-1], weight.shape[1])
        return grad_x, torch.mm(gy.t(), x2)  # (N, M) @ (M, K)


def linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """F.linear(x, weight) without bias, by oneDNN where use_onednn says so."""
    if use_onednn(x) and weight.dtype == torch.float32:
        return _Linear.apply(x, weight)
    return F.linear(x, weight)


class Linear(nn.Linear):
    """nn.Linear without bias whose matmuls go through `linear` (same parameters and state dict)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight)


def keep_freed_memory() -> None:
    """Have glibc's malloc keep freed memory for the next step instead of returning it to the kernel.

    A training step frees and allocates the same blocks every step (activations, a chunk's logits,
    gradients). By default glibc serves blocks above its moving mmap threshold from fresh mmap'd
    pages and trims its heap after large frees, so each step faults those pages in and zeroes them
    again: here 78,000 page faults (0.14 s of kernel time) per tiny step and 150,000 (0.45 s) per
    35m step; with a fixed 32 MB threshold (the most glibc allows) and no trimming, 500 and 10,000.
    Process-wide, so the trainer calls it on the CPU only; without glibc (musl, macOS) it does nothing.
    """
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 2**30)


_CPU_ATTENTION = ("flash", "math")  # the CPU's SDPA kernels


def attention_choice(name: str, device: torch.device) -> str | None:
    """The SDPA kernel `attention: name` asks for on `device`; None leaves torch's choice.

    auto: cuDNN's fused attention first on Hopper and newer GPUs (compute capability 9.0+), whose
    kernels use the tensor-memory accelerator and warp-group MMA that FlashAttention-2 (torch's first
    choice) does not; elsewhere torch's own order. A kernel the device does not have is a ValueError.
    """
    if name == "auto":
        if device.type == "cuda" and torch.cuda.get_device_capability(device) >= (9, 0):
            return "cudnn"
        return None
    if device.type == "cpu" and name not in _CPU_ATTENTION:
        raise ValueError(f"attention: {name!r} runs on CUDA only; the CPU has {' and '.join(_CPU_ATTENTION)} (or auto)")
    return name


@contextlib.contextmanager
def attention_kernels(name: str, device: torch.device) -> Iterator[str | None]:
    """Within the block F.scaled_dot_product_attention runs the kernel `attention: name` picks.

    auto on Hopper: cuDNN's first, then torch's order (flash, memory-efficient, math), so a call
    cuDNN cannot take falls through. A named kernel is the only one enabled: a call it cannot take
    is torch's "no available kernel" error naming why, never a silent fallback. A torch.compile'd
    model keeps the kernel in force when it first compiles. Yields the choice (None: torch's own).
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel

    chosen = attention_choice(name, device)
    if chosen is None:
        yield None
        return
    kernels = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
               "math": SDPBackend.MATH, "cudnn": SDPBackend.CUDNN_ATTENTION}
    if name == "auto":
        order = [kernels[k] for k in ("cudnn", "flash", "efficient", "math")]
        context = sdpa_kernel(order, set_priority=True)
    else:
        context = sdpa_kernel([kernels[chosen]])
    with context:
        yield chosen
