"""CommonCrawl path benchmark: each CCNet stage alone, and the Beam job against the same stages bare.

    .venv/bin/python -m benchmarks.commoncrawl [--copies 30]

Input: the English WARC files of ../shared/corpus-samples/commoncrawl (wget_sample-0000/0001),
copied `--copies` times under new names into a temporary input root (so ids differ). Models:
trained by `corral models` on ../shared/corpus-samples (SentencePiece + KenLM on its English
Wikipedia, the reference classifier) into a temporary folder; lid.176 from its package.

1. Stage by stage, called directly on every document, one process: WARC read + HTML extraction,
   dedup hashing (exact content hash and CCNet line hashes), language ID, KenLM perplexity,
   reference classifier. MB/s of WARC (compressed and not) and of extracted text, per core.
2. The Beam job (FnApiRunner, one worker) for commoncrawl alone, thresholds opened so every
   document goes through every stage and dedup steps off, against the same stages called bare
   in a loop: the job's share of the bare speed.
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
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


def _input_root(folder: Path, copies: int) -> Path:
    cc = folder / "input" / "commoncrawl"
    cc.mkdir(parents=True)
    for i in range(copies):
        for name in FILES:
            shutil.copy(SHARED / "commoncrawl" / name, cc / f"copy{i:02d}-{name}")
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    try:
        models_dir = work / "models"
        assert corral(["models", "--input", str(SHARED), "--set", f"models.dir={models_dir}"]) == 0
        root = _input_root(work, args.copies)
        overrides = [f"models.dir={models_dir}", "commoncrawl.lang_threshold=0", "commoncrawl.wiki_ref_threshold=0",
                     "commoncrawl.keep_buckets=head,middle,tail", "dedup.commoncrawl=[]", f"input={root}"]
        cfg = load_corpus_config("sample", overrides)
        models = CommonCrawlModels(*commoncrawl_models(cfg))
        warc_gz = sum(f.stat().st_size for f in (root / "commoncrawl").iterdir())
        warc = sum(len(gzip.decompress(f.read_bytes())) for f in (root / "commoncrawl").iterdir())
        docs, times = _stages(root, cfg, models)
        text = sum(len(d.text.encode()) for d in docs)
        print(f"{len(docs)} documents; WARC {warc / 1e6:.1f} MB ({warc_gz / 1e6:.1f} MB gzip), extracted text "
              f"{text / 1e6:.2f} MB\n")
        print("| stage (bare, one core) | seconds | MB/s of WARC | MB/s of text |")
        print("|---|---:|---:|---:|")
        for name, seconds in times.items():
            print(f"| {name} | {seconds:.2f} | {warc / 1e6 / seconds:.1f} | {text / 1e6 / seconds:.2f} |")
        bare = sum(v for k, v in times.items() if k != "dedup hashing")
        print(f"| all but dedup, bare | {bare:.2f} | {warc / 1e6 / bare:.1f} | {text / 1e6 / bare:.2f} |")
        out = str(work / "out")
        _, job = _timed(run_pipeline, cfg, ("commoncrawl",), out, ["--runner=FnApiRunner"])
        print(f"| the Beam job (FnApiRunner, 1 worker, same stages) | {job:.2f} | {warc / 1e6 / job:.1f} | "
              f"{text / 1e6 / job:.2f} |")
        print(f"\nBeam job / bare stages: {bare / job:.2f} of the bare speed")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
