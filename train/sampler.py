"""The mixture sampler: token shards -> packed training windows, by the Table 1 proportions.

Each window of seq_len + 1 tokens (inputs w[:-1], targets w[1:]) comes from one source, chosen by
a hash of the seed and the window's global index, so the proportions hold in tokens whatever the
document lengths. A source is a stream: its training documents in a per-epoch order, each followed
by EOS; a window takes the next seq_len + 1 tokens and moves the cursor by seq_len, so every token
is a target exactly once per epoch. Epochs per source = tokens consumed / training tokens
available, the "Epochs" column of Table 1.

Nothing here is proportional to the corpus size but the one pass that counts training tokens:
the epoch order is a Feistel permutation of document indices (no array of N indices) and the
held-out split is a hash of the document index (no set of ids). Every rank draws the same global
sequence of windows and materialises only its own slice, so DDP ranks see disjoint data and the
union is the batch one process would see. The whole state is a few integers per source (JSON).
"""
from __future__ import annotations

import bisect
import zlib

import numpy as np

from train.data import ShardView, TokenShards

EOS_ID = 2
_MASK64 = (1 << 64) - 1
_HELDOUT_SALT = 0x5EED_0F_4E1D_0017  # fixed, so the held-out split is the same for every training seed


def mix64(x: int) -> int:
    """splitmix64's finalizer: a well-mixed 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def mix64_array(x: np.ndarray) -> np.ndarray:
    """mix64 over a uint64 array (numpy's uint64 arithmetic wraps like the & _MASK64 above)."""
    x = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def permute(index: int, n: int, key: int) -> int:
    """A keyed bijection of [0, n): a 4-round Feistel network on the next even power of two, cycle-walking."""
    bits = max(2, (n - 1).bit_length())
    bits += bits & 1
    half, mask = bits // 2, (1 << (bits // 2)) - 1
    x = index
    while True:
        left, right = x >> half, x & mask
        for r in range(4):
            left, right = right, left ^ (mix64(key ^ (r << 56) ^ right) & mask)
        x = (left << half) | right
        if x < n:  # the domain is under 4n, so a few walks at most on average
            return x


class _Source:
    """One source's training stream: documents in a per-epoch permutation, each followed by EOS."""

    def __init__(self, name: str, shards: list[ShardView], seed: int, heldout_fraction: float, eos_id: int) -> None:
        self.name, self.shards, self.eos_id = name, shards, eos_id
        self.doc_starts = np.cumsum([0] + [s.num_documents for s in shards])
        self.num_docs = int(self.doc_starts[-1])
        self._source_key = mix64(zlib.crc32(name.encode()))
        self._order_key = mix64(self._source_key ^ mix64(seed))
        self._threshold = int(heldout_fraction * 2.0**64)
        self.train_tokens, self.heldout_docs = self._count()
        self.epoch = self.pos = self.offset = self.consumed = 0

    def _heldout_mask(self, first: int, count: int) -> np.ndarray:
        index = np.arange(first, first + count, dtype=np.uint64)
        return mix64_array(index ^ np.uint64(self._source_key ^ _HELDOUT_SALT)) < np.uint64(min(self._threshold,
                                                                                                _MASK64))

    def is_heldout(self, index: int) -> bool:
        return self._threshold > 0 and mix64(index ^ self._source_key ^ _HELDOUT_SALT) < self._threshold

    def _count(self) -> tuple[int, int]:
        """Training tokens (each document + its EOS) and held-out documents, one vectorised pass."""
        tokens = heldout = 0
        for shard, first in zip(self.shards, self.doc_starts, strict=False):
            lengths = np.diff(shard.offsets) + 1
            mask = self._heldout_mask(int(first), shard.num_documents) if self._threshold else np.zeros(len(lengths),
                                                                                                        bool)
            tokens += int(lengths[~mask].sum())
            heldout += int(mask.sum())
        return tokens, heldout

    def document(self, index: int) -> np.ndarray:
        s = int(np.searchsorted(self.doc_starts, index, side="right")) - 1
        shard, local = self.shards[s], index - int(self.doc_starts[s])
        return shard.tokens[shard.offsets[local]:shard.offsets[local + 1]]

    def _doc_index(self) -> int:
        return permute(self.pos, self.num_docs, mix64(self._order_key + self.epoch))

    def _settle(self) -> None:
        """Move pos past held-out documents and across epoch ends."""
        while True:
            if self.pos == self.num_docs:
                self.epoch, self.pos = self.epoch + 1, 0
            if not self.is_heldout(self._doc_index()):
                return
            self.pos += 1

    def read(self, n: int, out: np.ndarray | None) -> None:
        """Take the next n tokens of the stream (into out when given) and move the cursor past them."""
        filled = 0
        while filled < n:
            self._settle()
            doc = self.document(self._doc_index())
            take = min(n - filled, len(doc) + 1 - self.offset)
            if out is not None:
                body = doc[self.offset:self.offset + take]
                out[filled:filled + len(body)] = body
                if len(body) < take:
                    out[filled + take - 1] = self.eos_id
            filled += take
            self.offset += take
            if self.offset == len(doc) + 1:
                self.pos, self.offset = self.pos + 1, 0
        self.consumed += n

    def cursor(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos, "offset": self.offset, "consumed": self.consumed}

    def seek(self, cursor: dict[str, int]) -> None:
        self.epoch, self.pos, self.offset, self.consumed = (int(cursor[k])
                                                            for k in ("epoch", "pos", "offset", "consumed"))

    def heldout_stream(self, max_tokens: int) -> np.ndarray:
        """Held-out documents in index order, each followed by EOS, up to about max_tokens."""
        parts, total = [], 0
        for shard, first in zip(self.shards, self.doc_starts, strict=False):
            for local in np.flatnonzero(self._heldout_mask(int(first), shard.num_documents)):
                doc = shard.tokens[shard.offsets[local]:shard.offsets[local + 1]]
                parts += [doc.astype(np.int64), np.array([self.eos_id], np.int64)]
                total += len(doc) + 1
                if total >= max_tokens:
                    return np.concatenate(parts)
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)


class MixtureSampler:
    """Packed windows from the token shards, sources drawn by the mixture weights (renormalized)."""

    def __init__(self, shards: TokenShards, weights: dict[str, float], seq_len: int, seed: int = 1,
                 heldout_fraction: float = 0.0, eos_id: int = EOS_ID) -> None:
        self.seq_len, self.seed, self.heldout_fraction = seq_len, seed, heldout_fraction
        self.sources: list[_Source] = []
        self.unused: list[str] = []  # present in the shards but weight 0 or no training tokens
        for name in sorted(shards.shards, key=lambda s: (list(weights).index(s) if s in weights else len(weights), s)):
            source = _Source(name, shards.shards[name], seed, heldout_fraction, eos_id)
            if weights.get(name, 0.0) > 0 and source.train_tokens > 0:
                self.sources.append(source)
            else:
                self.unused.append(name)
        if not self.sources:
            raise ValueError(f"no source in the token shards has both a mixture weight and training tokens "
                             f"(shards: {', '.join(shards.shards) or 'none'}); check mixture.* and heldout_fraction")
        total = sum(weights[s.name] for s in self.sources)
        self.proportions = {s.name: weights[s.name] / total for s in self.sources}
        self._cumulative = list(np.cumsum([self.proportions[s.name] for s in self.sources]))
        self._cumulative[-1] = 1.0
        self._choice_key = mix64(seed ^ 0xC401CE)
        self.windows_drawn = 0

    def _source_of(self, window: int) -> _Source:
        u = mix64(self._choice_key + window) / 2.0**64
        return self.sources[min(bisect.bisect_right(self._cumulative, u), len(self.sources) - 1)]

    def next_windows(self, num: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Draw the next `num` global windows; return rows start..stop of them, shape (stop - start, seq_len + 1).

        Every rank calls this with the same `num` and its own slice, so all ranks stay in step.
        """
        stop = num if stop is None else stop
        assert 0 <= start <= stop <= num
        out = np.empty((stop - start, self.seq_len + 1), dtype=np.int64)
        for j in range(num):
            source = self._source_of(self.windows_drawn + j)
            if start <= j < stop:
                row = out[j - start]
                source.read(self.seq_len, row[:-1])
                saved = source.cursor()  # the last target is the next window's first input: peek it
                source.read(1, row[-1:])
                source.seek(saved)
            else:
                source.read(self.seq_len, None)  # another rank's window: only the cursor moves
        self.windows_drawn += num
        return out

    def epochs(self) -> dict[str, float]:
        return {s.name: s.consumed / s.train_tokens for s in self.sources}

    def heldout_windows(self, max_windows: int) -> np.ndarray:
        """Up to max_windows held-out windows, taken from the sources in turn (deterministic)."""
        per_source = []
        for s in self.sources:
            stream = s.heldout_stream(max_windows * self.seq_len + 1)
            count = max(0, (len(stream) - 1) // self.seq_len)
            per_source.append([stream[i * self.seq_len:i * self.seq_len + self.seq_len + 1] for i in range(count)])
        rows = [windows[turn] for turn in range(max_windows) for windows in per_source if turn < len(windows)]
        rows = rows[:max_windows]
        return np.stack(rows) if rows else np.zeros((0, self.seq_len + 1), np.int64)

    def table(self) -> list[dict]:
        """Per source: proportion, tokens, documents held out and epochs so far (Table 1's columns)."""
        return [{"source": s.name, "proportion": self.proportions[s.name], "train_tokens": s.train_tokens,
                 "documents": s.num_docs, "heldout_documents": s.heldout_docs, "epochs": s.consumed / s.train_tokens}
                for s in self.sources]

    def state_dict(self) -> dict:
        return {"windows_drawn": self.windows_drawn, "seq_len": self.seq_len, "seed": self.seed,
                "heldout_fraction": self.heldout_fraction,
                "sources": {s.name: {**s.cursor(), "num_docs": s.num_docs} for s in self.sources}}

    def load_state_dict(self, state: dict) -> None:
        mine = {s.name: s.num_docs for s in self.sources}
        theirs = {name: c["num_docs"] for name, c in state["sources"].items()}
        settings = (state["seq_len"], state["seed"], state["heldout_fraction"])
        if mine != theirs or settings != (self.seq_len, self.seed, self.heldout_fraction):
            raise ValueError("the checkpoint's sampler was made from other token shards or settings "
                             f"({theirs} vs {mine}); resume with the same tokens_dir, seq_len, seed and mixture, "
                             "or start over with --fresh (or another out_dir)")
        for s in self.sources:
            s.seek(state["sources"][s.name])
        self.windows_drawn = int(state["windows_drawn"])
