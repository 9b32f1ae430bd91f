"""filters/ccnet.py: CCNet's CommonCrawl steps, at their boundaries, with the real models (lid.176
from its PyPI package; the perplexity and reference models `make models` trains on the sample)."""
from __future__ import annotations

import numpy as np
import pytest

from filters.ccnet import (
    CommonCrawlConfig,
    Cutoffs,
    bucket_step,
    choose_cutoffs,
    lang_id_step,
    percentile_cutoffs,
    perplexity_step,
    wiki_ref_step,
)
from pipeline.core.config import ModelsConfig
from pipeline.core.document import Document, Dropped
from pipeline.jobs.models import commoncrawl_models
from pipeline.sources.registry import CorpusConfig

# lid.176 gives this English-then-German text exactly 0.50 for "en" (found by search, checked below).
HALF_ENGLISH = ("The old mill by the river was rebuilt after the flood and now grinds flour for the village "
                "bakery every Die alte Mühle am Fluss wurde")


def _doc(text: str = "text", **fields) -> Document:
    return Document(id=fields.pop("id", "d"), source="commoncrawl", text=text, **fields)


@pytest.fixture(scope="module")
def models(sample_models):
    return commoncrawl_models(CorpusConfig(models=ModelsConfig(dir=sample_models)))


# --- cut-offs ---------------------------------------------------------------------------------------
def test_percentile_cutoffs_are_numpys_linear_percentiles():
    # 100, 200, ..., 1000: the 30th percentile sits at rank 2.7 (300 + 0.7 * 100), the 60th at 5.4.
    assert percentile_cutoffs(np.arange(100.0, 1001.0, 100.0), (30.0, 60.0)) == (370.0, 640.0)
    # A page with no scorable line (+inf) is the largest value, not a NaN.
    assert percentile_cutoffs([1.0, 2.0, float("inf"), float("inf")], (30.0, 60.0)) == (1.9, float("inf"))


def test_planted_pages_land_in_their_buckets_under_computed_and_configured_cutoffs():
    perplexities = [100.0 * k for k in range(1, 11)]
    pages = [_doc(id=f"p{int(p)}", lang="en", perplexity=p) for p in perplexities]

    computed = {"en": choose_cutoffs(CommonCrawlConfig(), (30.0, 60.0), perplexities)}
    assert computed["en"] == Cutoffs((370.0, 640.0), "commoncrawl", 10, (370.0, 640.0))
    step = bucket_step(CommonCrawlConfig(), computed)
    out = [step(page) for page in pages]
    assert [o.doc.ppl_bucket if isinstance(o, Dropped) else o.ppl_bucket for o in out] == \
        ["head"] * 3 + ["middle"] * 3 + ["tail"] * 4
    assert [isinstance(o, Dropped) for o in out] == [False] * 6 + [True] * 4
    assert out[6].reason.value == "perplexity" and out[6].detail == "tail 700.0"

    # CCNet's published English cut-offs, given in the config, win over the computed ones.
    cfg = CommonCrawlConfig(ppl_cutoffs=(340.0, 520.0))
    configured = {"en": choose_cutoffs(cfg, (30.0, 60.0), perplexities)}
    assert configured["en"] == Cutoffs((340.0, 520.0), "config", 10, (370.0, 640.0))
    kept = [step(page) for step in [bucket_step(cfg, configured)] for page in pages]
    assert [getattr(o, "ppl_bucket", None) or o.doc.ppl_bucket for o in kept] == \
        ["head"] * 3 + ["middle"] * 2 + ["tail"] * 5


def test_a_perplexity_on_a_cutoff_belongs_to_the_next_bucket():
    """cc_net PerplexityBucket.get_bucket: head if ppl < head cut-off, middle if < tail cut-off."""
    cutoffs = {"en": Cutoffs((340.0, 520.0), "config", 0, ())}
    step = bucket_step(CommonCrawlConfig(keep_buckets=("head", "middle", "tail")), cutoffs)
    assert step(_doc(lang="en", perplexity=339.9)).ppl_bucket == "head"
    assert step(_doc(lang="en", perplexity=340.0)).ppl_bucket == "middle"
    assert step(_doc(lang="en", perplexity=520.0)).ppl_bucket == "tail"
    assert step(_doc(lang="en", perplexity=float("inf"))).ppl_bucket == "tail"


def test_each_language_is_cut_by_its_own_cutoffs():
    cutoffs = {"en": Cutoffs((100.0, 200.0), "commoncrawl", 5, (100.0, 200.0)),
               "de": Cutoffs((1000.0, 2000.0), "commoncrawl", 5, (1000.0, 2000.0))}
    step = bucket_step(CommonCrawlConfig(languages=("en", "de")), cutoffs)
    assert isinstance(step(_doc(lang="en", perplexity=500.0)), Dropped)
    assert step(_doc(lang="de", perplexity=500.0)).ppl_bucket == "head"


# --- language ID ------------------------------------------------------------------------------------
def test_lang_score_exactly_at_the_threshold_is_kept(models):
    lid, _, _ = models
    step = lang_id_step(CommonCrawlConfig(), lid)
    kept = step(_doc(HALF_ENGLISH))
    assert not isinstance(kept, Dropped) and (kept.lang, kept.lang_score) == ("en", 0.5)
    dropped = lang_id_step(CommonCrawlConfig(lang_threshold=0.51), lid)(_doc(HALF_ENGLISH))
    assert isinstance(dropped, Dropped) and dropped.reason.value == "lang" and dropped.detail == "en 0.50"


def test_pages_of_other_languages_are_dropped_with_their_language(models):
    lid, _, _ = models
    step = lang_id_step(CommonCrawlConfig(), lid)
    german = step(_doc("Die alte Mühle am Fluss wurde nach der Flut wieder aufgebaut und mahlt jetzt jeden "
                       "Morgen Mehl."))
    assert isinstance(german, Dropped) and german.doc.lang == "de" and german.detail.startswith("de ")
    both = lang_id_step(CommonCrawlConfig(languages=("en", "de")), lid)(german.doc)
    assert not isinstance(both, Dropped) and both.lang == "de"


# --- perplexity -------------------------------------------------------------------------------------
def test_perplexity_step_records_the_scorers_perplexity_and_drops_nothing(models):
    from filters.perplexity import PerplexityScorer

    _, lms, _ = models
    text = "The village has a school, a church and a small museum about the history of the river."
    scored = perplexity_step(lms)(_doc(text, lang="en"))
    reference = PerplexityScorer(lms["en"].sp_model, lms["en"].lm).perplexity(text)
    assert not isinstance(scored, Dropped) and scored.perplexity == reference and scored.ppl_bucket is None


# --- reference classifier ---------------------------------------------------------------------------
def test_reference_probability_exactly_at_the_threshold_is_kept(models):
    _, _, ref = models
    page = _doc("The village has a school, a church and a small museum about the history of the river.")
    prob = wiki_ref_step(CommonCrawlConfig(), ref)(page)
    prob = (prob.doc if isinstance(prob, Dropped) else prob).wiki_ref_prob
    at = wiki_ref_step(CommonCrawlConfig(wiki_ref_threshold=prob), ref)(page)
    assert not isinstance(at, Dropped) and at.wiki_ref_prob == prob
    above = wiki_ref_step(CommonCrawlConfig(wiki_ref_threshold=float(np.nextafter(prob, 1.0))), ref)(page)
    assert isinstance(above, Dropped) and above.reason.value == "wiki_ref"


def test_default_thresholds_are_ccnet_and_redpajama():
    cfg = CommonCrawlConfig()
    assert (cfg.lang_threshold, cfg.wiki_ref_threshold, cfg.keep_buckets, cfg.min_chars) == (
        0.5, 0.25, ("head", "middle"), 300)
    assert ModelsConfig().ppl_percentiles == (30.0, 60.0)
