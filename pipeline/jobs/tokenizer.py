"""Training the tokenizer (`make tokenize`, first half): SentencePiece BPE as LLaMA section 2 has it.

"We tokenize the data with the byte-pair encoding (BPE) algorithm, using the implementation from
SentencePiece. Notably, we split all numbers into individual digits, and fallback to bytes to
decompose unknown UTF-8 characters." Settings follow LLaMA's released tokenizer.model: identity
normalization and no whitespace collapsing (so decode(encode(text)) == text), a dummy prefix
space, whitespace-only pieces allowed, fixed special ids (config: unk 0, bos 1, eos 2, pad 3).

The training text is drawn from the corpus shards in the mixture's proportions, deterministically:
within a source, documents are taken in the order of a stable hash of their id until the source's
share of `tokenizer.sample_chars` is reached. The shards are streamed batch by batch (sample_texts),
so memory is bounded by the sample, never by the corpus.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import sentencepiece as spm
import xxhash

from pipeline.core.config import TokenizerConfig
from pipeline.core.shards import read_shard_batches, write_text_atomic
from pipeline.sources.registry import CorpusConfig

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
    """Documents in stable-hash order of their ids until `budget` characters (deterministic).

    The order is xxh64(id), then shard, then row; a document is taken while fewer than `budget`
    characters were taken before it, so the last one may cross the budget. Which documents are
    taken depends on the ids and texts alone, not on how they are spread over shards. Streamed: a
    first pass over the shards, batch by batch, keeps only the hash-smallest documents that can
    still be in the sample (three numbers each); a second pass copies their texts to a temporary
    file, read back in hash order. Memory: one record batch plus the sample's keys."""
    shard_ix, rows = _sample_rows(shards, budget)
    with tempfile.TemporaryFile() as spool:
        where: dict[tuple[int, int], tuple[int, int]] = {}
        for shard_index, path in enumerate(shards):
            wanted = np.sort(rows[shard_ix == shard_index])
            if len(wanted):
                where.update(((shard_index, row), span) for row, span in _spool_rows(path, wanted, spool))
        for key in zip(shard_ix.tolist(), rows.tolist(), strict=True):
            offset, size = where[key]
            spool.seek(offset)
            yield spool.read(size).decode("utf-8")


def _sample_rows(shards: list[str], budget: int) -> tuple[np.ndarray, np.ndarray]:
    """(shard index, row) of each sampled document, in sample order."""
    prefix = _HashPrefix(budget)
    for shard_index, path in enumerate(shards):
        start = 0
        for batch in read_shard_batches(path, ["id", "text"]):
            ids = batch.column("id").to_pylist()
            keys = np.fromiter((xxhash.xxh64_intdigest(i.encode("utf-8")) for i in ids), np.uint64, len(ids))
            take = prefix.candidates(keys)
            if len(take):
                lengths = pc.utf8_length(batch.column("text")).to_numpy(zero_copy_only=False)[take]
                prefix.add(keys[take], lengths, shard_index, start + take)
            start += len(ids)
    return prefix.result()


class _HashPrefix:
    """The documents in (hash, shard, row) order while fewer than `budget` characters come before
    them, as numbers only. Candidates wait in a buffer and are merged in bulk, so a long stream
    costs a sort per MERGE_MIN candidates at most, not one per record batch."""

    MERGE_MIN = 1 << 16

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._kept = [np.empty(0, np.uint64)] + [np.empty(0, np.int64)] * 3  # key, chars, shard, row
        self._pending: list[list[np.ndarray]] = []
        self._num_pending = 0
        self._full = budget <= 0  # nothing more can enter below the largest kept hash (none: nothing)

    def candidates(self, keys: np.ndarray) -> np.ndarray:
        """Positions of the `keys` that may still enter (the buffer is checked again at merge)."""
        if not self._full:
            return np.arange(len(keys))
        return np.flatnonzero(keys < self._kept[0][-1]) if len(self._kept[0]) else np.empty(0, np.int64)

    def add(self, keys: np.ndarray, chars: np.ndarray, shard: int, rows: np.ndarray) -> None:
        self._pending.append([keys, chars.astype(np.int64), np.full(len(keys), shard, np.int64), rows.astype(np.int64)])
        self._num_pending += len(keys)
        if self._num_pending >= max(self.MERGE_MIN, len(self._kept[0])):
            self._merge()

    def _merge(self) -> None:
        key, chars, shard, row = (np.concatenate([kept, *(p[i] for p in self._pending)])
                                  for i, kept in enumerate(self._kept))
        order = np.lexsort((row, shard, key))
        chars_before = np.cumsum(chars[order]) - chars[order]
        keep = order[chars_before < self._budget]  # a prefix of the order
        self._kept = [key[keep], chars[keep], shard[keep], row[keep]]
        self._pending, self._num_pending = [], 0
        self._full = int(self._kept[1].sum()) >= self._budget

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(shard index, row) of the sample, in its order."""
        if self._pending:
            self._merge()
        return self._kept[2], self._kept[3]


def _spool_rows(path: str, rows: np.ndarray, spool: Any) -> Iterator[tuple[int, tuple[int, int]]]:
    """Append the texts of `rows` (sorted) of one shard to `spool`: (row, (offset, size)) each."""
    start = 0
    for batch in read_shard_batches(path, ["text"]):
        local = rows[(rows >= start) & (rows < start + batch.num_rows)] - start
        for row, text in zip(local.tolist(), batch.column("text").take(local).to_pylist(), strict=True):
            data, offset = text.encode("utf-8"), spool.tell()
            spool.write(data)
            yield start + row, (offset, len(data))
        start += batch.num_rows


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


def train_tokenizer(corpus_dir: str | Sequence[str], cfg: CorpusConfig) -> dict[str, Any]:
    """Train on the mixture sample; write tokenizer.model and card.json under tokenizer.dir.

    Several corpora (`corral ablate`: one tokenizer for every variant, so their losses compare):
    each source's share of the budget is split equally among the corpora that hold the source."""
    corpora = [corpus_dir] if isinstance(corpus_dir, str) else list(corpus_dir)
    shards = [corpus_shards(c) for c in corpora]
    sources = sorted({s for found in shards for s in found})
    if not sources:
        raise ValueError(f"{', '.join(corpora)} has no kept documents to train a tokenizer on")
    budgets = source_budgets(sources, cfg)
    parts = {s: [(found[s], budgets[s] // sum(s in f for f in shards)) for found in shards if s in found]
             for s in sources}
    out = Path(cfg.tokenizer.dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        sample = os.path.join(tmp, "sample.txt")
        sampled = _write_sample(sample, parts, budgets, cfg.tokenizer.max_sentence_length)
        # From an iterator into memory: given file names, SentencePiece records them in the model,
        # and the same training would not give the same bytes twice.
        model = io.BytesIO()
        with open(sample, encoding="utf-8") as lines:
            sentences = (line.rstrip("\n") for line in lines)
            spm.SentencePieceTrainer.train(sentence_iterator=sentences, model_writer=model,
                                           **_trainer_options(cfg.tokenizer))
        partial = os.path.join(tmp, MODEL_NAME)
        with open(partial, "wb") as f:
            f.write(model.getvalue())
        os.replace(partial, out / MODEL_NAME)
    card = tokenizer_card(str(out / MODEL_NAME), corpora[0] if len(corpora) == 1 else corpora, cfg, sampled)
    write_text_atomic(str(out / CARD_NAME), json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def _write_sample(path: str, parts: dict[str, list[tuple[list[str], int]]], budgets: dict[str, int],
                  max_len: int) -> dict[str, dict[str, int]]:
    """`parts`: per source, (shards, character budget) of each corpus that holds it."""
    sampled: dict[str, dict[str, int]] = {}
    with open(path, "w", encoding="utf-8") as f:
        for source in sorted(parts):
            docs = chars = 0
            texts = (text for shards, budget in parts[source] for text in sample_texts(shards, budget))
            for text in texts:
                for line in _lines(text, max_len):
                    if line.strip():
                        f.write(line + "\n")
                docs, chars = docs + 1, chars + len(text)
            sampled[source] = {"documents": docs, "chars": chars, "budget_chars": budgets[source]}
    return sampled


def tokenizer_card(model_path: str, corpus_dir: str | list[str], cfg: CorpusConfig,
                   sampled: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Inputs, sizes, settings and vocabulary statistics, next to the model."""
    sp = spm.SentencePieceProcessor(model_file=model_path)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    data = Path(model_path).read_bytes()
    return {
        "model": MODEL_NAME, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
        "corpus": (os.path.abspath(corpus_dir) if isinstance(corpus_dir, str)
                   else [os.path.abspath(c) for c in corpus_dir]),
        "sample": sampled,
        "settings": _trainer_options(cfg.tokenizer),
        "vocabulary": {
            "size": sp.get_piece_size(), "requested": cfg.tokenizer.vocab_size,
            "byte_pieces": sum(sp.is_byte(i) for i in range(sp.get_piece_size())),
            "digit_pieces": sorted(p for p in pieces if p.strip("\u2581").isdigit()),
            "mean_piece_chars": round(sum(len(p) for p in pieces) / len(pieces), 3),
        },
        "special_ids": {"unk": sp.unk_id(), "bos": sp.bos_id(), "eos": sp.eos_id(), "pad": sp.pad_id()},
    }
