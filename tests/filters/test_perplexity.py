"""CCNet's perplexity scorer and buckets (filters/perplexity.py), on a tiny SentencePiece + KenLM
model trained here on generated English-like sentences.

The fixtures `kenlm_binaries` and `tiny_model` are shared with tests/pipeline/test_models_lm.py.
"""
from __future__ import annotations

import math
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from filters.perplexity import EMPTY_PERPLEXITY, PerplexityScorer, bucket
from pipeline.core.config import ModelsConfig
from pipeline.core.text import normalize_line
from pipeline.jobs.models_lm import find_kenlm_binaries, train_language_model

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_CFG = ModelsConfig(sp_vocab_size=200)

_NOUNS = ["farmer", "teacher", "doctor", "neighbour", "child", "soldier", "baker", "mayor", "brother",
          "fisherman", "boat", "letter", "house", "basket", "school", "bridge", "bell", "clock", "wall",
          "coat", "garden", "river", "horse", "window", "library"]
_ADJECTIVES = ["old", "young", "small", "tired", "wooden", "long", "red", "empty", "new", "broken",
               "warm", "quiet", "famous", "narrow", "heavy"]
_VERBS = ["carried", "painted", "repaired", "visited", "described", "opened", "found", "sold",
          "cleaned", "built", "watched", "followed", "remembered", "moved", "closed"]
_TAILS = ["in the morning", "after the long winter", "near the old mill", "with great care",
          "before the storm came", "during the summer festival", "for the first time",
          "without any help", "on a quiet sunday", "as the sun went down", "across the valley",
          "because the roof was leaking"]
# Text a Wikipedia-trained model should dislike: link menus, keyword lists, shouting ads, and
# in-vocabulary word salad (every word seen in training, none in a seen order).
SPAM = [
    "Home | About Us | Contact | Login | Register | Cart | Checkout | FAQ | Sitemap",
    "click here buy now cheap best price free shipping click here buy now",
    "cheap shoes cheap bags cheap watches discount outlet sale sale sale",
    "farmer teacher doctor boat letter house basket school bridge bell clock wall coat",
    "boat boat the the carried carried sold sold house house mill mill storm storm",
    "winter summer sunday morning festival river horse window library garden",
]


def english_like(seed: int, num_docs: int) -> list[str]:
    """Documents of 2-4 lines, each line one or two generated sentences."""
    rng = random.Random(seed)

    def phrase() -> str:
        adjective = f"{rng.choice(_ADJECTIVES)} " if rng.random() < 0.5 else ""
        return f"{rng.choice(('the', 'a', 'my', 'our'))} {adjective}{rng.choice(_NOUNS)}"

    def sentence() -> str:
        words = f"{phrase()} {rng.choice(_VERBS)} {phrase()}"
        if rng.random() < 0.7:
            words += f" {rng.choice(_TAILS)}"
        if rng.random() < 0.3:
            words += f" and then {rng.choice(_VERBS)} {phrase()}"
        return words[0].upper() + words[1:] + "."

    return ["\n".join(" ".join(sentence() for _ in range(rng.randint(1, 2)))
                      for _ in range(rng.randint(2, 4))) for _ in range(num_docs)]


# tests/pipeline/test_models_lm.py imports these fixtures, and pytest then runs a session fixture
# once per module that holds it: the results are kept here so KenLM is built and the tiny model
# trained once per session.
_SESSION: dict[str, Any] = {}


@pytest.fixture(scope="session")
def kenlm_binaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """lmplz and build_binary: those `make setup` built, else built once here by build_kenlm.sh."""
    if "kenlm" not in _SESSION:
        _SESSION["kenlm"] = _find_or_build_kenlm(tmp_path_factory)
    return _SESSION["kenlm"]


def _find_or_build_kenlm(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    try:
        return find_kenlm_binaries()
    except ValueError as err:
        missing = [tool for tool in ("cmake", "make", "c++") if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"{err}; and {', '.join(missing)} missing to build them here")
    dest = tmp_path_factory.mktemp("kenlm-bin")
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "build_kenlm.sh"), str(dest)], check=True)
    return str(dest / "lmplz"), str(dest / "build_binary")


@pytest.fixture(scope="session")
def tiny_model(kenlm_binaries: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if "tiny_model" not in _SESSION:
        out = tmp_path_factory.mktemp("tiny-lm")
        _SESSION["tiny_model"] = train_language_model("en", english_like(1, 300), out, TINY_CFG, *kenlm_binaries)
    return _SESSION["tiny_model"]


@pytest.fixture(scope="session")
def scorer(tiny_model: dict[str, Any]) -> PerplexityScorer:
    return PerplexityScorer(tiny_model["sp_model"], tiny_model["lm"])


# bucket: CCNet's PerplexityBucket.get_bucket.

@pytest.mark.parametrize("ppl, expected", [
    (0.0, "head"), (99.9, "head"), (100.0, "middle"), (199.9, "middle"), (200.0, "tail"),
    (1e9, "tail"), (math.inf, "tail"), (math.nan, "tail"),
])
def test_bucket_corners(ppl: float, expected: str):
    assert bucket(ppl, (100.0, 200.0)) == expected


def test_bucket_equal_cutoffs_has_no_middle():
    assert bucket(99.0, (100.0, 100.0)) == "head"
    assert bucket(100.0, (100.0, 100.0)) == "tail"


@pytest.mark.parametrize("cutoffs", [(200.0, 100.0), (100.0,), (), (1.0, 2.0, 3.0)])
def test_bucket_rejects_bad_cutoffs(cutoffs: tuple[float, ...]):
    with pytest.raises(ValueError, match="ppl_cutoffs"):
        bucket(50.0, cutoffs)  # type: ignore[arg-type]


# PerplexityScorer: CCNet's DocLM.

def test_heldout_clean_text_scores_lower_than_spam(scorer: PerplexityScorer):
    clean = [scorer.perplexity(doc) for doc in english_like(2, 40)]
    spam = [scorer.perplexity(doc) for doc in SPAM]
    assert max(clean) < min(spam), (sorted(clean)[-3:], sorted(spam))


def test_empty_and_whitespace_only_text(scorer: PerplexityScorer):
    for text in ("", " ", "\n\n", " \t\n  \n\r\n"):
        assert scorer.perplexity(text) == EMPTY_PERPLEXITY
        assert scorer.log_score(text) == (0.0, 0)
    assert bucket(scorer.perplexity(""), (100.0, 200.0)) == "tail"


def test_perplexity_is_ccnet_formula(scorer: PerplexityScorer):
    text = "The farmer sold the red house.\nA young teacher opened a new bridge in the morning."
    total_log, total_len = 0.0, 0
    for line in text.split("\n"):
        pieces = " ".join(scorer.sp.encode(normalize_line(line), out_type=str))
        total_log += scorer.lm.score(pieces)  # bos and eos, as cc_net
        total_len += len(pieces.split()) + 1
    assert scorer.perplexity(text) == round(10.0 ** (-total_log / total_len), 1)
    assert scorer.log_score(text) == pytest.approx((total_log, total_len))


def test_blank_lines_and_surrounding_spaces_do_not_count(scorer: PerplexityScorer):
    text = "The baker built a warm coat.\nMy neighbour found the stone wall."
    spaced = "\n\n  The baker built a warm coat.  \n\n\nMy neighbour found the stone wall.\n"
    assert scorer.perplexity(spaced) == scorer.perplexity(text)


def test_text_is_normalized_like_ccnet(scorer: PerplexityScorer):
    # Lower case, accents stripped, digits to 0, unicode punctuation to ASCII (normalize_line).
    assert scorer.perplexity("THE FARMER SOLD THE RED HOUSE.") == scorer.perplexity("the farmer sold the red house.")
    assert scorer.perplexity("The café opened in 1987.") == scorer.perplexity("the cafe opened in 0000.")


def test_perplexity_is_rounded_to_one_decimal(scorer: PerplexityScorer):
    ppl = scorer.perplexity("The old doctor visited the church bell with great care.")
    assert ppl == round(ppl, 1) and 1.0 < ppl < 1e6


def test_tokenize_gives_one_piece_string_per_nonblank_line(scorer: PerplexityScorer):
    lines = scorer.tokenize("Our mayor cleaned the boat.\n\n   \nHer brother sold a coat.")
    assert len(lines) == 2 and all(piece for line in lines for piece in line.split(" "))
