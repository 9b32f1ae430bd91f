"""The ablation's report: report.json (every number), report.md and report.html (renderings of it) and
the figures beside them (pipeline/ablate/plots.py).

Spread over seeds: the sample standard deviation of a variant's per-seed values. A difference
between two variants is the mean of the per-seed differences (the same seed: the same initial
weights and the same sampler seed, so the seeds pair up). It "exceeds the seed-to-seed spread" when
its size is more than twice the larger of the two variants' standard deviations; with one seed
there is no spread to compare with, and the report says so.
"""
from __future__ import annotations

import html
import json
import os
import statistics
from typing import Any

from pipeline.ablate.evaluate import ALL
from pipeline.core.shards import write_text_atomic
from pipeline.jobs.report_html import (
    Table,
    fmt_bytes,
    fmt_int,
    fmt_pct,
    html_figures,
    html_page,
    html_table,
    md_table,
)
from pipeline.jobs.stats import config_differences

HELDOUT, USER = "heldout", "user"
SET_TITLES = {HELDOUT: "held-out input documents", USER: "the user's evaluation corpus"}
MAX_CURVE_POINTS = 200


# --- numbers -------------------------------------------------------------------------------------
def config_changes(first: dict[str, Any], other: dict[str, Any]) -> list[dict[str, Any]]:
    """The config keys whose values differ (paths the ablation sets per variant left out)."""
    return config_differences(first, other, skip=("output", "tokens.dir"))


def corpus_table(stats: dict[str, Any], weights: dict[str, float], epochs: dict[str, float]) -> list[dict[str, Any]]:
    """Per source: read, held out, dropped by the config, kept, bytes, tokens, share, sampling, epochs."""
    sources = stats["sources"]
    tokens = {s: e.get("tokens", {}).get("tokens", 0) for s, e in sources.items()}
    total_tokens = sum(tokens.values()) or 1
    present = {s: weights.get(s, 0.0) for s in sources if tokens[s] > 0 and weights.get(s, 0.0) > 0}
    total_weight = sum(present.values()) or 1.0
    rows = []
    for source, e in sources.items():
        held = e["dropped"].get("held_out", 0)
        rows.append({"source": source, "read": e["seen"], "held_out": held,
                     "dropped": sum(e["dropped"].values()) - held, "kept": e["kept"], "kept_bytes": e["kept_bytes"],
                     "tokens": tokens[source], "token_share": tokens[source] / total_tokens,
                     "sampling": present.get(source, 0.0) / total_weight, "epochs": epochs.get(source)})
    return rows


def curve(records: list[dict[str, Any]]) -> list[list[float]]:
    """(tokens seen, training loss) points, at most MAX_CURVE_POINTS, the last step always in."""
    points = [[r["tokens_seen"], r["loss"]] for r in records if "loss" in r]
    step = max(1, -(-len(points) // MAX_CURVE_POINTS))
    return points[::step] + ([points[-1]] if points and (len(points) - 1) % step else [])


def _stats(values: list[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values), "seeds": values}


def summarize(runs: list[dict[str, Any]], variants: list[str]) -> dict[str, Any]:
    """{set: {source: {metric: {variant: stats over seeds}}}} for bpb and loss."""
    out: dict[str, Any] = {}
    for run in runs:
        for set_name, sources in run["eval"].items():
            for source, row in sources.items():
                for metric in ("bpb", "loss"):
                    slot = out.setdefault(set_name, {}).setdefault(source, {}).setdefault(metric, {})
                    slot.setdefault(run["variant"], []).append(row[metric])
    for set_name, sources in out.items():
        for metrics in sources.values():
            for metric, by_variant in metrics.items():
                metrics[metric] = {v: _stats(by_variant[v]) for v in variants if v in by_variant}
        out[set_name] = {s: sources[s] for s in [ALL, *sorted(k for k in sources if k != ALL)]}
    return out


def difference(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """b - a over paired seeds; whether it exceeds twice the larger sd; whether every seed agrees."""
    per_seed = [y - x for x, y in zip(a["seeds"], b["seeds"], strict=True)]
    delta = statistics.fmean(per_seed)
    spread = max(a["sd"], b["sd"]) if a["sd"] is not None and b["sd"] is not None else None
    exceeds = None if spread is None else abs(delta) > 2 * spread
    agree = all(d < 0 for d in per_seed) or all(d > 0 for d in per_seed)
    return {"delta": delta, "per_seed": per_seed, "spread": spread, "exceeds": exceeds, "seeds_agree": agree}


def differences(summary: dict[str, Any], variants: list[str]) -> list[dict[str, Any]]:
    """Every variant against the first, per set and source, in bits per byte."""
    base, out = variants[0], []
    for other in variants[1:]:
        for set_name, sources in summary.items():
            for source, metrics in sources.items():
                bpb = metrics["bpb"]
                if base in bpb and other in bpb:
                    d = difference(bpb[base], bpb[other])
                    out.append({"a": base, "b": other, "set": set_name, "source": source, **d})
    return out


def statement(d: dict[str, Any]) -> str:
    """One plain sentence about a difference in bits per byte."""
    where = f"on {SET_TITLES[d['set']]}" + ("" if d["source"] == ALL else f" from {d['source']}")
    better, worse = (d["b"], d["a"]) if d["delta"] < 0 else (d["a"], d["b"])
    n = len(d["per_seed"])
    head = (f"{better} reaches {abs(d['delta']):.4f} bits per byte less than {worse} {where} "
            f"(mean of {n} paired seed{'s' if n > 1 else ''}).")
    if d["exceeds"] is None:
        return head + " With one seed there is no seed-to-seed spread to compare with: run SEEDS=3 or more."
    spread = f"twice the seed-to-seed spread (2 x {d['spread']:.4f}, the larger standard deviation over seeds)"
    if d["exceeds"] and d["seeds_agree"]:
        return head + f" That exceeds {spread} and every seed agrees: a real difference at this scale."
    if d["exceeds"]:
        return head + f" That exceeds {spread}, but not every seed agrees: weak evidence."
    return head + f" That does not exceed {spread}: these seeds cannot tell the variants apart."


def repetition_note(variants: list[dict[str, Any]]) -> str | None:
    """A plain warning when runs repeat their data: then corpus size, not only quality, decides."""
    epochs = [(r["epochs"], v["name"], r["source"]) for v in variants for r in v["corpus"] if r["epochs"] is not None]
    if not epochs or max(epochs)[0] <= 1.0:
        return None
    most, name, source = max(epochs)
    return (f"The runs see some of their data more than once (most: {name}'s {source}, "
            f"{most:.1f} epochs): at this budget a larger corpus gains partly by repeating less. FineWeb and "
            f"DCLM compare at a budget under one epoch of every corpus (more input, or fewer TOKENS).")


# --- tables --------------------------------------------------------------------------------------
def _num(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _verdict(d: dict[str, Any] | None) -> str:
    if d is None or d["exceeds"] is None:
        return "n/a"
    if not d["exceeds"]:
        return "no"
    return "yes" if d["seeds_agree"] else "yes, seeds disagree"


def _mean_sd(s: dict[str, Any] | None) -> str:
    if s is None:
        return "n/a"
    return f"{s['mean']:.4f}" + (f" ± {s['sd']:.4f}" if s["sd"] is not None else "")


def corpus_rows(variant: dict[str, Any]) -> Table:
    headers = ["source", "read", "held out", "dropped", "kept", "kept bytes", "tokens", "share of tokens",
               "sampling", "epochs"]
    rows = [[r["source"], fmt_int(r["read"]), fmt_int(r["held_out"]), fmt_int(r["dropped"]), fmt_int(r["kept"]),
             fmt_bytes(r["kept_bytes"]), fmt_int(r["tokens"]), fmt_pct(r["token_share"]), fmt_pct(r["sampling"]),
             _num(r["epochs"], 2)] for r in variant["corpus"]]
    t = variant["totals"]
    rows.append(["total", fmt_int(t["read"]), fmt_int(t["held_out"]), fmt_int(t["dropped"]), fmt_int(t["kept"]),
                 fmt_bytes(t["kept_bytes"]), fmt_int(t["tokens"]), "100.0%", "100.0%", ""])
    return headers, rows


def eval_table(report: dict[str, Any], set_name: str, metric: str) -> Table:
    variants = [v["name"] for v in report["variants"]]
    sizes = report["eval_sets"][set_name]
    diffs = {(d["b"], d["source"]): d for d in report["differences"] if d["set"] == set_name}
    headers = ["source", "documents", "bytes", *(f"{v} (mean ± sd)" for v in variants)]
    if metric == "bpb":
        headers += [h for v in variants[1:] for h in (f"{v} − {variants[0]}", "exceeds 2 sd")]
    rows = []
    for source, metrics in report["summary"][set_name].items():
        size = sizes[source]
        row = [source, fmt_int(size["documents"]), fmt_bytes(size["bytes"]),
               *(_mean_sd(metrics[metric].get(v)) for v in variants)]
        if metric == "bpb":
            for v in variants[1:]:
                d = diffs.get((v, source))
                verdict = _verdict(d)
                row += ["n/a" if d is None else f"{d['delta']:+.4f}", verdict]
        rows.append(row)
    return headers, rows


def seed_table(report: dict[str, Any]) -> Table:
    sources = [s for s in report["summary"].get(HELDOUT, {}) if s != ALL]
    headers = ["variant", "seed", "final train loss", "bpb all", *(f"bpb {s}" for s in sources)]
    rows = []
    for run in report["runs"]:
        evals = run["eval"].get(HELDOUT, {})
        rows.append([run["variant"], str(run["seed"]), _num(run["final_loss"]), _num(evals.get(ALL, {}).get("bpb")),
                     *(_num(evals.get(s, {}).get("bpb")) for s in sources)])
    return headers, rows


def changes_table(report: dict[str, Any]) -> Table:
    first = report["variants"][0]["name"]
    rows = [[v["name"], c["key"], json.dumps(c["a"]), json.dumps(c["b"])]
            for v in report["variants"][1:] for c in v["changes"]]
    return ["variant", "config key", first, "variant's value"], rows


def setup_lines(report: dict[str, Any]) -> list[str]:
    s, t, e = report["settings"], report["settings"]["train"], report["settings"]["eval"]
    user = f"; and {e['corpus']}, at most {e['max_docs']:,} documents a source" if e.get("corpus") else ""
    variants = ", ".join(v["name"] + ("" if v["spec"] == v["name"] else f" ({v['spec']})") for v in report["variants"])
    return [f"Input: {s['input']}. Variants: {variants}, the first the baseline.",
            f"Model: the {t['model']} preset ({t['parameters'] / 1e6:.2f}M parameters, vocabulary {t['vocab']:,}, "
            f"one tokenizer for every variant), trainer preset {t['preset']}, {t['steps']:,} steps of "
            f"{t['batch_tokens']:,} tokens = {t['tokens']:,} training tokens per run, seeds "
            f"{', '.join(map(str, t['seeds']))}.",
            f"Evaluation: held-out documents of the input, read before any filter: a share of at most "
            f"{e['fraction']:g} of each source's documents and at most {e['max_docs']:,} a source, chosen by a hash "
            f"of their ids (seed {e['seed']}), out of every variant's training data{user}."]


# --- Markdown and HTML ---------------------------------------------------------------------------
def _figure_md(p: dict[str, str]) -> str:
    return f"![{p['title']}]({p['file']})\n\n{p['caption']}\n"


def render_markdown(report: dict[str, Any]) -> str:
    names = " vs ".join(v["name"] for v in report["variants"])
    out = [f"# Ablation: {names}\n", *(f"- {line}" for line in report["verdicts"] + report["notes"]), "",
           "## Setup\n", *(f"- {line}" for line in setup_lines(report)), "",
           "What the variants' configs change:\n", md_table(changes_table(report)), "## Corpora\n"]
    for v in report["variants"]:
        out += [f"### {v['name']}\n", md_table(corpus_rows(v))]
    out += [_figure_md(p) for p in report["plots"] if p["file"] == "corpus.png"]
    out += ["## Training loss\n", *(_figure_md(p) for p in report["plots"] if p["file"] == "loss.png")]
    for set_name in report["summary"]:
        out += [f"## Validation on {SET_TITLES[set_name]}\n", "Bits per byte (lower is better):\n",
                md_table(eval_table(report, set_name, "bpb")), "Loss (nats per token, one tokenizer):\n",
                md_table(eval_table(report, set_name, "loss"))]
        out += [_figure_md(p) for p in report["plots"] if p["file"] == f"bpb_{set_name}.png"]
    out += ["## Every run\n", md_table(seed_table(report)), "## How to read this\n", HOW_TO_READ]
    return "\n".join(out)


HOW_TO_READ = (
    "Each variant's corpus is built from the same input by its own config; the documents of the evaluation set "
    "were taken out of the input before either config saw it, so no variant is scored on what it chose to keep. "
    "Every run trains the same model from the same initial weights (per seed) for the same number of tokens, "
    "with one tokenizer, so losses compare; bits per byte also compare with other tokenizers. A difference "
    "counts when it exceeds twice the seed-to-seed standard deviation and every seed agrees. Held-out raw input "
    "resembles an unfiltered corpus: a filter that removes what the raw input is made of can look worse here "
    "while helping elsewhere; give a clean evaluation corpus (--eval-corpus) to see the other side.\n")


def render_html(report: dict[str, Any]) -> str:
    h = html.escape
    names = " vs ".join(v["name"] for v in report["variants"])
    body = [f"<h1>Ablation: {h(names)}</h1>\n<ul>"
            + "".join(f"<li>{h(v)}</li>" for v in report["verdicts"] + report["notes"]),
            "</ul>\n<h2>Setup</h2>\n<ul>" + "".join(f"<li>{h(line)}</li>" for line in setup_lines(report)),
            "</ul>\n<p>What the variants' configs change:</p>\n", html_table(changes_table(report), text_cols=4),
            "<h2>Corpora</h2>\n"]
    for v in report["variants"]:
        body += [f"<h3>{h(v['name'])}</h3>\n", html_table(corpus_rows(v), total_row=True)]
    body += html_figures([p for p in report["plots"] if p["file"] == "corpus.png"])
    body += ["<h2>Training loss</h2>\n", *html_figures([p for p in report["plots"] if p["file"] == "loss.png"])]
    for set_name in report["summary"]:
        body += [f"<h2>Validation on {h(SET_TITLES[set_name])}</h2>\n<p>Bits per byte (lower is better):</p>\n",
                 html_table(eval_table(report, set_name, "bpb")),
                 "<p>Loss (nats per token, one tokenizer):</p>\n", html_table(eval_table(report, set_name, "loss"))]
        body += html_figures([p for p in report["plots"] if p["file"] == f"bpb_{set_name}.png"])
    body += ["<h2>Every run</h2>\n", html_table(seed_table(report), text_cols=2),
             f"<h2>How to read this</h2>\n<p>{h(HOW_TO_READ)}</p>\n"]
    return html_page(f"corral ablation: {names}", body)


def write_report(report: dict[str, Any], out_dir: str) -> None:
    """report.json, report.md, report.html and the figures, into out_dir."""
    from pipeline.ablate.plots import plot_all

    report["plots"] = plot_all(report, out_dir)
    write_text_atomic(os.path.join(out_dir, "report.json"), json.dumps(report, indent=1, sort_keys=True) + "\n")
    write_text_atomic(os.path.join(out_dir, "report.md"), render_markdown(report))
    write_text_atomic(os.path.join(out_dir, "report.html"), render_html(report))
