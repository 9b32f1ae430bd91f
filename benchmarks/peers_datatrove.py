"""datatrove's side of benchmarks.peers; runs only in `.venv-peers` (`make peers`), never in `.venv`.

    .venv-peers/bin/python -m benchmarks.peers_datatrove c4 --input IN/c4 --output OUT --tasks 16 --workers 2
    .venv-peers/bin/python -m benchmarks.peers_datatrove minhash --input OUT/c4 --output OUT --tasks 16 --workers 2

`c4`: JsonlReader -> C4QualityFilter -> JsonlWriter (OUT/c4), one task per input file. The filter's
two counts are set to the C4 paper's (and corral's): lines of at least 5 words, pages of at least 3
sentences; datatrove's defaults are the other way round (3 and 5). English sentences are split by
spaCy's rule-based `sentencizer` on `spacy.blank("en")`, datatrove's choice for English: no model
and no punkt download.

`minhash`: datatrove's four MinHash stages, each its own LocalPipelineExecutor run one after the
other, as its example `minhash_deduplication.py` runs them: signatures (one task per input file),
buckets (one task per band), cluster (one task), filter + JsonlWriter (OUT/minhash, one task per
input file). Settings as corral's defaults: 5-word n-grams, 16 bands x 8 rows = 128 permutations.
Left at datatrove's defaults: 64-bit xxhash of each n-gram of simplified text (lower case,
punctuation and accents removed, numbers normalized) tokenized by spaCy's English tokenizer; a
pair colliding in one band is a duplicate (no verification step).

Prints one JSON line: the seconds of each stage (benchmarks.peers counts the documents written).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# Nothing is fetched at run time: the English tokenizer is spaCy's blank pipeline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from datatrove.executor.local import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.dedup.minhash import (  # noqa: E402
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters.c4_filters import C4QualityFilter  # noqa: E402
from datatrove.pipeline.readers.jsonl import JsonlReader  # noqa: E402
from datatrove.pipeline.writers.jsonl import JsonlWriter  # noqa: E402


def _run(pipeline: list, tasks: int, workers: int, logs: Path) -> float:
    start = time.perf_counter()
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=str(logs)).run()
    return time.perf_counter() - start


def run_c4(args: argparse.Namespace) -> dict:
    out = Path(args.output)
    reader = JsonlReader(args.input, glob_pattern="*.json.gz", doc_progress=False)
    quality = C4QualityFilter(min_words_per_line=5, min_num_sentences=3, language="en")
    seconds = _run([reader, quality, JsonlWriter(str(out / "c4"))], args.tasks, args.workers, out / "logs-c4")
    return {"c4": seconds}


def run_minhash(args: argparse.Namespace) -> dict:
    out = Path(args.output)
    config = MinhashConfig(n_grams=args.ngram, num_buckets=args.bands, hashes_per_bucket=args.rows)
    sigs, buckets, remove = out / "mh-sigs", out / "mh-buckets", out / "mh-remove"

    def read():
        return JsonlReader(args.input, glob_pattern="*.jsonl.gz", doc_progress=False)

    stages = {
        "signatures": ([read(), MinhashDedupSignature(str(sigs), config=config, language="en")], args.tasks),
        "buckets": ([MinhashDedupBuckets(str(sigs), str(buckets), config=config)], args.bands),
        "cluster": ([MinhashDedupCluster(str(buckets), str(remove), config=config)], 1),
        "filter": ([read(), MinhashDedupFilter(str(remove)), JsonlWriter(str(out / "minhash"))], args.tasks),
    }
    return {name: _run(pipeline, tasks, min(args.workers, tasks), out / f"logs-{name}")
            for name, (pipeline, tasks) in stages.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("job", choices=["c4", "minhash"])
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--bands", type=int, default=16)
    parser.add_argument("--rows", type=int, default=8)
    args = parser.parse_args()
    report = run_c4(args) if args.job == "c4" else run_minhash(args)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
