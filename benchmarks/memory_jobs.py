"""Peak memory of the models job, `make tokenize` (train + encode) and `corral stats` at 1x, 2x and 4x input.

Issue 12's target: 4x the input at most 1.5x the peak RSS of the whole process tree. Inputs are
made, under a temporary folder, from the real samples in ../shared/corpus-samples (read only) by
replicating them with small changes: per replica, digits rotated and one in five longer words
spelled backwards (new n-grams and URLs, as a larger dump has), ids and titles tagged.

  models    `corral models`: the English Wikipedia XML sample (6 MB, 2.9M characters of article text)
            x 8k replicas + the CommonCrawl samples. The Wikipedia corpus the LM trains on is written
            here directly as shards (parse + clean of the same pages, varied the same way) and passed
            as models.wikipedia_corpus, so the figure is the models job's own, not the corpus job's
            (benchmarks/scale.py measures that).
  tokenize  `corral tokenize` (train the tokenizer, then encode) on a corpus of c4 + wikipedia shards
            (5.1M characters) x 16k replicas (digits rotated), one shard a source in 1,000-row record
            batches as the corpus job writes them; every tenth document is in dropped/.
  stats     `corral stats` on that corpus.

Each job runs as a subprocess of the code tree given by --code (default: this checkout), with the
`sample` preset; peak RSS is the largest sum of resident memory over the process and all its
descendants, polled every 50 ms from /proc (lmplz and build_binary included); wall time and CPU
time (user + system, children included) are printed beside it.

    .venv/bin/python -m benchmarks.memory_jobs                            # all jobs, 1x 2x 4x
    mkdir /tmp/before && git archive HEAD | tar -x -C /tmp/before            # the committed code
    .venv/bin/python -m benchmarks.memory_jobs --keep                       # prints where the inputs are
    .venv/bin/python -m benchmarks.memory_jobs --inputs <that folder> --code /tmp/before
"""
from __future__ import annotations

import argparse
import bz2
import dataclasses
import gzip
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from benchmarks.proctree import tree_rss
from pipeline.core.config import config_to_dict
from pipeline.core.document import ARROW_SCHEMA, DROPPED_SCHEMA, Document
from pipeline.core.shards import write_batches_atomic
from pipeline.sources.registry import CorpusConfig
from pipeline.sources.wikipedia import WikipediaConfig

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpus-samples"
ENWIKI = "wikipedia/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
C4 = "c4/c4-train.00000-of-01024.head1000.json.gz"
WIKI_REPLICAS, CORPUS_REPLICAS = 8, 16  # per unit of size: 1x = 23M characters of Wikipedia, 75 MB of corpus text
# The corpus job's 1,000-row record batches, one shard a source: a reader holds one batch, and a
# shard of fewer than 1,000 rows is one batch that grows with the input until it is full (8 shards
# of 1x Wikipedia would hold 190 rows each), which a real corpus's shards are at once. Books are
# left out for that reason: 0.5 MB documents fill no 1,000-row batch at any size made here.
NUM_SHARDS, BATCH_ROWS = 1, 1000
DROPPED = {"c4": ("clean", "c4_too_few_sentences"), "wikipedia": ("clean", "empty")}
POLL_S = 0.05

_WORD = re.compile(r"[A-Za-z]{4,}")
_TEXT = re.compile(r"(<text\b[^>]*>)(.*?)(</text>)", re.S)
_TITLE = re.compile(r"<title>(.*?)</title>")


# --- inputs ------------------------------------------------------------------------------------
def vary(text: str, replica: int, light: bool = False) -> str:
    """Replica 0 is the text itself; others rotate digits and (unless `light`) reverse one in five
    longer words, chosen by a stable hash of word and replica, so replicas differ from each other."""
    if replica == 0:
        return text
    shift = replica % 10
    digits = str.maketrans("0123456789", "0123456789"[shift:] + "0123456789"[:shift])
    if light:
        return text.translate(digits)
    salt = replica.to_bytes(4, "little")

    def flip(match: re.Match) -> str:
        word = match.group(0)
        return word[::-1] if zlib.crc32(word.encode(), zlib.crc32(salt)) % 5 == 0 else word

    return _WORD.sub(flip, text.translate(digits))


def _write_shards(root: Path, source: str, docs: list[Document], replicas: int, light: bool,
                  dropped: bool = False) -> tuple[list[dict[str, Any]], int]:
    """`replicas` varied copies of `docs`, round-robin over NUM_SHARDS shards (one for dropped/), in
    BATCH_ROWS-row batches, generated lazily; returns the manifest entries and the text bytes.
    Every tenth document goes to dropped/ (dropped=True) or is left out (dropped=False)."""
    schema = DROPPED_SCHEMA if dropped else ARROW_SCHEMA
    num = 1 if dropped else NUM_SHARDS
    extra = {"drop_reason": DROPPED[source][1], "drop_stage": DROPPED[source][0],
             "drop_detail": "benchmark"} if dropped else {}
    every = [(r, d) for r in range(replicas) for d in docs]
    chosen = [pair for i, pair in enumerate(every) if (i % 10 == 9) == dropped]
    entries, num_bytes = [], 0

    def rows(part: list[tuple[int, Document]]) -> Iterator[dict[str, Any]]:
        nonlocal num_bytes
        for r, d in part:
            text = vary(d.text, r, light)
            num_bytes += len(text.encode("utf-8"))
            yield {**dataclasses.asdict(d), "id": f"{d.id}#r{r}", "text": text, **extra}

    def batches(part: list[tuple[int, Document]]) -> Iterator[pa.RecordBatch]:
        it = rows(part)
        while chunk := list(itertools.islice(it, BATCH_ROWS)):
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)

    for index in range(num):
        rel = f"{'dropped/' if dropped else ''}{source}/part-{index:05d}-of-{num:05d}.arrow"
        entry = write_batches_atomic(str(root), rel, schema, batches(chosen[index::num]))
        entries.append({**entry, "source": source})
    return entries, num_bytes


def _enwiki_documents() -> list[Document]:
    from pipeline.sources.wikipedia import clean_wikipedia, parse_wikipedia_file

    cfg = WikipediaConfig()
    pages = (d for d in parse_wikipedia_file(str(SHARED / ENWIKI), ENWIKI, cfg) if isinstance(d, Document))
    return [d for d in (clean_wikipedia(p, cfg) for p in pages) if isinstance(d, Document)]


def make_models_input(out: Path, size: int, clean_docs: list[Document]) -> int:
    """<out>/input (Wikipedia XML replicas + CommonCrawl samples) and <out>/wikicorpus; returns XML bytes."""
    xml = bz2.decompress((SHARED / ENWIKI).read_bytes()).decode("utf-8")
    (out / "input" / "wikipedia").mkdir(parents=True)
    num_bytes = 0
    for r in range(size * WIKI_REPLICAS):
        text = _TEXT.sub(lambda m, r=r: m.group(1) + vary(m.group(2), r) + m.group(3), xml)
        text = _TITLE.sub(lambda m, r=r: f"<title>{m.group(1)}{f' r{r}' if r else ''}</title>", text)
        path = out / "input" / "wikipedia" / f"enwiki-r{r:03d}.xml"
        path.write_text(text, encoding="utf-8")
        num_bytes += path.stat().st_size
    shutil.copytree(SHARED / "commoncrawl", out / "input" / "commoncrawl")
    # Every tenth document left out (kept only): the Wikipedia corpus job's kept shards.
    _write_shards(out / "wikicorpus", "wikipedia", clean_docs, size * WIKI_REPLICAS, light=False)
    return num_bytes


def _base_corpus() -> dict[str, list[Document]]:
    with gzip.open(SHARED / C4, "rt", encoding="utf-8") as f:
        c4 = [json.loads(line) for line in f]
    return {
        "c4": [Document(id=f"c4/{i}", source="c4", text=r["text"], url=r.get("url"), lang="en")
               for i, r in enumerate(c4)],
        "wikipedia": _enwiki_documents(),
    }


def make_corpus(out: Path, size: int, base: dict[str, list[Document]]) -> int:
    """A corpus output (shards, dropped/, manifest, stats, config) of base x CORPUS_REPLICAS*size
    replicas (digits rotated); returns the kept text bytes."""
    shards, dropped_shards, stats, text_bytes = [], [], {}, 0
    replicas = size * CORPUS_REPLICAS
    for source, docs in base.items():
        kept, kept_bytes = _write_shards(out, source, docs, replicas, light=True)
        gone, _ = _write_shards(out, source, docs, replicas, light=True, dropped=True)
        shards += kept
        dropped_shards += gone
        num_kept, num_gone = sum(e["rows"] for e in kept), sum(e["rows"] for e in gone)
        stage, reason = DROPPED[source]
        stats[source] = {"seen": num_kept + num_gone, "kept": num_kept, "kept_bytes": kept_bytes,
                         "dropped": {reason: num_gone}, "stages": {stage: {"dropped": {reason: num_gone}}},
                         "files": 1, "ignored_files": []}
        text_bytes += kept_bytes
    (out / "manifest.json").write_text(json.dumps({"shards": shards, "dropped_shards": dropped_shards}, indent=2))
    (out / "stats.json").write_text(json.dumps({"sources": stats}, indent=2))
    cfg = config_to_dict(CorpusConfig())
    cfg["sources"] = sorted(base)
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    return text_bytes


def make_inputs(work: Path, sizes: list[int], jobs: list[str]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    clean = _enwiki_documents() if "models" in jobs else []
    base = _base_corpus() if {"tokenize", "stats"} & set(jobs) else {}
    for size in sizes:
        if "models" in jobs:
            info[f"models-{size}"] = make_models_input(work / f"models-{size}x", size, clean)
        if base:
            info[f"corpus-{size}"] = make_corpus(work / f"corpus-{size}x", size, base)
    (work / "inputs.json").write_text(json.dumps(info))
    return info


# --- measuring ---------------------------------------------------------------------------------
def measure(cmd: list[str], cwd: Path, log: Path) -> dict[str, float]:
    """Peak tree RSS, wall time and CPU time (user + system of the process and the children it
    waited for: lmplz, build_binary), the last being the figure to compare on a busy machine."""
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(POLL_S)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {proc.returncode}; see {log}")
    return {"peak_rss_mb": peak / 2**20, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def job_command(job: str, size: int, work: Path, run: Path) -> list[str]:
    cli = [sys.executable, "-m", "pipeline.cli"]
    if job == "models":
        src = work / f"models-{size}x"
        return cli + ["models", "--input", str(src / "input"), "--set", f"models.dir={run / 'models'}",
                      "--set", f"models.wikipedia_corpus={src / 'wikicorpus'}"]
    corpus = work / f"corpus-{size}x"
    if job == "tokenize":
        return cli + ["tokenize", "--corpus", str(corpus), "--set", f"tokenizer.dir={run / 'tokenizer'}",
                      "--set", f"tokens.dir={run / 'tokens'}"]
    return cli + ["stats", str(corpus), "--output", str(run / "stats")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--jobs", nargs="+", default=["models", "tokenize", "stats"],
                        choices=["models", "tokenize", "stats"])
    parser.add_argument("--code", type=Path, default=REPO, help="the code tree whose jobs run (default: this checkout)")
    parser.add_argument("--inputs", type=Path, help="reuse the inputs a previous run made and kept (--keep)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and say where")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    work = args.inputs or Path(tempfile.mkdtemp(prefix="corral-memory-"))
    try:
        if args.inputs:
            info = json.loads((work / "inputs.json").read_text())
        else:
            started = time.perf_counter()
            info = make_inputs(work, args.sizes, args.jobs)
            print(f"inputs in {work} ({time.perf_counter() - started:.0f}s)", flush=True)
        results = []
        for job in args.jobs:
            for size in args.sizes:
                run = Path(tempfile.mkdtemp(prefix=f"{job}-{size}x-", dir=work))
                figures = measure(job_command(job, size, work, run), args.code, run / "log.txt")
                key = f"models-{size}" if job == "models" else f"corpus-{size}"
                results.append({"job": job, "size": size, "input_mb": info[key] / 1e6, **figures})
                print(json.dumps(results[-1]), flush=True)
                shutil.rmtree(run)
        print(table(results))
        if args.json:
            args.json.write_text(json.dumps({"code": str(args.code), "results": results}, indent=2) + "\n")
    finally:
        if args.keep or args.inputs:
            print(f"inputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| job | size | input MB | wall s | CPU s | peak RSS MB | RSS / 1x |", "|---|---|---|---|---|---|---|"]
    first: dict[str, float] = {}
    for r in results:
        base = first.setdefault(r["job"], r["peak_rss_mb"])
        lines.append(f"| {r['job']} | {r['size']}x | {r['input_mb']:.1f} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['peak_rss_mb'] / base:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
