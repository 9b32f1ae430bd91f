"""Sampling from a checkpoint: `corral generate --checkpoint DIR --prompt TEXT`.

Training windows hold no BOS: documents are separated by EOS (id 2). So a prompt is fed as EOS +
its tokens, the context a document's start has in training, and sampling stops at the next EOS.
No KV cache: each new token runs the whole (cropped) context, which is plenty for the small
presets this is meant to inspect.
"""
from __future__ import annotations

import os

import torch

from train.checkpoint import load_model_weights, read_state, resolve_checkpoint
from train.sampler import EOS_ID


def load_model(checkpoint: str, device: str = "cpu"):
    """(Transformer in eval mode, the checkpoint folder) from a checkpoint or a run's out_dir."""
    from train.model import ModelConfig, Transformer

    path = resolve_checkpoint(checkpoint)
    model = Transformer(ModelConfig(**read_state(path)["model_config"]))
    model.load_state_dict(load_model_weights(path))
    return model.to(device).eval(), path


def tokenizer_path(path: str) -> str:
    """The copy saved in the checkpoint, else the run's configured tokenizer."""
    own = os.path.join(path, "tokenizer.model")
    if os.path.isfile(own):
        return own
    configured = read_state(path)["config"]["tokenizer_path"]
    if not os.path.isfile(configured):
        raise ValueError(f"{path} holds no tokenizer.model and {configured} is missing; run `make tokenize`")
    return configured


@torch.no_grad()
def generate(model, ids: list[int], max_new_tokens: int, temperature: float = 0.8, top_k: int = 50,
             generator: torch.Generator | None = None, stop_id: int | None = EOS_ID) -> list[int]:
    """New token ids after `ids`: temperature (0 = greedy) and top-k sampling, until stop_id or the budget."""
    device = next(model.parameters()).device
    tokens = torch.tensor([ids], dtype=torch.long, device=device)
    new: list[int] = []
    for _ in range(max_new_tokens):
        logits, _ = model(tokens[:, -model.cfg.max_seq_len:])
        logits = logits[0, -1]  # (V,)
        if temperature <= 0:
            nxt = int(logits.argmax())
        else:
            logits = logits / temperature
            if top_k:
                kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = int(torch.multinomial(torch.softmax(logits, -1).cpu(), 1, generator=generator))
        if nxt == stop_id:
            break
        new.append(nxt)
        tokens = torch.cat([tokens, torch.tensor([[nxt]], device=device)], dim=1)
    return new


def run_generate(args) -> str:
    import sentencepiece as spm

    model, path = load_model(args.checkpoint)
    sp = spm.SentencePieceProcessor(model_file=tokenizer_path(path))
    prompt = sp.encode(args.prompt) if args.prompt else []
    generator = torch.Generator().manual_seed(args.seed)
    new = generate(model, [EOS_ID] + prompt, args.max_new_tokens, args.temperature, args.top_k, generator)
    text = sp.decode(prompt + new)  # decoded together, so the first new piece keeps its leading space
    print(text)
    return text
