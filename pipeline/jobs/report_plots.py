"""The stats report's figures: one PNG per plot, drawn with matplotlib's Agg backend from report.json.

Each function takes the report's numbers (never the shards), so a plot shows exactly what the
tables say. A plot with no data (no CommonCrawl in the run, no `make tokenize` yet) is not drawn;
plot_report returns the ones written, as {file, title, caption}.
"""
from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

KEPT, DROPPED = "#2b7bba", "#d9534f"
_DPI = 100


def save_figure(fig: Any, out_dir: str, name: str, **savefig: Any) -> str:
    """Lay out, write out_dir/name (PNG at _DPI; `savefig`: more of matplotlib's options), close; the name."""
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=_DPI, **savefig)
    plt.close(fig)
    return name


def _bin_bars(ax: Any, edges: list[float], series: dict[str, list[int]], colors: dict[str, str] | None = None,
              log_x: bool = False) -> None:
    """Stacked bars over fixed bins (a histogram from counts)."""
    bottom = [0] * (len(edges) - 1)
    lefts, widths = edges[:-1], [hi - lo for lo, hi in zip(edges, edges[1:], strict=False)]
    for name, counts in series.items():
        ax.bar(lefts, counts, width=widths, bottom=bottom, align="edge", label=name,
               color=(colors or {}).get(name), edgecolor="white", linewidth=0.3)
        bottom = [b + c for b, c in zip(bottom, counts, strict=False)]
    if log_x:
        ax.set_xscale("log")
    ax.set_ylabel("documents")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def _trim(edges: list[float], series: dict[str, list[int]]) -> tuple[list[float], dict[str, list[int]]]:
    """Only the range of bins that hold documents (plus one either side)."""
    used = [i for i in range(len(edges) - 1) if any(c[i] for c in series.values())]
    lo, hi = max(used[0] - 1, 0), min(used[-1] + 2, len(edges) - 1)
    return edges[lo:hi + 1], {k: v[lo:hi] for k, v in series.items()}


def plot_funnel(report: dict[str, Any], out_dir: str) -> str:
    funnel = report["funnel"]
    sources = list(funnel)
    kept = [funnel[s]["kept"] for s in sources]
    dropped = [funnel[s]["dropped"] for s in sources]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(sources, kept, color=KEPT, label="kept")
    ax.barh(sources, dropped, left=kept, color=DROPPED, label="dropped")
    for i, (k, d) in enumerate(zip(kept, dropped, strict=True)):
        ax.text(k + d, i, f" {k}/{k + d}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("documents read")
    ax.set_xlim(0, max([k + d for k, d in zip(kept, dropped, strict=True)] + [1]) * 1.15)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Documents kept and dropped per source")
    return save_figure(fig, out_dir, "funnel.png")


def plot_length(report: dict[str, Any], out_dir: str) -> str | None:
    dist = report["distributions"]["length_chars"]
    series = {k: v for k, v in dist["counts"].items() if k != "dropped" and sum(v)}
    if not series:
        return None
    edges, series = _trim(dist["edges"], series)
    fig, ax = plt.subplots(figsize=(8, 4))
    _bin_bars(ax, edges, series, log_x=True)
    ax.set_xlabel("document length (characters, log scale)")
    ax.set_title("Kept document length by source")
    return save_figure(fig, out_dir, "length_chars.png")


def plot_languages(report: dict[str, Any], out_dir: str) -> str | None:
    langs = report["distributions"]["languages"]
    names = sorted(set(langs["kept"]) | set(langs["dropped"]), key=lambda n: (-langs["kept"].get(n, 0), n))
    if not names:
        return None
    kept = [langs["kept"].get(n, 0) for n in names]
    dropped = [langs["dropped"].get(n, 0) for n in names]
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(names) + 2), 4))
    ax.bar(names, kept, color=KEPT, label="kept")
    ax.bar(names, dropped, bottom=kept, color=DROPPED, label="dropped")
    ax.set_ylabel("documents")
    ax.set_xlabel("language (lang column; unknown = not identified)")
    ax.set_title("Documents by language")
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir, "languages.png")


def plot_perplexity(report: dict[str, Any], out_dir: str) -> str | None:
    dist = report["distributions"]["perplexity"]
    if not any(sum(v) for v in dist["counts"].values()):
        return None
    edges, series = _trim(dist["edges"], dist["counts"])
    fig, ax = plt.subplots(figsize=(8, 4))
    _bin_bars(ax, edges, series, {"kept": KEPT, "dropped": DROPPED}, log_x=True)
    for cutoff in dist["cutoffs"]:
        ax.axvline(cutoff, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("KenLM perplexity (log scale); dashed: head | middle | tail cut-offs")
    ax.set_title("CommonCrawl perplexity")
    return save_figure(fig, out_dir, "perplexity.png")


def plot_buckets(report: dict[str, Any], out_dir: str) -> str | None:
    buckets = report["distributions"]["ppl_buckets"]
    names = [b for b in ("head", "middle", "tail") if b in buckets["kept"] or b in buckets["dropped"]]
    names += sorted((set(buckets["kept"]) | set(buckets["dropped"])) - set(names))
    if not names:
        return None
    kept = [buckets["kept"].get(n, 0) for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, kept, color=KEPT, label="kept")
    ax.bar(names, [buckets["dropped"].get(n, 0) for n in names], bottom=kept, color=DROPPED, label="dropped")
    ax.set_ylabel("documents")
    ax.set_title("Perplexity buckets")
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir, "ppl_buckets.png")


def plot_wiki_ref(report: dict[str, Any], out_dir: str) -> str | None:
    dist = report["distributions"]["wiki_ref_prob"]
    if not any(sum(v) for v in dist["counts"].values()):
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    _bin_bars(ax, dist["edges"], dist["counts"], {"kept": KEPT, "dropped": DROPPED})
    if dist["threshold"] is not None:
        ax.axvline(dist["threshold"], color="black", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("reference-classifier probability (dashed: threshold)")
    ax.set_title("CommonCrawl Wikipedia-reference score")
    return save_figure(fig, out_dir, "wiki_ref_prob.png")


def plot_tokens_per_byte(report: dict[str, Any], out_dir: str) -> str | None:
    tpb = report["distributions"]["tokens_per_byte"]
    if not tpb:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(list(tpb), list(tpb.values()), color=KEPT)
    for i, value in enumerate(tpb.values()):
        ax.text(i, value, f"{value:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("tokens per UTF-8 byte")
    ax.set_title("Tokenizer: tokens per byte by source")
    ax.tick_params(axis="x", rotation=30, labelsize=8)
    return save_figure(fig, out_dir, "tokens_per_byte.png")


_PLOTS = (
    (plot_funnel, "Where the documents went", "Kept and dropped documents per source (labels: kept / read)."),
    (plot_length, "Document length", "Characters per kept document, stacked by source, log-spaced bins."),
    (plot_languages, "Languages", "The lang column of kept and dropped documents (unknown: no language ID ran)."),
    (plot_perplexity, "Perplexity", "KenLM perplexity of CommonCrawl documents that reached the perplexity step."),
    (plot_buckets, "Perplexity buckets",
     "head / middle / tail as assigned; the kept buckets are config commoncrawl.keep_buckets."),
    (plot_wiki_ref, "Reference-classifier score",
     "Probability of 'cited by Wikipedia' for documents that reached the classifier."),
    (plot_tokens_per_byte, "Tokens per byte", "From `make tokenize` (stats.json tokens)."),
)


def plot_report(report: dict[str, Any], out_dir: str) -> list[dict[str, str]]:
    """Write every plot that has data into out_dir; returns [{file, title, caption}]."""
    written = []
    for fn, title, caption in _PLOTS:
        name = fn(report, out_dir)
        if name:
            written.append({"file": name, "title": title, "caption": caption})
    return written


def plot_compare(compare: dict[str, Any], out_dir: str) -> list[dict[str, str]]:
    """Kept documents per source, run A next to run B."""
    rows = compare["sources"]
    if not rows:
        return []
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar([x - 0.2 for x in xs], [r["kept"]["a"] for r in rows], width=0.4, color="#9ecae1", label="A kept")
    ax.bar([x + 0.2 for x in xs], [r["kept"]["b"] for r in rows], width=0.4, color=KEPT, label="B kept")
    ax.set_xticks(list(xs), [r["source"] for r in rows], rotation=30, fontsize=8)
    ax.set_ylabel("documents")
    ax.set_title("Kept documents: A vs B")
    ax.legend(fontsize=8)
    name = save_figure(fig, out_dir, "compare_kept.png")
    return [{"file": name, "title": "Kept documents, A vs B", "caption": "Kept documents per source in each run."}]
