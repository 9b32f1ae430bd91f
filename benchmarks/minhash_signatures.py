"""MinHash signature throughput: dedup.minhash_core.MinHasher against datasketch.MinHash.bulk.

    .venv/bin/python -m benchmarks.minhash_signatures [--docs 10000] [--batch 1000] [--repeats 3]

Both run in this process, on the same deterministic English-like documents (1-3 KB each), one
core, 128 permutations, 5-word shingles, for both permutation schemes. Each timing is the best of
`--repeats` runs (the machine is shared). datasketch is timed twice: from texts (word_shingles,
then bulk: the same work as MinHasher.signatures) and from ready-made shingles (bulk alone).
Before timing, both are asserted to give equal signatures on a subset.
"""
from __future__ import annotations

import argparse
import random
import time

import numpy as np
from datasketch import MinHash

from dedup.minhash_core import MinHasher, word_shingles

# Frequent English words, so shingles look like prose (vocabulary size and word lengths matter
# for SHA-1 and hashing cost), plus rarer made-up words for a long tail.
_COMMON = ["the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on", "are", "with",
           "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by", "hot", "word", "but",
           "what", "some", "we", "can", "out", "other", "were", "all", "there", "when", "up", "use", "your", "how",
           "said", "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about", "many", "then",
           "them", "write", "would", "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has",
           "look", "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most", "people", "my", "over",
           "know", "water", "than", "call", "first", "who", "may", "down", "side", "been", "now", "find", "any", "new",
           "work", "part", "take", "get", "place", "made", "live", "where", "after", "back", "little", "only", "round",
           "man", "year", "came", "show", "every", "good", "me", "give", "our", "under", "name", "very", "through",
           "just", "form", "sentence", "great", "think", "say", "help", "low", "line", "differ", "turn", "cause",
           "much", "mean", "before", "move", "right", "boy", "old", "too", "same", "tell", "does", "set", "three",
           "want", "air", "well", "also", "play", "small", "end", "put", "home", "read", "hand", "port", "large",
           "spell", "add", "even", "land", "here", "must", "big", "high"]
_SEED = 20240521


def make_documents(num_docs: int, seed: int = _SEED) -> list[str]:
    """Deterministic pseudo-random English-like documents of 1,000 to 3,000 bytes."""
    rng = random.Random(seed)
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    rare = ["".join(rng.choices(letters, k=rng.randint(3, 11))) for _ in range(5000)]
    docs = []
    for _ in range(num_docs):
        target, sentences, size = rng.randint(1000, 3000), [], 0
        while size < target:
            words = [rng.choice(_COMMON) if rng.random() < 0.8 else rng.choice(rare)
                     for _ in range(rng.randint(6, 24))]
            sentence = " ".join(words).capitalize() + rng.choice(".....?!")
            sentences.append(sentence)
            size += len(sentence) + 1
        docs.append(" ".join(sentences)[:target])
    return docs


def _best_of(repeats: int, run) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _check_equal(docs: list[str], scheme: str) -> None:
    ours = MinHasher(128, 1, 5, scheme=scheme).signatures(docs)
    theirs = MinHash.bulk([word_shingles(d, 5) for d in docs], num_perm=128, seed=1, scheme=scheme)
    assert all(np.array_equal(o, t.hashvalues) for o, t in zip(ours, theirs, strict=True)), scheme


def _time_scheme(docs: list[str], batch: int, repeats: int, scheme: str) -> dict[str, float]:
    hasher = MinHasher(128, 1, 5, scheme=scheme)
    batches = [docs[i:i + batch] for i in range(0, len(docs), batch)]
    shingles = [word_shingles(d, 5) for d in docs]
    return {
        "MinHasher.signatures": _best_of(repeats, lambda: [hasher.signatures(b) for b in batches]),
        "datasketch bulk, from texts": _best_of(repeats, lambda: MinHash.bulk(
            [word_shingles(d, 5) for d in docs], num_perm=128, seed=1, scheme=scheme)),
        "datasketch bulk, from shingles": _best_of(repeats, lambda: MinHash.bulk(
            shingles, num_perm=128, seed=1, scheme=scheme)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    docs = make_documents(args.docs)
    num_mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    num_shingles = sum(len(word_shingles(d, 5)) for d in docs)
    for scheme in ("affine32", "legacy"):
        _check_equal(docs[:300], scheme)
    print(f"{args.docs} documents, {num_mb:.1f} MB, {num_shingles} shingles; 128 permutations, "
          f"5-word shingles, batches of {args.batch}, best of {args.repeats}; "
          "signatures equal to datasketch on 300 documents (both schemes)\n")
    print("| scheme | method | seconds | signatures/s | MB/s | MinHasher speedup |")
    print("|---|---|---:|---:|---:|---:|")
    for scheme in ("affine32", "legacy"):
        times = _time_scheme(docs, args.batch, args.repeats, scheme)
        ours = times["MinHasher.signatures"]
        for method, seconds in times.items():
            speedup = "" if method.startswith("MinHasher") else f"{seconds / ours:.2f}x"
            print(f"| {scheme} | {method} | {seconds:.2f} | {args.docs / seconds:,.0f} | "
                  f"{num_mb / seconds:.2f} | {speedup} |")


if __name__ == "__main__":
    main()
