"""Reading Project Gutenberg books: one plain-text file (`.txt`, `.txt.gz`, `.txt.bz2`) per book.

LLaMA (Touvron et al. 2023, section 2, "Books"): "the Gutenberg Project, which contains books
that are in the public domain" (Books3 is not read here). `parse_books_file` is pure: it reads the
bytes (capped), decodes them, normalizes line ends and strips the Gutenberg boilerplate with
filters.gutenberg.strip_gutenberg; `ReadBooks` is the thin Beam composite. The book-level dedup
("we remove books with more than 90% content overlap") runs after it, in dedup/ (`books` step).

Decoding order, first that applies wins:

1. a byte-order mark: UTF-8 (utf-8-sig) or UTF-16. A BOM is the writer's explicit word, so a
   stray bad byte after it becomes U+FFFD instead of costing the whole book;
2. strict UTF-8 ("ascii" in the metadata when every byte is < 0x80): Latin-1 text with accents
   almost never forms valid UTF-8;
3. the header's declared "Character set encoding:" (ISO-8859-1, ISO Latin-1, ASCII, UTF-8, ...),
   if the bytes decode strictly with it: older files are not UTF-8, and the declaration is more
   reliable than a guess;
4. Windows-1252 if the text has bytes 0x80-0x9F, else Latin-1. Latin-1 puts only invisible C1
   controls there, so such bytes are cp1252 curly quotes and dashes (the WHATWG Encoding Standard
   decodes the "iso-8859-1" label as windows-1252 for this reason); Latin-1 maps every byte, so it
   is the last resort that never fails. A declared Latin-1 goes the same way.
"""
from __future__ import annotations

import codecs
import dataclasses
import re
import zlib
from collections.abc import Iterator
from typing import Any

from filters.gutenberg import strip_gutenberg
from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import open_decompressed, open_raw
from pipeline.core.stages import SourcePlan, SourceSpec
from pipeline.sources.multistream import Bz2Streams


@dataclasses.dataclass(frozen=True)
class BooksConfig:
    """LLaMA section 2: Project Gutenberg books, boilerplate removed (the book dedup is in dedup/)."""

    min_chars: int = 1
    max_book_bytes: int = 100_000_000


SOURCE = "books"
STAGE = "read"

_HEADER_BYTES = 64 * 1024  # the declaration sits in the header; 1990s headers run ~20 KB
_CHARSET_RE = re.compile(rb"Character set encoding:[ \t]*([^\r\n]*)", re.IGNORECASE)
_C1_RE = re.compile(rb"[\x80-\x9f]")
_LATIN1_RE = re.compile(r"latin-?1\b|8859-1\b", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# Gutenberg's header names a language in English; the Document's lang is ISO 639-1.
LANGUAGE_CODES = {
    "english": "en", "spanish": "es", "french": "fr", "dutch": "nl", "latin": "la", "german": "de",
    "italian": "it", "portuguese": "pt", "finnish": "fi", "swedish": "sv", "danish": "da",
    "norwegian": "no", "polish": "pl", "russian": "ru", "greek": "el", "hungarian": "hu",
    "czech": "cs", "catalan": "ca", "esperanto": "eo", "chinese": "zh", "japanese": "ja",
    "tagalog": "tl", "welsh": "cy", "icelandic": "is", "galician": "gl", "romanian": "ro",
    "bulgarian": "bg", "ukrainian": "uk", "serbian": "sr", "croatian": "hr", "slovenian": "sl",
    "irish": "ga", "hebrew": "he", "arabic": "ar", "korean": "ko", "afrikaans": "af",
}


def declared_codec(data: bytes) -> str | None:
    """The Python codec for the header's "Character set encoding:" line, or None.

    A Latin-1 declaration gives "latin-1" (decode_book then picks cp1252 where C1 bytes say so);
    "ISO-646-US (US-ASCII)" gives "ascii"; an unknown name gives None.
    """
    m = _CHARSET_RE.search(data[:_HEADER_BYTES])
    if not m:
        return None
    label = m.group(1).decode("ascii", errors="replace").strip()
    low = label.lower()
    if "utf-8" in low or "utf8" in low:
        return "utf-8"
    if "ascii" in low or "646" in low:
        return "ascii"
    if _LATIN1_RE.search(label):
        return "latin-1"
    try:
        return codecs.lookup(label.split()[0]).name if label else None
    except LookupError:
        return None


def _strict(data: bytes, codec: str) -> str | None:
    """`data` decoded with `codec`, or None where a byte does not fit it."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _decode_8bit(data: bytes) -> tuple[str, str]:
    text = _strict(data, "cp1252") if _C1_RE.search(data) else None
    if text is not None:
        return text, "cp1252"
    # No C1 bytes (cp1252 and Latin-1 agree), or one of cp1252's five undefined bytes.
    return data.decode("latin-1"), "latin-1"


def decode_book(data: bytes) -> tuple[str, str]:
    """(text, codec used) in the order the module docstring gives; line ends untouched."""
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    text = _strict(data, "utf-8")
    if text is not None:
        return text, "ascii" if data.isascii() else "utf-8"
    declared = declared_codec(data)
    # A declared UTF-8 or ASCII just failed (the declaration is wrong); Latin-1 goes the 8-bit way.
    if declared not in (None, "utf-8", "ascii", "latin-1"):
        text = _strict(data, declared)
        if text is not None:
            return text, declared
    return _decode_8bit(data)


def normalize_newlines(text: str) -> str:
    """CRLF (Gutenberg's own line end) and lone CR (old Mac files) to LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def language_code(name: str | None) -> str | None:
    """ISO 639-1 for a header language name ("Spanish" -> "es"); None if unknown or several."""
    if not name:
        return None
    return LANGUAGE_CODES.get(name.strip().lower())


def _dropped(rel: str, reason: DropReason, detail: str, meta: dict[str, Any] | None = None) -> Dropped:
    doc = Document(id=rel, source=SOURCE, text="", metadata=dump_meta({"file": rel, **(meta or {})}))
    return Dropped(doc, reason, stage=STAGE, detail=detail)


def _read_capped(path: str, cap: int) -> bytes:
    """Up to cap + 1 bytes of the (decompressed) file: one more than the cap tells it is larger,
    without reading a decompression bomb to its end. A .bz2 goes through Bz2Streams, which says
    when a stream after the first is corrupt (BZ2File would end the book there without a word)."""
    if not path.lower().endswith(".bz2"):
        with open_decompressed(path) as stream:
            return stream.read(cap + 1)
    with open_raw(path) as raw:
        stream = Bz2Streams(raw)
        parts, size = [], 0
        while size <= cap and (part := stream.read(cap + 1 - size)):
            if stream.damage:
                raise OSError(stream.damage[0])
            parts.append(part)
            size += len(part)
        return b"".join(parts)


def looks_binary(text: str) -> bool:
    """NUL or more than 1% control characters (C0 but tab, line ends and form feed; DEL; C1): an
    image, an archive or a compressed file under a .txt name, not a book in any encoding."""
    return "\x00" in text or len(_CONTROL_RE.findall(text)) > len(text) // 100


def book_document(text: str, rel: str, encoding: str) -> Document:
    """A decoded, LF-normalized book -> its Document (the body may be empty; the caller checks)."""
    body, info = strip_gutenberg(text)
    ebook = info["ebook"]
    meta = {"file": rel, "title": info["title"], "author": info["author"], "language": info["language"],
            "release_date": info["release_date"], "ebook": ebook, "encoding": encoding,
            "had_header": info["had_header"], "had_footer": info["had_footer"]}
    return Document(
        id=rel,
        source=SOURCE,
        text=body,
        url=f"https://www.gutenberg.org/ebooks/{ebook}" if ebook is not None else None,
        lang=language_code(info["language"]),
        metadata=dump_meta(meta),
    )


def parse_books_file(path: str, rel: str, cfg: BooksConfig) -> Iterator[Document | Dropped]:
    """One book file -> one Document with id `rel`, or one Dropped.

    TOO_LARGE over cfg.max_book_bytes (decompressed); PARSE_ERROR for a broken .gz/.bz2 stream
    (a truncated book is damaged, not shorter); BINARY for content that is no text in any
    encoding (`looks_binary`); EMPTY when fewer than cfg.min_chars non-blank characters remain
    after the boilerplate is stripped.
    """
    try:
        data = _read_capped(path, cfg.max_book_bytes)
    except (EOFError, OSError, zlib.error) as e:
        yield _dropped(rel, DropReason.PARSE_ERROR, f"stream broken: {type(e).__name__}: {e}")
        return
    if len(data) > cfg.max_book_bytes:
        yield _dropped(rel, DropReason.TOO_LARGE, f"more than books.max_book_bytes={cfg.max_book_bytes}")
        return
    text, encoding = decode_book(data)
    if looks_binary(text):
        yield _dropped(rel, DropReason.BINARY, f"binary content (decoded as {encoding}), not text")
        return
    doc = book_document(normalize_newlines(text), rel, encoding)
    if len(doc.text.strip()) < max(cfg.min_chars, 1):
        yield Dropped(doc, DropReason.EMPTY, stage=STAGE, detail="no text after the Gutenberg boilerplate")
        return
    yield doc


def plan(cfg: Any, models: Any) -> SourcePlan:
    # Gutenberg boilerplate is stripped while reading, as the encoding is decided.
    return SourcePlan()


# LLaMA's book dedup (more than 90% content overlap) instead of exact dedup.
SPEC = SourceSpec(SOURCE, BooksConfig, (".txt", ".txt.gz", ".txt.bz2"), parse_books_file, plan, dedup=("books",))
