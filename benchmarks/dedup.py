"""Dedup benchmark: MinHash signature speed against datasketch, and DedupMinHash end to end.

    .venv/bin/python -m benchmarks.dedup [--docs 100000] [--signature-docs 10000]

Part 1 runs benchmarks.minhash_signatures (MinHasher.signatures against datasketch.MinHash.bulk on
the same documents, in the same process). Part 2 runs the MinHash step (keys per file of 5,000
documents, the decide transform through Beam's FnApiRunner with one worker, then apply) on generated
documents with planted duplicates (exact copies and near copies at Jaccard about 0.95 and 0.85, plus
unrelated pairs at about 0.5 that must survive), and reports recall, precision, wall time and peak
memory (max RSS of this process).
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time

from benchmarks import minhash_signatures
from dedup.local import run_step
from dedup.minhash import dedup_near
from pipeline.core.config import MinHashConfig
from pipeline.core.document import Document

_WORDS = [f"w{i}" for i in range(20000)]


def _mutate(rng: random.Random, words: list[str], num_new: int) -> list[str]:
    start = rng.randrange(0, len(words) - num_new)
    return words[:start] + [rng.choice(_WORDS) + "x" for _ in range(num_new)] + words[start + num_new:]


def planted_corpus(num_docs: int, seed: int = 1) -> tuple[list[Document], dict[str, int]]:
    """Documents of 200 words; every 10th base gets a near copy at J~0.95, J~0.85, an exact copy,
    and a J~0.5 'distinct' sibling. Returns the docs and doc id -> true cluster (None-free)."""
    rng = random.Random(seed)
    docs, cluster = [], {}
    group = 0
    while len(docs) < num_docs:
        base = [rng.choice(_WORDS) for _ in range(200)]
        variants = [("base", base)]
        if group % 10 == 0:  # 196 shingles: k broken -> J = (196 - k) / (196 + k)
            variants += [("exact", base), ("j95", _mutate(rng, base, 1)), ("j85", _mutate(rng, base, 12))]
            variants += [("j50", _mutate(rng, base, 62))]
        for kind, words in variants:
            doc_id = f"g{group:07d}-{kind}"
            docs.append(Document(id=doc_id, source="bench", text=" ".join(words)))
            cluster[doc_id] = group if kind != "j50" else -len(docs)  # j50 is its own cluster
        group += 1
    return docs[:num_docs], cluster


def run_dedup(docs: list[Document]) -> tuple[list[str], float]:
    start = time.perf_counter()
    _, dropped, _ = run_step(dedup_near("bench", MinHashConfig()), docs, docs_per_file=5000)
    return [d.doc.id for d in dropped], time.perf_counter() - start


def score(dropped: list[str], cluster: dict[str, int]) -> tuple[float, float]:
    sizes: dict[int, int] = {}
    for c in cluster.values():
        sizes[c] = sizes.get(c, 0) + 1
    should_drop = sum(n - 1 for n in sizes.values())
    correct = sum(1 for d in dropped if sizes[cluster[d]] > 1)
    # Never drop a whole cluster: at most size - 1 of each may go.
    dropped_per_cluster: dict[int, int] = {}
    for d in dropped:
        dropped_per_cluster[cluster[d]] = dropped_per_cluster.get(cluster[d], 0) + 1
    correct -= sum(max(0, n - (sizes[c] - 1)) for c, n in dropped_per_cluster.items() if sizes[c] > 1)
    return correct / should_drop, (correct / len(dropped) if dropped else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--signature-docs", type=int, default=10_000)
    args = parser.parse_args()
    print("## MinHash signatures\n", flush=True)
    sys.argv = [sys.argv[0], "--docs", str(args.signature_docs)]
    minhash_signatures.main()
    print("\n## DedupMinHash end to end (FnApiRunner, 1 worker, defaults: threshold 0.8, verify estimate)\n")
    docs, cluster = planted_corpus(args.docs)
    megabytes = sum(len(d.text) for d in docs) / 1e6
    dropped, seconds = run_dedup(docs)
    recall, precision = score(dropped, cluster)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| documents | MB | planted duplicates | dropped | recall | precision | wall s | docs/s | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    planted = sum(1 for k in cluster if not k.endswith("-base") and not k.endswith("-j50"))
    print(f"| {len(docs):,} | {megabytes:.1f} | {planted:,} | {len(dropped):,} | {recall:.4f} | {precision:.4f} | "
          f"{seconds:.1f} | {len(docs) / seconds:,.0f} | {peak:,.0f} |")


if __name__ == "__main__":
    main()
