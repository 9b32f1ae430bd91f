"""Training CCNet's per-language SentencePiece + KenLM models (pipeline/jobs/models_lm.py): files that
load, the cut-offs, determinism, empty input, subprocess failures, reading the Wikipedia shards,
finding the KenLM programs, and the acceptance check on real English Wikipedia against spam."""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import html
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from filters.perplexity import PerplexityScorer
from pipeline.core.config import ModelsConfig
from pipeline.core.document import ARROW_SCHEMA, Document, documents_to_table
from pipeline.jobs import models_lm
from pipeline.jobs.models_lm import find_kenlm_binaries, train_language_model, wikipedia_texts
from pipeline.sources.wikipedia import WikipediaConfig
from tests.filters import test_perplexity
from tests.filters.test_perplexity import SPAM, TINY_CFG, english_like

# The perplexity tests' session fixtures, bound here under their own names so that pytest finds them.
kenlm_binaries = test_perplexity.kenlm_binaries
tiny_model = test_perplexity.tiny_model

ENWIKI = "wikipedia/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
CC_WARC = "commoncrawl/CC-MAIN-2020-34_sample.warc.gz"


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# train_language_model

def test_trained_files_load_and_summary_is_complete(tiny_model: dict[str, Any]):
    scorer = PerplexityScorer(tiny_model["sp_model"], tiny_model["lm"])
    assert scorer.sp.get_piece_size() == tiny_model["sp_vocab_size"] <= TINY_CFG.sp_vocab_size
    assert scorer.lm.order == TINY_CFG.kenlm_order
    assert tiny_model["num_docs"] == 300 and tiny_model["num_heldout_docs"] == 30
    assert tiny_model["num_chars"] == sum(len(t) for t in english_like(1, 300))
    assert set(tiny_model["ppl_percentiles"]) == {"30.0", "60.0"}
    assert tiny_model["cutoffs"] == list(tiny_model["ppl_percentiles"].values())
    assert tiny_model["cutoffs_from"] == "heldout"
    assert tiny_model["train_ppl_median"] < tiny_model["heldout_ppl_median"]  # a 5-gram overfits
    out = Path(tiny_model["sp_model"]).parent
    assert sorted(p.name for p in out.iterdir()) == ["en.lm.binary", "en.sp.model"]  # no temporaries


def test_cutoffs_are_increasing(tiny_model: dict[str, Any]):
    low, high = tiny_model["cutoffs"]
    assert 1.0 < low < high


def test_training_is_deterministic(tiny_model: dict[str, Any], kenlm_binaries, tmp_path: Path):
    again = train_language_model("en", iter(english_like(1, 300)), tmp_path, TINY_CFG, *kenlm_binaries)
    assert again["cutoffs"] == tiny_model["cutoffs"]
    assert sha256(again["sp_model"]) == sha256(tiny_model["sp_model"])
    assert sha256(again["lm"]) == sha256(tiny_model["lm"])


def test_vocabulary_shrinks_to_what_the_input_supports(kenlm_binaries, tmp_path: Path):
    summary = train_language_model("en", english_like(3, 60), tmp_path, ModelsConfig(), *kenlm_binaries)
    assert 50 < summary["sp_vocab_size"] < ModelsConfig().sp_vocab_size
    assert PerplexityScorer(summary["sp_model"], summary["lm"]).sp.get_piece_size() == summary["sp_vocab_size"]


def test_empty_and_whitespace_only_documents_are_skipped(kenlm_binaries, tmp_path: Path):
    docs = english_like(4, 50)
    mixed = ["", " \n\t ", *docs[:25], "\n\n", *docs[25:], "\r\n"]
    summary = train_language_model("en", mixed, tmp_path, TINY_CFG, *kenlm_binaries)
    assert summary["num_docs"] == 50 and summary["num_chars"] == sum(len(t) for t in docs)


def test_only_empty_documents_is_a_value_error(kenlm_binaries, tmp_path: Path):
    with pytest.raises(ValueError, match="every document is empty"):
        train_language_model("en", ["", "  ", "\n\n"], tmp_path, TINY_CFG, *kenlm_binaries)
    assert list(tmp_path.iterdir()) == []


def test_heldout_every_zero_takes_cutoffs_from_training_documents(kenlm_binaries, tmp_path: Path):
    summary = train_language_model("en", english_like(5, 40), tmp_path, TINY_CFG, *kenlm_binaries, heldout_every=0)
    assert summary["cutoffs_from"] == "train" and summary["num_heldout_docs"] == 0
    assert summary["heldout_ppl_median"] is None


def test_too_small_vocabulary_is_a_value_error(kenlm_binaries, tmp_path: Path):
    cfg = dataclasses.replace(TINY_CFG, sp_vocab_size=8)
    with pytest.raises(ValueError, match="sp_vocab_size=8"):
        train_language_model("en", english_like(6, 20), tmp_path, cfg, *kenlm_binaries)


def test_kenlm_failure_names_the_command_and_its_stderr(kenlm_binaries, tmp_path: Path):
    fake = tmp_path / "lmplz"
    fake.write_text("#!/bin/sh\necho 'BadDiscountException: something broke' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(RuntimeError, match=r"(?s)lmplz -o 5 .*exit code 3.*something broke"):
        train_language_model("en", english_like(7, 20), tmp_path / "out", TINY_CFG, str(fake), kenlm_binaries[1])
    assert list((tmp_path / "out").iterdir()) == []


# wikipedia_texts

def _write_shard(path: Path, docs: list[Document]) -> None:
    options = pa.ipc.IpcWriteOptions(compression="zstd")  # as pipeline/core/shards.py writes them
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, ARROW_SCHEMA, options=options) as writer:
        writer.write_table(documents_to_table(docs), max_chunksize=2)  # several record batches


def _doc(i: int, lang: str | None) -> Document:
    return Document(id=f"w{i}", source="wikipedia", text=f"text {i} {lang}", lang=lang)


def test_wikipedia_texts_filters_language_in_shard_order(tmp_path: Path):
    (tmp_path / "wikipedia").mkdir()
    _write_shard(tmp_path / "wikipedia" / "part-00001-of-00002.arrow", [_doc(5, "en"), _doc(6, "de"), _doc(7, "en")])
    _write_shard(tmp_path / "wikipedia" / "part-00000-of-00002.arrow",
                 [_doc(1, "en"), _doc(2, None), _doc(3, "fr"), _doc(4, "en")])
    assert list(wikipedia_texts(str(tmp_path), "en")) == ["text 1 en", "text 4 en", "text 5 en", "text 7 en"]
    assert list(wikipedia_texts(str(tmp_path), "de")) == ["text 6 de"]


def test_wikipedia_texts_missing_corpus_or_language_is_a_value_error(tmp_path: Path):
    with pytest.raises(ValueError, match="run the corpus job on an input with Wikipedia dumps"):
        wikipedia_texts(str(tmp_path / "nowhere"), "en")  # raised at the call, not at next()
    (tmp_path / "wikipedia").mkdir()
    _write_shard(tmp_path / "wikipedia" / "part-00000-of-00001.arrow", [_doc(1, "de")])
    with pytest.raises(ValueError, match="no 'en' Wikipedia documents"):
        wikipedia_texts(str(tmp_path), "en")


# find_kenlm_binaries

def test_find_kenlm_binaries_prefers_the_venv_then_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    venv_bin, path_bin = tmp_path / "venv" / "bin", tmp_path / "path"
    venv_bin.mkdir(parents=True)
    path_bin.mkdir()
    for path in (venv_bin / "lmplz", path_bin / "lmplz", path_bin / "build_binary"):
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setenv("PATH", str(path_bin))
    assert find_kenlm_binaries() == (str(venv_bin / "lmplz"), str(path_bin / "build_binary"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="make setup"):
        find_kenlm_binaries()


# Acceptance on real text: held-out English Wikipedia articles vs spam and real Common Crawl junk.

def _enwiki_articles(shared: Path) -> list[str]:
    from pipeline.sources.wikipedia import clean_wikipedia, parse_wikipedia_file

    cfg = WikipediaConfig()
    docs = (clean_wikipedia(d, cfg) for d in parse_wikipedia_file(str(shared / ENWIKI), ENWIKI, cfg)
            if isinstance(d, Document))
    return [d.text for d in docs if isinstance(d, Document)]


def _cc_ascii_pages(path: Path) -> list[str]:
    """Crude text of each HTML response in the WARC: lines of two or more words whose letters are
    ASCII (the sample is mostly Chinese SEO spam; this keeps its menus, product lists, notices)."""
    pages = []
    for record in gzip.decompress(path.read_bytes()).split(b"WARC/1.0\r\n"):
        if b"WARC-Type: response" not in record[:400]:
            continue
        body = record.split(b"\r\n\r\n", 2)[-1].decode("utf-8", errors="replace")
        body = re.sub(r"(?s)<[^>]*>", "\n", re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", body))
        lines = [" ".join(line.split()) for line in html.unescape(body).split("\n")]
        lines = [line for line in lines if len(line.split()) >= 2 and line.isascii()]
        if len(lines) >= 3:
            pages.append("\n".join(lines))
    return pages


def test_real_wikipedia_heldout_scores_lower_than_spam(shared_samples: Path, kenlm_binaries, tmp_path: Path):
    articles = _enwiki_articles(shared_samples)
    assert len(articles) > 50
    train = [text for i, text in enumerate(articles) if i % 5 != 4]
    heldout = [text for i, text in enumerate(articles) if i % 5 == 4]  # 20% never seen in training
    summary = train_language_model("en", train, tmp_path, ModelsConfig(), *kenlm_binaries)
    scorer = PerplexityScorer(summary["sp_model"], summary["lm"])
    clean = statistics.median(scorer.perplexity(text) for text in heldout)
    spam = [scorer.perplexity(text) for text in SPAM]
    cc_pages = [scorer.perplexity(text) for text in _cc_ascii_pages(shared_samples / CC_WARC)]
    assert len(cc_pages) >= 3
    assert clean < min(spam) and clean < min(cc_pages), (clean, spam, cc_pages)
    assert all(p >= summary["cutoffs"][1] for p in spam), (summary["cutoffs"], spam)  # all in the tail
    # All real pages but one in the tail: a page of phone numbers ("+7 (926)", digits normalized
    # to 0) scores near the held-out median on this small model.
    assert sum(p < summary["cutoffs"][1] for p in cc_pages) <= 1, (summary["cutoffs"], cc_pages)


# _sample_lines: the SentencePiece sample, drawn by streaming

def _lines_file(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _oracle_sample(lines: list[str], max_lines: int, max_chars: int, seed: int) -> list[int]:
    """The definition, on the whole list at once: lines in splitmix64 order of (seed, index) while
    fewer than max_chars characters were taken before, at most max_lines lines."""
    mask = (1 << 64) - 1

    def splitmix64(i: int) -> int:
        z = ((i + 1) * 0x9E3779B97F4A7C15 + seed) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    taken, chars = [], 0
    for i in sorted(range(len(lines)), key=splitmix64):
        if chars >= max_chars or len(taken) == max_lines:
            break
        if len(lines[i].encode("utf-8")) <= models_lm.SP_MAX_SENTENCE_BYTES:
            taken.append(i)
            chars += len(lines[i])
    return sorted(taken)


@pytest.mark.parametrize("chunk", [1, 7, 1 << 18])
def test_sample_lines_matches_its_definition_whatever_the_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                chunk: int):
    monkeypatch.setattr(models_lm, "SAMPLE_CHUNK_LINES", chunk)
    lines = [f"line {i} " + "x" * (i * 7 % 23) for i in range(300)]
    lines[5] = "é" * (models_lm.SP_MAX_SENTENCE_BYTES // 2 + 1)  # too many bytes: SentencePiece skips it
    path = _lines_file(tmp_path / "lines.txt", lines)
    for max_lines, max_chars in ((1000, 10**9), (1000, 900), (40, 10**9), (25, 600), (1000, 0)):
        got = models_lm._sample_lines(path, max_lines, max_chars, seed=1).tolist()
        assert got == _oracle_sample(lines, max_lines, max_chars, seed=1), (max_lines, max_chars)


def test_sample_lines_takes_every_line_that_fits(tmp_path: Path):
    lines = [f"paragraph {i}" for i in range(50)]
    path = _lines_file(tmp_path / "lines.txt", lines)
    assert models_lm._sample_lines(path, 1000, 10**6, seed=1).tolist() == list(range(50))
    other_seed = models_lm._sample_lines(path, 10, 10**6, seed=2).tolist()
    assert len(other_seed) == 10 and other_seed != models_lm._sample_lines(path, 10, 10**6, seed=1).tolist()


def test_sampled_training_is_deterministic(kenlm_binaries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(models_lm, "SP_SAMPLE_CHARS", 20_000)  # well under the input: a real sample
    texts = english_like(8, 200)
    runs = [train_language_model("en", iter(texts), tmp_path / name, TINY_CFG, *kenlm_binaries) for name in "ab"]
    assert sha256(runs[0]["sp_model"]) == sha256(runs[1]["sp_model"]) and runs[0]["cutoffs"] == runs[1]["cutoffs"]
    assert runs[0]["num_docs"] == 200  # the sample is SentencePiece's only: every document is trained on or scored
