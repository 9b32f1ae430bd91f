"""Opening inputs through Beam's FileSystems, so the same code reads local disk, GCS or S3."""
from __future__ import annotations

import bz2
import gzip
import io
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems


def open_raw(path: str) -> BinaryIO:
    """The file's bytes exactly as stored (no decompression)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def open_decompressed(path: str) -> BinaryIO:
    """A binary stream of the file's content, decompressed by its suffix (.gz, .bz2) and streamed.

    bz2 and gzip readers both handle concatenated (multistream / multi-member) files, which is how
    Wikipedia's multistream dumps and Common Crawl's per-record gzip are laid out.
    """
    raw = open_raw(path)
    lower = path.lower()
    if lower.endswith(".bz2"):
        return bz2.BZ2File(raw)
    if lower.endswith(".gz") or lower.endswith(".tgz"):
        return gzip.GzipFile(fileobj=raw)
    return io.BufferedReader(raw) if not isinstance(raw, io.BufferedIOBase) else raw


def printable(name: str) -> str:
    """`name` as valid UTF-8: undecodable bytes of a file name (surrogate escapes) as `\\xNN`."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
            return name.encode("utf-8", "backslashreplace").decode("utf-8")
