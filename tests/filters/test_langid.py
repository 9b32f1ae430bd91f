import hashlib
import importlib.util
from pathlib import Path

import pytest

from filters import langid
from filters.langid import LID_SHA256, LanguageIdentifier, fasttext_line, find_lid_model


@pytest.fixture(scope="module")
def lid() -> LanguageIdentifier:
    try:
        return LanguageIdentifier()
    except ValueError as err:  # the model package is installed by `make setup`
        pytest.skip(str(err))


def test_find_lid_model_is_the_original_file(lid):
    path = Path(find_lid_model())
    assert path.name == "lid.176.ftz" and path.stat().st_size == 938_013
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LID_SHA256
    assert len(lid.model.get_labels()) == 176


def test_find_lid_model_missing_package_says_run_make_setup(monkeypatch):
    monkeypatch.setattr(langid, "LID_PACKAGE", "no_such_package_corral")
    with pytest.raises(ValueError, match="run `make setup`"):
        find_lid_model()


def test_find_lid_model_rejects_another_file(monkeypatch, tmp_path):
    (tmp_path / "corral_fake_lid_pkg" / "resources").mkdir(parents=True)
    (tmp_path / "corral_fake_lid_pkg" / "__init__.py").write_text("")
    (tmp_path / "corral_fake_lid_pkg" / "resources" / "lid.176.ftz").write_bytes(b"not the model")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(langid, "LID_PACKAGE", "corral_fake_lid_pkg")
    assert importlib.util.find_spec("corral_fake_lid_pkg") is not None
    with pytest.raises(ValueError, match="not the original lid.176.ftz"):
        find_lid_model()


@pytest.mark.parametrize(
    "text, lang",
    [
        ("The committee published its annual report on the state of the national economy last week.", "en"),
        ("Der Ausschuss hat letzte Woche seinen Jahresbericht über die Lage der Wirtschaft veröffentlicht.", "de"),
        ("委員会は先週、国の経済状況に関する年次報告書を発表しました。", "ja"),
        ("На прошлой неделе комитет опубликовал ежегодный доклад о состоянии национальной экономики.", "ru"),
        ("委员会上周发布了关于国家经济状况的年度报告。", "zh"),
    ],
)
def test_predict_languages(lid, text, lang):
    label, score = lid.predict(text)
    assert label == lang and 0.5 <= score <= 1.0
    assert score == round(score, 2)  # CCNet rounds to 2 decimals


@pytest.mark.parametrize("text", ["", " ", "  \n\t \n"])
def test_predict_empty_and_whitespace(lid, text):
    assert lid.predict(text) == ("", 0.0)


def test_predict_text_with_newlines_is_one_document(lid):
    text = "Das ist der erste Satz.\nUnd hier kommt der zweite Satz.\n\nUnd ein dritter Absatz folgt.\n"
    label, score = lid.predict(text)
    assert label == "de" and score >= 0.5


def test_predict_long_text(lid):
    text = "\n".join(["Researchers at the university measured the temperature of the lake every morning."] * 5000)
    label, score = lid.predict(text)
    assert label == "en" and score >= 0.5


def test_predict_invalid_unicode_does_not_raise(lid):
    assert lid.predict("Ceci est une phrase en français \udcff avec un caractère cassé.")[0] == "fr"


def test_fasttext_line():
    assert fasttext_line("a\nb\n") == "a b "
    assert fasttext_line("x\udcffy") == "x?y"
    assert fasttext_line("plain ascii") == "plain ascii"
