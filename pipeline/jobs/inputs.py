"""The input root: one folder per source, each searched recursively for its formats."""
from __future__ import annotations

import dataclasses
import os
import posixpath

from apache_beam.io.filesystems import FileSystems

from pipeline.core.io import printable
from pipeline.sources.registry import SOURCES

# Which file names each source reads is its spec's `formats` (pipeline/sources/registry.py); the
# rest of its folder is listed as ignored, never silently.
# Multistream dumps ship an offsets index beside the XML; it is not a dump.
_NOT_INPUT_MARKERS = ("multistream-index",)


class LocalPath(str):
    """A local path whose name is not valid UTF-8, spelled as Python spells it (surrogate escapes).

    Beam encodes a plain str element as UTF-8 and fails on such a name; a str subclass travels
    pickled instead, and stays a str that open() and os.* take as the original bytes.
    """

    __slots__ = ()


def _portable(path: str) -> str:
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return LocalPath(path)


@dataclasses.dataclass(frozen=True)
class SourceFiles:
    source: str
    # (path, path relative to the source folder), sorted. A name that is not valid UTF-8 has its
    # path as a LocalPath and its relative path with the bad bytes as `\xNN`, which ids and
    # metadata carry: the file is read like any other.
    files: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...]  # relative paths that are not this source's format


def _is_input(source: str, rel: str) -> bool:
    name = posixpath.basename(rel).lower()
    if any(marker in name for marker in _NOT_INPUT_MARKERS) or name.startswith("."):
        return False
    spec = SOURCES[source]
    if spec.is_input is not None:  # archive.org also ships other StackExchange tables as <site>-Votes.7z
        return spec.is_input(rel)
    return name.endswith(spec.formats)


def _list_local(folder: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=_raise):
        dirnames.sort()
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.access(path, os.R_OK):
                raise ValueError(f"input file {path} is not readable: fix its permissions or remove it")
            found.append(path)
    return found


def _raise(err: OSError) -> None:
    raise ValueError(f"input folder {err.filename} cannot be read ({err.strerror}): fix its permissions")


def _list_remote(folder: str) -> list[str]:
    result = FileSystems.match([FileSystems.join(folder, "**")])[0]
    return [m.path for m in result.metadata_list]


def _repository_folders(folder: str, inputs: list[str]) -> list[str]:
    """Immediate subfolders of a source folder that hold no input file: plain repository checkouts."""
    repos = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False) and not any(p.startswith(entry.path + os.sep) for p in inputs):
            repos.append(entry.path)
    return repos


def _is_remote(path: str) -> bool:
    return "://" in path


def discover(input_root: str, sources: tuple[str, ...]) -> list[SourceFiles]:
    """The files of each selected source present under `input_root`; a missing folder means absent."""
    if not _is_remote(input_root):
        if not os.path.isdir(input_root):
            raise ValueError(f"input root {input_root} does not exist or is not a folder; give INPUT=<dir>")
        if not os.access(input_root, os.R_OK | os.X_OK):
            raise ValueError(f"input root {input_root} is not readable: fix its permissions")
    found = []
    for source in sources:
        if source not in SOURCES:
            raise ValueError(f"source {source!r} has no reader yet; readers exist for: {', '.join(sorted(SOURCES))}")
        folder = FileSystems.join(input_root, source)
        if _is_remote(folder):
            paths = _list_remote(folder)
        elif os.path.isdir(folder):
            paths = _list_local(folder)
        else:
            continue
        rel = {p: posixpath.relpath(p.replace(os.sep, "/"), folder.replace(os.sep, "/")) for p in paths}
        inputs = [p for p in paths if _is_input(source, rel[p])]
        if SOURCES[source].checkouts and not _is_remote(folder):
            repos = _repository_folders(folder, inputs)
            inside = {p for p in paths for repo in repos if p.startswith(repo + os.sep)}
            paths = [p for p in paths if p not in inside]
            inputs += repos
            rel.update({repo: posixpath.relpath(repo, folder) for repo in repos})
        files = tuple(sorted((_portable(p), printable(rel[p])) for p in inputs))
        ignored = tuple(sorted(printable(rel[p]) for p in paths if p not in set(inputs)))
        found.append(SourceFiles(source, files, ignored))
    return found
