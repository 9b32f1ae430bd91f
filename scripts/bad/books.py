"""Bad Project Gutenberg inputs: cut and corrupt streams, odd encodings, binary files named .txt."""
from __future__ import annotations

import bz2
from pathlib import Path

from scripts.bad.common import Case, Cases, Markers, bz2_zeros, corrupt_bz2_stream, gz, noise, sentences

SOURCE = "books"


def book(marker: str, chapters: int = 3) -> str:
    """A short book of distinct text (the book dedup drops >90% overlap), its marker in chapter I."""
    parts = [f"THE BOOK OF {marker.upper()}\n"]
    for i in range(chapters):
        parts.append(f"CHAPTER {'I' * (i + 1)}\n")
        for j in range(4):
            parts.append(" ".join(sentences(f"{marker}-{i}-{j}", 5, marker if i == j == 0 else "")) + "\n")
    return "\n".join(parts)


def build(folder: Path, big: bool = False) -> list[Case]:
    mark = Markers("bk")
    cases = Cases(SOURCE, folder)
    case = cases.add

    m1, m2 = mark(), mark()
    case("good plain book", "book-good.txt", book(m1).encode(), [m1], [])
    case("good gzip book", "book-good.txt.gz", gz(book(m2).encode()), [m2], [])

    whole = gz(book("cut").encode() + noise("bk-gz", 20_000))
    case("truncated gzip", "book-truncated.txt.gz", whole[: len(whole) // 2], [], ["parse_error"])
    whole = bz2.compress(book("cutbz").encode() + noise("bk-bz", 20_000), 9)
    case("truncated bzip2", "book-truncated.txt.bz2", whole[: len(whole) // 2], [], ["parse_error"])
    whole = bytearray(gz(book("flip", 8).encode()))
    whole[len(whole) // 2] ^= 0xFF
    case("corrupt gzip stream", "book-corrupt.txt.gz", bytes(whole), [], ["parse_error"])
    text = book("multi").encode()
    data = bz2.compress(text[:2000], 9) + corrupt_bz2_stream(text[2000:4000]) + bz2.compress(text[4000:], 9)
    case("corrupt bzip2 stream mid-file", "book-corrupt-stream.txt.bz2", data, [], ["parse_error"])

    m3, m4, m5, m6 = mark(), mark(), mark(), mark()
    case("Latin-1 book", "book-latin1.txt", (book(m3) + "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e.\n").encode("latin-1"),
         [m3], [])
    case("cp1252 book", "book-cp1252.txt", (book(m4) + "\u201cQuoted\u201d \u2013 dash.\n").encode("cp1252"), [m4], [])
    case("UTF-16 book", "book-utf16.txt", book(m5).encode("utf-16"), [m5], [])
    mixed = book(m6).encode() + "Na\u00efve \u2014 r\u00e9sum\u00e9.\n".encode() + b"stray \xff byte.\n"
    case("mixed encodings (UTF-8 with a stray byte)", "book-mixed.txt", mixed, [m6], [])

    case("zero-byte file", "book-zero.txt", b"", [], ["empty"])
    case("binary file named .txt (NUL bytes)", "book-image.txt",
         b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise("bk-png", 4000), [], ["binary"])
    case("binary file named .txt (no NUL)", "book-random.txt", bytes(b | 0x01 for b in noise("bk-rand", 4000)), [],
         ["binary"])
    case("gzip inside gzip", "book-double.txt.gz", gz(gz(book("double").encode())), [], ["binary"])

    m7 = mark()
    case("file name not valid UTF-8", b"book-\xe9t\xe9.txt", book(m7).encode(), [m7], [])

    if big:
        # 1 GiB of NUL bytes in ~1.3 KB of bzip2; books.max_book_bytes (100 MB) stops the read.
        case("bzip2 decompression bomb", "book-bomb.txt.bz2", bz2_zeros(1 << 30), [], ["too_large"], True)
    return cases
