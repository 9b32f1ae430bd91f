"""dedup/minhash_core.py: signatures equal to datasketch 2.0.0 value for value (generated text,
short, empty, Unicode, real Gutenberg books; both permutation schemes), the numpy SHA-1 against
hashlib, batching, LSH banding, optimal_bands and the Jaccard helpers."""
from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

import dedup.minhash_core as core
from dedup.minhash_core import (
    MAX_HASH,
    MinHasher,
    band_keys,
    estimate_jaccard,
    optimal_bands,
    true_jaccard,
    word_shingles,
)

SCHEMES = ("affine32", "legacy")
# Word pieces: ASCII, accented, Greek, Cyrillic, CJK, emoji, a capital that lower-cases to two
# code points (İ), so shingles span 1 to 4+ UTF-8 bytes per character.
PIECES = ["the", "Quick", "brown", "FOX", "café", "Straße", "naïve", "λόγος", "Москва", "漢字",
          "東京都", "🙂", "İstanbul", "x", "don't", "(ok)", "1999", "e-mail"]
# Separators: str.split() splits on all of them, including the non-ASCII ones.
SEPARATORS = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\xa0", "\u3000", "\x1c", "\x85", "\u2028"]


def random_text(rng: random.Random, num_words: int) -> str:
    words = []
    for _ in range(num_words):
        if rng.random() < 0.03:  # long words make 2-, 3-, 4- and 5+-block SHA-1 messages
            words.append("".join(rng.choices("abcdefé漢", k=rng.randint(20, 120))))
        else:
            words.append(rng.choice(PIECES))
    return "".join(w + rng.choice(SEPARATORS) for w in words)


def datasketch_signature(text: str, num_perm: int = 128, seed: int = 1, ngram: int = 5,
                         scheme: str = "affine32") -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, scheme=scheme)
    m.update_batch(word_shingles(text, ngram))
    return m.hashvalues


def assert_equal_to_datasketch(hasher: MinHasher, texts: list[str]) -> None:
    sigs = hasher.signatures(texts)
    assert sigs.shape == (len(texts), hasher.num_perm) and sigs.dtype == np.uint64
    for text, sig in zip(texts, sigs, strict=True):
        expected = datasketch_signature(text, hasher.num_perm, hasher.seed, hasher.ngram, hasher.scheme)
        np.testing.assert_array_equal(sig, expected)


@pytest.fixture
def force_numpy_sha1(monkeypatch):
    """Route every message, however few, through the numpy SHA-1, in small uneven chunks."""
    monkeypatch.setattr(core, "_SHA1_VECTOR_MIN", 1)
    monkeypatch.setattr(core, "_SHA1_CHUNK", 37)


# --- word_shingles ---------------------------------------------------------------------------

def test_word_shingles_lowercase_whitespace_words():
    text = "The  Quick\tbrown\nFOX jumps,\xa0over"
    assert word_shingles(text, 5) == [b"the quick brown fox jumps,", b"quick brown fox jumps, over"]
    assert word_shingles(text, 1)[:2] == [b"the", b"quick"]


def test_word_shingles_short_and_unicode():
    assert word_shingles("Hello World", 5) == [b"hello world"]
    assert word_shingles("a b c d e", 5) == [b"a b c d e"]
    assert word_shingles("İstanbul Café", 5) == ["i̇stanbul café".encode()]


@pytest.mark.parametrize("text", ["", " ", "\n\t \u3000"])
def test_word_shingles_blank(text):
    assert word_shingles(text) == []


def test_word_shingles_rejects_bad_n():
    with pytest.raises(ValueError, match="positive"):
        word_shingles("a b", 0)


# --- permutations and signatures equal to datasketch -----------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("num_perm, seed", [(16, 1), (128, 7), (256, 42)])
def test_permutations_match_datasketch(scheme, num_perm, seed):
    hasher = MinHasher(num_perm, seed, scheme=scheme)
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    np.testing.assert_array_equal(hasher.a, a)
    np.testing.assert_array_equal(hasher.b, b)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("num_perm, seed", [(16, 1), (128, 1), (128, 7), (256, 42)])
def test_signatures_match_datasketch_on_generated_text(scheme, num_perm, seed):
    rng = random.Random(seed)
    texts = [random_text(rng, rng.randint(0, 300)) for _ in range(40)]
    assert_equal_to_datasketch(MinHasher(num_perm, seed, scheme=scheme), texts)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_signatures_match_datasketch_through_numpy_sha1(scheme, force_numpy_sha1):
    rng = random.Random(3)
    texts = [random_text(rng, rng.randint(0, 200)) for _ in range(30)]
    assert_equal_to_datasketch(MinHasher(64, 3, scheme=scheme), texts)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("text", ["one", "two words", "Four Words Right Here", "a b c d e"])
def test_short_texts_match_datasketch(scheme, text):
    assert_equal_to_datasketch(MinHasher(128, 1, scheme=scheme), [text])


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("text", ["", "   ", "\n\t\xa0"])
def test_empty_text_is_datasketch_empty_sketch(scheme, text):
    sig = MinHasher(128, 1, scheme=scheme).signature(text)
    np.testing.assert_array_equal(sig, MinHash(128, 1, scheme=scheme).hashvalues)
    assert sig.dtype == np.uint64 and np.all(sig == MAX_HASH)


@pytest.mark.parametrize("ngram", [1, 3, 5, 9])
def test_other_ngram_sizes_match_datasketch(ngram):
    rng = random.Random(ngram)
    texts = [random_text(rng, rng.randint(0, 60)) for _ in range(10)]
    assert_equal_to_datasketch(MinHasher(32, 5, ngram), texts)


def test_batch_equals_one_at_a_time():
    rng = random.Random(11)
    texts = ["", *(random_text(rng, rng.randint(0, 400)) for _ in range(25)), "  ", "last one"]
    texts.insert(10, "")
    hasher = MinHasher(128, 1)
    batch = hasher.signatures(texts)
    for text, sig in zip(texts, batch, strict=True):
        np.testing.assert_array_equal(sig, hasher.signature(text))
    assert hasher.signatures([]).shape == (0, 128)


def real_book_slices(books: Path) -> list[str]:
    slices = []
    for name in ["pg11_en_Alice_PGgithub_NOHEADER.txt", "pg2000_es_DonQuijote.txt",
                 "pg44157_fr_EntreNous_latin1.txt", "pg31894_la_TwoLatinPlays.txt"]:
        data = (books / name).read_bytes()
        words = (data.decode("latin-1") if "latin1" in name else data.decode("utf-8")).split(" ")
        for start in (0, len(words) // 3, 2 * len(words) // 3):
            slices.append(" ".join(words[start:start + 2000]))  # keeps newlines and tabs inside
    return slices


@pytest.mark.parametrize("scheme", SCHEMES)
def test_signatures_match_datasketch_on_real_books(shared_samples, scheme):
    texts = real_book_slices(shared_samples / "books")
    assert_equal_to_datasketch(MinHasher(128, 1, scheme=scheme), texts)


def test_whole_book_matches_datasketch(shared_samples):
    # ~27,000 shingles: the numpy SHA-1 and the one-permutation-at-a-time path.
    alice = (shared_samples / "books" / "pg11_en_Alice_PGgithub_NOHEADER.txt").read_text("utf-8")
    assert_equal_to_datasketch(MinHasher(128, 1), [alice, alice[:5000], ""])


# --- the numpy SHA-1 and the legacy modulus --------------------------------------------------

def test_numpy_sha1_matches_hashlib_for_every_length(force_numpy_sha1):
    rng = np.random.default_rng(0)
    messages = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in range(0, 300)] * 2
    buf = b"".join(messages)
    lengths = np.array([len(m) for m in messages])
    starts = np.cumsum(lengths) - lengths
    expected = [struct.unpack("<I", hashlib.sha1(m).digest()[:4])[0] for m in messages]
    np.testing.assert_array_equal(core._sha1_hash32(buf, starts, lengths), expected)


def test_legacy_modulus_matches_numpy_remainder():
    prime = (1 << 61) - 1
    x = np.array([0, 1, prime - 1, prime, prime + 1, 2 * prime, 2 * prime + 5, 2**61, 2**62,
                  2**64 - 1, 2**64 - 2, 7 * 2**61 + prime - 1], dtype=np.uint64)
    x = np.concatenate([x, np.random.default_rng(1).integers(0, 2**64, 1000, dtype=np.uint64)])
    got = core._permute(x, np.uint64(1), np.uint64(0), "legacy")
    np.testing.assert_array_equal(got, (x % np.uint64(prime)) & np.uint64(MAX_HASH))


# --- band_keys and optimal_bands -------------------------------------------------------------

def test_band_keys_shape_and_identical_signatures_collide():
    sig = MinHasher(128, 1).signature("the same document text for both of them")
    keys = band_keys(sig, 9, 13)
    assert len(keys) == 9 and all(len(k) == 4 + 4 * 13 for k in keys)
    assert band_keys(sig.copy(), 9, 13) == keys


def test_band_keys_one_changed_value_changes_one_band():
    sig = MinHasher(128, 1).signature("some document text that is long enough to shingle")
    other = sig.copy()
    other[20] ^= 1  # row 20 lies in band 1 when rows = 13
    same = [a == b for a, b in zip(band_keys(sig, 9, 13), band_keys(other, 9, 13), strict=True)]
    assert same == [True, False] + [True] * 7


def test_band_keys_carry_the_band_index():
    keys = band_keys(np.zeros(128, dtype=np.uint64), 4, 32)
    assert len(set(keys)) == 4  # equal rows in different bands must not collide


def test_band_keys_rejects_too_many_rows():
    with pytest.raises(ValueError, match="optimal_bands"):
        band_keys(np.zeros(128, dtype=np.uint64), 10, 13)


def test_optimal_bands_for_08_and_128():
    assert optimal_bands(0.8, 128) == (9, 13)
    assert MinHasher.optimal_bands(0.8, 128) == (9, 13)


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.85, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_optimal_bands_match_datasketch(threshold, num_perm):
    assert optimal_bands(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5])
def test_optimal_bands_rejects_bad_threshold(threshold):
    with pytest.raises(ValueError, match="between 0 and 1"):
        optimal_bands(threshold, 128)


# --- Jaccard helpers and validation ----------------------------------------------------------

def test_estimate_close_to_true_jaccard_for_near_duplicates():
    rng = random.Random(5)
    base = [rng.choice(PIECES) + str(rng.randint(0, 99)) for _ in range(400)]
    edited = base[:]
    for i in rng.sample(range(400), 20):
        edited[i] = "changed"
    a, b = " ".join(base), " ".join(edited)
    hasher = MinHasher(256, 1)
    estimate = estimate_jaccard(*hasher.signatures([a, b]))
    assert abs(estimate - true_jaccard(a, b)) < 0.1
    assert estimate_jaccard(hasher.signature(a), hasher.signature(a)) == 1.0


def test_true_jaccard_cases():
    assert true_jaccard("a b c d e f", "a b c d e f") == 1.0
    assert true_jaccard("a b c d e f", "a b c d e g") == pytest.approx(1 / 3)
    assert true_jaccard("a b c d e", "v w x y z") == 0.0
    assert true_jaccard("", "  ") == 1.0
    assert true_jaccard("", "some words") == 0.0


def test_estimate_jaccard_rejects_different_lengths():
    with pytest.raises(ValueError, match="same MinHasher"):
        estimate_jaccard(np.zeros(64), np.zeros(128))


@pytest.mark.parametrize("kwargs, message", [
    ({"num_perm": 0}, "num_perm"), ({"ngram": 0}, "ngram"), ({"scheme": "affine64"}, "affine32, legacy"),
])
def test_minhasher_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MinHasher(**kwargs)


def test_native_sha1_matches_the_python_route():
    from dedup import minhash_core

    if minhash_core._native is None:
        pytest.skip("dedup._sha1 is not compiled")
    rng = np.random.default_rng(3)
    buf = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    lengths = rng.integers(0, 300, 2000).astype(np.int64)
    starts = np.array([rng.integers(0, len(buf) - n) for n in lengths], dtype=np.int64)
    native = minhash_core._sha1_hash32(buf, starts, lengths)
    assert np.array_equal(native, minhash_core._sha1_hash32_python(buf, starts, lengths))
    with pytest.raises(ValueError, match="outside the buffer"):
        minhash_core._native.hash32_ranges(buf, np.array([4990], np.int64), np.array([20], np.int64),
                                           np.empty(1, np.uint32))


def test_native_words_match_str_split_on_every_whitespace():
    from dedup import minhash_core

    if minhash_core._native is None:
        pytest.skip("dedup._sha1 is not compiled")
    spaces = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    rng = random.Random(0)
    alphabet = "abcÉßñ漢字\u200b" + spaces  # U+200B looks like a space but is not one
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60))) for _ in range(2000)]
    texts += ["", "  ", "x", "\ud800 lone surrogate", "end" + spaces]
    native, python = minhash_core._words(texts), minhash_core._words_python(texts)
    assert native[0] == python[0]
    for a, b in zip(native[1:], python[1:], strict=True):
        assert np.array_equal(a, b)
