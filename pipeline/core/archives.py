"""Reading untrusted archives safely: in memory, streamed, capped. Nothing is ever extracted to disk.

Source archives (arXiv submissions, repository tarballs) come from strangers. `read_members` streams
a tar (plain, gzip, bzip2 or xz, told apart by their magic bytes, not by the name) or a single
compressed file, and yields its regular files as `Member`s with their bytes in memory:

- no extraction: member names are never joined to a path on disk, so `../evil` or `/etc/passwd`
  cannot write anything; they are still refused (counted in `ArchiveStats.num_unsafe`) so that a
  caller that does write files later never sees them. Symbolic and hard links, devices, fifos and
  sparse files (which expand a few stored bytes into a huge file) are refused the same way.
- a decompression bomb is `UnsafeArchive`: every decompressed byte read counts against
  `max_bytes` (headers too, so a lying size field or a huge pax/long-name header cannot get
  around it), and so does the running sum of the sizes the members declare (refused before
  reading them). Bytes stored uncompressed are bounded by the input itself: with
  `cap_plain_total=False` an uncompressed tar (a bundle of submissions on disk) is capped per
  member only.
- more than `max_members` entries is `UnsafeArchive`; a corrupt or truncated stream is
  `CorruptArchive`. Both stop the reading; members already yielded stay with the caller.
- macOS metadata (`__MACOSX/`, AppleDouble `._name`) is read past and counted as ignored.
"""
from __future__ import annotations

import bz2
import dataclasses
import gzip
import lzma
import posixpath
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

_COMPRESSED_SUFFIXES = (".gz", ".tgz", ".bz2", ".xz")
_BROKEN = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)
_MAX_UNSAFE_NAMES = 20  # a bomb of bad names must not become a bomb of metadata


class ArchiveError(Exception):
    """Base of the two ways reading an archive stops."""


class UnsafeArchive(ArchiveError):
    """Over the decompressed-size or member-count cap."""


class CorruptArchive(ArchiveError):
    """Not a readable archive, or cut off part way."""


@dataclasses.dataclass(frozen=True)
class Member:
    """A regular file of an archive: `name` is a clean relative POSIX path (no `.`, `..` or `/` start)."""

    name: str
    size: int
    data: bytes | None  # None when the caller's `keep` did not ask for the bytes


@dataclasses.dataclass
class ArchiveStats:
    """What `read_members` saw, filled in as it goes (so it is complete only once reading ends)."""

    format: str = ""  # "tar", or "file" for a single compressed (or plain) file
    compression: str = ""  # "gzip", "bzip2", "xz" or "" for none
    num_entries: int = 0  # tar headers seen: files, folders, links, ...
    num_files: int = 0  # safe regular files yielded
    num_ignored: int = 0  # macOS metadata
    num_unsafe: int = 0
    unsafe: list[str] = dataclasses.field(default_factory=list)  # "name (why)", the first few
    num_bytes: int = 0  # decompressed bytes read from the stream


def is_mac_metadata(name: str) -> bool:
    """AppleDouble `._x` companions and `__MACOSX/` folders: resource forks, not content."""
    parts = name.split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._")


def safe_name(name: str) -> tuple[str, str]:
    """(clean relative path, "") for a safe member name, or ("", why) for an unsafe one: an
    absolute path (`/x`, `\\x`, `C:x`), a parent folder (`..`), or nothing left. Every archive
    reader (arXiv, GitHub, StackExchange) judges member names here."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "", "absolute path"
    parts = re.split(r"[/\\]", name)
    if ".." in parts:
        return "", "parent directory"
    clean = "/".join(p for p in parts if p not in ("", "."))
    return (clean, "") if clean else ("", "empty name")


class _Capped:
    """A read-only stream that counts what it hands out and refuses to go past `cap` bytes."""

    def __init__(self, inner: BinaryIO, cap: int | None, stats: ArchiveStats) -> None:
        self._inner, self._cap, self._stats = inner, cap, stats

    def read(self, size: int = -1) -> bytes:
        if size < 0 and self._cap is not None:
            size = self._cap + 1  # enough to see that a "read everything" goes over
        data = self._inner.read(size)
        self._stats.num_bytes += len(data)
        if self._cap is not None and self._stats.num_bytes > self._cap:
            raise UnsafeArchive(f"decompressed size over {self._cap} bytes")
        return data


def _decompressor(raw: BinaryIO) -> tuple[BinaryIO, str]:
    """The decompressed stream by the magic bytes (names lie), and the compression's name."""
    head = raw.read(6)
    prefixed = _Prefixed(head, raw)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=prefixed), "gzip"  # type: ignore[arg-type]
    if head.startswith(b"BZh"):
        return bz2.BZ2File(prefixed), "bzip2"  # type: ignore[arg-type]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(prefixed), "xz"  # type: ignore[arg-type]
    return prefixed, ""  # type: ignore[return-value]


class _Prefixed:
    """`head` (already read to sniff the format) followed by the rest of `inner`."""

    def __init__(self, head: bytes, inner: BinaryIO) -> None:
        self._head, self._inner = head, inner

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._inner.read(size)
        data = self._head if size < 0 else self._head[:size]
        self._head = self._head[len(data):]
        if size < 0 or len(data) < size:
            data += self._inner.read(-1 if size < 0 else size - len(data))
        return data


def _is_tar_header(block: bytes) -> bool:
    if len(block) < tarfile.BLOCKSIZE:
        return False
    if block.count(0) == tarfile.BLOCKSIZE:
        return True  # an empty tar starts with its end-of-archive zeros
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def single_file_name(name: str) -> str:
    """The name a lone compressed file stands for: `upload4.gz` -> `upload4`, `a.tgz` -> `a.tar`."""
    base = posixpath.basename(name)
    if base.lower().endswith(".tgz"):
        return base[:-4] + ".tar"
    for suffix in _COMPRESSED_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def read_members(
    fileobj: BinaryIO,
    name: str,
    *,
    max_bytes: int,
    max_members: int,
    stats: ArchiveStats | None = None,
    keep: Callable[[str, int], bool] = lambda name, size: True,
    cap_plain_total: bool = True,
) -> Iterator[Member]:
    """The safe regular files of the archive (or the one file) in `fileobj`, in stored order.

    `name` is the archive's own name (used for a lone compressed file's member name). `keep(name,
    size)` says which members to read into memory; the others are yielded with `data=None`.
    Raises UnsafeArchive or CorruptArchive; see the module docstring for the rules.
    """
    stats = stats if stats is not None else ArchiveStats()
    try:
        stream, stats.compression = _decompressor(fileobj)
        cap_total = bool(stats.compression) or cap_plain_total
        capped = _Capped(stream, max_bytes if cap_total else None, stats)
        head = capped.read(tarfile.BLOCKSIZE)
        if _is_tar_header(head):
            stats.format = "tar"
            yield from _tar_members(_Prefixed(head, capped), max_bytes, max_members, stats, keep, cap_total)
        else:
            stats.format = "file"
            yield _single_member(_Prefixed(head, capped), name, max_bytes, stats, keep)
    except _BROKEN as exc:
        raise CorruptArchive(f"{type(exc).__name__}: {exc}"[:300]) from exc


def _single_member(stream: _Prefixed, name: str, max_bytes: int, stats: ArchiveStats, keep) -> Member:
    chunks, size = [], 0
    while chunk := stream.read(1 << 20):
        size += len(chunk)
        if size > max_bytes:  # a plain input is not capped by the stream, so here
            raise UnsafeArchive(f"decompressed size over {max_bytes} bytes")
        chunks.append(chunk)
    member_name = single_file_name(name)
    stats.num_files = 1
    return Member(member_name, size, b"".join(chunks) if keep(member_name, size) else None)


def _tar_members(stream, max_bytes, max_members, stats, keep, cap_total) -> Iterator[Member]:
    declared = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:  # "r|": forward-only, no seeking
        for info in tar:
            stats.num_entries += 1
            if stats.num_entries > max_members:
                raise UnsafeArchive(f"more than {max_members} members")
            if info.isdir():
                continue
            clean, why = safe_name(info.name)
            why = why or unsafe_member_type(info)
            if why:
                stats.num_unsafe += 1
                if len(stats.unsafe) < _MAX_UNSAFE_NAMES:
                    stats.unsafe.append(f"{info.name[:200]} ({why})")
                continue
            if is_mac_metadata(clean):
                stats.num_ignored += 1
                continue
            declared = declared + info.size if cap_total else info.size
            if declared > max_bytes:
                raise UnsafeArchive(f"decompressed size over {max_bytes} bytes (declared by {clean[:200]})")
            data = None
            if keep(clean, info.size):
                member = tar.extractfile(info)
                assert member is not None, "a regular file always has a reader"
                data = member.read()
            stats.num_files += 1
            yield Member(clean, info.size, data)


def unsafe_member_type(info: tarfile.TarInfo) -> str:
    """Why a tar entry is not a regular file to read ("link", "device or fifo", ...); "" if it is one."""
    if info.issym() or info.islnk():
        return "link"
    if info.ischr() or info.isblk() or info.isfifo():
        return "device or fifo"
    if info.issparse():
        return "sparse file"
    if not info.isreg():
        return f"entry type {info.type!r}"
    return ""
