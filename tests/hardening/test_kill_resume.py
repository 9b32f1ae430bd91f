"""Issue 9, killed jobs: `kill -9` part way, run again, and the output is byte-identical to a run
that was never interrupted; no shard is ever visible half written under its final name.

The input is the bundled sample with its C4 file copied ten times, written into 16 shards per
source, so the job is still writing when its first shard appears (that is when it is killed).
"""
from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import SAMPLE
from tests.hardening.conftest import Sandbox, run_cli, tree_bytes

NUM_COPIES = 10
SHARDS = ["--set", "shards.num_shards=16"]


class ShardWatcher:
    """Polls a folder while a job runs: every `part-*.arrow` that is visible must open with pyarrow."""

    def __init__(self, root: Path) -> None:
        self.root, self.problems, self.checked = root, [], 0
        self.first_shard = threading.Event()
        self._stop = threading.Event()
        self._seen: set[tuple[str, int, int]] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ShardWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # what the job left behind is held to the same rule

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poll()
            time.sleep(0.002)

    def _poll(self) -> None:
        for path in self.root.rglob("part-*.arrow"):
            try:
                st = path.stat()
                key = (str(path), st.st_ino, st.st_size)
                if key in self._seen:
                    continue
                with pa.memory_map(str(path)) as source:
                    pa.ipc.open_file(source).read_all()
            except FileNotFoundError:
                continue  # replaced or removed as stale between the listing and the open
            except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
                self.problems.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            self._seen.add(key)
            self.checked += 1
            self.first_shard.set()


def kill_at_first_shard(watcher: ShardWatcher, killed_early: list[bool], done_marker: Path):
    """An on_start callback: SIGKILL the job as soon as its first shard is visible."""

    def on_start(proc) -> None:
        while proc.poll() is None and not watcher.first_shard.wait(0.002):
            pass
        killed_early.append(not done_marker.exists())
        proc.send_signal(signal.SIGKILL)

    return on_start


def kill_after(seconds: float):
    def on_start(proc) -> None:
        time.sleep(seconds)
        proc.send_signal(signal.SIGKILL)

    return on_start


@pytest.fixture(scope="module")
def replicated_input(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("replicated") / "input"
    shutil.copytree(SAMPLE, root)
    c4 = next((SAMPLE / "c4").glob("*.json.gz"))
    for i in range(NUM_COPIES):
        shutil.copy(c4, root / "c4" / f"copy-{i:02d}.json.gz")
    return root


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, replicated_input, sample_models):
    """The reference: the same job, never interrupted (its duration tells when to kill early)."""
    sandbox = Sandbox(tmp_path_factory.mktemp("uninterrupted"))
    out = sandbox.root / "out"
    run = run_cli(sandbox, ["corpus", "--input", str(replicated_input), "--output", str(out),
                            "--set", f"models.dir={sample_models}", *SHARDS])
    assert run.returncode == 0, run.explain()
    return out, run


def test_corpus_killed_twice_then_resumed_is_byte_identical(tmp_path, replicated_input, sample_models, uninterrupted):
    reference, reference_run = uninterrupted
    sandbox = Sandbox(tmp_path)
    out = tmp_path / "out"
    args = ["corpus", "--input", str(replicated_input), "--output", str(out), "--set", f"models.dir={sample_models}",
            *SHARDS]
    killed_early: list[bool] = []
    with ShardWatcher(out) as watcher:
        # Once while reading (before any shard), once as the first shard appears, then to the end.
        first = run_cli(sandbox, args, on_start=kill_after(reference_run.seconds * 0.3))
        second = run_cli(sandbox, args, on_start=kill_at_first_shard(watcher, killed_early, out / "stats.json"))
        third = run_cli(sandbox, args)
    assert first.returncode == second.returncode == -signal.SIGKILL, (first.explain(), second.explain())
    assert killed_early == [True], "the job finished before it could be killed part way"
    assert third.returncode == 0, third.explain()
    assert watcher.problems == [] and watcher.checked > 0
    expected, found = tree_bytes(reference, exclude=("config.json",)), tree_bytes(out, exclude=("config.json",))
    assert sorted(found) == sorted(expected)  # no file more (no leftover temporary file), none less
    assert [name for name in expected if found[name] != expected[name]] == []
    # Paths are absolute in config.json; each run has its own sandbox folder.
    ref_cfg, cfg = ((d / "config.json").read_text().replace(str(root), "<sandbox>")
                    for d, root in ((reference, reference.parent), (out, tmp_path)))
    assert json.loads(cfg) == json.loads(ref_cfg)


def test_tokenize_killed_then_resumed_is_byte_identical(tmp_path, uninterrupted):
    reference_corpus, _ = uninterrupted
    corpus = tmp_path / "corpus"
    shutil.copytree(reference_corpus, corpus)  # tokenize merges its counts into the corpus stats.json
    sandbox = Sandbox(tmp_path / "sandbox")

    def args(name: str) -> list[str]:
        return ["tokenize", "--corpus", str(corpus), "--set", f"tokenizer.dir={tmp_path / name / 'tokenizer'}",
                "--set", f"tokens.dir={tmp_path / name / 'tokens'}"]

    reference = run_cli(sandbox, args("a"))
    assert reference.returncode == 0, reference.explain()
    killed_early: list[bool] = []
    tokens = tmp_path / "b" / "tokens"
    with ShardWatcher(tokens) as watcher:
        killed = run_cli(sandbox, args("b"),
                         on_start=kill_at_first_shard(watcher, killed_early, tokens / "manifest.json"))
        resumed = run_cli(sandbox, args("b"))
    assert killed.returncode == -signal.SIGKILL, killed.explain()
    assert killed_early == [True], "the job finished before it could be killed part way"
    assert resumed.returncode == 0, resumed.explain()
    assert watcher.problems == [] and watcher.checked > 0
    for folder in ("tokenizer", "tokens"):
        expected, found = tree_bytes(tmp_path / "a" / folder), tree_bytes(tmp_path / "b" / folder)
        assert sorted(found) == sorted(expected), folder
        assert [name for name in expected if found[name] != expected[name]] == [], folder
