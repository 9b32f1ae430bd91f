"""`corral stats`: the paper's Table 1 for a corpus run, where every document went, distributions, examples.

Every number comes from the run's own files: the Arrow shards (read here batch by batch with
pyarrow, Arrow or Parquet), manifest.json (disk sizes), stats.json (seen, drops per stage, and the token counts that
`make tokenize` merges in) and config.json (the mixture). The numbers are written to report.json;
report.md, report.html and the PNG plots beside them are renderings of it (report_html.py,
report_plots.py). Where stats.json and the shards disagree, the report lists it under "checks"
instead of silently picking one. Memory does not grow with the corpus: one record batch is read at
a time, histograms use fixed bins, counters are keyed by source, stage, reason, language and bucket,
and examples are the first few per source (and per drop reason), cut to EXAMPLE_CHARS.
"""
from __future__ import annotations

import collections
import json
import os
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core.shards import read_shard_batches, write_text_atomic
from pipeline.core.table1 import PAPER_TABLE1, PAPER_TOKENS
from pipeline.sources.registry import SOURCE_NAMES, SOURCES, MixtureConfig

# The corpus job's stage order (pipeline/jobs/corpus.py); dedup steps come in their configured order.
STAGES_BEFORE_DEDUP = ("read", "clean", "filter")
STAGES_AFTER_DEDUP = ("lang", "perplexity", "wiki_ref")
EXAMPLE_CHARS = 300
NUM_KEPT_EXAMPLES, NUM_DROPPED_EXAMPLES = 3, 2
# Fixed histogram bins: characters and perplexity on log scales, reference probability linear.
LENGTH_EDGES = [round(float(e), 3) for e in 10 ** np.arange(0.0, 8.01, 0.25)]
PPL_EDGES = [round(float(e), 3) for e in 10 ** np.arange(0.5, 5.01, 0.1)]
REF_EDGES = [round(float(e), 3) for e in np.linspace(0.0, 1.0, 26)]
_SUFFIX = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}


def parse_budget(text: str | float | int) -> float:
    """A token budget: 1.4T, 500B, 2M, 1e9 or a plain number."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMBGT]?)\s*", str(text).upper())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"token budget {text!r}: give a positive number such as 1.4T, 500B, 2M or 1e9")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def _histogram(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts over fixed bins; values outside the range go to the first or last bin."""
    clipped = np.clip(values.astype(np.float64), edges[0], edges[-1])
    return np.histogram(clipped, bins=np.asarray(edges))[0].astype(np.int64)


def _shorten(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "…"


class ShardScan:
    """Everything the report needs from the shards, accumulated one record batch at a time."""

    def __init__(self) -> None:
        self.kept: collections.Counter[str] = collections.Counter()
        self.kept_bytes: collections.Counter[str] = collections.Counter()
        self.drops: collections.Counter[tuple[str, str, str]] = collections.Counter()  # (source, stage, reason)
        self.drop_bytes: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.length: dict[str, np.ndarray] = {}  # per source (kept) and "dropped"
        self.langs = {"kept": collections.Counter(), "dropped": collections.Counter()}
        self.buckets = {"kept": collections.Counter(), "dropped": collections.Counter()}
        self.ppl = {k: np.zeros(len(PPL_EDGES) - 1, np.int64) for k in ("kept", "dropped")}
        self.ref = {k: np.zeros(len(REF_EDGES) - 1, np.int64) for k in ("kept", "dropped")}
        self.examples: dict[str, dict[str, list[dict[str, Any]]]] = {"kept": {}, "dropped": {}}

    def add(self, source: str, batch: pa.RecordBatch, dropped: bool) -> None:
        kind = "dropped" if dropped else "kept"
        text = batch.column("text")
        num_bytes = pc.binary_length(text)
        series = "dropped" if dropped else source
        chars = _histogram(pc.utf8_length(text).to_numpy(zero_copy_only=False), LENGTH_EDGES)
        self.length[series] = self.length.get(series, np.zeros(len(LENGTH_EDGES) - 1, np.int64)) + chars
        self._count_values(self.langs[kind], pc.fill_null(batch.column("lang"), "unknown"))
        self._count_values(self.buckets[kind], pc.drop_null(batch.column("ppl_bucket")))
        self.ppl[kind] += _histogram(pc.drop_null(batch.column("perplexity")).to_numpy(), PPL_EDGES)
        self.ref[kind] += _histogram(pc.drop_null(batch.column("wiki_ref_prob")).to_numpy(), REF_EDGES)
        if dropped:
            self._add_drops(source, batch, num_bytes)
        else:
            self.kept[source] += batch.num_rows
            self.kept_bytes[source] += int(pc.sum(num_bytes).as_py() or 0)
            self._add_examples(self.examples["kept"].setdefault(source, []), batch, NUM_KEPT_EXAMPLES)

    @staticmethod
    def _count_values(counter: collections.Counter, values: pa.Array) -> None:
        for item in pc.value_counts(values).to_pylist():
            counter[item["values"]] += item["counts"]

    def _add_drops(self, source: str, batch: pa.RecordBatch, num_bytes: pa.Array) -> None:
        table = pa.table({"stage": batch.column("drop_stage"), "reason": batch.column("drop_reason"),
                          "bytes": num_bytes})
        grouped = table.group_by(["stage", "reason"]).aggregate([("bytes", "sum"), ("bytes", "count")])
        for row in grouped.to_pylist():
            key = (source, row["stage"], row["reason"])
            self.drops[key] += row["bytes_count"]
            self.drop_bytes[key] += row["bytes_sum"] or 0
        for reason in sorted(pc.unique(batch.column("drop_reason")).to_pylist()):
            rows = batch.filter(pc.equal(batch.column("drop_reason"), reason))
            self._add_examples(self.examples["dropped"].setdefault(f"{source}/{reason}", []), rows,
                               NUM_DROPPED_EXAMPLES)

    @staticmethod
    def _add_examples(slot: list[dict[str, Any]], batch: pa.RecordBatch, limit: int) -> None:
        if len(slot) >= limit:
            return
        names = [n for n in ("id", "text", "url", "drop_stage", "drop_detail") if n in batch.schema.names]
        for row in batch.slice(0, limit - len(slot)).select(names).to_pylist():
            slot.append({**row, "text": _shorten(row["text"]), "chars": len(row["text"])})


def scan_shards(corpus_dir: str, manifest: dict[str, Any]) -> ShardScan:
    scan = ShardScan()
    for key, dropped in (("shards", False), ("dropped_shards", True)):
        for entry in manifest.get(key, []):
            for batch in read_shard_batches(os.path.join(corpus_dir, entry["path"])):
                scan.add(entry["source"], batch, dropped)
    return scan


def _read_json(path: str, what: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise ValueError(f"{path} is missing: {what}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_run(corpus_dir: str) -> dict[str, Any]:
    hint = f"is {corpus_dir} a corpus output? run `make corpus OUT={corpus_dir}` first"
    run = {name: _read_json(os.path.join(corpus_dir, f"{name}.json"), hint) for name in ("stats", "manifest")}
    config_path = os.path.join(corpus_dir, "config.json")
    run["config"] = _read_json(config_path, hint) if os.path.isfile(config_path) else {}
    order = {s: i for i, s in enumerate(SOURCE_NAMES)}
    run["sources"] = sorted(run["stats"]["sources"], key=lambda s: (order.get(s, len(order)), s))
    return run


def read_train_run(path: str) -> dict[str, Any]:
    """The last logged step of a pretrain run (a run folder or its metrics.jsonl) and its mixture."""
    metrics = path if path.endswith(".jsonl") else os.path.join(path, "metrics.jsonl")
    if not os.path.isfile(metrics):
        raise ValueError(f"{metrics} is missing: give a pretrain run folder (`make pretrain` writes out/pretrain)")
    with open(metrics, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.endswith("\n")]  # a killed run's half line is left out
    last = next((r for r in reversed(records) if "tokens_seen" in r), None)
    if last is None:
        raise ValueError(f"{metrics} has no step with tokens_seen yet: let the pretrain run log a step first")
    config_path = os.path.join(os.path.dirname(metrics), "config.json")
    config = _read_json(config_path, "") if os.path.isfile(config_path) else {}
    return {"metrics": metrics, "step": last.get("step"), "tokens_seen": last["tokens_seen"],
            "epochs": last.get("epochs", {}), "mixture": config.get("mixture")}


def _mixture(run: dict[str, Any], train: dict[str, Any] | None) -> tuple[dict[str, float], str]:
    if train and train.get("mixture"):
        return dict(train["mixture"]), f"the pretrain run's config ({os.path.dirname(train['metrics'])}/config.json)"
    if run["config"].get("mixture"):
        return dict(run["config"]["mixture"]), "the corpus config.json"
    return MixtureConfig().weights(), "Table 1 defaults (pipeline.sources.registry.MixtureConfig)"


def _tokens(entry: dict[str, Any]) -> dict[str, Any] | None:
    return entry.get("tokens") if isinstance(entry.get("tokens"), dict) else None


def table1(run: dict[str, Any], scan: ShardScan, weights: dict[str, float], budget: float | None,
           trainer_epochs: dict[str, float]) -> list[dict[str, Any]]:
    """Per source: documents, tokens, disk, sampling (renormalized over the sources present), epochs."""
    disk = collections.Counter()
    for entry in run["manifest"]["shards"]:
        disk[entry["source"]] += entry["bytes"]
    stats = run["stats"]["sources"]
    present = [s for s in run["sources"] if weights.get(s, 0) > 0 and scan.kept[s] > 0
               and (_tokens(stats[s]) is None or _tokens(stats[s])["tokens"] > 0)]
    total_weight = sum(weights[s] for s in present)
    rows = []
    for s in run["sources"]:
        tok = _tokens(stats[s])
        proportion = weights[s] / total_weight if s in present else 0.0
        tokens = tok["tokens"] if tok else None
        rows.append({
            "source": s, "documents": scan.kept[s], "text_bytes": scan.kept_bytes[s], "tokens": tokens,
            "tokens_per_byte": tok.get("tokens_per_byte") if tok else None, "disk_bytes": disk[s],
            "proportion_configured": weights.get(s, 0.0), "proportion": proportion,
            "epochs": proportion * budget / tokens if budget and tokens else None,
            "epochs_trainer": trainer_epochs.get(s), "paper": PAPER_TABLE1.get(s),
        })
    return rows


def _stage_order(source: str, entry: dict[str, Any], dedup_steps: list[str]) -> list[str]:
    with_drops = set(entry.get("stages", {}))
    order = [*STAGES_BEFORE_DEDUP, *(f"dedup_{s}" for s in dedup_steps), *STAGES_AFTER_DEDUP]
    order += sorted(with_drops - set(order) - {"write"}) + ["write"]
    always = {"read", "filter", "write", *(f"dedup_{s}" for s in dedup_steps)}
    always |= set(SOURCES[source].stages) if source in SOURCES else set()  # clean; the CommonCrawl models
    return [s for s in order if s in with_drops or s in always]


def funnel(run: dict[str, Any], scan: ShardScan, source: str) -> dict[str, Any]:
    """Documents and bytes in and out of each stage, from stats.json's stage drops and the dropped shards."""
    entry = run["stats"]["sources"][source]
    steps = run["config"].get("dedup", {}).get(source) or list(entry.get("dedup", {}))
    have_bytes = bool(run["manifest"].get("dropped_shards"))
    stages, docs = [], entry["seen"]
    for stage in _stage_order(source, entry, steps):
        reasons = dict(sorted(entry.get("stages", {}).get(stage, {}).get("dropped", {}).items()))
        dropped = sum(reasons.values())
        dropped_bytes = sum(scan.drop_bytes[(source, stage, r)] for r in reasons) if have_bytes else None
        stages.append({"stage": stage, "docs_in": docs, "dropped": dropped, "docs_out": docs - dropped,
                       "bytes_dropped": dropped_bytes, "reasons": reasons})
        docs -= dropped
    after = scan.kept_bytes[source]
    for row in reversed(stages):  # bytes as each document last was: written, or when dropped
        row["bytes_out"] = after
        after = after + row["bytes_dropped"] if after is not None and row["bytes_dropped"] is not None else None
        row["bytes_in"] = after
    seen = entry["seen"]
    reasons = [{"stage": row["stage"], "reason": r, "count": n, "share_of_seen": n / seen if seen else 0.0,
                "bytes": scan.drop_bytes[(source, row["stage"], r)] if have_bytes else None}
               for row in stages for r, n in row["reasons"].items()]
    return {"seen": seen, "kept": entry["kept"], "kept_bytes": entry["kept_bytes"], "dropped": seen - entry["kept"],
            "stages": stages, "reasons": reasons, "dedup": entry.get("dedup", {}),
            "perplexity_cutoffs": entry.get("perplexity_cutoffs", {})}


def checks(run: dict[str, Any], scan: ShardScan) -> list[str]:
    """Where stats.json and the shards disagree (empty for a consistent run)."""
    problems = []
    have_drops = bool(run["manifest"].get("dropped_shards"))
    for source in run["sources"]:
        s = run["stats"]["sources"][source]
        if scan.kept[source] != s["kept"] or scan.kept_bytes[source] != s["kept_bytes"]:
            problems.append(f"{source}: shards hold {scan.kept[source]} documents / {scan.kept_bytes[source]} bytes, "
                            f"stats.json says {s['kept']} / {s['kept_bytes']}")
        if s["seen"] != s["kept"] + sum(s["dropped"].values()):
            problems.append(f"{source}: stats.json seen {s['seen']} != kept + dropped")
        for stage, info in s.get("stages", {}).items() if have_drops else ():
            for reason, count in info.get("dropped", {}).items():
                if scan.drops[(source, stage, reason)] != count:
                    problems.append(f"{source}: dropped/ holds {scan.drops[(source, stage, reason)]} {stage}/{reason}, "
                                    f"stats.json says {count}")
        tok = _tokens(s)
        if tok and tok.get("documents") != s["kept"]:
            problems.append(f"{source}: tokens cover {tok.get('documents')} documents, the corpus has {s['kept']}: "
                            "run `make tokenize` again")
    return problems


def distributions(run: dict[str, Any], scan: ShardScan) -> dict[str, Any]:
    as_list = lambda arrays: {k: v.tolist() for k, v in arrays.items()}  # noqa: E731
    cc = run["config"].get("commoncrawl", {})
    return {
        "length_chars": {"edges": LENGTH_EDGES, "counts": as_list(
            {k: scan.length[k] for k in [*run["sources"], "dropped"] if k in scan.length})},
        "languages": {k: dict(v.most_common()) for k, v in scan.langs.items()},
        "perplexity": {"edges": PPL_EDGES, "counts": as_list(scan.ppl), "cutoffs": _ppl_cutoffs(run)},
        "ppl_buckets": {k: dict(sorted(v.items())) for k, v in scan.buckets.items()},
        "wiki_ref_prob": {"edges": REF_EDGES, "counts": as_list(scan.ref), "threshold": cc.get("wiki_ref_threshold")},
        "tokens_per_byte": {s: _tokens(run["stats"]["sources"][s])["tokens_per_byte"]
                            for s in run["sources"] if _tokens(run["stats"]["sources"][s])},
    }


def _ppl_cutoffs(run: dict[str, Any]) -> list[float]:
    """The English cut-offs the run used (stats.json), else the configured ones, else the ones
    `make models` recorded (an older run; best effort: plot lines only)."""
    used = run["stats"]["sources"].get("commoncrawl", {}).get("perplexity_cutoffs", {})
    if used:
        found = used.get("en", next(iter(used.values())))
        return [c for c in found["cutoffs"] if c is not None]
    cc = run["config"].get("commoncrawl", {})
    if cc.get("ppl_cutoffs"):
        return list(cc["ppl_cutoffs"])
    path = os.path.join(run["config"].get("models", {}).get("dir", ""), "manifest.json")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        lm = json.load(f).get("lm", {})
    return list(lm.get("en", next(iter(lm.values()), {})).get("cutoffs", []))


def build_report(corpus_dir: str, tokens_budget: float | str | None = None,
                 train_metrics: str | None = None) -> dict[str, Any]:
    """The report's numbers (report.json): Table 1, the funnel, distributions, examples, checks."""
    given = parse_budget(tokens_budget) if tokens_budget is not None else None  # a typo fails before the scan
    run = load_run(corpus_dir)
    train = read_train_run(train_metrics) if train_metrics else None
    scan = scan_shards(corpus_dir, run["manifest"])
    weights, mixture_from = _mixture(run, train)
    budget = float(train["tokens_seen"]) if train else given
    budget_from = "the pretrain run's tokens_seen" if train else ("--tokens-budget" if budget else None)
    return {
        "corpus": corpus_dir,
        "budget": {"tokens": budget, "from": budget_from, "train_run": train},
        "mixture_from": mixture_from,
        "table1": table1(run, scan, weights, budget, train["epochs"] if train else {}),
        "paper_tokens": PAPER_TOKENS,
        "funnel": {s: funnel(run, scan, s) for s in run["sources"]},
        "distributions": distributions(run, scan),
        "examples": scan.examples,
        "dropped_written": bool(run["manifest"].get("dropped_shards")),
        "checks": checks(run, scan),
    }


def run_stats(corpus_dir: str, out_dir: str, tokens_budget: float | str | None = None,
              train_metrics: str | None = None, console: Any = None) -> dict[str, Any]:
    """Write report.json, report.md, report.html and the plots into out_dir; print Table 1."""
    from pipeline.jobs.report_html import print_table1, render_html, render_markdown
    from pipeline.jobs.report_plots import plot_report

    report = build_report(corpus_dir, tokens_budget, train_metrics)
    os.makedirs(out_dir, exist_ok=True)
    report["plots"] = plot_report(report, out_dir)
    write_text_atomic(os.path.join(out_dir, "report.json"),
                      json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text_atomic(os.path.join(out_dir, "report.md"), render_markdown(report))
    write_text_atomic(os.path.join(out_dir, "report.html"), render_html(report))
    print_table1(report, console)
    return report


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as dotted keys: {"c4": {"min_words": 3}} -> {"c4.min_words": 3}."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_differences(a: dict[str, Any], b: dict[str, Any], skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The dotted keys whose values differ between two config dicts (keys in `skip` left out)."""
    fa, fb = flatten_config(a), flatten_config(b)
    return [{"key": k, "a": fa.get(k), "b": fb.get(k)} for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k) and k not in skip]


def compare_runs(run_a: str, run_b: str) -> dict[str, Any]:
    """Two corpus runs side by side: config differences, kept and dropped per source and reason, deltas."""
    a, b = load_run(run_a), load_run(run_b)
    config_diff = config_differences(a["config"], b["config"], skip=("input", "output"))
    sources, reasons = [], []
    for source in sorted(set(a["sources"]) | set(b["sources"]), key=lambda s: (s not in SOURCE_NAMES, s)):
        sa, sb = a["stats"]["sources"].get(source, {}), b["stats"]["sources"].get(source, {})
        row = {"source": source}
        for key in ("seen", "kept", "kept_bytes"):
            row[key] = {"a": sa.get(key, 0), "b": sb.get(key, 0), "delta": sb.get(key, 0) - sa.get(key, 0)}
        sources.append(row)
        da, db = sa.get("dropped", {}), sb.get("dropped", {})
        for reason in sorted(set(da) | set(db)):
            reasons.append({"source": source, "reason": reason, "a": da.get(reason, 0), "b": db.get(reason, 0),
                            "delta": db.get(reason, 0) - da.get(reason, 0)})
    return {"a": run_a, "b": run_b, "config_diff": config_diff,
            "sources": sources, "reasons": reasons}


def run_compare(run_a: str, run_b: str, out_dir: str, console: Any = None) -> dict[str, Any]:
    """Write report_compare.json, .md and .html (and a plot) into out_dir; print the per-source deltas."""
    from pipeline.jobs.report_html import print_compare, render_compare_html, render_compare_markdown
    from pipeline.jobs.report_plots import plot_compare

    compare = compare_runs(run_a, run_b)
    os.makedirs(out_dir, exist_ok=True)
    compare["plots"] = plot_compare(compare, out_dir)
    write_text_atomic(os.path.join(out_dir, "report_compare.json"),
                      json.dumps(compare, indent=2, sort_keys=True) + "\n")
    write_text_atomic(os.path.join(out_dir, "report_compare.md"), render_compare_markdown(compare))
    write_text_atomic(os.path.join(out_dir, "report_compare.html"), render_compare_html(compare))
    print_compare(compare, console)
    return compare


def add_stats_parser(sub: Any) -> None:
    p = sub.add_parser("stats",
                       help="Table 1, the funnel, distributions and examples of a corpus run (report.md/.html)")
    p.add_argument("corpus", nargs="?", default="out/corpus", help="the corpus output folder (default: out/corpus)")
    p.add_argument("--output", default="out/stats", help="report folder (default: out/stats)")
    p.add_argument("--tokens-budget", help="tokens trained on, for the epochs column: 1.4T (the paper), 500B, 1e9")
    p.add_argument("--train-run",
                   help="a pretrain run folder: its last tokens_seen is the budget (wins over --tokens-budget)")
    p.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"), help="two corpus runs side by side instead")


def run_stats_command(args: Any) -> int:
    if args.compare:
        run_compare(args.compare[0], args.compare[1], args.output)
    else:
        report = run_stats(args.corpus, args.output, args.tokens_budget, args.train_run)
        for problem in report["checks"]:
            print(f"stats: check: {problem}")
    print(f"wrote {args.output}/ ({'report_compare' if args.compare else 'report'}.md, .html, .json and plots)")
    return 0
