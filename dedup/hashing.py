"""Pure hashing for deduplication: exact documents, CCNet lines, C4 sentence spans, book overlap.

No Beam here: the composites in dedup/ shuffle on these hashes (GroupByKey / CombinePerKey), so
every hash must be the same on every worker, process and machine. Python's `hash()` is salted per
process, so everything below uses xxHash (XXH3), whose output is fixed by its specification.

Text is encoded as UTF-8 with "surrogatepass": a lone surrogate left by a broken parser hashes
(to its own bytes) instead of raising and killing a bundle.
"""
from __future__ import annotations

import re
import unicodedata

import xxhash

from dedup.minhash_core import word_shingles

NORMALIZATION_MODES = ("none", "whitespace", "lower", "ccnet")

# cc_net/text_normalizer.py UNICODE_PUNCT, verbatim (including its quirk that the full-width
# digit one maps to a double quote: unreachable with numbers=True, which turns it into "0" first).
_UNICODE_PUNCT = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"',
    "１": '"', "」": '"', "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":",
    "？": "?", "！": "!", "（": "(", "）": ")", "；": ";", "–": "-", "—": " - ", "．": ". ",
    "～": "~", "’": "'", "…": "...", "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]",
    "％": "%", "►": "-",
}
# cc_net remove_non_printing_char: code points 0-31 and 127-159 (so also tab and newline).
_NON_PRINTING = [*range(0, 32), *range(127, 160)]
# One str.translate does both CCNet steps (replace punctuation, then drop non-printing
# characters): no replacement contains a non-printing character, so the order cannot matter.
_CCNET_TABLE = str.maketrans({**_UNICODE_PUNCT, **{chr(c): None for c in _NON_PRINTING}})
# cc_net DIGIT_RE: `\d` on str matches every Unicode decimal digit (Arabic-Indic, full-width...).
_DIGIT_RE = re.compile(r"\d")

# Sentence breaks, the same rule as filters/c4.py count_sentences (so a page's span count and its
# sentence count agree): . ! or ? (maybe repeated, maybe closed by a quote or bracket), then spaces
# or tabs, then more text on the same line; a line end always ends a sentence.
_SENTENCE_BREAK_RE = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*[ \t]+(?=\S)")
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Jr", "Sr", "Mt", "vs", "approx", "incl",
                  "Inc", "Ltd", "Co", "Corp", "Fig", "Vol", "Jan", "Feb", "Mar", "Apr", "Jun",
                  "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec")
# A break right after an initial or a common abbreviation ("Dr. Who") is not a sentence end.
_ABBREVIATION_BREAK_RE = re.compile(
    r"\b(?:" + "|".join(_ABBREVIATIONS) + r"|[A-Za-z])\.[ \t]+(?=\S)"
)
# The line boundaries of str.splitlines(), which count_sentences uses to count lines.
_LINE_RE = re.compile("[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


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


def _strip_accents(line: str) -> str:
    """cc_net strip_accents: NFD, then drop nonspacing marks (category Mn).

    The result stays in NFD, as in cc_net (whose early return never fires: it compares a length
    with a string). ASCII is its own NFD and has no marks, hence the shortcut.
    """
    if line.isascii():
        return line
    nfd = unicodedata.normalize("NFD", line)
    return "".join(c for c in nfd if unicodedata.category(c) != "Mn")


def normalize_line(line: str) -> str:
    """CCNet's line normalization: cc_net text_normalizer.normalize(line, accent=True, case=True,
    numbers=True, punct=1) (Wenzek et al. 2020; LLaMA section 2 dedups CommonCrawl lines by CCNet).

    In cc_net's order: strip; lower case; accents removed (NFD, nonspacing marks dropped); every
    Unicode decimal digit to "0"; the 34 characters of cc_net's UNICODE_PUNCT replaced by their
    ASCII forms ("—" becomes " - "); code points 0-31 and 127-159 removed (tabs too, so "a\\tb"
    becomes "ab"). Nothing is re-stripped afterwards, as in cc_net. Output equals cc_net's.

    This is what cc_net feeds its language models (perplexity, and here the reference classifier);
    its line dedup keys lines by `normalize_for_dedup` instead, as `line_hash` does.
    """
    line = line.strip()
    if not line:
        return line
    line = _strip_accents(line.lower())
    line = _DIGIT_RE.sub("0", line)
    return line.translate(_CCNET_TABLE)


# cc_net PUNCT_OR_NON_PRINTING_CHARS_RE: its 34 unicode punctuation characters and code points
# 0-31 and 127-159, deleted (normalize_for_dedup), as one translate table.
_DEDUP_TABLE = str.maketrans({c: None for c in [*_UNICODE_PUNCT, *map(chr, _NON_PRINTING)]})


def normalize_for_dedup(line: str) -> str:
    """cc_net text_normalizer.normalize_for_dedup, the key of its line dedup (cc_net/dedup.py):
    strip; lower case; every Unicode decimal digit to "0"; the 34 characters of UNICODE_PUNCT
    and code points 0-31 and 127-159 deleted. Accents stay ("café" and "cafe" are two lines) and
    ASCII punctuation stays. Output equals cc_net's."""
    line = line.strip()
    if not line:
        return line
    return _DIGIT_RE.sub("0", line.lower()).translate(_DEDUP_TABLE)


def line_hash(line: str) -> int:
    """64-bit unsigned XXH3 of the UTF-8 of normalize_for_dedup(line), as CCNet keys lines by 64 bits
    (cc_net/dedup.py keeps the first 8 bytes of a SHA-1; XXH3 is ~10x faster and as stable).

    A collision (expected once ~4 billion distinct lines are seen) drops one line wrongly: the
    rate CCNet accepts. Blank lines all hash to xxh3_64(b""): callers decide whether blank lines
    take part in dedup.
    """
    return xxhash.xxh3_64_intdigest(_utf8(normalize_for_dedup(line)))


def _sentence_offsets(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each sentence, stripped of surrounding whitespace."""
    offsets = []
    for line in _LINE_RE.finditer(text):
        base, body = line.start(), line.group()
        not_breaks = {m.end() for m in _ABBREVIATION_BREAK_RE.finditer(body)}
        pieces, start = [], 0
        for m in _SENTENCE_BREAK_RE.finditer(body):
            if m.end() not in not_breaks:
                pieces.append((start, m.start() + len(m.group().rstrip(" \t"))))
                start = m.end()
        pieces.append((start, len(body)))
        for lo, hi in pieces:
            piece = body[lo:hi]
            stripped = piece.strip()
            if stripped:
                lo += len(piece) - len(piece.lstrip())
                offsets.append((base + lo, base + lo + len(stripped)))
    return offsets


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, by the same regex rule as filters/c4.py count_sentences (so
    len(split_sentences(t)) == count_sentences(t)): a break after . ! or ? (maybe repeated, maybe
    closed by a quote or bracket) followed by spaces and more text on the same line, except after
    an initial or a listed abbreviation ("Dr. Who"); every line end is a break. Not NLTK punkt
    (C4's reference) for speed: punkt runs at ~0.4 MB/s. Blank text gives [].
    """
    return [text[lo:hi] for lo, hi in _sentence_offsets(text)]


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
    offsets = _sentence_offsets(text)
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


def book_overlap(shingles_a: set[int], shingles_b: set[int]) -> float:
    """Content overlap of two books for LLaMA's rule (Touvron et al. 2023, section 2, Books:
    "we remove books with more than 90% content overlap"): the overlap coefficient

        |A ∩ B| / min(|A|, |B|)

    over the books' word 5-gram shingle hashes (book_shingles). The paper names no measure; the
    overlap coefficient is chosen over Jaccard |A ∩ B| / |A ∪ B| because an abridged edition, or
    one volume of a collected edition, lies inside the longer book: it is fully duplicated
    content (coefficient near 1), while its Jaccard with the long book is small. 0.0 when either
    set is empty (an empty book overlaps nothing).
    """
    if not shingles_a or not shingles_b:
        return 0.0
    small, large = sorted((shingles_a, shingles_b), key=len)
    num_common = sum(1 for h in small if h in large)
    return num_common / len(small)
