"""`make models` / `corral models`: train what the CommonCrawl filters load, under models.dir.

  1. The Wikipedia corpus: this config's corpus job restricted to Wikipedia (or an existing corpus
     output named by models.wikipedia_corpus).
  2. Per language in models.lm_languages: SentencePiece + a 5-gram KenLM on that Wikipedia text,
     and the perplexity cut-offs at models.ppl_percentiles of held-out Wikipedia documents (every
     10th document is scored, not trained on: an unpruned 5-gram nearly memorises its training
     text, so its training documents' perplexities would put all unseen text in the tail).
  3. The Wikipedia-reference classifier: positives are CommonCrawl pages whose URL the Wikipedia
     dumps cite; while fewer than models.ref_min_positives are found, Wikipedia article text fills
     the positives (the card says how many of each); negatives are CommonCrawl pages.
  4. manifest.json: the inputs, every file with its sha256 and size, and each model's card.

lid.176 is not trained: it ships inside a PyPI package (filters.langid.find_lid_model).
"""
from __future__ import annotations

import array
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import xxhash

from filters.ccnet import LanguageModelFiles
from pipeline.config import CorpusConfig, config_to_dict
from pipeline.document import Document
from pipeline.inputs import discover
from pipeline.shards import write_text_atomic

MANIFEST = "manifest.json"
WIKIREF_MODEL = "wikiref.bin"


def _fingerprint(cfg: CorpusConfig) -> dict[str, Any]:
    """What the models depend on: a change here means they must be trained again."""
    return {"input": os.path.abspath(cfg.input), "models": config_to_dict(cfg.models),
            "wikipedia": config_to_dict(cfg.wikipedia), "languages": list(cfg.commoncrawl.languages)}


def _file_entry(path: Path, root: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"path": str(path.relative_to(root)), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def read_manifest(models_dir: str) -> dict[str, Any] | None:
    path = Path(models_dir) / MANIFEST
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def models_current(cfg: CorpusConfig) -> bool:
    """The manifest exists, lists files that are all there, and was made from this input and config."""
    manifest = read_manifest(cfg.models.dir)
    if manifest is None or manifest.get("fingerprint") != _fingerprint(cfg):
        return False
    return all((Path(cfg.models.dir) / f["path"]).is_file() for f in manifest["files"])


def _wikipedia_corpus(cfg: CorpusConfig, beam_args: list[str]) -> str:
    if cfg.models.wikipedia_corpus:
        return cfg.models.wikipedia_corpus
    from pipeline.cli import run_pipeline  # the same job, restricted to Wikipedia

    out = os.path.join(cfg.models.dir, "wikipedia-corpus")
    run_pipeline(cfg, ("wikipedia",), out, beam_args)
    return out


def _raw_pages(cfg: CorpusConfig) -> Iterator[Document]:
    from pipeline.sources.wikipedia import parse_wikipedia_file

    for sf in discover(cfg.input, ("wikipedia",)):
        for path, rel in sf.files:
            yield from (d for d in parse_wikipedia_file(path, rel, cfg.wikipedia) if isinstance(d, Document))


def _commoncrawl_pages(cfg: CorpusConfig) -> Iterator[Document]:
    from pipeline.sources.commoncrawl import parse_commoncrawl_file

    for sf in discover(cfg.input, ("commoncrawl",)):
        for path, rel in sf.files[: cfg.models.ref_max_files]:
            yield from (d for d in parse_commoncrawl_file(path, rel, cfg.commoncrawl) if isinstance(d, Document) and d.text.strip())


def _reference_examples(cfg: CorpusConfig, corpus_dir: str, work: Path) -> tuple[Iterator[str], Iterator[str], Iterator[str]]:
    """(cited CommonCrawl pages, Wikipedia articles, other CommonCrawl pages) for the reference
    classifier, each a stream: the first models.ref_max_examples of each kind, in crawl order.

    Three streamed passes, so memory does not grow with the Wikipedia dump: (1) the crawl's page
    URLs, normalized and hashed to 64 bits (8 bytes a page of the first models.ref_max_files
    files); (2) the raw Wikipedia pages one at a time, marking the crawled URLs each one cites;
    (3) the crawl again, writing cited and other pages to two files under `work`, read back as
    the classifier trains. A 64-bit hash collision could count a page as cited: with n crawled
    pages and m cited URLs, about n*m/2^64 pages (1e-5 for 10^7 of each)."""
    from pipeline.models_lm import wikipedia_texts

    crawled = _crawled_url_keys(cfg)
    cited = _cited_among(cfg, crawled)
    positives, negatives = work / "positives.jsonl", work / "negatives.jsonl"
    _write_crawl_examples(cfg, crawled[cited], positives, negatives)
    wiki = (text for lang in cfg.commoncrawl.languages for text in wikipedia_texts(corpus_dir, lang))
    return _read_texts(positives), wiki, _read_texts(negatives)


def _url_key(normalized: str) -> int:
    """The 64-bit hash crawled and cited URLs are matched on, of the normalized URL (normalize_url)."""
    return xxhash.xxh3_64_intdigest(normalized.encode("utf-8"))


def _page_key(url: str | None) -> int | None:
    """A crawled page's URL key; None when it has no http(s) URL."""
    from pipeline.models_ref import normalize_url

    normalized = normalize_url(url) if url else ""
    return _url_key(normalized) if normalized else None


def _crawled_url_keys(cfg: CorpusConfig) -> np.ndarray:
    """The sorted distinct URL keys of the crawl's pages."""
    keys = array.array("Q")
    for doc in _commoncrawl_pages(cfg):
        key = _page_key(doc.url)
        if key is not None:
            keys.append(key)
    return np.unique(np.frombuffer(keys, np.uint64))


def _cited_among(cfg: CorpusConfig, crawled: np.ndarray) -> np.ndarray:
    """Which of the sorted `crawled` URL keys some raw Wikipedia page cites (a boolean mask)."""
    from pipeline.models_ref import cited_urls

    cited = np.zeros(len(crawled), bool)
    if not len(crawled):
        return cited
    for page in _raw_pages(cfg):
        keys = np.fromiter(map(_url_key, cited_urls([page.text])), np.uint64)
        where = np.minimum(np.searchsorted(crawled, keys), len(crawled) - 1)
        cited[where[crawled[where] == keys]] = True
    return cited


def _write_crawl_examples(cfg: CorpusConfig, cited: np.ndarray, positives: Path, negatives: Path) -> None:
    """The first models.ref_max_examples cited pages (URL key in the sorted `cited`) into
    `positives` and as many other pages into `negatives`, one JSON string a line."""
    cap = cfg.models.ref_max_examples
    counts = {positives: 0, negatives: 0}
    with open(positives, "w", encoding="utf-8") as pos, open(negatives, "w", encoding="utf-8") as neg:
        for doc in _commoncrawl_pages(cfg):
            key = _page_key(doc.url)
            i = int(np.searchsorted(cited, np.uint64(key))) if key is not None else len(cited)
            path, out = (positives, pos) if i < len(cited) and cited[i] == key else (negatives, neg)
            if counts[path] < cap:
                out.write(json.dumps(doc.text, ensure_ascii=False) + "\n")
                counts[path] += 1
            elif min(counts.values()) >= cap:
                return


def _read_texts(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def build_models(cfg: CorpusConfig, beam_args: list[str]) -> dict[str, Any]:
    """Train every model under cfg.models.dir and write its manifest; returns the manifest."""
    from filters.langid import find_lid_model
    from pipeline.models_lm import find_kenlm_binaries, train_language_model, wikipedia_texts
    from pipeline.models_ref import train_reference_classifier

    missing = [lang for lang in cfg.commoncrawl.languages if lang not in cfg.models.lm_languages]
    if missing:
        raise ValueError(f"commoncrawl.languages {missing} have no perplexity model: add them to models.lm_languages")
    root = Path(cfg.models.dir)
    root.mkdir(parents=True, exist_ok=True)
    corpus_dir = _wikipedia_corpus(cfg, beam_args)
    lmplz, build_binary = find_kenlm_binaries()
    lm_cards = {
        lang: train_language_model(lang, wikipedia_texts(corpus_dir, lang), root, cfg.models, lmplz, build_binary)
        for lang in cfg.models.lm_languages
    }
    with tempfile.TemporaryDirectory(prefix=".ref-examples-", dir=root) as work:
        positives, wiki, negatives = _reference_examples(cfg, corpus_dir, Path(work))
        ref_card = train_reference_classifier(positives, wiki, negatives, root / WIKIREF_MODEL, cfg.models)
    files = [Path(card[key]) for card in lm_cards.values() for key in ("sp_model", "lm")] + [root / WIKIREF_MODEL]
    manifest = {
        "fingerprint": _fingerprint(cfg),
        "lid": {"path": find_lid_model(), "license": "CC-BY-SA-3.0", "source": "fastText lid.176.ftz"},
        "lm": {lang: {**card, "sp_model": str(Path(card["sp_model"]).relative_to(root)),
                      "lm": str(Path(card["lm"]).relative_to(root))} for lang, card in lm_cards.items()},
        "wikiref": {**ref_card, "path": WIKIREF_MODEL},
        "files": [_file_entry(p, root) for p in files],
    }
    write_text_atomic(str(root / MANIFEST), json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    return manifest


def commoncrawl_models(cfg: CorpusConfig) -> tuple[str, dict[str, LanguageModelFiles], str]:
    """(lid path, per-language perplexity models, reference model path) for the corpus job.

    Models trained from another input serve too (train once on a Wikipedia dump, filter many
    crawls); `make corpus` retrains when they were not made from its input. Anything missing is a
    ValueError that names `make models`.
    """
    manifest = read_manifest(cfg.models.dir)
    root = Path(cfg.models.dir)
    if manifest is None or not all((root / f["path"]).is_file() for f in manifest["files"]):
        raise ValueError(f"commoncrawl needs the models in {cfg.models.dir} (missing or incomplete): run `make models`")
    missing = [lang for lang in cfg.commoncrawl.languages if lang not in manifest["lm"]]
    if missing:
        raise ValueError(f"no perplexity model for {', '.join(missing)} in {cfg.models.dir}: add to models.lm_languages and run `make models`")
    lms = {lang: LanguageModelFiles(str(root / m["sp_model"]), str(root / m["lm"]), tuple(m["cutoffs"]))
           for lang, m in manifest["lm"].items()}
    return manifest["lid"]["path"], lms, str(root / manifest["wikiref"]["path"])
