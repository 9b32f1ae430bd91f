"""Wikitext -> plain text: the Wikipedia cleaning of the LLaMA recipe.

LLaMA (Touvron et al. 2023, section 2): "We process the data to remove hyperlinks, comments and
other formatting boilerplate." Concretely, `wikitext_to_text` renders what a reader sees as running
prose and drops the rest:

- removed: templates `{{...}}` and template arguments, comments, `<ref>` (both forms), tables
  (`{| ... |}` and HTML `<table>`), `[[Category:..]]` and `[[File:..]]`/`[[Image:..]]` links in
  every language we know of (English canonical names, a built-in table for the 20 LLaMA languages,
  and the dump's own siteinfo names passed in by the caller), interlanguage links `[[de:Foo]]`,
  behaviour switches `__TOC__`, bold/italic quote marks, list markers, and the content of tags
  that hold no prose: ref, references, gallery, math, chem, timeline, imagemap, score, graph, maps,
  templatedata/templatestyles, includeonly. Math is dropped rather than kept as TeX source: TeX
  is not prose, and a formula cut out of its rendering is noise to a language model.
- kept: the visible text of links (`[[target|label]]` -> label, `[[target]]` -> target), labelled
  external links (`[http://x label]` -> label; an unlabelled bracketed URL shows as "[1]" in the
  browser and is removed), free URLs, the text inside harmless inline tags (b, i, span, small,
  sub, sup, nowiki, code, ...), headings as a line of their own, list item text.
- tidied: what removal leaves behind, "Lincoln (; born 1809)" -> "Lincoln (born 1809)", "name ()"
  -> "name", and headings of sections left with no text ("References", "External links").

Templates are removed even where they render a word (`{{lang|de|Haus}}`): expanding them needs
the whole template namespace, which a dump of articles does not carry.

mwparserfromhell never raises on malformed wikitext: what it cannot match stays text. That text
(an unclosed table, a stray `{{`, unbalanced quote marks) is swept up by `_sweep_residue`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import mwparserfromhell
from mwparserfromhell import nodes
from mwparserfromhell.wikicode import Wikicode

# Names of namespace 6 (File) and 14 (Category): English canonical names and the primary names and
# common aliases in the 20 LLaMA languages (bg ca cs da de en es fr hr hu it nl pl pt ro ru sl sr
# sv uk), from each wiki's siteinfo and MediaWiki's Messages*.php namespace aliases.
FILE_PREFIXES = frozenset({
    "file", "image",
    "файл", "картинка", "изображение", "зображення", "датотека", "слика",
    "fitxer", "imatge", "soubor", "obrázek", "fil", "billede", "bild", "datei", "archivo", "imagen",
    "fichier", "datoteka", "slika", "fájl", "kép", "immagine", "bestand", "afbeelding", "plik",
    "grafika", "ficheiro", "arquivo", "imagem", "fișier", "imagine",
})
CATEGORY_PREFIXES = frozenset({
    "category",
    "категория", "категорія", "категорија",
    "categoria", "kategorie", "kategori", "categoría", "catégorie", "kategorija", "kategória",
    "categorie", "kategoria",
})
# Tags whose content is not running prose (references, media, markup languages, tables).
_DROP_CONTENT_TAGS = frozenset({
    "ref", "references", "gallery", "math", "chem", "ce", "timeline", "imagemap", "score", "graph",
    "mapframe", "maplink", "templatedata", "templatestyles", "includeonly", "indicator",
    "inputbox", "categorytree", "section", "table", "hiero", "charinsert",
})
# Tags that break the line: their content becomes a line (or lines) of its own.
_BLOCK_TAGS = frozenset({"p", "div", "li", "dd", "dt", "ul", "ol", "dl", "blockquote", "center",
                         "pre", "poem", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})
_LIST_MARKUP = frozenset({"*", "#", ":", ";"})
# Interlanguage prefixes are lower-case language codes ("de", "zh-min-nan", "simple").
_LANG_PREFIX = re.compile(r"^(?:[a-z]{2,3}(?:-[a-z0-9]+)*|simple)$")
_MAGIC_WORD = re.compile(r"__(\w+?)__")
_QUOTE_RUN = re.compile(r"'{2,}")
_SPACE_RUN = re.compile(r"[ \t\u00a0\u202f\u2007]+")
_BLANK_RUN = re.compile(r"\n{3,}")
# Brackets and spaces a removed template leaves behind: "Lincoln (; born 1809)", "name (, )".
_EMPTY_PARENS = re.compile(r"(?:^|[ ]+)\([\s,;:]*\)")  # not "f()": code keeps its calls
_PAREN_LEAD = re.compile(r"\([ ]*[,;:]+[ ]*")
_SPACE_BEFORE_STOP = re.compile(r"(?<=\S) +([,.])(?=\s|$)")
_HEADING = "\ue000"  # private-use mark on heading lines until _tidy (removed from the input)
_HEADING_LINE = re.compile("^\ue000(\\d+)\ue000(.*)$")
_TEMPLATE_RESIDUE = re.compile(r"\{\{[^{}]*\}\}")
_LINK_RESIDUE = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
# Tags MediaWiki knows, left as text when unbalanced: the tag goes, the text between stays.
_STRAY_TAG = re.compile(
    r"</?(?:ref|references|gallery|math|chem|timeline|imagemap|score|templatestyles|section|"
    r"includeonly|noinclude|onlyinclude|nowiki|poem|syntaxhighlight|source|b|i|u|s|em|strong|"
    r"big|small|sub|sup|span|div|p|br|hr|table|caption|tr|td|th|blockquote|center|font|code|"
    r"pre|tt|ul|ol|li|dl|dt|dd|abbr|cite|q|ruby|rt|rp|var|kbd|samp|del|ins|strike|mark|wbr|"
    r"bdi|bdo|time|h[1-6])\b[^<>]*>",
    re.IGNORECASE,
)


def wikitext_to_text(
    wikitext: str,
    file_prefixes: Iterable[str] = (),
    category_prefixes: Iterable[str] = (),
) -> str:
    """The plain prose of one page's wikitext (LLaMA section 2: no links, comments, boilerplate).

    `file_prefixes` and `category_prefixes` are the dump's own names for namespaces 6 and 14
    (siteinfo), recognised on top of FILE_PREFIXES and CATEGORY_PREFIXES. Never raises.
    """
    if not wikitext or not wikitext.strip():
        return ""
    hidden = FILE_PREFIXES | CATEGORY_PREFIXES | {
        _normalize_prefix(p) for p in (*file_prefixes, *category_prefixes)
    }
    # Bold/italic quote marks stay text (removed by _sweep_residue): mwparserfromhell's style
    # parsing gives up on a whole <ref> or [[link]] that holds an unbalanced '' or '''.
    code = mwparserfromhell.parse(wikitext.replace(_HEADING, ""), skip_style_tags=True)
    rendered = _render(code, hidden)
    return _tidy(_sweep_residue(rendered))


def _normalize_prefix(prefix: str) -> str:
    # MediaWiki treats "_" and " " alike in titles and namespace names case-insensitively.
    return " ".join(prefix.replace("_", " ").split()).casefold()


def _render(code: Wikicode, hidden: frozenset[str] | set[str]) -> str:
    return "".join(_render_node(node, hidden) for node in code.nodes)


def _render_node(node: nodes.Node, hidden: frozenset[str] | set[str]) -> str:
    if isinstance(node, nodes.Text):
        return node.value
    if isinstance(node, nodes.Wikilink):
        return _render_wikilink(node, hidden)
    if isinstance(node, nodes.ExternalLink):
        return _render_external_link(node, hidden)
    if isinstance(node, nodes.Tag):
        return _render_tag(node, hidden)
    if isinstance(node, nodes.Heading):
        # A heading stays a line of its own; the mark lets _tidy drop sections left empty.
        return f"\n{_HEADING}{node.level}{_HEADING}{_render(node.title, hidden).strip()}\n"
    if isinstance(node, nodes.HTMLEntity):
        return _render_entity(node)
    # Templates, template arguments and comments: boilerplate or invisible.
    return ""


def _render_wikilink(link: nodes.Wikilink, hidden: frozenset[str] | set[str]) -> str:
    title = _render(link.title, hidden).strip()
    if title.startswith(":"):
        # A leading colon makes a category, file or other-language link an ordinary visible link.
        title = title[1:].lstrip()
    elif ":" in title:
        prefix = title.split(":", 1)[0]
        if _normalize_prefix(prefix) in hidden or _LANG_PREFIX.match(prefix.strip()):
            return ""
    if link.text is None:
        return title
    label = _render(link.text, hidden).strip()
    if label:
        return label
    # The "pipe trick" [[Paris, Texas|]] shows the title without namespace or qualifier.
    base = title.split(":", 1)[-1]
    return re.sub(r"\s*(\([^()]*\)|,.*)$", "", base).strip()


def _render_external_link(link: nodes.ExternalLink, hidden: frozenset[str] | set[str]) -> str:
    if not link.brackets:
        return str(link.url)  # a free URL is visible text
    if link.title is None:
        return ""  # rendered as a bare footnote number "[1]": no prose
    return _render(link.title, hidden).strip()


def _render_tag(tag: nodes.Tag, hidden: frozenset[str] | set[str]) -> str:
    name = str(tag.tag).strip().lower()
    if name in _DROP_CONTENT_TAGS or tag.wiki_markup in _LIST_MARKUP:
        return ""
    if name in ("br", "hr"):
        return "\n"
    if tag.self_closing or tag.contents is None:
        return ""
    inner = _render(tag.contents, hidden)
    return f"\n{inner}\n" if name in _BLOCK_TAGS else inner


def _render_entity(entity: nodes.HTMLEntity) -> str:
    try:
        char = entity.normalize()
    except ValueError:
        return ""  # a numeric entity out of Unicode's range renders as nothing useful
    return " " if char in ("\u00a0", "\u202f", "\u2007") else char


def _sweep_residue(text: str) -> str:
    """Markup mwparserfromhell left as text because it was malformed (unclosed, unbalanced)."""
    text = _drop_unclosed_tables(text)
    for _ in range(8):  # nested leftovers unwrap one level per pass; 8 is deeper than real pages
        swept = _LINK_RESIDUE.sub(r"\1", _TEMPLATE_RESIDUE.sub("", text))
        if swept == text:
            break
        text = swept
    text = _MAGIC_WORD.sub(lambda m: "" if m.group(1) == m.group(1).upper() else m.group(0), text)
    text = _QUOTE_RUN.sub("", text)
    # What is still unbalanced after that is a broken fragment; its brackets carry no prose.
    for token in ("{{", "}}", "[[", "]]", "{|", "|}"):
        text = text.replace(token, "")
    return _STRAY_TAG.sub("", text)


def _drop_unclosed_tables(text: str) -> str:
    """Drop the rows of a `{|` table the parser could not close (up to `|}` or a blank line)."""
    out: list[str] = []
    in_table = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("{|"):
            in_table = True
        if not in_table:
            out.append(line)
        elif stripped.startswith("|}") or not stripped:
            in_table = False
    return "\n".join(out)


def _tidy(text: str) -> str:
    lines = [_tidy_line(line) for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(_drop_empty_sections(lines))).strip()


def _tidy_line(line: str) -> str:
    line = _SPACE_RUN.sub(" ", line)
    line = _PAREN_LEAD.sub("(", _EMPTY_PARENS.sub("", line))
    return _SPACE_BEFORE_STOP.sub(r"\1", line).strip()


def _drop_empty_sections(lines: list[str]) -> list[str]:
    """Headings become plain lines; a heading whose section lost all its text is dropped.

    "References", "External links", "Gallery" sections hold only refs, templates and link lists
    that cleaning removed; their bare headings are formatting boilerplate (LLaMA section 2).
    """
    out: list[str | None] = []
    pending: list[tuple[int, int]] = []  # (level, index in out) of headings with no text yet
    for line in lines:
        heading = _HEADING_LINE.match(line)
        if heading:
            level = int(heading.group(1))
            while pending and pending[-1][0] >= level:
                out[pending.pop()[1]] = None  # a section that ended with no text in it
            pending.append((level, len(out)))
            out.append(heading.group(2).strip())
        else:
            if line:
                pending.clear()  # text under these headings: all of them stay
            out.append(line)
    for _, index in pending:
        out[index] = None
    return [line for line in out if line is not None]
