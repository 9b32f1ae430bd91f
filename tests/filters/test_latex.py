"""LLaMA's arXiv LaTeX cleaning rules (filters/latex.py), each with kept, removed, empty and
whitespace-only cases."""
from __future__ import annotations

import time

import pytest

from filters.latex import (
    MAX_PASSES,
    clean_latex,
    collect_macros,
    expand_macros,
    has_prose,
    keep_from_first_section,
    remove_bibliography,
    strip_comments,
)


# --- comments -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tex, expected", [
    ("no comment here\n", "no comment here\n"),  # kept
    ("% whole line\ntext\n", "text\n"),  # whole line removed, newline included
    ("   \t% indented whole line\ntext", "text"),
    ("text % inline\nmore", "text \nmore"),  # inline: to the end of the line, newline kept
    ("50\\% of it", "50\\% of it"),  # \% is a percent sign
    ("line\\\\% a comment after a line break\n", "line\\\\\n"),  # \\% is a break, then a comment
    ("a\\\\\\% b", "a\\\\\\% b"),  # \\ then \%
    ("last % no final newline", "last "),
    ("% only a comment", ""),
    ("", ""),
    ("  \n\t\n", "  \n\t\n"),
])
def test_strip_comments(tex, expected):
    assert strip_comments(tex) == expected


# --- before the first section -----------------------------------------------------------------------------
@pytest.mark.parametrize("tex, expected", [
    ("\\title{T}\\maketitle\n\\section{Intro}\nText.", "\\section{Intro}\nText."),
    ("pre \\section*{Intro} x", "\\section*{Intro} x"),
    ("pre \\chapter[short]{Long} x", "\\chapter[short]{Long} x"),
    ("pre \\subsection {A} x \\section{B}", "\\subsection {A} x \\section{B}"),  # the first header of any level
    ("\\sectionmark{x} \\section{A}", "\\section{A}"),  # \sectionmark is not \section
    ("\\begin{document}\nA short note.\n\\end{document}", "\nA short note.\n\\end{document}"),  # no section
    ("\\def\\x{1} no document and no section", ""),
    ("", ""),
    ("   \n  ", ""),
])
def test_keep_from_first_section(tex, expected):
    assert keep_from_first_section(tex) == expected


# --- bibliography ------------------------------------------------------------------------------------------------
def test_remove_bibliography_environment_commands_and_tail():
    tex = ("\\section{A} text\n\\bibliographystyle{plain}\n\\bibliography{refs,more}\n"
           "\\begin{thebibliography}{9}\n\\bibitem{k} Someone, {A Book}, 1999.\n\\end{thebibliography}\n"
           "\\appendix\n\\section{Proofs} kept\n\\end{document}\ntrailing junk")
    out = remove_bibliography(tex)
    assert "bibitem" not in out and "\\bibliography" not in out and "thebibliography" not in out
    assert "\\section{A} text" in out and "\\appendix\n\\section{Proofs} kept" in out  # appendix kept
    assert "end{document}" not in out and "trailing junk" not in out


@pytest.mark.parametrize("tex, expected", [
    ("no bibliography here", "no bibliography here"),
    ("a \\begin{thebibliography}{9} \\bibitem{x} never closed", "a "),
    ("\\printbibliography[heading=none] x \\addbibresource{r.bib}", " x "),
    ("", ""),
    (" \n ", " \n "),
])
def test_remove_bibliography_cases(tex, expected):
    assert remove_bibliography(tex) == expected


# --- macros -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tex, expected", [
    ("\\newcommand{\\R}{\\mathbb{R}} $x \\in \\R$", " $x \\in \\mathbb{R}$"),
    ("\\newcommand\\R{\\mathbb{R}}\\R^n", "\\mathbb{R}^n"),
    ("\\newcommand*{\\R}{\\mathbb{R}}\\R", "\\mathbb{R}"),
    ("\\def\\eps{\\varepsilon}\\eps", "\\varepsilon"),
    ("\\gdef\\eps{\\varepsilon}\\eps", "\\varepsilon"),
    ("\\newcommand{\\norm}[1]{\\|#1\\|}\\norm{x}", "\\|x\\|"),
    ("\\newcommand{\\pair}[2]{(#1,#2)}\\pair{a}{b} \\pair ab \\pair{a} {b}", "(a,b) (a,b) (a,b)"),
    ("\\def\\pair#1#2{(#1,#2)}\\pair{a}{b}", "(a,b)"),
    ("\\newcommand{\\f}[1]{[#1]}\\f{a{b{c}}d}", "[a{b{c}}d]"),  # nested braces stay in the argument
    ("\\newcommand{\\f}[1]{[#1]}\\f{\\{}", "[\\{]"),  # an escaped brace is not a brace
    ("\\newcommand{\\f}[1]{[#1]}\\f\\alpha", "[\\alpha]"),  # a single-token argument
    ("\\newcommand{\\v}[2][x]{#1_{#2}}\\v{1} \\v[y]{2}", "x_{1} y_{2}"),  # optional argument default
    ("\\newcommand{\\v}[2][x]{#1_{#2}}\\v[{a]b}]{3}", "{a]b}_{3}"),
    ("\\renewcommand{\\S}{\\mathbb{S}}\\S", "\\mathbb{S}"),
    ("\\newcommand{\\a}{A}\\renewcommand{\\a}{B}\\a", "B"),  # the later definition wins
    ("\\newcommand{\\x}{y}\\xi \\x", "\\xi y"),  # \xi is not \x
    ("\\newcommand{\\x}{y}\\\\x", "\\\\x"),  # a line break, then the letter x
    ("\\newcommand{\\inner}{I}\\newcommand{\\outer}{<\\inner>}\\outer", "<I>"),  # macros using macros
    ("\\newcommand{\\g}{\\alpha}\\g b", "\\alpha b"),
    ("\\newcommand{\\g}[1]{#1\\alpha}\\g{x}b", "x\\alpha b"),  # \alpha + b must not become \alphab
    ("\\newcommand{\\f}[1]{[#1]}\\f", "\\f"),  # a use without its argument stays
    ("\\def\\weird#1.#2{x}\\weird a.b", "\\def\\weird#1.#2{x}\\weird a.b"),  # delimited: left alone
    ("\\newcommand{\\d}{\\def\\inner##1{##1}}\\d", "\\def\\inner#1{#1}"),
    ("no macros at all", "no macros at all"),
    ("", ""),
    ("  \n ", "  \n "),
])
def test_expand_macros(tex, expected):
    assert expand_macros(tex) == expected


def test_recursive_macros_stop():
    out = expand_macros("\\newcommand{\\loop}{\\loop x}\\loop")
    assert out == "\\loop" + " x" * MAX_PASSES
    out = expand_macros("\\newcommand{\\boom}{\\boom\\boom\\boom\\boom}\\boom")  # 4^passes without a cap
    assert len(out) < 8 * 100 + 70_000


def test_unbalanced_argument_is_left_alone_and_fast():
    tex = "\\newcommand{\\f}[1]{[#1]}" + "\\f{unclosed " * 20_000
    start = time.perf_counter()
    assert expand_macros(tex) == "\\f{unclosed " * 20_000
    tex = "\\newcommand{\\v}[2][x]{#1#2}" + "\\v[unclosed " * 20_000
    assert expand_macros(tex) == "\\v[unclosed " * 20_000
    assert time.perf_counter() - start < 5


def test_expand_with_macros_from_elsewhere():
    macros = collect_macros("\\newcommand{\\R}{\\mathbb{R}} preamble")
    assert expand_macros("$\\R$", macros) == "$\\mathbb{R}$"
    assert set(macros) == {"R"} and macros["R"].num_args == 0


# --- all together ---------------------------------------------------------------------------------------------------
PAPER = r"""\documentclass{article}
\newcommand{\R}{\mathbb{R}} % the reals
\newcommand{\norm}[2][2]{\|#2\|_{#1}}
\begin{document}
\maketitle
% \section{Old intro}
\section{Introduction}
We study $\norm{x}$ and $\norm[1]{y}$ in $\R^n$; 50\% of the time. % TODO
\bibliographystyle{plain}
\bibliography{refs}
\appendix
\section{Proofs}
Easy.
\end{document}
"""


def test_clean_latex():
    out = clean_latex(PAPER)
    assert out == ("\\section{Introduction}\nWe study $\\|x\\|_{2}$ and $\\|y\\|_{1}$ in $\\mathbb{R}^n$; "
                   "50\\% of the time. \n\n\\appendix\n\\section{Proofs}\nEasy.")


@pytest.mark.parametrize("tex", ["", "   \n\t", "% only\n% comments\n", "\\documentclass{article}\\usepackage{x}"])
def test_clean_latex_empty(tex):
    assert clean_latex(tex) == ""


@pytest.mark.parametrize("tex, expected", [
    ("\\section{Intro} We study graphs.", True),
    ("\\includepdf[pages=-]{paper.pdf}", False),
    ("\\flushbottom \\maketitle \\thispagestyle{empty}\n\\includepdf[pages=1-last]{a.pdf}", False),
    ("$x^2 + 1$", False),
    ("", False),
    ("  \n", False),
])
def test_has_prose(tex, expected):
    assert has_prose(tex) is expected
