"""The models job's reference examples (pipeline/jobs/models.py): CommonCrawl pages that Wikipedia cites
are positives, a seeded random sample of the others negatives, at most models.ref_max_examples of
each, streamed through files whatever the size of the dump; too few cited pages stop `make models`
with one line unless models.ref_wikipedia_positives allows Wikipedia text."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from pipeline.core.config import ModelsConfig
from pipeline.jobs.models import _cited_pages, _read_texts, _reference_examples
from pipeline.sources.registry import CorpusConfig, load_corpus_config
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
CITING = ("The harbour was rebuilt.&lt;ref&gt;{{cite web |url=https://www.example.org/harbour/ "
          "|title=Harbour}}&lt;/ref&gt;",
          "See [http://news.example.com/story?id=5 the story] and http://example.net/page.")
PAGES = {  # crawled URL -> page text; the first two are cited above (other scheme, www. and slash aside)
    url: " ".join([text] * 20)  # longer than the 300 characters CCNet's reader keeps
    for url, text in {
        "http://example.org/harbour": "A page about the harbour and its history.",
        "https://news.example.com/story?id=5": "The story of the harbour, as the paper told it.",
        "https://example.com/shop": "Buy cheap watches now, free shipping.",
        "https://example.com/casino": "Best casino bonus, sign up today.",
        "https://example.net/other-page": "A page nobody cites.",
    }.items()
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


def _cfg(tmp_path: Path, **models) -> CorpusConfig:
    return CorpusConfig(input=str(_input(tmp_path / "input")), models=dataclasses.replace(ModelsConfig(), **models))


def _examples(cfg: CorpusConfig, work: Path) -> tuple[list[str], list[str]]:
    work.mkdir()
    positives, negatives = _reference_examples(cfg, _cited_pages(cfg), work)
    return list(_read_texts(positives)), list(_read_texts(negatives))


def test_cited_pages_are_positives_and_the_rest_negatives(tmp_path: Path):
    cfg = _cfg(tmp_path)
    assert _cited_pages(cfg).tolist() == [True, True, False, False, False]
    positives, negatives = _examples(cfg, tmp_path / "work")
    texts = list(PAGES.values())
    assert positives == texts[:2]
    assert negatives == texts[2:]


def test_each_class_is_a_seeded_random_sample_up_to_the_cap(tmp_path: Path):
    texts = list(PAGES.values())
    picked = {}
    for seed in range(1, 9):
        cfg = _cfg(tmp_path / str(seed), ref_max_examples=1, ref_seed=seed)
        positives, negatives = _examples(cfg, tmp_path / str(seed) / "work")
        assert (positives, negatives) == _examples(cfg, tmp_path / str(seed) / "again")  # same seed, same sample
        assert len(positives) == len(negatives) == 1 and positives[0] in texts[:2] and negatives[0] in texts[2:]
        picked[seed] = (positives[0], negatives[0])
    assert len({neg for _, neg in picked.values()}) > 1  # not always the first page of the crawl


def test_too_few_cited_pages_stop_make_models_with_one_line(tmp_path: Path, capsys):
    """The command line as `make models` runs it, with Wikipedia positives off (the llama preset's
    default): exit code 2, one line on stderr that counts the cited pages and names the setting,
    and nothing trained."""
    from pipeline.cli import main

    root, models_dir = _input(tmp_path / "input"), tmp_path / "models"
    argv = ["models", "--input", str(root), "--set", f"models.dir={models_dir}", "--set",
            "models.ref_wikipedia_positives=false"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("corral: error: reference classifier: found 2 CommonCrawl pages cited by Wikipedia, "
                          "fewer than models.ref_min_positives (1000);")
    assert "`models.ref_wikipedia_positives: true`" in err
    assert list(models_dir.iterdir()) == []  # stopped before the Wikipedia corpus and the language models


def test_presets_allow_wikipedia_positives_in_sample_only():
    assert load_corpus_config("sample").models.ref_wikipedia_positives is True
    assert load_corpus_config("llama").models.ref_wikipedia_positives is False
    assert ModelsConfig().ref_wikipedia_positives is False


def test_sample_models_card_says_which_positives_and_gives_heldout_figures(sample_models: str):
    """The sample preset's `make models`: the bundled sample's crawl holds no cited page, so
    Wikipedia text fills the positives and the card (beside the model and in the manifest) says so."""
    root = Path(sample_models)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    card = json.loads((root / manifest["wikiref"]["card"]).read_text(encoding="utf-8"))
    assert manifest["wikiref"]["card"] == "wikiref.json" and "wikiref.json" in {f["path"] for f in manifest["files"]}
    assert card["positives"] == "wikipedia_text" == manifest["wikiref"]["positives"]
    assert card["positives_cited"] == 0 and card["positives_wikipedia"] == card["negatives"] > 0
    assert card["heldout_positives"] >= 1 and card["heldout_negatives"] >= 1
    for key in ("heldout_precision", "heldout_recall", "heldout_auc"):
        assert 0.0 <= card[key] <= 1.0
