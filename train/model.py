"""The LLaMA architecture (Touvron et al. 2023, section 2.2; sizes from Table 2).

A GPT-style decoder with the paper's three changes: pre-normalization with RMSNorm, the SwiGLU
feed-forward with hidden size 2/3 * 4d, and rotary position embeddings (RoPE) instead of learned
absolute ones. Reads top to bottom: RMSNorm -> RoPE -> Attention -> FeedForward -> Block ->
Transformer. No parallelism in here: FSDP/DDP/compile wrap the model from train/parallel.py.
The Linear layers are train.ops.Linear (nn.Linear without bias, float32 CPU matmuls on oneDNN) and
the training loss is train.loss's chunked output layer + cross-entropy.

RoPE layout: we rotate the pair (x[i], x[i + head_dim/2]) -- Hugging Face Llama's "rotate_half"
layout -- not Meta's interleaved pairs (x[2i], x[2i+1]). Both are the same rotation up to a fixed
permutation of the q/k output rows, so training is unaffected, and in this layout the weights
load into transformers' LlamaForCausalLM without the q/k permutation that HF's conversion script
applies to Meta checkpoints (see `hf_state_dict` at the bottom).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from train.loss import linear_cross_entropy
from train.ops import Linear


@dataclass(frozen=True)
class ModelConfig:
    dim: int
    n_layers: int
    n_heads: int
    vocab_size: int
    multiple_of: int = 256  # SwiGLU hidden size is rounded up to a multiple of this (LLaMA code)
    ffn_dim_multiplier: float | None = None
    # LLaMA-1's released params.json uses 1e-6 (LLaMA-2 moved to 1e-5); 1e-6 is also
    # LlamaConfig's default, so an export needs no override.
    norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_seq_len: int = 2048
    n_kv_heads: int | None = None  # grouped-query attention; None = n_heads (LLaMA-1 is MHA)
    dropout: float = 0.0  # LLaMA used none; kept for small-data experiments

    def __post_init__(self) -> None:
        if self.dim % self.n_heads:
            raise ValueError(f"dim={self.dim} must be divisible by n_heads={self.n_heads}")
        if (self.dim // self.n_heads) % 2:
            raise ValueError(f"head_dim={self.dim // self.n_heads} must be even for RoPE; change dim or n_heads")
        if self.n_heads % self.num_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} must be a multiple of n_kv_heads={self.n_kv_heads}")

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def num_kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def hidden_dim(self) -> int:
        """SwiGLU hidden size: 2/3 of 4d keeps the FFN's parameters equal to a 4d GELU MLP (section 2.2)."""
        hidden = int(2 * 4 * self.dim / 3)
        if self.ffn_dim_multiplier is not None:
            hidden = int(self.ffn_dim_multiplier * hidden)
        return self.multiple_of * ((hidden + self.multiple_of - 1) // self.multiple_of)


# Table 2 (dim / n_heads / n_layers; vocab 32k, sequence 2048), plus small sizes for CPU runs and
# single-GPU MFU checks. Parameter counts at vocab 32,000 (untied embeddings), from count_params:
#   tiny 9.0M (2.9M at vocab 8k)  35m 35.2M  125m 134.1M  1b 953.0M
#   7b 6.738B  13b 13.016B  33b 32.529B  65b 65.286B
PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(dim=128, n_layers=4, n_heads=4, vocab_size=32000, multiple_of=32, max_seq_len=256),
    "35m": ModelConfig(dim=384, n_layers=6, n_heads=6, vocab_size=32000, max_seq_len=512),
    "125m": ModelConfig(dim=768, n_layers=12, n_heads=12, vocab_size=32000),
    "1b": ModelConfig(dim=2048, n_layers=16, n_heads=16, vocab_size=32000),
    "7b": ModelConfig(dim=4096, n_layers=32, n_heads=32, vocab_size=32000),
    "13b": ModelConfig(dim=5120, n_layers=40, n_heads=40, vocab_size=32000),
    "33b": ModelConfig(dim=6656, n_layers=60, n_heads=52, vocab_size=32000),
    "65b": ModelConfig(dim=8192, n_layers=80, n_heads=64, vocab_size=32000),
}


def preset(name: str, vocab_size: int | None = None, max_seq_len: int | None = None) -> ModelConfig:
    """A preset by name; vocab_size usually comes from the tokenizer at run time."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
    cfg = PRESETS[name]
    if vocab_size is not None:
        cfg = replace(cfg, vocab_size=vocab_size)
    if max_seq_len is not None:
        cfg = replace(cfg, max_seq_len=max_seq_len)
    return cfg


def count_params(cfg: ModelConfig, exclude_embedding: bool = False) -> int:
    """Parameters of Transformer(cfg), computed without allocating it.

    exclude_embedding drops only the input table (a gather, no FLOPs); the output projection is a
    real matmul and stays in, which is what the 6N of flops_per_token needs.
    """
    d, kv = cfg.dim, cfg.num_kv_heads * cfg.head_dim
    attention = d * d + 2 * d * kv + d * d  # wq, wk, wv, wo
    feed_forward = 3 * d * cfg.hidden_dim  # w1, w2, w3
    per_layer = attention + feed_forward + 2 * d  # + attention_norm, ffn_norm
    embedding = 0 if exclude_embedding else cfg.vocab_size * d
    return embedding + cfg.n_layers * per_layer + d + cfg.vocab_size * d  # + norm, output


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich 2019), LLaMA's pre-normalization (section 2.2).

    No mean subtraction and no bias. Computed in float32 and cast back, as LLaMA's code does, so a
    bf16 residual stream does not lose precision in the sum of squares.
    """

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()  # (..., C)
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.type_as(x)


def precompute_rope(head_dim: int, max_seq_len: int, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables of RoPE (Su et al. 2021; LLaMA section 2.2), each (max_seq_len, head_dim).

    Real-valued rather than complex so export and torch.compile see plain tensors. Frequency i
    (i < head_dim/2) appears twice, at columns i and i + head_dim/2: the rotate_half layout.
    """
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (hd/2,)
    angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), inv_freq)  # (T, hd/2)
    angles = torch.cat((angles, angles), dim=-1)  # (T, hd)
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x[i], x[i + hd/2]) of x (B, n_heads, T, hd) by position * frequency i."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)  # (T, hd), broadcast over batch and heads
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    """Causal multi-head self-attention with RoPE on q and k, no biases (LLaMA section 2.2).

    n_kv_heads < n_heads gives grouped-query attention: each kv head serves n_heads/n_kv_heads
    consecutive query heads (the same grouping as HF's repeat_kv, so exports stay exact).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.num_kv_heads, cfg.head_dim
        self.wq = Linear(cfg.dim, cfg.n_heads * cfg.head_dim)
        self.wk = Linear(cfg.dim, self.n_kv_heads * cfg.head_dim)
        self.wv = Linear(cfg.dim, self.n_kv_heads * cfg.head_dim)
        self.wo = Linear(cfg.n_heads * cfg.head_dim, cfg.dim)
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape  # (B, T, C)
        q = self.wq(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.wk(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.wv(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if self.n_kv_heads != self.n_heads:
            # Materialized rather than enable_gqa=True so every SDPA backend (flash included) applies.
            k = k.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)  # (B, nh, T, hd)
            v = v.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim)  # (B, T, C)
        return self.resid_dropout(self.wo(y))


class FeedForward(nn.Module):
    """SwiGLU (Shazeer 2020; LLaMA section 2.2): w2(silu(w1 x) * w3 x), no biases."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.w1 = Linear(cfg.dim, cfg.hidden_dim)  # gate
        self.w2 = Linear(cfg.hidden_dim, cfg.dim)  # down
        self.w3 = Linear(cfg.dim, cfg.hidden_dim)  # up
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resid_dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))  # (B, T, C) -> (B, T, H) -> (B, T, C)


class Block(nn.Module):
    """Pre-norm residual block: normalize the input of each sub-layer, not its output (section 2.2)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attention = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.feed_forward = FeedForward(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), cos, sin)  # (B, T, C)
        return x + self.feed_forward(self.ffn_norm(x))


class Transformer(nn.Module):
    """The LLaMA decoder: embeddings, n_layers Blocks, a final RMSNorm and an untied output head.

    Init (the paper does not give one): normal(0, 0.02) for every Linear and Embedding weight, and
    0.02 / sqrt(2 * n_layers) for the projections that write into the residual stream (wo, w2), so
    the stream's variance does not grow with depth (GPT-2 section 2.3, nanoGPT). Norm weights 1.

    Set `activation_checkpointing = True` to recompute each Block in the backward pass (LLaMA
    section 2.4 saved activations selectively; we checkpoint whole Blocks, the simple variant).
    With targets the loss comes from train.loss's chunked output layer + cross-entropy, which never
    holds the full logits; `fused_loss = False` computes them and F.cross_entropy instead (the
    reference, kept for benchmarks' comparisons).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.activation_checkpointing = False
        self.fused_loss = True
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.output = Linear(cfg.dim, cfg.vocab_size)
        # Non-persistent: derived from cfg, so checkpoints and HF exports carry weights only.
        self.register_buffer("rope_cos", torch.empty(cfg.max_seq_len, cfg.head_dim), persistent=False)
        self.register_buffer("rope_sin", torch.empty(cfg.max_seq_len, cfg.head_dim), persistent=False)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """(Re)initialize parameters and RoPE tables in place.

        Also the step after meta-device construction: `to_empty(device=...)` leaves buffers and
        parameters uninitialized, and this fills them on their real device.
        """
        cos, sin = precompute_rope(self.cfg.head_dim, self.cfg.max_seq_len, self.cfg.rope_theta)
        self.rope_cos.copy_(cos)
        self.rope_sin.copy_(sin)
        residual_std = 0.02 / math.sqrt(2 * self.cfg.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                std = residual_std if name.endswith(("attention.wo", "feed_forward.w2")) else 0.02
                nn.init.normal_(module.weight, mean=0.0, std=std)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, RMSNorm):
                nn.init.ones_(module.weight)

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor | None,
                                                                                          torch.Tensor | None]:
        """(logits (B, T, vocab) in float32, None) without targets; (None, the mean cross-entropy over
        targets != -100) with them, the logits never materialized (unless fused_loss is off)."""
        B, T = tokens.shape
        if self.cfg.max_seq_len < T:
            raise ValueError(f"sequence length {T} exceeds max_seq_len={self.cfg.max_seq_len}; raise it in the config")
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]  # (T, hd)
        h = self.tok_embeddings(tokens)  # (B, T, C)
        for layer in self.layers:
            if self.activation_checkpointing and torch.is_grad_enabled():
                h = checkpoint(layer, h, cos, sin, use_reentrant=False)
            else:
                h = layer(h, cos, sin)
        h = self.norm(h)  # (B, T, C)
        if targets is not None and self.fused_loss:
            return None, linear_cross_entropy(h, self.output.weight, targets)
        logits = self.output(h).float()  # (B, T, V); float32 so the softmax is stable under bf16
        if targets is None:
            return logits, None
        return None, F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T), ignore_index=-100)

    def num_params(self, exclude_embedding: bool = False) -> int:
        """Parameters actually allocated; equals count_params(self.cfg, exclude_embedding)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.tok_embeddings.weight.numel() if exclude_embedding else n

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token, PaLM (Chowdhery et al. 2022) appendix B: 6N + 12 * L * H * Q * T.

        N counts every matmul weight: all parameters except the input embedding table (a lookup),
        the output head included; H * Q = dim. The attention term counts the full T x T score
        matrix even though causal kernels skip half of it -- PaLM's convention, so MFU numbers are
        comparable with the 47% LLaMA-65B reached (section 2.4). Computed from the config, so a
        sharded model gives the global figure.
        """
        n = count_params(self.cfg, exclude_embedding=True)
        return 6.0 * n + 12.0 * self.cfg.n_layers * self.cfg.dim * seq_len


# ---------------------------------------------------------------------------------------------
# Export to transformers' LlamaForCausalLM. The RoPE layout above is HF's, so weights copy over by
# name with no permutation; the exporter writes hf_config_dict(cfg) as config.json (through
# LlamaConfig) and hf_state_dict(model) as the weights.
# ---------------------------------------------------------------------------------------------

HF_NAME_MAP: dict[str, str] = {
    "tok_embeddings": "model.embed_tokens",
    "norm": "model.norm",
    "output": "lm_head",
    "layers": "model.layers",
    "attention.wq": "self_attn.q_proj",
    "attention.wk": "self_attn.k_proj",
    "attention.wv": "self_attn.v_proj",
    "attention.wo": "self_attn.o_proj",
    "feed_forward.w1": "mlp.gate_proj",
    "feed_forward.w2": "mlp.down_proj",
    "feed_forward.w3": "mlp.up_proj",
    "attention_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}

# Wrapper prefixes that torch.compile, DDP, FSDP1 and checkpoint_wrapper add to parameter names.
_WRAPPER_PREFIXES = ("_orig_mod.", "module.", "_fsdp_wrapped_module.", "_checkpoint_wrapped_module.")


def hf_name(name: str) -> str:
    """Our parameter name -> LlamaForCausalLM's, e.g. layers.3.attention.wq.weight ->
    model.layers.3.self_attn.q_proj.weight."""
    for prefix in _WRAPPER_PREFIXES:
        name = name.replace(prefix, "")
    module, _, leaf = name.rpartition(".")  # leaf is always "weight"
    if module.startswith("layers."):
        _, index, inner = module.split(".", 2)
        return f"{HF_NAME_MAP['layers']}.{index}.{HF_NAME_MAP[inner]}.{leaf}"
    return f"{HF_NAME_MAP[module]}.{leaf}"


def hf_state_dict(model: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weights under LlamaForCausalLM's names, from a model or a full (unsharded) state dict.

    Sharded models: gather a full state dict first (e.g. torch.distributed.checkpoint's
    get_model_state_dict with full_state_dict=True) and pass that.
    """
    state = model.state_dict() if isinstance(model, nn.Module) else model
    return {hf_name(name): tensor.detach() for name, tensor in state.items()}


def hf_config_dict(cfg: ModelConfig) -> dict:
    """Keyword arguments of transformers.LlamaConfig describing the same model."""
    return {
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.dim,
        "intermediate_size": cfg.hidden_dim,
        "num_hidden_layers": cfg.n_layers,
        "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.num_kv_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": cfg.max_seq_len,
        "rms_norm_eps": cfg.norm_eps,
        "rope_theta": cfg.rope_theta,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "mlp_bias": False,
        "initializer_range": 0.02,
    }
