"""The safe in-memory archive reader (pipeline/core/archives.py): caps, refused members, no extraction."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import random
import tarfile

import pytest

from pipeline.core.archives import (
    ArchiveStats,
    CorruptArchive,
    UnsafeArchive,
    is_mac_metadata,
    read_members,
    safe_name,
    single_file_name,
)

CAP = 50_000  # small, but above tar's 10 KB record padding, which counts too


def tar_bytes(entries: list[tarfile.TarInfo | tuple[str, bytes]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """A tar in memory; (name, data) is a regular file, a TarInfo is written as given (no data)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def read(data: bytes, name: str = "a.tar.gz", **kwargs) -> tuple[list, ArchiveStats]:
    stats = ArchiveStats()
    kwargs = {"max_bytes": CAP, "max_members": 100, **kwargs}
    members = list(read_members(io.BytesIO(data), name, stats=stats, **kwargs))
    return members, stats


@pytest.mark.parametrize("compress, kind", [
    (lambda b: b, ""),
    (lambda b: gzip.compress(b, mtime=0), "gzip"),
    (bz2.compress, "bzip2"),
    (lzma.compress, "xz"),
])
def test_tar_in_every_compression_is_read_by_magic_not_name(compress, kind):
    data = compress(tar_bytes([("./paper/main.tex", b"\\documentclass{article}"), ("fig.pdf", b"%PDF-1.4")]))
    members, stats = read(data, name="misleading.tar.gz")
    assert [(m.name, m.data) for m in members] == [
        ("paper/main.tex", b"\\documentclass{article}"), ("fig.pdf", b"%PDF-1.4")]
    assert (stats.format, stats.compression, stats.num_files, stats.num_unsafe) == ("tar", kind, 2, 0)


def test_keep_decides_which_bytes_are_held():
    data = tar_bytes([("a.tex", b"x"), ("b.pdf", b"y" * 100)])
    members, _ = read(data, keep=lambda name, size: name.endswith(".tex"))
    assert [(m.name, m.size, m.data) for m in members] == [("a.tex", 1, b"x"), ("b.pdf", 100, None)]


def test_unsafe_members_are_refused_and_counted():
    entries = [
        ("../evil.tex", b"escape"),
        ("/abs/path.tex", b"absolute"),
        ("sub/../../evil2.tex", b"escape"),
        special("link.tex", tarfile.SYMTYPE, "/etc/passwd"),
        special("hard.tex", tarfile.LNKTYPE, "main.tex"),
        special("dev", tarfile.CHRTYPE),
        special("blk", tarfile.BLKTYPE),
        special("pipe", tarfile.FIFOTYPE),
        ("main.tex", b"safe"),
    ]
    members, stats = read(gzip.compress(tar_bytes(entries), mtime=0))
    assert [m.name for m in members] == ["main.tex"]
    assert stats.num_unsafe == 8 and len(stats.unsafe) == 8
    reasons = " ".join(stats.unsafe)
    for why in ("parent directory", "absolute path", "link", "device or fifo"):
        assert why in reasons


def test_mac_metadata_is_ignored():
    entries = [("./._main.tex", b"\x00\x05\x16\x07binary"), ("__MACOSX/x/._y.tex", b"\x00"), ("main.tex", b"ok")]
    members, stats = read(tar_bytes(entries))
    assert [m.name for m in members] == ["main.tex"] and stats.num_ignored == 2
    assert is_mac_metadata("a/._b") and is_mac_metadata("__MACOSX/a") and not is_mac_metadata("a/b._c")


def test_nothing_is_extracted_or_written(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("archives must never be extracted")

    for method in ("extract", "extractall", "_extract_member", "makefile"):
        monkeypatch.setattr(tarfile.TarFile, method, refuse)
    inner = tmp_path / "work"
    inner.mkdir()
    monkeypatch.chdir(inner)
    absolute = f"{tmp_path}/abs-evil.tex"
    data = gzip.compress(tar_bytes([("../evil.tex", b"x"), (absolute, b"x"), ("ok.tex", b"y")]), mtime=0)
    members, _ = read(data)
    assert [m.name for m in members] == ["ok.tex"]
    assert sorted(os.listdir(tmp_path)) == ["work"] and os.listdir(inner) == []


def test_bomb_declaring_more_than_the_cap_is_refused_before_reading():
    data = gzip.compress(tar_bytes([("small.tex", b"a" * 100), ("big.tex", b"\0" * (CAP * 3))]), mtime=0)
    assert len(data) < 1000  # tiny on disk
    with pytest.raises(UnsafeArchive, match=f"decompressed size over {CAP}"):
        read(data)


def test_sum_of_members_counts_not_just_each_one():
    data = gzip.compress(tar_bytes([(f"{i}.tex", b"a" * 12_000) for i in range(5)]), mtime=0)
    with pytest.raises(UnsafeArchive):
        read(data)


def test_lying_header_cannot_bypass_the_cap():
    # A member that declares 10 bytes behind a pax header of 50 KB: the declared sizes stay tiny,
    # the decompressed stream does not.
    info = tarfile.TarInfo("small.tex")
    info.size = 10
    info.pax_headers = {"comment": "x" * 120_000}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"0123456789"))
    with pytest.raises(UnsafeArchive, match="decompressed size over"):
        read(gzip.compress(buf.getvalue(), mtime=0))


def test_single_gzipped_file_bomb():
    with pytest.raises(UnsafeArchive):
        read(gzip.compress(b"\\documentclass{article}" + b" " * CAP, mtime=0), name="upload4.gz")


def test_single_gzipped_file():
    members, stats = read(gzip.compress(b"\\documentclass{article}\n", mtime=0), name="dir/upload4.gz")
    assert [(m.name, m.data) for m in members] == [("upload4", b"\\documentclass{article}\n")]
    assert (stats.format, stats.compression) == ("file", "gzip")


def test_too_many_members():
    with pytest.raises(UnsafeArchive, match="more than 3 members"):
        read(tar_bytes([(f"{i}.tex", b"x") for i in range(5)]), max_members=3)


def test_plain_tar_total_is_bounded_by_itself_when_asked():
    data = tar_bytes([(f"{i}.tar.gz", b"a" * 15_000) for i in range(5)])  # 75 KB > CAP, each under it
    with pytest.raises(UnsafeArchive):
        read(data, name="bundle.tar")
    members, _ = read(data, name="bundle.tar", cap_plain_total=False)
    assert len(members) == 5
    with pytest.raises(UnsafeArchive):  # still capped per member
        read(tar_bytes([("huge.tar.gz", b"a" * (CAP + 1))]), name="bundle.tar", cap_plain_total=False)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_or_truncated(damage):
    data = gzip.compress(tar_bytes([(f"{i}.tex", random.Random(i).randbytes(3000)) for i in range(3)]), mtime=0)
    data = data[: len(data) // 2] if damage == "truncate" else data[:20] + b"\xff" * 200 + data[220:]
    with pytest.raises(CorruptArchive):
        read(data, max_bytes=10**6)


def test_sparse_files_are_refused():
    info = tarfile.TarInfo("sparse.tex")
    info.type = tarfile.GNUTYPE_SPARSE
    members, stats = read(tar_bytes([info, ("ok.tex", b"x")]))
    assert [m.name for m in members] == ["ok.tex"] and stats.num_unsafe == 1


@pytest.mark.parametrize("name, expected", [
    ("a/b.tex", ("a/b.tex", "")), ("./a//b.tex", ("a/b.tex", "")), ("../a", ("", "parent directory")),
    ("a/../../b", ("", "parent directory")), ("/etc/passwd", ("", "absolute path")),
    ("C:\\x", ("", "absolute path")), ("..\\x", ("", "parent directory")), ("./", ("", "empty name")),
])
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_single_file_name():
    assert [single_file_name(n) for n in ("x/upload4.gz", "a.tgz", "b.tex.bz2", "plain")] == [
        "upload4", "a.tar", "b.tex", "plain"]
