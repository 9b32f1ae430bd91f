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

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

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


def _reference_examples(cfg: CorpusConfig, corpus_dir: str) -> tuple[list[str], Iterator[str], list[str]]:
    from pipeline.models_lm import wikipedia_texts
    from pipeline.models_ref import cited_urls, normalize_url

    cited = cited_urls(d.text for d in _raw_pages(cfg))
    positives, negatives, cap = [], [], cfg.models.ref_max_examples
    for doc in _commoncrawl_pages(cfg):
        if doc.url and normalize_url(doc.url) in cited:
            if len(positives) < cap:
                positives.append(doc.text)
        elif len(negatives) < cap:
            negatives.append(doc.text)
    wiki = (text for lang in cfg.commoncrawl.languages for text in wikipedia_texts(corpus_dir, lang))
    return positives, wiki, negatives


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
    positives, wiki, negatives = _reference_examples(cfg, corpus_dir)
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
