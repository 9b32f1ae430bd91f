"""Training the tokenizer (`make tokenize`, first half): SentencePiece BPE as LLaMA section 2 has it.

"We tokenize the data with the byte-pair encoding (BPE) algorithm, using the implementation from
SentencePiece. Notably, we split all numbers into individual digits, and fallback to bytes to
decompose unknown UTF-8 characters." Settings follow LLaMA's released tokenizer.model: identity
normalization and no whitespace collapsing (so decode(encode(text)) == text), a dummy prefix
space, whitespace-only pieces allowed, fixed special ids (config: unk 0, bos 1, eos 2, pad 3).

The training text is drawn from the corpus shards in the mixture's proportions, deterministically:
within a source, documents are taken in the order of a stable hash of their id until the source's
share of `tokenizer.sample_chars` is reached.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import sentencepiece as spm
import xxhash

from pipeline.config import CorpusConfig, TokenizerConfig
from pipeline.shards import write_text_atomic
from pipeline.verify import read_shard

MODEL_NAME = "tokenizer.model"
CARD_NAME = "card.json"


def corpus_shards(corpus_dir: str) -> dict[str, list[str]]:
    """source -> its kept shard paths, from the corpus run's manifest.json."""
    manifest_path = Path(corpus_dir) / "manifest.json"
    if not manifest_path.is_file():
        raise ValueError(f"{corpus_dir} holds no manifest.json: run `make corpus` first (or give CORPUS=<dir>)")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    shards: dict[str, list[str]] = {}
    for entry in manifest["shards"]:
        if entry["rows"]:
            shards.setdefault(entry["source"], []).append(str(Path(corpus_dir) / entry["path"]))
    return shards


def source_budgets(sources: list[str], cfg: CorpusConfig) -> dict[str, int]:
    """Each present source's share of tokenizer.sample_chars, renormalized over the present sources."""
    weights = {s: cfg.mixture.weights()[s] for s in sources}
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("mixture weights of the sources present sum to 0: set mixture.<source> > 0")
    return {s: int(cfg.tokenizer.sample_chars * w / total) for s, w in weights.items()}


def sample_texts(shards: list[str], budget: int) -> Iterator[str]:
    """Documents in stable-hash order of their ids until `budget` characters (deterministic)."""
    order = []
    for shard_index, path in enumerate(shards):
        ids = read_shard(path).column("id").to_pylist()
        order += [(xxhash.xxh64_intdigest(doc_id.encode("utf-8")), shard_index, row) for row, doc_id in enumerate(ids)]
    order.sort()
    tables: dict[int, pa.Table] = {}
    used = 0
    for _, shard_index, row in order:
        if used >= budget:
            return
        if shard_index not in tables:
            tables[shard_index] = read_shard(shards[shard_index])
        table = tables[shard_index]
        text = table.column("text")[row].as_py()
        used += len(text)
        yield text


def _lines(text: str, max_len: int) -> Iterator[str]:
    for line in text.split("\n"):
        for start in range(0, len(line), max_len):
            yield line[start:start + max_len]


def _trainer_options(cfg: TokenizerConfig) -> dict[str, Any]:
    return dict(
        model_type="bpe", vocab_size=cfg.vocab_size,
        hard_vocab_limit=False,  # a small corpus gets the vocabulary it supports
        split_digits=True, byte_fallback=True, character_coverage=cfg.character_coverage,
        required_chars="0123456789",  # every digit is a piece of its own, even if a sample lacks one
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        allow_whitespace_only_pieces=True, split_by_unicode_script=True, split_by_number=True,
        max_sentence_length=cfg.max_sentence_length, shuffle_input_sentence=False, input_sentence_size=0,
        unk_id=cfg.unk_id, bos_id=cfg.bos_id, eos_id=cfg.eos_id, pad_id=cfg.pad_id,
        unk_surface=" \u2047 ", num_threads=1, minloglevel=2,
    )


def train_tokenizer(corpus_dir: str, cfg: CorpusConfig) -> dict[str, Any]:
    """Train on the mixture sample; write tokenizer.model and card.json under tokenizer.dir."""
    shards = corpus_shards(corpus_dir)
    if not shards:
        raise ValueError(f"{corpus_dir} has no kept documents to train a tokenizer on")
    budgets = source_budgets(sorted(shards), cfg)
    out = Path(cfg.tokenizer.dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        sample = os.path.join(tmp, "sample.txt")
        sampled = _write_sample(sample, shards, budgets, cfg.tokenizer.max_sentence_length)
        # From an iterator into memory: given file names, SentencePiece records them in the model,
        # and the same training would not give the same bytes twice.
        model = io.BytesIO()
        with open(sample, encoding="utf-8") as lines:
            sentences = (line.rstrip("\n") for line in lines)
            spm.SentencePieceTrainer.train(sentence_iterator=sentences, model_writer=model, **_trainer_options(cfg.tokenizer))
        partial = os.path.join(tmp, MODEL_NAME)
        with open(partial, "wb") as f:
            f.write(model.getvalue())
        os.replace(partial, out / MODEL_NAME)
    card = tokenizer_card(str(out / MODEL_NAME), corpus_dir, cfg, sampled)
    write_text_atomic(str(out / CARD_NAME), json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def _write_sample(path: str, shards: dict[str, list[str]], budgets: dict[str, int], max_len: int) -> dict[str, dict[str, int]]:
    sampled: dict[str, dict[str, int]] = {}
    with open(path, "w", encoding="utf-8") as f:
        for source in sorted(shards):
            docs = chars = 0
            for text in sample_texts(shards[source], budgets[source]):
                for line in _lines(text, max_len):
                    if line.strip():
                        f.write(line + "\n")
                docs, chars = docs + 1, chars + len(text)
            sampled[source] = {"documents": docs, "chars": chars, "budget_chars": budgets[source]}
    return sampled


def tokenizer_card(model_path: str, corpus_dir: str, cfg: CorpusConfig, sampled: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Inputs, sizes, settings and vocabulary statistics, next to the model."""
    sp = spm.SentencePieceProcessor(model_file=model_path)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    data = Path(model_path).read_bytes()
    return {
        "model": MODEL_NAME, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
        "corpus": os.path.abspath(corpus_dir), "sample": sampled,
        "settings": _trainer_options(cfg.tokenizer),
        "vocabulary": {
            "size": sp.get_piece_size(), "requested": cfg.tokenizer.vocab_size,
            "byte_pieces": sum(sp.is_byte(i) for i in range(sp.get_piece_size())),
            "digit_pieces": sorted(p for p in pieces if p.strip("\u2581").isdigit()),
            "mean_piece_chars": round(sum(len(p) for p in pieces) / len(pieces), 3),
        },
        "special_ids": {"unk": sp.unk_id(), "bos": sp.bos_id(), "eos": sp.eos_id(), "pad": sp.pad_id()},
    }
