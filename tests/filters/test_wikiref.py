import pytest

from filters.wikiref import CC_LABEL, REF_LABEL, WikiRefClassifier, classifier_text
from pipeline.core.config import ModelsConfig
from pipeline.jobs.models_ref import train_reference_classifier
from tests.pipeline.test_models_ref import _ENCYCLOPEDIC, _SPAM, SPAM_LIKE, WIKI_LIKE, _docs


@pytest.fixture(scope="module")
def clf(tmp_path_factory) -> WikiRefClassifier:
    out = tmp_path_factory.mktemp("wikiref") / "wikiref.bin"
    cfg = ModelsConfig(ref_epochs=10, ref_min_positives=0)
    train_reference_classifier(_docs(_ENCYCLOPEDIC, 200, 21), [], _docs(_SPAM, 200, 22), out, cfg)
    return WikiRefClassifier(str(out))


@pytest.mark.parametrize("text", WIKI_LIKE)
def test_reference_like_text_scores_high(clf, text):
    assert clf.prob(text) >= 0.5


@pytest.mark.parametrize("text", SPAM_LIKE)
def test_spam_scores_under_redpajama_threshold(clf, text):
    assert clf.prob(text) < 0.25


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n", "...", "!!!"])
def test_empty_whitespace_and_punctuation_only(clf, text):
    p = clf.prob(text)
    assert 0.0 <= p <= 1.0
    if not text.strip():
        assert p == 0.0


def test_prob_is_a_rounded_probability(clf):
    for text in WIKI_LIKE + SPAM_LIKE + ["Une phrase en français.", "\udcff broken \n unicode"]:
        p = clf.prob(text)
        assert 0.0 <= p <= 1.0 and p == round(p, 4)


def test_labels_are_the_training_labels(clf):
    assert set(clf.model.get_labels()) == {REF_LABEL, CC_LABEL}


def test_another_fasttext_model_is_refused():
    from filters.langid import find_lid_model

    try:
        lid = find_lid_model()
    except ValueError as err:
        pytest.skip(str(err))
    with pytest.raises(ValueError, match="not a reference classifier"):
        WikiRefClassifier(lid)


@pytest.mark.parametrize(
    "text, line",
    [
        ("Hello, World!", "hello , world !"),
        ("The 1990s\nwere  Café time.", "the 0000s were cafe time ."),
        ("a\tb\r\nc", "a b c"),
        ("“Quoted” — text", '" quoted " - text'),
        ("", ""),
        ("  \n\t ", ""),
        ("a __label__ref word", "a ref word"),
    ],
)
def test_classifier_text(text, line):
    assert classifier_text(text) == line
    assert "\n" not in classifier_text(text)
