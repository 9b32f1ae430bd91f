"""Concatenated gzip members and bzip2 streams, read in bounded pieces, resuming after damage.

Common Crawl writes one gzip member per WARC record (WARC 1.1 annex D), JSON Lines files are often
concatenations of gzip files, and Wikimedia's multistream dumps are bzip2 streams of 100 pages each.
A member or stream that is corrupt or cut short is damage; reading then goes on at the next gzip
header or bzip2 stream header, so one bad member costs its own records only. A single-stream file
(most .json.gz, a plain .xml.bz2) has no next header: what follows damage in it cannot be recovered.

Python's own BZ2File takes a corrupt stream after the first for trailing garbage and ends the file
there without a word; `Bz2Streams` says so (its `damage`) and goes on.
"""
from __future__ import annotations

import bz2
import collections
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

READ_SIZE = 1 << 16
GZIP_MAGIC = b"\x1f\x8b\x08"
# A bzip2 stream's header and its first block's magic (the digits of pi): byte-aligned only where a
# stream begins, so the next stream of a multistream file is found after damage.
BZ2_STREAM_START = re.compile(rb"BZh[1-9]1AY&SY")
BZ2_WINDOW = 4 << 20  # compressed bytes kept to look back for a stream start: over 4 bzip2 blocks


class Damaged(Exception):
    """The bytes under a record broke: a gzip member corrupt or cut short."""


class GzipMembers:
    """Concatenated gzip members inflated one at a time, with a fresh start after a damaged one.

    `inflate()` raises Damaged for a corrupt member (bad deflate data or CRC, not gzip at all) or one
    cut off by the end of the file. After corruption the next member begins at the next gzip header
    after the damaged member's first byte (the last `window` compressed bytes are kept to find it).
    """

    def __init__(self, raw: BinaryIO, window: int) -> None:
        self._raw, self._window = raw, window
        self._data = b""  # compressed bytes not yet inflated
        self._offset = 0  # file offset of _data[0]

    def next_member(self) -> int | None:
        """The file offset of the next member, or None at the end of the file."""
        if not self._data:
            self._data = self._raw.read(READ_SIZE)
        return self._offset if self._data else None

    def inflate(self) -> Iterator[bytes]:
        start, d = self._offset, zlib.decompressobj(wbits=31)
        kept: collections.deque[bytes] = collections.deque()  # the last `window` compressed bytes
        kept_size, fed, data, self._data = 0, 0, self._data, b""
        try:
            while True:
                kept.append(data)
                kept_size, fed = kept_size + len(data), fed + len(data)
                while kept_size - len(kept[0]) >= self._window:
                    kept_size -= len(kept.popleft())
                yield from inflate_chunk(d, data)
                if d.eof:
                    self._data, self._offset = d.unused_data, start + fed - len(d.unused_data)
                    return
                if not (data := self._raw.read(READ_SIZE)):
                    raise Damaged(f"gzip member at byte {start} cut short by the end of the file")
        except zlib.error as e:
            self._resync(b"".join(kept), start + fed - kept_size, start)
            raise Damaged(f"corrupt gzip member at byte {start}: {e}") from None

    def _resync(self, fed: bytes, fed_offset: int, start: int) -> None:
        skip = 1 if fed_offset == start else 0  # never the damaged member's own header again
        data, offset = fed[skip:], fed_offset + skip
        while (i := data.find(GZIP_MAGIC)) < 0:
            keep = data[-(len(GZIP_MAGIC) - 1):]  # a header split across two reads
            offset += len(data) - len(keep)
            if not (chunk := self._raw.read(READ_SIZE)):
                self._data, self._offset = b"", offset + len(keep)
                return
            data = keep + chunk
        self._data, self._offset = data[i:], offset + i


def inflate_chunk(d, data: bytes) -> Iterator[bytes]:
    """Inflate `data` in bounded pieces, so a small member cannot expand into memory all at once."""
    out = d.decompress(data, READ_SIZE)
    while True:
        if out:
            yield out
        if d.eof or (not d.unconsumed_tail and len(out) < READ_SIZE):
            return
        out = d.decompress(d.unconsumed_tail, READ_SIZE)


def decompressed_chunks(raw: BinaryIO, window: int) -> Iterator[bytes | Damaged]:
    """The file's decompressed bytes in pieces of at most READ_SIZE, member after member; a
    damaged member is one Damaged item in the stream, and the bytes go on after it."""
    members = GzipMembers(raw, window)
    while members.next_member() is not None:
        try:
            yield from members.inflate()
        except Damaged as e:
            yield e


class Bz2Streams:
    """A read-only binary stream over concatenated bzip2 streams, resuming after a corrupt one.

    `read(n)` / `read1(n)` give at most n decompressed bytes (READ_SIZE when n < 0, so a read never
    inflates without bound). A corrupt stream is appended to `damage` (what, where) and reads go on
    at the next stream header after its start, with one b"\\n" first, so the line the damage cut
    is ended. A file cut off inside a stream raises EOFError, as BZ2File does.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decompressor: bz2.BZ2Decompressor | None = None
        self._data = b""  # compressed bytes not yet fed
        self._offset = 0  # file offset of _data[0]
        self._start = 0  # file offset of the current stream
        self._fed: collections.deque[tuple[int, bytes]] = collections.deque()  # (offset, bytes) fed lately
        self._fed_size = 0
        self.damage: list[str] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.read1(size)

    def read1(self, size: int = -1) -> bytes:
        size = READ_SIZE if size is None or size < 0 else size
        while True:
            if self._decompressor is None and not self._begin_stream():
                return b""
            d = self._decompressor
            data = b""
            if d.needs_input:
                data = self._take()
                if not data:
                    raise EOFError(f"bzip2 stream at byte {self._start} cut short by the end of the file")
            try:
                out = d.decompress(data, size)
            except (OSError, ValueError) as e:
                self.damage.append(f"corrupt bzip2 stream at byte {self._start}: {e}")
                self._resync()
                return b"\n"
            if d.eof:
                self._data, self._offset = d.unused_data + self._data, self._offset - len(d.unused_data)
                self._decompressor = None
            if out:
                return out

    def _begin_stream(self) -> bool:
        if not self._data:
            self._data = self._raw.read(READ_SIZE)
        if not self._data:
            return False
        self._decompressor, self._start = bz2.BZ2Decompressor(), self._offset
        self._fed.clear()
        self._fed_size = 0
        return True

    def _take(self) -> bytes:
        """The next compressed bytes to feed, remembered for a resync."""
        data = self._data or self._raw.read(READ_SIZE)
        self._fed.append((self._offset, data))
        self._fed_size += len(data)
        while self._fed_size - len(self._fed[0][1]) >= BZ2_WINDOW:
            self._fed_size -= len(self._fed.popleft()[1])
        self._data, self._offset = b"", self._offset + len(data)
        return data

    def _resync(self) -> None:
        """Continue at the next stream start after the damaged stream's first byte."""
        base = self._fed[0][0] if self._fed else self._offset
        data = b"".join(part for _, part in self._fed) + self._data
        skip = self._start + 1 - base if base <= self._start else 0
        self._decompressor = None
        while True:
            found = BZ2_STREAM_START.search(data, max(skip, 0))
            if found:
                self._data, self._offset = data[found.start():], base + found.start()
                return
            keep = data[-9:]  # a stream start split across two reads
            base += len(data) - len(keep)
            skip = 0
            chunk = self._raw.read(READ_SIZE)
            if not chunk:
                self._data, self._offset = b"", base + len(keep)
                return
            data = keep + chunk
