"""StackExchange's Posts.xml, row by row: streamed, bounded, and resuming after a broken row.

Dumps write one `<row .../>` per line (newlines inside values are `&#xA;`). The parser is fed line
by line and each row is cleared from the tree once read, so memory does not grow with the file.
Where a row cannot be parsed (an unquoted attribute, a byte that is not UTF-8, a bad character
reference) it is one `BrokenRow` and a fresh parser takes the next line, so a damaged row costs
that row only. A row whose line ended before the row did (an unterminated quote) is found broken
only when the next line starts a row: that row is the broken one, and the line is read again.
A file that ends inside a row, or before `</posts>`, ends with one BrokenRow.
"""
from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

LINE_PIECE = 1 << 20  # a longer line is fed in pieces: the parser takes partial input
_DECLARATION_RE = re.compile(rb"\s*<\?xml[^>]*\?>")


@dataclasses.dataclass(frozen=True)
class BrokenRow:
    number: int  # 1-based, among the file's rows (a broken row takes a number too)
    detail: str


def read_rows(stream: Any) -> Iterator[tuple[int, dict[str, str]] | BrokenRow]:
    """(row number, attributes) for every `<row>` of a binary stream, or a BrokenRow (see above)."""
    reader = _Reader()
    while line := stream.readline(LINE_PIECE):
        try:
            yield from reader.feed(line)
        except ET.ParseError as e:
            # A row left open on an earlier line is the broken one: this line may be whole.
            again = reader.pending and line.lstrip().startswith(b"<row")
            yield reader.broken(f"ParseError: {e}")
            if again:
                try:
                    yield from reader.feed(line)
                except ET.ParseError as e:
                    yield reader.broken(f"ParseError: {e}")
    if (detail := reader.close()) is not None:
        yield BrokenRow(reader.num_rows + 1, f"XML broken after row {reader.num_rows}: {detail}")


class _Reader:
    """An incremental parser, restartable after a broken row: a fresh one gets the file's XML
    declaration again (it names the encoding) and an opening `<posts>`, which the file's own
    `</posts>` then closes."""

    def __init__(self) -> None:
        self.num_rows = 0
        self._prolog = b""
        self._first = True
        self._restarted = False
        self._start()

    def _start(self) -> None:
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._root: ET.Element | None = None
        self._closed = False  # the root's end tag was read
        self._fed = False  # a non-blank line was fed to this parser
        self._row_starts = self._row_ends = 0  # `<row` seen in the lines, rows the parser ended

    @property
    def pending(self) -> bool:
        """A row began and has not ended yet."""
        return self._row_starts > self._row_ends

    def feed(self, line: bytes) -> Iterator[tuple[int, dict[str, str]]]:
        """The rows the line ends; ET.ParseError where it breaks the XML (after the rows before)."""
        if self._first:
            self._first = False
            found = _DECLARATION_RE.match(line)
            self._prolog = found.group(0).strip() + b"\n" if found else b""
        self._parser.feed(line)
        for event, elem in self._parser.read_events():  # raises the parse error, in its place
            if self._root is None:
                self._root = elem
            elif event == "end" and elem is self._root:
                self._closed = True
            elif event == "end" and elem.tag == "row":
                self.num_rows += 1
                self._row_ends += 1
                yield self.num_rows, dict(elem.attrib)
                self._root.clear()  # without this the root keeps every row: memory would grow with the file
        self._row_starts += line.count(b"<row")  # "<" is escaped in values: this is markup
        self._fed = self._fed or bool(line.strip())

    def broken(self, detail: str) -> BrokenRow:
        """The row that broke (it takes the next number); then a fresh parser."""
        self.num_rows += 1
        self._start()
        self._parser.feed(self._prolog + b"<posts>\n")
        self._restarted = True
        return BrokenRow(self.num_rows, f"XML broken after row {self.num_rows - 1}: {detail}")

    def close(self) -> str | None:
        """Why the end of the file is damage (inside a row, no root, no `</posts>`), or None."""
        if self.pending:
            return "the file ends inside a row"
        if self._restarted and not self._fed:
            return None  # the last line was broken, and is counted already
        if self._root is None:
            return "no element found: the file holds no XML"
        if not self._closed:
            return "the file ends before </posts>"
        try:
            self._parser.close()
        except ET.ParseError as e:
            return f"ParseError: {e}"
        return None
