"""Bad StackExchange dumps: cut and hostile .7z files, malformed and mis-encoded Posts.xml rows."""
from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import quoteattr

import py7zr
from py7zr.helpers import ArchiveTimestamp

from scripts.bad.common import MIB, MTIME, Case, Cases, Markers, noise, sentences

SOURCE = "stackexchange"
_ROOT = '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'


def row(post_id: int, post_type: int, body: str, parent: int | None = None, title: str = "") -> str:
    attrs = {"Id": str(post_id), "PostTypeId": str(post_type), "Score": "3", "Body": body,
             "CreationDate": "2023-01-01T00:00:00.000", "LastActivityDate": "2023-01-02T00:00:00.000"}
    if parent is not None:
        attrs["ParentId"] = str(parent)
    if title:
        attrs["Title"], attrs["Tags"] = title, "<testing>"
    return "  <row " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + " />\n"


def thread(marker: str, question_id: int) -> str:
    """A question (its marker in the body) and one answer: one kept document."""
    question = "<p>" + " ".join(sentences(marker, 3, marker)) + "</p>"
    answer = "<p>" + " ".join(sentences(marker + "a", 3)) + "</p>"
    return row(question_id, 1, question, title=f"How about {marker}?") + row(question_id + 1, 2, answer, question_id)


def posts(*parts: str, close: bool = True) -> bytes:
    return (_ROOT + "".join(parts) + ("</posts>\n" if close else "")).encode()


def seven_zip(members: dict[str, bytes], preset: int = 6) -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", filters=[{"id": py7zr.FILTER_LZMA2, "preset": preset}]) as archive:
        for name, data in members.items():
            archive._writestr(data, name)  # the private writer takes unsafe names, as a hostile archive has
        fixed = ArchiveTimestamp.from_datetime(MTIME)  # py7zr stamps the current time otherwise
        for info in archive.header.files_info.files:
            info["creationtime"] = info["lastwritetime"] = info["lastaccesstime"] = fixed
    return buffer.getvalue()


def build(folder: Path, big: bool = False) -> list[Case]:
    mark = Markers("se")
    cases = Cases(SOURCE, folder)

    def case(name: str, site: str | bytes, rel: str | bytes, data: bytes, kept: list[str], drops: list[str],
             is_big: bool = False) -> None:
        cases.add(name, rel, data, kept, drops, is_big, key=site)

    m1, m2 = mark(), mark()
    case("good site", "good.hard.stackexchange.com", "good.hard.stackexchange.com/Posts.xml",
         posts(thread(m1, 10), thread(m2, 20)), [m1, m2], [])

    m3, m4 = mark(), mark()
    data = posts(thread(m3, 10), thread(m4, 20), row(30, 1, "<p>" + "cut " * 400 + "</p>", title="Cut"))
    case("truncated Posts.xml", "cut.hard.stackexchange.com", "cut.hard.stackexchange.com/Posts.xml",
         data[: len(data) - 1000], [m3, m4], ["parse_error"])

    whole = seven_zip({"Posts.xml": posts(thread("lost", 10)) + noise("se-7z", 20_000)})
    case("truncated 7z", "cut7z.hard.stackexchange.com", "cut7z.hard.stackexchange.com.7z", whole[: len(whole) // 2],
         [], ["parse_error"])

    m5, m6 = mark(), mark()
    broken = '  <row Id="30" PostTypeId=1 Score="1" Body="unquoted attribute" />\n'
    case("malformed XML row mid-file", "malformed.hard.stackexchange.com", "malformed.hard.stackexchange.com/Posts.xml",
         posts(thread(m5, 10), broken, thread(m6, 20)), [m5, m6], ["parse_error"])

    m7, m8 = mark(), mark()
    data = (posts(thread(m7, 10)) [: -len("</posts>\n")]
            + row(30, 1, "<p>bad \udcff byte</p>", title="Bad").encode("utf-8", "surrogateescape"))
    data += posts(thread(m8, 20))[len(_ROOT):]
    case("invalid UTF-8 row mid-file", "encoding.hard.stackexchange.com", "encoding.hard.stackexchange.com/Posts.xml",
         data, [m7, m8], ["parse_error"])

    m9 = mark()
    latin = (posts(thread(m9, 10)).replace(b'encoding="utf-8"', b'encoding="ISO-8859-1"')
             .replace(b"</p>", "caf\u00e9</p>".encode("latin-1")))
    case("Latin-1 Posts.xml", "latin1.hard.stackexchange.com", "latin1.hard.stackexchange.com/Posts.xml",
         latin, [m9], [])

    case("zero-byte Posts.xml", "zero.hard.stackexchange.com", "zero.hard.stackexchange.com/Posts.xml", b"", [],
         ["parse_error"])
    case("zero-byte 7z", "zero7z.hard.stackexchange.com", "zero7z.hard.stackexchange.com.7z", b"", [], ["parse_error"])
    case("7z with a .. member", "unsafe.hard.stackexchange.com", "unsafe.hard.stackexchange.com.7z",
         seven_zip({"Posts.xml": posts(thread("unsafe", 10)), "../escape.xml": b"<x/>"}), [], ["unsafe_archive"])

    m10 = mark()
    case("site folder name not valid UTF-8", b"caf\xe9.hard.stackexchange.com",
         b"caf\xe9.hard.stackexchange.com/Posts.xml",
         posts(thread(m10, 10)), [m10], [])

    if big:
        # 128 MiB of Posts.xml in a 20 KB LZMA2 archive, past the job's stackexchange.max_archive_bytes.
        data = seven_zip({"Posts.xml": posts(thread("bomb", 10)) + b" " * (128 * MIB)}, preset=1)
        case("7z decompression bomb", "bomb.hard.stackexchange.com", "bomb.hard.stackexchange.com.7z", data, [],
             ["too_large"], True)
    return cases
