"""What the corpus job does with each source: its reader, cleaning, checks and model steps.

A SourcePlan is plain data the job's passes run; nothing here touches Beam. Model-backed parts are
factories, built in `DoFn.setup()` so a model loads once per worker.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable

from dedup.common import KeyedStep
from filters.basic import check_not_empty
from filters.c4 import C4Filter
from filters.ccnet import BucketStep, LangIdStep, LanguageModelFiles, PerplexityStep, WikiRefStep
from filters.filter_documents import Plain
from filters.github import clean_github
from pipeline.core.config import CorpusConfig, DedupConfig, ExactDedupConfig
from pipeline.core.stages import Bind
from pipeline.sources.arxiv import parse_arxiv_file
from pipeline.sources.books import parse_books_file
from pipeline.sources.c4 import parse_c4_file
from pipeline.sources.commoncrawl import parse_commoncrawl_file
from pipeline.sources.github import parse_github_file
from pipeline.sources.stackexchange import SiteStep, parse_questions_file
from pipeline.sources.wikipedia import clean_wikipedia, parse_wikipedia_file


@dataclasses.dataclass(frozen=True)
class CommonCrawlModels:
    lid: str
    lms: dict[str, LanguageModelFiles]
    wikiref: str


@dataclasses.dataclass(frozen=True)
class SourcePlan:
    source: str
    parse_file: Callable[..., Iterable]  # (path, rel, cfg) -> Documents and Dropped records
    parse_cfg: object
    clean: Callable | None  # a step factory, or None when the reader's output is already clean
    checks: list  # check factories, run in order (first failure drops, stage "filter")
    pre_steps: list[KeyedStep] = dataclasses.field(default_factory=list)  # keyed steps before dedup
    after_dedup: list[tuple[str, Callable]] = dataclasses.field(default_factory=list)  # (stage, step factory)
    # CommonCrawl: the perplexity bucket needs cut-offs computed from every page of the source, so
    # it (and the steps after it) run in a later per-file pass, once the cut-offs are known.
    bucket: BucketStep | None = None
    after_bucket: list[tuple[str, Callable]] = dataclasses.field(default_factory=list)
    dedup: DedupConfig | None = None  # this source's dedup settings where they differ from cfg.dedup


def plan_source(source: str, cfg: CorpusConfig, models: CommonCrawlModels | None) -> SourcePlan:
    checks = [Plain(check_not_empty)]
    if source == "c4":
        return SourcePlan(source, parse_c4_file, cfg.c4, functools.partial(C4Filter, cfg.c4), checks)
    if source == "wikipedia":
        return SourcePlan(source, parse_wikipedia_file, cfg.wikipedia, Bind(clean_wikipedia, cfg.wikipedia), checks)
    if source == "github":  # RedPajama's exact file dedup hashes the content as it is
        raw = dataclasses.replace(cfg.dedup, exact=ExactDedupConfig("none")) if cfg.github.raw_exact_dedup else None
        return SourcePlan(source, parse_github_file, cfg.github, Bind(clean_github, cfg.github), checks, dedup=raw)
    if source == "stackexchange":  # questions are assembled per file; the largest sites chosen from counts
        se = cfg.stackexchange
        return SourcePlan(source, parse_questions_file, se, None, checks, pre_steps=[SiteStep(se)])
    if source == "arxiv":  # the LaTeX cleaning happens while reading, where the archive's files are
        return SourcePlan(source, parse_arxiv_file, cfg.arxiv, None, checks)
    if source == "books":  # Gutenberg boilerplate is stripped while reading, as the encoding is decided
        return SourcePlan(source, parse_books_file, cfg.books, None, checks)
    assert source == "commoncrawl" and models is not None, source
    cc = cfg.commoncrawl
    # CCNet's order: line dedup (the dedup steps), language ID, perplexity; then, with the cut-offs
    # of the whole source, the buckets and the Wikipedia-reference classifier.
    steps = [("lang", LangIdStep(cc, models.lid)), ("perplexity", PerplexityStep(models.lms))]
    return SourcePlan(source, parse_commoncrawl_file, cc, None, checks, after_dedup=steps, bucket=BucketStep(cc),
                      after_bucket=[("wiki_ref", WikiRefStep(cc, models.wikiref))])
