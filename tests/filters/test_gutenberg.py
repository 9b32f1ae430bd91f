"""Project Gutenberg boilerplate stripping (filters/gutenberg.py), one header/footer style at a time.

The texts below are short imitations written for these tests; the marker lines are Gutenberg's.
"""
from __future__ import annotations

import pytest

from filters.gutenberg import header_metadata, strip_gutenberg

BODY = """CHAPTER I.

The mill stood at the bottom of the valley, where the river turned twice
before it reached the town. Nobody remembered who had built it.

CHAPTER II.

In spring the water rose and the wheel turned all day long."""

MODERN = f"""The Project Gutenberg eBook of The Mill

This ebook is for the use of anyone anywhere in the United States and
most other parts of the world at no cost. You may copy it under the terms
of the Project Gutenberg License included with this ebook or online
at www.gutenberg.org.

Title: The Mill

Author: Ann Example

Release date: December 1, 1999 [eBook #12345]
                Most recently updated: January 17, 2021

Language: English



*** START OF THE PROJECT GUTENBERG EBOOK THE MILL ***




{BODY}




*** END OF THE PROJECT GUTENBERG EBOOK THE MILL ***



Updated editions will replace the previous one--the old editions will
be renamed.

START: FULL LICENSE

THE FULL PROJECT GUTENBERG LICENSE
PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK

Section 1. General Terms of Use and Redistributing Project Gutenberg™
electronic works
"""

OLDER = f"""The Project Gutenberg EBook of The Mill, by Ann Example

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.  You may copy it under the terms of
the Project Gutenberg License included with this eBook or online at
www.gutenberg.org


Title: The Mill
       A Story of the Valley

Author: Ann Example

Posting Date: July 26, 2008 [EBook #972]
Release Date: May, 1997

Language: English

Character set encoding: ASCII

*** START OF THIS PROJECT GUTENBERG EBOOK THE MILL ***




Produced by Jane Volunteer and the Online Distributed
Proofreading Team at http://www.pgdp.net





{BODY}





End of the Project Gutenberg EBook of The Mill, by Ann Example

*** END OF THIS PROJECT GUTENBERG EBOOK THE MILL ***

***** This file should be named 972.txt or 972.zip *****
This and all associated files of various formats will be found in:
        http://www.gutenberg.org/9/7/972/

Produced by Jane Volunteer and the Online Distributed
Proofreading Team at http://www.pgdp.net

*** START: FULL LICENSE ***

THE FULL PROJECT GUTENBERG LICENSE
To protect the Project Gutenberg-tm mission of promoting the free
distribution of electronic works, by using or distributing this work
"""

SMALL_PRINT_1993 = f"""The Project Gutenberg Etext of The Mill by Example
#3 in our series by Ann Example


Copyright laws are changing all over the world, be sure to check
the copyright laws for your country before posting these files!!

**Welcome To The World of Free Plain Vanilla Electronic Texts**

THE MILL

July, 1997  [Etext #972]

*****This file should be named mill10.txt or mill10.zip******

**Information prepared by the Project Gutenberg legal advisor**

***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***
Why is this "Small Print!" statement here?  You know: lawyers.
By using or reading any part of this PROJECT GUTENBERG-tm
etext, you indicate that you understand, agree to and accept
this "Small Print!" statement.
*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*





{BODY}





End of The Project Gutenberg Etext of The Mill by Example
"""

SMALL_PRINT_2000 = f"""Project Gutenberg Etext of The Mill, by Ann Example
#8 in our series by Ann Example

Title: The Mill

Author: Ann Example

Release Date: June, 2002  [Etext #3261]

Language: English

Project Gutenberg Etext of The Mill, by Ann Example
*****This file should be named mill10.txt or mill10.zip******

**The Legal Small Print**

***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***
Why is this "Small Print!" statement here?  You know: lawyers.
*END THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.12.12.00*END*




This etext was produced from the 1908 edition by David Volunteer,
email someone@example.org




{BODY}




End of Project Gutenberg Etext of The Mill, by Ann Example
"""


def stripped(text: str) -> str:
    return strip_gutenberg(text)[0]


def assert_no_boilerplate(body: str) -> None:
    upper = body.upper()
    for needle in ("PROJECT GUTENBERG", "SMALL PRINT", "GUTENBERG.ORG", "PRODUCED BY", "ETEXT WAS PRODUCED",
                   "THIS FILE SHOULD BE NAMED", "LICENSE"):
        assert needle not in upper, needle


@pytest.mark.parametrize("text", [MODERN, OLDER, SMALL_PRINT_1993, SMALL_PRINT_2000],
                         ids=["modern", "older", "1993", "2000"])
def test_each_style_leaves_exactly_the_body(text):
    body, meta = strip_gutenberg(text)
    assert body == BODY
    assert meta["had_header"] and meta["had_footer"]
    assert_no_boilerplate(body)


def test_marker_without_spaces():
    text = MODERN.replace("*** START OF THE PROJECT GUTENBERG EBOOK THE MILL ***",
                          "***START OF THE PROJECT GUTENBERG EBOOK THE MILL***")
    text = text.replace("*** END OF THE PROJECT GUTENBERG EBOOK THE MILL ***",
                        "***END OF THE PROJECT GUTENBERG EBOOK THE MILL***")
    assert stripped(text) == BODY


def test_marker_wrapped_over_two_lines():
    text = MODERN.replace("*** START OF THE PROJECT GUTENBERG EBOOK THE MILL ***",
                          "*** START OF THE PROJECT GUTENBERG EBOOK THE MILL AND\nOTHER STORIES OF THE VALLEY ***")
    assert stripped(text) == BODY


@pytest.mark.parametrize("end_line", [
    "End of Project Gutenberg's The Mill, by Ann Example",
    "End of the Project Gutenberg EBook of The Mill",
    "END OF PROJECT GUTENBERG ETEXT OF THE MILL",
    "*** END OF THE COPYRIGHTED PROJECT GUTENBERG EBOOK THE MILL ***",
])
def test_footer_starts_at_any_end_line(end_line):
    text = f"*** START OF THIS PROJECT GUTENBERG EBOOK THE MILL ***\n\n{BODY}\n\n{end_line}\n\nlicence text\n"
    assert stripped(text) == BODY


def test_header_stripped_footer_kept():
    """pg1342 in the shared samples: a third party cut the header but left Title/Author and the
    whole footer with the licence."""
    text = "Title: The Mill\n\nAuthor: Ann Example\n\n" + MODERN[MODERN.index(BODY):]
    body, meta = strip_gutenberg(text)
    assert body == BODY
    assert (meta["title"], meta["author"], meta["had_header"], meta["had_footer"]) == (
        "The Mill", "Ann Example", False, True)


def test_licence_without_any_end_line_is_still_cut():
    for opening in ("Updated editions will replace the previous one--the old editions will",
                    "*** START: FULL LICENSE ***", "THE FULL PROJECT GUTENBERG LICENSE",
                    "***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***"):
        body, meta = strip_gutenberg(f"{BODY}\n\n\n{opening}\nlegal text\n")
        assert body == BODY and meta["had_footer"], opening


def test_small_print_at_the_end_is_a_footer_not_a_header():
    text = (f"The Project Gutenberg Etext of The Mill, by Ann Example\n\n{BODY}\n\n"
            "End of Project Gutenberg Etext of The Mill\n\n"
            "***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***\nlegal\n"
            "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n")
    body, meta = strip_gutenberg(text)
    assert body == BODY
    assert (meta["title"], meta["author"], meta["had_header"]) == ("The Mill", "Ann Example", False)


def test_small_print_then_a_start_marker_takes_the_last():
    text = SMALL_PRINT_1993.replace(BODY, "*** START OF THE PROJECT GUTENBERG EBOOK THE MILL ***\n\n" + BODY)
    assert stripped(text) == BODY


def test_no_boilerplate_keeps_the_text_whole():
    text = "[Illustration]\n\n\nAlice's Adventures\n\nby Someone\n\n" + BODY + "\n\nTHE END"
    body, meta = strip_gutenberg(text)
    assert body == text
    assert meta == {"title": None, "author": None, "language": None, "release_date": None, "ebook": None,
                    "had_header": False, "had_footer": False}


def test_a_book_opening_like_a_note_is_not_header_residue():
    text = "Note: the author wrote this in prison.\n\nTitle: a word the author liked.\n\n" + BODY
    assert stripped(text) == text


def test_book_words_that_look_like_credits_stay():
    """Credits are cut only right after the START marker; a book may say "produced by" itself, and
    a transcriber's note may name Project Gutenberg."""
    inner = ("It was a sound produced by the wind.\n\n"
             "[Note Project Gutenberg: music transcribed in Lilypond format]\n\n"
             "Produced by the author's own hand, the map was wrong.")
    text = MODERN.replace(BODY, BODY + "\n\n" + inner)
    assert stripped(text) == BODY + "\n\n" + inner


def test_only_credits_right_after_the_marker_are_cut():
    text = OLDER.replace("Produced by Jane", "Transcribed from the 1908 edition by David\nPrice.\n\nProduced by Jane",
                         1)
    assert stripped(text) == BODY


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n", " \n \n"])
def test_empty_and_whitespace_only(text):
    body, meta = strip_gutenberg(text)
    assert body == "" and not meta["had_header"] and not meta["had_footer"]


def test_only_boilerplate_leaves_nothing():
    text = MODERN.replace(BODY, "\n\n")
    body, meta = strip_gutenberg(text)
    assert body == "" and meta["had_header"] and meta["had_footer"]


def test_metadata_modern():
    meta = strip_gutenberg(MODERN)[1]
    assert meta["title"] == "The Mill" and meta["author"] == "Ann Example"
    assert meta["language"] == "English" and meta["release_date"] == "December 1, 1999" and meta["ebook"] == 12345


def test_metadata_wrapped_title_and_posting_date():
    meta = strip_gutenberg(OLDER)[1]
    assert meta["title"] == "The Mill A Story of the Valley"
    assert meta["release_date"] == "July 26, 2008"  # the first date field wins
    assert meta["ebook"] == 972 and meta["language"] == "English"


def test_metadata_from_the_1990s_banner():
    meta = strip_gutenberg(SMALL_PRINT_1993)[1]
    assert (meta["title"], meta["author"], meta["ebook"], meta["language"]) == ("The Mill", "Example", 972, None)


@pytest.mark.parametrize("banner, title, author", [
    ("The Project Gutenberg eBook of Don Quijote", "Don Quijote", None),
    ("Project Gutenberg's Two Latin Plays for High-School Students, by Susan Paxson",
     "Two Latin Plays for High-School Students", "Susan Paxson"),
    ("The Project Gutenberg eBook, News from Nowhere, by William Morris", "News from Nowhere", "William Morris"),
    ("\ufeffThe Project Gutenberg Etext of The Devil's Dictionary by Bierce", "The Devil's Dictionary", "Bierce"),
])
def test_banner_forms(banner, title, author):
    meta = header_metadata([banner, ""])
    assert (meta["title"], meta["author"]) == (title, author)


def test_fields_win_over_the_banner():
    meta = header_metadata(["The Project Gutenberg EBook of Short Name, by A. B.", "", "Title: Long Name",
                            "Author: C. D."])
    assert (meta["title"], meta["author"]) == ("Long Name", "C. D.")
