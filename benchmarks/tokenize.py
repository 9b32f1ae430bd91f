"""Tokenize benchmark: the encode job against plain SentencePieceProcessor.encode, same texts, one run.

    .venv/bin/python -m benchmarks.tokenize [--copies 10] [--vocab 32000]

Builds a corpus of c4 + wikipedia from ../shared/corpus-samples (the real C4 1000-document head and
Wikipedia dumps), writes a second corpus whose shards hold `--copies` copies of each document (new
ids) so the job has enough text to time, trains the tokenizer on it, then times (1) plain
`SentencePieceProcessor.encode` over every text in batches, one thread, and (2) the encode job
(FnApiRunner, one worker) over the same shards. Prints MB/s per core and tokens per byte per source.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import sentencepiece as spm

from pipeline.cli import main
from pipeline.core.shards import read_shard, write_atomic, write_text_atomic
from pipeline.jobs.tokenize_job import build_encode
from pipeline.jobs.tokenizer import train_tokenizer
from pipeline.launch.beam import beam_options
from pipeline.sources.registry import load_corpus_config

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus-samples"


def _replicate(corpus: Path, out: Path, copies: int) -> list[str]:
    manifest = json.loads((corpus / "manifest.json").read_text())
    entries, texts = [], []
    for entry in manifest["shards"]:
        table = read_shard(str(corpus / entry["path"]))
        ids = table.column("id").to_pylist()
        tables = [table.set_column(0, "id", pa.array([f"{i}#copy{c}" for i in ids])) for c in range(copies)]
        big = pa.concat_tables(tables)
        texts += big.column("text").to_pylist()
        entries.append({**write_atomic(str(out), entry["path"], big, 1000), "source": entry["source"]})
    write_text_atomic(str(out / "manifest.json"), json.dumps({"shards": entries, "dropped_shards": []}))
    write_text_atomic(str(out / "stats.json"), json.dumps({"sources": {}}))
    return texts


def main_bench() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--vocab", type=int, default=32000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    try:
        assert main(["corpus", "--input", str(SHARED), "--output", str(work / "small"), "--set",
                     "sources=c4,wikipedia"]) == 0
        texts = _replicate(work / "small", work / "corpus", args.copies)
        cfg = load_corpus_config("sample", [f"tokenizer.dir={work / 'tok'}", f"tokenizer.vocab_size={args.vocab}"])
        card = train_tokenizer(str(work / "corpus"), cfg)
        model = str(work / "tok" / "tokenizer.model")
        sp = spm.SentencePieceProcessor(model_file=model)
        megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        start = time.perf_counter()
        for i in range(0, len(texts), 256):
            sp.encode(texts[i:i + 256], num_threads=1)
        bare = time.perf_counter() - start
        start = time.perf_counter()
        with beam.Pipeline(options=beam_options(["--runner=FnApiRunner"])) as p:
            build_encode(p, model, str(work / "corpus"), str(work / "tokens"), 256)
        job = time.perf_counter() - start
        stats = json.loads((work / "tokens" / "stats.json").read_text())["sources"]
        print(f"{len(texts):,} documents, {megabytes:.1f} MB of text; vocabulary {card['vocabulary']['size']:,}\n")
        print("| what | seconds | MB/s per core |\n|---|---:|---:|")
        print(f"| SentencePieceProcessor.encode, batches of 256, 1 thread | {bare:.2f} | {megabytes / bare:.2f} |")
        print(f"| the encode job (FnApiRunner, 1 worker, incl. start-up and writing) | {job:.2f} | "
              f"{megabytes / job:.2f} |")
        print(f"\nJob / bare: {bare / job:.2f}\n\n| source | documents | tokens | tokens per byte "
              "|\n|---|---:|---:|---:|")
        for source, s in sorted(stats.items()):
            print(f"| {source} | {s['documents']:,} | {s['tokens']:,} | {s['tokens_per_byte']:.3f} |")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main_bench()
