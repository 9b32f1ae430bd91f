"""Running `corral` as a user would, in a subprocess, and watching what it touches.

Every job runs with a fresh working directory, TMPDIR and HOME, so a write anywhere but its
output folder shows up in a before/after snapshot. Its peak memory is the high-water mark of its
resident set (VmHWM in /proc/<pid>/status), read until it exits: wait4()'s ru_maxrss would not
do, as Linux carries the parent's (pytest's) peak across fork and exec into the child's figure.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa

from tests.conftest import REPO


@dataclasses.dataclass
class JobRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float

    def explain(self) -> str:
        return (f"corral {' '.join(self.args)} -> {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n"
                f"--- stderr\n{self.stderr[-6000:]}")


@dataclasses.dataclass
class Sandbox:
    """A fresh cwd, TMPDIR and HOME for one job, and a folder for its logs outside all three."""

    root: Path

    def __post_init__(self) -> None:
        for name in ("cwd", "tmp", "home", "logs"):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    @property
    def cwd(self) -> Path:
        return self.root / "cwd"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ written into the repository
            "TMPDIR": str(self.tmp),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }


def run_cli(sandbox: Sandbox, args: list[str], timeout: float = 300, on_start=None) -> JobRun:
    """`python -m pipeline.cli ARGS` in the sandbox; `on_start(proc)` runs while the job does."""
    n = len(list((sandbox.root / "logs").iterdir()))
    out_path, err_path = sandbox.root / "logs" / f"{n}.out", sandbox.root / "logs" / f"{n + 1}.err"
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], cwd=sandbox.cwd, env=sandbox.env(),
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        peak = _PeakMemory(proc.pid)
        try:
            if on_start is not None:
                on_start(proc)
            proc.wait()
        finally:
            timer.cancel()
            peak.stop()
    return JobRun(args, proc.returncode, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
                  peak.kib / 1024, time.monotonic() - start)


class _PeakMemory:
    """Reads a process's VmHWM (its peak resident set, KiB) every few milliseconds until stopped."""

    def __init__(self, pid: int) -> None:
        self._path, self.kib = f"/proc/{pid}/status", 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.005):
            try:
                with open(self._path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.kib = max(self.kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass  # gone, or a zombie without memory any more

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


# --- what a run touched ------------------------------------------------------------------------------
def snapshot(root: Path, skip: tuple[bytes, ...] = ()) -> dict[bytes, tuple]:
    """Every entry under `root` (names as bytes: some are not UTF-8) -> (kind, mode, size, sha256)."""
    found: dict[bytes, tuple] = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = os.path.relpath(dirpath, base)
        dirnames[:] = sorted(d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip)
        for name in dirnames + sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.relpath(path, base))
            st = os.lstat(path)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                found[rel] = ("dir", st.st_mode)
            else:
                found[rel] = ("file", st.st_mode, st.st_size, _sha256(path))
    return found


def _sha256(path: bytes) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def changed(before: dict[bytes, tuple], after: dict[bytes, tuple]) -> list[str]:
    names = sorted(set(before) | set(after))
    return [os.fsdecode(n) for n in names if before.get(n) != after.get(n)]


# --- reading a corpus output ---------------------------------------------------------------------------
def read_rows(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("part-*.arrow")):
        with pa.memory_map(str(path)) as source:
            rows += pa.ipc.open_file(source).read_all().to_pylist()
    return rows


def load_stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text(encoding="utf-8"))


def tree_bytes(root: Path, exclude: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under `root` (hidden ones included) -> its bytes, but the names in `exclude`."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in exclude}
