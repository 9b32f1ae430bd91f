"""The progress line (pipeline/core/progress.py, pipeline/launch/progress.py): worker files summed
by the launcher's thread, every interval, for WORKERS > 1 too; nothing for a short run."""
import io
import json
import re
import time

from pipeline.cli import main
from pipeline.core.progress import ProgressCounter, clear_progress, progress_dir, read_progress
from pipeline.launch import progress
from pipeline.launch.progress import DEFAULT_EVERY, ProgressReporter, format_line, reporting
from tests.conftest import SAMPLE

LINE = re.compile(r"^progress \d+:\d\d:\d\d( \[[^]]+\])? .*\| [\d.]+ MB read, [\d.]+ MB/s$")


def test_worker_files_are_summed_and_kept_after_the_job_removes_them(tmp_path):
    out = str(tmp_path)
    one, two = ProgressCounter(out), ProgressCounter(out)  # two workers (or two DoFn instances)
    one.add("c4", read=3, dropped=1, num_bytes=2_000_000)
    one.add("c4", kept=2)
    two.add("c4", read=1, kept=1)
    two.add("wikipedia", read=5, dropped=5)
    one.flush()
    two.flush()
    cache: dict = {}
    totals = read_progress([progress_dir(out)], cache)
    assert totals == {"c4": {"read": 4, "kept": 3, "dropped": 1, "bytes": 2_000_000},
                      "wikipedia": {"read": 5, "kept": 0, "dropped": 5, "bytes": 0}}
    clear_progress(out)
    assert not (tmp_path / "_progress").exists()
    assert read_progress([progress_dir(out)], cache) == totals  # the last counts of each file stay


def test_two_jobs_of_one_command_are_each_counted_once(tmp_path):
    """`corral ablate` runs several corpus jobs under one reporter: each folder's files count once."""
    reporter = ProgressReporter(DEFAULT_EVERY)
    for name, read in (("a", 10), ("b", 7)):
        counter = ProgressCounter(str(tmp_path / name))
        counter.add("c4", read=read)
        counter.flush()
        reporter.watch(progress_dir(str(tmp_path / name)))
    assert reporter.refresh()["c4"]["read"] == 17
    clear_progress(str(tmp_path / "a"))  # the first job has ended: its last counts stay
    assert reporter.refresh()["c4"]["read"] == 17


def test_line_has_elapsed_counts_per_source_and_rate():
    line = format_line(125.0, {"c4": {"read": 1005, "kept": 1000, "dropped": 5, "bytes": 25_000_000}}, "corpus")
    assert line == "progress 0:02:05 [corpus] c4 read 1,005 kept 1,000 dropped 5 | 25.0 MB read, 0.20 MB/s"
    assert LINE.match(line) and LINE.match(format_line(3, {}))


def test_reporter_prints_every_interval_and_nothing_for_a_short_run(tmp_path):
    stream = io.StringIO()
    with reporting(0.2, stream):
        counter = ProgressCounter(str(tmp_path))
        progress.watch(progress_dir(str(tmp_path)))
        counter.add("c4", read=7, num_bytes=100)
        counter.flush()
        time.sleep(0.7)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2 and all(LINE.match(line) for line in lines), lines
    assert "c4 read 7 kept 0 dropped 0" in lines[-1]
    quiet = io.StringIO()
    with reporting(DEFAULT_EVERY, quiet):
        time.sleep(0.1)
    assert quiet.getvalue() == ""
    assert DEFAULT_EVERY == 10.0


def test_corpus_and_tokenize_with_two_workers_print_progress(tmp_path, capfd, monkeypatch, sample_models):
    finals = []
    stop = ProgressReporter.stop

    def keep_totals(self):
        finals.append(self.refresh())
        stop(self)

    monkeypatch.setattr(ProgressReporter, "stop", keep_totals)
    out = tmp_path / "corpus"
    args = ["--input", str(SAMPLE), "--output", str(out), "--set", f"models.dir={sample_models}"]
    assert main(["corpus", *args, "--workers", "2", "--progress-every", "1"]) == 0
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("progress")]
    assert lines and all(LINE.match(line) for line in lines), lines
    stats = json.loads((out / "stats.json").read_text())["sources"]
    # the worker processes' counts, summed: every document read ends kept or dropped
    assert finals[0] == {s: {"read": e["seen"], "kept": e["kept"], "dropped": sum(e["dropped"].values()),
                             "bytes": finals[0][s]["bytes"]} for s, e in stats.items()}
    assert all(c["bytes"] > 0 for c in finals[0].values())
    assert not (out / "_progress").exists()
    tokens = tmp_path / "tokens"
    assert main(["tokenize", "--corpus", str(out), "--output", str(tokens), "--set",
                 f"tokenizer.dir={tmp_path / 'tok'}", "--progress-every", "0.1"]) == 0
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("progress")]
    assert lines and all(LINE.match(line) for line in lines), lines
    assert finals[1] == {s: {"read": e["kept"], "kept": e["kept"], "dropped": 0, "bytes": e["kept_bytes"]}
                         for s, e in stats.items()}
    assert not (tokens / "_progress").exists()


def test_a_short_job_prints_no_progress_line(tmp_path, capfd):
    assert main(["corpus", "--input", str(SAMPLE), "--output", str(tmp_path / "c4"), "--set", "sources=c4"]) == 0
    assert "progress" not in capfd.readouterr().err
