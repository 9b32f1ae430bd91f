"""Post bodies to text (pipeline/sources/html_markup.py)."""
from __future__ import annotations

import re

import pytest

from pipeline.sources.html_markup import html_to_text


def test_paragraphs_become_blocks_and_inline_tags_go():
    html = "<p>First <strong>bold</strong> and <em>kept</em> words.</p>\n\n<p>Second\n   paragraph.</p>\n"
    assert html_to_text(html) == "First bold and kept words.\n\nSecond paragraph."


def test_code_blocks_are_kept_verbatim():
    html = ("<p>Try this:</p>\n<pre><code>def f(x):\n    if x &lt; 2:\n        return [x]\n\n"
            "    return []\n</code></pre>\n"
            "<p>It works.</p>")
    assert html_to_text(html) == ("Try this:\n\ndef f(x):\n    if x < 2:\n        return [x]\n\n"
                                  "    return []\n\nIt works.")


def test_leading_indentation_and_markup_inside_pre():
    # The first line's indentation is code; a newline right after <pre> is not (HTML drops it).
    assert html_to_text("<pre>\n    indented\n  <b>x</b><br>y</pre>") == "    indented\n  x\ny"


def test_inline_code_stays_in_its_line():
    assert html_to_text("<p>Call <code>len(s)</code> on <code>&lt;list&gt;</code>.</p>") == "Call len(s) on <list>."


def test_lists_become_lines():
    html = ("<p>Steps:</p><ol><li>one</li><li>two<ul><li>inner</li></ul></li><li>three</li></ol>"
            "<ul><li>a</li><li>b</li></ul>")
    assert html_to_text(html) == "Steps:\n\n1. one\n2. two\n  - inner\n3. three\n\n- a\n- b"


def test_ordered_list_start_attribute():
    assert html_to_text('<ol start="4"><li>four</li><li>five</li></ol>') == "4. four\n5. five"


def test_loose_list_items_keep_their_marker():
    assert html_to_text("<ul><li><p>first</p></li><li><p>second</p></li></ul>") == "- first\n\n- second"


@pytest.mark.parametrize("html, text", [
    ("<p>fish &amp; chips &lt;3 &quot;yes&quot; &#39;no&#39; &#x2014; caf&eacute;</p>",
     "fish & chips <3 \"yes\" 'no' \u2014 caf\u00e9"),
    ("<p>2&nbsp;kg</p>", "2\u00a0kg"),  # a no-break space is text, not HTML whitespace to collapse
    ("<p>&lt;p&gt;escaped tags are text&lt;/p&gt;</p>", "<p>escaped tags are text</p>"),
])
def test_entities_are_decoded(html, text):
    assert html_to_text(html) == text


def test_links_keep_their_text_and_images_go():
    html = ('<p>See <a href="https://example.org/x" rel="nofollow">the manual</a>.'
            '<img src="https://example.org/i.png" alt="enter image description here"></p>')
    assert html_to_text(html) == "See the manual."


def test_headings_rules_quotes_and_breaks():
    html = "<h2>Title</h2><p>one<br>two</p><hr><blockquote><p>quoted</p></blockquote>"
    assert html_to_text(html) == "Title\n\none\ntwo\n\nquoted"


def test_tables_become_rows_of_cells():
    html = "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
    assert html_to_text(html) == "a | b\n1 | 2"


def test_script_and_style_content_is_not_text():
    assert html_to_text("<p>x</p><script>alert(1)</script><style>p{}</style><p>y</p>") == "x\n\ny"


@pytest.mark.parametrize("html, text", [
    ("<p>one<p>two", "one\n\ntwo"),  # unclosed paragraphs
    ("<b>never closed", "never closed"),
    ("</div>stray end tag", "stray end tag"),
    ("<pre><code>unclosed\n  code", "unclosed\n  code"),
    ("a < b and c > d", "a < b and c > d"),
])
def test_broken_markup_still_gives_text(html, text):
    assert html_to_text(html) == text


@pytest.mark.parametrize("html", ["", "   \n\t ", "<p> </p>", "<p></p><br><hr>", "<img src='x.png'>"])
def test_empty_and_whitespace_only(html):
    assert html_to_text(html) == ""


def test_no_tag_survives_a_mixed_body():
    html = ('<h1>H</h1><p>Text with <a href="u">a link</a>, <code>code</code> and <kbd>Ctrl</kbd>.</p>'
            '<pre class="lang-py"><code>x = 1\n</code></pre><ul><li><p>item</p></li></ul>'
            '<div><span>span</span><sup>2</sup><strike>gone</strike></div>')
    text = html_to_text(html)
    assert not re.search(r"</?[a-z]+[^>]*>", text)
    assert text == "H\n\nText with a link, code and Ctrl.\n\nx = 1\n\n- item\n\nspan2gone"
