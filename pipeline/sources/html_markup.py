"""Post bodies (HTML fragments) -> plain text, for StackExchange (LLaMA section 2: "we removed the
HTML tags from text").

Stack Exchange stores each post's body as the HTML its Markdown renders to: `<p>`, lists, `<pre><code>`
blocks, inline `<code>`, links, images, tables, `<blockquote>`, `<hr>`. The text keeps what a reader
reads: paragraphs and headings become blocks separated by a blank line, each list item and table row
becomes a line ("- " or "1. " in front of items), code blocks are kept verbatim (indentation and line
breaks intact), inline code and link texts stay in the running text, entities are decoded and no tag
is left. Images are dropped: their alt text is almost always the editor's "enter image description
here". The parser is the standard library's, so no page can make it fail: unknown or unclosed tags
are only structure that is ignored.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

# Tags that start and end a block separated from its neighbours by a blank line.
_PARAGRAPHS = frozenset({
    "p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table",
    "hr", "section", "article", "aside", "header", "footer", "figure", "details", "summary",
})
# Tags that only start a new line.
_LINES = frozenset({"li", "tr", "dt", "dd", "br", "caption"})
_DROPPED = frozenset({"script", "style", "head", "title", "template"})  # content is not text
_CELLS = frozenset({"td", "th"})
_HTML_SPACE_RE = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace: a no-break space is not in it


class _TextExtractor(HTMLParser):
    """Collects finished lines; `_breaks` is the number of newlines owed before the next text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive decoded in handle_data
        self.lines: list[str] = []
        self._line = ""  # inline text of the current line, whitespace not yet collapsed
        self._prefix = ""  # a list marker waiting for its item's first text
        self._breaks = 0
        self._pre_depth = 0
        self._pre: list[str] = []
        self._dropped_depth = 0
        self._lists: list[list[int]] = []  # per open list: [next number] for <ol>, [] for <ul>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropped_depth += 1
        elif self._pre_depth:
            if tag == "br":
                self._pre.append("\n")
            self._pre_depth += tag == "pre"
        elif tag == "pre":
            self._end_line(2)
            self._pre_depth = 1
        elif tag in ("ul", "ol"):
            self._end_line(1 if self._lists else 2)  # a nested list continues its item's lines
            self._lists.append([_start_number(attrs)] if tag == "ol" else [])
        elif tag == "li":
            self._end_line(1)
            self._prefix = "  " * max(len(self._lists) - 1, 0) + self._marker()
        elif tag in _CELLS and self._line.strip():
            self._line += " | "
        elif tag in _PARAGRAPHS:
            self._end_line(2)
        elif tag in _LINES:
            self._end_line(1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropped_depth = max(self._dropped_depth - 1, 0)
        elif self._pre_depth:
            self._pre_depth -= tag == "pre"
            if not self._pre_depth:
                self._end_pre()
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._end_line(1 if self._lists else 2)
        elif tag in _PARAGRAPHS:
            self._end_line(2)
        elif tag in _LINES and tag != "br":
            self._end_line(1)

    def handle_data(self, data: str) -> None:
        if self._dropped_depth:
            return
        if self._pre_depth:
            self._pre.append(data)
        else:
            self._line += data

    def _marker(self) -> str:
        if self._lists and self._lists[-1]:
            number = self._lists[-1][0]
            self._lists[-1][0] += 1
            return f"{number}. "
        return "- "

    def _emit(self, text: str) -> None:
        if self.lines:
            self.lines.append("\n" * self._breaks)
        self.lines.append(text)
        self._breaks = 0

    def _end_line(self, breaks: int) -> None:
        text = _HTML_SPACE_RE.sub(" ", self._line).strip(" ")
        self._line = ""
        if text:
            self._emit(self._prefix + text)
            self._prefix = ""
        self._breaks = max(self._breaks, breaks)

    def _end_pre(self) -> None:
        # HTML ignores one newline right after <pre>; Markdown renderers end the block with one.
        code = "".join(self._pre)
        self._pre = []
        code = code[1:] if code.startswith("\n") else code
        code = code.rstrip("\n")
        if code.strip():
            self._emit(code)
        self._breaks = 2

    def close(self) -> None:
        super().close()
        if self._pre_depth:  # an unclosed <pre> still holds code that belongs to the text
            self._pre_depth = 0
            self._end_pre()
        self._end_line(0)


def _start_number(attrs: list[tuple[str, str | None]]) -> int:
    value = dict(attrs).get("start") or "1"
    return int(value) if value.strip().isdigit() else 1


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment: blocks as paragraphs, code verbatim, no tags."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "".join(parser.lines)
