"""CCNet's model steps for CommonCrawl, in CCNet's order after line dedup (Wenzek et al. 2020;
LLaMA section 2): language ID (fastText lid.176), perplexity and its bucket (SentencePiece + a
5-gram KenLM per language), then the Wikipedia-reference classifier (a fastText linear model).

Each class is a picklable factory: the Beam layer calls it in `DoFn.setup()`, so each model loads
once per worker, and it returns a plain `Document -> Document | Dropped` step. No Beam here.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from pipeline.config import CommonCrawlConfig
from pipeline.document import Document, DropReason, Dropped

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
        raise ValueError(f"cannot load {what} from {path} ({type(exc).__name__}: {exc}): run `make models` again") from None


@dataclasses.dataclass(frozen=True)
class LanguageModelFiles:
    """One language's perplexity model, as `make models` recorded it."""

    sp_model: str
    lm: str
    cutoffs: tuple[float, float]


class LangIdStep:
    """fastText lid.176: record lang and lang_score; keep cfg.languages with score >= threshold."""

    def __init__(self, cfg: CommonCrawlConfig, model_path: str) -> None:
        self._cfg, self._model_path = cfg, model_path

    def __call__(self) -> Step:
        from filters.langid import LanguageIdentifier

        identifier, cfg = load_model("the language-identification model", self._model_path,
                                      lambda: LanguageIdentifier(self._model_path)), self._cfg

        def step(doc: Document) -> Document | Dropped:
            lang, score = identifier.predict(doc.text)
            doc = dataclasses.replace(doc, lang=lang or None, lang_score=score)
            if lang not in cfg.languages or score < cfg.lang_threshold:
                return Dropped(doc, DropReason.LANG, "lang", f"{lang or 'none'} {score:.2f}")
            return doc

        return step


class PerplexityStep:
    """KenLM perplexity of the page's language model; bucket head/middle/tail; keep cfg.keep_buckets."""

    def __init__(self, cfg: CommonCrawlConfig, models: dict[str, LanguageModelFiles]) -> None:
        self._cfg, self._models = cfg, models

    def __call__(self) -> Step:
        from filters.perplexity import PerplexityScorer, bucket

        scorers = {lang: load_model(f"the {lang} perplexity model", m.lm, lambda m=m: PerplexityScorer(m.sp_model, m.lm))
                   for lang, m in self._models.items()}
        cutoffs = {lang: tuple(self._cfg.ppl_cutoffs) or m.cutoffs for lang, m in self._models.items()}
        keep = self._cfg.keep_buckets

        def step(doc: Document) -> Document | Dropped:
            # The launcher checks that every kept language has a model, so doc.lang is one of them.
            perplexity = scorers[doc.lang].perplexity(doc.text)
            doc = dataclasses.replace(doc, perplexity=perplexity, ppl_bucket=bucket(perplexity, cutoffs[doc.lang]))
            if doc.ppl_bucket not in keep:
                return Dropped(doc, DropReason.PERPLEXITY, "perplexity", f"{doc.ppl_bucket} {perplexity:.1f}")
            return doc

        return step


class WikiRefStep:
    """The Wikipedia-reference classifier: record wiki_ref_prob; keep pages >= the threshold."""

    def __init__(self, cfg: CommonCrawlConfig, model_path: str) -> None:
        self._cfg, self._model_path = cfg, model_path

    def __call__(self) -> Step:
        from filters.wikiref import WikiRefClassifier

        classifier = load_model("the reference classifier", self._model_path, lambda: WikiRefClassifier(self._model_path))
        threshold = self._cfg.wiki_ref_threshold

        def step(doc: Document) -> Document | Dropped:
            prob = classifier.prob(doc.text)
            doc = dataclasses.replace(doc, wiki_ref_prob=prob)
            if prob < threshold:
                return Dropped(doc, DropReason.WIKI_REF, "wiki_ref", f"{prob:.4f}")
            return doc

        return step
