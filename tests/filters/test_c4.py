"""C4's heuristics (filters/c4.py): each rule kept / removed / off, empty and whitespace pages,
the reference's order of checks, bad words, and the real 1000-document C4 sample."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from filters.c4 import C4Config, C4Filter, clean_c4_lines, load_badwords
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.text import count_sentences

REPO_ROOT = Path(__file__).resolve().parents[2]
C4_SAMPLE = REPO_ROOT.parent / "shared" / "corpus-samples" / "c4" / "c4-train.00000-of-01024.head1000.json.gz"

# Five clean sentences on five lines: kept by every default rule.
BODY = [
    "The village market opens every Saturday morning.",
    "Farmers bring fresh vegetables, eggs and bread.",
    "Prices are fair and the stall holders are friendly.",
    "Children can ride the small carousel near the fountain.",
    "Parking is free on the streets around the square.",
]
# The rule tests use short lines: 3 words per line and 5 sentences per page make each rule's edge
# easy to write. C4Config() itself holds the paper's 5 words and 3 sentences (tested below).
DEFAULT = C4Config(min_words_per_line=3, min_sentences=5)


def page(*extra: str, body: list[str] = BODY) -> str:
    return "\n".join([*body, *extra])


def clean(text: str, **overrides) -> tuple[str | None, DropReason | None, dict[str, int]]:
    return clean_c4_lines(text, dataclasses.replace(DEFAULT, **overrides))


def test_clean_page_is_kept_unchanged():
    text, reason, counts = clean(page())
    assert reason is None and text == page()
    assert sum(counts.values()) == 0


@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \t\n  \n\t"])
def test_empty_and_whitespace_pages_are_empty(text):
    assert clean(text)[:2] == (None, DropReason.EMPTY)


def test_lines_are_stripped_and_blank_lines_dropped_without_counting():
    text, reason, counts = clean("  " + page().replace("\n", "\n\n   "))
    assert reason is None and text == page()
    assert sum(counts.values()) == 0


# --- rule 1: word longer than max_word_length -------------------------------------------------
def test_too_long_word_line_removed_and_rule_off():
    long_line = "See " + "x" * 1001 + " for details."
    text, reason, counts = clean(page(long_line))
    assert reason is None and long_line not in text and counts["too_long_word"] == 1
    assert long_line in clean(page(long_line), max_word_length=0)[0]
    ok_line = "See " + "x" * 1000 + " for details."
    assert ok_line in clean(page(ok_line))[0]


# --- rule 2: citation markers -------------------------------------------------------------------
def test_citation_markers_cut_and_rule_off():
    line = "The bridge opened in 1932.[1] It is still used today.[citation needed] [edit]"
    text, reason, _ = clean(page(line))
    assert reason is None and "The bridge opened in 1932. It is still used today." in text.splitlines()
    # Off: the marker stays, and the line then has no end mark.
    text, _, counts = clean(page(line), citations=False)
    assert "[1]" not in text and counts["no_terminal_punctuation"] == 1
    assert "[1]" in clean(page("Cited twice.[1] [2]"), citations=False, terminal_punctuation=False)[0]


def test_citation_only_line_is_removed():
    _, _, counts = clean(page("[12]"))
    assert counts["citation_only"] == 1


# --- rule 3: terminal punctuation --------------------------------------------------------------
@pytest.mark.parametrize("line", ["It ended with a period.", "Did it end with a question?",
                                  "It ended loudly!", 'She said "it ended."', 'A "quoted ending"'])
def test_lines_with_end_marks_kept(line):
    assert line in clean(page(line))[0].splitlines()


@pytest.mark.parametrize("line", ["Read more about our services", "And then it trailed off...",
                                  "Single quotes are not end marks '", "Home | About | Contact"])
def test_lines_without_end_marks_removed_and_rule_off(line):
    text, reason, counts = clean(page(line))
    assert reason is None and line not in text and counts["no_terminal_punctuation"] == 1
    assert line in clean(page(line), terminal_punctuation=False)[0].splitlines()


# --- rule 4: words per line ---------------------------------------------------------------------
def test_short_lines_removed_and_rule_off():
    text, _, counts = clean(page("Too short.", "Three words here."))
    assert "Too short." not in text and "Three words here." in text and counts["too_few_words"] == 1
    assert "Too short." in clean(page("Too short."), min_words_per_line=0)[0]
    assert "Three words here." not in clean(page("Three words here."), min_words_per_line=5)[0]


# --- rule 5: lorem ipsum ------------------------------------------------------------------------
def test_lorem_ipsum_drops_page_and_rule_off():
    line = "Lorem Ipsum dolor sit amet, consectetur adipiscing."
    assert clean(page(line))[:2] == (None, DropReason.C4_LOREM_IPSUM)
    text, reason, _ = clean(page(line), lorem_ipsum=False)
    assert reason is None and line in text


def test_lorem_ipsum_on_a_removed_line_does_not_drop():
    # The reference checks it after the end-mark rule, so only surviving lines count.
    assert clean(page("lorem ipsum placeholder heading"))[1] is None


# --- rule 6: javascript ---------------------------------------------------------------------------
def test_javascript_line_removed_and_rule_off():
    line = "Please enable JAVASCRIPT to view this page."
    text, reason, counts = clean(page(line))
    assert reason is None and line not in text and counts["javascript"] == 1
    assert line in clean(page(line), javascript=False)[0]


# --- rule 7: curly bracket ------------------------------------------------------------------------
def test_curly_bracket_drops_page_and_rule_off():
    line = "Write body { margin: 0; } in the stylesheet."
    assert clean(page(line))[:2] == (None, DropReason.C4_CURLY_BRACKET)
    text, reason, _ = clean(page(line), curly_bracket=False)
    assert reason is None and line in text


def test_javascript_line_with_curly_bracket_is_only_removed():
    # Reference order: the javascript line is removed before "{" is looked for.
    text, reason, counts = clean(page("In javascript, write function f() { return 1; }."))
    assert reason is None and counts["javascript"] == 1


def test_curly_bracket_on_a_removed_line_does_not_drop():
    assert clean(page("{ menu }"))[1] is None


# --- rule 8: policy lines -------------------------------------------------------------------------
@pytest.mark.parametrize("phrase", ["terms of use", "Privacy Policy", "cookie policy", "uses cookies",
                                    "use of cookies", "use cookies"])
def test_policy_lines_removed_and_rule_off(phrase):
    line = f"Please read our {phrase} before you continue."
    text, reason, counts = clean(page(line))
    assert reason is None and line not in text and counts["policy"] == 1
    assert line in clean(page(line), policy=False)[0]


# --- sentences ------------------------------------------------------------------------------------
def test_too_few_sentences_dropped_and_rule_off():
    four = page(body=BODY[:4])
    assert clean(four)[:2] == (None, DropReason.C4_TOO_FEW_SENTENCES)
    assert clean(four, min_sentences=4)[1] is None
    assert clean(four, min_sentences=0)[1] is None
    # Sentences are counted inside lines too: one line of five sentences is enough.
    assert clean(" ".join(BODY))[1] is None


def test_sentences_counted_after_line_removal():
    text = page("Menu item", "Another menu item", body=BODY[:4])
    assert clean(text, terminal_punctuation=False)[1] is None
    assert clean(text)[1] is DropReason.C4_TOO_FEW_SENTENCES


@pytest.mark.parametrize("text, expected", [
    ("", 0), ("   \n\t", 0),
    ("One sentence here.", 1), ("No end mark at all", 1),
    ("It rained. We stayed in.", 2), ("Wow!! Really? Yes.", 3),
    ("First line.\nSecond line.", 2), ("It costs 3.5 dollars.", 1),
    ('He said "stop." Then he left.', 2), ("It broke. then we fixed it.", 2),
    ("Mr. Smith met Dr. Jones at 5 p.m. on Friday.", 1),
    ("J. R. R. Tolkien wrote it, e.g. the famous one.", 1),
])
def test_count_sentences(text, expected):
    assert count_sentences(text) == expected


# --- bad words ------------------------------------------------------------------------------------
@pytest.fixture
def badwords_file(tmp_path):
    path = tmp_path / "badwords.txt"
    path.write_text("darn\n\nheck no\n  Blast  \n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("line, dropped", [
    ("Well, darn, the shop was closed.", True),
    ("Darn it, the shop was closed.", True),  # start of line, any case
    ("The shop said heck no to us.", True),  # a phrase
    ("We had a BLAST at the shop.", True),
    ("The darned shop was closed.", False),  # whole words only
    ("The heck, no idea why.", False),  # the phrase's words must be adjacent
    ("Blasting music played in the shop.", False),
])
def test_badwords_whole_word(badwords_file, line, dropped):
    reason = clean(page(line), badwords_file=badwords_file)[1]
    assert reason is (DropReason.C4_BAD_WORDS if dropped else None)
    assert clean(page(line))[1] is None  # rule off without a file


def test_badword_on_removed_line_does_not_drop(badwords_file):
    assert clean(page("darn menu", "Enable javascript, darn it."), badwords_file=badwords_file)[1] is None


def test_badword_before_curly_bracket_is_reported_first(badwords_file):
    text = page("A darn good day.", "Write body { margin: 0; } today.")
    assert clean(text, badwords_file=badwords_file)[1] is DropReason.C4_BAD_WORDS
    text = page("Write body { margin: 0; } today.", "A darn good day.")
    assert clean(text, badwords_file=badwords_file)[1] is DropReason.C4_CURLY_BRACKET


def test_badwords_regex_handles_prefixes_and_symbols(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("ab\nabc\nabcd\na$$\n", encoding="utf-8")
    regex = load_badwords(str(path))
    assert [bool(regex.search(s)) for s in ("x abc y", "abcde", "an a$$ here", "ab.", "zab")] == [
        True, False, True, True, False]


def test_missing_or_empty_badwords_file_is_value_error(tmp_path):
    with pytest.raises(ValueError, match="badwords_file"):
        C4Filter(C4Config(badwords_file=str(tmp_path / "missing.txt")))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match="no words"):
        C4Filter(C4Config(badwords_file=str(empty)))


# --- C4Filter ---------------------------------------------------------------------------------------
def test_filter_keeps_cleaned_document_with_metadata():
    doc = Document(id="f:1", source="c4", text=page("Home | About", "Enable JavaScript please."),
                   url="https://example.com/", metadata='{"file":"f","line":1}')
    out = C4Filter(DEFAULT)(doc)
    assert isinstance(out, Document)
    assert out.text == page() and out.url == doc.url and out.id == doc.id
    assert out.meta() == {"file": "f", "line": 1, "c4_lines_removed": 2}


@pytest.mark.parametrize("text, reason", [
    ("", DropReason.EMPTY), (" \n ", DropReason.EMPTY),
    (page("Lorem ipsum dolor sit amet."), DropReason.C4_LOREM_IPSUM),
    (page("Use a { here, please."), DropReason.C4_CURLY_BRACKET),
    ("Only one sentence here.", DropReason.C4_TOO_FEW_SENTENCES),
])
def test_filter_drops_with_reason_stage_and_detail(text, reason):
    doc = Document(id="f:2", source="c4", text=text)
    out = C4Filter(DEFAULT)(doc)
    assert isinstance(out, Dropped)
    assert out.reason is reason and out.stage == "clean" and out.detail and out.doc == doc


# --- the real C4 sample (read-only) -----------------------------------------------------------------
# What NLTK's punkt (the sentence splitter C4 ran on every kept line) makes of lines of the real
# sample's pages, checked against nltk.tokenize.punkt itself: one sentence per list item.
@pytest.mark.parametrize("line, punkt_sentences", [
    ("Funding is in accordance with property laws, O.C.G.A. § 44-12-236. For more information, call.",
     ["Funding is in accordance with property laws, O.C.G.A.", "§ 44-12-236.", "For more information, call."]),
    ("Mondal, K.C.; Kostakis, G.E.; Lan, Y.; Powell, A.K.",
     ["Mondal, K.C.", "; Kostakis, G.E.", "; Lan, Y.; Powell, A.K."]),
    ("God is over their hands.* Hence, he who breaks his oath, breaks it.",
     ["God is over their hands.", "* Hence, he who breaks his oath, breaks it."]),
    ("Renault workshop manual, M.R. 164, additive, R1178 Sedan.",
     ["Renault workshop manual, M.R.", "164, additive, R1178 Sedan."]),
    ("We went hiking!! At night, we saw the view of Hongkong!!",
     ["We went hiking!!", "At night, we saw the view of Hongkong!", "!"]),
    ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
    ("He said \u201cstop.\u201d Then left.", ["He said \u201cstop.\u201d", "Then left."]),
    ("Dr. Who met J. R. Smith. Yes... no?! ok", ["Dr. Who met J. R. Smith.", "Yes...", "no?!", "ok"]),
    ("Ramirez, Jaime A. (2018) Feasibility Study.", ["Ramirez, Jaime A.", "(2018) Feasibility Study."]),
    ("See page 5. the end. It was 5. The end.", ["See page 5. the end.", "It was 5.", "The end."]),
    ("The U.S. Army uses 3.5 mm parts, e.g., bolts.", ["The U.S. Army uses 3.5 mm parts, e.g., bolts."]),
    ("I have tried omega-3\u2019s. This one is small.", ["I have tried omega-3\u2019s.", "This one is small."]),
])
def test_count_sentences_follows_punkt(line, punkt_sentences):
    assert count_sentences(line) == len(punkt_sentences)
    # Lines never join sentences: C4 counted line by line.
    assert count_sentences(f"{line}\n  \n{line}") == 2 * len(punkt_sentences)


@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \t\n  \n\t"])
def test_count_sentences_blank(text):
    assert count_sentences(text) == 0


def test_real_c4_sample_all_kept():
    if not C4_SAMPLE.is_file():
        pytest.skip(f"{C4_SAMPLE} not present")
    from pipeline.sources.c4 import parse_c4_file

    docs = list(parse_c4_file(str(C4_SAMPLE), "c4/head1000.json.gz", DEFAULT))
    assert len(docs) == 1000 and all(isinstance(d, Document) for d in docs)
    c4_reasons = {DropReason.EMPTY, DropReason.C4_LOREM_IPSUM, DropReason.C4_CURLY_BRACKET,
                  DropReason.C4_TOO_FEW_SENTENCES, DropReason.C4_BAD_WORDS}
    # These are pages C4 kept, cleaned by these very rules with the paper's 3 sentences and 5 words
    # per line (the defaults): every one of them passes again. With the swapped 5 sentences and 3
    # words per line many do not (843 kept when measured); only the reasons are checked there.
    f = C4Filter(C4Config())
    dropped = [o for o in map(f, docs) if isinstance(o, Dropped)]
    assert [(o.doc.id, o.reason.value) for o in dropped] == []
    f = C4Filter(DEFAULT)
    dropped = [o for o in map(f, docs) if isinstance(o, Dropped)]
    assert len(docs) - len(dropped) >= 800
    assert all(o.reason in c4_reasons and o.stage == "clean" and o.detail for o in dropped)
