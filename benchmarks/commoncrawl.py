"""CommonCrawl path benchmark: each CCNet stage alone, and the Beam job against the same stages bare.

    .venv/bin/python -m benchmarks.commoncrawl [--copies 30[,120,...]] [--files 2] [--repeats 3]

Input: the English WARC files of ../shared/corpus-samples/commoncrawl (wget_sample-0000/0001),
copied `--copies` times into `--files` files of a temporary input root, each copy's records under
their own WARC-Record-IDs (so ids differ); `--files 0` makes each copy of each file a file of its
own, as this benchmark did before 2026-12-04 (many files of ~18 pages; Common Crawl's hold tens of
thousands). Models:
trained by `corral models` on ../shared/corpus-samples (SentencePiece + KenLM on its English
Wikipedia, the reference classifier) into a temporary folder; lid.176 from its package.

1. Stage by stage, called directly on every document, one process: WARC read + HTML extraction,
   dedup hashing (exact content hash and CCNet line hashes), language ID, KenLM perplexity,
   reference classifier. MB/s of WARC (compressed and not) and of extracted text, per core.
2. The Beam job (FnApiRunner, one worker) for commoncrawl alone, thresholds opened so every
   document goes through every stage and dedup steps off, against the same stages called bare
   in a loop: the job's share of the bare speed.

Bare stages and job alternate `--repeats` times in one process and the figures are medians (the
stage table too): on a shared machine a neighbour's burst moves single runs by 30%. With two or
more sizes it also prints what the job adds per added input (the ratio of the differences between
the smallest and largest size) and its fixed cost: the ratio a long job tends to.
"""
from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from dedup.hashing import content_hash, line_hash, normalize_for_exact
from filters.ccnet import lang_id_step, perplexity_step, wiki_ref_step
from pipeline.cli import main as corral
from pipeline.core.document import Document
from pipeline.jobs.models import commoncrawl_models
from pipeline.launch.beam import run_pipeline
from pipeline.sources.commoncrawl import CommonCrawlModels, parse_commoncrawl_file
from pipeline.sources.registry import load_corpus_config

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpus-samples"
FILES = ("wget_sample-0000.warc.gz", "wget_sample-0001.warc.gz")


_RECORD_ID = re.compile(rb"(\r\nWARC-Record-ID: <urn:uuid:)")


def _input_root(folder: Path, copies: int, files: int = 0) -> Path:
    """`copies` copies of the two WARC files under folder/input/commoncrawl; returns folder/input.

    files=0: each copy of each file is a file of its own (60 files of ~18 pages at 30 copies).
    files=N: the copies are spread over N files, each copy's records with their own WARC-Record-IDs
    (so document ids differ), as Common Crawl's files hold tens of thousands of pages each."""
    cc = folder / "input" / "commoncrawl"
    cc.mkdir(parents=True)
    if not files:
        for i in range(copies):
            for name in FILES:
                shutil.copy(SHARED / "commoncrawl" / name, cc / f"copy{i:02d}-{name}")
        return folder / "input"
    plain = [gzip.decompress((SHARED / "commoncrawl" / name).read_bytes()) for name in FILES]
    for j in range(files):
        with gzip.open(cc / f"big{j:02d}.warc.gz", "wb", compresslevel=6) as out:
            for i in range(j, copies, files):
                for data in plain:  # its record ids made unique to the copy
                    out.write(_RECORD_ID.sub(rb"\1" + f"c{i:04d}-".encode(), data))
    return folder / "input"


def _timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _stages(root: Path, cfg, models: CommonCrawlModels):
    files = sorted((root / "commoncrawl").iterdir())
    docs, t_read = _timed(lambda: [d for f in files for d in parse_commoncrawl_file(str(f), f.name, cfg.commoncrawl)
                                   if isinstance(d, Document)])
    cc = cfg.commoncrawl
    steps = {"lang": lang_id_step(cc, models.lid), "perplexity": perplexity_step(models.lms),
             "wiki_ref": wiki_ref_step(cc, models.wikiref)}

    def dedup_hashing():
        for d in docs:
            content_hash(normalize_for_exact(d.text, "whitespace"))
            for line in d.text.splitlines():
                line_hash(line)

    times = {"read + extract": t_read, "dedup hashing": _timed(dedup_hashing)[1]}
    current = docs
    for name, step in steps.items():
        current, times[name] = _timed(lambda s=step, current=current: [s(d) for d in current])
        current = [d.doc if not isinstance(d, Document) else d for d in current]
    return docs, times


def _measure(work: Path, copies: int, files: int, repeats: int, models_dir: Path) -> dict:
    """Stage times (medians) and the bare and job seconds of each run, at `copies` copies."""
    root = _input_root(work / f"copies{copies}", copies, files)
    overrides = [f"models.dir={models_dir}", "commoncrawl.lang_threshold=0", "commoncrawl.wiki_ref_threshold=0",
                 "commoncrawl.keep_buckets=head,middle,tail", "dedup.commoncrawl=[]", f"input={root}"]
    cfg = load_corpus_config("sample", overrides)
    models = CommonCrawlModels(*commoncrawl_models(cfg))
    out = str(work / "out")
    runs, jobs = [], []
    for _ in range(repeats):
        docs, times = _stages(root, cfg, models)
        runs.append(times)
        shutil.rmtree(out, ignore_errors=True)
        jobs.append(_timed(run_pipeline, cfg, ("commoncrawl",), out, ["--runner=FnApiRunner"])[1])
    shutil.rmtree(root.parent)
    return {"copies": copies, "files": files or copies * len(FILES), "docs": len(docs),
            "text": sum(len(d.text.encode()) for d in docs),
            "times": {name: statistics.median(t[name] for t in runs) for name in runs[0]},
            "bares": [sum(v for k, v in t.items() if k != "dedup hashing") for t in runs], "jobs": jobs}


def _report(m: dict, warc: float, warc_gz: float, repeats: int) -> tuple[float, float]:
    text = m["text"]
    print(f"\n{m['copies']} copies in {m['files']} files: {m['docs']} documents; WARC {warc / 1e6:.1f} MB "
          f"({warc_gz / 1e6:.1f} MB gzip), "
          f"extracted text {text / 1e6:.2f} MB; medians of {repeats} runs, bare and job alternating\n")
    print("| stage (bare, one core) | seconds | MB/s of WARC | MB/s of text |")
    print("|---|---:|---:|---:|")
    for name, seconds in m["times"].items():
        print(f"| {name} | {seconds:.2f} | {warc / 1e6 / seconds:.1f} | {text / 1e6 / seconds:.2f} |")
    bare, job = statistics.median(m["bares"]), statistics.median(m["jobs"])
    print(f"| all but dedup, bare | {bare:.2f} | {warc / 1e6 / bare:.1f} | {text / 1e6 / bare:.2f} |")
    print(f"| the Beam job (FnApiRunner, 1 worker, same stages) | {job:.2f} | {warc / 1e6 / job:.1f} | "
          f"{text / 1e6 / job:.2f} |")
    pairs = ", ".join(f"{b / j:.2f}" for b, j in zip(m["bares"], m["jobs"], strict=True))
    print(f"\nBeam job / bare stages: {bare / job:.2f} of the bare speed (each run: {pairs})")
    return bare, job


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", default="30", help="input size(s) in copies of the two files, e.g. 30,120")
    parser.add_argument("--files", type=int, default=2,
                        help="spread the copies over this many files (0: a file per copy of each file)")
    parser.add_argument("--repeats", type=int, default=3, help="bare stages and job alternate this many times")
    args = parser.parse_args()
    sizes = [int(c) for c in args.copies.split(",")]
    one = [SHARED / "commoncrawl" / name for name in FILES]
    warc_gz_one = sum(f.stat().st_size for f in one)
    warc_one = sum(len(gzip.decompress(f.read_bytes())) for f in one)
    work = Path(tempfile.mkdtemp())
    try:
        models_dir = work / "models"
        assert corral(["models", "--input", str(SHARED), "--set", f"models.dir={models_dir}"]) == 0
        results = []
        for copies in sizes:
            m = _measure(work, copies, args.files, args.repeats, models_dir)
            results.append(_report(m, warc_one * copies, warc_gz_one * copies, args.repeats))
        if len(results) > 1:
            (b0, j0), (b1, j1) = results[0], results[-1]
            per_doc = (b1 - b0) / (j1 - j0)
            print(f"\nFrom {sizes[0]} to {sizes[-1]} copies: the job's added seconds per added input keep "
                  f"{per_doc:.2f} of the bare speed; its fixed cost (start, graph, runner) is about "
                  f"{j0 - b0 / per_doc:.1f} s")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
