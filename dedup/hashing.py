"""Pure hashing for deduplication: exact documents, CCNet lines, C4 sentence spans, book overlap.

No Beam here: the composites in dedup/ shuffle on these hashes (GroupByKey / CombinePerKey), so
every hash must be the same on every worker, process and machine. Python's `hash()` is salted per
process, so everything below uses xxHash (XXH3), whose output is fixed by its specification.

Text is encoded as UTF-8 with "surrogatepass": a lone surrogate left by a broken parser hashes
(to its own bytes) instead of raising and killing a bundle.
"""
from __future__ import annotations

import numpy as np
import xxhash

from dedup.minhash_core import word_shingles
from pipeline.core.text import normalize_for_dedup, normalize_line, sentence_offsets

NORMALIZATION_MODES = ("none", "whitespace", "lower", "ccnet")

def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def normalize_for_exact(text: str, mode: str) -> str:
    """The text that exact (document-level) dedup hashes, under one of NORMALIZATION_MODES.

    "none": the text as is (GitHub's exact file dedup, LLaMA section 2). "whitespace": stripped,
    every run of whitespace collapsed to one space. "lower": "whitespace", then lower case.
    "ccnet": each "\\n"-separated line through normalize_line, joined by "\\n".
    """
    if mode == "none":
        return text
    if mode == "whitespace":
        return " ".join(text.split())
    if mode == "lower":
        return " ".join(text.split()).lower()
    if mode == "ccnet":
        return "\n".join(normalize_line(line) for line in text.split("\n"))
    raise ValueError(f"unknown normalization mode {mode!r}; use one of {', '.join(NORMALIZATION_MODES)}")


def content_hash(text: str) -> str:
    """Hex digest (32 characters) of the 128-bit XXH3 of the UTF-8 text.

    128 bits keep accidental collisions out of reach at any corpus size; with 64 bits a few
    billion documents would already make one likely (birthday bound: n**2 / 2**65 expected).
    """
    return xxhash.xxh3_128_hexdigest(_utf8(text))


def line_hash(line: str) -> int:
    """64-bit unsigned XXH3 of the UTF-8 of normalize_for_dedup(line), as CCNet keys lines by 64 bits
    (cc_net/dedup.py keeps the first 8 bytes of a SHA-1; XXH3 is ~10x faster and as stable).

    A collision (expected once ~4 billion distinct lines are seen) drops one line wrongly: the
    rate CCNet accepts. Blank lines all hash to xxh3_64(b""): callers decide whether blank lines
    take part in dedup.
    """
    return xxhash.xxh3_64_intdigest(_utf8(normalize_for_dedup(line)))


def sentence_spans(text: str, span: int = 3) -> list[tuple[int, int, int]]:
    """(hash, start_char, end_char) for every window of `span` consecutive sentences, for C4's
    rule (Raffel et al. 2020, section 2.2): "we discarded all but one of any three-sentence span
    occurring more than once in the data set".

    What this implements: the paper's rule as stated. Windows slide by one sentence (sentences
    1-3, 2-4, 3-5, ...), so a repeated passage is caught wherever it starts; non-overlapping
    windows would miss a copy shifted by one sentence. The hash is the 64-bit XXH3 of the span's
    sentences, each lower-cased with whitespace collapsed, joined by one space (so a line break
    or a space between the same sentences hashes alike). `text[start:end]` is the span. A text
    with fewer than `span` sentences has no span: [] (C4 drops such pages anyway).

    Why not the reference code: tfds c4_utils.remove_duplicate_text (the code that built C4)
    dedups whole lines instead: it hashes `line.strip().lower()`, keeps each line in one page
    only, then drops pages left with fewer than 3 sentences. C4 lines are mostly one or two
    sentences, so the two rules overlap; line_hash-style line dedup is the reference behaviour.
    """
    if span < 1:
        raise ValueError(f"span must be a positive number of sentences, got {span}")
    offsets = sentence_offsets(text)
    normalized = [" ".join(text[lo:hi].lower().split()) for lo, hi in offsets]
    spans = []
    for i in range(len(offsets) - span + 1):
        key = " ".join(normalized[i:i + span])
        spans.append((xxhash.xxh3_64_intdigest(_utf8(key)), offsets[i][0], offsets[i + span - 1][1]))
    return spans


def book_shingles(text: str, n: int = 5) -> set[int]:
    """The set book_overlap compares: 64-bit XXH3 of each word n-gram of minhash_core.word_shingles
    (lower-cased, whitespace-split words), so the book rule and MinHash see the same shingles."""
    return {xxhash.xxh3_64_intdigest(s) for s in word_shingles(text, n)}


def _unique_array(shingles: set[int] | np.ndarray) -> np.ndarray:
    if isinstance(shingles, np.ndarray):
        return shingles  # the sorted, unique hashes the near-dup sidecars store
    return np.fromiter(shingles, dtype=np.uint64, count=len(shingles))


def book_overlap(shingles_a: set[int] | np.ndarray, shingles_b: set[int] | np.ndarray) -> float:
    """Content overlap of two books for LLaMA's rule (Touvron et al. 2023, section 2, Books:
    "we remove books with more than 90% content overlap"): the overlap coefficient

        |A ∩ B| / min(|A|, |B|)

    over the books' word 5-gram shingle hashes (book_shingles). The paper names no measure; the
    overlap coefficient is chosen over Jaccard |A ∩ B| / |A ∪ B| because an abridged edition, or
    one volume of a collected edition, lies inside the longer book: it is fully duplicated
    content (coefficient near 1), while its Jaccard with the long book is small. 0.0 when either
    set is empty (an empty book overlaps nothing). Sets, or arrays of unique hashes (the near-dup
    path's sidecars: dedup/minhash.py verifies book pairs with this function).
    """
    a, b = _unique_array(shingles_a), _unique_array(shingles_b)
    if not a.size or not b.size:
        return 0.0
    num_common = np.intersect1d(a, b, assume_unique=True).size
    return num_common / min(a.size, b.size)
