"""Bad GitHub inputs: cut and corrupt archives, hostile tar entries, binary sources, a bomb."""
from __future__ import annotations

import bz2
import io
import tarfile
import zipfile
from pathlib import Path

from scripts.bad.common import (
    MIB,
    Case,
    Cases,
    Markers,
    gz,
    noise,
    tar_bytes,
    tar_entries,
    tar_files,
    tar_info,
    write,
)
from scripts.sample.github import MIT

SOURCE = "github"


def source_file(marker: str) -> bytes:
    return (f'"""Helpers for the {marker} module."""\n\n\ndef {marker}(values):\n    total = 0\n'
            f"    for value in values:\n        total += value * 3\n    return total\n").encode()


def repo_tar_gz(top: str, files: dict[str, bytes]) -> bytes:
    return gz(tar_files({"LICENSE": MIT.encode(), **files}, top))


def build(folder: Path, big: bool = False) -> list[Case]:
    mark = Markers("gh")
    cases = Cases(SOURCE, folder)
    case = cases.add

    # Every repository ships its LICENSE, which is not source code: one `extension` drop each.
    m1, m2 = mark(), mark()
    data = repo_tar_gz("good-main", {f"{m1}.py": source_file(m1), f"{m2}.py": source_file(m2), "empty.py": b""})
    case("good repository (with a zero-byte file)", "hard__good.tar.gz", data, [m1, m2], ["extension", "empty"])

    # Cut inside the incompressible last member: LICENSE and the files before it are whole.
    m3, m4 = mark(), mark()
    whole = repo_tar_gz("cut-main",
                        {f"{m3}.py": source_file(m3), f"{m4}.py": source_file(m4), "blob.py": noise("gh-cut", 30_000)})
    case("truncated gzip", "hard__truncated.tar.gz", whole[: len(whole) - 10_000], [m3, m4],
         ["extension", "parse_error", "parse_error"])

    # A stored member whose bytes no longer match its CRC, between two good ones.
    m5, m6 = mark(), mark()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (("LICENSE", MIT.encode()), (f"{m5}.py", source_file(m5)),
                           ("corrupt.py", b"# " + b"x" * 200 + b"\n"), (f"{m6}.py", source_file(m6))):
            archive.writestr(zipfile.ZipInfo(f"zipped-main/{name}", (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_STORED)
    data = buffer.getvalue().replace(b"x" * 200, b"y" * 200, 1)
    case("corrupt member mid-archive", "hard__corrupt-member.zip", data, [m5, m6], ["extension", "parse_error"])

    m7, m8 = mark(), mark()
    files = {"latin1.py": "# caf\u00e9 cr\u00e8me\nx = 1\n".encode("latin-1"),
             f"{m7}.py": b"\xef\xbb\xbf" + source_file(m7),
             f"{m8}.py": source_file(m8).replace(b"Helpers", "H\u00e9lpers \u2013".encode())}
    case("invalid UTF-8 and mixed encodings", "hard__encodings.tar.gz", repo_tar_gz("enc-main", files), [m7, m8],
         ["extension", "binary"])

    case("zero-byte archive", "hard__zero.tar.gz", b"", [], ["parse_error"])
    case("zero-byte table", "hard-zero.jsonl", b"", [], ["empty"])

    # `..` and absolute paths, a symbolic and a hard link, a character device and a fifo.
    m9 = mark()
    members = [(tar_info("unsafe-main/LICENSE", len(MIT)), MIT.encode()),
               (tar_info(f"unsafe-main/{m9}.py", len(source_file(m9))), source_file(m9))]
    for name, kind, link in (("unsafe-main/../evil.py", tarfile.REGTYPE, ""), ("/etc/evil.py", tarfile.REGTYPE, ""),
                             ("unsafe-main/link.py", tarfile.SYMTYPE, "/etc/passwd"),
                             ("unsafe-main/hard.py", tarfile.LNKTYPE, f"unsafe-main/{m9}.py"),
                             ("unsafe-main/tty.py", tarfile.CHRTYPE, ""),
                             ("unsafe-main/pipe.py", tarfile.FIFOTYPE, "")):
        data = b"x = 1\n" if kind == tarfile.REGTYPE else None
        members.append((tar_info(name, len(data or b""), kind, link), data))
    case("tar with .., absolute paths, links and devices", "hard__unsafe.tar.gz", gz(tar_bytes(members)), [m9],
         ["extension", "unsafe_archive"])

    m10 = mark()
    files = {f"{m10}.py": source_file(m10), "image.py": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise("png", 500),
             "random.py": bytes(b | 0x80 for b in noise("rand", 500))}
    case("binary files named .py", "hard__binary.tar.gz", repo_tar_gz("bin-main", files), [m10],
         ["extension", "binary", "binary"])

    m11 = mark()
    inner = repo_tar_gz("inner-main", {"inner.py": source_file("inner")})
    deep = gz(tar_files({"level2.tar.gz": gz(tar_files({"level3.tar.gz": inner}))}))
    files = {f"{m11}.py": source_file(m11), "vendor.tar.gz": deep}
    case("nested archives", "hard__nested.tar.gz", repo_tar_gz("nest-main", files), [m11], ["extension", "binary"])

    m12, m13 = mark(), mark()
    tar = tar_bytes([(tar_info("names-main/LICENSE", len(MIT)), MIT.encode()),
                     (tar_info(f"names-main/{m12}\xe9.py".encode("latin-1"), len(source_file(m12))), source_file(m12))],
                    fmt=tarfile.GNU_FORMAT)
    case("member name not valid UTF-8", "hard__names.tar.gz", gz(tar), [m12], ["extension"])
    write(folder, b"hard__checkout-\xff/LICENSE", MIT.encode())
    write(folder, f"hard__checkout-\xff/{m13}.py".encode("latin-1"), source_file(m13))
    case("checkout folder name not valid UTF-8", b"hard__checkout-\xff", None, [m13], ["extension"])

    if big:
        m14, m15 = mark(), mark()
        files = {f"{m14}.py": source_file(m14), "huge.py": b"x = 1; " * (50 * MIB // 7), f"{m15}.py": source_file(m15)}
        case("a single 50 MB line", "hard__50mb-line.tar.gz", repo_tar_gz("huge-main", files), [m14, m15],
             ["extension", "too_large"], True)

        # A member that says it holds 10 GiB: the declared sizes count against max_archive_bytes.
        m16 = mark()
        head = tar_entries([(tar_info("bomb-main/LICENSE", len(MIT)), MIT.encode()),
                            (tar_info(f"bomb-main/{m16}.py", len(source_file(m16))), source_file(m16))])
        bomb = tar_info("bomb-main/bomb.py", 10 << 30).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        data = bz2.compress(head + bomb + b"\0" * (64 * MIB), 9)
        case("bzip2 decompression bomb", "hard__bomb.tar.bz2", data, [m16], ["extension", "too_large"], True)
    return cases
