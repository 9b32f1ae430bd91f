"""`make models` / `corral models`: train what the CommonCrawl filters load, under models.dir.

  1. The Wikipedia corpus: this config's corpus job restricted to Wikipedia (or an existing corpus
     output named by models.wikipedia_corpus).
  2. Per language in models.lm_languages: SentencePiece + a 5-gram KenLM on that Wikipedia text,
     and the perplexity cut-offs at models.ppl_percentiles of held-out Wikipedia documents (every
     10th document is scored, not trained on: an unpruned 5-gram nearly memorises its training
     text, so its training documents' perplexities would put all unseen text in the tail).
  3. The Wikipedia-reference classifier: positives are CommonCrawl pages whose URL the Wikipedia
     dumps cite, negatives a seeded random sample of the other CommonCrawl pages. With fewer than
     models.ref_min_positives cited pages the run stops before anything is trained, unless
     models.ref_wikipedia_positives lets Wikipedia article text fill the positives; its card
     (wikiref.json) says which positives were used and gives held-out precision, recall and AUC.
  4. manifest.json: the inputs, every file with its sha256 and size, and each model's card.

lid.176 is not trained: it ships inside a PyPI package (filters.langid.find_lid_model).
"""
from __future__ import annotations

import array
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from filters.ccnet import LanguageModelFiles
from pipeline.core.config import config_to_dict
from pipeline.core.document import Document
from pipeline.core.holdout import HeldOut, holdout_digest
from pipeline.core.progress import set_phase
from pipeline.core.shards import write_text_atomic
from pipeline.jobs.inputs import discover
from pipeline.sources.registry import CorpusConfig

# The corpus job for (config, sources, output folder), as the launcher runs it: `make models` runs
# it on Wikipedia. Handed in by the command line, so this job never imports the layer above it.
Launch = Callable[[CorpusConfig, tuple[str, ...], str], dict]

MANIFEST = "manifest.json"
WIKIREF_MODEL = "wikiref.bin"


def _fingerprint(cfg: CorpusConfig) -> dict[str, Any]:
    """What the models depend on: a change here means they must be trained again."""
    return {"input": os.path.abspath(cfg.input), "models": config_to_dict(cfg.models),
            "wikipedia": config_to_dict(cfg.wikipedia), "languages": list(cfg.commoncrawl.languages),
            "holdout": holdout_digest(cfg.holdout.ids_file)}  # held-out pages train no model


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


def _wikipedia_corpus(cfg: CorpusConfig, launch: Launch) -> str:
    if cfg.models.wikipedia_corpus:
        return cfg.models.wikipedia_corpus
    out = os.path.join(cfg.models.dir, "wikipedia-corpus")
    launch(cfg, ("wikipedia",), out)  # the corpus job, restricted to Wikipedia
    return out


def _raw_pages(cfg: CorpusConfig) -> Iterator[Document]:
    from pipeline.sources.wikipedia import parse_wikipedia_file

    for sf in discover(cfg.input, ("wikipedia",)):
        for path, rel in sf.files:
            yield from (d for d in parse_wikipedia_file(path, rel, cfg.wikipedia) if isinstance(d, Document))


def _commoncrawl_pages(cfg: CorpusConfig) -> Iterator[Document]:
    """Crawled pages with text, in crawl order; held-out evaluation pages (holdout.ids_file) left out."""
    from pipeline.sources.commoncrawl import parse_commoncrawl_file

    held_out = HeldOut.load(cfg.holdout.ids_file) if cfg.holdout.ids_file else (lambda doc: doc)
    for sf in discover(cfg.input, ("commoncrawl",)):
        for path, rel in sf.files[: cfg.models.ref_max_files]:
            yield from (d for d in parse_commoncrawl_file(path, rel, cfg.commoncrawl)
                        if isinstance(d, Document) and d.text.strip() and isinstance(held_out(d), Document))


def _cited_pages(cfg: CorpusConfig) -> np.ndarray:
    """Which crawled pages (of the first models.ref_max_files files, in crawl order) some raw
    Wikipedia page cites: a boolean per page.

    Two streamed passes, so memory does not grow with the Wikipedia dump: (1) the crawl's page
    URLs, normalized and hashed to 64 bits (about 10 bytes a page); (2) the raw Wikipedia pages
    one at a time, marking the crawled URLs each one cites. A 64-bit hash collision could count a
    page as cited: with n crawled pages and m cited URLs, about n*m/2^64 pages (1e-5 for 10^7 of each)."""
    page_keys, has_url = _crawl_page_keys(cfg)
    crawled = np.unique(page_keys[has_url])
    return has_url & np.isin(page_keys, crawled[_cited_among(cfg, crawled)])


def _reference_examples(cfg: CorpusConfig, page_cited: np.ndarray, work: Path) -> tuple[Path, Path]:
    """(positives file, negatives file) for the reference classifier, one JSON string a line in
    crawl order: a seeded random sample of at most models.ref_max_examples of the cited pages
    (`page_cited`, from _cited_pages), and as many of the others, read in a third pass."""
    rng = np.random.default_rng(cfg.models.ref_seed)
    cap = cfg.models.ref_max_examples
    take = np.zeros(len(page_cited), bool)
    for members in (np.flatnonzero(page_cited), np.flatnonzero(~page_cited)):
        take[members if len(members) <= cap else rng.choice(members, cap, replace=False)] = True
    positives, negatives = work / "positives.jsonl", work / "negatives.jsonl"
    _write_crawl_examples(cfg, take, page_cited, positives, negatives)
    return positives, negatives


def _url_key(normalized: str) -> int:
    """The 64-bit hash crawled and cited URLs are matched on, of the normalized URL (normalize_url)."""
    return xxhash.xxh3_64_intdigest(normalized.encode("utf-8"))


def _page_key(url: str | None) -> int | None:
    """A crawled page's URL key; None when it has no http(s) URL."""
    from pipeline.jobs.models_ref import normalize_url

    normalized = normalize_url(url) if url else ""
    return _url_key(normalized) if normalized else None


def _crawl_page_keys(cfg: CorpusConfig) -> tuple[np.ndarray, np.ndarray]:
    """(URL key, has an http(s) URL) of every crawled page, in crawl order."""
    keys, has_url = array.array("Q"), bytearray()
    for doc in _commoncrawl_pages(cfg):
        key = _page_key(doc.url)
        keys.append(0 if key is None else key)
        has_url.append(key is not None)
    return np.frombuffer(keys, np.uint64), np.frombuffer(bytes(has_url), bool)


def _cited_among(cfg: CorpusConfig, crawled: np.ndarray) -> np.ndarray:
    """Which of the sorted `crawled` URL keys some raw Wikipedia page cites (a boolean mask)."""
    from pipeline.jobs.models_ref import cited_urls

    cited = np.zeros(len(crawled), bool)
    if not len(crawled):
        return cited
    for page in _raw_pages(cfg):
        keys = np.fromiter(map(_url_key, cited_urls([page.text])), np.uint64)
        where = np.minimum(np.searchsorted(crawled, keys), len(crawled) - 1)
        cited[where[crawled[where] == keys]] = True
    return cited


def _write_crawl_examples(cfg: CorpusConfig, take: np.ndarray, cited: np.ndarray, positives: Path,
                          negatives: Path) -> None:
    """The crawled pages marked in `take` (indexes in crawl order), into `positives` where `cited`
    and into `negatives` otherwise, one JSON string a line."""
    num_left = int(take.sum())
    with open(positives, "w", encoding="utf-8") as pos, open(negatives, "w", encoding="utf-8") as neg:
        for i, doc in enumerate(_commoncrawl_pages(cfg)):
            if not num_left:
                return
            assert i < len(take), "the crawl changed between two passes"
            if take[i]:
                (pos if cited[i] else neg).write(json.dumps(doc.text, ensure_ascii=False) + "\n")
                num_left -= 1


def _read_texts(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def build_models(cfg: CorpusConfig, launch: Launch) -> dict[str, Any]:
    """Train every model under cfg.models.dir and write its manifest; returns the manifest."""
    from filters.langid import find_lid_model
    from pipeline.jobs.models_lm import find_kenlm_binaries, train_language_model, wikipedia_texts
    from pipeline.jobs.models_ref import card_path_for, positives_source, train_reference_classifier

    missing = [lang for lang in cfg.commoncrawl.languages if lang not in cfg.models.lm_languages]
    if missing:
        raise ValueError(f"commoncrawl.languages {missing} have no perplexity model: add them to models.lm_languages")
    root = Path(cfg.models.dir)
    root.mkdir(parents=True, exist_ok=True)
    set_phase("models: cited pages")  # named on the progress line (pipeline/launch/progress.py)
    page_cited = _cited_pages(cfg)
    positives_source(int(page_cited.sum()), cfg.models)  # too few cited pages stop here, before anything trains
    set_phase("models: Wikipedia corpus")
    corpus_dir = _wikipedia_corpus(cfg, launch)
    lmplz, build_binary = find_kenlm_binaries()
    lm_cards = {}
    for lang in cfg.models.lm_languages:
        set_phase(f"models: language model {lang}")
        lm_cards[lang] = train_language_model(lang, wikipedia_texts(corpus_dir, lang), root, cfg.models, lmplz,
                                              build_binary)
    set_phase("models: reference classifier")
    with tempfile.TemporaryDirectory(prefix=".ref-examples-", dir=root) as work:
        positives, negatives = _reference_examples(cfg, page_cited, Path(work))
        wiki = (text for lang in cfg.commoncrawl.languages for text in wikipedia_texts(corpus_dir, lang))
        ref_card = train_reference_classifier(_read_texts(positives), wiki, _read_texts(negatives),
                                              root / WIKIREF_MODEL, cfg.models,
                                              keep_threshold=cfg.commoncrawl.wiki_ref_threshold)
    ref_files = [root / WIKIREF_MODEL, card_path_for(root / WIKIREF_MODEL)]
    files = [Path(card[key]) for card in lm_cards.values() for key in ("sp_model", "lm")] + ref_files
    manifest = {
        "fingerprint": _fingerprint(cfg),
        "lid": {"path": find_lid_model(), "license": "CC-BY-SA-3.0", "source": "fastText lid.176.ftz"},
        "lm": {lang: {**card, "sp_model": str(Path(card["sp_model"]).relative_to(root)),
                      "lm": str(Path(card["lm"]).relative_to(root))} for lang, card in lm_cards.items()},
        "wikiref": {**ref_card, "path": WIKIREF_MODEL, "card": ref_files[1].name},
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
        raise ValueError(f"no perplexity model for {', '.join(missing)} in {cfg.models.dir}: "
                         "add to models.lm_languages and run `make models`")
    lms = {lang: LanguageModelFiles(str(root / m["sp_model"]), str(root / m["lm"]))
           for lang, m in manifest["lm"].items()}
    return manifest["lid"]["path"], lms, str(root / manifest["wikiref"]["path"])
