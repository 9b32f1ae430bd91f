"""The ablation report's figures, drawn from report.json's numbers (matplotlib, Agg): the corpora per
source, the training loss curves, and bits per byte per source with the spread over seeds."""
from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.ablate.evaluate import ALL  # noqa: E402
from pipeline.jobs.report_plots import save_figure  # noqa: E402

COLORS = ("#2b7bba", "#d9534f", "#5cb85c", "#f0ad4e", "#8e6bbf", "#5bc0de")
_NO_VERSION = {"Software": None}  # PNG metadata: the same numbers give the same bytes


def _save(fig: Any, out_dir: str, name: str) -> str:
    return save_figure(fig, out_dir, name, metadata=_NO_VERSION)


def _grouped_bars(ax: Any, groups: list[str], series: dict[str, list[float]], errors: dict[str, list] | None = None,
                  dots: dict[str, list[list[float]]] | None = None) -> None:
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
        err = (errors or {}).get(name)
        ax.bar(xs, values, width=width, label=name, color=COLORS[k % len(COLORS)],
               yerr=[e or 0 for e in err] if err else None, capsize=3)
        for x, points in zip(xs, (dots or {}).get(name, []), strict=False):
            ax.plot([x] * len(points), points, "k.", markersize=3)
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot_corpus(report: dict[str, Any], out_dir: str) -> dict[str, str]:
    sources = sorted({r["source"] for v in report["variants"] for r in v["corpus"]})
    series = {v["name"]: [next((r["tokens"] for r in v["corpus"] if r["source"] == s), 0) for s in sources]
              for v in report["variants"]}
    fig, ax = plt.subplots(figsize=(8, 4))
    _grouped_bars(ax, sources, series)
    ax.set_ylabel("tokens kept")
    return {"file": _save(fig, out_dir, "corpus.png"), "title": "Tokens per source",
            "caption": "What each variant's corpus holds, in tokens of the shared tokenizer."}


def plot_loss(report: dict[str, Any], out_dir: str) -> dict[str, str]:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = [v["name"] for v in report["variants"]]
    for run in report["runs"]:
        k = names.index(run["variant"])
        xs, ys = zip(*run["curve"], strict=True) if run["curve"] else ((), ())
        ax.plot(xs, ys, color=COLORS[k % len(COLORS)], alpha=0.75, linewidth=1,
                label=run["variant"] if run["seed"] == report["settings"]["train"]["seeds"][0] else None)
    ax.set_xlabel("training tokens")
    ax.set_ylabel("training loss (nats per token)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return {"file": _save(fig, out_dir, "loss.png"), "title": "Training loss",
            "caption": "One line per run (variant and seed), on each variant's own training data."}


def plot_bpb(report: dict[str, Any], set_name: str, out_dir: str) -> dict[str, str]:
    """Left: each variant's bits per byte per source (mean, one sd, every seed). Right: each variant
    minus the baseline (mean, every paired seed) against the band of twice the seed-to-seed spread."""
    summary = report["summary"][set_name]
    groups, names = list(summary), [v["name"] for v in report["variants"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    offsets = [(k - (len(names) - 1) / 2) * 0.8 / len(names) for k in range(len(names))]
    for k, name in enumerate(names):
        for i, group in enumerate(groups):
            s = summary[group]["bpb"].get(name)
            if s:
                x = i + offsets[k]
                left.errorbar([x], [s["mean"]], yerr=[s["sd"] or 0], fmt="o", color=COLORS[k % len(COLORS)],
                              capsize=3, label=name if i == 0 else None)
                left.plot([x] * len(s["seeds"]), s["seeds"], "k.", markersize=3)
    left.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    left.set_ylabel("bits per byte (lower is better)")
    left.legend(fontsize=8)
    left.grid(axis="y", alpha=0.3)
    diffs = {(d["b"], d["source"]): d for d in report["differences"] if d["set"] == set_name}
    for i, group in enumerate(groups):
        spreads = [d["spread"] for (_, source), d in diffs.items() if source == group and d["spread"] is not None]
        if spreads:
            right.bar([i], [4 * max(spreads)], bottom=[-2 * max(spreads)], width=0.7, color="#dddddd")
        for k, name in enumerate(names[1:], start=1):
            d = diffs.get((name, group))
            if d:
                x = i + offsets[k]
                right.plot([x], [d["delta"]], "D", color=COLORS[k % len(COLORS)], label=name if i == 0 else None)
                right.plot([x] * len(d["per_seed"]), d["per_seed"], "k.", markersize=3)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    right.set_ylabel(f"minus {names[0]} (bits per byte)")
    right.legend(fontsize=8)
    right.grid(axis="y", alpha=0.3)
    return {"file": _save(fig, out_dir, f"bpb_{set_name}.png"), "title": "Validation bits per byte",
            "caption": f"Left: mean over seeds (marker), one standard deviation (whiskers), each seed (dots). Right: "
                       f"each variant minus {names[0]} (diamond: mean; dots: each seed, paired by seed) against "
                       f"twice the seed-to-seed spread (grey band): outside the band, the difference exceeds it. "
                       f"'{ALL}' pools every document of the set."}


def plot_all(report: dict[str, Any], out_dir: str) -> list[dict[str, str]]:
    plots = [plot_corpus(report, out_dir), plot_loss(report, out_dir)]
    return plots + [plot_bpb(report, set_name, out_dir) for set_name in report["summary"]]
