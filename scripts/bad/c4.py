"""Bad C4 inputs (JSON Lines, plain or gzip), good documents planted before and after each damage."""
from __future__ import annotations

import json
from pathlib import Path

from scripts.bad.common import (
    MIB,
    Case,
    Cases,
    Markers,
    corrupt_gzip_member,
    good_text,
    gz,
    gzip_repeat,
    text_noise,
)

SOURCE = "c4"


def line(text: str, n: int = 0) -> bytes:
    record = {"text": text, "timestamp": "2019-04-25T12:57:54Z", "url": f"https://example.org/page/{n}"}
    return json.dumps(record).encode() + b"\n"


def good(mark: Markers) -> tuple[str, bytes]:
    marker = mark()
    return marker, line(good_text(marker, 4), len(marker))


def build(folder: Path, big: bool = False) -> list[Case]:
    mark = Markers("c4")
    cases = Cases(SOURCE, folder)
    case = cases.add

    (m1, l1), (m2, l2) = good(mark), good(mark)
    case("good file", "c4-good.jsonl", l1 + l2, [m1, m2], [])

    # The cut falls inside the last line's incompressible text: the lines before it are whole.
    (m3, l3), (m4, l4) = good(mark), good(mark)
    whole = gz(l3 + l4 + line(text_noise("c4-cut", 12_000)))
    case("truncated gzip", "c4-truncated.json.gz", whole[: len(whole) - 300], [m3, m4], ["parse_error"])

    (m5, l5), (m6, l6) = good(mark), good(mark)
    data = gz(l5) + corrupt_gzip_member(line("a line in a damaged gzip member")) + gz(l6)
    case("corrupt gzip member mid-file", "c4-corrupt-member.json.gz", data, [m5, m6], ["parse_error"])

    # A byte-order mark before the first record; a Latin-1 line; a JSON escape of a lone surrogate.
    (m7, l7), (m8, l8), (m9, l9) = good(mark), good(mark), good(mark)
    latin1 = json.dumps({"text": "Un caf\u00e9 tr\u00e8s agr\u00e9able."}, ensure_ascii=False).encode("latin-1") + b"\n"
    surrogate = b'{"text": "half of a pair \\ud800 here. And more words follow it here."}\n'
    data = b"\xef\xbb\xbf" + l7 + latin1 + l8 + surrogate + l9
    case("invalid UTF-8 and mixed encodings", "c4-encodings.jsonl", data, [m7, m8, m9], ["parse_error", "parse_error"])

    (m10, l10), (m11, l11) = good(mark), good(mark)
    data = l10 + b'{"text": "an unterminated string\n' + b"[1, 2, 3]\n" + b'{"url": "no text"}\n' + l11
    case("malformed JSON lines", "c4-malformed.jsonl", data, [m10, m11], ["parse_error"] * 3)

    case("zero-byte gzip file", "c4-zero.json.gz", b"", [], ["empty"])
    case("zero-byte plain file", "c4-zero.jsonl", b"", [], ["empty"])

    m12, l12 = good(mark)
    case("file name not valid UTF-8", b"c4-\xff\xfename.jsonl", l12, [m12], [])

    (m13, l13), (m14, l14) = good(mark), good(mark)
    binary = bytes(b for b in range(256) if b != 0x0A) * 4  # no newline: one bad line
    case("binary bytes in a JSON Lines file", "c4-binary.jsonl", l13 + binary + b"\n" + l14, [m13, m14],
         ["parse_error"])

    if big:
        (m15, l15), (m16, l16) = good(mark), good(mark)
        huge = line("word " * (50 * MIB // 5))  # one 50 MB line
        case("a single 50 MB line", "c4-50mb-line.jsonl", l15 + huge + l16, [m15, m16], ["too_large"], True)

        # 1 GiB of one unterminated line in ~1 MB of gzip members, between two good lines.
        (m17, l17), (m18, l18) = good(mark), good(mark)
        bomb = gz(l17 + b'{"text": "') + gzip_repeat(b"a" * MIB, 1024) + gz(b'"}\n' + l18)
        case("gzip decompression bomb", "c4-bomb.json.gz", bomb, [m17, m18], ["too_large"], True)
    return cases
