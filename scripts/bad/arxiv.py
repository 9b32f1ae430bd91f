"""Bad arXiv inputs: cut and corrupt archives and bundles, hostile tar entries, nesting, bombs."""
from __future__ import annotations

import tarfile
from pathlib import Path

from scripts.bad.common import (
    MIB,
    Case,
    Cases,
    Markers,
    gz,
    gzip_bomb,
    noise,
    sentences,
    tar_bytes,
    tar_entries,
    tar_files,
    tar_info,
)

SOURCE = "arxiv"


def tex(marker: str) -> str:
    body = "\n\n".join(" ".join(sentences(f"{marker}-{i}", 4, marker if i == 0 else "")) for i in range(3))
    return ("\\documentclass{article}\n\\newcommand{\\R}{\\mathbb{R}}\n\\begin{document}\n\\title{On " + marker + "}\n"
            "\\maketitle\n\\section{Introduction}\n" + body
            + "\n\\section{Results}\nThe map $f: \\R \\to \\R$ is smooth.\n"
            "\\end{document}\n")


def submission(marker: str, extra: dict[str, bytes] | None = None) -> bytes:
    return gz(tar_files({"main.tex": tex(marker).encode(), **(extra or {})}))


def build(folder: Path, big: bool = False) -> list[Case]:
    mark = Markers("ax")
    cases = Cases(SOURCE, folder)
    case = cases.add

    m1, m2 = mark(), mark()
    case("good submission", "1801.00001.tar.gz", submission(m1), [m1], [])
    case("good single-file submission", "1801.00002.gz", gz(tex(m2).encode()), [m2], [])

    whole = submission("cut", {"figure.eps": noise("ax-cut", 20_000)})
    case("truncated gzip", "1801.00003.tar.gz", whole[: len(whole) // 2], [], ["parse_error"])

    # A monthly bundle cut inside its third submission: the first two were read whole.
    m3, m4 = mark(), mark()
    third = gz(tex("lost").encode() + noise("ax-bundle", 20_000))
    bundle = tar_entries([(tar_info(f"1802/1802.0000{i + 1}.gz", len(d)), d) for i, d in
                          enumerate((gz(tex(m3).encode()), gz(tex(m4).encode()), third))])
    case("truncated bundle", "arXiv_src_1802_001.tar", bundle[: len(bundle) - 10_000], [m3, m4], ["parse_error"])

    m5, m6 = mark(), mark()
    members = {"1803/1803.00001.gz": gz(tex(m5).encode()), "1803/1803.00002.gz": b"this is not gzip data at all\n" * 20,
               "1803/1803.00003.gz": gz(tex(m6).encode())}
    case("corrupt member mid-bundle", "arXiv_src_1803_001.tar", tar_files(members), [m5, m6], ["parse_error"])

    m7 = mark()
    latin = tex(m7).replace("smooth.", "smooth (na\u00efve d\u00e9j\u00e0 vu).").encode("latin-1")
    case("Latin-1 TeX", "1801.00004.tar.gz", gz(tar_files({"main.tex": latin})), [m7], [])

    case("zero-byte file", "1801.00005.tar.gz", b"", [], ["parse_error"])

    m8 = mark()
    members = [(tar_info("main.tex", len(tex(m8))), tex(m8).encode())]
    for name, kind, link in (("../evil.tex", tarfile.REGTYPE, ""), ("/etc/evil.tex", tarfile.REGTYPE, ""),
                             ("link.tex", tarfile.SYMTYPE, "/etc/passwd"), ("hard.tex", tarfile.LNKTYPE, "main.tex"),
                             ("tty", tarfile.CHRTYPE, ""), ("pipe", tarfile.FIFOTYPE, "")):
        data = b"\\input{/etc/passwd}\n" if kind == tarfile.REGTYPE else None
        members.append((tar_info(name, len(data or b""), kind, link), data))
    case("tar with .., absolute paths, links and devices", "1801.00006.tar.gz", gz(tar_bytes(members)), [m8],
         ["unsafe_archive"])

    level = submission("deep")
    for depth in range(4, 0, -1):
        level = gz(tar_files({f"level{depth}.tar.gz": level}))
    case("deeply nested archives", "1801.00008.tar.gz", level, [], ["unsafe_archive"])

    case("binary file named .tex", "1801.00009.tar.gz", gz(tar_files({"main.tex": noise("ax-bin", 3000)})), [],
         ["no_tex"])

    m9 = mark()
    tar = tar_bytes([(tar_info("main-\xe9.tex".encode("latin-1"), len(tex(m9))), tex(m9).encode())],
                    fmt=tarfile.GNU_FORMAT)
    case("file and member names not valid UTF-8", b"1801.00010-\xff.tar.gz", gz(tar), [m9], [])

    if big:
        # A member that declares 10 GiB (refused before a byte is read), and a bundle holding a
        # 1 GiB gzip bomb (~1 MB) between two good submissions.
        head = tar_entries([(tar_info("bomb.tex", 10 << 30), b"")])
        case("declared-size bomb", "1801.00007.tar.gz", gz(head + b"\0" * MIB), [], ["unsafe_archive"], True)
        m10, m11 = mark(), mark()
        members = {"1804/1804.00001.gz": gz(tex(m10).encode()), "1804/1804.00002.gz": gzip_bomb(b"x" * MIB, 1024),
                   "1804/1804.00003.gz": gz(tex(m11).encode())}
        case("gzip decompression bomb in a bundle", "arXiv_src_1804_001.tar", tar_files(members), [m10, m11],
             ["unsafe_archive"], True)
    return cases
