"""Issue 9, fuzzing: every parser and cleaner, fed arbitrary and markup-shaped input, answers with
its contract and never with an exception. Readers yield Documents or Dropped records; pure cleaners
return strings. Bounded: a fixed number of examples each, a deadline per example (a pathological
regex is a failure too), derandomized so CI sees the same examples every run, no example database
written into the repository.
"""
from __future__ import annotations

import atexit
import dataclasses
import datetime
import gzip
import io
import os
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from filters.github import clean_github
from filters.gutenberg import strip_gutenberg
from filters.latex import clean_latex, collect_macros, expand_macros, has_prose, remove_bibliography, strip_comments
from pipeline.core.document import Document, Dropped
from pipeline.core.stages import _utf8_safe
from pipeline.sources.arxiv import choose_main_file, decode_tex, inline_inputs
from pipeline.sources.books import decode_book, looks_binary, parse_books_file
from pipeline.sources.c4 import parse_c4_file, parse_c4_line
from pipeline.sources.commoncrawl import parse_commoncrawl_file
from pipeline.sources.github import decode_source
from pipeline.sources.html_markup import html_to_text as markup_to_text
from pipeline.sources.html_text import PayloadError, decode_payload, html_to_text, parse_http_response
from pipeline.sources.licenses import detect_license, repository_license
from pipeline.sources.registry import load_corpus_config
from pipeline.sources.stackexchange import Post, parse_posts_xml
from pipeline.sources.wikipedia import parse_wikipedia_file
from pipeline.sources.wikitext import wikitext_to_text

CFG = load_corpus_config("sample", [])
FUZZ = settings(max_examples=300, deadline=datetime.timedelta(seconds=2), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=100)
_TMP = tempfile.mkdtemp(prefix="corral-fuzz-")
_SHORT_TEXT = st.text(max_size=12)
atexit.register(shutil.rmtree, _TMP, True)
set_hypothesis_home_dir(os.path.join(_TMP, "hypothesis"))  # its caches too stay out of the repository


def fragments(*pieces: str, alphabet: st.SearchStrategy[str] = _SHORT_TEXT) -> st.SearchStrategy[str]:
    """Text made of the format's own tokens mixed with arbitrary text: reaches the parser's corners."""
    return st.lists(st.one_of(st.sampled_from(pieces), alphabet), max_size=40).map("".join)


def as_file(data: bytes, name: str) -> str:
    path = os.path.join(_TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def assert_records(items: list, allowed: tuple[type, ...] = (Document, Dropped)) -> None:
    assert all(isinstance(item, allowed) for item in items), items
    for item in items:  # what a shard will hold: valid UTF-8 once the read net has passed over it
        if isinstance(item, (Document, Dropped)):
            doc = _utf8_safe(item)
            doc = doc.doc if isinstance(doc, Dropped) else doc
            for value in (doc.id, doc.text, doc.metadata, doc.url or "", doc.created or ""):
                value.encode("utf-8")


# --- C4 ------------------------------------------------------------------------------------------------
JSONISH = fragments('{"text": "', '"', "\\u", "\\ud800", "\\n", '", "url": ', "}", "{", "[", "]", ",", ":", "null",
                    '"timestamp": "2019-04-25T12:57:54Z"', "é", "\x00")


@FUZZ
@given(st.one_of(st.binary(max_size=300), JSONISH.map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_parse_c4_line(raw):
    out = parse_c4_line(raw, "c4/f.jsonl", 3)
    assert_records([out])


@FEW
@given(st.lists(st.one_of(st.binary(max_size=80), JSONISH.map(str.encode)), max_size=8), st.booleans(),
       st.integers(0, 400))
def test_parse_c4_file(lines, gzipped, cut):
    data = b"\n".join(lines)
    if gzipped:
        data = gzip.compress(data, mtime=0)[: cut or None]
    assert_records(list(parse_c4_file(as_file(data, "f.json.gz" if gzipped else "f.jsonl"), "f", CFG.c4)))


# --- Common Crawl: WARC records and payloads ------------------------------------------------------------
def warc_record(draw_length: int | None, kind: str, block: bytes, headers: str) -> bytes:
    length = len(block) if draw_length is None else draw_length
    return (f"WARC/1.0\r\nWARC-Type: {kind}\r\n{headers}Content-Length: {length}\r\n\r\n").encode(
        "utf-8", "surrogatepass") + block + b"\r\n\r\n"


HTTP_BLOCKS = st.one_of(
    st.binary(max_size=200),
    st.tuples(st.sampled_from(["200 OK", "404 Not Found", "abc", ""]),
              st.sampled_from(["Content-Type: text/html", "Content-Type: text/html; charset=cp1251",
                               "Content-Encoding: gzip",
                               "Transfer-Encoding: chunked", "Content-Type: image/png", "Content-Encoding: br", ""]),
              st.binary(max_size=200)).map(lambda t: f"HTTP/1.1 {t[0]}\r\n{t[1]}\r\n\r\n".encode() + t[2]),
)
RECORDS = st.builds(
    warc_record, st.one_of(st.none(), st.integers(0, 400)),
                    st.sampled_from(["response", "conversion", "warcinfo", "request", "x"]),
    HTTP_BLOCKS, fragments("WARC-Target-URI: <https://a.example/>\r\n", "WARC-Record-ID: <urn:uuid:1>\r\n",
                           "Content-Type: application/http; msgtype=response\r\n",
                           "WARC-Date: 2020-01-01T00:00:00Z\r\n",
                           ": \r\n", " folded\r\n", "X: y\r\n"))


@FEW
@given(st.lists(st.one_of(RECORDS, st.binary(max_size=60)), max_size=5), st.booleans(), st.integers(0, 2000))
def test_warc_record_parser(parts, gzipped, cut):
    data = b"".join(gzip.compress(p, mtime=0) for p in parts)[: cut or None] if gzipped else b"".join(parts)
    path = as_file(data, "f.warc.gz" if gzipped else "f.warc")
    assert_records(list(parse_commoncrawl_file(path, "f.warc", CFG.commoncrawl)))


@FUZZ
@given(HTTP_BLOCKS)
def test_http_payloads(block):
    try:
        payload = parse_http_response(block, 1 << 20)
    except PayloadError:
        return  # the declared way to refuse: the reader turns it into a PARSE_ERROR
    text, codec = decode_payload(payload.body, payload.charset, html=True)
    assert isinstance(text, str) and isinstance(codec, str)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([None, "utf-8", "cp1252", "shift_jis", "nonsense", "utf-16"]),
       st.booleans())
def test_decode_payload(data, charset, html):
    text, codec = decode_payload(data, charset, html)
    assert isinstance(text, str) and isinstance(codec, str)


HTML = fragments("<p>", "</p>", "<div>", "<script>", "</script>", "<pre><code>", "</code></pre>", "<a href='x'>",
                 "</a>", "<li>", "<ol start='x'>", "<table><tr><td>", "&amp;", "&#xD800;", "&#0;", "<!--", "-->",
                 "<br/>", "<", ">")


@FUZZ
@given(HTML)
def test_html_to_text(html):
    assert isinstance(html_to_text(html), str)
    assert isinstance(markup_to_text(html), str)


# --- Wikipedia ------------------------------------------------------------------------------------------
WIKITEXT = fragments("[[", "]]", "{{", "}}", "{|", "|}", "|", "'''", "''", "<ref>", "</ref>", "<ref name=a/>", "<!--",
                     "-->", "== H ==", "\n", "[http://a.example x]", "[[File:x.png|thumb|cap]]", "[[Category:X]]",
                     "<nowiki>", "&nbsp;", "&#0;", "#REDIRECT [[X]]", "<math>", "</math>", "__TOC__", "*", "#", ":")


@FUZZ
@given(WIKITEXT, st.lists(st.text(max_size=8), max_size=2))
def test_wikitext_to_text(text, prefixes):
    assert isinstance(wikitext_to_text(text, prefixes, prefixes), str)


PAGE_LINES = fragments("<mediawiki>\n", "<siteinfo><dbname>enwiki</dbname></siteinfo>\n", "  <page>\n", "  </page>\n",
                       "<title>T</title>\n", "<ns>0</ns>\n", "<ns>x</ns>\n", "<id>1</id>\n", "<id>2</id>\n",
                       "<revision>",
                       "</revision>\n", "<text>", "</text>", "&amp;", "&#xD800;", "<", "\n", "</mediawiki>\n")


@FEW
@given(st.one_of(PAGE_LINES.map(str.encode), st.binary(max_size=300)),
       st.sampled_from(["enwiki-f.xml", "enwiki-f.xml.bz2"]))
def test_wiki_page_splitter(data, name):
    if name.endswith(".bz2"):
        import bz2

        data = bz2.compress(data)[: max(len(data) // 2, 10)] if len(data) % 2 else bz2.compress(data)
    assert_records(list(parse_wikipedia_file(as_file(data, name), name,
                                             dataclasses.replace(CFG.wikipedia, max_page_bytes=2000))))


# --- StackExchange --------------------------------------------------------------------------------------
ROWS = fragments('<?xml version="1.0" encoding="utf-8"?>\n', "<posts>\n", "</posts>\n",
                 '  <row Id="1" PostTypeId="1" Score="2" Body="&lt;p&gt;q&lt;/p&gt;" />\n',
                 '  <row Id="2" PostTypeId="2" ParentId="1" Score="x" />\n',
                 '  <row Id="3" PostTypeId="2" ParentId="1" Score="1" Body="a" />\n',
                 "  <row Id=4 />\n", '<row Id="5" PostTypeId="1" Score="1" Body="cut', "\n", "&#xD800;", "\xff")


@FUZZ
@given(st.one_of(ROWS.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=300)))
def test_stackexchange_rows(data):
    assert_records(list(parse_posts_xml(io.BufferedReader(io.BytesIO(data)), "s.example.com/Posts.xml",
                                        "s.example.com")),
                   (Post, Dropped))


# --- GitHub ---------------------------------------------------------------------------------------------
LICENSE = fragments("Permission is hereby granted, free of charge, to any person obtaining a copy",
                    "GNU General Public License",
                    "version 2", "version 3", "or (at your option) any later version", "Apache License", "Version 2.0",
                    "Redistribution and use in source and binary forms", "Neither the name", "Creative Commons",
                    "Attribution 4.0", "LLAMA 2 COMMUNITY LICENSE", "\n", ".", ",")


@FUZZ
@given(LICENSE, st.lists(LICENSE, max_size=3))
def test_license_detection(text, texts):
    assert isinstance(detect_license(text), str)
    assert all(isinstance(x, str) for x in repository_license(texts))


SOURCE_CODE = fragments("#", "//", "/*", "*/", '"""', "Copyright (c) 2020", "SPDX-License-Identifier: MIT", "License",
                        "#!/usr/bin/env python\n", "\n", "    ", "def f():", "x" * 120, "\t", "\x00",
                        "-*- coding: utf-8 -*-")


@FUZZ
@given(SOURCE_CODE,
       st.sampled_from(["a.py", "b.c", "vendor/x.js", "Makefile", "x.min.js", "LICENSE", "a.rs", "package-lock.json"]))
def test_clean_github(text, path):
    doc = Document(id=f"r/{path}", source="github", text=text, metadata=f'{{"path": "{path}"}}')
    assert_records([clean_github(doc, CFG.github)])


# --- ArXiv ----------------------------------------------------------------------------------------------
LATEX = fragments("\\newcommand{\\a}[1]{#1#1}", "\\def\\b#1{x#1}", "\\renewcommand", "\\a", "\\b", "{", "}", "[", "]",
                  "#1", "%", "\\%", "\\\\", "\\section{S}", "\\begin{document}", "\\end{document}", "\\bibliography{r}",
                  "\\begin{thebibliography}", "\\input{x}", "\\include{y}", "\n", "\\a{\\a{\\a{z}}}")


@FUZZ
@given(LATEX)
def test_latex_cleaning(tex):
    for fn in (clean_latex, strip_comments, remove_bibliography, expand_macros):
        assert isinstance(fn(tex), str)
    assert isinstance(has_prose(tex), bool)
    assert isinstance(collect_macros(tex), dict)


@FEW
@given(st.dictionaries(st.sampled_from(["main.tex", "x.tex", "y.tex", "sub/z.tex"]), LATEX, min_size=1, max_size=4))
def test_main_file_and_inputs(texts):
    main = choose_main_file(sorted(texts), texts)
    body, inlined, missing = inline_inputs(main, texts)
    assert isinstance(body, str) and isinstance(inlined, list) and isinstance(missing, list)


# --- Books and the decoders -----------------------------------------------------------------------------
BOOK = fragments("*** START OF THE PROJECT GUTENBERG EBOOK X ***", "*** END OF THE PROJECT GUTENBERG EBOOK X ***",
                 "Title: T", "Author: A", "Language: English", "Release Date: May 1, 2000 [EBook #12]",
                 "Character set encoding: ISO-8859-1", "*END*THE SMALL PRINT!", "\n", "\n\n", "Produced by X")


@FUZZ
@given(BOOK)
def test_strip_gutenberg(text):
    body, meta = strip_gutenberg(text)
    assert isinstance(body, str) and isinstance(meta, dict)


@FUZZ
@given(st.one_of(st.binary(max_size=400), BOOK.map(lambda s: s.encode("latin-1", "replace"))))
def test_decoders(data):
    text, codec = decode_book(data)
    assert isinstance(text, str) and isinstance(codec, str) and isinstance(looks_binary(text), bool)
    tex = decode_tex(data)
    assert tex is None or isinstance(tex, str)
    source, why = decode_source(data)
    assert (source is None) != (why == "")


@FEW
@given(st.binary(max_size=400), st.sampled_from(["b.txt", "b.txt.gz", "b.txt.bz2"]))
def test_parse_books_file(data, name):
    assert_records(list(parse_books_file(as_file(data, name), name, CFG.books)))
