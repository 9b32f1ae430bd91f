import json
import random
from urllib.parse import urlsplit

import numpy as np
import pytest

from filters.wikiref import classifier_text
from pipeline.core.config import ModelsConfig
from pipeline.jobs.models_ref import (
    POSITIVES_CITED,
    POSITIVES_WIKIPEDIA,
    card_path_for,
    cited_urls,
    normalize_url,
    positives_source,
    roc_auc,
    train_reference_classifier,
)
from pipeline.sources.wikipedia import WikipediaConfig
from tests.conftest import SHARED_SAMPLES

# --- generated training data: encyclopedic prose vs spam / SEO ------------------------------
_SUBJECTS = ["The river", "The cathedral", "The species", "The treaty", "The railway", "The dynasty",
             "The observatory", "The novel", "The mineral", "The parliament", "The festival", "The bridge"]
_PLACES = ["northern Italy", "the Baltic region", "central Mexico", "the Rhine valley", "southern India",
           "eastern Anatolia", "the Scottish Highlands", "coastal Peru"]
_ENCYCLOPEDIC = [
    "{s} is located in {p} and was first documented in {y}.",
    "{s} was described by historians as an important example of the period after {y}.",
    "According to a survey published in {y}, {s2} remains one of the best preserved in {p}.",
    "{s} is classified within a family that includes several related forms found in {p}.",
    "During the {y}s the local government of {p} commissioned a detailed study of {s2}.",
    "{s} has been the subject of scholarly research, and its origins are disputed.",
    "The population of the surrounding district was recorded as several thousand in the census of {y}.",
    "{s} was rebuilt after a fire in {y}, and the reconstruction followed the original plans.",
]
_PRODUCTS = ["watches", "sneakers", "diet pills", "casino bonus", "phone cases", "loans", "followers", "VPN"]
_SPAM = [
    "Buy cheap {q} online now and save {n}% with free shipping!!!",
    "Click here to get the best {q} deals, limited time offer, order today!",
    "Top 10 best {q} reviews {y} - discount coupon code inside, act fast.",
    "Earn ${n} per day from home, no experience needed, sign up free now!",
    "Hot deal: {q} at the lowest price guaranteed, click the link below.",
    "Get {n} free {q} today only, best price, fast delivery, buy now!!!",
    "Don't miss out! Exclusive {q} sale ends tonight, subscribe for more deals.",
    "100% legit {q}, cheap and fast, order now and get a bonus gift.",
]


def _docs(templates: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        sentences = []
        for _ in range(rng.randint(3, 6)):
            s = rng.choice(_SUBJECTS)
            sentences.append(rng.choice(templates).format(
                s=s, s2=s.lower(), p=rng.choice(_PLACES), y=rng.randint(1200, 2020),
                q=rng.choice(_PRODUCTS), n=rng.randint(2, 99)))
        docs.append("\n".join(sentences))
    return docs


WIKI_LIKE = [
    "The basilica was consecrated in 1124 and is located near the old market square.\n"
    "Historians have described its facade as an important example of Romanesque architecture.",
    "The species is found in the mountain forests of southern India, where it was first documented in 1891.",
    "The treaty was signed in 1648 and ended a long period of war in the region.",
]
SPAM_LIKE = [
    "Buy cheap sunglasses online now!!! Limited time offer, click here and save 70%.",
    "Best casino bonus 2024 - sign up free now and get 50 free spins, act fast!",
    "Earn money from home today, no experience needed, order the guide now!!!",
]


def _cfg(**kw) -> ModelsConfig:
    return ModelsConfig(**{"ref_epochs": 10, "ref_min_positives": 0, **kw})


def _distinct(texts: list[str]) -> int:
    """How many examples the classifier can see: texts distinct once normalized (the generated
    documents fold years to the same digits, so a few coincide)."""
    return len({classifier_text(t) for t in texts} - {""})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "wikiref.bin"
    cited, negatives = _docs(_ENCYCLOPEDIC, 300, 1), _docs(_SPAM, 300, 2)
    card = train_reference_classifier(cited, [], negatives, out, _cfg(), keep_threshold=0.25)
    return out, card, min(_distinct(cited), _distinct(negatives))


def test_classifier_scores_wikipedia_like_text_above_spam(trained):
    from filters.wikiref import WikiRefClassifier

    out, card, _ = trained
    clf = WikiRefClassifier(str(out))
    wiki = [clf.prob(t) for t in WIKI_LIKE]
    spam = [clf.prob(t) for t in SPAM_LIKE]
    assert min(wiki) > max(spam)
    assert min(wiki) >= 0.5 and max(spam) < 0.25  # 0.25: RedPajama's keep threshold
    assert card["heldout_accuracy"] >= 0.95
    assert card["heldout_precision"] >= 0.95 and card["heldout_recall"] >= 0.95
    assert card["heldout_auc"] >= 0.99


def test_card_describes_the_saved_model_and_is_written_beside_it(trained):
    out, card, n = trained
    assert card["path"] == str(out) and card["bytes"] == out.stat().st_size and len(card["sha256"]) == 64
    assert card["positives"] == POSITIVES_CITED == "cited_pages"
    assert card["positives_cited"] == n and card["positives_wikipedia"] == 0 and card["negatives"] == n
    assert card["heldout_task"].startswith("CommonCrawl pages cited by Wikipedia")
    assert json.loads(card_path_for(out).read_text(encoding="utf-8")) == card
    assert sorted(p.name for p in out.parent.iterdir()) == ["wikiref.bin", "wikiref.json"]  # no temporary files left


def test_card_gives_heldout_precision_recall_and_auc_on_a_tenth_of_each_class(trained):
    _, card, n = trained
    assert card["heldout_positives"] == card["heldout_negatives"] == n // 10
    for key in ("heldout_precision", "heldout_recall", "heldout_accuracy", "heldout_auc",
                "heldout_keep_precision", "heldout_keep_recall", "heldout_keep_accuracy"):
        assert 0.0 <= card[key] <= 1.0, key
    assert card["heldout_threshold"] == 0.5 and card["heldout_keep_threshold"] == 0.25
    assert card["heldout_keep_recall"] >= card["heldout_recall"]  # a lower cut keeps at least as many


def _random_words(num_docs: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(4000)]
    return [" ".join(rng.choice(vocab) for _ in range(30)) for _ in range(num_docs)]


def test_heldout_figures_are_measured_on_pages_kept_out_of_training(tmp_path):
    """Both classes drawn from one distribution: the model can only memorize its training pages.
    Scored on those it separates them almost perfectly; the card's figures, measured on held-out
    pages, must be near chance."""
    from filters.wikiref import WikiRefClassifier

    docs = _random_words(800, 13)
    pos, neg = docs[:400], docs[400:]
    card = train_reference_classifier(pos, [], neg, tmp_path / "m.bin", _cfg(ref_epochs=50))
    clf = WikiRefClassifier(str(tmp_path / "m.bin"))
    probs = np.array([clf.prob(t) for t in docs])
    labels = np.arange(len(docs)) < 400
    assert roc_auc(probs, labels) > 0.85  # 90% of these pages were trained on: memorized
    assert 0.3 < card["heldout_auc"] < 0.7 and card["heldout_positives"] == card["heldout_negatives"] == 40


def test_a_page_given_twice_is_one_example_so_never_both_trained_on_and_held_out(tmp_path):
    cited, negatives = _docs(_ENCYCLOPEDIC, 40, 21), _docs(_SPAM, 40, 22)
    card = train_reference_classifier(cited + cited, [], negatives + negatives[:10], tmp_path / "m.bin",
                                      _cfg(ref_epochs=2))
    assert card["positives_cited"] == card["negatives"] == min(_distinct(cited), _distinct(negatives))
    assert card["duplicates_skipped"] == (80 - _distinct(cited)) + (50 - _distinct(negatives))


def _no_iteration():
    raise AssertionError("Wikipedia texts were read although enough cited pages were given")
    yield  # pragma: no cover


def test_wikipedia_fills_up_the_positives_when_allowed(tmp_path):
    taken = []

    def wiki():
        for i, doc in enumerate(_docs(_ENCYCLOPEDIC, 1000, 3)):
            taken.append(i)
            yield doc

    cfg = _cfg(ref_min_positives=40, ref_epochs=2, ref_wikipedia_positives=True)
    negatives = _docs(_SPAM, 60, 5)
    card = train_reference_classifier(_docs(_ENCYCLOPEDIC, 5, 4), wiki(), negatives, tmp_path / "m.bin", cfg)
    n = _distinct(negatives)
    assert (card["positives_cited"], card["positives_wikipedia"], card["negatives"]) == (5, n - 5, n)
    assert card["positives"] == POSITIVES_WIKIPEDIA == "wikipedia_text"
    assert card["heldout_task"].startswith("Wikipedia article text")
    assert json.loads(card_path_for(tmp_path / "m.bin").read_text(encoding="utf-8"))["positives"] == "wikipedia_text"
    assert n - 5 <= len(taken) <= n  # the iterable is read only as far as needed (a few coincide)


def test_too_few_cited_pages_stop_with_one_line_naming_the_setting(tmp_path):
    cfg = _cfg(ref_min_positives=40, ref_epochs=2)
    with pytest.raises(ValueError) as err:
        train_reference_classifier(_docs(_ENCYCLOPEDIC, 5, 4), _no_iteration(), _docs(_SPAM, 60, 5), tmp_path / "m.bin",
                                   cfg)
    message = str(err.value)
    assert "\n" not in message
    assert "found 5 CommonCrawl pages cited by Wikipedia" in message
    assert "models.ref_min_positives (40)" in message and "`models.ref_wikipedia_positives: true`" in message
    assert not (tmp_path / "m.bin").exists() and not card_path_for(tmp_path / "m.bin").exists()


@pytest.mark.parametrize("num_cited, min_positives, allowed, expected", [
    (1000, 1000, False, POSITIVES_CITED),
    (1000, 1000, True, POSITIVES_CITED),
    (999, 1000, True, POSITIVES_WIKIPEDIA),
    (0, 0, False, POSITIVES_CITED),
])
def test_positives_source(num_cited, min_positives, allowed, expected):
    cfg = ModelsConfig(ref_min_positives=min_positives, ref_wikipedia_positives=allowed)
    assert positives_source(num_cited, cfg) == expected


def test_positives_source_stops_one_short():
    with pytest.raises(ValueError, match=r"^reference classifier: found 999 CommonCrawl pages cited by Wikipedia, "
                                         r"fewer than models\.ref_min_positives \(1000\);"):
        positives_source(999, ModelsConfig())


def test_enough_cited_pages_read_no_wikipedia_and_classes_are_balanced(tmp_path):
    cfg = _cfg(ref_min_positives=10, ref_epochs=2, ref_wikipedia_positives=True)
    cited, negatives = _docs(_ENCYCLOPEDIC, 30, 6), _docs(_SPAM, 80, 7)
    card = train_reference_classifier(cited, _no_iteration(), negatives, tmp_path / "m.bin", cfg)
    n = _distinct(cited)
    assert (card["positives_cited"], card["positives_wikipedia"], card["negatives"]) == (n, 0, n)
    assert card["positives"] == POSITIVES_CITED


def test_each_class_is_capped(tmp_path):
    cfg = _cfg(ref_min_positives=100, ref_max_examples=20, ref_epochs=2, ref_wikipedia_positives=True)
    cited, wiki, negatives = _docs(_ENCYCLOPEDIC, 8, 8), _docs(_ENCYCLOPEDIC, 50, 9), _docs(_SPAM, 50, 10)
    card = train_reference_classifier(cited, wiki, negatives, tmp_path / "m.bin", cfg)
    assert (card["positives_cited"], card["positives_wikipedia"], card["negatives"]) == (8, 12, 20)


def test_training_is_deterministic(tmp_path):
    from filters.wikiref import WikiRefClassifier

    # Three runs in one process: the later ones get heap memory the earlier ones freed (glibc
    # serves a block from the heap, not a fresh zeroed mmap, once one that size was freed), which
    # fastText must not take as initial weights.
    args = (_docs(_ENCYCLOPEDIC, 80, 11), [], _docs(_SPAM, 80, 12))
    cards = [train_reference_classifier(*args, tmp_path / f"{name}.bin", _cfg()) for name in "abc"]
    assert len({card["sha256"] for card in cards}) == 1
    assert len({card["heldout_auc"] for card in cards}) == 1
    models = [WikiRefClassifier(card["path"]) for card in cards]
    probs = [[m.prob(t) for t in WIKI_LIKE + SPAM_LIKE] for m in models]
    assert probs[0] == probs[1] == probs[2]


@pytest.mark.parametrize(
    "cited, wiki, negatives",
    [
        (["a page"], [], ["x", "y"]),
        ([], [], ["x", "y"]),
        (["a", "b"], [], ["only one"]),
        (["a", "b"], [], ["", "  \n"]),  # empty once normalized
        (["a", "b"], [], ["x", "x"]),  # one page given twice
    ],
)
def test_too_few_examples_is_a_value_error(tmp_path, cited, wiki, negatives):
    with pytest.raises(ValueError, match="need at least 2 positive"):
        train_reference_classifier(cited, wiki, negatives, tmp_path / "m.bin", _cfg())
    assert not (tmp_path / "m.bin").exists()


def test_two_examples_per_class_train(tmp_path):
    cited, negatives = ["a history of the town", "the river flows"], ["buy now", "click here"]
    card = train_reference_classifier(cited, [], negatives, tmp_path / "m.bin", _cfg())
    assert card["negatives"] == 2 and (tmp_path / "m.bin").is_file()
    assert card["heldout_positives"] == card["heldout_negatives"] == 1


# --- held-out AUC ----------------------------------------------------------------------------
def _pairwise_auc(scores, labels) -> float:
    """The definition, by brute force: over all (positive, negative) pairs, 1 when the positive
    scores higher, 1/2 on a tie."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(8))
def test_auc_matches_the_pairwise_definition(seed):
    rng = random.Random(seed)
    n = rng.randint(2, 60)
    scores = [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]) if rng.random() < 0.5 else rng.random() for _ in range(n)]
    labels = [i % 2 == 0 or rng.random() < 0.3 for i in range(n)]
    labels[1] = False  # both classes present
    assert roc_auc(np.array(scores), np.array(labels)) == pytest.approx(_pairwise_auc(scores, labels), abs=1e-12)


@pytest.mark.parametrize("scores, labels, auc", [
    ([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0], 1.0),  # perfectly separated
    ([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0], 0.0),  # perfectly reversed
    ([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5),  # all tied
    ([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0], 0.75),  # 3 of 4 pairs ordered right
])
def test_auc_known_values(scores, labels, auc):
    assert roc_auc(np.array(scores), np.array(labels, bool)) == auc


# --- cited URLs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, key",
    [
        ("HTTP://WWW.Example.COM/Path/Page.html", "//example.com/Path/Page.html"),
        ("https://www.example.com/", "//example.com"),
        ("https://example.com", "//example.com"),
        ("http://example.com/a/?b=1&c=2#section", "//example.com/a?b=1&c=2"),
        ("http://example.com:80/x", "//example.com/x"),
        ("https://example.com:443/x", "//example.com/x"),
        ("http://example.com:8080/x/", "//example.com:8080/x"),
        ("http://www.example.com./x", "//example.com/x"),
        ("  http://example.org/q?x=1  ", "//example.org/q?x=1"),
        ("http://wwwexample.com/", "//wwwexample.com"),
        ("ftp://example.com/file", ""),
        ("mailto:someone@example.com", ""),
        ("http://", ""),
        ("http://[::1/x", ""),
        ("http://example.com:notaport/", ""),
        ("", ""),
    ],
)
def test_normalize_url(url, key):
    assert normalize_url(url) == key


def test_cited_urls_finds_all_link_forms():
    wikitext = """'''Foo''' is a town.<ref>{{cite web |url=https://www.Example.org/report.html |title=Report}}</ref>
It has a river.<ref>[http://news.example.com/story/1?id=5&amp;p=2 The story], 2001.</ref>
See http://bare.example.net/page/. for more.<ref>{{Cite news| url = example.co.uk/a | work=X}}</ref>
Archived: [https://web.archive.org/web/2007/http://old.example.com/x archived]
[//relative.example.com/y label] {{Official website|www.town.example}} {{URL|1=https://url.example}}
(see http://paren.example.com/z) <!-- http://hidden.example.com/ --> [[Internal link]]"""
    assert cited_urls([wikitext]) == {
        "//example.org/report.html",
        "//news.example.com/story/1?id=5&p=2",
        "//bare.example.net/page",
        "//example.co.uk/a",
        "//web.archive.org/web/2007/http://old.example.com/x",
        "//old.example.com/x",
        "//relative.example.com/y",
        "//town.example",
        "//url.example",
        "//paren.example.com/z",
    }


def test_cited_urls_of_no_links_is_empty():
    assert cited_urls(["", "   ", "plain [[link]] text {{cite book |title=No URL}}"]) == set()


def test_cited_urls_from_a_real_wikipedia_dump():
    path = SHARED_SAMPLES / "wikipedia" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    if not path.is_file():
        pytest.skip("../shared/corpus-samples is not present")
    from pipeline.sources.wikipedia import parse_wikipedia_file

    pages = parse_wikipedia_file(str(path), path.name, WikipediaConfig())
    urls = cited_urls(doc.text for doc in pages if hasattr(doc, "text"))
    assert len(urls) > 3000
    assert "//nasa.gov/centers/dryden/news/NewsReleases/2005/05-57.html" in urls
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme == "" and parts.netloc and not parts.fragment and not parts.path.endswith("/")
