"""Peers benchmark (issue 15): corral against datatrove on the same C4 input, runs interleaved.

    make peers                                          # .venv-peers: datatrove 0.10.1, pinned
    .venv/bin/python -m benchmarks.peers [--mb 50] [--repeats 3] [--files 16]

Input: about `--mb` MB of page text in `--files` json.gz files in C4's format ({text, timestamp,
url}), written to a temporary folder. The pages are made of real C4 text: the 1,000-page head of
c4-train.00000-of-01024 (../shared/corpus-samples, read-only) has 8,707 lines; each new page takes
the line count, timestamp and URL (tagged) of a real page and that many lines drawn at random from
all of them, so pages are distinct (exact and near dedup keep them) while every line is one C4
kept. Planted on top: a near copy of 5% of the pages of 100 words or more (one word in a hundred
replaced: Jaccard of 5-word shingles about 0.9), in another file, and an exact copy of 1%. Drawn
pages meet by chance too: two one-line pages on the same line are exact copies, two short pages
sharing a long paragraph near ones.

Each repeat runs, one at a time and in this order:

  corral exact     `corral corpus --config sample --set sources=[c4]`, 1 worker (C4's default dedup)
  datatrove C4     JsonlReader -> C4QualityFilter -> JsonlWriter, one task per file, 2 workers
  corral near      the same with `--set dedup.c4=[exact,near]`, 1 worker
  datatrove near   its four MinHash stages on datatrove C4's output, 2 workers

and times each as a subprocess: wall clock, and CPU seconds and peak resident memory of the whole
process tree (worker processes included), polled from /proc every 50 ms. On a shared machine the
CPU ratios are the steadier figure. MinHash settings on both sides: 5-word shingles, 128
permutations in 16 bands of 8 rows (corral's defaults). What differs is each tool's default:
corral verifies candidates by signature Jaccard >= 0.8 and shingles words split on whitespace;
datatrove takes any band collision and shingles spaCy tokens of lower-cased text without
punctuation (benchmarks/peers_datatrove.py says more). C4 rules on both sides: lines of at least
5 words, pages of at least 3 sentences (the paper's numbers).

Ratios are of medians over the repeats. "near path, whole" sets corral's near job against
datatrove's C4 job plus its four stages (both read raw pages and write deduplicated ones); "near
path, added" sets the time near dedup adds to corral's job against datatrove's four stages.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.proctree import PAGE, TICK, process_tree
from benchmarks.scale import C4_SAMPLE
from dedup.minhash import near_params
from pipeline.core.config import MinHashConfig

REPO = Path(__file__).resolve().parents[1]
PEERS_PYTHON = REPO / ".venv-peers" / "bin" / "python"
NEAR_SHARE, EXACT_SHARE, NEAR_MIN_WORDS = 0.05, 0.01, 100
# datatrove's MinHash set as corral's default dedup.near (checked in main against dedup.minhash).
NGRAM, BANDS, ROWS = 5, 16, 8
_ALPHA = re.compile(r"[A-Za-z]+")


def _near_copy(rng: random.Random, text: str, vocab: list[str]) -> str:
    """One alphabetic word in a hundred replaced by another: Jaccard of 5-word shingles ~0.9."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if _ALPHA.fullmatch(w)]
    for i in rng.sample(spots, min(len(spots), max(1, len(words) // 100))):
        words[i] = rng.choice(vocab)
    return " ".join(words)


def _pages(rng: random.Random, target_mb: float) -> list[dict]:
    with gzip.open(C4_SAMPLE, "rt", encoding="utf-8") as f:
        real = [json.loads(line) for line in f]
    lines = [line for page in real for line in page["text"].split("\n")]
    pages, num_bytes = [], 0
    while num_bytes < target_mb * 1e6:
        model = real[len(pages) % len(real)]
        text = "\n".join(rng.choices(lines, k=model["text"].count("\n") + 1))
        pages.append({"text": text, "timestamp": model["timestamp"], "url": f"{model['url']}#p{len(pages)}"})
        num_bytes += len(text.encode("utf-8"))
    return pages


def make_input(root: Path, target_mb: float, num_files: int, seed: int = 15) -> dict:
    """Writes root/c4/part-XX.json.gz; returns what was written (pages, MB of text, plants)."""
    rng = random.Random(seed)
    pages = _pages(rng, target_mb)
    vocab = sorted({w for p in pages[:1000] for w in p["text"].split(" ") if _ALPHA.fullmatch(w)})
    files: list[list[dict]] = [[] for _ in range(num_files)]
    num_near = num_exact = 0
    for n, page in enumerate(pages):
        files[n % num_files].append(page)
        other = files[(n + 1 + rng.randrange(num_files - 1)) % num_files] if num_files > 1 else files[0]
        if rng.random() < NEAR_SHARE and len(page["text"].split()) >= NEAR_MIN_WORDS:
            other.append({**page, "text": _near_copy(rng, page["text"], vocab), "url": page["url"] + "-near"})
            num_near += 1
        elif rng.random() < EXACT_SHARE:
            other.append({**page, "url": page["url"] + "-copy"})
            num_exact += 1
    folder = root / "c4"
    folder.mkdir(parents=True)
    for i, docs in enumerate(files):
        with gzip.open(folder / f"part-{i:02d}.json.gz", "wt", encoding="utf-8", compresslevel=6) as f:
            f.writelines(json.dumps(d) + "\n" for d in docs)
    num_docs = sum(map(len, files))
    text_mb = sum(len(d["text"].encode("utf-8")) for docs in files for d in docs) / 1e6
    return {"docs": num_docs, "mb": text_mb, "near": num_near, "exact": num_exact}


# --- measuring -----------------------------------------------------------------------------------
def measure(cmd: list[str], log: Path) -> dict[str, float]:
    """Wall seconds; CPU seconds and peak RSS of the whole process tree, polled every 50 ms.

    CPU is summed over every process seen (datatrove's pool workers are children of its
    forkserver, which no one waits for, so the rusage of the command alone misses them); a
    process's last 50 ms before it exits can go uncounted."""
    start = time.perf_counter()
    cpu: dict[int, int] = {}
    peak = 0
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            tree = process_tree(proc.pid)
            cpu.update({pid: ticks for pid, (ticks, _) in tree.items()})
            peak = max(peak, sum(pages for _, pages in tree.values()))
            time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}; see {log}")
    return {"wall_s": wall, "cpu_s": sum(cpu.values()) / TICK, "peak_rss_mb": peak * PAGE / 2**20}


# --- runs ----------------------------------------------------------------------------------------
def corral_cmd(input_root: Path, out: Path, near: bool, workers: int) -> list[str]:
    dedup = ["--set", "dedup.c4=[exact,near]"] if near else []
    return [sys.executable, "-m", "pipeline.cli", "corpus", "--input", str(input_root), "--output", str(out),
            "--config", "sample", "--set", "sources=[c4]", *dedup, "--workers", str(workers)]


def datatrove_cmd(job: str, input_dir: Path, out: Path, tasks: int, workers: int) -> list[str]:
    return [str(PEERS_PYTHON), "-m", "benchmarks.peers_datatrove", job, "--input", str(input_dir),
            "--output", str(out), "--tasks", str(tasks), "--workers", str(workers),
            "--ngram", str(NGRAM), "--bands", str(BANDS), "--rows", str(ROWS)]


def corral_kept(out: Path) -> int:
    stats = json.loads((out / "stats.json").read_text())
    return stats["sources"]["c4"]["kept"]


def datatrove_kept(folder: Path) -> int:
    total = 0
    for path in folder.glob("*.jsonl.gz"):
        with gzip.open(path, "rb") as f:
            total += sum(1 for _ in f)
    return total


def _datatrove(job: str, input_dir: Path, out: Path, files: int, workers: int) -> dict:
    log = out.parent / f"datatrove-{job}.log"
    result = measure(datatrove_cmd(job, input_dir, out, files, workers), log)
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    result["stages"] = json.loads(lines[-1])  # the runner's last line: seconds per stage
    return result


def run_repeat(root: Path, work: Path, args: argparse.Namespace) -> dict[str, dict]:
    """One repeat, interleaved: corral exact, datatrove C4, corral near, datatrove's MinHash stages."""
    runs: dict[str, dict] = {}
    datatrove = work / "datatrove"
    for name, near in (("corral exact", False), ("corral near", True)):
        out = work / name.replace(" ", "-")
        runs[name] = measure(corral_cmd(root, out, near, args.corral_workers), work / f"{out.name}.log")
        runs[name]["kept"] = corral_kept(out)
        if not near:  # datatrove's C4 job between corral's two
            runs["datatrove C4"] = _datatrove("c4", root / "c4", datatrove, args.files, args.datatrove_workers)
            runs["datatrove C4"]["kept"] = datatrove_kept(datatrove / "c4")
    runs["datatrove near"] = _datatrove("minhash", datatrove / "c4", datatrove, args.files, args.datatrove_workers)
    runs["datatrove near"]["kept"] = datatrove_kept(datatrove / "minhash")
    return runs


# --- report --------------------------------------------------------------------------------------
ORDER = ("corral exact", "datatrove C4", "corral near", "datatrove near")


def _engine(name: str, args: argparse.Namespace) -> str:
    if name.startswith("corral"):
        return f"FnApiRunner, {args.corral_workers} worker{'s' if args.corral_workers > 1 else ''}"
    tasks = f"{args.files} tasks" if name == "datatrove C4" else f"{args.files}/{BANDS}/1/{args.files} tasks"
    return f"{tasks}, {args.datatrove_workers} workers"


def _row(cells: list) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def print_repeat(i: int, runs: dict[str, dict], args: argparse.Namespace) -> None:
    if i == 1:
        print(_row(["repeat", "run", "engine", "wall s", "CPU s", "peak RSS MB", "documents out"]))
        print("|---:|---|---|---:|---:|---:|---:|")
    for name in ORDER:
        r = runs[name]
        print(_row([i, name, _engine(name, args), f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                    f"{r['peak_rss_mb']:.0f}", f"{r['kept']:,}"]), flush=True)


def medians(repeats: list[dict[str, dict]]) -> dict[str, dict[str, float]]:
    out = {name: {k: statistics.median(r[name][k] for r in repeats) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
           for name in ORDER}
    stages = repeats[0]["datatrove near"]["stages"]
    out["datatrove stages"] = {k: statistics.median(r["datatrove near"]["stages"][k] for r in repeats) for k in stages}
    return out


def print_ratios(m: dict[str, dict[str, float]]) -> None:
    """Ratios of medians: how many times faster corral is (peer / corral), and near / exact."""
    def both(key: str, corral: list[str], peer: list[str], minus: list[str] = ()) -> str:
        ours = sum(m[n][key] for n in corral) - sum(m[n][key] for n in minus)
        return f"{sum(m[n][key] for n in peer) / ours:.1f}x" if ours > 0 else "n/a"

    stages = ", ".join(f"{k} {v:.1f} s" for k, v in m["datatrove stages"].items())
    print(f"\ndatatrove's four MinHash stages, medians: {stages}\n")
    print(_row(["comparison (ratios of medians)", "corral", "datatrove", "corral faster, wall",
                "corral faster, CPU", "target"]))
    print("|---|---|---|---:|---:|---|")
    rows = [("C4 heuristics, whole job", ["corral exact"], ["datatrove C4"], [], "C4 job", ">= 10x"),
            ("near path, whole", ["corral near"], ["datatrove C4", "datatrove near"], [], "C4 job + 4 stages",
             "about 5x"),
            ("near path, added", ["corral near"], ["datatrove near"], ["corral exact"], "4 stages", "")]
    for label, corral, peer, minus, peer_label, target in rows:
        ours = " - ".join([corral[0], *minus])
        print(_row([label, ours, peer_label, both("wall_s", corral, peer, minus), both("cpu_s", corral, peer, minus),
                    target]))
    ratio = m["corral near"]["wall_s"] / m["corral exact"]["wall_s"]
    rss = m["corral near"]["peak_rss_mb"] / m["corral exact"]["peak_rss_mb"]
    cpu = m["corral near"]["cpu_s"] / m["corral exact"]["cpu_s"]
    print(f"\ncorral near / exact: {ratio:.2f}x wall, {cpu:.2f}x CPU, {rss:.2f}x peak RSS (target: <= 2x wall)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50, help="MB of page text to generate")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--files", type=int, default=16, help="input files; datatrove runs a task per file")
    parser.add_argument("--corral-workers", type=int, default=1)
    parser.add_argument("--datatrove-workers", type=int, default=2)
    args = parser.parse_args()
    ours = near_params(MinHashConfig())
    assert (ours.ngram, ours.bands, ours.rows) == (NGRAM, BANDS, ROWS), "corral's near defaults moved: update"
    if not PEERS_PYTHON.exists():
        raise SystemExit(f"{PEERS_PYTHON.relative_to(REPO)} is missing: run `make peers` first (datatrove 0.10.1 "
                         "and its needs in their own virtual environment, requirements-peers.txt)")
    tmp = Path(tempfile.mkdtemp(prefix="corral-peers-"))
    try:
        info = make_input(tmp / "input", args.mb, args.files)
        print(f"input: {info['docs']:,} pages, {info['mb']:.1f} MB of text in {args.files} json.gz files "
              f"(planted: {info['near']:,} near copies, {info['exact']:,} exact copies); "
              f"{args.repeats} repeats, runs interleaved\n", flush=True)
        repeats = []
        for i in range(args.repeats):
            work = tmp / f"run-{i}"
            work.mkdir()
            repeats.append(run_repeat(tmp / "input", work, args))
            shutil.rmtree(work)
            print_repeat(i + 1, repeats[-1], args)
        print_ratios(medians(repeats))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
