"""The `progress` line: while `corral corpus`, `models` or `tokenize` runs, a thread of the launcher
prints to stderr, every `--progress-every` seconds (10 by default), the time since the start, the
documents read, kept and dropped so far per source, and the text megabytes read per second.

The counts come from the files the workers write (pipeline/core/progress.py), so they include
every worker process (WORKERS > 1) and the portable runner's workers when OUT is on a filesystem
they share. A run shorter than the interval prints nothing. `kept` counts documents as their
shard is written (the job's last pass); until then read - kept - dropped are still on their way.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

from pipeline.core.progress import current_phase, read_progress, set_phase

DEFAULT_EVERY = 10.0
_active: list[ProgressReporter] = []


class ProgressReporter:
    """Sums the watched folders' counts and prints one line every `every` seconds until stopped."""

    def __init__(self, every: float = DEFAULT_EVERY, stream: TextIO | None = None) -> None:
        self._every = every
        self._stream = stream
        self._folders: list[str] = []
        self._cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="corral-progress", daemon=True)

    def watch(self, folder: str) -> None:
        with self._lock:
            if folder not in self._folders:
                self._folders.append(folder)

    def start(self) -> None:
        self._start = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            print(self.line(), file=self._stream or sys.stderr, flush=True)

    def refresh(self) -> dict[str, dict[str, int]]:
        """The counts of every watched folder, summed (each file's last counts are kept, so a job
        that has ended and removed its folder still counts)."""
        with self._lock:
            return read_progress(self._folders, self._cache)

    def line(self) -> str:
        return format_line(time.monotonic() - self._start, self.refresh(), current_phase())


def format_line(seconds: float, totals: dict[str, dict[str, int]], phase: str = "") -> str:
    """`progress 0:01:20 [phase] c4 read 1,005 kept 1,000 dropped 5 | ... | 12.3 MB read, 0.15 MB/s`"""
    minutes, secs = divmod(int(seconds), 60)
    parts = [f"progress {minutes // 60}:{minutes % 60:02d}:{secs:02d}" + (f" [{phase}]" if phase else "")]
    sources = [f"{source} read {c['read']:,} kept {c['kept']:,} dropped {c['dropped']:,}"
               for source, c in sorted(totals.items())]
    megabytes = sum(c["bytes"] for c in totals.values()) / 1e6
    rate = megabytes / seconds if seconds > 0 else 0.0
    return " | ".join([parts[0] + (f" {sources[0]}" if sources else " (no documents yet)"), *sources[1:],
                       f"{megabytes:.1f} MB read, {rate:.2f} MB/s"])


@contextlib.contextmanager
def reporting(every: float = DEFAULT_EVERY, stream: TextIO | None = None) -> Iterator[ProgressReporter | None]:
    """Progress lines for the duration of a command; `every` <= 0 turns them off. Jobs started
    inside (run_pipeline, the tokenize job) add their output's progress folder with `watch`."""
    if every <= 0:
        yield None
        return
    reporter = ProgressReporter(every, stream)
    _active.append(reporter)
    reporter.start()
    try:
        yield reporter
    finally:
        reporter.stop()
        _active.remove(reporter)
        set_phase("")


def watch(folder: str) -> None:
    """Add a job's progress folder to the command's reporter, if one is running."""
    if _active:
        _active[-1].watch(folder)


def collect() -> None:
    """Read the watched folders once more (a job ends: its folder is about to go)."""
    if _active:
        _active[-1].refresh()
