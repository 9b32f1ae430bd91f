"""Issue 9, user errors: each ends with one line that says what to do, exit code 2, no traceback.

The commands run as a user runs them (a subprocess, a fresh working directory); they run two at a
time, and each case then checks its own result.
"""
from __future__ import annotations

import concurrent.futures
import shutil

import pytest

from tests.conftest import SAMPLE
from tests.hardening.conftest import Sandbox, run_cli, snapshot

# name -> (arguments, with {root}, {models}, {broken_models}, {damaged_models} filled in; what the line must say)
CASES = {
    "unknown config key": (["corpus", "--input", "{root}/input", "--output", "{root}/out", "--set", "shards.nope=1"],
                           "valid keys: shards.num_shards"),
    "wrong type": (["corpus", "--input", "{root}/input", "--output", "{root}/out", "--set", "shards.num_shards=many"],
                   "shards.num_shards: expected an integer"),
    "unknown source": (["corpus", "--input", "{root}/input", "--output", "{root}/out", "--set", "sources=c4,usenet"],
                       "valid sources: "),
    "missing input": (["corpus", "--input", "{root}/nowhere", "--output", "{root}/out"], "give INPUT=<dir>"),
    "input without files of the sources": (["corpus", "--input", "{root}/input", "--output", "{root}/out", "--set",
                                            "sources=books"],
                                           "see README 'Input layout'"),
    "output under a regular file": (["corpus", "--input", "{root}/input", "--output", "{root}/a-file/out", "--set",
                                     "sources=c4"],
                                    "choose another with OUT=<dir>"),
    "output is a regular file": (["corpus", "--input", "{root}/input", "--output", "{root}/a-file", "--set",
                                  "sources=c4"],
                                 "choose another with OUT=<dir>"),
    "unknown preset": (["corpus", "--config", "nosuch", "--input", "{root}/input"], "presets: "),
    "config file not YAML": (["corpus", "--config", "{root}/bad.yaml", "--input", "{root}/input"],
                             "fix the file or give another --config"),
    "a model file missing": (["corpus", "--input", "{root}/input", "--output", "{root}/out", "--set",
                              "sources=commoncrawl",
                              "--set", "models.dir={broken_models}"], "run `make models`"),
    # Found where the model loads, in a Beam worker, once the job has started writing its output.
    "a model file damaged": (["corpus", "--input", "{root}/input", "--output", "{root}/out-damaged", "--set",
                              "sources=commoncrawl",
                              "--set", "models.dir={damaged_models}"], "run `make models` again"),
    "missing corpus for tokenize": (["tokenize", "--corpus", "{root}/no-corpus", "--set", "tokenizer.dir={root}/tok",
                                     "--set", "tokens.dir={root}/tokens"], "run `make corpus` first"),
    "tokenizer folder under a regular file": (["tokenize", "--corpus", "{corpus}", "--set",
                                               "tokenizer.dir={root}/a-file/tok",
                                               "--set", "tokens.dir={root}/tokens"], "choose another with OUT=<dir>"),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory, sample_models, sample_corpus):
    root = tmp_path_factory.mktemp("user-errors")
    shutil.copytree(SAMPLE / "c4", root / "input" / "c4")
    shutil.copytree(SAMPLE / "commoncrawl", root / "input" / "commoncrawl")
    (root / "a-file").write_text("a regular file where a folder should be\n")
    (root / "bad.yaml").write_text("shards: [unclosed\n")
    broken, damaged = root / "models-missing-file", root / "models-damaged-file"
    shutil.copytree(sample_models, broken)
    (broken / "wikiref.bin").unlink()
    shutil.copytree(sample_models, damaged)
    (damaged / "wikiref.bin").write_bytes(b"\x00" * 64)
    fill = {"root": root, "broken_models": broken, "damaged_models": damaged, "corpus": sample_corpus}

    def run(name: str):
        sandbox = Sandbox(root / "sandboxes" / name.replace(" ", "-"))
        before = snapshot(root, skip=(b"sandboxes",))
        result = run_cli(sandbox, [a.format(**fill) for a in CASES[name][0]], timeout=120)
        return result, snapshot(sandbox.cwd), before

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run, name) for name in CASES}
        found = {name: f.result() for name, f in futures.items()}
    return found, root


@pytest.mark.parametrize("name", list(CASES))
def test_user_error_is_one_line_exit_2_no_traceback(results, name):
    found, _ = results
    run, cwd_after, _ = found[name]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.explain()
    assert "Traceback" not in run.stderr, run.explain()
    errors = [line for line in lines if line.startswith("corral: error: ")]
    assert errors == [lines[-1]], run.explain()  # one error line, and it is the last
    assert all(line.startswith(("corral: error: ", "note: ")) for line in lines), run.explain()
    assert CASES[name][1] in errors[0], errors[0]
    assert cwd_after == {}, "nothing is written into the working directory"


def test_errors_found_before_the_job_starts_write_nothing(results):
    _, root = results
    assert not (root / "out").exists() and not (root / "tokens").exists() and not (root / "tok").exists()
    assert sorted(p.name for p in (root / "out-damaged").iterdir()) == ["config.json"]
