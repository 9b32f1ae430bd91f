"""GitHub: repository archives, checkouts and file tables -> one Document per repository file.

LLaMA (Touvron et al. 2023, section 2): "We use the public GitHub dataset available on Google
BigQuery. We only kept projects that are distributed under the Apache, BSD and MIT licenses."
Inputs under github/: a repository archive (.tar.gz, .tgz, .tar.bz2, .tar.xz, .tar, .zip: `git
archive` output or a GitHub zipball; a top folder shared by every member is stripped from paths);
a checkout folder (each immediate subfolder of github/ that is not an archive; `.git` is history,
not the tree, and is not read); a table (.jsonl, .jsonl.gz, .json.gz, .parquet) of
`{repo_name, path, content, license}` rows, the shape of the public BigQuery GitHub tables.

The license of an archive or checkout is read from the TEXT of its root license files
(pipeline/sources/licenses.py), never from a file or archive name; a table row carries its
license in its `license` column, which GitHub computed the same way. A repository whose license is
not in `cfg.licenses` becomes ONE Dropped(LICENSE) record (id: the repository, detail: the
license found), not one per file: it is one decision, and its files are never read.

An archive is read twice: pass 1 finds the top folder, the root license files and the unsafe
members; pass 2 yields the files. A tar stream cannot seek back and license files may come last;
holding a repository until its license is known would cost up to max_archive_bytes of memory.

Archives are untrusted: members are read in memory, never extracted; links, devices, absolute
paths and ".." are skipped, counted as `skipped_members` in the metadata and listed in one
UNSAFE_ARCHIVE record (`<repo>#unsafe-members`); the declared member sizes, which bound what
tarfile and zipfile decompress, add up to `max_archive_bytes`, past which the rest of the
repository is one TOO_LARGE drop. At read, a file is dropped as TOO_LARGE (over `max_file_bytes`,
never read whole) or BINARY; the recipe's rules are in filters/github.py. Damage: a member that
cannot be read (a bad CRC) is one PARSE_ERROR and the next members are read; an archive cut short
keeps the files before the cut when its license files were among them (else it is one PARSE_ERROR),
and the rest of it is one PARSE_ERROR.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import lzma
import os
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from filters.github import GitHubConfig, clean_github
from pipeline.core.archives import safe_name, unsafe_member_type
from pipeline.core.config import ExactDedupConfig
from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import open_decompressed, open_raw, printable
from pipeline.core.stages import Recipe, SourcePlan, SourceSpec, with_config
from pipeline.sources.licenses import NONE, is_allowed, is_license_file, repository_license

SOURCE = "github"
STAGE = "read"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
TABLE_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".parquet")
INPUT_SUFFIXES = ARCHIVE_SUFFIXES + TABLE_SUFFIXES  # plus folders: one checkout each
# git's own test for binary content (buffer_is_binary): a NUL byte in the first 8000 bytes.
BINARY_PROBE_BYTES = 8192
MAX_LICENSE_BYTES = 64 * 1024  # enough for every license's signature phrase
_TABLE_COLUMNS = ("repo_name", "path", "content", "license")
_OWNER_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
# What a damaged archive or compressed stream raises (truncated gzip: EOFError; bad gzip header,
# bz2 or I/O: OSError; deflate64 and other unsupported zip methods: NotImplementedError).
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error,
                   lzma.LZMAError, NotImplementedError)
_TABLE_ERRORS = _ARCHIVE_ERRORS + (pa.ArrowException,)
_LANGUAGES = {  # metadata "lang": the programming language, by extension or whole name
    **dict.fromkeys((".c", ".h"), "C"), **dict.fromkeys((".cc", ".cpp", ".hpp", ".hh", ".c++", ".h++"), "C++"),
    **dict.fromkeys((".ts", ".tsx"), "TypeScript"), **dict.fromkeys((".sh", ".bash", ".zsh"), "Shell"),
    **dict.fromkeys((".md", ".markdown"), "Markdown"), **dict.fromkeys((".pl", ".pm"), "Perl"),
    ".py": "Python", ".cs": "C#", ".java": "Java", ".js": "JavaScript", ".go": "Go", ".rs": "Rust",
    ".rb": "Ruby", ".php": "PHP", ".scala": "Scala", ".hs": "Haskell", ".lua": "Lua", ".jl": "Julia",
    ".sql": "SQL", ".html": "HTML", ".css": "CSS", ".xml": "XML", ".rst": "reStructuredText",
    ".tex": "TeX", ".asm": "Assembly", ".f90": "Fortran", ".m": "Objective-C", ".vb": "Visual Basic",
    ".ps1": "PowerShell", ".cmake": "CMake", "makefile": "Makefile", "dockerfile": "Dockerfile",
}

Read = Callable[[int], bytes]  # read(limit): the member's first `limit` bytes
# (path parts, or None for an unsafe member; size; read; for an unsafe member, "name (why)")
Member = tuple["tuple[str, ...] | None", int, Read, str]
_MAX_LISTED = 20  # unsafe member names listed in a drop's detail


def repo_name(rel: str) -> str:
    """`owner/name` from an input named `owner__name[__hint].tar.gz`; the hint (a license guess in
    the shared samples) is ignored. Other names give the name without its archive suffix."""
    base = posixpath.basename(rel.replace(os.sep, "/").rstrip("/"))
    for suffix in ARCHIVE_SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    owner, sep, rest = base.partition("__")
    name = rest.split("__")[0]
    return f"{owner}/{name}" if sep and owner and name else base


def github_url(repo: str, path: str = "") -> str | None:
    if not _OWNER_NAME_RE.fullmatch(repo):
        return None
    return f"https://github.com/{repo}" + (f"/blob/HEAD/{quote(path)}" if path else "")


def programming_language(path: str) -> str | None:
    name = posixpath.basename(path).lower()
    return _LANGUAGES.get(name) or _LANGUAGES.get(posixpath.splitext(name)[1])


def decode_source(data: bytes) -> tuple[str | None, str]:
    """(text, "") for UTF-8 text, or (None, why) for binary content, whatever the file name says.

    The whole file must be UTF-8: a Latin-1 file past its first 8 KB cannot be carried faithfully
    either. A UTF-8 byte-order mark is removed.
    """
    nul = data.find(b"\x00", 0, BINARY_PROBE_BYTES)
    if nul >= 0:
        return None, f"NUL byte at offset {nul}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 (invalid byte at offset {e.start})"
    return text.removeprefix("\ufeff"), ""


@dataclasses.dataclass(frozen=True)
class _Repo:
    """One repository as reading knows it: what goes into each of its documents."""

    name: str
    file: str  # the input, relative to github/
    license: str
    prefix: str = ""  # the archive's top folder, stripped from member paths
    num_skipped: int = 0  # unsafe members left out

    def document(self, path: str = "") -> Document:
        path = printable(path)  # a member name that is not UTF-8 reaches ids and URLs escaped
        meta: dict[str, Any] = {"repo": self.name, "license": self.license, "file": self.file}
        if path:
            meta["path"] = path
            lang = programming_language(path)
            if lang:
                meta["lang"] = lang
        if self.num_skipped:
            meta["skipped_members"] = self.num_skipped
        return Document(id=f"{self.name}/{path}" if path else self.name, source=SOURCE, text="",
                        url=github_url(self.name, path), metadata=dump_meta(meta))

    def drop(self, reason: DropReason, detail: str, path: str = "") -> Dropped:
        return Dropped(self.document(path), reason, STAGE, detail)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _file_outcome(doc: Document, size: int, read: Read, cfg: GitHubConfig) -> Document | Dropped:
    """One file: TOO_LARGE (not read), BINARY, or the Document with its text."""
    if size > cfg.max_file_bytes:
        return Dropped(doc, DropReason.TOO_LARGE, STAGE, f"{size} bytes, over max_file_bytes {cfg.max_file_bytes}")
    data = read(cfg.max_file_bytes + 1)
    if len(data) > cfg.max_file_bytes:  # a checkout file that grew after it was listed
        return Dropped(doc, DropReason.TOO_LARGE, STAGE, f"over max_file_bytes {cfg.max_file_bytes}")
    text, why = decode_source(data)
    if text is None:
        return Dropped(doc, DropReason.BINARY, STAGE, why)
    return dataclasses.replace(doc, text=text)


# --- members of archives and checkouts --------------------------------------------------------
def _safe_parts(name: str) -> tuple[str, ...] | None:
    """A member name's path parts, or None where it could land outside the repository."""
    clean, _ = safe_name(name)
    return tuple(clean.split("/")) if clean else None


def _read_tar_member(tar: tarfile.TarFile, info: tarfile.TarInfo, limit: int) -> bytes:
    f = tar.extractfile(info)
    assert f is not None, "regular members always have data"
    return f.read(limit)


def _tar_members(path: str) -> Iterator[Member]:
    # Stream mode ("r|*"): no seeking, so remote files and any compression tarfile knows work.
    with open_raw(path) as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
        while (info := tar.next()) is not None:
            tar.members.clear()  # tarfile keeps every header otherwise: memory grows with the repo
            if info.isdir():
                continue
            why = unsafe_member_type(info)
            parts = None if why else _safe_parts(info.name)
            label = f"{printable(info.name)[:200]} ({why or 'absolute or .. path'})" if parts is None else ""
            yield parts, info.size, functools.partial(_read_tar_member, tar, info), label


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with archive.open(info) as f:
        return f.read(limit)


def _zip_members(path: str) -> Iterator[Member]:
    with open_raw(path) as raw, zipfile.ZipFile(raw) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            # Symlinks (unix mode in the high bits) could point anywhere; encrypted members
            # cannot be read without a password.
            why = "link" if stat.S_ISLNK(info.external_attr >> 16) else "encrypted" if info.flag_bits & 0x1 else ""
            parts = None if why else _safe_parts(info.filename)
            label = f"{printable(info.filename)[:200]} ({why or 'absolute or .. path'})" if parts is None else ""
            yield parts, info.file_size, functools.partial(_read_zip_member, archive, info), label


def _read_file(path: str, limit: int) -> bytes:
    with open_raw(path) as f:
        return f.read(limit)


def _raise(err: OSError) -> None:
    raise err


def _dir_members(root: str) -> Iterator[Member]:
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
        links = sorted(d for d in dirnames if os.path.islink(os.path.join(dirpath, d)))
        dirnames[:] = sorted(d for d in dirnames if d != ".git" and d not in links)
        for link in links:  # a linked folder could lead anywhere on this machine
            yield None, 0, _no_read, f"{printable(os.path.relpath(os.path.join(dirpath, link), root))} (linked folder)"
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            regular = stat.S_ISREG(st.st_mode)
            parts = tuple(os.path.relpath(full, root).split(os.sep)) if regular else None
            label = "" if regular else f"{printable(os.path.relpath(full, root))} (link or device)"
            yield parts, st.st_size, functools.partial(_read_file, full), label


def _no_read(limit: int) -> bytes:
    raise AssertionError("unsafe members are never read")


# --- one repository: two passes -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Scan:
    prefix: str
    licenses: tuple[str, ...]
    num_skipped: int
    unsafe: tuple[str, ...] = ()  # the first _MAX_LISTED unsafe members, "name (why)"
    broken: str = ""  # why the archive could not be read to its end (cut short, corrupt)


def _scan(members: Iterable[Member], cfg: GitHubConfig, strip_top: bool) -> _Scan:
    """Pass 1: the top folder every member shares (if any), root license texts, unsafe members.

    An archive that breaks part way is scanned as far as it goes (`broken` says why): the files
    before the damage can still be kept when the license files were among them.
    """
    top: str | None = None
    common = strip_top
    candidates: dict[tuple[str, ...], str] = {}
    unsafe: list[str] = []
    num_skipped = total = 0
    broken = ""
    try:
        for parts, size, read, label in members:
            if parts is None:
                num_skipped += 1
                unsafe += [label][: _MAX_LISTED - len(unsafe)]
                continue
            total += size
            if total > cfg.max_archive_bytes:
                break  # pass 2 stops at the same member, with a TOO_LARGE drop
            if common and (len(parts) < 2 or parts[0] != (top or parts[0])):
                common = False
                candidates.clear()  # they were one level down: not at the root after all
            top = top or parts[0]
            if len(parts) == (2 if common else 1) and is_license_file(parts[-1]):
                candidates[parts] = read(MAX_LICENSE_BYTES).decode("utf-8", "replace")
    except _ARCHIVE_ERRORS as e:
        broken = _describe(e)
    texts = [text for _, text in sorted(candidates.items())]
    return _Scan(prefix=top if common and top else "", licenses=repository_license(texts), num_skipped=num_skipped,
                 unsafe=tuple(unsafe), broken=broken)


def _repo_files(members: Iterable[Member], repo: _Repo, cfg: GitHubConfig) -> Iterator[Document | Dropped]:
    """Pass 2: every regular, safe member as a Document, or a read-stage drop."""
    total = 0
    for parts, size, read, _ in members:
        if parts is None:
            continue
        total += size
        if total > cfg.max_archive_bytes:
            yield repo.drop(DropReason.TOO_LARGE, f"over max_archive_bytes {cfg.max_archive_bytes} "
                                                  "decompressed; the rest of the repository is not read")
            return
        if repo.prefix and len(parts) > 1 and parts[0] == repo.prefix:
            parts = parts[1:]
        path = "/".join(parts)
        try:
            yield _file_outcome(repo.document(path), size, read, cfg)
        except _ARCHIVE_ERRORS as e:
            # This member is damaged (a bad CRC, a cut stream); a zip's next members are still whole,
            # and a tar stream that is broken for good fails again at its next header.
            yield repo.drop(DropReason.PARSE_ERROR, f"unreadable member: {_describe(e)}", path)


def _parse_repository(rel: str, cfg: GitHubConfig, members: Callable[[], Iterable[Member]],
                      strip_top: bool) -> Iterator[Document | Dropped]:
    repo = _Repo(name=repo_name(rel), file=rel, license=NONE)
    try:
        scan = _scan(members(), cfg, strip_top)
    except _ARCHIVE_ERRORS as e:
        yield repo.drop(DropReason.PARSE_ERROR, f"unreadable repository: {_describe(e)}")
        return
    allowed = is_allowed(scan.licenses, cfg.licenses)
    if scan.broken and not allowed:  # the license may have been in the part that could not be read
        yield repo.drop(DropReason.PARSE_ERROR, f"unreadable repository (license {', '.join(scan.licenses)} "
                                                f"in what could be read): {scan.broken}")
        return
    name = repo.name
    if "/" not in name and "__" in scan.prefix:  # a plain archive name, an owner__name top folder
        name = repo_name(scan.prefix)
    repo = _Repo(name, rel, ", ".join(scan.licenses), scan.prefix, scan.num_skipped)
    if not allowed:
        yield repo.drop(DropReason.LICENSE, repo.license)
        return
    if scan.unsafe:
        listed = ", ".join(scan.unsafe) + (", ..." if scan.num_skipped > len(scan.unsafe) else "")
        unsafe = dataclasses.replace(repo.document(), id=f"{repo.name}#unsafe-members")
        yield Dropped(unsafe, DropReason.UNSAFE_ARCHIVE, STAGE, f"{scan.num_skipped} members skipped: {listed}"[:500])
    num_files = 0
    try:
        for out in _repo_files(members(), repo, cfg):
            num_files += 1
            yield out
    except _ARCHIVE_ERRORS as e:
        # What was yielded stays; the rest of the repository is this one record.
        yield repo.drop(DropReason.PARSE_ERROR, f"broken after {num_files} files: {_describe(e)}")


# --- tables of files ----------------------------------------------------------------------------
def _jsonl_rows(path: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with open_decompressed(path) as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue  # a blank line (a trailing newline makes one) is not a row
            try:
                record = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                yield number, f"invalid JSON: {e}"
                continue
            yield number, record if isinstance(record, dict) else f"not a JSON object but {type(record).__name__}"


def _parquet_rows(path: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with open_raw(path) as raw:
        table = pq.ParquetFile(raw)
        names = set(table.schema_arrow.names)
        missing = [c for c in _TABLE_COLUMNS[:3] if c not in names]
        if missing:
            yield 1, f"no column(s) {', '.join(missing)}: a GitHub table has repo_name, path, content, license"
            return
        number = 0
        for batch in table.iter_batches(batch_size=256, columns=[c for c in _TABLE_COLUMNS if c in names]):
            for record in batch.to_pylist():
                number += 1
                yield number, record


def _row_error(rel: str, number: int, detail: str) -> Dropped:
    doc = Document(id=f"{rel}:{number}", source=SOURCE, text="", metadata=dump_meta({"file": rel, "row": number}))
    return Dropped(doc, DropReason.PARSE_ERROR, STAGE, detail)


def _table_row(row: dict[str, Any] | str, rel: str, number: int, cfg: GitHubConfig,
               rejected: set[str]) -> Document | Dropped | None:
    """One row; None for a further row of a repository already dropped for its license."""
    if isinstance(row, str):
        return _row_error(rel, number, row)
    name, path, content = row.get("repo_name"), row.get("path"), row.get("content")
    if not (isinstance(name, str) and name and isinstance(path, str) and path.strip("/")):
        return _row_error(rel, number, "no string 'repo_name' and 'path'")
    if content is not None and not isinstance(content, str):
        return _row_error(rel, number, f"'content' is {type(content).__name__}, not a string")
    raw_license = row.get("license")
    license_id = raw_license.strip().lower() if isinstance(raw_license, str) and raw_license.strip() else NONE
    repo = _Repo(name, rel, license_id)
    if not is_allowed((license_id,), cfg.licenses):
        if name in rejected:
            return None
        rejected.add(name)
        return repo.drop(DropReason.LICENSE, license_id)
    doc = repo.document(path.strip("/"))
    if content is None:  # the BigQuery contents table has no text for binary files
        return Dropped(doc, DropReason.BINARY, STAGE, "no content (binary in the source table)")
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate from a JSON "\ud800" escape
        return Dropped(doc, DropReason.BINARY, STAGE, f"not UTF-8 ({e.reason} at {e.start})")
    return _file_outcome(doc, len(data), lambda _limit: data, cfg)


def _parse_table(path: str, rel: str, cfg: GitHubConfig) -> Iterator[Document | Dropped]:
    rows = _parquet_rows(path) if path.lower().endswith(".parquet") else _jsonl_rows(path)
    rejected: set[str] = set()
    number = 0
    try:
        for number, row in rows:
            out = _table_row(row, rel, number, cfg, rejected)
            if out is not None:
                yield out
    except _TABLE_ERRORS as e:
        yield _row_error(rel, number + 1, f"table broken after row {number}: {_describe(e)}")


def parse_github_file(path: str, rel: str, cfg: GitHubConfig) -> Iterator[Document | Dropped]:
    """One input (an archive, a checkout folder or a table) -> Documents and read-stage drops.

    Ids are `<repo>/<path>` (a repository-level drop: `<repo>`; a bad table row: `<rel>:<row>`).
    """
    lower = path.lower()
    if os.path.isdir(path):
        yield from _parse_repository(rel, cfg, lambda: _dir_members(path), strip_top=False)
    elif lower.endswith(TABLE_SUFFIXES):
        yield from _parse_table(path, rel, cfg)
    elif lower.endswith(".zip"):
        yield from _parse_repository(rel, cfg, lambda: _zip_members(path), strip_top=True)
    elif lower.endswith(ARCHIVE_SUFFIXES):
        yield from _parse_repository(rel, cfg, lambda: _tar_members(path), strip_top=True)
    else:
        detail = f"not a GitHub input; give a folder or one of {', '.join(INPUT_SUFFIXES)}"
        yield _Repo(repo_name(rel), rel, NONE).drop(DropReason.PARSE_ERROR, detail)


def plan(cfg: Any, models: Any) -> SourcePlan:
    # RedPajama's exact file dedup hashes the content as it is (github.raw_exact_dedup).
    raw = dataclasses.replace(cfg.dedup, exact=ExactDedupConfig("none")) if cfg.github.raw_exact_dedup else None
    return SourcePlan(clean=Recipe(with_config, clean_github, cfg.github), dedup=raw)


# Repository archives and BigQuery-style tables; an immediate subfolder of github/ holding none of
# these is a plain repository checkout.
SPEC = SourceSpec(SOURCE, GitHubConfig, INPUT_SUFFIXES, parse_github_file, plan, stages=("clean",), checkouts=True)
