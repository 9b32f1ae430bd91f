"""What every bad-input writer shares: the Case record, planted good texts, deterministic archives.

A Case is one bad input (a file, a repository, a site) and what the corpus job must make of it: the
good documents planted around the damage (found in the kept shards by their marker word) and the
reasons of the records it drops (found in dropped/ by their metadata "file", or "site").
"""
from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import os
import random
import struct
import tarfile
import zlib
from pathlib import Path

MTIME = 1704067200  # 2024-01-01T00:00:00Z: fixed, so archives are byte-identical on every run
MIB = 1 << 20

# Plain, common English words: planted texts read as English to lid.176 and pass C4's heuristics.
WORDS = ["after", "again", "air", "also", "always", "animal", "answer", "apple", "around", "autumn", "back", "ball",
         "basket", "beach", "before", "begin", "bird", "black", "blue", "boat", "book", "bottle", "bread", "bridge",
         "bright", "brother", "brown", "build", "busy", "cake", "call", "came", "candle", "careful", "carry", "castle",
         "catch", "chair", "change", "child", "city", "class", "clean", "clear", "close", "cloud", "coast", "cold",
         "color", "corner", "country", "course", "cover", "cross", "dance", "dark", "daughter", "deep", "desk",
         "dinner", "doctor", "door", "down", "dream", "drink", "drive", "early", "earth", "east", "easy", "edge",
         "engine", "evening", "every", "face", "family", "farm", "fast", "father", "field", "finger", "finish", "fire",
         "fish", "floor", "flower", "follow", "forest", "fresh", "friend", "front", "fruit", "garden", "gate", "gentle",
         "glass", "gold", "grass", "great", "green", "ground", "group", "happy", "harbor", "heavy", "hill", "holiday",
         "horse", "house", "hunter", "island", "journey", "kitchen", "ladder", "lake", "large", "later", "leaf",
         "letter", "light", "little", "market", "meadow", "middle", "minute", "morning", "mother", "mountain", "music",
         "narrow", "near", "night", "north", "ocean", "orange", "paper", "parent", "party", "pencil", "people",
         "picture", "piece", "plant", "pocket", "quiet", "rabbit", "rain", "river", "road", "rock", "room", "round",
         "sail", "school", "season", "shadow", "sheep", "shore", "silver", "simple", "sister", "small", "snow", "soft",
         "south", "spring", "square", "station", "stone", "storm", "street", "strong", "summer", "sunny", "table",
         "teacher", "thread", "tiny", "together", "tower", "town", "train", "travel", "tree", "valley", "village",
         "voice", "wagon", "walk", "warm", "water", "weather", "west", "wheel", "white", "window", "winter", "wood",
         "yellow", "young"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input and the outcome the job owes it.

    `key` is what the records of this input carry in their metadata "file" (the path under the
    source folder, as the job spells it) or, for StackExchange, "site". `kept` lists the markers
    of the good documents that must reach the kept shards; `drops` the reason of every record of
    this input that must be in dropped/, one entry per record.
    """

    source: str
    name: str
    key: str
    kept: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()
    big: bool = False  # generated only on request (the 50 MB line, decompression bombs)


class Markers:
    """Unique marker words, `keep<tag><n>`: one per planted good document."""

    def __init__(self, tag: str) -> None:
        self._tag, self._n = tag, 0

    def __call__(self) -> str:
        self._n += 1
        return f"keep{self._tag}{self._n:03d}"


def sentences(seed: str, count: int, marker: str = "") -> list[str]:
    """`count` distinct English-looking sentences (8 to 14 words, ending in a period)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 14))]
        if i == 0 and marker:
            words.insert(rng.randint(1, len(words) - 1), marker)
        out.append(" ".join(words).capitalize() + ".")
    return out


def good_text(marker: str, count: int = 6, sep: str = "\n") -> str:
    return sep.join(sentences(marker, count, marker))


def escaped(name: bytes) -> str:
    """How the job spells a file name that is not valid UTF-8: undecodable bytes as `\\xNN`."""
    return name.decode("utf-8", "backslashreplace")


def write(folder: Path, name: str | bytes, data: bytes) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else name.encode())))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class Cases(list):
    """One source's cases: `add` writes a damaged (or good) file under the source folder and
    records what the job owes it; the list is what `build` returns."""

    def __init__(self, source: str, folder: Path) -> None:
        super().__init__()
        self.source, self.folder = source, folder

    def add(self, name: str, rel: str | bytes, data: bytes | None, kept: list[str], drops: list[str],
            is_big: bool = False, key: str | bytes | None = None) -> None:
        """Write `data` (None: the case's file was written another way) and record the case under
        `key` (default: the file's name), escaped when it is not valid UTF-8."""
        if data is not None:
            write(self.folder, rel, data)
        key = rel if key is None else key
        self.append(Case(self.source, name, escaped(key) if isinstance(key, bytes) else key, tuple(kept), tuple(drops),
                         is_big))


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def noise(seed: str, size: int) -> bytes:
    """Incompressible bytes: a cut inside them is a cut inside the stream, wherever zlib puts blocks."""
    return random.Random(seed).randbytes(size)


def text_noise(seed: str, size: int) -> str:
    """Incompressible printable text (base64-like), for filler that must stay valid text."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(size))


def corrupt_gzip_member(data: bytes) -> bytes:
    """A gzip member whose deflate data starts with a reserved block type: zlib fails at once,
    before it hands out a single byte, so what the damage costs does not depend on zlib's buffering."""
    member = gz(data)
    return member[:10] + b"\xff\xff\xff\xff" + member[14:]


def corrupt_bz2_stream(data: bytes) -> bytes:
    """A bzip2 stream whose first block magic is wrong: the decompressor fails before any output."""
    stream = bz2.compress(data, 9)
    return stream[:4] + b"\x00" * 6 + stream[10:]


def bz2_zeros(num_bytes: int, unit: int = 64 * MIB) -> bytes:
    """`num_bytes` (a multiple of `unit`) of zeros as concatenated bzip2 streams: ~80 bytes per 64 MiB."""
    assert num_bytes % unit == 0
    return bz2.compress(b"\0" * unit, 9) * (num_bytes // unit)


def gzip_repeat(chunk: bytes, times: int) -> bytes:
    """`chunk` repeated `times` times as concatenated gzip members (one compression, many copies)."""
    return gz(chunk) * times


def gzip_bomb(chunk: bytes, times: int) -> bytes:
    """ONE gzip member holding `chunk` repeated `times` times, made in milliseconds: after a full
    flush deflate forgets what came before, so every copy of `chunk` compresses to the same bytes."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    again = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    assert first.endswith(b"\x00\x00\xff\xff") and again == first, "a full flush must reset deflate"
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    trailer = struct.pack("<II", crc, (len(chunk) * times) & 0xFFFFFFFF)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + first * times + co.flush(zlib.Z_FINISH) + trailer


# --- tar archives -----------------------------------------------------------------------------------
def tar_info(name: str | bytes, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(os.fsdecode(name) if isinstance(name, bytes) else name)
    info.size, info.type, info.linkname = size, kind, link
    info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = MTIME, 0o644, 0, 0, "", ""
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar of (header, data) pairs in the given order; names are written as given
    (absolute paths and `..` included: tarfile only refuses them when extracting)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def tar_entries(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """Tar headers and data without the end-of-archive blocks: a tar cut short, or one to continue."""
    out = []
    for info, data in members:
        out.append(info.tobuf(fmt, "utf-8", "surrogateescape") + data + b"\0" * (-len(data) % tarfile.BLOCKSIZE))
    return b"".join(out)


def tar_files(files: dict[str | bytes, bytes], top: str = "") -> bytes:
    """A tar of regular files, under `top/` when given."""
    prefix = (top + "/") if top else ""
    members = []
    for name, data in files.items():
        full = (prefix.encode() + name) if isinstance(name, bytes) else prefix + name
        members.append((tar_info(full, len(data)), data))
    return tar_bytes(members)
