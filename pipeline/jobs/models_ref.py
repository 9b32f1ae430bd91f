"""Training the Wikipedia-reference classifier, and the cited URLs it learns from (no Beam).

LLaMA section 2: "we trained a linear model to classify pages used as references in Wikipedia
v.s. randomly sampled pages, and discarded pages not classified as references". Positives are
CommonCrawl pages whose URL a Wikipedia article cites (`cited_urls`, matched to WARC-Target-URI
through `normalize_url`); negatives are a random sample of the other CommonCrawl pages. A small
crawl holds few cited pages: with fewer than `ModelsConfig.ref_min_positives` the run stops
(`positives_source`), unless `ref_wikipedia_positives` lets Wikipedia article text fill the
positives, which makes the model the "Wikipedia-like vs random web" classifier GPT-3's and
RedPajama's quality filters are; the model card says which positives were used. The card's
precision, recall and AUC are measured on pages held out of training. The model is fastText
supervised (Joulin et al. 2016), the linear model CCNet's tooling already runs; filters.wikiref
scores pages with it.
"""
from __future__ import annotations

import array
import contextlib
import ctypes
import hashlib
import html
import itertools
import json
import logging
import os
import random
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import fasttext
import numpy as np
import xxhash

from filters.wikiref import CC_LABEL, REF_LABEL, classifier_text, ref_probability
from pipeline.core.config import ModelsConfig

HOLDOUT_FRACTION = 0.1
EVAL_BATCH = 1000  # held-out pages predicted per call
# Sizes, not recipe: dim 16 is lid.176's own (enough for a linear two-class model), and 2^18
# hash buckets for the word bigrams keep the model at 17 MB plus ~70 bytes a word, where
# fastText's defaults (dim 100, 2M buckets) give 800 MB to load in every worker. lr 0.5 is the
# fastText tutorial's choice for small two-class data. thread=1 makes training reproducible (one
# RNG, one pass order) once the input matrix starts zeroed (see _zero_filled_malloc).
_TRAIN_ARGS = dict(dim=16, bucket=1 << 18, minn=0, maxn=0, lr=0.5, loss="softmax", thread=1, verbose=0)
# On a crawl most words seen once or twice are typos and identifiers that only grow the model;
# a small training set cannot spare any word.
_MIN_COUNT_LARGE, _LARGE_TRAIN = 3, 10_000
_M_PERTURB = -6  # glibc mallopt(): fill each new heap block with (value ^ 0xff) bytes

# --- cited URLs (external links and references of Wikipedia dumps) ---------------------------
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# Every http(s) URL, overlapping (a lookahead), so an archive link also yields the page it archives:
# https://web.archive.org/web/2007/http://example.com/a -> both URLs. Wikitext ends a URL at
# whitespace, a bracket, a pipe, a brace, a quote or a tag.
_HTTP_URL = re.compile(r"(?=(https?://[^\s<>\[\]{}|\"]+))", re.I)
_RELATIVE_LINK = re.compile(r"\[(//[^\s<>\[\]{}|\"]+)")  # [//host/path label]: protocol-relative
# Scheme-less values, which MediaWiki's citation templates accept: |url=www.x.org, {{URL|x.org}}.
_URL_PARAM = re.compile(r"\|\s*(?:url|archive-?url|chapter-?url)\s*=\s*([^\s<>\[\]{}|\"]+)", re.I)
_URL_TEMPLATE = re.compile(r"\{\{\s*(?:url|official website)\s*\|\s*(?:1\s*=\s*)?([^\s<>\[\]{}|\"]+)", re.I)
_TRAILING = ".,;:!?'"  # MediaWiki leaves trailing punctuation (and '' italics) out of a free link
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """The key a cited URL and a crawled WARC-Target-URI are matched on: host lower case, `www.`
    and a default port dropped, fragment and trailing slash dropped, path and query kept. The
    scheme is dropped too ("//host/path"): many sites moved to https after Wikipedia cited their
    http address, and it is the same page. Anything but an http(s) URL with a host gives ""
    (matches nothing)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a malformed netloc (bad IPv6 brackets, a non-numeric port) names no page
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return ""
    host = host[4:] if host.startswith("www.") else host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit(("", netloc, parts.path.rstrip("/"), parts.query, ""))


def cited_urls(wikitexts: Iterable[str]) -> set[str]:
    """Normalized URLs that raw wikitext links to: `[http://... label]` external links, bare
    `http(s)://...` URLs, and the `url=` parameters of citation templates (`{{cite web |url=...}}`),
    `{{URL|...}}` and `{{Official website|...}}`. HTML comments are skipped: they are not rendered."""
    found: set[str] = set()
    for wikitext in wikitexts:
        found.update(filter(None, map(normalize_url, _raw_urls(_COMMENT.sub("", wikitext)))))
    return found


def _raw_urls(wikitext: str) -> Iterator[str]:
    for match in _HTTP_URL.finditer(wikitext):
        yield _clean_url(match.group(1))
    for match in _RELATIVE_LINK.finditer(wikitext):
        yield "http:" + _clean_url(match.group(1))
    for regex in (_URL_PARAM, _URL_TEMPLATE):
        for match in regex.finditer(wikitext):
            value = _clean_url(match.group(1))
            if value.startswith("//"):
                yield "http:" + value
            elif "://" not in value and "." in value:
                yield "http://" + value


def _clean_url(url: str) -> str:
    url = html.unescape(url).rstrip(_TRAILING)
    if url.endswith(")") and "(" not in url:  # "(see http://x.org)": the parenthesis is prose
        url = url[:-1].rstrip(_TRAILING)
    return url


# --- training --------------------------------------------------------------------------------
POSITIVES_CITED, POSITIVES_WIKIPEDIA = "cited_pages", "wikipedia_text"
_HELDOUT_TASK = {
    POSITIVES_CITED: "CommonCrawl pages cited by Wikipedia vs random CommonCrawl pages",
    POSITIVES_WIKIPEDIA: "Wikipedia article text (and any cited pages) vs random CommonCrawl pages",
}


def positives_source(num_cited: int, cfg: ModelsConfig) -> str:
    """POSITIVES_CITED when `num_cited` cited pages reach `cfg.ref_min_positives`; else
    POSITIVES_WIKIPEDIA if `cfg.ref_wikipedia_positives` allows it, and a one-line ValueError if not:
    a classifier of Wikipedia text against the crawl is another model than the recipe's, so it is
    the user's choice, never a silent fallback."""
    if num_cited >= cfg.ref_min_positives:
        return POSITIVES_CITED
    if cfg.ref_wikipedia_positives:
        return POSITIVES_WIKIPEDIA
    raise ValueError(
        f"reference classifier: found {num_cited} CommonCrawl pages cited by Wikipedia, fewer than "
        f"models.ref_min_positives ({cfg.ref_min_positives}); give more CommonCrawl input, or set "
        "`models.ref_wikipedia_positives: true` to fill the positives with Wikipedia article text"
    )


class _Spool:
    """Normalized examples in one file on disk; in memory only an (offset, size) pair and a 64-bit
    hash each, so no text is held however many examples there are. A text already stored is not
    stored again: a page crawled twice (or under two URLs) could otherwise be trained on and
    held out at once."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "w+b")  # noqa: SIM115 - closed by close(): the spool owns the file past __init__
        self._offsets, self._sizes = array.array("q"), array.array("q")
        self._seen: set[int] = set()
        self.num_duplicates = 0

    def add(self, text: str) -> int:
        """Normalize `text` for the classifier and store it; its index, or -1 when nothing is left
        or the same normalized text is stored already."""
        line = classifier_text(text)
        if not line:
            return -1
        data = line.encode("utf-8")
        key = xxhash.xxh3_64_intdigest(data)
        if key in self._seen:
            self.num_duplicates += 1
            return -1
        self._seen.add(key)
        self._file.seek(0, os.SEEK_END)
        self._offsets.append(self._file.tell())
        self._sizes.append(len(data))
        self._file.write(data)
        return len(self._offsets) - 1

    def text(self, index: int) -> str:
        self._file.seek(self._offsets[index])
        return self._file.read(self._sizes[index]).decode("utf-8")

    def close(self) -> None:
        self._file.close()


def train_reference_classifier(
    positives_cited: Iterable[str],
    positives_wiki: Iterable[str],
    negatives: Iterable[str],
    out_path: Path,
    cfg: ModelsConfig,
    keep_threshold: float | None = None,
) -> dict:
    """Train and save the reference classifier and its card (`<model>.json` beside it); return the card.

    Positives are the cited pages, or (positives_source) cited pages filled up with Wikipedia
    text. Classes are balanced (each cut to the smaller, at most `cfg.ref_max_examples`). A seeded
    10% of each class is held out of training; the card's precision, recall and accuracy at
    probability 0.5 (and at `keep_threshold`, the corpus filter's cut, when given) and its AUC are
    measured on those pages only. Same inputs and config give the same model, byte for byte.

    Streamed: at most `cfg.ref_max_examples` pages are read from each iterable (the first ones),
    normalized into a file on disk as they come; shuffles and splits move 8-byte indexes, the
    training file is written from the spool, and fastText reads it from disk.
    """
    rng = random.Random(cfg.ref_seed)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".train-", dir=out_path.parent) as tmp:
        spool = _Spool(Path(tmp) / "examples.txt")
        try:
            pos, neg, num_cited, num_wiki, source = _select_examples(positives_cited, positives_wiki, negatives, cfg,
                                                                     rng, spool)
            train, heldout = _split(pos, neg, rng)
            train_file = Path(tmp) / "train.txt"
            _write_labelled(train_file, train, spool)
            with _zero_filled_malloc():
                model = fasttext.train_supervised(
                    input=str(train_file), epoch=cfg.ref_epochs, wordNgrams=2, seed=cfg.ref_seed,
                    minCount=_MIN_COUNT_LARGE if len(train) >= _LARGE_TRAIN else 1, **_TRAIN_ARGS
                )
            tmp_model = Path(tmp) / out_path.name
            model.save_model(str(tmp_model))
            probs, labels = _heldout_probabilities(model, heldout, spool)
        finally:
            spool.close()
        card = {
            "positives": source, "positives_cited": num_cited, "positives_wikipedia": num_wiki,
            "negatives": len(neg), "duplicates_skipped": spool.num_duplicates, "heldout_task": _HELDOUT_TASK[source],
            **_heldout_scores(probs, labels, keep_threshold), **_file_card(tmp_model, out_path),
        }
        tmp_card = Path(tmp) / "card.json"
        tmp_card.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp_model, out_path)  # same directory, so both renames are atomic
        os.replace(tmp_card, card_path_for(out_path))
    return card


def card_path_for(model_path: Path) -> Path:
    """Where the model card of the classifier saved at `model_path` is written: beside it, `.json`."""
    return Path(model_path).with_suffix(".json")


@contextlib.contextmanager
def _zero_filled_malloc() -> Iterator[None]:
    """Make malloc return zeroed memory while fastText trains.

    fastText initializes its input matrix in ten blocks, one per training thread, and leaves the
    rest to the container's zero fill: with thread=1 only the first tenth is set. Upstream's
    std::vector zeroes the rest; fasttext-numpy2 0.10.4 allocates it with posix_memalign and does
    not, so 90% of the rows start as whatever the heap held (seen: 8.5e10, then "Encountered NaN",
    and a different model on every run). glibc's M_PERTURB=0xff fills every new heap block with
    zeros (mmapped blocks are zero already), which restores upstream's behaviour.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None or not mallopt(_M_PERTURB, 0xFF):
        logging.getLogger(__name__).warning("no glibc mallopt(): the reference classifier may differ between runs")
        yield
        return
    try:
        yield
    finally:
        mallopt(_M_PERTURB, 0)


def _select_examples(
    cited: Iterable[str], wiki: Iterable[str], negatives: Iterable[str], cfg: ModelsConfig,
    rng: random.Random, spool: _Spool,
) -> tuple[array.array, array.array, int, int, str]:
    """(positives, negatives, number cited, number from Wikipedia, positives_source) as spool
    indexes, balanced. Too few cited pages is positives_source's ValueError unless allowed."""
    cap = cfg.ref_max_examples
    pos = _kept(_shuffled(_spooled(cited, cap, spool), rng))
    neg = _kept(_shuffled(_spooled(negatives, cap, spool), rng))
    num_cited = len(pos)
    source = positives_source(num_cited, cfg)
    if source == POSITIVES_WIKIPEDIA:
        # Fill up to balance the negatives (at least ref_min_positives): read only what is needed.
        want = min(cap, max(cfg.ref_min_positives, len(neg))) - num_cited
        pos.extend(itertools.islice(filter(lambda i: i >= 0, map(spool.add, wiki)), want))
    if len(pos) < 2 or len(neg) < 2:
        raise ValueError(
            f"reference classifier: need at least 2 positive pages (CommonCrawl pages cited by Wikipedia, "
            f"or Wikipedia articles) and 2 negative pages (random CommonCrawl pages); got {len(pos)} and {len(neg)}"
        )
    n = min(len(pos), len(neg))
    num_wiki = max(0, n - num_cited)
    return pos[:n], neg[:n], min(num_cited, n), num_wiki, POSITIVES_WIKIPEDIA if num_wiki else POSITIVES_CITED


def _spooled(texts: Iterable[str], limit: int, spool: _Spool) -> array.array:
    """The first `limit` texts, each stored in the spool: its index, or -1 when empty once normalized."""
    return array.array("q", map(spool.add, itertools.islice(texts, limit)))


def _shuffled(items: array.array, rng: random.Random) -> array.array:
    items = array.array("q", items)
    rng.shuffle(items)
    return items


def _kept(indexes: array.array) -> array.array:
    return array.array("q", (i for i in indexes if i >= 0))


def _split(pos: array.array, neg: array.array, rng: random.Random) -> tuple[array.array, array.array]:
    """(train, held out): HOLDOUT_FRACTION of each class (at least one) held out, both shuffled.
    Each example is one number, its spool index times two plus its label (1 = reference)."""
    train, heldout = array.array("q"), array.array("q")
    for label, indexes in ((1, pos), (0, neg)):
        indexes = _shuffled(indexes, rng)  # cited pages come first in pos; mix them with the fill-up
        num_heldout = max(1, int(len(indexes) * HOLDOUT_FRACTION))
        heldout.extend(2 * i + label for i in indexes[:num_heldout])
        train.extend(2 * i + label for i in indexes[num_heldout:])
    rng.shuffle(train)  # fastText's SGD sees lines in file order: interleave the classes
    return train, heldout


def _label(example: int) -> str:
    return REF_LABEL if example & 1 else CC_LABEL


def _write_labelled(path: Path, examples: array.array, spool: _Spool) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for example in examples:
            f.write(f"{_label(example)} {spool.text(example >> 1)}\n")


def _heldout_probabilities(model: fasttext.FastText._FastText, heldout: array.array,
                           spool: _Spool) -> tuple[np.ndarray, np.ndarray]:
    """(P(`__label__ref`), is reference) of each held-out page, predicted in batches of EVAL_BATCH
    read back from the spool; the probability is the one the corpus filter cuts (ref_probability)."""
    probs = np.empty(len(heldout))
    for start in range(0, len(heldout), EVAL_BATCH):
        batch = heldout[start:start + EVAL_BATCH]
        labels, scores = model.predict([spool.text(example >> 1) for example in batch], k=2)
        probs[start:start + len(batch)] = [ref_probability(*answer) for answer in zip(labels, scores, strict=True)]
    return probs, np.array([example & 1 for example in heldout], bool)


def _heldout_scores(probs: np.ndarray, labels: np.ndarray, keep_threshold: float | None = None) -> dict:
    """The card's held-out figures: class sizes, AUC, and precision / recall / accuracy of
    "reference" (probability >= threshold) at 0.5 and, when given, at `keep_threshold`."""
    card = {"heldout_positives": int(labels.sum()), "heldout_negatives": int((~labels).sum()),
            "heldout_auc": round(roc_auc(probs, labels), 4), "heldout_threshold": 0.5}
    card.update({f"heldout_{k}": v for k, v in _at_threshold(probs, labels, 0.5).items()})
    if keep_threshold is not None:
        card["heldout_keep_threshold"] = keep_threshold
        card.update({f"heldout_keep_{k}": v for k, v in _at_threshold(probs, labels, keep_threshold).items()})
    return card


def _at_threshold(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    predicted = probs >= threshold
    tp = int((predicted & labels).sum())
    return {
        "precision": round(tp / int(predicted.sum()), 4) if predicted.any() else 0.0,
        "recall": round(tp / int(labels.sum()), 4) if labels.any() else 0.0,
        "accuracy": round(float((predicted == labels).mean()), 4) if len(labels) else 0.0,
    }


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random
    negative, ties counting one half. Computed as the Mann-Whitney U statistic from average
    ranks (ties share their mean rank), O(n log n). Needs at least one page of each class."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    num_pos, num_neg = int(labels.sum()), int((~labels).sum())
    assert num_pos and num_neg, "AUC needs positives and negatives"
    _, tie_group, counts = np.unique(scores, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)  # 1-based rank of each group's last member
    mean_rank = last_rank - (counts - 1) / 2.0
    rank_sum = float(mean_rank[tie_group][labels].sum())
    return (rank_sum - num_pos * (num_pos + 1) / 2.0) / (num_pos * num_neg)


def _file_card(written: Path, path: Path) -> dict:
    """The file `written` (a temporary name) will be once renamed to `path`."""
    data = written.read_bytes()
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
