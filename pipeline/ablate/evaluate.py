"""Validation loss and bits per byte of a trained run on an evaluation set, per source and overall.

A document is scored as the trainer saw documents: EOS (the end of the previous document) and then
its SentencePiece ids, each id predicted from those before it. A document longer than the context
is cut into consecutive windows of seq_len predicted tokens, each window starting afresh from the
seq_len tokens before its first target (non-overlapping windows: every token is scored exactly
once). The EOS after the document is not scored, so the numbers are about the text alone:

  loss (nats per token) = sum of the tokens' negative log-likelihoods / number of tokens
  bits per byte          = sum of the negative log-likelihoods / ln 2 / UTF-8 bytes of the texts

Bits per byte compares across tokenizers; loss only under one (an ablation has one). "all" pools
every document of the set (sums over sources, not a mean of their ratios).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.shards import read_shard
from train.sampler import EOS_ID  # the trainer's document separator

ALL = "all"


def read_eval_set(folder: str) -> dict[str, list[str]]:
    """<folder>/<source>.arrow -> source: texts, in file order (sources sorted)."""
    sets = {}
    for path in sorted(Path(folder).glob("*.arrow")):
        texts = read_shard(str(path), columns=["text"]).column("text").to_pylist()
        if texts:
            sets[path.stem] = texts
    return sets


def windows(ids: list[int], seq_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs, targets) pairs covering every id of one document once, after a leading EOS."""
    seq = np.asarray([EOS_ID, *ids], dtype=np.int64)
    return [(seq[start:start + seq_len], seq[start + 1:start + seq_len + 1])
            for start in range(0, len(ids), seq_len)]


def _batches(items: list[tuple[int, np.ndarray, np.ndarray]], size: int):
    """Batches of `size` windows, right-padded; padded targets are -100 (causal attention: padding
    after a position never changes what that position sees)."""
    import torch

    for i in range(0, len(items), size):
        chunk = items[i:i + size]
        width = max(len(x) for _, x, _ in chunk)
        inputs = torch.zeros((len(chunk), width), dtype=torch.long)
        targets = torch.full((len(chunk), width), -100, dtype=torch.long)
        for row, (_, x, y) in enumerate(chunk):
            inputs[row, :len(x)] = torch.from_numpy(x)
            targets[row, :len(y)] = torch.from_numpy(y)
        yield [owner for owner, _, _ in chunk], inputs, targets


def score(model: Any, sp: Any, texts: dict[str, list[str]], seq_len: int, batch: int, device: Any,
          amp: Any = None) -> dict[str, dict[str, float]]:
    """Per source (and ALL): documents, bytes, tokens, nll (nats), loss, bpb."""
    import contextlib

    import torch
    import torch.nn.functional as F

    names = sorted(texts)
    items, out = [], {}
    for k, name in enumerate(names):
        ids = sp.encode(texts[name], out_type=int)
        out[name] = {"documents": len(texts[name]), "bytes": sum(len(t.encode()) for t in texts[name]),
                     "tokens": sum(map(len, ids)), "nll": 0.0}
        items += [(k, x, y) for doc in ids for x, y in windows(doc, seq_len)]
    autocast = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
    with torch.no_grad(), autocast:
        for owners, inputs, targets in _batches(items, batch):
            logits, _ = model(inputs.to(device))
            nll = F.cross_entropy(logits.float().flatten(0, 1), targets.to(device).flatten(), ignore_index=-100,
                                  reduction="none").view(targets.shape).double().sum(dim=1).cpu().tolist()
            for k, value in zip(owners, nll, strict=True):
                out[names[k]]["nll"] += value
    out[ALL] = {key: sum(out[n][key] for n in names) for key in ("documents", "bytes", "tokens", "nll")}
    for row in out.values():
        row["loss"] = row["nll"] / row["tokens"] if row["tokens"] else None
        row["bpb"] = row["nll"] / math.log(2) / row["bytes"] if row["bytes"] else None
    return out


def evaluate_run(run_dir: str, eval_sets: dict[str, dict[str, list[str]]], batch: int) -> dict[str, Any]:
    """A run's final checkpoint on every evaluation set: {set: {source or ALL: numbers}}."""
    import sentencepiece as spm
    import torch

    from train.generate import load_model, tokenizer_path

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, checkpoint = load_model(run_dir, str(device))
    sp = spm.SentencePieceProcessor(model_file=tokenizer_path(checkpoint))
    amp = torch.bfloat16 if device.type == "cuda" else None  # as the trainer's dtype: auto
    seq_len = model.cfg.max_seq_len
    return {"checkpoint": os.path.relpath(checkpoint, run_dir),
            "sets": {name: score(model, sp, texts, seq_len, batch, device, amp) for name, texts in eval_sets.items()}}
