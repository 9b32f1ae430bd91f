"""Cleaning arXiv LaTeX the way LLaMA did (Touvron et al. 2023, section 2, "ArXiv").

LLaMA: "We process arXiv Latex files ... we removed everything before the first section, as well
as the bibliography. We also removed the comments from the .tex files, and inline-expanded
definitions and macros written by users to increase consistency across papers." The text stays
LaTeX source (commands are not rendered or stripped). RedPajama's `arxiv_cleaner.py` is the public
re-implementation; where this module differs, the docstring says so and why.

Pure functions, no Beam: `clean_latex` is `strip_comments`, then `keep_from_first_section`, then
`remove_bibliography`, then `expand_macros` with the macros defined anywhere in the file
(preamble included, since that is where they live), then blank runs squeezed.
"""
from __future__ import annotations

import dataclasses
import re

# A control sequence: a control word (letters; `@` too, as in packages) or one other character.
_CONTROL = re.compile(r"\\([A-Za-z@]+|.)", re.S)
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.S)
_BRACKET_TOKEN = re.compile(r"\\.|[{}\]]", re.S)
_ARG_SPACE = re.compile(r"[ \t]*\n?[ \t]*")  # TeX skips spaces, and one newline, before an argument

MAX_PASSES = 10  # expansion rounds: a macro may use another, not an endless chain
MAX_GROWTH = 8  # expanded text may grow to this many times the input (plus 64 KB), no more
MAX_OPTIONAL_CHARS = 2000  # a `[..]` argument longer than this is taken as an unclosed `[`


# --- comments -----------------------------------------------------------------------------------------
_WHOLE_LINE_COMMENT = re.compile(r"^[ \t]*%[^\n]*(?:\n|\Z)", re.M)
_INLINE_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%[^\n]*")


def strip_comments(tex: str) -> str:
    """Remove `%` comments: whole comment lines (newline included) and `%` to the end of a line.

    `\\%` is a literal percent sign and stays; `\\\\%` (a line break, then a comment) does not.
    Simplifications, documented rather than hidden: in TeX a comment also swallows the newline,
    joining `foo%` and the next line into one word; here an inline comment keeps its newline.
    `%` inside `\\verb` or a verbatim environment is removed too (TeX would keep it).
    """
    tex = _WHOLE_LINE_COMMENT.sub("", tex)
    return _INLINE_COMMENT.sub(r"\1", tex)


# --- everything before the first section --------------------------------------------------------------
# RedPajama's list of section-like headers; the starred and short-title forms count too.
_SECTION = re.compile(
    r"(?<!\\)\\(?:part|chapter|section|subsection|subsubsection|paragraph|subparagraph)(?![A-Za-z@])\*?\s*[\[{]"
)
_BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")


def keep_from_first_section(tex: str) -> str:
    """The text from the first `\\section`-like header on (LLaMA: "removed everything before").

    RedPajama drops a file with no section header. Here a document without one (short notes,
    letters) keeps its body from after `\\begin{document}` instead, so it is not lost for lack of
    a heading; with neither, nothing is kept (a fragment or a macro file, not a paper).
    """
    section = _SECTION.search(tex)
    if section:
        return tex[section.start():]
    begin = _BEGIN_DOCUMENT.search(tex)
    return tex[begin.end():] if begin else ""


# --- bibliography ---------------------------------------------------------------------------------------
_BIB_ENVIRONMENT = re.compile(r"\\begin\s*\{(thebibliography|references)\}.*?(?:\\end\s*\{\1\}|\Z)", re.S)
_BIB_COMMAND = re.compile(
    r"\\(?:bibliography|bibliographystyle|addbibresource|printbibliography)(?![A-Za-z@])"
    r"(?:\s*\[[^\]\n]*\])?(?:\s*\{[^{}]*\})?"
)
_END_DOCUMENT = re.compile(r"\\end\s*\{document\}.*\Z", re.S)


def remove_bibliography(tex: str) -> str:
    """Remove the bibliography (LLaMA: "as well as the bibliography") and all after `\\end{document}`.

    Removed: `thebibliography` (and `references`) environments, `\\bibliography{..}`,
    `\\bibliographystyle{..}`, biblatex's `\\addbibresource` / `\\printbibliography`, and
    `\\end{document}` with everything after it. An appendix after the bibliography is kept:
    RedPajama cuts everything from `\\appendix` or the bibliography on, but an appendix is the
    paper's own text (proofs, derivations), which is what LLaMA wanted more of.
    """
    tex = _END_DOCUMENT.sub("", tex)
    tex = _BIB_ENVIRONMENT.sub("", tex)
    return _BIB_COMMAND.sub("", tex)


# --- macros -----------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Macro:
    """A user macro: `\\name` with `num_args` arguments; `default` is the optional first one's."""

    name: str
    num_args: int
    default: str | None
    body: str


_DEFINITION = re.compile(r"\\(?:(newcommand|renewcommand|providecommand)\*?|(def|gdef))(?![A-Za-z@])")
_NEWCOMMAND_NAME = re.compile(r"\s*(?:\{\s*\\([A-Za-z@]+)\s*\}|\\([A-Za-z@]+))")
_NUM_ARGS = re.compile(r"\s*\[\s*([0-9])\s*\]")
_SPACES = re.compile(r"\s*")
_DEF_HEAD = re.compile(r"\s*\\([A-Za-z@]+)((?:\s*#[1-9])*)\s*(?=\{)")


class _Groups:
    """Where each `{` group of a text ends, found in one pass: an unbalanced `{` then costs one
    scan, not one per later macro use. Escaped braces (`\\{`) do not count."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._ends: dict[int, int] = {}
        opened: list[int] = []
        for tok in _BRACE_TOKEN.finditer(text):
            if tok.group() == "{":
                opened.append(tok.start())
            elif tok.group() == "}" and opened:
                self._ends[opened.pop()] = tok.end()

    def brace_end(self, i: int) -> int | None:
        """Just past the `}` closing the `{` at i; None if it never closes."""
        return self._ends.get(i)

    def bracket_end(self, i: int) -> int | None:
        """Just past the `]` closing the `[` at i (a `]` inside braces does not), within
        MAX_OPTIONAL_CHARS; None otherwise."""
        pos, limit = i + 1, min(len(self.text), i + MAX_OPTIONAL_CHARS)
        while m := _BRACKET_TOKEN.search(self.text, pos, limit):
            if m.group() == "]":
                return m.end()
            if m.group() == "}" or (m.group() == "{" and m.start() not in self._ends):
                return None
            pos = self._ends[m.start()] if m.group() == "{" else m.end()
        return None


def _parse_newcommand(groups: _Groups, i: int) -> tuple[Macro, int] | None:
    tex = groups.text
    name = _NEWCOMMAND_NAME.match(tex, i)
    if not name:
        return None
    j, num_args, default = name.end(), 0, None
    if nargs := _NUM_ARGS.match(tex, j):
        j, num_args = nargs.end(), int(nargs.group(1))
        k = _ARG_SPACE.match(tex, j).end()
        if num_args and tex.startswith("[", k):
            end = groups.bracket_end(k)
            if end is None:
                return None
            j, default = end, tex[k + 1:end - 1]
    k = _SPACES.match(tex, j).end()
    if not tex.startswith("{", k) or (end := groups.brace_end(k)) is None:
        return None
    return Macro(name.group(1) or name.group(2), num_args, default, tex[k + 1:end - 1]), end


def _parse_def(groups: _Groups, i: int) -> tuple[Macro, int] | None:
    """`\\def\\name{..}` and `\\def\\name#1#2{..}`; delimited parameters (`#1.#2`) are TeX
    programming, not text shorthands, and are left alone."""
    tex = groups.text
    head = _DEF_HEAD.match(tex, i)
    if not head:
        return None
    params = re.findall(r"#([1-9])", head.group(2))
    if params != [str(n) for n in range(1, len(params) + 1)]:
        return None
    end = groups.brace_end(head.end())
    if end is None:
        return None
    return Macro(head.group(1), len(params), None, tex[head.end() + 1:end - 1]), end


def _definitions(tex: str) -> list[tuple[int, int, Macro]]:
    """(start, end, macro) of each `\\newcommand`-family or `\\def` definition, in order."""
    found, pos, groups = [], 0, _Groups(tex)
    while m := _DEFINITION.search(tex, pos):
        parsed = _parse_newcommand(groups, m.end()) if m.group(1) else _parse_def(groups, m.end())
        if parsed is None:
            pos = m.end()
            continue
        macro, end = parsed
        found.append((m.start(), end, macro))
        pos = end
    return found


def collect_macros(tex: str) -> dict[str, Macro]:
    """The user macros defined in `tex`, by name; a later definition (`\\renewcommand`) wins."""
    return {macro.name: macro for _, _, macro in _definitions(tex)}


def _read_args(groups: _Groups, i: int, macro: Macro) -> tuple[list[str], int] | None:
    """The arguments of a use of `macro` whose name ends at `i`, and where they end."""
    tex, args = groups.text, []
    if macro.default is not None:
        k = _ARG_SPACE.match(tex, i).end()
        if tex.startswith("[", k):
            if (end := groups.bracket_end(k)) is None:
                return None
            args.append(tex[k + 1:end - 1])
            i = end
        else:
            args.append(macro.default)
    while len(args) < macro.num_args:
        k = _ARG_SPACE.match(tex, i).end()
        if k >= len(tex) or tex[k] == "}":
            return None  # a use without its arguments: leave it as written
        if tex[k] == "{":
            if (end := groups.brace_end(k)) is None:
                return None
            args.append(tex[k + 1:end - 1])
        else:
            token = _CONTROL.match(tex, k)  # one token, as in TeX: `\\alpha` or a character
            end = token.end() if token else k + 1
            args.append(tex[k:end])
        i = end
    return args, i


def _substitute(body: str, args: list[str]) -> str:
    def one(m: re.Match) -> str:
        if m.group(1) == "#":
            return "#"
        n = int(m.group(1))
        return args[n - 1] if n <= len(args) else m.group(0)

    return re.sub(r"#(#|[1-9])", one, body)


def _expand_once(tex: str, macros: dict[str, Macro], budget: int) -> tuple[str, int]:
    """One left-to-right pass; expansions are not rescanned until the next pass."""
    out, pos, size, count, groups = [], 0, 0, 0, _Groups(tex)
    while size <= budget and (m := _CONTROL.search(tex, pos)):
        macro = macros.get(m.group(1))
        parsed = _read_args(groups, m.end(), macro) if macro else None
        if parsed is None:
            out.append(tex[pos:m.end()])
            size, pos = size + m.end() - pos, m.end()
            continue
        args, end = parsed
        text = _substitute(macro.body, args)
        if re.search(r"\\[A-Za-z@]+$", text) and tex[end:end + 1].isalpha():
            text += " "  # `\foo` + `bar` must not become `\foobar`; TeX ignores this space
        out += [tex[pos:m.start()], text]
        size, pos, count = size + m.start() - pos + len(text), end, count + 1
    out.append(tex[pos:])
    return "".join(out), count


def expand_macros(tex: str, macros: dict[str, Macro] | None = None) -> str:
    """Remove user macro definitions from `tex` and replace every use by the macro's body.

    LLaMA: "inline-expanded definitions and macros written by users". Handled:
    `\\newcommand`, `\\renewcommand`, `\\providecommand` (starred too; `{\\name}` or `\\name`),
    with `[n]` arguments and an optional first argument's `[default]`, and `\\def` / `\\gdef`
    with `#1#2..` parameters. Arguments are brace groups (nested braces kept whole) or single
    tokens, as in TeX. `macros` defaults to the definitions found in `tex`; `clean_latex` passes
    those of the whole file, since the preamble is cut away before expansion. Expansion repeats
    until nothing changes, at most MAX_PASSES times and MAX_GROWTH times the size, so a
    recursive macro stops instead of hanging. RedPajama expands only argument-less macros.
    """
    found = _definitions(tex)
    if macros is None:
        macros = {macro.name: macro for _, _, macro in found}
    pieces, pos = [], 0
    for start, end, _ in found:
        pieces.append(tex[pos:start])
        pos = end
    tex = "".join(pieces) + tex[pos:]
    budget = MAX_GROWTH * len(tex) + 65536
    for _ in range(MAX_PASSES):
        if not macros or len(tex) > budget:
            break
        tex, count = _expand_once(tex, macros, budget)
        if count == 0:
            break
    return tex


# --- all together -------------------------------------------------------------------------------------------
_BLANK_RUN = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_COMMAND_WITH_ARGS = re.compile(r"\\(?:[A-Za-z@]+\*?|.)(?:\s*\[[^\]]*\]|\s*\{[^{}]*\})*", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")


def clean_latex(tex: str) -> str:
    """LLaMA's arXiv cleaning: comments, the part before the first section, the bibliography, macros.

    Comments go first (RedPajama removes them after cutting, so a commented-out `\\section` could
    become the cut point). Macros are collected from the whole file before the preamble is cut.
    Runs of blank lines left by removals are squeezed to one; the result is stripped.
    """
    tex = strip_comments(tex)
    macros = collect_macros(tex)
    body = remove_bibliography(keep_from_first_section(tex))
    body = expand_macros(body, macros)
    return _BLANK_RUN.sub("\n\n", body).strip()


def has_prose(tex: str) -> bool:
    """Whether any words remain once commands and their bracket/brace arguments are set aside.

    `\\includepdf[pages=-]{paper.pdf}` or `\\maketitle \\thispagestyle{empty}` alone is not a paper.
    """
    return bool(_WORD.search(_COMMAND_WITH_ARGS.sub(" ", tex)))
