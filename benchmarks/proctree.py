"""A process and all its descendants, read from /proc: what the benchmarks poll for peak memory and CPU.

Worker processes (Beam's WORKERS > 1, datatrove's pool, lmplz) are children or grandchildren of the
command a benchmark starts, so the command's own rusage misses them; these functions follow the
parent links in /proc/<pid>/stat instead.
"""
from __future__ import annotations

import os

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> dict[int, tuple[int, int]]:
    """pid -> (CPU ticks, user + system; resident pages) of `root` and every descendant."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[bytes]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    raw = f.read()
            except OSError:
                continue  # exited since the listing
            fields = raw[raw.rindex(b")") + 2:].split()
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in stats:  # fields from the state on: utime, stime are 12 and 13, rss 22
            found[pid] = (int(stats[pid][11]) + int(stats[pid][12]), int(stats[pid][21]))
            stack += children.get(pid, [])
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and every descendant."""
    return sum(pages for _, pages in process_tree(root).values()) * PAGE
