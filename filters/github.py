"""GitHub's per-file rules: LLaMA (Touvron et al. 2023, section 2) "filtered low quality files
with heuristics based on the line length or proportion of alphanumeric characters, and removed
boilerplate, such as headers, with regular expressions", with RedPajama's thresholds and
definitions (its github_clean_dedup_local.py / github_run_filter.py):

- longest line over `max_line_length` (1000) characters: LONG_LINE;
- mean line length, characters / lines (newlines counted, as RedPajama does), over
  `max_mean_line_length` (100): MEAN_LINE;
- alphanumeric characters / all characters under `min_alnum_fraction` (0.25): ALNUM;
- alphabetic characters (str.isalpha) / tokens under `min_alpha_per_token` (1.5): ALPHA_TOKENS.
  RedPajama counts tokens with the GPT-NeoX-20B BPE tokenizer (EleutherAI/pythia-6.9b-deduped),
  a download this job cannot make. Its byte-level BPE first splits text with GPT-2's regex and
  then encodes each piece as one token or more; `count_pretokens` counts those pieces (the same
  regex in Python's `re`). So the ratio here is at least RedPajama's: every file dropped here,
  RedPajama drops too, and a file RedPajama drops (ratio under 1.5 only by the BPE count) may stay;
- an extension (or whole name: Makefile) outside `extensions`, RedPajama's allow-list: EXTENSION.

Before those, vendored and generated files are VENDORED (node_modules/, vendor/, third_party/,
dist/, build/, *.min.js, *.min.css, lock files, a "generated" / "DO NOT EDIT" comment in the first
lines): they are somebody else's code, or no one's. `clean_github` applies the rules in this
order: VENDORED and EXTENSION on the file as read (a header may be what says "generated"), then
the license header is stripped, then EMPTY, then the line and character rules on what is left.
Extensions match case-insensitively: RedPajama lists both .c and .C, and README.MD is Markdown.
Exact file-level dedup (the recipe's last GitHub step) is dedup/'s job; by `raw_exact_dedup` it
hashes the text as it is, as RedPajama does, not whitespace-normalized (pipeline/jobs/plan.py). It
hashes the file after its license header is stripped: LLaMA deduplicates "the resulting dataset"
(RedPajama hashed before stripping, so two copies differing only in their header both stayed).
"""
from __future__ import annotations

import dataclasses
import functools
import posixpath
import re

from filters.basic import check_not_empty
from pipeline.core.document import Document, Dropped, DropReason

# RedPajama's GitHub allow-list of code and text extensions (its github_clean_dedup_local.py).
GITHUB_EXTENSIONS = (
    ".asm", ".bat", ".cmd", ".c", ".h", ".cs", ".cpp", ".hpp", ".c++", ".h++", ".cc", ".hh", ".C", ".H",
    ".cmake", ".css", ".dockerfile", ".f90", ".f", ".f03", ".f08", ".f77", ".f95", ".for", ".fpp", ".go",
    ".hs", ".html", ".java", ".js", ".jl", ".lua", ".md", ".markdown", ".php", ".php3", ".php4", ".php5",
    ".phps", ".phpt", ".pl", ".pm", ".pod", ".perl", ".ps1", ".psd1", ".psm1", ".py", ".rb", ".rs", ".sql",
    ".scala", ".sh", ".bash", ".command", ".zsh", ".ts", ".tsx", ".tex", ".vb", "Dockerfile", "Makefile",
    ".xml", ".rst", ".m", ".smali",
)


@dataclasses.dataclass(frozen=True)
class GitHubConfig:
    """LLaMA section 2: Apache/BSD/MIT repositories; RedPajama's line-length and alphanumeric filters."""

    licenses: tuple[str, ...] = ("apache-2.0", "bsd-2-clause", "bsd-3-clause", "mit")
    extensions: tuple[str, ...] = GITHUB_EXTENSIONS  # suffixes, or whole names (Makefile)
    max_line_length: int = 1000
    max_mean_line_length: int = 100
    min_alnum_fraction: float = 0.25
    min_alpha_per_token: float = 1.5  # RedPajama: alphabetic characters per token; 0 turns it off
    # Exact file dedup hashes the file's text as it is (RedPajama: md5 of the content), not the
    # dedup.exact.normalization form; false: that normalization, as for the other sources.
    raw_exact_dedup: bool = True
    max_file_bytes: int = 1_000_000  # a larger source file is dropped as too_large
    max_archive_bytes: int = 2_000_000_000  # decompressed cap per repository archive
    strip_license_headers: bool = True


STAGE = "clean"
VENDORED_DIRS = frozenset({"node_modules", "bower_components", "vendor", "third_party", "dist", "build"})
LOCK_FILES = frozenset({"package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "go.sum"})
_MINIFIED = (".min.js", ".min.css")
_GENERATED_LINES = 5  # "generated" markers sit in the first comment lines
# A comment line (or docstring opening) that says the file is generated. "DO NOT EDIT" only in
# capitals: Go's convention (`// Code generated ... DO NOT EDIT.`) and most generators use it.
_GENERATED_RE = re.compile(
    r"^[ \t]*(?:#|//|/\*|\*|<!--|--|;|%|\"\"\"|''')[^\n]*?"
    r"(?:(?i:\bauto-?generated\b|\bautomatically generated\b|\bgenerated (?:by|from|with|using)\b|@generated\b)"
    r"|DO NOT EDIT)",
    re.M,
)

# --- license headers ----------------------------------------------------------------------------
_MENTIONS_LICENSE = re.compile(
    r"copyright|\blicen[cs]|spdx-license-identifier|permission is hereby granted|all rights reserved", re.I)
# Kept above a header: a shebang, a PHP or XML opening line.
_PREAMBLE = re.compile(r"(?:#![^\n]*|<\?php[^\n]*|<\?xml[^\n]*\?>[ \t]*)(?:\n|\Z)")
_BLANK_LINES = re.compile(r"(?:[ \t]*\r?\n)*")


def _line_comments(marker: str) -> re.Pattern[str]:
    return re.compile(rf"(?:[ \t]*{re.escape(marker)}[^\n]*(?:\n|\Z))+")


def _block_comment(opening: str, closing: str) -> re.Pattern[str]:
    return re.compile(rf"[ \t]*{opening}.*?{closing}[ \t]*(?:\r?\n|\Z)?", re.S)


_HASH, _SLASHES, _DASHES, _SEMI, _PERCENT = (_line_comments(m) for m in ("#", "//", "--", ";", "%"))
_C_BLOCK = _block_comment(r"/\*", r"\*/")
_XML_BLOCK = _block_comment("<!--", "-->")
_LUA_BLOCK = _block_comment(r"--\[(=*)\[", r"\]\1\]")
_HASKELL_BLOCK = _block_comment(r"\{-", r"-\}")
_C_STYLE = (_C_BLOCK, _SLASHES)
# Comment styles by extension (lower case) or whole file name; blocks before line comments, so
# a Lua "--[[" block is not read as one "--" line.
_COMMENT_STYLES: dict[str, tuple[re.Pattern[str], ...]] = {
    **dict.fromkeys((".py", ".sh", ".bash", ".zsh", ".command", ".rb", ".pl", ".pm", ".perl", ".pod",
                     ".cmake", ".ps1", ".psd1", ".psm1", ".jl", ".r", ".yaml", ".yml", ".toml",
                     ".dockerfile", ".smali", "makefile", "dockerfile"), (_HASH,)),
    **dict.fromkeys((".c", ".h", ".cc", ".cpp", ".hpp", ".hh", ".c++", ".h++", ".cs", ".java", ".js",
                     ".ts", ".tsx", ".jsx", ".go", ".rs", ".scala", ".m", ".swift", ".kt", ".vb"), _C_STYLE),
    ".php": (*_C_STYLE, _HASH),
    ".css": (_C_BLOCK,),
    **dict.fromkeys((".html", ".xml", ".md", ".markdown"), (_XML_BLOCK,)),
    ".sql": (_C_BLOCK, _DASHES),
    ".lua": (_LUA_BLOCK, _DASHES),
    ".hs": (_HASKELL_BLOCK, _DASHES),
    ".asm": (_SEMI,),
    ".tex": (_PERCENT,),
}


def file_kind(path: str) -> str:
    """The extension (".py"), or the whole name where there is none ("Makefile", ".gitignore")."""
    name = posixpath.basename(path)
    ext = posixpath.splitext(name)[1]
    return ext if ext else name


def _leading_block(styles: tuple[re.Pattern[str], ...], text: str, pos: int) -> re.Match[str] | None:
    for pattern in styles:
        m = pattern.match(text, pos)
        if m and m.end() > pos:
            return m
    return None


def strip_license_header(text: str, ext: str) -> str:
    """`text` without the comment blocks at its top that mention a copyright or license.

    Blocks in the leading run of comments are looked at one by one (a blank line ends a run of
    line comments); those mentioning copyright, a license, SPDX or "Permission is hereby granted"
    go, the others stay, and the first code line ends the search. A shebang stays on top. `ext`
    is `file_kind(path)`; an unknown kind is returned unchanged.
    """
    styles = _COMMENT_STYLES.get(ext.lower())
    if not styles:
        return text
    pre = _PREAMBLE.match(text)
    start = pos = pre.end() if pre else 0
    kept: list[str] = []
    removed = False
    while True:
        gap = _BLANK_LINES.match(text, pos).end()
        block = _leading_block(styles, text, gap)
        if block is None:
            break
        if _MENTIONS_LICENSE.search(block.group()):
            removed = True
        else:
            kept.append(text[pos:block.end()])
        pos = block.end()
    if not removed:
        return text
    body = "".join(kept) + text[pos:]
    return text[:start] + body[_BLANK_LINES.match(body).end():]


# --- the rules ------------------------------------------------------------------------------------
_ASCII_ALNUM = bytes(c for c in range(128) if chr(c).isalnum())


@functools.lru_cache(maxsize=8)
def _allowed_kinds(extensions: tuple[str, ...]) -> frozenset[str]:
    return frozenset(e.lower() for e in extensions)


def _vendored(path: str, text: str) -> str | None:
    """Why the file is vendored or generated, or None."""
    parts = path.split("/")
    name = parts[-1].lower()
    for folder in parts[:-1]:
        if folder.lower() in VENDORED_DIRS:
            return f"under {folder}/"
    if name.endswith(_MINIFIED):
        return "minified"
    if name in LOCK_FILES or name.endswith(".lock"):
        return "lock file"
    head = "\n".join(text[:4096].splitlines()[:_GENERATED_LINES])
    m = _GENERATED_RE.search(head)
    if not m:
        return None
    line_end = head.find("\n", m.start())
    return "generated: " + head[m.start(): line_end if line_end >= 0 else None].strip()[:100]


def alnum_fraction(text: str) -> float:
    """Alphanumeric characters / characters (str.isalnum, as RedPajama); 0.0 for ""."""
    if not text:
        return 0.0
    if text.isascii():  # the common case, counted in C
        data = text.encode("ascii")
        return (len(data) - len(data.translate(None, _ASCII_ALNUM))) / len(data)
    return sum(map(str.isalnum, text)) / len(text)



# GPT-2's pre-tokenization regex, which GPT-NeoX's byte-level BPE applies first:
# 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ . In `re`, \p{L} is
# [^\W\d_] (word characters that are neither digits nor "_"), \p{N} is \d, and "_" is punctuation.
_PRETOKEN_RE = re.compile(r"'(?:[stdm]|re|ve|ll)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")


def count_pretokens(text: str) -> int:
    """The pieces GPT-NeoX's tokenizer splits `text` into before BPE: a lower bound on its tokens."""
    return sum(1 for _ in _PRETOKEN_RE.finditer(text))


def alpha_per_token(text: str) -> float:
    """Alphabetic characters (str.isalpha, as RedPajama) per pre-token; 0.0 for ""."""
    num_tokens = count_pretokens(text)
    return sum(map(str.isalpha, text)) / num_tokens if num_tokens else 0.0


def _path_rules(path: str, text: str, cfg: GitHubConfig) -> tuple[DropReason, str] | None:
    why = _vendored(path, text)
    if why:
        return DropReason.VENDORED, why
    kind = file_kind(path)
    if kind.lower() not in _allowed_kinds(cfg.extensions):
        return DropReason.EXTENSION, f"{kind} is not in github.extensions"
    return None


def _text_rules(text: str, cfg: GitHubConfig) -> tuple[DropReason, str] | None:
    """RedPajama's four measures; blank text has none (it is EMPTY, see clean_github)."""
    if not text.strip():
        return None
    lines = text.splitlines()
    longest = max(map(len, lines))
    if longest > cfg.max_line_length:
        return DropReason.LONG_LINE, f"longest line {longest}"
    mean = len(text) / len(lines)
    if mean > cfg.max_mean_line_length:
        return DropReason.MEAN_LINE, f"mean line length {mean:.1f}"
    fraction = alnum_fraction(text)
    if fraction < cfg.min_alnum_fraction:
        return DropReason.ALNUM, f"alphanumeric fraction {fraction:.3f}"
    if cfg.min_alpha_per_token:
        ratio = alpha_per_token(text)
        if ratio < cfg.min_alpha_per_token:
            return DropReason.ALPHA_TOKENS, f"{ratio:.2f} alphabetic characters per token"
    return None


def clean_github(doc: Document, cfg: GitHubConfig) -> Document | Dropped:
    """The GitHub clean step: rules, header stripping, EMPTY; stage "clean", detail measured."""
    path = doc.meta().get("path", doc.id)
    verdict = _path_rules(path, doc.text, cfg)
    if verdict:
        return Dropped(doc, verdict[0], STAGE, verdict[1])
    text = strip_license_header(doc.text, file_kind(path)) if cfg.strip_license_headers else doc.text
    stripped = dataclasses.replace(doc, text=text)
    if check_not_empty(stripped):
        detail = "only a license header" if doc.text.strip() else "empty file"
        return Dropped(doc, DropReason.EMPTY, STAGE, detail)
    verdict = _text_rules(text, cfg)
    if verdict:
        return Dropped(doc, verdict[0], STAGE, verdict[1])
    if len(text) == len(doc.text):
        return stripped
    return stripped.with_meta(header_chars=len(doc.text) - len(text))
