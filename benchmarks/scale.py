"""Scale benchmark: the C4 corpus job at three input sizes, peak RSS and MB/s, and 2 workers vs 1.

    .venv/bin/python -m benchmarks.scale [--sizes 50 200 800] [--files 16] [--near] [--workers]
    .venv/bin/python -m benchmarks.scale --only-workers --sizes 800   # WORKERS=2 against 1 only

Input: 16 files of real C4 text (../shared/corpus-samples/c4, the 1,000-page head of
c4-train.00000-of-01024, read-only) repeated with a small change per copy (one marker word
inserted at a position that depends on the copy, the URL tagged), so copies are not exact
duplicates: exact dedup keeps them all, near-duplicate dedup collapses them. Written uncompressed
(.json) into a temporary folder, never into the project.

Each run is `corral corpus --set sources=[c4]` in a subprocess, as a user runs it; peak RSS is the
largest sum of the resident sets of that process and all its descendants (worker processes too),
sampled from /proc every 0.1 s. MB/s is input text MB over wall seconds. Runs are one at a time.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.proctree import tree_rss

REPO = Path(__file__).resolve().parents[1]
C4_SAMPLE = REPO.parent / "shared" / "corpus-samples" / "c4" / "c4-train.00000-of-01024.head1000.json.gz"


def make_input(root: Path, target_mb: float, num_files: int) -> float:
    """Writes root/c4/part-XX.json of about target_mb in all; returns the MB of page text."""
    with gzip.open(C4_SAMPLE, "rt", encoding="utf-8") as f:
        pages = [json.loads(line) for line in f]
    page_mb = sum(len(p["text"].encode("utf-8")) for p in pages) / 1e6
    copies = max(1, round(target_mb / page_mb))
    folder = root / "c4"
    folder.mkdir(parents=True)
    text_bytes = 0
    with contextlib.ExitStack() as stack:
        handles = [stack.enter_context(open(folder / f"part-{i:02d}.json", "w", encoding="utf-8"))
                   for i in range(num_files)]
        for copy in range(copies):
            out = handles[copy % num_files]
            for n, page in enumerate(pages):
                words = page["text"].split(" ")
                at = (copy * 7 + n) % max(1, len(words))
                words.insert(at, f"v{copy}")
                text = " ".join(words)
                text_bytes += len(text.encode("utf-8"))
                out.write(json.dumps({"text": text, "timestamp": page["timestamp"],
                                      "url": f"{page['url']}#copy{copy}"}) + "\n")
    return text_bytes / 1e6


def run_job(input_root: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Runs the C4 corpus job; returns (wall seconds, peak RSS MB of the process tree)."""
    cmd = [sys.executable, "-m", "pipeline.cli", "corpus", "--input", str(input_root), "--output", str(out),
           "--config", "sample", "--set", "sources=[c4]", *extra]
    start, peak = time.time(), 0
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.1)
    wall = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"job failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    return wall, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=float, nargs="+", default=[50, 200, 800], help="input MB of text")
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--near", action="store_true", help="also run with dedup.c4=[exact,near]")
    parser.add_argument("--workers", action="store_true", help="also run WORKERS=2 against 1 at the middle size")
    parser.add_argument("--only-workers", action="store_true", help="only the WORKERS comparison")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="corral-scale-"))
    try:
        variants = [("exact", [])] + ([("exact+near", ["--set", "dedup.c4=[exact,near]"])] if args.near else [])
        if not args.only_workers:
            print("| dedup | input MB | files | wall s | MB/s | peak RSS MB |\n|---|---:|---:|---:|---:|---:|")
        inputs = {}
        for size in ([args.sizes[len(args.sizes) // 2]] if args.only_workers else args.sizes):
            root = tmp / f"in-{size:g}"
            inputs[size] = (root, make_input(root, size, args.files))
            for name, extra in ([] if args.only_workers else variants):
                wall, rss = run_job(root, tmp / "out", extra)
                mb = inputs[size][1]
                print(f"| {name} | {mb:.0f} | {args.files} | {wall:.1f} | {mb / wall:.2f} | {rss:.0f} |", flush=True)
                shutil.rmtree(tmp / "out")
        if args.workers or args.only_workers:
            size = args.sizes[len(args.sizes) // 2]
            root, mb = inputs[size]
            print("\n| workers | input MB | wall s | MB/s | peak RSS MB | speedup |\n|---:|---:|---:|---:|---:|---:|")
            base = None
            for workers in (1, 2, 1, 2):
                extra = ["--workers", str(workers)]  # what `make corpus WORKERS=N` passes
                wall, rss = run_job(root, tmp / "out", extra)
                shutil.rmtree(tmp / "out")
                base = wall if workers == 1 else base
                print(f"| {workers} | {mb:.0f} | {wall:.1f} | {mb / wall:.2f} | {rss:.0f} | {base / wall:.2f}x |",
                      flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
