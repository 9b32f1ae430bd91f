"""Reuse of an ablation's steps: a step's folder holds the fingerprint of what made it (ablate.json).

A step is done again when its fingerprint changed (config, input, or what an earlier step made) or
its folder lacks one: a folder whose step was interrupted has none, because the fingerprint is
removed before the step starts and written only when it completes. The input's fingerprint is each
file's path, size and modification time (as make decides), not its content: touch a file to force a
rebuild, or run with --fresh.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from pipeline.core.config import is_uri
from pipeline.sources.registry import CorpusConfig

FINGERPRINT = "ablate.json"


def digest(value: Any) -> str:
    """sha256 of a JSON-able value (keys sorted)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def input_fingerprint(cfg: CorpusConfig) -> str:
    """Every input file of cfg.sources under cfg.input: relative path, size, modification time."""
    from apache_beam.io.filesystems import FileSystems

    from pipeline.jobs.inputs import discover

    rows = []
    for sf in discover(cfg.input, cfg.sources):
        for path, rel in sf.files:
            if is_uri(path):
                meta = FileSystems.match([path])[0].metadata_list[0]
                rows.append([sf.source, rel, "", meta.size_in_bytes, meta.last_updated_in_seconds])
                continue
            for found in _files(path):
                stat = os.stat(found)
                rows.append([sf.source, rel, os.path.relpath(found, path), stat.st_size, stat.st_mtime_ns])
    return digest(rows)


def _files(path: str) -> list[str]:
    """A file, or every file of a folder (a GitHub checkout) in sorted order."""
    if not os.path.isdir(path):
        return [path]
    return [os.path.join(d, n) for d, dirs, names in sorted(os.walk(path)) for n in sorted(names)]


def current(folder: str, fingerprint: dict[str, Any]) -> bool:
    path = os.path.join(folder, FINGERPRINT)
    if not os.path.isfile(path):
        return False
    with open(path, encoding="utf-8") as f:
        return json.load(f) == json.loads(json.dumps(fingerprint))


def start(folder: str) -> None:
    """The step begins: until `done`, the folder counts as incomplete."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, FINGERPRINT)
    if os.path.exists(path):
        os.remove(path)


def done(folder: str, fingerprint: dict[str, Any]) -> None:
    tmp = os.path.join(folder, f".{FINGERPRINT}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(fingerprint, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(folder, FINGERPRINT))
