"""A run's shards read by the tools users have (README "Output"): Parquet and Arrow runs hold the
same rows; DuckDB and Hugging Face `datasets` read both formats offline and count what stats.json
says was kept; `corral show` finds a dropped document by URL and says why it went."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as pads
import pytest

from pipeline.cli import main
from pipeline.core.shards import read_shard
from pipeline.jobs.verify import verify_corpus
from tests.conftest import REPO, SAMPLE, run_corpus


@pytest.fixture(scope="module")
def parquet_corpus(tmp_path_factory, sample_models) -> Path:
    out = tmp_path_factory.mktemp("parquet") / "corpus"
    return run_corpus(out, SAMPLE, sample_models, "--set", "shards.format=parquet")


def _kept(out: Path) -> dict[str, int]:
    return {s: e["kept"] for s, e in json.loads((out / "stats.json").read_text())["sources"].items()}


def _paths(out: Path, fmt: str) -> list[str]:
    return sorted(str(p) for p in out.glob(f"*/part-*.{fmt}"))  # kept shards: dropped/ is a level deeper


def test_parquet_and_arrow_runs_hold_the_same_rows(sample_corpus, parquet_corpus):
    assert (parquet_corpus / "stats.json").read_bytes() == (sample_corpus / "stats.json").read_bytes()
    arrow = json.loads((sample_corpus / "manifest.json").read_text())
    parquet = json.loads((parquet_corpus / "manifest.json").read_text())
    for key in ("shards", "dropped_shards"):
        assert [e["path"].replace(".parquet", ".arrow") for e in parquet[key]] == [e["path"] for e in arrow[key]]
        for a, p in zip(arrow[key], parquet[key], strict=True):
            table_a, table_p = read_shard(str(sample_corpus / a["path"])), read_shard(str(parquet_corpus / p["path"]))
            assert table_p.schema.equals(table_a.schema) and table_p.to_pylist() == table_a.to_pylist(), p["path"]
    assert not list(parquet_corpus.rglob("*.arrow"))
    assert verify_corpus(str(parquet_corpus)) == []


def test_duckdb_reads_both_formats(sample_corpus, parquet_corpus):
    counts = duckdb.sql(f"SELECT source, count(*) FROM read_parquet({_paths(parquet_corpus, 'parquet')}) "
                        "GROUP BY source").fetchall()
    assert dict(counts) == {s: n for s, n in _kept(parquet_corpus).items() if n}
    con = duckdb.connect()
    con.register("shards", pads.dataset(_paths(sample_corpus, "arrow"), format="arrow"))  # Arrow IPC via pyarrow
    counts = con.sql("SELECT source, count(*) FROM shards GROUP BY source").fetchall()
    assert dict(counts) == {s: n for s, n in _kept(sample_corpus).items() if n}
    reason = duckdb.sql(f"SELECT drop_reason FROM read_parquet('{parquet_corpus}/dropped/c4/*.parquet') "
                        "WHERE drop_reason = 'duplicate_exact'").fetchall()
    assert len(reason) == json.loads((parquet_corpus / "stats.json").read_text())["sources"]["c4"]["dropped"][
        "duplicate_exact"]


_LOAD = """
import collections, json, sys
import datasets
builder, cache, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ds = datasets.load_dataset(builder, data_files=paths, split="train", cache_dir=cache)
print(json.dumps(collections.Counter(ds["source"])))
"""


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_datasets_load_dataset_reads_both_formats_offline(sample_corpus, parquet_corpus, tmp_path, fmt):
    out = parquet_corpus if fmt == "parquet" else sample_corpus
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-c", _LOAD, fmt, str(tmp_path / "cache"), json.dumps(_paths(out, fmt))],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {s: n for s, n in _kept(out).items() if n}


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_show_finds_a_dropped_c4_document_by_url(sample_corpus, parquet_corpus, capsys, fmt):
    out = parquet_corpus if fmt == "parquet" else sample_corpus
    (shard,) = sorted((out / "dropped" / "c4").glob(f"part-*.{fmt}"))
    row = next(r for r in read_shard(str(shard)).to_pylist() if r["url"])
    part = row["url"].split("://", 1)[1][:30]
    assert main(["show", str(out), "--url", part, "--dropped"]) == 0
    printed = capsys.readouterr().out
    assert f"dropped c4 {row['id']}" in printed
    assert f"reason  {row['drop_reason']} (stage {row['drop_stage']})" in printed
    assert main(["show", str(out), "--url", part, "--json", "--width", "0"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"status": "dropped", "id": row["id"], "drop_reason": row["drop_reason"], "text": row["text"],
            "chars": len(row["text"])}.items() <= next(f for f in found if f["id"] == row["id"]).items()


def test_show_filters_and_gives_scores(sample_corpus, capsys):
    assert main(["show", str(sample_corpus), "--source", "commoncrawl", "--kept", "--limit", "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("kept commoncrawl ") and "perplexity " in printed and "wiki_ref_prob " in printed
    assert "show: the first 1 matches" in printed
    assert main(["show", str(sample_corpus), "--reason", "duplicate_exact", "--source", "c4", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and {(r["source"], r["drop_reason"], r["status"]) for r in rows} == {
        ("c4", "duplicate_exact", "dropped")}
    assert main(["show", str(sample_corpus), "--id", "no-such-document-id"]) == 1
    assert "no documents match" in capsys.readouterr().out
    assert main(["show", str(sample_corpus), "--reason", "no_such_reason"]) == 2
    assert "reasons: " in capsys.readouterr().err


def test_show_says_when_a_run_kept_no_dropped_documents(tmp_path, capsys):
    out = tmp_path / "c4"
    assert main(["corpus", "--input", str(SAMPLE), "--output", str(out), "--set", "sources=c4",
                 "--set", "shards.write_dropped=false"]) == 0
    dropped = json.loads((out / "stats.json").read_text())["sources"]["c4"]["dropped"]
    capsys.readouterr()
    assert main(["show", str(out), "--dropped"]) == 1
    printed = capsys.readouterr().out
    assert "this run kept no dropped documents to show (shards.write_dropped: false)" in printed
    assert f"c4 {sum(dropped.values()):,} (" + ", ".join(f"{r}={n:,}" for r, n in dropped.items()) + ")" in printed


def test_stats_and_tokenize_read_parquet_as_they_read_arrow(sample_corpus, parquet_corpus, tmp_path):
    from pipeline.jobs.stats import build_report

    arrow, parquet = build_report(str(sample_corpus)), build_report(str(parquet_corpus))
    assert parquet["checks"] == [] and parquet["funnel"] == arrow["funnel"]
    assert [r["documents"] for r in parquet["table1"]] == [r["documents"] for r in arrow["table1"]]
    shards = []
    for name, corpus in (("arrow", sample_corpus), ("parquet", parquet_corpus)):
        corpus = shutil.copytree(corpus, tmp_path / f"{name}-corpus")  # tokenize writes into its stats.json
        tokens = tmp_path / name
        assert main(["tokenize", "--corpus", str(corpus), "--output", str(tokens),
                     "--set", f"tokenizer.dir={tmp_path / name}-tokenizer"]) == 0
        shards.append({str(p.relative_to(tokens)): read_shard(str(p)).to_pylist() for p in tokens.rglob("part-*")})
    assert (tmp_path / "arrow" / "stats.json").read_text() == (tmp_path / "parquet" / "stats.json").read_text()
    assert shards[0] == shards[1] and all(p.endswith(".arrow") for p in shards[1])  # token shards stay Arrow
