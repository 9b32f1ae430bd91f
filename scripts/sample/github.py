"""The bundled sample's GitHub folder: four small repositories written by this project, as
`git archive` would ship them (an `owner__name__HINT/` top folder; the hint is never read).

- corral-samples/wordfreq (MIT, tar.gz): kept, with a license header to strip, a minified vendored
  script, a generated file, a PNG and a .gitignore that the rules drop;
- corral-samples/tilemath (BSD-3-Clause in LICENSE.txt, tar.gz): kept, with one file for each of
  the long-line, mean-line-length and alphanumeric rules, and a .csv;
- corral-samples/notekeeper (GPL-3.0 in COPYING, tar.gz): dropped for its license;
- corral-samples/scratchpad (no license file, zip): dropped for its license.

The MIT and BSD texts are the standard ones; the GPL repository carries only the opening of the
GPL-3.0 text. Bytes are identical on every run: sorted members, fixed mtimes, uid/gid 0, no user
names, USTAR headers, gzip mtime 0 and no file name in the gzip header, fixed zip dates.
"""
from __future__ import annotations

import gzip
import io
import os
import tarfile
import zipfile
from pathlib import Path

MTIME = 1704067200  # 2024-01-01T00:00:00Z
ZIP_DATE = (2024, 1, 1, 0, 0, 0)

MIT = """MIT License

Copyright (c) 2024 The corral authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

BSD3 = """Copyright (c) 2024 The corral authors

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

GPL3_OPENING = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.

                            Preamble

  The GNU General Public License is a free, copyleft license for
software and other kinds of works.
"""

WORDFREQ = {
    "LICENSE": MIT,
    "README.md": "# wordfreq\n\nCount the words of a text file and print the most common ones.\n\n"
                 "    make run FILE=notes.txt\n",
    "Makefile": "run:\n\tpython -m wordfreq $(FILE)\n\ntest:\n\tpython -m pytest -q\n",
    ".gitignore": "__pycache__/\n*.egg-info/\n",
    "wordfreq/__init__.py": (
        "# Copyright (c) 2024 The corral authors\n"
        "# SPDX-License-Identifier: MIT\n"
        "\n"
        '"""Word frequencies of plain text files."""\n'
        "from wordfreq.counting import count_words, top_words\n"
        "\n"
        '__all__ = ["count_words", "top_words"]\n'
    ),
    "wordfreq/counting.py": (
        '"""Counting words: lower-cased, split on anything that is not a letter."""\n'
        "import collections\n"
        "import re\n"
        "\n"
        'WORD = re.compile(r"[^\\W\\d_]+")\n'
        "\n"
        "\n"
        "def count_words(text):\n"
        "    return collections.Counter(w.lower() for w in WORD.findall(text))\n"
        "\n"
        "\n"
        "def top_words(text, n=10):\n"
        "    return count_words(text).most_common(n)\n"
    ),
    "wordfreq/_version.py": "# Code generated by make version. DO NOT EDIT.\nVERSION = \"0.3.1\"\n",
    "web/vendor/chart.min.js": "!function(t){" + ";".join(
        f"t.f{i}=function(a,b){{return a*{i}+b%{i + 1}}}" for i in range(40)) + "}(window);\n",
    "docs/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00",
}

TILEMATH = {
    "LICENSE.txt": BSD3,
    "README.md": "# tilemath\n\nConvert between map tile numbers and longitude and latitude.\n",
    "src/tiles.c": (
        "/*\n"
        " * tiles.c - tile numbers to coordinates.\n"
        " *\n"
        " * Copyright (c) 2024 The corral authors\n"
        " * Use of this source code is governed by a BSD-style license found in LICENSE.txt.\n"
        " */\n"
        "#include <math.h>\n"
        "\n"
        "double tile_to_lon(int x, int zoom)\n"
        "{\n"
        "    return x / (double)(1 << zoom) * 360.0 - 180.0;\n"
        "}\n"
    ),
    # A lookup table written out on one line: 2,000 characters and more.
    "src/lookup.h": "static const int TILE_SIZES[] = {" + ", ".join(str(256 * (i % 8 + 1)) for i in range(400))
            + "};\n",
    # Every line a long message: no line is over 1000 characters, but the mean is over 100.
    "src/messages.py": "".join(
        f'MESSAGE_{i} = "Tile {i} could not be loaded because the server answered with an error; '
        f'the viewer will try again in {i + 1} seconds."\n' for i in range(12)),
    # Box drawing: mostly punctuation and spaces.
    "docs/layout.md": "\n".join(["+------+------+------+", "|      |      |      |"] * 6) + "\n",
    "data/zoom_levels.csv": "zoom,tiles\n0,1\n1,4\n2,16\n",
}

NOTEKEEPER = {
    "COPYING": GPL3_OPENING,
    "README": "notekeeper: keep short notes in a plain text file.\n",
    "notekeeper.sh": "#!/bin/sh\n# Append a dated note to ~/.notes\necho \"$(date +%F) $*\" >> \"$HOME/.notes\"\n",
}

SCRATCHPAD = {
    "README.md": "# scratchpad\n\nSmall experiments; no license chosen yet.\n",
    "scratch.py": "def fizzbuzz(n):\n    return 'Fizz' * (n % 3 == 0) + 'Buzz' * (n % 5 == 0) or str(n)\n",
}


def _as_bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def _folders(files: dict[str, str | bytes]) -> list[str]:
    """Every folder above a file, as `git archive` lists them."""
    parts = [path.split("/")[:-1] for path in files]
    return sorted({"/".join(p[:i]) for p in parts for i in range(1, len(p) + 1)})


def tar_gz_bytes(top: str, files: dict[str, str | bytes]) -> bytes:
    """A `git archive`-like .tar.gz of `files` under `top/`, identical bytes on every call."""
    buffer = io.BytesIO()
    with (gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz,
          tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar):
        entries = [(top, None)] + [(f"{top}/{d}", None) for d in _folders(files)]
        entries += [(f"{top}/{p}", _as_bytes(c)) for p, c in files.items()]
        for name, data in sorted(entries):
            info = tarfile.TarInfo(name + ("/" if data is None else ""))
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_bytes(top: str, files: dict[str, str | bytes]) -> bytes:
    """A GitHub-zipball-like .zip of `files` under `top/`, identical bytes on every call."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{path}", date_time=ZIP_DATE)
            info.compress_type, info.create_system, info.external_attr = zipfile.ZIP_DEFLATED, 3, 0o644 << 16
            archive.writestr(info, _as_bytes(files[path]))
    return buffer.getvalue()


ARCHIVES = {
    "corral-samples__wordfreq__MIT.tar.gz": WORDFREQ,
    "corral-samples__tilemath__BSD-3-Clause.tar.gz": TILEMATH,
    "corral-samples__notekeeper__GPL-3.0.tar.gz": NOTEKEEPER,
    "corral-samples__scratchpad__NO-LICENSE.zip": SCRATCHPAD,
}


def write_sample(dest: Path) -> None:
    """Write the four archives into `dest` (the sample's github/ folder), byte-identical every run."""
    dest.mkdir(parents=True, exist_ok=True)
    for filename, files in ARCHIVES.items():
        top = filename.removesuffix(".tar.gz").removesuffix(".zip")
        data = zip_bytes(top, files) if filename.endswith(".zip") else tar_gz_bytes(top, files)
        tmp = dest / (filename + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest / filename)  # a killed run leaves no half archive under the final name
