"""The bundled sample's arXiv files: three short submissions written by this project (no arXiv text),
in arXiv's native source formats.

- `corral-sample-multifile.tar.gz`: a main file that `\\input`s two sections (one with `.tex`
  written out, one in a subfolder), user macros with and without arguments (one with an optional
  argument), comments, a bibliography and an appendix. Kept.
- `corral-sample-single.gz`: arXiv's single-file format, one gzipped `.tex` with `\\def` macros. Kept.
- `corral-sample-html-only.tar.gz`: an HTML page and a GIF, no TeX. Dropped as no_tex "html-only".

The names hold no arXiv id on purpose: the documents' urls would otherwise point at real,
unrelated papers. The bytes are identical on every run: members in a fixed order with mtime 0,
uid/gid 0 and no user names, gzip mtime 0 and no file name in the gzip header.
"""
from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

MULTIFILE = "corral-sample-multifile.tar.gz"
SINGLE = "corral-sample-single.gz"
HTML_ONLY = "corral-sample-html-only.tar.gz"

MAIN_TEX = r"""\documentclass[11pt]{article}
\usepackage{amsmath,amssymb}
% Macros: the cleaner must inline every one of these.
\newcommand{\Socks}{\mathcal{S}}
\newcommand{\pairs}[1]{\lfloor #1/2 \rfloor}
\newcommand{\draw}[2][k]{\mathrm{Draw}_{#1}(#2)}
\newcommand*{\corral}{\textsc{Corral}}
\title{How Many Socks Until a Pair? A Drawer Problem}
\author{The \corral{} Authors}
\begin{document}
\maketitle
\begin{abstract}
We revisit the sock drawer. % an abstract comes before the first section and is removed
\end{abstract}

\input{sections/intro}
\input{sections/method.tex}

\bibliographystyle{plain}
\begin{thebibliography}{1}
\bibitem{drawer} A. Nonymous, \emph{Drawers and Their Contents}, Laundry Press, 1901.
\end{thebibliography}

\appendix
\section{A Worked Example}
With $n = 3$ colours the fourth draw, $\draw{4}$, always completes a pair, and $\pairs{4} = 2$.
\end{document}
"""

INTRO_TEX = r"""\section{Introduction}
% TODO: cite the laundry literature properly.
A drawer $\Socks$ holds socks of $n$ colours. How many must be drawn, in the dark,
before two of them match? The pigeonhole principle answers at once: $n + 1$ draws
are enough, and $n$ may not be. Only 100\% certainty counts here.
"""

METHOD_TEX = r"""\section{Counting Pairs}
After $m$ draws of one colour the drawer has given $\pairs{m}$ pairs of it. We write
$\draw{m}$ for the multiset of the first $m$ draws and $\draw[j]{m}$ when only colour $j$
is counted. \corral{} uses this note only as test data. % and nothing more
"""

SINGLE_TEX = r"""\documentclass{article}
\def\half{\tfrac{1}{2}}
\def\avg#1#2{\frac{#1 + #2}{2}}
\begin{document}
\section{Averages of Two Numbers}
The average of $a$ and $b$ is $\avg{a}{b}$, which is $\half (a + b)$. % same thing
For $a = 2$ and $b = 4$ it is $\avg{2}{4} = 3$.
\section{Why It Is Useful}
A midpoint splits a segment into two equal halves, each $\half$ of the whole.
\end{document}
"""

HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Sample submission</title></head>
<body><h1>A submission in HTML</h1>
<p>Some early submissions were plain HTML pages with images, not TeX.</p>
<img src="figure.gif" alt="a figure"></body></html>
"""
# The smallest valid GIF: one transparent pixel.
TINY_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def deterministic_tar_gz(files: list[tuple[str, bytes]]) -> bytes:
    """A tar.gz whose bytes depend only on `files`: fixed mode, times and owners."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), compresslevel=9, mtime=0)


def write_sample(dest: Path) -> None:
    """Write the three sample submissions into `dest` (an existing folder)."""
    dest = Path(dest)
    multifile = [
        ("main.tex", MAIN_TEX.encode()),
        ("sections/intro.tex", INTRO_TEX.encode()),
        ("sections/method.tex", METHOD_TEX.encode()),
    ]
    (dest / MULTIFILE).write_bytes(deterministic_tar_gz(multifile))
    (dest / SINGLE).write_bytes(gzip.compress(SINGLE_TEX.encode(), compresslevel=9, mtime=0))
    html = [("index.html", HTML_PAGE), ("figure.gif", TINY_GIF)]
    (dest / HTML_ONLY).write_bytes(deterministic_tar_gz(html))
