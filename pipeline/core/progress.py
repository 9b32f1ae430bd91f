"""Progress of a running job, summed across worker processes through small files.

Workers count, per source, documents read, kept and dropped and the text bytes read, in a
ProgressCounter; each counter rewrites its own file `<out>/_progress/<pid>-<id>.json`
(written under a temporary name and renamed) at most every FLUSH_SECONDS and at the end of every
bundle. The launcher's reporter (pipeline/launch/progress.py) sums the folder's files every
interval and prints a `progress` line.

Files, not Beam metrics: the FnApiRunner hands metrics back only when the job has finished, and
its worker processes (WORKERS > 1) share nothing else with the launcher. A worker that runs a
bundle twice (a retry) counts it twice here; the exact counts are stats.json's.

Steps outside Beam (training a model in the launcher) name themselves with `set_phase`, which the
reporter prints beside the counts.
"""
from __future__ import annotations

import json
import os
import posixpath
import time
import uuid
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.core.shards import TMP_PREFIX, join, write_text_atomic

PROGRESS_DIR = "_progress"
FLUSH_SECONDS = 2.0
FIELDS = ("read", "kept", "dropped", "bytes")
_CHECK_EVERY = 256  # additions between two looks at the clock

_phase: list[str] = [""]


def progress_dir(out_dir: str) -> str:
    """Where the workers of the job writing `out_dir` leave their counts."""
    return join(out_dir, PROGRESS_DIR)


def set_phase(name: str) -> None:
    """What the launcher's process is doing now (a step outside Beam), for the progress line."""
    _phase[0] = name


def current_phase() -> str:
    return _phase[0]


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class ProgressCounter:
    """One worker's counts (a DoFn instance's, made in `setup()`), flushed to its own file."""

    def __init__(self, out_dir: str) -> None:
        self._path = join(progress_dir(out_dir), f"{os.getpid()}-{uuid.uuid4().hex[:12]}.json")
        self._counts: dict[str, list[int]] = {}
        self._flushed_at = time.monotonic()
        self._pending = 0

    def add(self, source: str, read: int = 0, kept: int = 0, dropped: int = 0, num_bytes: int = 0) -> None:
        counts = self._counts.get(source)
        if counts is None:
            counts = self._counts[source] = [0, 0, 0, 0]
        counts[0] += read
        counts[1] += kept
        counts[2] += dropped
        counts[3] += num_bytes
        self._pending += 1
        if self._pending >= _CHECK_EVERY:
            self._pending = 0
            if time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
                self.flush()

    def flush(self) -> None:
        """Write the counts so far (DoFn.finish_bundle calls this; nothing when none were added)."""
        if not self._counts:
            return
        data = {source: dict(zip(FIELDS, c, strict=True)) for source, c in sorted(self._counts.items())}
        write_text_atomic(self._path, json.dumps(data))
        self._flushed_at = time.monotonic()


def read_progress(folders: list[str], cache: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per source, the counts of every worker file in `folders`, summed. `cache` keeps each file's
    last counts (by path), so the totals stay when a job removes its folder at its end."""
    for folder in folders:
        if "://" not in folder and not os.path.isdir(folder):
            continue
        for meta in FileSystems.match([join(folder, "*.json")])[0].metadata_list:
            if posixpath.basename(meta.path).startswith(TMP_PREFIX):
                continue
            try:
                with FileSystems.open(meta.path) as f:
                    cache[meta.path] = json.loads(f.read())
            except FileNotFoundError:  # removed by the job's end between listing and reading: cached
                continue
    totals: dict[str, dict[str, int]] = {}
    for counts in cache.values():
        for source, c in counts.items():
            total = totals.setdefault(source, dict.fromkeys(FIELDS, 0))
            for field in FIELDS:
                total[field] += c.get(field, 0)
    return dict(sorted(totals.items()))


def clear_progress(out_dir: str) -> None:
    """Remove the counts of `out_dir`'s job: before it starts (an earlier, killed run's must not
    add to its own) and when it ends."""
    folder = progress_dir(out_dir)
    if FileSystems.exists(folder):
        FileSystems.delete([folder])
