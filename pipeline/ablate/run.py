"""`corral ablate` / `make ablate`: does a filter help? The FineWeb / DCLM way of deciding: train the
same small model on each config's corpus and compare on documents neither config chose.

  1. held-out set:  documents of the input, before any filter, out of every variant (corpora.py)
  2. corpora:       each config's corpus job on the same input, the held-out documents dropped at read
  3. tokenizer:     one, on an equal share of every variant's corpus, so losses compare
  4. token shards:  each variant's corpus encoded with it
  5. training:      the same trainer preset, token budget and seeds on every variant (training.py)
  6. evaluation:    every run's final checkpoint on the held-out set, per source (evaluate.py)
  7. report:        out/ablate/report.{json,md,html} and figures (report.py, plots.py)

Each step is reused when what made it is unchanged (reuse.py); --fresh does everything again.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.ablate import corpora, reuse
from pipeline.ablate.evaluate import ALL, evaluate_run, read_eval_set
from pipeline.ablate.report import (
    HELDOUT,
    USER,
    config_changes,
    corpus_table,
    curve,
    differences,
    repetition_note,
    statement,
)
from pipeline.ablate.report import summarize as summarize_runs
from pipeline.ablate.training import TrainPlan, train_run
from pipeline.core.config import config_to_dict
from pipeline.core.shards import file_sha256
from pipeline.jobs.heldout import HeldoutSettings
from pipeline.sources.registry import SOURCE_NAMES

DEFAULT_CONFIGS = ("sample", "sample-nofilter")


@dataclasses.dataclass(frozen=True)
class AblateSpec:
    configs: tuple[str, ...] = DEFAULT_CONFIGS
    input: str | None = None  # default: the configs' own input
    out: str = "out/ablate"
    overrides: tuple[str, ...] = ()  # applied to every config
    train: TrainPlan = TrainPlan()
    heldout: HeldoutSettings = HeldoutSettings()
    eval_corpus: str | None = None  # a corpus run (manifest.json + shards) to evaluate on as well
    fresh: bool = False
    jobs: int = 1  # training runs at once (CPU: one core each with the pretrain_ablate preset)


def spec_from_args(args: argparse.Namespace) -> AblateSpec:
    from pipeline.jobs.stats import parse_budget

    if args.seeds < 1:
        raise ValueError(f"--seeds {args.seeds}: give at least 1 (3 or more to see the seed-to-seed spread)")
    if args.nproc_per_node < 0 or args.jobs < 1:
        raise ValueError("--nproc-per-node must be 0 or more and --jobs at least 1")
    if args.eval_corpus and not os.path.isfile(os.path.join(args.eval_corpus, "manifest.json")):
        raise ValueError(f"--eval-corpus {args.eval_corpus} holds no manifest.json: give a `corral corpus` output")
    train = TrainPlan(args.train_config, tuple(args.train_overrides),
                      parse_budget(args.tokens) if args.tokens else None,
                      tuple(range(1, args.seeds + 1)), args.nproc_per_node)
    return AblateSpec(tuple(args.configs or DEFAULT_CONFIGS), args.input, args.output, tuple(args.overrides), train,
                      HeldoutSettings(args.eval_fraction, args.eval_max_docs, args.eval_seed),
                      os.path.abspath(args.eval_corpus) if args.eval_corpus else None, args.fresh, args.jobs)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("ablate", help="train the same small model on the corpora of two or more configs and compare")
    p.add_argument("configs", nargs="*", metavar="CONFIG",
                   help=f"presets or YAML files, the first is the baseline (default: {' '.join(DEFAULT_CONFIGS)})")
    p.add_argument("--input", help="input root (default: the configs' own)")
    p.add_argument("--output", default="out/ablate", help="the ablation's folder")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="a.b=value",
                   help="override a key of every config")
    p.add_argument("--seeds", type=int, default=3, help="runs per variant, seeds 1..N")
    p.add_argument("--tokens", help="training tokens per run (128K, 2B, ...); default: the trainer preset's steps")
    p.add_argument("--train-config", default="pretrain_ablate", help="trainer preset or YAML file")
    p.add_argument("--train-set", dest="train_overrides", action="append", default=[], metavar="key=value",
                   help="override a trainer key")
    p.add_argument("--nproc-per-node", type=int, default=0,
                   help="train each run under torchrun with N processes (0: a plain process)")
    p.add_argument("--jobs", type=int, default=1, help="training runs at once (CPU: one per core)")
    p.add_argument("--eval-fraction", type=float, default=0.2, help="at most this share of a source is held out")
    p.add_argument("--eval-max-docs", type=int, default=1000, help="and at most this many documents a source")
    p.add_argument("--eval-seed", type=int, default=1, help="seed of the hash that picks held-out documents")
    p.add_argument("--eval-corpus", help="also evaluate on this corpus run (e.g. a clean `corral corpus` output)")
    p.add_argument("--fresh", action="store_true", help="do every step again, reusing nothing")
    return p


def run_ablation(spec: AblateSpec, beam_args: list[str]) -> dict[str, Any]:
    start = time.time()

    def log(message: str) -> None:
        print(f"[ablate {time.time() - start:6.1f}s] {message}", flush=True)

    out = os.path.abspath(spec.out)
    variants = corpora.load_variants(list(spec.configs), spec.input, list(spec.overrides), out)
    spec.train.steps()  # a bad trainer preset or key stops here, before anything runs
    first = variants[0].cfg
    union = tuple(s for s in SOURCE_NAMES if any(s in v.cfg.sources for v in variants))
    input_fp = reuse.input_fingerprint(dataclasses.replace(first, sources=union))
    heldout = corpora.build_heldout(variants, spec.heldout, out, spec.eval_corpus, beam_args, spec.fresh, log)
    models_built: set[str] = set()
    for v in variants:
        corpora.build_corpus(v, input_fp, beam_args, spec.fresh, models_built, log)
    tokenizer = corpora.build_tokenizer(variants, spec.fresh, log)
    for v in variants:
        corpora.encode(v, tokenizer, beam_args, spec.fresh, log)
    runs = [(v, seed, os.path.join(out, "runs", v.name, f"seed-{seed}")) for seed in spec.train.seeds for v in variants]

    def train(item: tuple[corpora.Variant, int, str]) -> None:
        v, seed, run_dir = item
        began = time.time()
        trained = train_run(spec.train, v.tokens_dir, tokenizer, run_dir, seed, spec.fresh)
        log(f"{v.name} seed {seed}: " + (f"trained in {time.time() - began:.1f}s" if trained else "run reused")
            + f" ({run_dir}/)")

    with ThreadPoolExecutor(max_workers=spec.jobs) as pool:  # each run is a process of its own
        list(pool.map(train, runs))
    eval_sets = {HELDOUT: read_eval_set(os.path.dirname(heldout))}
    if spec.eval_corpus:
        eval_sets[USER] = read_eval_set(os.path.join(out, "eval-user"))
    records = [_run_record(v, seed, run_dir, out, eval_sets, spec.train) for v, seed, run_dir in runs]
    log(f"evaluated {len(records)} runs on {sum(len(t) for s in eval_sets.values() for t in s.values()):,} documents")
    report = build_report(spec, variants, records, heldout, tokenizer, out)
    from pipeline.ablate.report import write_report

    write_report(report, out)
    for line in report["verdicts"] + report["notes"]:
        print(line)
    log(f"report: {out}/report.md, report.html, report.json and figures")
    return report


def _run_record(v: corpora.Variant, seed: int, run_dir: str, out: str, eval_sets: dict, plan: TrainPlan) -> dict:
    from train.metrics import read_metrics

    evals = evaluate_run(run_dir, eval_sets, batch=plan.config(v.tokens_dir, "", run_dir, seed).micro_batch)
    with open(os.path.join(run_dir, "eval.json"), "w", encoding="utf-8") as f:
        json.dump(evals, f, indent=1, sort_keys=True)
    records = read_metrics(os.path.join(run_dir, "metrics.jsonl"))
    last = records[-1] if records else {}
    return {"variant": v.name, "seed": seed, "dir": os.path.relpath(run_dir, out), "checkpoint": evals["checkpoint"],
            "steps": last.get("step"), "tokens_seen": last.get("tokens_seen"), "final_loss": last.get("loss"),
            "epochs": last.get("epochs", {}), "curve": curve(records), "eval": evals["sets"]}


def _variant_record(v: corpora.Variant, first: corpora.Variant, records: list[dict], weights: dict) -> dict:
    with open(os.path.join(v.corpus_dir, "stats.json"), encoding="utf-8") as f:
        stats = json.load(f)
    mine = [r for r in records if r["variant"] == v.name]
    epochs = {s: sum(r["epochs"].get(s, 0.0) for r in mine) / len(mine) for s in stats["sources"]} if mine else {}
    rows = corpus_table(stats, weights, epochs)
    totals = {k: sum(r[k] for r in rows) for k in ("read", "held_out", "dropped", "kept", "kept_bytes", "tokens")}
    return {"name": v.name, "spec": v.spec, "corpus": rows, "totals": totals,
            "changes": config_changes(config_to_dict(first.cfg), config_to_dict(v.cfg))}


def build_report(spec: AblateSpec, variants: list[corpora.Variant], records: list[dict], heldout: str,
                 tokenizer: str, out: str) -> dict[str, Any]:
    import sentencepiece as spm

    from train.checkpoint import read_state
    from train.model import ModelConfig, count_params

    names = [v.name for v in variants]
    train_cfg = spec.train.config(variants[0].tokens_dir, tokenizer, "", spec.train.seeds[0])
    checkpoint = os.path.join(out, records[0]["dir"], records[0]["checkpoint"])
    model_cfg = ModelConfig(**read_state(checkpoint)["model_config"])
    with open(heldout, encoding="utf-8") as f:
        index = json.load(f)
    summary = summarize_runs(records, names)
    diffs = differences(summary, names)
    sizes = {name: {s: {k: row[k] for k in ("documents", "bytes", "tokens")} for s, row in sets.items()}
             for name, sets in records[0]["eval"].items()}
    batch_tokens = train_cfg.global_windows(max(1, spec.train.nproc)) * train_cfg.seq_len
    variant_records = [_variant_record(v, variants[0], records, train_cfg.mixture.weights()) for v in variants]
    return {
        "settings": {
            "input": os.path.relpath(variants[0].cfg.input),
            "train": {"preset": spec.train.preset, "overrides": list(spec.train.overrides), "model": train_cfg.model,
                      "parameters": count_params(model_cfg), "seq_len": train_cfg.seq_len,
                      "batch_tokens": batch_tokens, "steps": train_cfg.steps, "tokens": batch_tokens * train_cfg.steps,
                      "seeds": list(spec.train.seeds), "nproc": spec.train.nproc,
                      "vocab": spm.SentencePieceProcessor(model_file=tokenizer).get_piece_size(),
                      "tokenizer_sha256": file_sha256(tokenizer)},
            "eval": {**dataclasses.asdict(spec.heldout), "corpus": spec.eval_corpus},
        },
        "heldout": index["sources"],
        "eval_sets": sizes,
        "variants": variant_records,
        "runs": records,
        "summary": summary,
        "differences": diffs,
        "verdicts": [statement(d) for d in diffs if d["source"] == ALL],
        "notes": [note for note in [repetition_note(variant_records)] if note],
    }
