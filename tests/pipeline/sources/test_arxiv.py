"""Reading arXiv sources (pipeline/sources/arxiv.py), the real samples, and the bundled sample
(scripts/sample/arxiv.py)."""
from __future__ import annotations

import dataclasses
import gzip
import re
import tarfile
from pathlib import Path

import pytest

from filters.latex import strip_comments
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.sources.arxiv import (
    ArxivConfig,
    arxiv_id_from_name,
    choose_main_file,
    is_nested_archive,
    parse_arxiv_file,
)
from scripts.sample.arxiv import HTML_ONLY, MULTIFILE, SINGLE, deterministic_tar_gz, write_sample
from tests.conftest import read_files
from tests.pipeline.test_archives import special, tar_bytes

CFG = ArxivConfig()
SMALL = dataclasses.replace(CFG, max_archive_bytes=50_000)
ARXIV_SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "corpus-samples" / "arxiv"
PAPER = "\\documentclass{article}\n\\begin{document}\n\\section{Intro}\nWe study graphs.\n\\end{document}\n"


def write(path: Path, files: list[tuple[str, bytes | str]]) -> str:
    encoded = [(n, d.encode() if isinstance(d, str) else d) for n, d in files]
    path.write_bytes(deterministic_tar_gz(encoded))
    return str(path)


def parse(path: str, rel: str | None = None, cfg: ArxivConfig = CFG) -> list[Document | Dropped]:
    return list(parse_arxiv_file(path, rel or "arxiv/" + Path(path).name, cfg))


def one(path: str, **kwargs) -> Document | Dropped:
    (out,) = parse(path, **kwargs)
    return out


def assert_dropped(out, reason: DropReason, detail: str = "") -> None:
    assert isinstance(out, Dropped), out
    assert out.reason is reason and out.stage == "read" and detail in out.detail, (out.reason, out.detail)


# --- one submission --------------------------------------------------------------------------------------
def test_multifile_submission(tmp_path):
    main = ("\\documentclass{article}\n\\newcommand{\\R}{\\mathbb{R}}\n\\newcommand{\\nrm}[1]{\\|#1\\|}\n"
            "\\begin{document}\n\\input{intro}\n\\include{parts/body}\n\\input parts/end.tex\n"
            "\\input{figure.pdf_t}\n\\bibliography{refs}\n\\end{document}\n")
    files = [("main.tex", main), ("intro.tex", "\\section{Intro}\nIn $\\R^n$, % note\n"),
             ("parts/body.tex", "Then $\\nrm{x}$.\n\\input{sub}\n"), ("parts/sub.tex", "Sub text.\n"),
             ("parts/end.tex", "The end.\n")]
    doc = one(write(tmp_path / "2101.00001v2.tar.gz", files))
    assert isinstance(doc, Document)
    assert (doc.id, doc.source, doc.url) == ("2101.00001v2", "arxiv", "https://arxiv.org/abs/2101.00001v2")
    assert doc.text == "\\section{Intro}\nIn $\\mathbb{R}^n$, \n\nThen $\\|x\\|$.\nSub text.\n\nThe end."
    meta = doc.meta()
    assert meta["main_file"] == "main.tex" and meta["arxiv_id"] == "2101.00001v2"
    assert meta["inlined"] == ["intro.tex", "parts/body.tex", "parts/sub.tex", "parts/end.tex"]
    assert meta["missing_inputs"] == ["figure.pdf_t"] and meta["unsafe_members"] == 0
    assert meta["file"] == "arxiv/2101.00001v2.tar.gz"


def test_input_cycle_does_not_hang(tmp_path):
    files = [("main.tex", PAPER.replace("We study", "\\input{a}We study")), ("a.tex", "A \\input{b}"),
             ("b.tex", "B \\input{a}")]
    doc = one(write(tmp_path / "x.tar.gz", files))
    assert "A B" in doc.text and doc.meta()["missing_inputs"] == ["a (cycle or too deep)"]


@pytest.mark.parametrize("files, expected", [
    ({"a.tex": "\\documentclass{article}", "b.tex": "\\documentclass{article}\\begin{document}"}, "b.tex"),
    ({"a.tex": "\\documentclass{x}\\begin{document}\\input{b}", "b.tex": "\\documentclass{x}\\begin{document}long" * 9},
     "a.tex"),
    ({"a.tex": "\\documentclass{x}", "b.tex": "\\documentclass{x} longer"}, "b.tex"),
    ({"b.tex": "\\documentclass{x}", "a.tex": "\\documentclass{y}"}, "a.tex"),
    ({"a.tex": "% \\documentclass{x}\nlonger text here", "b.tex": "\\documentclass{x}"}, "b.tex"),
    ({"old.tex": "\\documentstyle{article}", "inc.tex": "text"}, "old.tex"),
])
def test_choose_main_file(files, expected):
    texts = {n: strip_comments(t) for n, t in files.items()}
    assert choose_main_file(sorted(texts), texts) == expected


def test_encodings_binary_tex_and_apple_double(tmp_path):
    files = [("._main.tex", b"\x00\x05\x16\x07\x00\x02binary resource fork"), ("__MACOSX/._x.tex", b"\x00"),
             ("figure.tex", bytes(range(256)) * 4),  # binary, whatever the name says
             ("main.tex", PAPER.replace("We study graphs.", "Caf\xe9 cr\xe8me.").encode("latin-1"))]
    doc = one(write(tmp_path / "x.tar.gz", files))
    assert doc.meta()["main_file"] == "main.tex" and "Café crème." in doc.text


@pytest.mark.parametrize("files, reason, detail", [
    ([("page.htm", "<html>Hi</html>"), ("fig.gif", b"GIF89a")], DropReason.NO_TEX, "html-only"),
    ([("paper.pdf", b"%PDF-1.4 ...")], DropReason.NO_TEX, "pdf-only"),
    ([("main.tex", "\\documentclass{article}\\usepackage{pdfpages}\\begin{document}\n\\maketitle\n"
                   "\\includepdf[pages=-]{paper.pdf}\n\\end{document}"), ("paper.pdf", b"%PDF")], DropReason.NO_TEX,
     "pdf-only"),
    ([("main.tex", "\\documentclass{article}\\begin{document}\\maketitle\\end{document}")], DropReason.EMPTY,
     "no text"),
    ([("notes.txt", "no tex here")], DropReason.NO_TEX, "no tex file"),
    ([("figure.tex", b"\x00\x01binary")], DropReason.NO_TEX, "no tex file"),
    ([], DropReason.EMPTY, "empty archive"),
])
def test_submissions_without_text_are_dropped_with_a_reason(tmp_path, files, reason, detail):
    out = one(write(tmp_path / "x.tar.gz", files))
    assert_dropped(out, reason, detail)
    assert out.doc.id == "arxiv/x.tar.gz" and out.doc.url is None and out.doc.text == ""


def test_single_gzipped_tex(tmp_path):
    path = tmp_path / "hep-th9901001.gz"
    path.write_bytes(gzip.compress(PAPER.encode(), mtime=0))
    doc = one(str(path))
    assert doc.id == "hep-th/9901001" and doc.text == "\\section{Intro}\nWe study graphs."
    assert doc.meta()["main_file"] == "hep-th9901001"


def test_abs_file_gives_id_title_and_date(tmp_path):
    write(tmp_path / "arxiv-cs-9901011_description.tar.gz", [("main.tex", PAPER)])
    (tmp_path / "arxiv-cs-9901011.abs").write_text(
        "\\\\\narXiv:cs/9901011\nFrom: Someone\nDate: Sat, 23 Jan 1999 00:37:11 GMT   (83kb,H)\n\n"
        "Title: A Long Title That\n  Wraps\nAuthors: A\n\\\\\n  Abstract.\n")
    doc = one(str(tmp_path / "arxiv-cs-9901011_description.tar.gz"))
    assert (doc.id, doc.url, doc.created) == ("cs/9901011", "https://arxiv.org/abs/cs/9901011", "1999-01-23T00:37:11Z")
    assert doc.meta()["title"] == "A Long Title That Wraps"


@pytest.mark.parametrize("name, expected", [
    ("1801.03879.tar.gz", "1801.03879"), ("arxiv-1801.03879_LIPIcs.tar.gz", "1801.03879"),
    ("2101.12345v3.gz", "2101.12345v3"), ("1801/1801.03879.gz", "1801.03879"),
    ("astro-ph0001001.gz", "astro-ph/0001001"), ("arxiv-cs-9901011_x.tar.gz", "cs/9901011"),
    ("math.AG0101001.gz", "math/0101001"), ("hep-th_9901001.tgz", "hep-th/9901001"),
    ("upload4.gz", None), ("arxiv-2229143_kdd.tar.gz", None), ("arXiv_src_1801_001.tar", None),
    ("1813.00001.gz", None),  # no 13th month
])
def test_arxiv_id_from_name(name, expected):
    assert arxiv_id_from_name(name) == expected


@pytest.mark.parametrize("name, expected", [
    ("1801/1801.03879.gz", True), ("astro-ph0001001.gz", True), ("a.tar", True), ("a.tar.gz", True),
    ("a.TGZ", True), ("fig.eps.gz", False), ("paper.tex.gz", False), ("fig.pdf", False),
])
def test_is_nested_archive(name, expected):
    assert is_nested_archive(name) is expected


# --- untrusted archives ------------------------------------------------------------------------------------
def test_unsafe_members_are_skipped_and_counted(tmp_path):
    main = PAPER.replace("We study graphs.", "We study graphs. \\input{../evil}")
    entries = [("../evil.tex", b"EVIL TEXT"), ("/abs.tex", b"ABSOLUTE"),
               special("link.tex", tarfile.SYMTYPE, "/etc/passwd"),
               special("hard.tex", tarfile.LNKTYPE, "main.tex"), special("dev.tex", tarfile.CHRTYPE),
               special("fifo", tarfile.FIFOTYPE), ("main.tex", main.encode())]
    path = tmp_path / "x.tar.gz"
    path.write_bytes(gzip.compress(tar_bytes(entries), mtime=0))
    unsafe, doc = parse(str(path))
    assert isinstance(doc, Document) and doc.meta()["unsafe_members"] == 6
    assert_dropped(unsafe, DropReason.UNSAFE_ARCHIVE,
                   "6 members refused: ../evil.tex (parent directory), /abs.tex (absolute path)")
    assert unsafe.doc.id == "arxiv/x.tar.gz#unsafe-members" and "link.tex (link)" in unsafe.detail
    assert "EVIL" not in doc.text and "ABSOLUTE" not in doc.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tar.gz"]  # nothing extracted
    assert not (tmp_path.parent / "evil.tex").exists()


def test_archive_with_nothing_safe_is_unsafe(tmp_path):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(gzip.compress(tar_bytes([("../main.tex", PAPER.encode()), special("l", tarfile.SYMTYPE, "/")]),
                                   mtime=0))
    assert_dropped(one(str(path)), DropReason.UNSAFE_ARCHIVE, "no safe members (2 unsafe)")


def test_bombs_are_unsafe(tmp_path):
    bomb = write(tmp_path / "bomb.tar.gz", [("main.tex", PAPER), ("zeros.pdf", b"\0" * 500_000)])
    assert Path(bomb).stat().st_size < 5_000
    out = one(bomb, cfg=SMALL)
    assert_dropped(out, DropReason.UNSAFE_ARCHIVE, "decompressed size over 50000")
    single = tmp_path / "bomb.gz"
    single.write_bytes(gzip.compress(PAPER.encode() + b" " * 500_000, mtime=0))
    assert_dropped(one(str(single), cfg=SMALL), DropReason.UNSAFE_ARCHIVE, "decompressed size over")


def test_too_many_members(tmp_path):
    path = write(tmp_path / "x.tar.gz", [(f"{i}.tex", PAPER) for i in range(5)])
    assert_dropped(one(path, cfg=dataclasses.replace(CFG, max_members=3)), DropReason.UNSAFE_ARCHIVE, "more than 3")


# --- bundles and nesting --------------------------------------------------------------------------------------
def bundle(path: Path, members: list[tuple[str, bytes]]) -> str:
    path.write_bytes(tar_bytes(members))
    return str(path)


def test_bundle_yields_one_document_per_submission(tmp_path):
    sub1 = deterministic_tar_gz([("main.tex", PAPER.encode())])
    sub2 = gzip.compress(PAPER.replace("graphs", "trees").encode(), mtime=0)
    broken = sub1[: len(sub1) // 2]
    members = [("2101/2101.00001.gz", sub1), ("2101/2101.00002.gz", sub2), ("2101/2101.00003.gz", broken),
               ("2101/notes.tar.gz", sub1), ("2101/2101.00005.gz", sub2)]
    out = parse(bundle(tmp_path / "arXiv_src_2101_001.tar", members))
    assert [o.id if isinstance(o, Document) else o.doc.id for o in out] == [
        "2101.00001", "2101.00002", "2101.00003", "arxiv/arXiv_src_2101_001.tar:2101/notes.tar.gz", "2101.00005"]
    assert "trees" in out[1].text and out[1].meta()["member"] == "2101/2101.00002.gz"
    assert_dropped(out[2], DropReason.PARSE_ERROR, "corrupt or truncated")  # reading went on after it
    assert all(isinstance(o, Document) for i, o in enumerate(out) if i != 2)


def test_bundle_members_are_capped_each_not_together(tmp_path):
    sub = deterministic_tar_gz([("main.tex", PAPER.encode()), ("data.pdf", bytes(range(256)) * 100)])
    members = [(f"2101/2101.0000{i}.gz", sub) for i in range(1, 6)]
    out = parse(bundle(tmp_path / "arXiv_src_2101_001.tar", members), cfg=SMALL)
    assert len(out) == 5 and all(isinstance(o, Document) for o in out)


def test_nesting_deeper_than_the_limit(tmp_path):
    inner = deterministic_tar_gz([("main.tex", PAPER.encode())])
    middle = tar_bytes([("2101.00001.tar.gz", inner)])
    path = bundle(tmp_path / "outer.tar", [("middle.tar", middle)])
    assert [o.id for o in parse(path)] == ["2101.00001"]
    (out,) = parse(path, cfg=dataclasses.replace(CFG, max_nesting=1))
    assert_dropped(out, DropReason.UNSAFE_ARCHIVE, "nested deeper than 1")
    assert out.doc.id == "2101.00001"


@pytest.mark.parametrize("name, data, detail", [
    ("x.tar.gz", None, "corrupt or truncated"),
    ("x.gz", b"\x1f\x8b\x08\x00garbage that is not deflate", "corrupt or truncated"),
    ("x.gz", b"not gzip at all", "not gzip data"),
    ("x.tar", b"not a tar at all", "not a tar archive"),
])
def test_damaged_files_are_parse_errors(tmp_path, name, data, detail):
    path = tmp_path / name
    if data is None:
        whole = deterministic_tar_gz([("main.tex", PAPER.encode()), ("b.pdf", bytes(range(256)) * 50)])
        data = whole[: len(whole) // 2]
    path.write_bytes(data)
    assert_dropped(one(str(path)), DropReason.PARSE_ERROR, detail)


# --- the real samples ------------------------------------------------------------------------------------------------
def test_real_arxiv_samples():
    if not ARXIV_SAMPLES.is_dir():
        pytest.skip(f"{ARXIV_SAMPLES} not present")
    out = {}
    for path in sorted(ARXIV_SAMPLES.iterdir()):
        if path.suffix != ".abs":
            (out[path.name],) = parse(str(path))
    drops = {name: (o.reason, o.detail) for name, o in out.items() if isinstance(o, Dropped)}
    assert drops == {
        "arxiv-cs-9901011_HTML-only_BriefHistoryInternet.tar.gz": (DropReason.NO_TEX, "html-only"),
        "arxiv-2260340_includepdf-only.tar.gz": (DropReason.NO_TEX, "pdf-only"),
        # Not in the list, but the same case: everything but an \includepdf is commented out.
        "arxiv-2229143_kdd-acmart.tar.gz": (DropReason.NO_TEX, "pdf-only"),
    }
    assert len(out) - len(drops) == 6
    html = out["arxiv-cs-9901011_HTML-only_BriefHistoryInternet.tar.gz"].doc
    assert html.id == "cs/9901011" and html.meta()["title"] == "A Brief History of the Internet"
    upload4 = out["arxiv-upload4_single-file_deSitter-sugra.gz"]
    assert upload4.text.startswith("\\section{Introduction}") and "de Sitter" in upload4.text
    for doc in (o for o in out.values() if isinstance(o, Document)):
        assert doc.text.startswith("\\section") and "\\begin{thebibliography}" not in doc.text
        assert not re.search(r"(?<!\\)%", doc.text.replace("\\\\", "")), doc.id


def test_real_1801_03879():
    path = ARXIV_SAMPLES / "arxiv-1801.03879_LIPIcs_CC-BY-3.0.tar.gz"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    doc = one(str(path))
    assert (doc.id, doc.url) == ("1801.03879", "https://arxiv.org/abs/1801.03879")
    assert doc.meta()["main_file"] == "defective-fpt.tex"  # not the AppleDouble ._defective-fpt.tex
    assert doc.text.startswith("\\section{Introduction}") and "\\maketitle" not in doc.text
    assert "\\bibliography" not in doc.text and "Omitted Material" in doc.text  # appendix kept
    assert not re.search(r"(?<!\\)%", doc.text)
    # \newcommand{\DC}{\textsc{Defective Coloring}} and \newcommand{\tw}{\mathrm{tw}}, used throughout
    assert not re.search(r"\\(DC|tw|newcommand)(?![A-Za-z])", doc.text)
    assert doc.text.count("\\textsc{Defective Coloring}") > 10 and "\\mathrm{tw}" in doc.text


# --- the bundled sample ---------------------------------------------------------------------------------------------
def test_sample_is_byte_identical_across_runs(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    write_sample(tmp_path / "one")
    write_sample(tmp_path / "two")
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted([MULTIFILE, SINGLE, HTML_ONLY])
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert sum((tmp_path / "one" / n).stat().st_size for n in names) < 30_000


def test_sample_outcomes(tmp_path):
    write_sample(tmp_path)
    multi, single, html = (one(str(tmp_path / n)) for n in (MULTIFILE, SINGLE, HTML_ONLY))
    assert_dropped(html, DropReason.NO_TEX, "html-only")
    assert multi.meta()["inlined"] == ["sections/intro.tex", "sections/method.tex"]
    assert multi.text.startswith("\\section{Introduction}") and "\\section{A Worked Example}" in multi.text
    for doc, source in ((multi, MULTIFILE), (single, SINGLE)):
        assert isinstance(doc, Document) and doc.id == f"arxiv/{source}" and doc.url is None
        assert "%" not in doc.text.replace("\\%", "") and "bibitem" not in doc.text and "abstract" not in doc.text
    assert "\\mathrm{Draw}_{k}(m)" in multi.text and "\\mathrm{Draw}_{j}(m)" in multi.text
    assert "\\lfloor 4/2 \\rfloor" in multi.text and "\\textsc{Corral}" in multi.text
    assert not re.search(r"\\(Socks|pairs|draw|corral|half|avg)(?![A-Za-z])", multi.text + single.text)
    assert "\\frac{a + b}{2}" in single.text and "100\\% certainty" in multi.text


def test_read_arxiv_composite(tmp_path):
    write_sample(tmp_path)
    files = [(str(tmp_path / n), f"arxiv/{n}") for n in (MULTIFILE, SINGLE, HTML_ONLY)]
    kept, dropped = read_files("arxiv", parse_arxiv_file, files, CFG)
    assert sorted(d.id for d in kept) == sorted([f"arxiv/{MULTIFILE}", f"arxiv/{SINGLE}"])
    assert [(d.reason.value, d.detail) for d in dropped] == [("no_tex", "html-only")]
