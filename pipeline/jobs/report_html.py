"""The stats report as Markdown, as self-contained HTML (plots as PNG files beside it), and on the terminal.

Every table is built once as (headers, rows of strings) from report.json's numbers and rendered
three ways, so the three views cannot disagree. Document text is HTML-escaped in the HTML report.
"""
from __future__ import annotations

import html
from typing import Any

Table = tuple[list[str], list[list[str]]]


# --- formatting ----------------------------------------------------------------------------------
def fmt_int(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def fmt_bytes(n: int | float | None) -> str:
    """Decimal units, as the paper's Table 1 (83 GB, 3.3 TB)."""
    if n is None:
        return "n/a"
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:,} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def fmt_epochs(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f}" if x < 1e4 else f"{x:.2e}"


def fmt_delta(n: int, as_bytes: bool = False) -> str:
    if not n:
        return "0"
    return ("+" if n > 0 else "-") + fmt_bytes(abs(n)) if as_bytes else f"{n:+,}"


# --- tables --------------------------------------------------------------------------------------
def table1(report: dict[str, Any]) -> Table:
    rows = report["table1"]
    trainer = any(r["epochs_trainer"] is not None for r in rows)
    headers = ["source", "documents", "tokens", "disk", "sampling", "epochs"]
    headers += ["epochs (trainer)"] if trainer else []
    headers += ["paper sampling", "paper epochs", "paper disk"]
    body = []
    for r in rows:
        paper = r["paper"] or {}
        line = [r["source"], fmt_int(r["documents"]), fmt_int(r["tokens"]), fmt_bytes(r["disk_bytes"]),
                fmt_pct(r["proportion"]), fmt_epochs(r["epochs"])]
        line += [fmt_epochs(r["epochs_trainer"])] if trainer else []
        line += [fmt_pct(paper.get("sampling")), fmt_epochs(paper.get("epochs")), paper.get("disk", "n/a")]
        body.append(line)
    tokens = [r["tokens"] for r in rows]
    total = ["total", fmt_int(sum(r["documents"] for r in rows)), fmt_int(None if None in tokens else sum(tokens)),
             fmt_bytes(sum(r["disk_bytes"] for r in rows)), fmt_pct(sum(r["proportion"] for r in rows)), ""]
    total += [""] if trainer else []
    body.append(total + [fmt_pct(sum((r["paper"] or {}).get("sampling", 0) for r in rows)), "", ""])
    return headers, body


def summary(report: dict[str, Any]) -> Table:
    headers = ["source", "read", "kept", "dropped", "kept %", "kept text"]
    body = [[s, fmt_int(f["seen"]), fmt_int(f["kept"]), fmt_int(f["dropped"]),
             fmt_pct(f["kept"] / f["seen"] if f["seen"] else None), fmt_bytes(f["kept_bytes"])]
            for s, f in report["funnel"].items()]
    return headers, body


def stages(funnel: dict[str, Any]) -> Table:
    headers = ["stage", "docs in", "dropped", "docs out", "bytes in", "bytes dropped", "bytes out"]
    body = [[r["stage"], fmt_int(r["docs_in"]), fmt_int(r["dropped"]), fmt_int(r["docs_out"]),
             fmt_bytes(r["bytes_in"]), fmt_bytes(r["bytes_dropped"]), fmt_bytes(r["bytes_out"])]
            for r in funnel["stages"]]
    return headers, body


def reasons(funnel: dict[str, Any]) -> Table:
    headers = ["stage", "reason", "documents", "share of read", "bytes"]
    body = [[r["stage"], r["reason"], fmt_int(r["count"]), fmt_pct(r["share_of_seen"]), fmt_bytes(r["bytes"])]
            for r in funnel["reasons"]]
    return headers, body


def cutoffs_line(funnel: dict[str, Any]) -> str:
    """The perplexity bucket cut-offs the run used, per language, and where they came from."""
    parts = []
    for lang, c in sorted(funnel.get("perplexity_cutoffs", {}).items()):
        values = " / ".join("inf" if v is None else f"{v:g}" for v in c["cutoffs"])
        origin = ("percentiles " + " / ".join(c["percentiles"]) + f" of {c['pages']} CommonCrawl pages"
                  if c["from"] == "commoncrawl" else "commoncrawl.ppl_cutoffs")
        parts.append(f"{lang} {values} ({origin})")
    return "; ".join(parts)


def dedup_line(funnel: dict[str, Any]) -> str:
    parts = [f"{step}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(values.items()))
             for step, values in funnel["dedup"].items()]
    return "; ".join(parts)


def budget_line(report: dict[str, Any]) -> str:
    budget = report["budget"]
    if budget["tokens"] is None:
        where = "no token budget given (--tokens-budget 1.4T, or --train-run out/pretrain)"
    else:
        where = f"a budget of {budget['tokens']:,.0f} tokens ({budget['from']})"
    return f"Epochs for {where}; sampling from {report['mixture_from']}, renormalized over the sources present."


# --- Markdown ------------------------------------------------------------------------------------
def md_table(table: Table) -> str:
    headers, rows = table
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _md_example(ex: dict[str, Any]) -> str:
    head = f"- `{ex['id']}` ({ex['chars']:,} chars)"
    if ex.get("drop_stage"):
        head += f", stage {ex['drop_stage']}" + (f": {ex['drop_detail']}" if ex.get("drop_detail") else "")
    text = ex["text"].replace("~~~", "~ ~ ~")
    return f"{head}\n\n~~~text\n{text}\n~~~\n"


def render_markdown(report: dict[str, Any]) -> str:
    out = [f"# Corpus report: {report['corpus']}\n", "## Table 1 for this corpus\n", md_table(table1(report)),
           budget_line(report) + "\n", "## The funnel: where every document went\n", md_table(summary(report))]
    out += [f"### {p['title']}\n\n![{p['title']}]({p['file']})\n\n{p['caption']}\n" for p in report["plots"][:1]]
    out += ["## Distributions\n"]
    out += [f"### {p['title']}\n\n![{p['title']}]({p['file']})\n\n{p['caption']}\n" for p in report["plots"][1:]]
    out += ["## Stages and drop reasons per source\n"]
    for source, funnel in report["funnel"].items():
        out += [f"### {source}\n", md_table(stages(funnel))]
        out += [md_table(reasons(funnel))] if funnel["reasons"] else ["No document dropped.\n"]
        out += [f"Dedup: {dedup_line(funnel)}\n"] if funnel["dedup"] else []
        out += [f"Perplexity cut-offs: {cutoffs_line(funnel)}\n"] if funnel.get("perplexity_cutoffs") else []
    out += ["## Examples\n", "### Kept\n"]
    for source, examples in report["examples"]["kept"].items():
        out += [f"#### {source}\n"] + [_md_example(ex) for ex in examples]
    out += ["### Dropped\n"]
    for key, examples in report["examples"]["dropped"].items():
        out += [f"#### {key}\n"] + [_md_example(ex) for ex in examples]
    out += ["## Checks\n", _checks_text(report) + "\n"]
    return "\n".join(out)


def _checks_text(report: dict[str, Any]) -> str:
    if not report["checks"]:
        return "stats.json agrees with the shards: documents, text bytes and every drop reason per stage."
    return "stats.json and the shards disagree:\n\n" + "\n".join(f"- {p}" for p in report["checks"])


# --- HTML ----------------------------------------------------------------------------------------
_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #222; padding: 0 16px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
.text { text-align: left; }
th { background: #eef3f8; } tr.total td { font-weight: bold; }
.pair { display: flex; flex-wrap: wrap; gap: 0 24px; align-items: flex-start; }
img { max-width: 100%; border: 1px solid #ddd; }
figure { display: inline-block; margin: 8px 16px 16px 0; vertical-align: top; width: 540px; }
figure img { width: 100%; }
figcaption { font-size: 12px; color: #555; }
pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; word-break: break-word; font-size: 12px; }
.muted { color: #666; }
"""


def html_table(table: Table, total_row: bool = False, text_cols: int = 1) -> str:
    """Numbers right-aligned; the first `text_cols` columns are text."""
    headers, rows = table
    align = lambda j: ' class="text"' if j < text_cols else ""  # noqa: E731
    head = "".join(f"<th{align(j)}>{html.escape(h)}</th>" for j, h in enumerate(headers))
    body = []
    for i, row in enumerate(rows):
        tr = ' class="total"' if total_row and i == len(rows) - 1 else ""
        body.append(f"<tr{tr}>" + "".join(f"<td{align(j)}>{html.escape(c)}</td>" for j, c in enumerate(row)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>\n"


def _html_example(ex: dict[str, Any]) -> str:
    head = f"<code>{html.escape(ex['id'])}</code> <span class=muted>({ex['chars']:,} chars)"
    if ex.get("drop_stage"):
        head += f", stage {html.escape(ex['drop_stage'])}" + (
            f": {html.escape(ex['drop_detail'])}" if ex.get("drop_detail") else "")
    return f"<div>{head}</span><pre>{html.escape(ex['text'])}</pre></div>\n"


def html_page(title: str, body: list[str]) -> str:
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "".join(body) + "</body></html>\n")


def html_figures(plots: list[dict[str, str]]) -> list[str]:
    return [f'<figure><img src="{html.escape(p["file"])}" alt="{html.escape(p["title"])}">'
            f'<figcaption><b>{html.escape(p["title"])}</b>: {html.escape(p["caption"])}</figcaption></figure>\n'
            for p in plots]


def render_html(report: dict[str, Any]) -> str:
    h = html.escape
    body = [f"<h1>Corpus report</h1><p class=muted>{h(report['corpus'])}</p>\n",
            "<h2>Table 1 for this corpus</h2>\n", html_table(table1(report), total_row=True),
            f"<p class=muted>{h(budget_line(report))}</p>\n",
            "<h2>The funnel: where every document went</h2>\n<div class=pair>", html_table(summary(report))]
    body += html_figures(report["plots"][:1]) + ["</div>\n"]
    body += ["<h2>Distributions</h2>\n", *html_figures(report["plots"][1:])]
    body += ["<h2>Stages and drop reasons per source</h2>\n"]
    for source, funnel in report["funnel"].items():
        body += [f"<h3>{h(source)}</h3>\n<div class=pair>", html_table(stages(funnel))]
        body += [html_table(reasons(funnel), text_cols=2)] if funnel["reasons"] else ["<p>No document dropped.</p>\n"]
        body += ["</div>\n"] + ([f"<p class=muted>Dedup: {h(dedup_line(funnel))}</p>\n"] if funnel["dedup"] else [])
        if funnel.get("perplexity_cutoffs"):
            body += [f"<p class=muted>Perplexity cut-offs: {h(cutoffs_line(funnel))}</p>\n"]
    body += ["<h2>Examples</h2>\n<h3>Kept</h3>\n"]
    for source, examples in report["examples"]["kept"].items():
        body += [f"<h4>{h(source)}</h4>\n"] + [_html_example(ex) for ex in examples]
    body += ["<h3>Dropped</h3>\n"]
    for key, examples in report["examples"]["dropped"].items():
        body += [f"<h4>{h(key)}</h4>\n"] + [_html_example(ex) for ex in examples]
    checks = "".join(f"<li>{h(p)}</li>" for p in report["checks"])
    body += ["<h2>Checks</h2>\n", f"<ul>{checks}</ul>\n" if checks else f"<p>{h(_checks_text(report))}</p>\n"]
    return html_page("corral corpus report", body)


# --- terminal ------------------------------------------------------------------------------------
def _rich_table(table: Table, title: str, total_row: bool = False) -> Any:
    from rich.table import Table as RichTable

    headers, rows = table
    t = RichTable(title=title, title_justify="left")
    for i, name in enumerate(headers):
        t.add_column(name, justify="left" if i == 0 else "right")
    for i, row in enumerate(rows):
        t.add_row(*row, end_section=total_row and i == len(rows) - 2)
    return t


def _console(console: Any) -> Any:
    if console is not None:
        return console
    from rich.console import Console

    return Console(width=max(Console().width, 132))  # Table 1 is wide; narrower output would wrap every cell


def print_table1(report: dict[str, Any], console: Any = None) -> None:
    console = _console(console)
    console.print(_rich_table(table1(report), "Table 1 for this corpus (paper: LLaMA, Touvron et al. 2023)",
                              total_row=True))
    console.print(budget_line(report), style="dim")


# --- compare -------------------------------------------------------------------------------------
def compare_tables(compare: dict[str, Any]) -> dict[str, Table]:
    config = (["key", "A", "B"], [[d["key"], str(d["a"]), str(d["b"])] for d in compare["config_diff"]])
    sources = (["source", "read A", "read B", "kept A", "kept B", "kept Δ", "kept text A", "kept text B",
                "kept text Δ"],
               [[r["source"], fmt_int(r["seen"]["a"]), fmt_int(r["seen"]["b"]), fmt_int(r["kept"]["a"]),
                 fmt_int(r["kept"]["b"]), fmt_delta(r["kept"]["delta"]), fmt_bytes(r["kept_bytes"]["a"]),
                 fmt_bytes(r["kept_bytes"]["b"]), fmt_delta(r["kept_bytes"]["delta"], as_bytes=True)]
                for r in compare["sources"]])
    reasons_ = (["source", "reason", "A", "B", "Δ"],
                [[r["source"], r["reason"], fmt_int(r["a"]), fmt_int(r["b"]), fmt_delta(r["delta"])]
                 for r in compare["reasons"]])
    return {"Config differences": config, "Kept per source": sources, "Dropped per source and reason": reasons_}


def render_compare_markdown(compare: dict[str, Any]) -> str:
    out = ["# Corpus runs compared\n", f"- A: {compare['a']}\n- B: {compare['b']}\n"]
    for title, table in compare_tables(compare).items():
        out += [f"## {title}\n", md_table(table) if table[1] else "None.\n"]
    out += [f"![{p['title']}]({p['file']})\n" for p in compare["plots"]]
    return "\n".join(out)


def render_compare_html(compare: dict[str, Any]) -> str:
    h = html.escape
    body = ["<h1>Corpus runs compared</h1>\n",
            f"<p>A: <code>{h(compare['a'])}</code><br>B: <code>{h(compare['b'])}</code></p>\n"]
    for title, table in compare_tables(compare).items():
        text_cols = {"Config differences": 3, "Dropped per source and reason": 2}.get(title, 1)
        body += [f"<h2>{h(title)}</h2>\n", html_table(table, text_cols=text_cols) if table[1] else "<p>None.</p>\n"]
    return html_page("corral: corpus runs compared", body + html_figures(compare["plots"]))


def print_compare(compare: dict[str, Any], console: Any = None) -> None:
    console = _console(console)
    tables = compare_tables(compare)
    for title in ("Config differences", "Kept per source"):
        headers, rows = tables[title]
        console.print(_rich_table((headers, rows), title) if rows else f"{title}: none")
