"""Wikipedia: MediaWiki XML dumps -> Documents, then the recipe's page filter and cleaning.

LLaMA (Touvron et al. 2023, section 2): "We add Wikipedia dumps from the June-August 2022 period,
covering 20 languages, which use either the Latin or Cyrillic scripts ... We process the data to
remove hyperlinks, comments and other formatting boilerplate."

`parse_wikipedia_file` streams one dump (export schema 0.3 to 0.11; plain .xml, .gz, .bz2 and
multistream .bz2) and yields every page, raw wikitext and all, as a Document, or a
Dropped(PARSE_ERROR) for a page it cannot read. `clean_wikipedia` keeps article pages that are not
redirects and are in a kept language, as plain text (pipeline.sources.wikitext).

The reader relies on the layout Wikimedia's dumps and Special:Export both write: `<page>` and
`</page>` on lines of their own. It holds one page at a time, so memory stays bounded by
`max_page_bytes` and a broken page costs that page only.
"""
from __future__ import annotations

import codecs
import contextlib
import dataclasses
import datetime
import posixpath
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree as ET

from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import open_decompressed, open_raw
from pipeline.core.stages import Recipe, SourcePlan, SourceSpec, with_config
from pipeline.sources.multistream import Bz2Streams
from pipeline.sources.wikitext import wikitext_to_text

# LLaMA section 2: "covers 20 languages, which use either the Latin or Cyrillic scripts".
LLAMA_WIKIPEDIA_LANGUAGES = (
    "bg", "ca", "cs", "da", "de", "en", "es", "fr", "hr", "hu",
    "it", "nl", "pl", "pt", "ro", "ru", "sl", "sr", "sv", "uk",
)

@dataclasses.dataclass(frozen=True)
class WikipediaConfig:
    languages: tuple[str, ...] = LLAMA_WIKIPEDIA_LANGUAGES
    namespaces: tuple[int, ...] = (0,)  # article namespace only
    max_page_bytes: int = 64 * 1024 * 1024  # a larger <page> is a parse_error, not an OOM
    min_chars: int = 1  # shorter plain text is dropped as empty


__all__ = ["parse_wikipedia_file", "clean_wikipedia", "wikitext_to_text"]

SOURCE = "wikipedia"
_READ_BYTES = 1 << 16
_MAX_LINE_CHARS = 1 << 20  # a longer line is handed on in pieces, so one line cannot fill memory
# Canonical namespace names, valid on every wiki whatever its language: used for dumps without
# siteinfo and to place schema-0.3 titles, which carry no <ns>.
_CANONICAL_NAMESPACES = {
    "media": -2, "special": -1, "talk": 1, "user": 2, "user talk": 3, "project": 4,
    "project talk": 5, "wikipedia": 4, "wikipedia talk": 5, "file": 6, "image": 6,
    "file talk": 7, "image talk": 7, "mediawiki": 8, "mediawiki talk": 9, "template": 10,
    "template talk": 11, "help": 12, "help talk": 13, "category": 14, "category talk": 15,
    "portal": 100, "portal talk": 101, "draft": 118, "draft talk": 119, "timedtext": 710,
    "timedtext talk": 711, "module": 828, "module talk": 829,
}
_FILE_NAME_LANG = re.compile(r"^([a-z]{2,3}(?:_[a-z]+)*)wiki(?![a-z])")
# "#REDIRECT [[X]]" and its localized forms ("#WEITERLEITUNG", "#перенаправление", "#転送").
_REDIRECT = re.compile(r"^\s*#[^\W\d_][\w-]*\s*:?\s*\[\[")


@dataclasses.dataclass(frozen=True)
class _Site:
    """What a dump says about its wiki (siteinfo), or what its file name says where it is silent."""

    dbname: str | None
    lang: str | None
    namespaces: dict[str, int]  # normalized name -> namespace key, canonical names included
    ns_aliases: dict[str, list[str]]  # "file" / "category": the wiki's own names for ns 6 and 14

    @property
    def key(self) -> str | None:
        """The siteinfo dbname, else "<lang>wiki" from the language the file name gives."""
        return self.dbname or (f"{self.lang.replace('-', '_')}wiki" if self.lang else None)

    def namespace_of(self, title: str) -> int:
        if ":" not in title:
            return 0
        return self.namespaces.get(_normalize_name(title.split(":", 1)[0]), 0)

    def url(self, title: str) -> str | None:
        if not self.lang:
            return None
        # MediaWiki's wfUrlencode: spaces become underscores and these characters stay readable.
        return f"https://{self.lang}.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe=";@$!*(),/~:")


def parse_wikipedia_file(path: str, rel: str, cfg: WikipediaConfig) -> Iterator[Document | Dropped]:
    """Every page of one MediaWiki XML dump as a Document of raw wikitext (LLaMA section 2 source).

    All pages come out, redirects and other namespaces included: `clean_wikipedia` filters. A page
    that is malformed XML, larger than `cfg.max_page_bytes`, or cut off by the end of a truncated
    file is one Dropped(PARSE_ERROR) and reading goes on; a corrupt compressed stream ends the file
    with one such drop, after every page read before it.
    """
    splitter = _PageSplitter(cfg.max_page_bytes)
    site = _site_from_header("", rel)
    with _open_dump(path) as stream:
        damage: list[str] = getattr(stream, "damage", [])
        try:
            for kind, line, payload in splitter.events(_decoded_lines(stream)):
                yield from _damage_drops(damage, site, rel, splitter.line_no)
                if kind == "header":
                    site = _site_from_header(payload, rel)
                elif kind == "page":
                    yield _page_to_document(payload, line, site, rel)
                else:
                    yield _read_drop(site, rel, line, payload)
            yield from _damage_drops(damage, site, rel, splitter.line_no)
        except (EOFError, OSError, zlib.error) as err:
            # bz2/gzip raise these for a cut or corrupt stream: keep what was read, drop the rest.
            yield from _damage_drops(damage, site, rel, splitter.line_no)
            line = splitter.page_line or splitter.line_no
            detail = f"compressed stream ended early or is corrupt ({type(err).__name__}: {err})"
            yield _read_drop(site, rel, line, detail)


@contextlib.contextmanager
def _open_dump(path: str) -> Iterator[Any]:
    """A .bz2 dump through Bz2Streams, which goes on after a corrupt stream of a multistream dump
    (BZ2File would end the file there without a word); other files as pipeline.core.io opens them."""
    if path.lower().endswith(".bz2"):
        with open_raw(path) as raw:
            yield Bz2Streams(raw)
    else:
        with open_decompressed(path) as stream:
            yield stream


def _damage_drops(damage: list[str], site: _Site, rel: str, line: int) -> Iterator[Dropped]:
    """One PARSE_ERROR per corrupt bzip2 stream met so far: the pages in it are lost, the next
    stream's are not. Ids number the damage met before the same line, so each is one record."""
    for k, detail in enumerate(damage, start=1):
        drop = _read_drop(site, rel, line, detail)
        yield dataclasses.replace(drop, doc=dataclasses.replace(drop.doc, id=f"{rel}#damage-before-line-{line}-{k}"))
    damage.clear()


def clean_wikipedia(doc: Document, cfg: WikipediaConfig) -> Document | Dropped:
    """Keep article pages in the kept languages, as plain text (LLaMA section 2).

    Drop order: NON_ARTICLE_NAMESPACE (ns not in cfg.namespaces), REDIRECT, LANGUAGE_NOT_KEPT
    (the recipe's 20 Latin/Cyrillic-script languages by default), then EMPTY when fewer than
    `cfg.min_chars` characters of text are left after removing links, comments and markup.
    """
    meta = doc.meta()
    ns = meta.get("ns")
    if ns not in cfg.namespaces:
        return Dropped(doc, DropReason.NON_ARTICLE_NAMESPACE, "clean", f"namespace {ns}")
    if meta.get("redirect"):
        return Dropped(doc, DropReason.REDIRECT, "clean", "redirect page")
    if doc.lang not in cfg.languages:
        return Dropped(doc, DropReason.LANGUAGE_NOT_KEPT, "clean",
                       f"language {doc.lang!r} is not in wikipedia.languages")
    aliases = meta.get("ns_aliases") or {}
    text = wikitext_to_text(doc.text, aliases.get("file", ()), aliases.get("category", ()))
    if len(text.strip()) < cfg.min_chars:
        return Dropped(doc, DropReason.EMPTY, "clean", f"{len(text.strip())} chars of text after cleaning")
    return dataclasses.replace(doc, text=text)


def _decoded_lines(stream: Any) -> Iterator[str]:
    """The dump's text, line by line with line ends kept.

    Wikimedia writes UTF-8, but tools re-save dumps as UTF-16 with a byte-order mark (the shared
    bgwiki sample is one), so the encoding is sniffed. Undecodable bytes become U+FFFD: one bad
    byte should not cost a page.
    """
    # read1 returns what one decompression step gives: a cut stream then fails after the last
    # whole step, not inside a big read() that would discard what it had already decompressed.
    read = getattr(stream, "read1", stream.read)
    head = read(_READ_BYTES)
    while 0 < len(head) < 64:  # enough bytes to see a byte-order mark or an XML declaration
        more = read(_READ_BYTES)
        if not more:
            break
        head += more
    decoder = codecs.getincrementaldecoder(_sniff_encoding(head))(errors="replace")
    pending, chunk = "", head
    while chunk:
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line + "\n"
        if len(pending) > _MAX_LINE_CHARS:
            yield pending
            pending = ""
        chunk = read(_READ_BYTES)
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(b"<\x00"):
        return "utf-16-le"
    if head.startswith(b"\x00<"):
        return "utf-16-be"
    declared = re.match(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", head)
    if declared:
        try:
            return codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            return "utf-8"  # an unknown declared encoding: UTF-8 is what dumps are written in
    return "utf-8"


class _PageSplitter:
    """Cuts a dump's lines into its header and then one `<page>` chunk at a time."""

    def __init__(self, max_page_bytes: int) -> None:
        self.max_page_bytes = max_page_bytes
        self.line_no = 0  # 1-based number of the line being read
        self.page_line: int | None = None  # where the open <page> began
        self._parts: list[str] | None = []  # None while skipping an oversized page
        self._size = 0
        self._header_done = False
        self._at_line_start = True

    def events(self, lines: Iterable[str]) -> Iterator[tuple[str, int, str]]:
        """("header", 0, text) once, then ("page", line, xml) or ("error", line, detail)."""
        for line in lines:
            if self._at_line_start:
                self.line_no += 1
            self._at_line_start = line.endswith("\n")
            stripped = line.strip()
            if stripped.startswith(("<page>", "<page ")):
                yield from self._open_page()
            if self.page_line is None and self._header_done:
                continue  # between pages: only whitespace and </mediawiki> live here
            if self._parts is not None:
                self._parts.append(line)
                self._size += len(line.encode("utf-8"))
                if self._size > self.max_page_bytes:
                    if not self._header_done:
                        yield "error", 1, f"no <page> line in the first max_page_bytes ({self.max_page_bytes})"
                        return
                    self._parts = None
            if self.page_line is not None and stripped.endswith("</page>"):
                yield self._close_page()
        yield from self._finish()

    def _open_page(self) -> Iterator[tuple[str, int, str]]:
        if not self._header_done:
            self._header_done = True
            yield "header", 0, "".join(self._parts or [])
        elif self.page_line is not None:
            yield "error", self.page_line, "<page> has no </page> before the next <page>"
        self.page_line, self._parts, self._size = self.line_no, [], 0

    def _close_page(self) -> tuple[str, int, str]:
        line, parts = self.page_line, self._parts
        assert line is not None
        self.page_line, self._parts, self._size = None, [], 0
        if parts is None:
            return "error", line, f"page larger than wikipedia.max_page_bytes ({self.max_page_bytes})"
        return "page", line, "".join(parts)

    def _finish(self) -> Iterator[tuple[str, int, str]]:
        if not self._header_done:
            header = "".join(self._parts or [])
            yield "header", 0, header
            if "<page" in header:
                yield "error", 1, ("no line starts with <page>: pages must be on lines of their own, "
                                   "as in Wikimedia dumps")
        elif self.page_line is not None:
            yield "error", self.page_line, "file ends inside this page (truncated dump)"


def _site_from_header(header: str, rel: str) -> _Site:
    """dbname, language and namespace names from <siteinfo>; the file name where it is missing."""
    info = _siteinfo(header)
    dbname = base = None
    namespaces = dict(_CANONICAL_NAMESPACES)
    own: dict[int, list[str]] = {6: [], 14: []}
    if info is not None:
        dbname = (info.findtext("dbname") or "").strip() or None
        base = (info.findtext("base") or "").strip() or None
        for ns in info.iter("namespace"):
            name, key = (ns.text or "").strip(), (ns.get("key") or "").strip()
            if name and key.lstrip("-").isdigit():
                namespaces[_normalize_name(name)] = int(key)
                if int(key) in own:
                    own[int(key)].append(name)
    lang = _lang_from_dbname(dbname) or _lang_from_file(rel) or _lang_from_base(base)
    aliases = {"file": sorted(own[6]), "category": sorted(own[14])}
    return _Site(dbname=dbname, lang=lang, namespaces=namespaces, ns_aliases=aliases)


def _siteinfo(header: str) -> ET.Element | None:
    found = re.search(r"<siteinfo\b.*?</siteinfo>", header, re.DOTALL)
    if not found:
        return None
    try:
        return _strip_namespaces(ET.fromstring(found.group(0)))
    except ET.ParseError:
        return None  # pages still parse; names fall back to the canonical ones and the file name


def _lang_from_dbname(dbname: str | None) -> str | None:
    if dbname and dbname.endswith("wiki") and len(dbname) > 4:
        return dbname[: -len("wiki")].replace("_", "-")  # "zh_yuewiki" is zh-yue.wikipedia.org
    return None


def _lang_from_file(rel: str) -> str | None:
    found = _FILE_NAME_LANG.match(posixpath.basename(rel.replace("\\", "/")))
    return found.group(1).replace("_", "-") if found else None


def _lang_from_base(base: str | None) -> str | None:
    host = urlsplit(base).hostname if base else None
    return host.split(".")[0] if host and host.endswith(".wikipedia.org") else None


def _normalize_name(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


def _strip_namespaces(root: ET.Element) -> ET.Element:
    # Schema versions differ only in their xmlns; matching on local names reads them all alike.
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def _page_to_document(chunk: str, line: int, site: _Site, rel: str) -> Document | Dropped:
    try:
        fields = _page_fields(_strip_namespaces(ET.fromstring(chunk)), site)
    except ET.ParseError as err:
        return _read_drop(site, rel, line, f"malformed page XML: {err}", _title_hint(chunk))
    except ValueError as err:
        return _read_drop(site, rel, line, str(err), _title_hint(chunk))
    meta = {**fields["meta"], "dbname": site.key, "file": rel, "ns_aliases": site.ns_aliases}
    return Document(
        id=f"{site.key or rel}/{meta['page_id']}",
        source=SOURCE,
        text=fields["text"],
        url=site.url(meta["title"]),
        created=fields["created"],
        lang=site.lang,
        lang_score=None,
        metadata=dump_meta(meta),
    )


def _page_fields(page: ET.Element, site: _Site) -> dict[str, Any]:
    """Title, ids, namespace, redirect flag and latest revision of one <page>; ValueError if unusable."""
    title = (page.findtext("title") or "").strip()
    page_id = (page.findtext("id") or "").strip()
    if not title or not page_id.isdigit():
        raise ValueError(f"page without a title or a numeric <id> (title {title!r}, id {page_id!r})")
    # pages-articles dumps hold one revision; history exports list them oldest first.
    revisions = page.findall("revision")
    latest = revisions[-1] if revisions else None
    text = (latest.findtext("text") if latest is not None else None) or ""
    revision_id = (latest.findtext("id") or "").strip() if latest is not None else ""
    ns_text = (page.findtext("ns") or "").strip()
    ns = int(ns_text) if ns_text.lstrip("-").isdigit() else site.namespace_of(title)
    meta = {
        "title": title,
        "page_id": int(page_id),
        "revision_id": int(revision_id) if revision_id.isdigit() else None,
        "ns": ns,
        "redirect": page.find("redirect") is not None or bool(_REDIRECT.match(text)),
    }
    created = _iso_utc(latest.findtext("timestamp") if latest is not None else None)
    return {"meta": meta, "text": text, "created": created}


def _iso_utc(stamp: str | None) -> str | None:
    if not stamp or not stamp.strip():
        return None
    try:
        moment = datetime.datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None  # an unreadable timestamp is an unknown date, not a broken page
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)  # dumps write UTC
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _title_hint(chunk: str) -> str | None:
    found = re.search(r"<title>([^<]{1,512})</title>", chunk)
    return found.group(1) if found else None


def _read_drop(site: _Site, rel: str, line: int, detail: str, title: str | None = None) -> Dropped:
    meta = {"file": rel, "line": line, "dbname": site.key, "title": title}
    doc = Document(id=f"{rel}#page-at-line-{line}", source=SOURCE, text="", lang=site.lang,
                   metadata=dump_meta(meta))
    return Dropped(doc, DropReason.PARSE_ERROR, stage="read", detail=detail)


def plan(cfg: Any, models: Any) -> SourcePlan:
    return SourcePlan(clean=Recipe(with_config, clean_wikipedia, cfg.wikipedia))


# A pages-articles dump (.xml, .xml.bz2, multistream .bz2); its multistream index is not a dump.
SPEC = SourceSpec(SOURCE, WikipediaConfig, (".xml", ".xml.bz2", ".bz2"), parse_wikipedia_file, plan, stages=("clean",))
