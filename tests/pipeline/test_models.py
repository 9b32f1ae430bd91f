"""The models job's reference examples (pipeline/models.py): CommonCrawl pages that Wikipedia cites
are positives, the others negatives, the first models.ref_max_examples of each in crawl order,
streamed through files whatever the size of the dump."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.config import CorpusConfig, ModelsConfig
from pipeline.models import _reference_examples
from tests.pipeline.sources.test_commoncrawl import warc

SITE = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">
  <siteinfo><sitename>Wikipedia</sitename><dbname>enwiki</dbname>
    <namespaces><namespace key="0" case="first-letter" /></namespaces></siteinfo>
{pages}</mediawiki>
"""
PAGE = """  <page><title>{title}</title><ns>0</ns><id>{id}</id>
    <revision><id>{id}0</id><timestamp>2024-01-01T00:00:00Z</timestamp><model>wikitext</model>
      <text xml:space="preserve">{text}</text></revision></page>
"""
CITING = ("The harbour was rebuilt.&lt;ref&gt;{{cite web |url=https://www.example.org/harbour/ |title=Harbour}}&lt;/ref&gt;",
          "See [http://news.example.com/story?id=5 the story] and http://example.net/page.")
PAGES = {  # crawled URL -> page text; the first two are cited above (other scheme, www. and slash aside)
    "http://example.org/harbour": "A page about the harbour and its history.",
    "https://news.example.com/story?id=5": "The story of the harbour, as the paper told it.",
    "https://example.com/shop": "Buy cheap watches now, free shipping.",
    "https://example.com/casino": "Best casino bonus, sign up today.",
    "https://example.net/other-page": "A page nobody cites.",
}


def _input(root: Path) -> Path:
    wiki = root / "wikipedia"
    wiki.mkdir(parents=True)
    pages = "".join(PAGE.format(title=f"Article {i}", id=100 + i, text=text) for i, text in enumerate(CITING))
    (wiki / "enwiki-test-pages-articles.xml").write_text(SITE.format(pages=pages), encoding="utf-8")
    crawl = root / "commoncrawl"
    crawl.mkdir()
    records = [warc("conversion", text.encode(), i + 1, url, "Content-Type: text/plain")
               for i, (url, text) in enumerate(PAGES.items())]
    (crawl / "CC-MAIN-2099-01-test.warc.wet").write_bytes(b"".join(records))
    return root


def _examples(tmp_path: Path, **models) -> tuple[list[str], list[str]]:
    cfg = CorpusConfig(input=str(_input(tmp_path / "input")), models=dataclasses.replace(ModelsConfig(), **models))
    work = tmp_path / "work"
    work.mkdir()
    positives, _, negatives = _reference_examples(cfg, str(tmp_path / "no-corpus"), work)
    return list(positives), list(negatives)


def test_cited_pages_are_positives_and_the_rest_negatives(tmp_path: Path):
    positives, negatives = _examples(tmp_path)
    texts = list(PAGES.values())
    assert positives == texts[:2]
    assert negatives == texts[2:]


def test_each_class_is_the_first_pages_in_crawl_order_up_to_the_cap(tmp_path: Path):
    positives, negatives = _examples(tmp_path, ref_max_examples=1)
    texts = list(PAGES.values())
    assert positives == texts[:1] and negatives == texts[2:3]
