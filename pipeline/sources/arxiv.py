"""Reading arXiv submission sources (LLaMA section 2, "ArXiv", 2.5% of the mixture).

Inputs: a submission's `.tar.gz` / `.tgz`, a single gzipped `.tex` (arXiv's single-file format,
`upload4.gz`), and the monthly `arXiv_src_*.tar` bundles holding many of those. Archives are read
in memory through `pipeline.core.archives` (never extracted; unsafe members refused and counted;
decompressed size capped), so a hostile upload can neither write files nor exhaust memory.

One Document per submission. An archive member that is itself an archive (`.tar`, `.tar.gz`,
`.tgz`, or `<id>.gz` as in the bundles; a figure's `fig.eps.gz` is not) is a submission of its
own, read up to `cfg.max_nesting` levels down; the other members of an archive form one
submission. In it the main file is the `.tex` with `\\documentclass` (then `\\begin{document}`,
then not `\\input` by another file, then the largest, then the first name), its `\\input` /
`\\include` files are inlined, and `filters.latex.clean_latex` applies LLaMA's cleaning.

Drops: no TeX at all is NO_TEX ("html-only", "pdf-only", "no tex file"); TeX that only
`\\includepdf`s the paper is NO_TEX "pdf-only" too (the paper is the PDF, not text we can use);
TeX with no words left after cleaning is EMPTY; a bomb, too many members, too deep a nesting or
nothing but unsafe members is UNSAFE_ARCHIVE (refused members beside safe ones are one more
UNSAFE_ARCHIVE record, `<id>#unsafe-members`, which lists them); a corrupt or cut-off archive is PARSE_ERROR, and
the next file (or the next submission already read from a bundle) is unaffected.

The arXiv id comes from a sibling `.abs` metadata file when there is one (`<stem>.abs`, or the
stem cut at an underscore: `arxiv-cs-9901011_HTML-only.tar.gz` finds `arxiv-cs-9901011.abs`),
else from the file name (`1801.03879.tar.gz`, `cs9901011.gz`, `arxiv-cs-9901011_...`); the
`.abs` also gives the title and submission date. Discovery does not pass `.abs` files as inputs.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import io
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from apache_beam.io.filesystems import FileSystems

from filters.latex import clean_latex, has_prose, strip_comments
from pipeline.core.archives import ArchiveStats, CorruptArchive, Member, UnsafeArchive, read_members
from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import open_raw
from pipeline.core.stages import SourcePlan, SourceSpec


@dataclasses.dataclass(frozen=True)
class ArxivConfig:
    """LLaMA section 2: text from the first section on, no bibliography, no comments, macros inlined."""

    max_archive_bytes: int = 500_000_000  # decompressed cap per submission (a bomb is unsafe_archive)
    max_members: int = 10_000  # files per submission
    max_nesting: int = 2  # archives inside archives (the monthly arXiv_src_*.tar bundles hold .gz/.tar.gz)
    min_chars: int = 1


SOURCE = "arxiv"
STAGE = "read"
TEX_SUFFIXES = (".tex", ".ltx", ".latex")
MAX_INPUT_DEPTH = 10  # \input inside \input ...: deeper is almost surely a cycle
MAX_ABS_BYTES = 1 << 20
_MAX_LISTED = 20  # file names listed in a drop's metadata

# New-style ids (since 2007-04): YYMM.NNNN or YYMM.NNNNN; old style: archive/YYMMNNN.
_NEW_ID = re.compile(r"(?<![\d.])(\d{2}(?:0[1-9]|1[0-2])\.\d{4,5})(v\d+)?(?!\d)")
_OLD_ARCHIVES = [
    "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an", "chao-dyn", "chem-ph", "cmp-lg",
    "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math",
    "math-ph", "mtrl-th", "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph", "q-alg", "q-bio", "quant-ph",
    "solv-int", "supr-con",
]
_OLD_ID = re.compile(
    r"(?<![A-Za-z])(" + "|".join(sorted(map(re.escape, _OLD_ARCHIVES), key=len, reverse=True)) + r")"
    r"(?:\.[A-Z]{2})?[-_/]?(\d{2}(?:0[1-9]|1[0-2])\d{3})(v\d+)?(?!\d)"
)
_LETTER_SUFFIX = re.compile(r"\.[a-z][a-z0-9]*$")  # a file type (".eps"), not an id's ".03879"
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".gz")
_DOCUMENTCLASS = re.compile(r"\\document(?:class|style)(?![A-Za-z])")
_BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")
_INPUT = re.compile(r"\\(?:input|include)(?![A-Za-z@])\s*(?:\{\s*([^{}]*?)\s*\}|([^\s{}\\%]+))")
_LOOKS_LIKE_TEX = re.compile(r"\\(?:documentclass|documentstyle|begin|section|input|def|newcommand|title)(?![A-Za-z])")
_CONTROL_CHARS = re.compile(r"[\x01-\x08\x0e-\x1f\x7f]")


def arxiv_id_from_name(name: str) -> str | None:
    """The arXiv id in a file name (`1801.03879v2.tar.gz`, `astro-ph0001001.gz`), or None."""
    base = posixpath.basename(name)
    if m := _NEW_ID.search(base):
        return m.group(1) + (m.group(2) or "")
    if m := _OLD_ID.search(base):
        return f"{m.group(1)}/{m.group(2)}" + (m.group(3) or "")
    return None


def _parse_abs(text: str) -> dict[str, str]:
    """The id, title and submission date of an arXiv `.abs` metadata file."""
    found: dict[str, str] = {}
    if m := re.search(r"^(?:arXiv|Paper):\s*(?:arXiv:)?(\S+)", text, re.M):
        found["arxiv_id"] = m.group(1)
    if m := re.search(r"^Title:\s*(.+(?:\n[ \t]+\S.*)*)", text, re.M):
        found["title"] = " ".join(m.group(1).split())
    if m := re.search(r"^Date:\s*(.+?)\s*(?:\(.*\))?\s*$", text, re.M):
        try:
            when = email.utils.parsedate_to_datetime(m.group(1))
        except (TypeError, ValueError):
            when = None  # an unreadable date only costs the `created` field
        if when is not None and when.tzinfo is not None:
            found["created"] = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return found


def _stem(name: str) -> str:
    lower = name.lower()
    for suffix in _ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_abs(path: str) -> dict[str, str]:
    """Metadata from the `.abs` file beside `path`, if there is one (see the module docstring)."""
    folder, name = FileSystems.split(path)
    stem = _stem(name)
    stems = [stem] + [stem[:i] for i in range(len(stem) - 1, 0, -1) if stem[i] == "_"]
    for candidate in stems:
        abs_path = FileSystems.join(folder, candidate + ".abs")
        if FileSystems.exists(abs_path):
            with open_raw(abs_path) as f:
                return _parse_abs(f.read(MAX_ABS_BYTES).decode("utf-8", errors="replace"))
    return {}


@dataclasses.dataclass(frozen=True)
class _Origin:
    """Where a submission came from: the input file, its path inside a bundle, what the .abs said."""

    file: str
    member: str = ""
    arxiv_id: str | None = None
    title: str | None = None
    created: str | None = None

    @property
    def id(self) -> str:
        if self.arxiv_id:
            return self.arxiv_id
        return f"{self.file}:{self.member}" if self.member else self.file

    def inner(self, name: str) -> _Origin:
        member = f"{self.member}/{name}" if self.member else name
        return _Origin(self.file, member, arxiv_id_from_name(name))

    def meta(self, **extra) -> dict:
        meta = {"file": self.file, "arxiv_id": self.arxiv_id, **extra}
        if self.member:
            meta["member"] = self.member
        if self.title:
            meta["title"] = self.title
        return meta

    def document(self, text: str, meta: dict) -> Document:
        url = f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None
        return Document(id=self.id, source=SOURCE, text=text, url=url, created=self.created, metadata=dump_meta(meta))


def _drop(origin: _Origin, reason: DropReason, detail: str, stats: ArchiveStats, **meta) -> Dropped:
    doc = origin.document("", origin.meta(unsafe_members=stats.num_unsafe, **meta))
    return Dropped(doc, reason, STAGE, detail)


def parse_arxiv_file(path: str, rel: str, cfg: ArxivConfig) -> Iterator[Document | Dropped]:
    """One arXiv input file -> a Document or Dropped per submission in it (see the module docstring)."""
    abs_meta = read_abs(path)
    origin = _Origin(rel, "", abs_meta.get("arxiv_id") or arxiv_id_from_name(rel),
                     abs_meta.get("title"), abs_meta.get("created"))
    with open_raw(path) as raw:
        yield from _read_archive(raw, posixpath.basename(rel), origin, cfg, depth=0)


def is_nested_archive(name: str) -> bool:
    """`.tar`, `.tar.gz`, `.tgz`, or a `.gz` with no letter suffix before it (`1801.03879.gz`,
    `astro-ph0001001.gz`), which is how bundles store submissions; `fig.eps.gz` is a figure."""
    lower = name.lower()
    if lower.endswith((".tar", ".tar.gz", ".tgz")):
        return True
    return lower.endswith(".gz") and not _LETTER_SUFFIX.search(lower[:-3])


def _keep(name: str, size: int) -> bool:
    """Hold in memory only what the text needs: TeX files, files with no type suffix (`\\input`
    targets, and a single-file submission's content, `upload4` or `1801.03879`), inner archives."""
    del size  # read_members caps sizes
    base = posixpath.basename(name).lower()
    return base.endswith(TEX_SUFFIXES) or not _LETTER_SUFFIX.search(base) or is_nested_archive(base)


def _read_archive(fileobj, name: str, origin: _Origin, cfg: ArxivConfig, depth: int) -> Iterator[Document | Dropped]:
    stats = ArchiveStats()
    files: dict[str, bytes | None] = {}
    num_nested = 0
    # An uncompressed tar is bounded by its own bytes (a bundle on disk, or a member already under
    # the cap), so only its members are capped; every decompressed byte counts against the cap.
    members = read_members(fileobj, name, max_bytes=cfg.max_archive_bytes, max_members=cfg.max_members,
                           stats=stats, keep=_keep, cap_plain_total=False)
    try:
        for member in members:
            if stats.format == "tar" and is_nested_archive(member.name):
                num_nested += 1
                yield from _read_nested(member, origin, cfg, depth)
            else:
                files[member.name] = member.data
    except UnsafeArchive as exc:
        yield _drop(origin, DropReason.UNSAFE_ARCHIVE, str(exc), stats)
        return
    except CorruptArchive as exc:
        yield _drop(origin, DropReason.PARSE_ERROR, f"corrupt or truncated archive: {exc}", stats)
        return
    if stats.num_unsafe and (files or num_nested):
        yield _unsafe_members(origin, stats)
    if num_nested and not files:
        return  # a bundle: each of its submissions went out on its own
    if mismatch := _format_mismatch(name, stats):
        yield _drop(origin, DropReason.PARSE_ERROR, mismatch, stats)
        return
    yield _submission(files, stats, origin, cfg)


def _unsafe_members(origin: _Origin, stats: ArchiveStats) -> Dropped:
    """The refused members of an archive whose other members are read: one record, in dropped/,
    beside the submission (an archive with nothing safe in it is one UNSAFE_ARCHIVE drop itself)."""
    listed = ", ".join(stats.unsafe) + (", ..." if stats.num_unsafe > len(stats.unsafe) else "")
    drop = _drop(origin, DropReason.UNSAFE_ARCHIVE, f"{stats.num_unsafe} members refused: {listed}"[:500], stats)
    return dataclasses.replace(drop, doc=dataclasses.replace(drop.doc, id=f"{origin.id}#unsafe-members"))


def _format_mismatch(name: str, stats: ArchiveStats) -> str:
    """A `.gz` that is not gzip, or a `.tar` that is not a tar, is damaged. (A `.tar.gz` holding
    one gzipped TeX file is not: arXiv's e-print downloads are often saved under that name.)"""
    lower = name.lower()
    if lower.endswith((".gz", ".tgz")) and not stats.compression:
        return "not gzip data"
    if lower.endswith(".tar") and stats.format != "tar":
        return "not a tar archive"
    return ""


def _read_nested(member: Member, origin: _Origin, cfg: ArxivConfig, depth: int) -> Iterator[Document | Dropped]:
    inner = origin.inner(member.name)
    if depth + 1 > cfg.max_nesting:
        yield _drop(inner, DropReason.UNSAFE_ARCHIVE, f"archive nested deeper than {cfg.max_nesting} levels",
                    ArchiveStats())
        return
    assert member.data is not None, "_keep holds every nested archive"
    yield from _read_archive(io.BytesIO(member.data), posixpath.basename(member.name), inner, cfg, depth + 1)


def decode_tex(data: bytes) -> str | None:
    """UTF-8, else Latin-1 (old arXiv sources are often Latin-1); None for binary content."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if len(_CONTROL_CHARS.findall(text)) > len(text) // 100:
        return None  # a compressed or image file under a .tex name
    return text


def _submission(files: dict[str, bytes | None], stats: ArchiveStats, origin: _Origin,
                cfg: ArxivConfig) -> Document | Dropped:
    if not files:
        if stats.num_unsafe:
            return _drop(origin, DropReason.UNSAFE_ARCHIVE, f"no safe members ({stats.num_unsafe} unsafe)", stats)
        return _drop(origin, DropReason.EMPTY, "empty archive", stats)
    texts = {n: strip_comments(t) for n, d in files.items() if d is not None and (t := decode_tex(d)) is not None}
    if stats.format == "file":  # arXiv's single-file format: whatever is in the .gz, if it is TeX
        candidates = [n for n, t in texts.items() if _LOOKS_LIKE_TEX.search(t)]
    else:
        candidates = [n for n in texts if n.lower().endswith(TEX_SUFFIXES)]
    if not candidates:
        listed = sorted(files)[:_MAX_LISTED]
        return _drop(origin, DropReason.NO_TEX, _no_tex_detail(files), stats, files=listed)
    main = choose_main_file(candidates, texts)
    body, inlined, missing = inline_inputs(main, texts)
    text = clean_latex(body)
    meta = origin.meta(main_file=main, inlined=inlined, unsafe_members=stats.num_unsafe)
    if missing:
        meta["missing_inputs"] = missing[:_MAX_LISTED]
    if not has_prose(text):
        if "\\includepdf" in body:
            return _drop(origin, DropReason.NO_TEX, "pdf-only", stats, main_file=main)
        return _drop(origin, DropReason.EMPTY, "no text after cleaning", stats, main_file=main)
    if len(text) < cfg.min_chars:
        return _drop(origin, DropReason.EMPTY, f"under {cfg.min_chars} characters after cleaning", stats,
                     main_file=main)
    return origin.document(text, meta)


def _no_tex_detail(files: dict[str, bytes | None]) -> str:
    """Why a submission holds no TeX: what arXiv itself would have served instead."""
    suffixes = {posixpath.splitext(n)[1].lower() for n in files}
    heads = [d[:16].lstrip().lower() for d in files.values() if d]
    if suffixes & {".htm", ".html"} or any(h.startswith((b"<html", b"<!doctype html")) for h in heads):
        return "html-only"
    if ".pdf" in suffixes or any(h.startswith(b"%pdf") for h in heads):
        return "pdf-only"
    if suffixes & {".ps", ".eps"} or any(h.startswith(b"%!ps") for h in heads):
        return "postscript-only"
    return "no tex file"


def _resolve(target: str, current: str, main: str, texts: dict[str, str]) -> str | None:
    """The archive file an `\\input{target}` in `current` means: relative to the main file's folder
    (TeX's working directory), then to `current`'s, then to the root; with `.tex` added or not."""
    target = target.strip().strip('"')
    for folder in dict.fromkeys((posixpath.dirname(main), posixpath.dirname(current), "")):
        for candidate in (target + ".tex", target) if not target.endswith(".tex") else (target,):
            name = posixpath.normpath(posixpath.join(folder, candidate))
            if not name.startswith("../") and name in texts:
                return name
    return None


def _input_targets(name: str, texts: dict[str, str]) -> set[str]:
    found = (_resolve(m.group(1) or m.group(2), name, name, texts) for m in _INPUT.finditer(texts[name]))
    return {target for target in found if target and target != name}


def choose_main_file(candidates: list[str], texts: dict[str, str]) -> str:
    """The main file: `\\documentclass` (or LaTeX 2.09's `\\documentstyle`), then
    `\\begin{document}`, then not `\\input` by another candidate, then the largest, then by name."""
    included = set().union(*(_input_targets(n, texts) for n in candidates))

    def rank(name: str) -> tuple:
        text = texts[name]
        return (not _DOCUMENTCLASS.search(text), not _BEGIN_DOCUMENT.search(text), name in included, -len(text), name)

    return min(candidates, key=rank)


def inline_inputs(main: str, texts: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """`main` with each `\\input{x}`, `\\input x` and `\\include{x}` replaced by the file's text,
    recursively (MAX_INPUT_DEPTH, no cycles). A file that is not in the archive (a figure, a
    package, a file the authors forgot) is replaced by nothing and listed as missing."""
    inlined: list[str] = []
    missing: list[str] = []

    def expand(name: str, stack: tuple[str, ...]) -> str:
        def replace(m: re.Match) -> str:
            target = m.group(1) or m.group(2)
            found = _resolve(target, name, main, texts)
            if found is None or found in stack or len(stack) > MAX_INPUT_DEPTH:
                missing.append(target if found is None else f"{target} (cycle or too deep)")
                return ""
            inlined.append(found)
            return expand(found, stack + (found,))

        return _INPUT.sub(replace, texts[name])

    return expand(main, (main,)), inlined, missing


def plan(cfg: Any, models: Any) -> SourcePlan:
    # The LaTeX cleaning happens while reading, where the archive's files are.
    return SourcePlan()


# Per-paper sources (.tar.gz, .tgz, a single gzipped .tex) and monthly arXiv_src_*.tar bundles.
SPEC = SourceSpec(SOURCE, ArxivConfig, (".tar.gz", ".tgz", ".tar", ".gz"), parse_arxiv_file, plan)
