"""`corral stats`: every number of the report equals an independent recount from the Arrow files;
the HTML opens in headless Chromium with every image loaded; --compare shows what a threshold did."""
import argparse
import collections
import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from rich.console import Console

from pipeline.cli import main
from pipeline.jobs.report_html import _html_example
from pipeline.jobs.report_html import table1 as table1_rows
from pipeline.jobs.stats import (
    PAPER_TABLE1,
    add_stats_parser,
    parse_budget,
    read_train_run,
    run_compare,
    run_stats,
    run_stats_command,
)
from tests.conftest import REPO, SAMPLE, run_corpus

DESIGN = REPO.parent / "shared" / "DESIGN.md"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def _stats(corpus: Path, out: Path, **kwargs) -> tuple[dict, str]:
    console = _quiet()
    run_stats(str(corpus), str(out), console=console, **kwargs)
    return json.loads((out / "report.json").read_text()), console.file.getvalue()


@pytest.fixture(scope="module")
def tokenized(sample_corpus, tmp_path_factory) -> tuple[Path, Path]:
    """A copy of the sample corpus with `make tokenize` run on it (the job writes into its stats.json)."""
    work = tmp_path_factory.mktemp("stats-tok")
    corpus, tokens = work / "corpus", work / "tokens"
    shutil.copytree(sample_corpus, corpus)
    sets = ["--set", f"tokenizer.dir={work / 'tokenizer'}", "--set", "tokenizer.vocab_size=800", "--set",
            f"tokens.dir={tokens}"]
    assert main(["tokenize", "--corpus", str(corpus), *sets]) == 0
    return corpus, tokens


@pytest.fixture(scope="module")
def sample_report(tokenized, tmp_path_factory) -> tuple[Path, Path, dict, str]:
    corpus, tokens = tokenized
    out = tmp_path_factory.mktemp("stats-report")
    report, printed = _stats(corpus, out, tokens_budget="1.4T")
    return corpus, tokens, report, printed, out


@pytest.fixture(scope="module")
def shared_report(shared_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("stats-shared")
    report, printed = _stats(shared_corpus, out)
    return shared_corpus, None, report, printed, out


# --- the independent recount: plain pyarrow over the files, none of the report's code ----------------
def _arrow_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*/part-*.arrow"))


def _read(path: Path) -> pa.Table:
    with pa.OSFile(str(path)) as f:
        return pa.ipc.open_file(f).read_all()


def recount(corpus: Path, tokens: Path | None) -> dict:
    docs, text_bytes, disk = collections.Counter(), collections.Counter(), collections.Counter()
    langs = collections.Counter()
    for path in _arrow_files(corpus):
        source, table = path.parent.name, _read(path)
        docs[source] += table.num_rows
        text_bytes[source] += sum(len(t.encode("utf-8")) for t in table.column("text").to_pylist())
        disk[source] += os.path.getsize(path)
        langs.update(lang or "unknown" for lang in table.column("lang").to_pylist())
    drops, drop_bytes = collections.Counter(), collections.Counter()
    for path in _arrow_files(corpus / "dropped"):
        for row in _read(path).select(["text", "drop_stage", "drop_reason"]).to_pylist():
            key = (path.parent.name, row["drop_stage"], row["drop_reason"])
            drops[key] += 1
            drop_bytes[key] += len(row["text"].encode("utf-8"))
    num_tokens = collections.Counter()
    for path in _arrow_files(tokens) if tokens else ():
        num_tokens[path.parent.name] += pc.sum(pc.list_value_length(_read(path).column("tokens"))).as_py() or 0
    return {"docs": docs, "text_bytes": text_bytes, "disk": disk, "langs": langs, "drops": drops,
            "drop_bytes": drop_bytes, "tokens": num_tokens}


@pytest.mark.parametrize("which", ["sample_report", "shared_report"])
def test_every_number_equals_a_recount_from_the_arrow_files(which, request):
    corpus, tokens, report, _, _ = request.getfixturevalue(which)
    rc = recount(corpus, tokens)
    assert report["checks"] == []
    assert {r["source"] for r in report["table1"]} == set(rc["docs"]) == set(report["funnel"])
    for row in report["table1"]:
        s = row["source"]
        assert (row["documents"], row["text_bytes"], row["disk_bytes"]) == (rc["docs"][s], rc["text_bytes"][s],
                                                                            rc["disk"][s])
        assert row["tokens"] == (rc["tokens"][s] if tokens else None)
    for source, funnel in report["funnel"].items():
        mine = {k: n for k, n in rc["drops"].items() if k[0] == source}
        assert {(source, r["stage"], r["reason"]): r["count"] for r in funnel["reasons"]} == mine
        assert {(source, r["stage"], r["reason"]): r["bytes"] for r in funnel["reasons"]} == {k: rc["drop_bytes"][k]
                                                                                              for k in mine}
        assert funnel["kept"] == rc["docs"][source] and funnel["kept_bytes"] == rc["text_bytes"][source]
        assert funnel["seen"] == rc["docs"][source] + sum(mine.values()) == funnel["kept"] + funnel["dropped"]
        _check_stages(funnel, source, rc)


def _check_stages(funnel: dict, source: str, rc: dict) -> None:
    stages = funnel["stages"]
    assert stages[0]["stage"] == "read" and stages[-1]["stage"] == "write"
    assert stages[0]["docs_in"] == funnel["seen"] and stages[-1]["docs_out"] == rc["docs"][source]
    all_dropped_bytes = sum(n for k, n in rc["drop_bytes"].items() if k[0] == source)
    assert stages[0]["bytes_in"] == rc["text_bytes"][source] + all_dropped_bytes
    assert stages[-1]["bytes_out"] == rc["text_bytes"][source]
    for before, after in zip(stages, stages[1:], strict=False):
        assert after["docs_in"] == before["docs_out"] and after["bytes_in"] == before["bytes_out"]
    for row in stages:
        assert row["dropped"] == sum(n for (s, stage, _), n in rc["drops"].items() if s == source
                                     and stage == row["stage"])
        assert row["docs_out"] == row["docs_in"] - row["dropped"]


def test_distributions_add_up_to_the_recount(sample_report):
    corpus, tokens, report, _, _ = sample_report
    rc = recount(corpus, tokens)
    dist = report["distributions"]
    for source, counts in dist["length_chars"]["counts"].items():
        expected = sum(rc["drops"].values()) if source == "dropped" else rc["docs"][source]
        assert sum(counts) == expected
    assert dist["languages"]["kept"] == dict(rc["langs"])
    cc = [_read(p) for p in _arrow_files(corpus) if p.parent.name == "commoncrawl"]
    ppl = [v for t in cc for v in t.column("perplexity").to_pylist() if v is not None]
    assert sum(dist["perplexity"]["counts"]["kept"]) == len(ppl) > 0
    assert dist["ppl_buckets"]["kept"] == dict(collections.Counter(b for t in cc
                                                                   for b in t.column("ppl_bucket").to_pylist() if b))
    assert sum(dist["wiki_ref_prob"]["counts"]["kept"]) == sum(t.num_rows for t in cc)
    stats = json.loads((corpus / "stats.json").read_text())
    assert dist["tokens_per_byte"] == {s: v["tokens"]["tokens_per_byte"] for s, v in stats["sources"].items()}


def test_table1_epochs_and_the_papers_figures(sample_report):
    _, _, report, printed, _ = sample_report
    config = json.loads((Path(report["corpus"]) / "config.json").read_text())["mixture"]
    assert report["budget"]["tokens"] == 1.4e12
    assert sum(r["proportion"] for r in report["table1"]) == pytest.approx(1.0)
    for row in report["table1"]:
        assert row["proportion_configured"] == config[row["source"]] == pytest.approx(row["proportion"])
        assert row["epochs"] == pytest.approx(row["proportion"] * 1.4e12 / row["tokens"])
        assert row["paper"] == PAPER_TABLE1[row["source"]]
    assert "Table 1 for this corpus" in printed and "commoncrawl" in printed and "3.3 TB" in printed


def test_paper_figures_match_design_md():
    if not DESIGN.is_file():
        pytest.skip("../shared/DESIGN.md is not present")
    names = {"CommonCrawl": "commoncrawl", "C4": "c4", "GitHub": "github", "Wikipedia": "wikipedia", "Books": "books",
             "ArXiv": "arxiv", "StackExchange": "stackexchange"}
    rows = re.findall(r"^\| (\w+) \|.*\| ([\d.]+)% \| ([\d.]+) \| ([\d.]+ [GT]B) \|$", DESIGN.read_text(), re.M)
    assert len(rows) == 7
    for name, sampling, epochs, disk in rows:
        assert PAPER_TABLE1[names[name]] == {"sampling": pytest.approx(float(sampling) / 100), "epochs": float(epochs),
                                             "disk": disk}


def test_markdown_and_html_show_the_report_numbers(sample_report):
    _, _, report, _, out = sample_report
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for row in table1_rows(report)[1]:
        assert "| " + " | ".join(row) + " |" in md
        assert all(html.escape(cell) in page for cell in row)
    for kind in ("kept", "dropped"):
        for examples in report["examples"][kind].values():
            for ex in examples:
                assert html.escape(ex["text"]) in page and len(ex["text"]) <= 301
    assert "&lt;script&gt;" in _html_example({"id": "x", "text": "<script>alert(1)</script>", "chars": 25})


def test_every_image_is_a_png_beside_the_report(sample_report):
    _, _, report, _, out = sample_report
    page = (out / "report.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources == [p["file"] for p in report["plots"]] and len(sources) >= 6
    for name in sources:
        assert "/" not in name and (out / name).read_bytes()[:8] == PNG_MAGIC
        assert f"]({name})" in (out / "report.md").read_text()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=180, check=True)


def test_html_opens_in_headless_chromium_with_every_image_loaded(sample_report, tmp_path):
    chromium = _chromium()
    _, _, report, _, out = sample_report
    probe = ("<script>addEventListener('load', () => { const imgs = [...document.images];"
             " document.title = imgs.filter(i => i.complete && i.naturalWidth > 0).length + '/' + imgs.length; "
             "});</script>")
    check = out / "_chromium_check.html"  # beside the report, so its relative image links resolve the same way
    check.write_text((out / "report.html").read_text().replace("</body>", probe + "</body>"))
    dom = _headless(chromium, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", check.as_uri()).stdout
    check.unlink()
    loaded, total = re.search(r"<title>(\d+)/(\d+)</title>", dom).groups()
    assert int(loaded) == int(total) == len(report["plots"])
    shot = tmp_path / "report.png"
    _headless(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
              (out / "report.html").as_uri())
    assert shot.read_bytes()[:8] == PNG_MAGIC and shot.stat().st_size > 10_000


def test_without_make_tokenize_tokens_and_epochs_are_na(sample_corpus, tmp_path):
    report, printed = _stats(sample_corpus, tmp_path, tokens_budget="1.4T")
    assert all(r["tokens"] is None and r["epochs"] is None for r in report["table1"])
    assert "n/a" in printed and "| n/a |" in (tmp_path / "report.md").read_text()
    assert not (tmp_path / "tokens_per_byte.png").exists()


def test_a_train_run_gives_the_budget_its_mixture_and_measured_epochs(sample_report, tmp_path):
    corpus, _, _, _, _ = sample_report
    run = tmp_path / "pretrain"
    run.mkdir()
    mixture = {"commoncrawl": 0.0, "c4": 0.5, "github": 0.1, "wikipedia": 0.2, "books": 0.1, "arxiv": 0.05,
               "stackexchange": 0.05}
    (run / "config.json").write_text(json.dumps({"mixture": mixture}))
    lines = [{"step": 1, "tokens_seen": 2048, "epochs": {"c4": 0.1}},
             {"step": 2, "tokens_seen": 4096, "epochs": {"c4": 0.2}}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"step": 3, "tokens_')
    report, _ = _stats(corpus, tmp_path / "stats", tokens_budget="1.4T", train_metrics=str(run))
    assert report["budget"]["tokens"] == 4096 and report["budget"]["train_run"]["step"] == 2
    rows = {r["source"]: r for r in report["table1"]}
    assert rows["commoncrawl"]["proportion"] == 0.0 and rows["commoncrawl"]["epochs"] == 0.0
    assert rows["c4"]["proportion"] == pytest.approx(0.5) and rows["c4"]["epochs_trainer"] == 0.2
    assert rows["c4"]["epochs"] == pytest.approx(0.5 * 4096 / rows["c4"]["tokens"])
    assert "epochs (trainer)" in (tmp_path / "stats" / "report.md").read_text()


def test_compare_shows_what_a_threshold_change_did(sample_corpus, sample_models, tmp_path):
    changed = run_corpus(tmp_path / "changed", SAMPLE, sample_models, "--set", "c4.min_sentences=6")
    compare = run_compare(str(sample_corpus), str(changed), str(tmp_path / "cmp"), console=_quiet())
    assert {d["key"]: (d["a"], d["b"]) for d in compare["config_diff"]} == {"c4.min_sentences": (3, 6)}
    a, b = recount(sample_corpus, None), recount(changed, None)
    for row in compare["sources"]:
        s = row["source"]
        assert (row["kept"]["a"], row["kept"]["b"]) == (a["docs"][s], b["docs"][s])
        assert row["kept"]["delta"] == b["docs"][s] - a["docs"][s]
    ra, rb = collections.Counter(), collections.Counter()
    for rc, by_reason in ((a, ra), (b, rb)):
        for (source, _, reason), n in rc["drops"].items():
            by_reason[(source, reason)] += n
    assert {(r["source"], r["reason"]): (r["a"], r["b"], r["delta"]) for r in compare["reasons"]} == {
        k: (ra[k], rb[k], rb[k] - ra[k]) for k in set(ra) | set(rb)}
    c4 = {r["reason"]: r["delta"] for r in compare["reasons"] if r["source"] == "c4"}
    assert c4["c4_too_few_sentences"] > 10
    for name in ("report_compare.md", "report_compare.html", "report_compare.json", "compare_kept.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0
    assert "c4.min_sentences" in (tmp_path / "cmp" / "report_compare.html").read_text()


def test_command_line(sample_corpus, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_stats_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["stats", str(sample_corpus), "--output", str(tmp_path / "s"), "--tokens-budget", "2M"])
    assert run_stats_command(args) == 0
    assert "Table 1 for this corpus" in capsys.readouterr().out
    assert json.loads((tmp_path / "s" / "report.json").read_text())["budget"]["tokens"] == 2e6
    if "add_stats_parser" in (REPO / "pipeline" / "cli.py").read_text():  # once cli.py registers the command
        assert main(["stats", str(sample_corpus), "--output", str(tmp_path / "c")]) == 0
        assert main(["stats", str(tmp_path / "nothing"), "--output", str(tmp_path / "e")]) == 2


def test_user_errors_say_how_to_fix_them(tmp_path):
    with pytest.raises(ValueError, match="make corpus"):
        run_stats(str(tmp_path), str(tmp_path / "out"), console=_quiet())
    with pytest.raises(ValueError, match="make pretrain"):
        read_train_run(str(tmp_path / "none"))
    assert parse_budget("1.4T") == 1.4e12 and parse_budget("500B") == 5e11 and parse_budget("2m") == 2e6
    assert parse_budget("1e9") == 1e9 and parse_budget(4096) == 4096
    for bad in ("", "-1", "0", "12X", "T"):
        with pytest.raises(ValueError, match="1.4T"):
            parse_budget(bad)


def test_report_names_the_perplexity_cutoffs_used_and_their_origin(sample_report):
    corpus, _, report, _, out = sample_report
    used = json.loads((Path(corpus) / "stats.json").read_text())["sources"]["commoncrawl"]["perplexity_cutoffs"]["en"]
    cut = report["funnel"]["commoncrawl"]["perplexity_cutoffs"]["en"]
    assert cut == used and cut["from"] == "commoncrawl" and cut["pages"] > 0
    line = (f"Perplexity cut-offs: en {cut['cutoffs'][0]:g} / {cut['cutoffs'][1]:g} "
            f"(percentiles 30 / 60 of {cut['pages']} CommonCrawl pages)")
    assert line in (out / "report.md").read_text()
    assert html.escape(line) in (out / "report.html").read_text()
