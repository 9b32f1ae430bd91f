"""The corpus job end to end on the bundled sample: outputs, invariants, determinism, CLI errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.jobs.verify import verify_corpus
from tests.conftest import REPO, SAMPLE

MODELS: list[str] = []  # the session's sample models folder, set by the autouse fixture


@pytest.fixture(autouse=True, scope="module")
def _models(sample_models):
    MODELS[:] = [sample_models]


def _run(out: Path, *extra: str) -> dict:
    args = ["corpus", "--input", str(SAMPLE), "--output", str(out), "--set", f"models.dir={MODELS[0]}", *extra]
    assert main(args) == 0
    return json.loads((out / "stats.json").read_text())


def _tree(out: Path) -> dict[str, bytes]:
    """Every output file's bytes; config.json names the output folder, so it differs by design."""
    files = (p for p in sorted(out.rglob("*")) if p.is_file() and p.name != "config.json")
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory, _models) -> Path:
    out = tmp_path_factory.mktemp("sample") / "corpus"
    _run(out)
    return out


def test_sample_run_writes_shards_manifest_stats_config(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    assert set(stats["sources"]) == {"arxiv", "books", "c4", "commoncrawl", "github", "stackexchange", "wikipedia"}
    for source, s in stats["sources"].items():
        assert s["seen"] == s["kept"] + sum(s["dropped"].values())
        assert s["kept"] > 0 and s["dropped"], source
        assert (sample_run / source / "part-00000-of-00002.arrow").is_file()
        assert (sample_run / "dropped" / source / "part-00000-of-00001.arrow").is_file()
    assert json.loads((sample_run / "config.json").read_text())["shards"]["num_shards"] == 2
    assert verify_corpus(str(sample_run)) == []
    assert not [p for p in sample_run.rglob(".tmp-*")]


def test_dedup_runs_and_reports(sample_run):
    c4 = json.loads((sample_run / "stats.json").read_text())["sources"]["c4"]
    assert c4["dropped"]["duplicate_exact"] == 1
    assert c4["dedup"]["exact"] == {"clusters": 1, "documents_removed": 1, "max_cluster": 2}


def test_parse_errors_are_counted_not_fatal(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    assert stats["sources"]["c4"]["dropped"].get("parse_error", 0) >= 1
    assert stats["sources"]["c4"]["stages"]["read"]["dropped"]["parse_error"] >= 1


def test_two_process_workers_give_byte_identical_output(sample_run, tmp_path):
    out = tmp_path / "corpus"
    _run(out, "--direct_num_workers=2", "--direct_running_mode=multi_processing")
    assert _tree(out) == _tree(sample_run)


def test_rerun_into_same_output_is_idempotent_and_removes_stale_shards(sample_run, tmp_path):
    out = tmp_path / "corpus"
    _run(out, "--set", "shards.num_shards=3")
    assert (out / "c4" / "part-00002-of-00003.arrow").exists()
    _run(out)
    assert not (out / "c4" / "part-00002-of-00003.arrow").exists()
    assert _tree(out) == _tree(sample_run)


def test_write_dropped_switch(tmp_path):
    out = tmp_path / "corpus"
    stats = _run(out, "--set", "shards.write_dropped=false")
    assert not (out / "dropped").exists()
    assert sum(sum(s["dropped"].values()) for s in stats["sources"].values()) > 0
    assert verify_corpus(str(out)) == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize(
    "args, message",
    [
        (["corpus", "--set", "shards.bogus=1"], "unknown config key(s) shards.bogus; valid keys:"),
        (["corpus", "--set", "shards.num_shards=x"], "expected an integer"),
        (["corpus", "--input", "/nonexistent/root"], "does not exist"),
        (["corpus", "--config", "nope"], "unknown config preset"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, message, tmp_path):
    result = _cli(*args, "--output", str(tmp_path / "o")) if "--output" not in args else _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_models_name_make_models(tmp_path):
    result = _cli("corpus", "--input", str(SAMPLE), "--output", str(tmp_path / "o"), "--set",
                  f"models.dir={tmp_path / 'none'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "run `make models`" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_dedup_steps_can_all_be_off(tmp_path):
    out = tmp_path / "corpus"
    stats = _run(out, "--set", "dedup.c4=[]", "--set", "dedup.wikipedia=[]", "--set", "dedup.commoncrawl=[]")
    assert stats["sources"]["c4"]["dedup"] == {} and "duplicate_exact" not in stats["sources"]["c4"]["dropped"]
    assert verify_corpus(str(out)) == []


def test_kept_commoncrawl_documents_carry_every_score(sample_run):
    import pyarrow as pa

    tables = [pa.ipc.open_file(str(p)).read_all() for p in sorted((sample_run / "commoncrawl").glob("part-*.arrow"))]
    kept = pa.concat_tables(tables).to_pylist()
    assert kept
    for doc in kept:
        assert doc["lang"] == "en" and doc["lang_score"] >= 0.5
        assert doc["perplexity"] > 0 and doc["ppl_bucket"] in ("head", "middle") and doc["wiki_ref_prob"] >= 0.25


def test_no_document_crosses_a_shuffle(tmp_path, monkeypatch):
    """Beam encodes an element only where it leaves a fused stage (GroupByKey, CoGroupByKey,
    Reshuffle, Flatten, side input); a Document or Dropped record there is pickled. None may be."""
    from pipeline.core.document import Document, Dropped

    def refuse(self, protocol):
        raise AssertionError(f"a {type(self).__name__} crossed a shuffle")

    monkeypatch.setattr(Document, "__reduce_ex__", refuse)
    monkeypatch.setattr(Dropped, "__reduce_ex__", refuse)
    stats = _run(tmp_path / "corpus", "--set", "dedup.c4=[exact,near,spans]", "--set", "dedup.wikipedia=[exact,lines]")
    assert stats["sources"]["c4"]["dedup"]["near"]["unconverged_nodes"] == 0
    assert not (tmp_path / "corpus" / "_staging").exists()  # staged text goes when the run completes


def test_a_listed_input_gone_at_read_time_fails_in_one_line(tmp_path, monkeypatch, capsys):
    import pipeline.launch.beam as launch
    from pipeline.jobs.inputs import discover

    root = tmp_path / "input"
    (root / "c4").mkdir(parents=True)
    kept = root / "c4" / "a.json"
    kept.write_text('{"text": "A line that is long enough to keep. It has words. Many of them here."}\n')

    def listed_then_gone(input_root, sources):
        found = discover(input_root, sources)
        (root / "c4" / "a.json").unlink()  # removed between listing and reading
        return found

    monkeypatch.setattr(launch, "discover", listed_then_gone)
    code = main(["corpus", "--input", str(root), "--output", str(tmp_path / "o"), "--set", "sources=[c4]"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "a.json cannot be opened" in err[0]
    assert not (tmp_path / "o" / "stats.json").exists()
