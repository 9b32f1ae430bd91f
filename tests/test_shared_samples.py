"""The corpus job on the real files in ../shared/corpus-samples (read-only): the issue's acceptance."""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.jobs.verify import verify_corpus
from tests.conftest import SHARED_SAMPLES

DROPPED_LANGS = ("ja", "vi", "el", "hy", "bn", "mr")
KEPT_LANGS = ("en", "bg", "uk")
MARKUP = ("[[", "{{", "<ref", "|}")


@pytest.fixture(scope="module")
def shared_run(shared_corpus):
    return shared_corpus


def _kept(out, source):
    tables = [pa.ipc.open_file(str(p)).read_all() for p in sorted((out / source).glob("part-*.arrow"))]
    return pa.concat_tables(tables).to_pylist()


def test_every_shard_reads_with_plain_pyarrow_and_counts_agree(shared_run):
    assert verify_corpus(str(shared_run)) == []


def test_wikipedia_languages(shared_run):
    kept = _kept(shared_run, "wikipedia")
    langs = {d["lang"] for d in kept}
    assert all(lang in langs for lang in KEPT_LANGS)
    assert not langs & set(DROPPED_LANGS)
    stats = json.loads((shared_run / "stats.json").read_text())["sources"]["wikipedia"]
    assert stats["dropped"]["language_not_kept"] > 0 and stats["dropped"]["redirect"] > 0


def test_wikipedia_text_is_clean_and_has_no_redirects(shared_run):
    for doc in _kept(shared_run, "wikipedia"):
        assert not any(m in doc["text"] for m in MARKUP), doc["id"]
        meta = json.loads(doc["metadata"])
        assert not meta["redirect"] and meta["ns"] == 0
        assert not doc["text"].lstrip().upper().startswith("#REDIRECT")


def test_c4_keeps_most_and_counts_every_drop(shared_run):
    stats = json.loads((shared_run / "stats.json").read_text())["sources"]["c4"]
    assert stats["seen"] == 1005  # the 1000-document head plus the 5-document original head
    assert stats["kept"] > 900
    assert stats["seen"] == stats["kept"] + sum(stats["dropped"].values())
    assert all(reason.startswith("c4_") or reason == "empty" or reason == "duplicate_exact"
               for reason in stats["dropped"])
    # The 5-document head is byte-identical to the first 5 of the 1000: exact dedup keeps one of each.
    assert stats["dropped"]["duplicate_exact"] == 5 and stats["dedup"]["exact"]["clusters"] == 5


def _dropped(out, source):
    tables = [pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "dropped" / source).glob("part-*.arrow"))]
    return pa.concat_tables(tables).to_pylist()


def _file(doc):
    return json.loads(doc["metadata"]).get("file", doc["id"].split("#")[0].split("@")[0])


def test_commoncrawl_languages_dropped_and_english_scored(shared_run):
    docs = [d for d in _kept(shared_run, "commoncrawl") + _dropped(shared_run, "commoncrawl")
            if _file(d) == "CC-MAIN-2020-34_sample.warc.gz" and d.get("drop_reason") != "parse_error"]
    assert len(docs) == 16
    for doc in docs:
        if doc["lang"] in ("zh", "de", "ja", "ru", "nl"):
            assert doc["drop_reason"] == "lang", doc["url"]
    english = [d for d in docs if d["lang"] == "en"]
    assert english and all(d["lang_score"] >= 0.5 and d["perplexity"] > 0 and d["ppl_bucket"] for d in english)
    russian = [d for d in docs if d["url"] == "http://01spb.ru/company/"]
    assert russian[0]["lang"] == "ru" and "О компании" in russian[0]["text"]


def test_commoncrawl_damage_is_counted_and_the_rest_goes_on(shared_run):
    everything = _kept(shared_run, "commoncrawl") + _dropped(shared_run, "commoncrawl")
    by_file = {}
    for doc in everything:
        by_file.setdefault(_file(doc), []).append(doc.get("drop_reason"))
    assert by_file["clipped-response.warc.gz"] == ["parse_error"]
    assert set(by_file["cc_net_sample_SEMISYNTHETIC.warc.wet"]) == {"parse_error"}
    assert any(r != "parse_error" for r in by_file["CC-MAIN-2024-22_whirlwind.warc.wet.gz"])  # the WET record parses
    assert len(by_file["wget_sample-0000.warc.gz"]) == 22 and "parse_error" not in by_file["wget_sample-0000.warc.gz"]


def test_commoncrawl_duplicate_page_removed(shared_run):
    copies = [d for d in _kept(shared_run, "commoncrawl") + _dropped(shared_run, "commoncrawl") if d["url"] == "https://allenai.org/"]
    assert len(copies) == 3  # fetched three times in wget_sample-0001, same extracted text
    assert sorted(d.get("drop_reason") == "duplicate_exact" for d in copies) == [False, True, True]


def test_every_kept_commoncrawl_document_carries_its_scores(shared_run):
    kept = _kept(shared_run, "commoncrawl")
    assert kept
    for doc in kept:
        assert doc["lang"] == "en" and doc["lang_score"] >= 0.5
        assert doc["perplexity"] is not None and doc["ppl_bucket"] in ("head", "middle")
        assert doc["wiki_ref_prob"] >= 0.25


def _meta(doc):
    return json.loads(doc["metadata"])


def test_github_licenses_and_files(shared_run):
    kept = _kept(shared_run, "github")
    repos = {_meta(d)["repo"] for d in kept}
    assert repos == {"facebookresearch/cc_net", "webrecorder/warcio", "commoncrawl/whirlwind-python",
                     "pallets/markupsafe", "ssvb/xztextfilter"}
    assert {_meta(d)["license"] for d in kept} <= {"mit", "apache-2.0", "bsd-3-clause"}
    licenses = {d["id"]: d["drop_detail"] for d in _dropped(shared_run, "github") if d["drop_reason"] == "license"}
    assert len(licenses) == 5
    assert any("gpl-2.0" in v for v in licenses.values()) and any("wtfpl" in v for v in licenses.values())
    assert any("llama" in v for v in licenses.values()) and list(licenses.values()).count("none") == 2
    paths = [_meta(d)["path"] for d in kept]
    assert not any(p.endswith((".min.js", ".png", ".gz", ".warc")) for p in paths)
    assert all("\x00" not in d["text"] for d in kept)


def test_stackexchange_questions_with_sorted_answers(shared_run):
    kept = _kept(shared_run, "stackexchange")
    sites = {_meta(d)["site"] for d in kept}
    assert sites == {"coffee.stackexchange.com", "datascience.meta.stackexchange.com", "conlang.meta.stackexchange.com"}
    # Every question, answered or not (RedPajama kept unanswered ones alone), conlang once for its
    # folder and .7z; the count is read from the dumps themselves.
    se = SHARED_SAMPLES / "stackexchange"
    folders = ("coffee.stackexchange.com_2015-03", "datascience.meta.stackexchange.com_2017-03",
               "conlang.meta.stackexchange.com_2020-09")
    questions = {f: sum(1 for r in ET.parse(se / f / "Posts.xml").getroot() if r.get("PostTypeId") == "1")
                 for f in folders}
    assert len(kept) == sum(questions.values()) > 212 + 87 + 49  # more than the answered ones
    for doc in kept:
        scores = _meta(doc)["answer_scores"]
        assert scores == sorted(scores, reverse=True) and len(scores) == _meta(doc)["num_answers"]
        assert "<p>" not in doc["text"] and "<div" not in doc["text"]
    dropped = _dropped(shared_run, "stackexchange")
    # Questions are assembled per file (no post text through a shuffle): conlang's folder and its .7z
    # give each question twice, and exact dedup keeps one copy of each.
    copies = [d for d in dropped if d["drop_reason"] == "duplicate_exact"]
    assert len(copies) == questions[folders[2]] and all(_meta(d)["duplicate_of"] == d["id"] for d in copies)
    assert {d["drop_reason"] for d in dropped} == {"duplicate_exact"}


def test_arxiv_cleaning_and_drops(shared_run):
    kept = {d["id"]: d for d in _kept(shared_run, "arxiv")}
    paper = kept["1801.03879"]["text"]
    assert paper.startswith("\\section") and "thebibliography" not in paper and "\\bibliography{" not in paper
    assert not any(line.lstrip().startswith("%") for line in paper.splitlines())
    assert "\\newcommand" not in paper and "\\def\\" not in paper
    assert any("upload4" in _meta(d)["file"] for d in kept.values())  # the single gzipped .tex
    drops = {_meta(d).get("file", d["id"]): d["drop_detail"] for d in _dropped(shared_run, "arxiv")}
    assert drops["arxiv-cs-9901011_HTML-only_BriefHistoryInternet.tar.gz"] == "html-only"
    assert drops["arxiv-2260340_includepdf-only.tar.gz"] == "pdf-only"
    assert all("._" not in f for d in kept.values() for f in _meta(d).get("inlined", []))


def test_books_without_boilerplate_and_editions_collapsed(shared_run):
    kept = _kept(shared_run, "books")
    assert len(kept) == 8
    for doc in kept:
        text = doc["text"]
        assert "*** START OF" not in text and "*** END OF" not in text and "SMALL PRINT" not in text
        assert "gutenberg.org/license" not in text.lower() and "Project Gutenberg-tm" not in text
    dropped = [d for d in _dropped(shared_run, "books") if d["drop_reason"] == "duplicate_book"]
    pairs = {frozenset((d["id"], _meta(d)["duplicate_of"])) for d in dropped}
    stems = {frozenset(x.split("_")[0] for x in pair) for pair in pairs}
    assert stems == {frozenset({"pg972"}), frozenset({"pg3261"}), frozenset({"pg44157"})}


# --- CommonCrawl kept as CCNet keeps it (issue 13) ---------------------------------------------------
def _english_scored(out):
    """English pages that reached the perplexity step (they carry a perplexity, kept or not)."""
    docs = _kept(out, "commoncrawl") + _dropped(out, "commoncrawl")
    return [d for d in docs if d["lang"] == "en" and d["perplexity"] is not None]


def test_commoncrawl_buckets_are_cut_at_percentiles_of_commoncrawl_pages(shared_run):
    """CCNet's head + middle is the pages under the 60th percentile of the language's CommonCrawl
    perplexities: about 60% of the English pages that reach the step pass it."""
    scored = _english_scored(shared_run)
    passed = [d for d in scored if d["ppl_bucket"] in ("head", "middle")]
    assert len(scored) >= 20 and 0.50 <= len(passed) / len(scored) <= 0.72
    cut = json.loads((shared_run / "stats.json").read_text())["sources"]["commoncrawl"]["perplexity_cutoffs"]["en"]
    assert cut["from"] == "commoncrawl" and cut["pages"] == len(scored)
    assert list(cut["percentiles"]) == ["30", "60"] and cut["cutoffs"] == list(cut["percentiles"].values())
    assert all(d["perplexity"] < cut["cutoffs"][1] for d in passed)
    assert all(d["perplexity"] >= cut["cutoffs"][1] for d in scored if d["ppl_bucket"] == "tail")


def test_kept_commoncrawl_pages_are_english_and_300_characters_or_more(shared_run):
    kept = _kept(shared_run, "commoncrawl")
    assert kept and all(d["lang"] == "en" and len(d["text"]) >= 300 for d in kept)
    short = [d for d in _dropped(shared_run, "commoncrawl") if d["drop_reason"] == "too_short"]
    assert short and all(0 < len(d["text"]) < 300 and d["drop_stage"] == "read" for d in short)


def test_heldout_wikipedia_text_written_as_a_wet_file_is_kept(shared_models, shared_samples, tmp_path):
    """An English Wikipedia article the language model never saw (held out by `make models`),
    crawled as a WET record among the real CommonCrawl files, passes every CCNet step."""
    from pipeline.core.text import normalize_line
    from pipeline.jobs.models_lm import HELDOUT_EVERY, wikipedia_texts
    from tests.conftest import run_corpus

    # The documents `make models` trained on, in its order (documents with a scorable line).
    texts = (t for t in wikipedia_texts(str(Path(shared_models) / "wikipedia-corpus"), "en")
             if any(map(normalize_line, t.split("\n"))))
    article = next(t for i, t in enumerate(texts) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1 and len(t) >= 2000)
    root = tmp_path / "in" / "commoncrawl"
    root.mkdir(parents=True)
    for path in sorted((shared_samples / "commoncrawl").iterdir()):
        (root / path.name).symlink_to(path)  # the real files, read where they are
    body = article.encode("utf-8")
    head = ("WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://en.wikipedia.org/wiki/Held_out\r\n"
            "WARC-Date: 2024-05-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n")
    (root / "zz-heldout.warc.wet").write_bytes(head.encode() + body + b"\r\n\r\n")
    out = run_corpus(tmp_path / "out", tmp_path / "in", shared_models, "--set", "sources=[commoncrawl]")
    page = [d for d in _kept(out, "commoncrawl") + _dropped(out, "commoncrawl") if d["url"] == "https://en.wikipedia.org/wiki/Held_out"]
    assert len(page) == 1 and page[0].get("drop_reason") is None, page[0].get("drop_detail")
