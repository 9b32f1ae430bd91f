"""The trainer's config: one frozen dataclass, YAML presets in configs/pretrain_*.yaml, `--set` overrides.

Loading reuses the corpus job's machinery (pipeline.core.config.load_config with cls=TrainConfig), so an
unknown key or a wrong type is the same one-line ValueError that lists the valid keys.
"""
from __future__ import annotations

import dataclasses

from pipeline.core.config import load_config
from pipeline.sources.registry import MixtureConfig

# LLaMA Table 2 for the paper's sizes; smaller models tolerate (and need) a higher rate.
DEFAULT_PEAK_LR = {
    "tiny": 1e-3, "35m": 8e-4, "125m": 6e-4, "1b": 4e-4,
    "7b": 3e-4, "13b": 3e-4, "33b": 1.5e-4, "65b": 1.5e-4,
}
DTYPES = ("auto", "float32", "bfloat16")
PARALLEL = ("none", "ddp", "fsdp")
ATTENTION = ("auto", "cudnn", "flash", "efficient", "math")  # train.ops.attention_kernels


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    model: str = "tiny"  # a train.model preset: tiny 35m 125m 1b 7b 13b 33b 65b
    seq_len: int = 256
    micro_batch: int = 8  # sequences per forward/backward per rank
    batch_tokens: int = 0  # global batch per optimizer step; 0 = micro_batch * seq_len * world (no accumulation)
    steps: int = 1000
    peak_lr: float = 0.0  # 0 = the preset's (DEFAULT_PEAK_LR)
    warmup: int = 0  # 0 = train.optim.scaled_warmup(steps) (LLaMA: 2,000 of its steps)
    min_lr_ratio: float = 0.1  # cosine down to 10% of peak
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1
    eval_every: int = 100  # 0 = no periodic eval (the final eval still runs when eval_batches > 0)
    eval_batches: int = 4  # micro-batches of held-out windows per eval
    heldout_fraction: float = 0.01  # documents per source kept out of training, by a hash of their index
    checkpoint_every: int = 500  # 0 = only at the end
    keep_checkpoints: int = 3
    dtype: str = "auto"  # auto: bf16 autocast on CUDA, float32 on CPU
    compile: bool = False
    attention: str = "auto"  # SDPA kernel first in line: auto (cuDNN on Hopper and newer, else torch's order)
    activation_checkpointing: bool = False
    parallel: str = "none"  # none | ddp | fsdp (ddp and fsdp under torchrun)
    tokens_dir: str = "out/tokens"
    tokenizer_path: str = "out/tokenizer/tokenizer.model"
    out_dir: str = "out/pretrain"
    mixture: MixtureConfig = MixtureConfig()
    peak_flops: float = 0.0  # per device, for MFU; 0 = measure a matmul at start
    log_every: int = 10  # print a line every N steps (metrics.jsonl gets every step)
    threads: int = 0  # torch CPU threads; 0 = torch's default

    def __post_init__(self) -> None:
        if self.model not in DEFAULT_PEAK_LR:
            raise ValueError(f"model: unknown preset {self.model!r}; presets: {', '.join(DEFAULT_PEAK_LR)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype: {self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.attention not in ATTENTION:
            raise ValueError(f"attention: {self.attention!r} is not one of {', '.join(ATTENTION)}")
        if self.parallel not in PARALLEL:
            raise ValueError(f"parallel: {self.parallel!r} is not one of {', '.join(PARALLEL)}")
        for name in ("seq_len", "micro_batch", "steps", "keep_checkpoints", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise ValueError("heldout_fraction must be in [0, 1)")

    @property
    def lr(self) -> float:
        return self.peak_lr or DEFAULT_PEAK_LR[self.model]

    def global_windows(self, world: int) -> int:
        """Sequences per optimizer step, all ranks together."""
        return (self.batch_tokens or self.micro_batch * self.seq_len * world) // self.seq_len

    def grad_accum(self, world: int) -> int:
        """Micro-steps per optimizer step on each rank; a ValueError when the batch does not divide."""
        per_micro = self.micro_batch * self.seq_len * world
        tokens = self.batch_tokens or per_micro
        if tokens % per_micro:
            raise ValueError(
                f"batch_tokens={tokens} is not a multiple of micro_batch * seq_len * world = "
                f"{self.micro_batch} * {self.seq_len} * {world} = {per_micro}; change batch_tokens or micro_batch"
            )
        return tokens // per_micro


def load_train_config(preset: str = "pretrain_sample", overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """configs/<preset>.yaml (or a YAML path), then each `a.b=value` override."""
    return load_config(preset, overrides, cls=TrainConfig)
