"""CCNet's model steps for CommonCrawl, in CCNet's order after line dedup (Wenzek et al. 2020;
LLaMA section 2): language ID (fastText lid.176), perplexity (SentencePiece + a 5-gram KenLM per
language), its bucket, then the Wikipedia-reference classifier (a fastText linear model).

The buckets are cut at percentiles (models.ppl_percentiles: 30, 60) of the perplexities of the
run's CommonCrawl pages of each language, after dedup and language ID, as CCNet cut them (its
cutoff.csv holds percentiles of CommonCrawl pages, not of Wikipedia): the job scores every page,
gathers the perplexities per language, and buckets in a later pass (pipeline/jobs/passes.py).

Each `*_step` function loads its model and returns a plain `Document -> Document | Dropped` step;
the corpus job builds them with `Recipe(lang_id_step, cfg, path)` in `DoFn.setup()`, so each model
loads once per worker. No Beam here.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pipeline.core.document import Document, Dropped, DropReason


@dataclasses.dataclass(frozen=True)
class CommonCrawlConfig:
    """CCNet's recipe (Wenzek et al. 2020) as LLaMA used it, plus the Wikipedia-reference filter."""

    max_record_bytes: int = 16 * 1024 * 1024  # a larger WARC payload is a parse_error
    min_chars: int = 300  # shorter pages are dropped when read (`too_short`), as cc_net's reader does
    languages: tuple[str, ...] = ("en",)  # fastText lid.176 labels to keep
    lang_threshold: float = 0.5  # CCNet keeps lid.176 score >= 0.5
    keep_buckets: tuple[str, ...] = ("head", "middle")  # perplexity buckets kept (RedPajama: head+middle)
    # Perplexity cut-offs between head|middle and middle|tail for every language (for example
    # CCNet's English 340 / 520 with CCNet's own models); empty: the models.ppl_percentiles of the
    # perplexities of this run's CommonCrawl pages of each language, as CCNet cut its buckets.
    ppl_cutoffs: tuple[float, ...] = ()
    wiki_ref_threshold: float = 0.25  # RedPajama kept pages with reference probability >= 0.25

    def __post_init__(self) -> None:
        cut = self.ppl_cutoffs
        if cut and (len(cut) != 2 or not cut[0] <= cut[1]):
            raise ValueError(f"commoncrawl.ppl_cutoffs {list(cut)}: give two increasing perplexities "
                             "(head|middle, middle|tail), or [] to cut at percentiles of this run's pages")


Step = Callable[[Document], "Document | Dropped"]


def load_model(what: str, path: str, load: Callable[[], Any]) -> Any:
    """`load()`, with a model file that cannot be loaded (damaged, truncated, of another format)
    a user error that says what to do. Errors that already say so (ValueErrors naming a `make`
    target) pass as they are."""
    try:
        return load()
    except ValueError as exc:
        if "`make " in str(exc):
            raise
        raise ValueError(f"cannot load {what} from {path} ({exc}): run `make models` again") from None
    except Exception as exc:  # noqa: BLE001 - fastText, KenLM and SentencePiece each raise their own
        raise ValueError(f"cannot load {what} from {path} ({type(exc).__name__}: {exc}): "
                         "run `make models` again") from None


@dataclasses.dataclass(frozen=True)
class LanguageModelFiles:
    """One language's perplexity model, as `make models` recorded it."""

    sp_model: str
    lm: str


def lang_id_step(cfg: CommonCrawlConfig, model_path: str) -> Step:
    """fastText lid.176: record lang and lang_score; keep cfg.languages with score >= threshold."""
    from filters.langid import LanguageIdentifier

    identifier = load_model("the language-identification model", model_path, lambda: LanguageIdentifier(model_path))

    def step(doc: Document) -> Document | Dropped:
        lang, score = identifier.predict(doc.text)
        doc = dataclasses.replace(doc, lang=lang or None, lang_score=score)
        if lang not in cfg.languages or score < cfg.lang_threshold:
            return Dropped(doc, DropReason.LANG, "lang", f"{lang or 'none'} {score:.2f}")
        return doc

    return step


def perplexity_step(models: dict[str, LanguageModelFiles]) -> Step:
    """KenLM perplexity of the page under its language's model, recorded on the document. The
    bucket comes later (bucket_step), once the cut-offs are known: they are percentiles of these
    very perplexities over the run's CommonCrawl pages of that language."""
    from filters.perplexity import PerplexityScorer

    scorers = {lang: load_model(f"the {lang} perplexity model", m.lm, lambda m=m: PerplexityScorer(m.sp_model, m.lm))
               for lang, m in models.items()}

    def step(doc: Document) -> Document | Dropped:
        # The launcher checks that every kept language has a model, so doc.lang is one of them.
        return dataclasses.replace(doc, perplexity=scorers[doc.lang].perplexity(doc.text))

    return step


@dataclasses.dataclass(frozen=True)
class Cutoffs:
    """One language's head|middle and middle|tail perplexity cut-offs, and where they came from:
    "commoncrawl" (cfg percentiles of the run's pages of that language, as CCNet computed them)
    or "config" (commoncrawl.ppl_cutoffs)."""

    values: tuple[float, float]
    origin: str
    pages: int  # pages of the language that had a perplexity
    percentiles: tuple[float, ...]  # the percentiles of those pages (whatever the origin)


def percentile_cutoffs(perplexities, percentiles: tuple[float, ...]) -> tuple[float, ...]:
    """The `percentiles` (numpy's default linear interpolation) of a language's page perplexities.
    A page with no scorable line has perplexity +inf; it counts as the largest value (it is a
    page of the language) without turning an interpolation into NaN."""
    import numpy as np

    values = np.asarray(perplexities, dtype=np.float64)
    finite = values[np.isfinite(values)]
    largest = finite.max() if finite.size else -np.inf
    found = np.percentile(np.minimum(values, np.finfo(np.float64).max), list(percentiles))
    # Above every finite value: the interpolation reached toward +inf, so the cut-off is +inf.
    return tuple(float("inf") if v > largest else round(float(v), 1) for v in found)


def choose_cutoffs(cfg: CommonCrawlConfig, percentiles: tuple[float, ...], perplexities) -> Cutoffs:
    """A language's cut-offs: commoncrawl.ppl_cutoffs when set, else the percentiles of its pages."""
    computed = percentile_cutoffs(perplexities, percentiles) if len(perplexities) else ()
    if cfg.ppl_cutoffs:
        return Cutoffs(tuple(cfg.ppl_cutoffs), "config", len(perplexities), computed)
    return Cutoffs(computed, "commoncrawl", len(perplexities), computed)


def bucket_step(cfg: CommonCrawlConfig, cutoffs: dict[str, Cutoffs]) -> Step:
    """CCNet's buckets: head below the first cut-off, middle below the second, else tail; keep
    cfg.keep_buckets. Built per file from the cut-offs of each language (no model to load)."""
    from filters.perplexity import bucket

    keep = cfg.keep_buckets

    def step(doc: Document) -> Document | Dropped:
        # Every page that reached this step has a perplexity, so its language has cut-offs.
        doc = dataclasses.replace(doc, ppl_bucket=bucket(doc.perplexity, cutoffs[doc.lang].values))
        if doc.ppl_bucket not in keep:
            return Dropped(doc, DropReason.PERPLEXITY, "perplexity", f"{doc.ppl_bucket} {doc.perplexity:.1f}")
        return doc

    return step


def wiki_ref_step(cfg: CommonCrawlConfig, model_path: str) -> Step:
    """The Wikipedia-reference classifier: record wiki_ref_prob; keep pages >= the threshold."""
    from filters.wikiref import WikiRefClassifier

    classifier = load_model("the reference classifier", model_path, lambda: WikiRefClassifier(model_path))
    threshold = cfg.wiki_ref_threshold

    def step(doc: Document) -> Document | Dropped:
        prob = classifier.prob(doc.text)
        doc = dataclasses.replace(doc, wiki_ref_prob=prob)
        if prob < threshold:
            return Dropped(doc, DropReason.WIKI_REF, "wiki_ref", f"{prob:.4f}")
        return doc

    return step
