"""Training the Wikipedia-reference classifier, and the cited URLs it learns from (no Beam).

LLaMA section 2: "we trained a linear model to classify pages used as references in Wikipedia
v.s. randomly sampled pages, and discarded pages not classified as references". Positives are
CommonCrawl pages whose URL a Wikipedia article cites (`cited_urls`, matched to WARC-Target-URI
through `normalize_url`); negatives are randomly sampled CommonCrawl pages. A small crawl holds few
cited pages, so while they number fewer than `ModelsConfig.ref_min_positives`, Wikipedia article
texts fill up the positives, which makes the model the "Wikipedia-like vs random web" classifier
GPT-3's and RedPajama's quality filters are. The model is fastText supervised (Joulin et al.
2016), the linear model CCNet's tooling already runs; filters.wikiref scores pages with it.
"""
from __future__ import annotations

import array
import contextlib
import ctypes
import hashlib
import html
import itertools
import logging
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import fasttext

from filters.wikiref import CC_LABEL, REF_LABEL, classifier_text
from pipeline.config import ModelsConfig

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
class _Spool:
    """Normalized examples in one file on disk; in memory only an (offset, size) pair each, so no
    text is held however many examples there are."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "w+b")  # closed by close()
        self._offsets, self._sizes = array.array("q"), array.array("q")

    def add(self, text: str) -> int:
        """Normalize `text` for the classifier and store it; its index, or -1 when nothing is left."""
        line = classifier_text(text)
        if not line:
            return -1
        data = line.encode("utf-8")
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
) -> dict:
    """Train and save the reference classifier; return its model card.

    Classes are balanced (each cut to the smaller, at most `cfg.ref_max_examples`); cited pages
    are kept before Wikipedia fill-up. 10% of each class is held out and scored at the argmax
    (probability 0.5). Same inputs and config give the same model, byte for byte.

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
            pos, neg, num_cited, num_wiki = _select_examples(positives_cited, positives_wiki, negatives, cfg, rng, spool)
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
            os.replace(tmp_model, out_path)  # same directory, so the rename is atomic
            scores = _evaluate(model, heldout, spool)
        finally:
            spool.close()
    card = {
        "positives_cited": num_cited,
        "positives_wikipedia": num_wiki,
        "negatives": len(neg),
        "filled_with_wikipedia": num_wiki > 0,
        **scores,
    }
    return {**card, **_file_card(out_path)}


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
) -> tuple[array.array, array.array, int, int]:
    """(positives, negatives, number cited, number from Wikipedia) as spool indexes, balanced."""
    cap = cfg.ref_max_examples
    pos = _kept(_shuffled(_spooled(cited, cap, spool), rng))
    neg = _kept(_shuffled(_spooled(negatives, cap, spool), rng))
    num_cited = len(pos)
    if num_cited < cfg.ref_min_positives:
        # Fill up to balance the negatives (at least ref_min_positives): read only what is needed.
        want = min(cap, max(cfg.ref_min_positives, len(neg))) - num_cited
        pos.extend(itertools.islice(filter(lambda i: i >= 0, map(spool.add, wiki)), want))
    if len(pos) < 2 or len(neg) < 2:
        raise ValueError(
            f"reference classifier: need at least 2 positive pages (CommonCrawl pages cited by Wikipedia, "
            f"or Wikipedia articles) and 2 negative pages (random CommonCrawl pages); got {len(pos)} and {len(neg)}"
        )
    n = min(len(pos), len(neg))
    return pos[:n], neg[:n], min(num_cited, n), max(0, n - num_cited)


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


def _evaluate(model: fasttext.FastText._FastText, heldout: array.array, spool: _Spool) -> dict:
    """Precision and recall of `__label__ref`, and accuracy, on the held-out pages (predicted in
    batches of EVAL_BATCH, read back from the spool)."""
    tp = num_pred_ref = num_gold_ref = num_right = 0
    for start in range(0, len(heldout), EVAL_BATCH):
        batch = heldout[start:start + EVAL_BATCH]
        predicted = model.predict([spool.text(example >> 1) for example in batch], k=1)[0]
        for example, labels in zip(batch, predicted):
            gold, pred = _label(example), labels[0]
            tp += gold == pred == REF_LABEL
            num_pred_ref += pred == REF_LABEL
            num_gold_ref += gold == REF_LABEL
            num_right += gold == pred
    return {
        "heldout_precision": round(tp / num_pred_ref, 4) if num_pred_ref else 0.0,
        "heldout_recall": round(tp / num_gold_ref, 4) if num_gold_ref else 0.0,
        "heldout_accuracy": round(num_right / len(heldout), 4),
    }


def _file_card(path: Path) -> dict:
    data = path.read_bytes()
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
