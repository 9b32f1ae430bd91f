"""MinHash signatures for near-duplicate detection, equal value for value to datasketch 2.0.0,
computed for a whole batch of documents at once with numpy. No Beam imports.

Why equal to datasketch: it is the widely used reference MinHash in Python, so its sketches and
LSH parameters carry over, and the tests can check every value against it.

The pipeline of one batch:
1. shingles: each text's lower-cased, whitespace-split words, as word n-grams (word_shingles);
   the C extension dedup/_sha1.c splits a whole batch in one pass (str.split()'s whitespace);
2. datasketch's sha1_hash32 of each shingle (first 4 bytes of SHA-1, little-endian): in the C
   extension, one call per batch through OpenSSL's SHA-1 (~55 ns a shingle); without the
   extension, a SHA-1 written in numpy over all the batch's shingles at once (bit-exact, ~230 ns),
   with hashlib for small batches and for the rare shingles longer than _MAX_VECTOR_BLOCKS blocks;
3. the permutations, vectorized over shingles and permutations (numpy uint32/uint64 arithmetic
   wraps around exactly as datasketch's does);
4. the minimum per text and permutation (np.minimum.reduceat over each text's shingles).

SHA-1 is the cost floor: in this process it takes ~230 ns a shingle in numpy, ~360-500 ns through
hashlib, so being bit-equal to datasketch caps the speedup over MinHash.bulk at about 2-3x
(benchmarks/minhash_signatures.py measures it). A faster hash would break the equality.

Schemes: datasketch 2.0.0 made "affine32" its default (a * fmix32(h) + b mod 2**32: bijective,
no bias on large sets) and kept the pre-2.0 "legacy" scheme ((a * h + b) mod (2**61 - 1) in
wrapping uint64, masked to 32 bits) for old sketches. MinHasher defaults to "affine32", so
MinHasher(num_perm, seed) equals datasketch.MinHash(num_perm, seed); scheme="legacy" equals
datasketch.MinHash(num_perm, seed, scheme="legacy") and datasketch before 2.0.
"""
from __future__ import annotations

import hashlib
import itertools
import struct

import numpy as np

try:
    from dedup import _sha1 as _native
except ImportError:  # not compiled (a bare source tree): the numpy SHA-1 gives the same values
    _native = None

SCHEMES = ("affine32", "legacy")
MAX_HASH = (1 << 32) - 1  # datasketch's empty-sketch value in both schemes
_MERSENNE_PRIME = (1 << 61) - 1

_SHA1_INIT = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
_SHA1_K = (0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6)
# Shingles up to 4 blocks (247 bytes) go through the numpy SHA-1, the rest through hashlib.
_MAX_VECTOR_BLOCKS = 4
# Messages per numpy SHA-1 pass: big enough that numpy's per-call overhead is amortised, small
# enough that the working arrays stay in cache. Below _SHA1_VECTOR_MIN messages hashlib is faster
# (measured: ~500 ns a message either way at ~3,500 messages; numpy ~230 ns at 32,768).
_SHA1_CHUNK = 32768
_SHA1_VECTOR_MIN = 4096
_SHA1_DIGEST = type(hashlib.sha1()).digest
# Up to this many shingles x permutations, all permutations are applied in one 2-D pass (fast for
# single texts); above it, one permutation at a time over all shingles (measured 2-3x faster).
_PERMUTE_2D_MAX = 1 << 20


def word_shingles(text: str, n: int = 5) -> list[bytes]:
    """Word n-gram shingles, datasketch style, as UTF-8 bytes.

    Tokenization: `text.lower().split()`, i.e. lower case, then split on runs of Unicode
    whitespace (str.split()); punctuation stays attached to its word. Each shingle is n
    consecutive words joined by one space. A text of 1 to n-1 words gives one shingle of all its
    words (so short documents still get a signature); empty or whitespace-only text gives [].
    """
    if n < 1:
        raise ValueError(f"shingle size n must be a positive number of words, got {n}")
    words = text.lower().split()
    if not words:
        return []
    width = min(n, len(words))
    return [" ".join(words[i:i + width]).encode("utf-8", "surrogatepass")
            for i in range(len(words) - width + 1)]


def _words_python(texts: list[str]) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """(" ".join of every text's lower().split() words as UTF-8, word starts, word ends, words per text)."""
    word_lists = [t.lower().split() for t in texts]
    num_words = np.fromiter(map(len, word_lists), dtype=np.int64, count=len(texts))
    buf = " ".join(itertools.chain.from_iterable(word_lists)).encode("utf-8", "surrogatepass")
    # UTF-8 continuation and lead bytes are >= 0x80, and split() removed every space, so each
    # 0x20 byte is a word separator.
    spaces = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 0x20)
    word_starts = np.concatenate(([0], spaces + 1)) if buf else np.zeros(0, np.int64)
    word_ends = np.concatenate((spaces, [len(buf)])) if buf else np.zeros(0, np.int64)
    assert len(word_starts) == num_words.sum(), "word count and buffer disagree"
    return buf, word_starts, word_ends, num_words


def _words(texts: list[str]) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """_words_python in one C pass over the batch (dedup/_sha1.c words(): str.split()'s whitespace)."""
    encoded = [t.lower().encode("utf-8", "surrogatepass") for t in texts]
    raw = b"".join(encoded)
    doc_ends = np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(texts)))
    out = bytearray(len(raw) + len(texts))
    room = len(raw) // 2 + len(texts) + 1  # words need a byte each and a separator between
    starts, ends = np.empty(room, np.int64), np.empty(room, np.int64)
    num_words = np.empty(len(texts), np.int64)
    n = _native.words(raw, doc_ends, out, starts, ends, num_words)
    return bytes(out[: ends[n - 1] if n else 0]), starts[:n], ends[:n], num_words


def _shingle_ranges(texts: list[str], n: int) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """Every shingle of every text as a byte range of one buffer, without building the shingles.

    The words of all texts are joined by single spaces into one UTF-8 buffer; a shingle of
    word_shingles is then exactly the bytes from its first word's start to its last word's end.
    Returns (buffer, shingle starts, shingle lengths, number of shingles per text).
    """
    buf, word_starts, word_ends, num_words = _words(texts) if _native is not None else _words_python(texts)
    width = np.minimum(num_words, n)
    num_shingles = np.where(num_words > 0, num_words - width + 1, 0)
    # Shingle g of the batch starts at word g + (words of earlier texts that start no shingle).
    num_skipped = num_words - num_shingles
    skipped_before = np.cumsum(num_skipped) - num_skipped
    first_word = np.arange(int(num_shingles.sum())) + np.repeat(skipped_before, num_shingles)
    starts = word_starts[first_word]
    lengths = word_ends[first_word + np.repeat(width - 1, num_shingles)] - starts
    return buf, starts, lengths, num_shingles


def _rotl(x: np.ndarray, n: int, out: np.ndarray, tmp: np.ndarray) -> None:
    """out = x rotated left by n bits (uint32); out may be x, tmp must be neither."""
    np.left_shift(x, n, out=tmp)
    np.right_shift(x, 32 - n, out=out)
    np.bitwise_or(out, tmp, out=out)


def _sha1_f(t: int, b: np.ndarray, c: np.ndarray, d: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
    """SHA-1's round function for round t (FIPS 180-4, section 4.1.1) into out."""
    if t < 20:  # Ch(b, c, d) = d ^ (b & (c ^ d))
        np.bitwise_xor(c, d, out=out)
        np.bitwise_and(out, b, out=out)
        np.bitwise_xor(out, d, out=out)
    elif 40 <= t < 60:  # Maj(b, c, d) = (b & c) | (d & (b | c))
        np.bitwise_or(b, c, out=out)
        np.bitwise_and(out, d, out=out)
        np.bitwise_and(b, c, out=tmp)
        np.bitwise_or(out, tmp, out=out)
    else:  # Parity(b, c, d)
        np.bitwise_xor(b, c, out=out)
        np.bitwise_xor(out, d, out=out)


def _sha1_compress(state: list[np.ndarray], w: np.ndarray) -> None:
    """One SHA-1 block for many messages at once: state is 5 arrays of shape (C,), w is the
    block as (16, C) uint32 words (overwritten: the message schedule rolls over 16 words)."""
    a, b, c, d, e = (s.copy() for s in state)
    t1, t2, tmp = (np.empty_like(a) for _ in range(3))
    for t in range(80):
        wt = w[t & 15]
        if t >= 16:
            np.bitwise_xor(wt, w[(t - 3) & 15], out=wt)
            np.bitwise_xor(wt, w[(t - 8) & 15], out=wt)
            np.bitwise_xor(wt, w[(t - 14) & 15], out=wt)
            _rotl(wt, 1, wt, tmp)
        _sha1_f(t, b, c, d, t2, tmp)
        _rotl(a, 5, t1, tmp)
        t1 += t2
        t1 += e
        t1 += wt
        t1 += _SHA1_K[t // 20]
        _rotl(b, 30, e, tmp)  # e is consumed: its buffer takes the new c
        a, b, c, d, e, t1 = t1, a, e, c, d, b
    for s, v in zip(state, (a, b, c, d, e), strict=True):
        s += v


def _padding_tables() -> tuple[np.ndarray, np.ndarray]:
    """SHA-1 padding, word by word: (keep, mark)[j, length] for word j of a message of `length`
    bytes. A word holding c = clip(length - 4j, -1, 4) message bytes keeps those bytes and, when
    c < 4, takes the 0x80 end marker right after them; later words are zero."""
    keep = np.array([0, 0, 0xFF000000, 0xFFFF0000, 0xFFFFFF00, 0xFFFFFFFF], dtype=np.uint32)
    mark = np.array([0, 0x80000000, 0x00800000, 0x00008000, 0x00000080, 0], dtype=np.uint32)
    lengths = np.arange(64 * _MAX_VECTOR_BLOCKS)[None, :]
    c = np.clip(lengths - 4 * np.arange(16 * _MAX_VECTOR_BLOCKS)[:, None], -1, 4)
    return keep[c + 1], mark[c + 1]


_PAD_KEEP, _PAD_MARK = _padding_tables()


def _big_endian_words(buf: bytes) -> np.ndarray:
    """w[i] = the 4 bytes buf[i:i + 4] as a big-endian uint32 (zeros past the end), for every i."""
    num_words = len(buf) // 4 + 1
    padded = np.frombuffer(buf + bytes(4 * num_words + 3 - len(buf)), dtype=np.uint8)
    words = np.empty(4 * num_words, dtype=np.uint32)
    for offset in range(4):
        words[offset::4] = padded[offset:offset + 4 * num_words].view(">u4")
    return words


def _sha1_blocks(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray, num_blocks: int) -> np.ndarray:
    """The SHA-1 padded messages buf[start:start + length], num_blocks blocks each, as
    (16 * num_blocks, C) uint32 words; `words` is _big_endian_words(buf)."""
    out = np.empty((16 * num_blocks, len(starts)), dtype=np.uint32)
    index = starts.copy()
    for j in range(16 * num_blocks):
        # "clip": an index past the buffer only occurs where the word is past the message,
        # and _PAD_KEEP zeroes those words anyway.
        np.take(words, index, out=out[j], mode="clip")
        out[j] &= _PAD_KEEP[j].take(lengths)
        out[j] |= _PAD_MARK[j].take(lengths)
        index += 4
    out[-1] += (lengths * 8).astype(np.uint32)  # the bit length; the marker is never this far
    return out


def _sha1_hash32_hashlib(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The same hashes by hashlib, one call per message (in C loops: map, not Python code)."""
    ends = starts + lengths
    messages = map(buf.__getitem__, map(slice, starts.tolist(), ends.tolist()))
    digests = b"".join(map(_SHA1_DIGEST, map(hashlib.sha1, messages)))
    # datasketch's sha1_hash32: the digest's first 4 bytes read as a little-endian uint32.
    return np.frombuffer(digests, dtype="<u4").reshape(-1, 5)[:, 0]


def _sha1_hash32_numpy(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray, num_blocks: int) -> np.ndarray:
    """The same hashes by the numpy SHA-1, for messages of exactly num_blocks blocks."""
    w = _sha1_blocks(words, starts, lengths, num_blocks)
    state = [np.full(len(starts), h, dtype=np.uint32) for h in _SHA1_INIT]
    for j in range(num_blocks):
        _sha1_compress(state, w[16 * j:16 * (j + 1)])
    # The digest's first 4 bytes are h0 big-endian; datasketch reads them little-endian.
    return state[0].byteswap()


def _sha1_hash32(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """datasketch.hashfunc.sha1_hash32 of buf[start:start + length] for each range, as uint32.

    The C extension (dedup/_sha1.c, built by `pip install`) does the whole batch in one call;
    without it, the numpy and hashlib paths below give the same values, slower.
    """
    if _native is not None:
        out = np.empty(len(starts), dtype=np.uint32)
        _native.hash32_ranges(buf, np.ascontiguousarray(starts, np.int64), np.ascontiguousarray(lengths, np.int64), out)
        return out
    return _sha1_hash32_python(buf, starts, lengths)


def _sha1_hash32_python(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The pure-Python route of _sha1_hash32.

    Messages of 1 to _MAX_VECTOR_BLOCKS SHA-1 blocks go through the numpy SHA-1 when there are
    enough of them to amortise its ~1,500 numpy calls per pass; the rest through hashlib.
    """
    out = np.empty(len(starts), dtype=np.uint32)
    by_hashlib = np.ones(len(starts), dtype=bool)
    num_blocks = (lengths + 8) // 64 + 1  # message, 0x80, 8 length bytes
    words = None
    for k in range(1, _MAX_VECTOR_BLOCKS + 1):
        group = np.flatnonzero(num_blocks == k)
        if len(group) < _SHA1_VECTOR_MIN:
            continue
        words = _big_endian_words(buf) if words is None else words
        for idx in np.array_split(group, -(-len(group) // _SHA1_CHUNK)):  # equal-sized chunks
            out[idx] = _sha1_hash32_numpy(words, starts[idx], lengths[idx], k)
        by_hashlib[group] = False
    rest = np.flatnonzero(by_hashlib)
    out[rest] = _sha1_hash32_hashlib(buf, starts[rest], lengths[rest])
    return out


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, datasketch's pre-mix for the affine32 scheme."""
    h = h ^ (h >> 16)
    h *= 0x85EBCA6B
    h ^= h >> 13
    h *= 0xC2B2AE35
    return h ^ (h >> 16)


def _permute(hv: np.ndarray, a: np.ndarray | np.integer, b: np.ndarray | np.integer, scheme: str,
             out: np.ndarray | None = None, scratch: np.ndarray | None = None) -> np.ndarray:
    """Permuted hash values, bit for bit as datasketch's update_batch; broadcasts hv with a, b."""
    out = np.multiply(hv, a, out=out)  # wraps modulo 2**32 (affine32) or 2**64 (legacy), as there
    out += b
    if scheme == "affine32":
        return out
    # legacy: datasketch computes (wrapped a * h + b) % (2**61 - 1), then keeps the low 32 bits.
    # With x = q * 2**61 + r, x is congruent to y = q + r (< 2 * prime) modulo 2**61 - 1, and
    # subtracting the prime when y >= prime only adds 1 to the low 32 bits (2**61 = 0 mod 2**32).
    # Same bits as `%`, without integer division.
    scratch = np.right_shift(out, 61, out=scratch)
    out &= _MERSENNE_PRIME
    out += scratch
    np.add(out, 1, out=scratch)
    scratch >>= 61  # 1 exactly where out >= prime
    out += scratch
    out &= MAX_HASH
    return out


def _signature_matrix(hv: np.ndarray, num_shingles: np.ndarray, a: np.ndarray, b: np.ndarray,
                      scheme: str) -> np.ndarray:
    """(num texts, num_perm) minima of the permuted shingle hashes of each text; hv holds the
    texts' shingle hashes back to back, np.minimum.reduceat takes each text's minimum."""
    sig = np.full((len(num_shingles), len(a)), MAX_HASH, dtype=a.dtype)
    nonempty = np.flatnonzero(num_shingles)
    if len(hv) == 0:
        return sig
    segments = (np.cumsum(num_shingles) - num_shingles)[nonempty]
    if len(hv) * len(a) <= _PERMUTE_2D_MAX:  # few shingles: all permutations in one pass
        phv = _permute(hv[None, :], a[:, None], b[:, None], scheme)  # (num_perm, S)
        sig[nonempty] = np.minimum.reduceat(phv, segments, axis=1).T
        return sig
    # Many shingles: one permutation at a time, so each pass streams one S-long row.
    phv, scratch = np.empty_like(hv), np.empty_like(hv)
    for k in range(len(a)):
        _permute(hv, a[k], b[k], scheme, out=phv, scratch=scratch)
        sig[nonempty, k] = np.minimum.reduceat(phv, segments)
    return sig


def _permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters (a, b) of datasketch MinHash._init_permutations, drawn from the
    same np.random.RandomState(seed) in the same order."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        prime = np.uint64(_MERSENNE_PRIME)
        pairs = [(gen.randint(1, prime, dtype=np.uint64), gen.randint(0, prime, dtype=np.uint64))
                 for _ in range(num_perm)]
        a, b = np.array(pairs, dtype=np.uint64).T
        return np.ascontiguousarray(a), np.ascontiguousarray(b)
    # affine32: odd multipliers (a bijection modulo 2**32), then the offsets.
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """LSH banding (Leskovec et al., Mining of Massive Datasets, section 3.4): one key per band,
    the band index (4 bytes, big-endian) then the band's `rows` values (4 bytes each,
    little-endian: every MinHash value fits 32 bits, and half the bytes halve the shuffle).

    Two documents whose signatures agree on every row of some band share that band's key, so
    grouping by key yields all candidate pairs. Uses the first bands * rows values.
    """
    if bands < 1 or rows < 1 or bands * rows > len(signature):
        raise ValueError(f"bands ({bands}) x rows ({rows}) must be positive and at most the "
                         f"signature length ({len(signature)}); see optimal_bands()")
    values = np.asarray(signature[:bands * rows])
    assert values.max() <= MAX_HASH, "MinHash values must fit 32 bits"
    values = values.astype("<u4").reshape(bands, rows)
    return [struct.pack(">I", i) + values[i].tobytes() for i in range(bands)]


def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising the false-positive plus false-negative probability mass around a
    Jaccard threshold, as datasketch.lsh._optimal_param with equal weights: over every b * r <=
    num_perm, FP = integral over [0, t] of 1 - (1 - s^r)^b, FN = integral over [t, 1] of
    (1 - s^r)^b; ties go to the first pair in (b, then r) ascending order, as there.

    The integrands are polynomials of degree b * r <= num_perm, so Gauss-Legendre quadrature with
    num_perm // 2 + 1 nodes is exact (datasketch uses scipy's adaptive quad); nodes are capped at
    256 for very large num_perm. For threshold 0.8 and 128 permutations this gives (9, 13).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be a Jaccard similarity strictly between 0 and 1, got {threshold}")
    if num_perm < 1:
        raise ValueError(f"num_perm must be a positive number of permutations, got {num_perm}")
    nodes, weights = np.polynomial.legendre.leggauss(min(num_perm // 2 + 1, 256))
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])
    b, r = pairs[:, :1].astype(float), pairs[:, 1:].astype(float)

    def integral(lo: float, hi: float, positive: bool) -> np.ndarray:
        s = (hi - lo) / 2 * nodes + (hi + lo) / 2
        miss = (1.0 - s ** r) ** b  # probability that no band collides
        return (hi - lo) / 2 * ((1.0 - miss if positive else miss) @ weights)

    error = integral(0.0, threshold, True) + integral(threshold, 1.0, False)
    best = pairs[int(np.argmin(error))]
    return int(best[0]), int(best[1])


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity: the fraction of equal signature values
    (datasketch MinHash.jaccard). Both signatures must come from the same MinHasher settings."""
    if len(sig_a) != len(sig_b):
        raise ValueError(f"signatures differ in length ({len(sig_a)} vs {len(sig_b)}): "
                         "compute both with the same MinHasher")
    return float(np.count_nonzero(np.asarray(sig_a) == np.asarray(sig_b))) / len(sig_a)


def true_jaccard(text_a: str, text_b: str, ngram: int = 5) -> float:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B| of the texts' word_shingles sets. Two empty
    texts give 1.0 (their MinHash signatures are equal too); one empty text gives 0.0."""
    a, b = set(word_shingles(text_a, ngram)), set(word_shingles(text_b, ngram))
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class MinHasher:
    """Batched MinHash of texts' word n-gram shingles, equal to datasketch.MinHash.

    `MinHasher(num_perm, seed).signature(text)` equals `datasketch.MinHash(num_perm, seed)`
    updated with every `word_shingles(text, ngram)` (its `.hashvalues`), value for value; with
    scheme="legacy", `datasketch.MinHash(num_perm, seed, scheme="legacy")`. Signatures are uint64
    arrays in both schemes (every value fits 32 bits); an empty text gives datasketch's empty
    sketch, num_perm times MAX_HASH.
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5, *, scheme: str = "affine32"):
        if num_perm < 1:
            raise ValueError(f"num_perm must be a positive number of permutations, got {num_perm}")
        if ngram < 1:
            raise ValueError(f"ngram must be a positive number of words, got {ngram}")
        if scheme not in SCHEMES:
            raise ValueError(f"unknown MinHash scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
        self.num_perm, self.seed, self.ngram, self.scheme = num_perm, seed, ngram, scheme
        self.a, self.b = _permutations(num_perm, seed, scheme)

    def signature(self, text: str) -> np.ndarray:
        """(num_perm,) uint64 MinHash of one text; see signatures()."""
        return self.signatures([text])[0]

    def signatures(self, texts: list[str]) -> np.ndarray:
        """(len(texts), num_perm) uint64 MinHash signatures, one row per text, computed for the
        whole batch at once (see the module docstring). Batches of ~1000 texts amortise the
        numpy overheads; much larger ones only cost memory."""
        buf, starts, lengths, num_shingles = _shingle_ranges(list(texts), self.ngram)
        hv = _sha1_hash32(buf, starts, lengths)
        hv = _fmix32(hv) if self.scheme == "affine32" else hv.astype(np.uint64)
        sig = _signature_matrix(hv, num_shingles, self.a, self.b, self.scheme)
        return sig.astype(np.uint64, copy=False)

    # The module's LSH helpers, also reachable as MinHasher.band_keys(sig, bands, rows), etc.
    band_keys = staticmethod(band_keys)
    optimal_bands = staticmethod(optimal_bands)
    estimate_jaccard = staticmethod(estimate_jaccard)
    true_jaccard = staticmethod(true_jaccard)
