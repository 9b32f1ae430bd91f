"""Payload decoding and main-text extraction (pipeline/sources/html_text.py)."""
from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from pipeline.sources.html_text import (
    PayloadError,
    codec_for,
    dechunk,
    decode_content,
    decode_payload,
    html_to_text,
    meta_charset,
    parse_http_response,
    plain_to_text,
    split_content_type,
)

MAX = 1 << 20
RUSSIAN = "Пожарная безопасность складов и торговых центров"


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>T</title></head><body><p>{body}</p></body></html>"


# --- charset ------------------------------------------------------------------------------------------
def test_http_charset_wins_over_meta():
    data = page(RUSSIAN, '<meta charset="koi8-r">').encode("cp1251")
    assert decode_payload(data, "windows-1251", html=True) == (page(RUSSIAN, '<meta charset="koi8-r">'), "cp1251")


@pytest.mark.parametrize("head", [
    '<meta charset="windows-1251">',
    "<meta http-equiv='Content-Type' content='text/html; charset=windows-1251'>",
    '<META HTTP-EQUIV="content-type" CONTENT="text/html;charset=CP1251">',
])
def test_meta_charset_when_the_header_has_none(head):
    text, codec = decode_payload(page(RUSSIAN, head).encode("cp1251"), None, html=True)
    assert codec == "cp1251" and RUSSIAN in text


def test_xml_declaration_charset():
    data = ('<?xml version="1.0" encoding="ISO-8859-1"?><html><body>Grüße aus Köln</body></html>').encode("latin-1")
    text, codec = decode_payload(data, None, html=True)
    assert codec == "cp1252" and "Grüße aus Köln" in text


def test_short_utf8_page_without_charset_is_not_cp1252_mojibake():
    data = "<p>Grüße aus Köln — schön!</p>".encode()
    assert decode_payload(data, None, html=True) == ("<p>Grüße aus Köln — schön!</p>", "utf-8")


def test_detection_when_nothing_is_declared_and_utf8_fails():
    data = page(RUSSIAN * 20).encode("cp1251")
    text, codec = decode_payload(data, None, html=True)
    assert codec == "cp1251" and RUSSIAN in text


@pytest.mark.parametrize("label", ["no-such-charset", "x-user-defined", "", None])
def test_unknown_charset_name_falls_through(label):
    data = page("Grüße").encode()
    assert decode_payload(data, label, html=True) == (page("Grüße"), "utf-8")


def test_declared_charset_that_does_not_decode_falls_through():
    data = page("日本語のページ").encode("shift_jis")
    text, codec = decode_payload(data, "utf-8", html=True)  # the header lies
    assert "日本語のページ" in text and codec in ("shift_jis", "cp932")


def test_valid_utf8_beats_a_declared_single_byte_charset():
    # Apache's old default header on a UTF-8 page: a strict cp1252 decode would succeed and garble it.
    assert decode_payload(page("Grüße").encode(), "ISO-8859-1", html=True) == (page("Grüße"), "utf-8")
    # ... while real Latin-1 bytes under the same header stay Latin-1.
    assert decode_payload(page("Grüße").encode("latin-1"), "ISO-8859-1", html=True) == (page("Grüße"), "cp1252")


def test_ascii_page_keeps_its_declared_charset():
    assert decode_payload(page("plain").encode(), "windows-1251", html=True)[1] == "cp1251"


def test_bom_wins_and_is_removed():
    data = "\ufeff<p>Grüße</p>".encode("utf-16-le")
    assert decode_payload(data, "windows-1251", html=True) == ("<p>Grüße</p>", "utf-16-le")
    assert decode_payload(b"\xef\xbb\xbf<p>x</p>", None, html=True) == ("<p>x</p>", "utf-8")


def test_utf8_cut_inside_the_last_character_still_decodes_strictly():
    data = "Grüße aus Köln, 日本".encode()[:-1]
    assert decode_payload(data, "utf-8", html=False) == ("Grüße aus Köln, 日", "utf-8")


def test_plain_text_ignores_meta_like_text():
    data = b'say <meta charset="koi8-r"> in HTML'
    assert decode_payload(data, None, html=False)[1] == "utf-8"


@pytest.mark.parametrize("label, codec", [("UTF-8", "utf-8"), ("latin1", "cp1252"), ("gb2312", "gbk"),
                                          ('"windows-1251"', "cp1251"), ("nonsense", None), (None, None)])
def test_codec_for(label, codec):
    assert codec_for(label) == codec


def test_meta_charset_only_in_meta_or_xml_declaration():
    assert meta_charset(b'<meta name="x" content="y"><meta charset=utf-8>') == "utf-8"
    assert meta_charset(b"<p>charset=koi8-r</p>") is None


# --- HTTP ---------------------------------------------------------------------------------------------
def http(body: bytes, *fields: str, status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n").encode() + body


def test_parse_http_response():
    p = parse_http_response(http(b"<p>x</p>", "Content-Type: text/html; charset=ISO-8859-1"), MAX)
    assert (p.status, p.content_type, p.charset, p.body) == (200, "text/html", "ISO-8859-1", b"<p>x</p>")
    assert parse_http_response(http(b"", status="404 Not Found"), MAX).status == 404
    assert parse_http_response(b"HTTP/1.0 200 OK\n\nbody", MAX).body == b"body"  # LF-only header


@pytest.mark.parametrize("block", [b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", b"<html>no status line\r\n\r\n"])
def test_unreadable_http_is_a_payload_error(block):
    with pytest.raises(PayloadError):
        parse_http_response(block, MAX)


def test_chunked_and_gzip_are_undone():
    body = gzip.compress("<p>Grüße</p>".encode(), mtime=0)
    pieces = [body[i:i + 7] for i in range(0, len(body), 7)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    p = parse_http_response(http(chunked, "Transfer-Encoding: chunked", "Content-Encoding: gzip"), MAX)
    assert p.body == "<p>Grüße</p>".encode()


def test_dechunk():
    assert dechunk(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") == b"hello world"
    assert dechunk(b"5\r\nhel") == b"hel"  # a cut last chunk keeps what is there
    assert dechunk(b"<html>stored de-chunked</html>") == b"<html>stored de-chunked</html>"
    with pytest.raises(PayloadError):
        dechunk(b"5\r\nhello\r\nzz\r\n")


def test_decode_content():
    data = b"<p>text</p>" * 10
    assert decode_content(zlib.compress(data), "deflate", MAX) == data
    assert decode_content(zlib.compress(data)[2:-4], "deflate", MAX) == data  # raw deflate
    assert decode_content(brotli.compress(data), "br", MAX) == data
    assert decode_content(data, "gzip", MAX) == data  # stored decoded under the original header
    varied = " ".join(f"<p>line {i} of {i * 7919 % 1000}</p>" for i in range(300)).encode()
    cut = decode_content(gzip.compress(varied)[:-200], "gzip", MAX)  # a cut body inflates as far as it goes
    assert 1000 < len(cut) < len(varied) and varied.startswith(cut)
    with pytest.raises(PayloadError, match="max_record_bytes"):
        decode_content(gzip.compress(b"a" * 5000), "gzip", 1000)
    with pytest.raises(PayloadError, match="unsupported"):
        decode_content(data, "compress", MAX)
    with pytest.raises(PayloadError):
        decode_content(b"\x1f\x8b\x08\x00garbage-garbage", "gzip", MAX)


def test_split_content_type():
    assert split_content_type('Text/HTML; Charset="UTF-8"') == ("text/html", "UTF-8")
    assert split_content_type("") == ("", None)


# --- main text ----------------------------------------------------------------------------------------
ARTICLE = " ".join(["The river rose slowly through the night and reached the old stone bridge by dawn."] * 4)


def test_main_text_drops_menus_and_scripts_and_keeps_paragraphs():
    html = (f"<html><body><nav><ul><li><a href='/'>Home</a></li><li><a href='/x'>Shop</a></li></ul></nav>"
            f"<script>var tracking = 1;</script><article><h1>Flood report</h1><p>{ARTICLE}</p>"
            f"<p>Second paragraph of the report.</p></article>"
            f"<footer>Copyright 2099. All rights reserved.</footer></body></html>")
    text = html_to_text(html)
    assert "Flood report" in text and ARTICLE in text and "Second paragraph of the report." in text
    assert "tracking" not in text and "Shop" not in text
    assert f"{ARTICLE}\n" in text  # paragraphs are separate lines


@pytest.mark.parametrize("html", ["", "   ", "<html><body></body></html>", "<html><body>\ufeff  \n </body></html>"])
def test_empty_and_whitespace_pages_give_empty_text(html):
    assert html_to_text(html) == ""


def test_plain_to_text():
    assert plain_to_text("  one\r\ntwo\rthree\n\n") == "one\ntwo\nthree"
    assert plain_to_text(" \n\t ") == ""
