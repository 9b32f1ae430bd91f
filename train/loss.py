"""The output layer and cross-entropy fused over chunks of tokens: the loss without the full logits.

At vocabulary 32,000 the logits of a 16 x 256 batch are 4096 x 32000 floats, 524 MB in float32.
Unfused, the output matmul writes them, the log-softmax reads them and writes as much again, its
backward writes their gradient, and two matmuls read that: on 2 CPU threads the tiny preset spent a
third of its step there (BENCHMARKS.md, Pretrain). Here each chunk of tokens computes its logits,
its loss and, in the same forward pass, the gradient of the mean loss w.r.t. those logits,
(softmax - onehot) / n, which goes at once into the chunk's rows of grad_h and into grad_W. Only a
chunk's logits ever exist, small enough to stay in cache; the backward pass scales the two saved
gradients by grad_output. This is Liger-Kernel's fused linear cross-entropy (Hsu et al. 2024, "Liger
Kernel: Efficient Triton Kernels for LLM Training") in plain torch ops, so it runs on any device and
under torch.compile.

Numerics follow the unfused `F.cross_entropy(F.linear(h, W).float(), y)`: logits in the matmul's
dtype (bf16 under autocast), upcast to float32 for the softmax; grad_W is accumulated in float32.
"""
from __future__ import annotations

import torch

from train.ops import onednn_linear, use_onednn

IGNORE_INDEX = -100  # F.cross_entropy's default; the trainer's targets never hold it today


def chunk_tokens(num_tokens: int, vocab_size: int, device: torch.device) -> int:
    """Tokens per chunk. CPU: about 24 MB of float32 logits (192 tokens at vocab 32k; the softmax's
    passes then run from the 32 MB L3 while the matmuls stay efficient; 128-256 measured alike on 2
    threads). GPU: 512 MB (4,096 tokens, 8 chunks for the 1b preset's 16 x 2048): under bf16 each
    chunk adds its grad_W into the float32 sum, about 10 x V x C bytes of traffic (0.7 GB at 1b), so
    Liger's 16 chunks of 1,024 tokens would move ~10 GB a step for it, an estimate of a few ms on an
    H200, where the memory for bigger chunks is there.
    """
    budget = (24 if device.type == "cpu" else 512) * 1024 * 1024
    return max(1, min(num_tokens, budget // (4 * vocab_size)))


def _compute_dtype(h: torch.Tensor, weight: torch.Tensor) -> torch.dtype:
    """The dtype F.linear would run in here: autocast's when it is on, else the weight's."""
    kind = h.device.type
    if torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return weight.dtype


def _chunk_logits(h: torch.Tensor, weight: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """h @ weight^T of one chunk, (c, C) @ (C, V), in float32 (in `out` unless oneDNN makes it)."""
    if use_onednn(h):
        return onednn_linear(h, weight)
    if h.dtype == torch.float32:
        return torch.mm(h, weight.t(), out=out)
    return out.copy_(torch.mm(h, weight.t()))  # bf16 logits, upcast for the softmax as unfused does


def _chunk_nll(z: torch.Tensor, p: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """-log softmax(z)[target], (c, 1), from a chunk's logits z and their softmax p, both (c, V)."""
    if z.device.type == "cpu" and not torch.compiler.is_compiling():
        # -log p itself, with no pass over the chunk, except where p underflows (a loss above 69 nats):
        # there log-sum-exp - z. A branch on the data, free on the CPU, so eager CPU only.
        nll = p.gather(1, index).log().neg_()
        low = (nll > 69.0).squeeze(1)
        if low.any():
            nll[low] = torch.logsumexp(z[low], 1, keepdim=True) - z[low].gather(1, index[low])
        return nll
    # p at the max is 1 / sum(exp(z - top)) >= 1/V, so log-sum-exp = top - log(max p), exactly.
    return z.amax(1, keepdim=True) - p.amax(1, keepdim=True).log() - z.gather(1, index)


class _FusedLinearCrossEntropy(torch.autograd.Function):
    """Loss, grad_h and grad_W in one pass over chunks of tokens (see the module docstring).

    Per chunk, the passes over its (c, V) logits are the softmax's and the matmuls' reads: the loss
    needs no log-softmax pass (_chunk_nll), and the 1/num_valid scale goes on the small (c, C) operands.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, ignore_index: int,
                chunk: int) -> torch.Tensor:
        n, vocab = h.shape[0], weight.shape[0]  # h (N, C), weight (V, C), targets (N,)
        valid = targets != ignore_index
        num_valid = valid.sum()
        index = torch.where(valid, targets, 0).unsqueeze(1)  # (N, 1): any class for ignored rows
        # d loss / d logit_j = (p_j - [j == y]) / num_valid on valid rows, 0 on ignored ones.
        scale = (valid.float() / num_valid.clamp(min=1)).unsqueeze(1)  # (N, 1)
        minus_one = -valid.float().unsqueeze(1)  # (N, 1)
        nll = torch.empty(n, 1, device=h.device)
        grad_h = torch.empty_like(h)
        grad_w = torch.zeros(vocab, h.shape[1], device=h.device, dtype=torch.float32)
        logits = torch.empty(min(chunk, n), vocab, device=h.device)
        probs = torch.empty_like(logits)  # softmax, then the logits' gradient (unscaled)
        weight_t = weight.t().contiguous() if use_onednn(h) else None  # (C, V): grad_h = g @ W as a linear
        for start in range(0, n, chunk):
            rows = slice(start, min(start + chunk, n))
            hc, g = h[rows], probs[:rows.stop - start]
            z = _chunk_logits(hc, weight, logits[:rows.stop - start])  # (c, V)
            torch._softmax(z, 1, False, out=g)
            nll[rows] = _chunk_nll(z, g, index[rows])
            g.scatter_add_(1, index[rows], minus_one[rows])  # softmax - onehot, (c, V)
            s = scale[rows]
            if weight_t is not None:
                torch.mul(onednn_linear(g, weight_t), s, out=grad_h[rows])
                grad_w.addmm_(g.t(), hc * s)  # (V, c) @ (c, C); MKL's is the faster one here
            elif h.dtype == torch.float32:
                torch.mm(g, weight, out=grad_h[rows]).mul_(s)  # (c, V) @ (V, C)
                grad_w.addmm_(g.t(), hc * s)
            else:
                gc = (g * s).to(h.dtype)
                torch.mm(gc, weight, out=grad_h[rows])
                grad_w += torch.mm(gc.t(), hc)
        ctx.save_for_backward(grad_h, grad_w)
        ctx.weight_dtype = weight.dtype
        return (nll.squeeze(1) * valid).sum() / num_valid

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        grad_h, grad_w = ctx.saved_tensors
        # In place, as Liger does: no second (V, C) buffer. A retained graph's second backward then
        # fails autograd's version check on the saved tensors rather than give wrong gradients.
        grad_h.mul_(grad_output.to(grad_h.dtype))
        return grad_h, grad_w.mul_(grad_output).to(ctx.weight_dtype), None, None, None


@torch.no_grad()
def _loss_only(h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, ignore_index: int,
               chunk: int) -> torch.Tensor:
    """The forward pass alone (eval): no gradient buffers."""
    n, vocab = h.shape[0], weight.shape[0]
    valid = targets != ignore_index
    index = torch.where(valid, targets, 0).unsqueeze(1)
    logits = torch.empty(min(chunk, n), vocab, device=h.device)
    logprobs = torch.empty_like(logits)
    total = torch.zeros((), device=h.device)
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        z = _chunk_logits(h[rows], weight, logits[:rows.stop - start])
        g = torch._log_softmax(z, 1, False, out=logprobs[:rows.stop - start])
        total -= (g.gather(1, index[rows]).squeeze(1) * valid[rows]).sum()
    return total / valid.sum()


def linear_cross_entropy(h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                         ignore_index: int = IGNORE_INDEX, chunk: int | None = None) -> torch.Tensor:
    """Mean cross-entropy over targets != ignore_index of the logits h @ weight^T, without them.

    Equal to `F.cross_entropy(F.linear(h, weight).float().flatten(0, -2), targets.flatten(),
    ignore_index=ignore_index)` in value and gradients (h, weight); h (..., C), weight (V, C),
    targets (...). chunk: tokens per chunk (default chunk_tokens). Under autocast the matmuls run
    in autocast's dtype, as F.linear's would. All targets ignored gives NaN, as F.cross_entropy does.
    """
    h2 = h.reshape(-1, h.shape[-1])  # (N, C)
    y = targets.reshape(-1)  # (N,)
    if h2.shape[0] != y.shape[0]:
        raise ValueError(f"{h2.shape[0]} hidden states but {y.shape[0]} targets; they must pair up")
    dtype = _compute_dtype(h2, weight)
    h2, w = h2.to(dtype), weight.to(dtype)  # differentiable casts: gradients come back in each input's dtype
    chunk = chunk or chunk_tokens(h2.shape[0], w.shape[0], h2.device)
    with torch.autocast(h2.device.type, enabled=False):  # the dtypes are set; in-place ops must keep them
        if torch.is_grad_enabled() and (h2.requires_grad or w.requires_grad):
            return _FusedLinearCrossEntropy.apply(h2, w, y, ignore_index, chunk)
        return _loss_only(h2, w, y, ignore_index, chunk)
