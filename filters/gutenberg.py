"""Project Gutenberg boilerplate: the header, footer and licence around a book's text.

LLaMA (Touvron et al. 2023, section 2, "Books") trains on "the Gutenberg Project, which contains
books that are in the public domain". Every Gutenberg file wraps the book in text that is not the
book: a header (title, release date, a short licence note, or in the 1990s a long "SMALL PRINT"
legal statement), a START marker, production credits, then after the book an END marker and the
full Project Gutenberg-tm licence. Left in, that boilerplate repeats tens of thousands of times in
a corpus; it also lowers the body overlap between two editions of one book, which the book-level
dedup (dedup/, "more than 90% content overlap") must see.

`strip_gutenberg(text)` finds, on whole lines, case-insensitively:

1. the END of the header: the last START marker (`*** START OF THE/THIS PROJECT GUTENBERG EBOOK`,
   `***START OF ...`, `*END*THE SMALL PRINT! ...*END*`, `*END THE SMALL PRINT!`) that comes before
   the first line that only ever appears after a book (`*** END OF ...`, `End of the Project
   Gutenberg EBook`, `End of Project Gutenberg's ...`), so a START marker is never taken from a
   footer;
2. the START of the footer: the first END marker or licence opening after the header
   (`*** START: FULL LICENSE ***`, `THE FULL PROJECT GUTENBERG LICENSE`, `Updated editions will
   replace the previous one`, `***** This file should be named ...`, a trailing SMALL PRINT), so
   a file whose END line was cut by a third party still loses its licence;
3. production credits right after a START marker ("Produced by ...", "This etext was produced
   from ...", "Transcribed from ...", Distributed Proofreaders lines): whole paragraphs, only at
   the top of the body.

A file with no START marker (Gutenberg's own GitHub mirror strips the boilerplate) keeps its text
whole, except opening paragraphs that are header residue: a `Title:`/`Author:` field block a third
party left, or a banner naming Project Gutenberg (1990s files with the small print at the end).

The marker lists follow those of well-known cleaners (c-w/gutenberg's `strip_headers`, a port of
Johannes Krugel's strip_headers.cpp; ropensci's gutenbergr `gutenberg_strip`), rewritten as
anchored regexes and checked against the real files in ../shared/corpus-samples/books. Unlike
c-w/gutenberg, a bare "The Project Gutenberg ..." line is not a start marker (it is the first line
of most headers, and the START line that follows it is enough), and "Produced by" ends the header
only right after a START marker, never anywhere in the first 600 lines.

Pure (no Beam imports); pipeline/sources/books.py decodes the bytes and calls it.
"""
from __future__ import annotations

import re
from typing import Any

# Lines that close a header: what follows (after credits) is the book.
_START_RE = re.compile(
    r"\s*(?:\*{2,}\s*START\s+OF\s+(?:THE\s+|THIS\s+)?(?:COPYRIGHTED\s+)?PROJECT\s+GUTENBERG"
    r"|\*+\s*END\W*THE\s+SMALL\s+PRINT"  # 1990s-2000s "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver..."
    r"|\**\s*Beginning\s+of\s+(?:the\s+|this\s+)?Project\s+Gutenberg)",
    re.IGNORECASE,
)
# Lines that only ever follow a book (never inside a header).
_END_RE = re.compile(
    r"\s*(?:\*{2,}\s*END\s+OF\s+(?:THE\s+|THIS\s+)?(?:COPYRIGHTED\s+)?PROJECT\s+GUTENBERG"
    r"|End\s+of\s+(?:the\s+|this\s+)?Project\s+Gutenberg"  # "End of Project Gutenberg's X", "...Etext of X"
    r"|Ende\s+dies(?:es|er)\s+Proje[ck]t\S*\s+Gutenberg"
    r"|Fin\s+del?\s+(?:Project|Proyecto)\s+Gutenberg)",
    re.IGNORECASE,
)
# Licence openings that may stand without an END line (a third party cut it, or the small print
# comes last): in a header they precede the START marker, so they are looked for only after it.
_LICENCE_RE = re.compile(
    r"\s*(?:\*+\s*START\W*(?:THE\s+)?(?:FULL\s+LICEN[SC]E|SMALL\s+PRINT)"
    r"|\*+\s*This\s+file\s+should\s+be\s+named"
    r"|Updated\s+editions\s+will\s+replace\s+the\s+previous\s+one"
    r"|THE\s+FULL\s+PROJECT\s+GUTENBERG(?:-tm|\u2122)?\s+LICEN[SC]E"
    r"|Section\s+1\.\s+General\s+Terms\s+of\s+Use\s+and\s+Redistributing\s+Project\s+Gutenberg)",
    re.IGNORECASE,
)
# The first line of a credits paragraph right after the START marker.
_CREDIT_RE = re.compile(
    r"\s*(?:produced\s+by|(?:e-?text\s+|e-?book\s+)?prepared\s+by|transcribed\s+(?:from|by)"
    r"|(?:this\s+)?e-?(?:text|book)\s+(?:was\s+)?(?:produced|prepared|transcribed|created|scanned)"
    r"|scanned\s+by|(?:and\s+)?(?:the\s+)?(?:Project\s+Gutenberg\s+)?Online\s+Distributed\s+Proofread"
    r"|https?://www\.pgdp\.net)",
    re.IGNORECASE,
)
_PG_RE = re.compile(r"Project\s+Gutenberg", re.IGNORECASE)
_MAX_CREDIT_PARAGRAPHS = 3  # credits are one or two paragraphs; a book's opening is never three

# Header fields ("Title: ...") and the names they go by.
_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z -]{1,30}?)\s*:\s*(.*)")
_FIELD_KEYS = {
    "title": "title", "author": "author", "authors": "author", "language": "language",
    "release date": "release_date", "posting date": "release_date",
}
_OTHER_FIELDS = frozenset({
    "editor", "editors", "translator", "illustrator", "commentator", "contributor", "credits",
    "last updated", "most recently updated", "character set encoding", "edition",
    "original publication", "produced by",
})
_EBOOK_RE = re.compile(r"\bE-?(?:Book|text)\s*(?:#|No\.?)\s*(\d+)", re.IGNORECASE)
_BRACKET_RE = re.compile(r"\s*\[.*?\]\s*")
# "The Project Gutenberg EBook of X, by Y" and its older spellings: title and author when the
# header has no Title:/Author: fields (the 1990s small-print files).
_BANNER_RE = re.compile(
    r"\W*(?:The\s+)?Project\s+Gutenberg(?:'s|\u2019s)?\s*(?:E-?Book|E-?text)?\s*,?\s*(?:of\s+)?"
    r"(?P<title>.+?)(?:,?\s+by\s+(?P<author>.+?))?\s*$",
    re.IGNORECASE,
)


def strip_gutenberg(text: str) -> tuple[str, dict[str, Any]]:
    """(body, metadata) of one decoded book with LF line ends; see the module docstring.

    metadata: title, author, language, release_date (strings or None), ebook (int or None),
    had_header and had_footer (whether a START marker and a footer were found).
    """
    lines = text.split("\n")
    start = _header_end(lines)
    if start is None:
        header, body_from = _leading_header(lines)
    else:
        header, body_from = lines[:start], _after_marker(lines, start)
    footer = _footer_start(lines, body_from)
    body = lines[body_from:footer]
    if start is not None:
        body = _drop_credits(body)
    meta = header_metadata(header)
    meta["had_header"] = start is not None
    meta["had_footer"] = footer < len(lines)
    return "\n".join(_trim_blank(body)), meta


def _header_end(lines: list[str]) -> int | None:
    """Index of the last START marker before the first END-only line, or None."""
    found = None
    for i, line in enumerate(lines):
        if _END_RE.match(line):
            break
        if _START_RE.match(line):
            found = i
    return found


def _after_marker(lines: list[str], i: int) -> int:
    """The first body line after the START marker at `i`.

    A long title can wrap the marker onto a second line ("*** START OF THE PROJECT GUTENBERG EBOOK
    THE\\nWONDERFUL WIZARD OF OZ ***"); that second line is part of the marker.
    """
    line = lines[i].rstrip()
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if not line.endswith("*") and nxt.endswith("***"):
        return i + 2
    return i + 1


def _footer_start(lines: list[str], begin: int) -> int:
    for i in range(begin, len(lines)):
        if _END_RE.match(lines[i]) or _LICENCE_RE.match(lines[i]):
            return i
    return len(lines)


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line ranges of the non-blank runs in `lines`."""
    spans, first = [], None
    for i, line in enumerate(lines + [""]):
        if line.strip() and first is None:
            first = i
        elif not line.strip() and first is not None:
            spans.append((first, i))
            first = None
    return spans


def _drop_credits(body: list[str]) -> list[str]:
    """Remove credits paragraphs at the very top of the body (never further down: a book may say
    "produced by" in its own words)."""
    cut = 0
    for first, end in _paragraphs(body)[:_MAX_CREDIT_PARAGRAPHS]:
        if not _CREDIT_RE.match(body[first]):
            break
        cut = end
    return body[cut:]


def _leading_header(lines: list[str]) -> tuple[list[str], int]:
    """Header residue opening a file that has no START marker: (its lines, body start).

    Paragraphs at the top are residue while they are `Title:`/`Author:` field blocks (a third
    party cut the rest of the header) or mention Project Gutenberg (a banner with the small print
    at the end of the file); the first other paragraph is the book, so a book that opens with its
    own text keeps every line.
    """
    cut = 0
    for first, end in _paragraphs(lines):
        par = lines[first:end]
        if not (_is_fields(par) or _PG_RE.search(" ".join(par))):
            break
        cut = end
    return lines[:cut], cut


def _is_fields(par: list[str]) -> bool:
    """Every line a known header field, or an indented line continuing one."""
    return _field(par[0]) is not None and all(_field(x) is not None or x[:1].isspace() for x in par)


def _field(line: str) -> tuple[str, str] | None:
    """(lower-case name, value) of a known header field line, or None."""
    m = _FIELD_RE.fullmatch(line.strip())
    if not m or line[:1].isspace():
        return None
    name = " ".join(m.group(1).lower().split())
    return (name, m.group(2).strip()) if name in _FIELD_KEYS or name in _OTHER_FIELDS else None


def header_metadata(header: list[str]) -> dict[str, Any]:
    """title, author, language, release_date and ebook number from header lines (None if absent)."""
    meta: dict[str, Any] = {"title": None, "author": None, "language": None, "release_date": None, "ebook": None}
    key = None
    for line in header:
        field = _field(line)
        if field is not None:
            key = _FIELD_KEYS.get(field[0])
            if key and meta[key] is None and field[1]:
                meta[key] = field[1]
            else:
                key = None  # another field, or a repeated one: the first value stands
        elif key in ("title", "author") and line[:1].isspace() and line.strip():
            meta[key] = f"{meta[key]} {line.strip()}"  # a wrapped title or a co-author
        else:
            key = None
    _clean_fields(meta, "\n".join(header))
    if meta["title"] is None:
        _banner(meta, header)
    return meta


def _clean_fields(meta: dict[str, Any], header_text: str) -> None:
    for name in ("title", "author", "language"):
        if meta[name] is not None:
            meta[name] = " ".join(meta[name].split())
    if meta["release_date"] is not None:
        # "December 1, 1999 [eBook #2000]": the bracket holds the number, read below.
        meta["release_date"] = " ".join(_BRACKET_RE.sub(" ", meta["release_date"]).split()) or None
    m = _EBOOK_RE.search(header_text)
    meta["ebook"] = int(m.group(1)) if m else None


def _banner(meta: dict[str, Any], header: list[str]) -> None:
    first = next((line for line in header if line.strip()), "")
    m = _BANNER_RE.match(first.replace("\ufeff", ""))
    if m:
        meta["title"] = " ".join(m.group("title").split())
        if meta["author"] is None and m.group("author"):
            meta["author"] = " ".join(m.group("author").split())


def _trim_blank(lines: list[str]) -> list[str]:
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), -1)
    return lines[first:last + 1]
