"""One focused test per fix that the bad-input suite led to (the suite itself runs them end to end)."""
from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import tarfile
import zipfile

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from filters.ccnet import load_model
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.io import printable
from pipeline.core.stages import read_records
from pipeline.jobs.inputs import LocalPath, discover
from pipeline.launch import beam as launch
from pipeline.launch.beam import worker_user_error
from pipeline.sources.arxiv import parse_arxiv_file
from pipeline.sources.books import parse_books_file
from pipeline.sources.c4 import MAX_LINE_BYTES, parse_c4_file
from pipeline.sources.commoncrawl import parse_commoncrawl_file
from pipeline.sources.github import parse_github_file
from pipeline.sources.multistream import Bz2Streams
from pipeline.sources.registry import load_corpus_config
from pipeline.sources.stackexchange import Post, parse_posts_xml
from pipeline.sources.wikipedia import parse_wikipedia_file
from scripts.bad.common import corrupt_bz2_stream, corrupt_gzip_member, tar_bytes, tar_info
from scripts.bad.commoncrawl import conversion, record
from scripts.bad.wikipedia import FOOTER, HEADER, good_page

CFG = load_corpus_config("sample", [])


def ids(items) -> list[str]:
    return [i.doc.id if isinstance(i, Dropped) else i.id for i in items]


def reasons(items) -> list[str]:
    return [i.reason.value if isinstance(i, Dropped) else "kept" for i in items]


# --- pipeline/jobs/inputs.py and pipeline/core/stages.py ----------------------------------------------------------
def test_file_names_that_are_not_utf8_are_read_with_escaped_names(tmp_path):
    (tmp_path / "c4").mkdir()
    (tmp_path / "c4" / os.fsdecode(b"caf\xe9.jsonl")).write_bytes(b'{"text": "One line."}\n')
    (sf,) = discover(str(tmp_path), ("c4",))
    ((path, rel),) = sf.files
    assert isinstance(path, LocalPath) and rel == "caf\\xe9.jsonl" and printable(path).endswith("caf\\xe9.jsonl")

    with TestPipeline() as p:  # Beam encodes a plain str as UTF-8: the name must travel anyway
        tasks = p | beam.Create(sf.files) | beam.Reshuffle()
        out = tasks | beam.FlatMap(lambda f: read_records("c4", parse_c4_file, f[0], f[1], CFG.c4))
        assert_that(out | beam.Map(lambda d: d.id), equal_to(["caf\\xe9.jsonl:1"]))


def _read(parse, path=__file__, rel="r"):
    """What the read stage makes of `parse`'s output for one (existing) file, its nets included."""
    return list(read_records("c4", parse, path, rel, None))


def test_read_net_escapes_names_drops_broken_text_and_counts_empty_files():
    def parse(path, rel, cfg):
        yield Document(id="a\udcff", source="c4", text="fine",
                       metadata=json.dumps({"file": "x\udcff"}, ensure_ascii=False))
        yield Document(id="b", source="c4", text="half \ud800 pair")

    named, broken = _read(parse)
    assert named.id == "a\\xff" and json.loads(named.metadata) == {"file": "x\\xff"}
    assert broken.reason is DropReason.PARSE_ERROR and "lone surrogate" in broken.detail
    broken.doc.text.encode("utf-8")
    (empty,) = _read(lambda path, rel, cfg: iter(()), rel='q"uote')
    assert (empty.reason, empty.doc.id) == (DropReason.EMPTY, 'q"uote#empty')
    assert json.loads(empty.doc.metadata) == {"file": 'q"uote'}  # valid JSON whatever the name holds


# --- C4 -------------------------------------------------------------------------------------------------
def test_c4_line_cap_bom_surrogates_and_gzip_member_resync(tmp_path):
    good = b'{"text": "A line."}\n'
    data = (b"\xef\xbb\xbf" + good + b'{"text": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n'
            + b'{"text": "\\udc00"}\n' + good)
    path = tmp_path / "a.jsonl"
    path.write_bytes(data)
    assert reasons(parse_c4_file(str(path), "a", CFG.c4)) == ["kept", "too_large", "parse_error", "kept"]
    path = tmp_path / "b.json.gz"
    path.write_bytes(gzip.compress(good) + corrupt_gzip_member(good) + gzip.compress(good))
    out = list(parse_c4_file(str(path), "b", CFG.c4))
    assert ids(out) == ["b:1", "b:2", "b:3"] and reasons(out) == ["kept", "parse_error", "kept"]


# --- Common Crawl ---------------------------------------------------------------------------------------
def test_content_length_past_the_end_of_the_file_keeps_the_records_inside_it(tmp_path):
    body = b"Some text of a page that is long enough.\n" * 3
    data = (conversion("keepa") + record("conversion", "https://x.example/", body, "text/plain", 10_000)
            + conversion("keepb"))
    path = tmp_path / "f.warc"
    path.write_bytes(data)
    out = list(parse_commoncrawl_file(str(path), "f.warc", CFG.commoncrawl))
    assert reasons(out) == ["kept", "parse_error", "kept"] and "keepb" in out[2].text


# --- bzip2 multistream: Wikipedia and Books -------------------------------------------------------------
def test_bz2_streams_resume_after_a_corrupt_stream_and_say_so():
    data = bz2.compress(b"one\n") + corrupt_bz2_stream(b"two\n") + bz2.compress(b"three\n")
    stream = Bz2Streams(io.BytesIO(data))
    out = b"".join(iter(lambda: stream.read(7), b""))
    assert out == b"one\n\nthree\n" and len(stream.damage) == 1 and "corrupt bzip2 stream" in stream.damage[0]
    with pytest.raises(EOFError):
        cut = Bz2Streams(io.BytesIO(bz2.compress(b"x" * 1000)[:-10]))
        while cut.read():
            pass


def test_wikipedia_multistream_keeps_the_pages_after_a_corrupt_stream(tmp_path):
    data = (bz2.compress((HEADER + good_page("keepwa", 1)).encode()) + corrupt_bz2_stream(good_page("lost", 2).encode())
            + bz2.compress((good_page("keepwb", 3) + FOOTER).encode()))
    path = tmp_path / "enwiki-x.xml.bz2"
    path.write_bytes(data)
    out = list(parse_wikipedia_file(str(path), path.name, CFG.wikipedia))
    assert reasons(out) == ["kept", "parse_error", "kept"] and "keepwb" in out[2].text


def test_books_binary_content_and_corrupt_bz2_stream(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 8)
    (tmp_path / "b.txt.bz2").write_bytes(bz2.compress(b"Chapter one.\n" * 50) + corrupt_bz2_stream(b"Chapter two.\n"))
    (a,) = parse_books_file(str(tmp_path / "a.txt"), "a.txt", CFG.books)
    (b,) = parse_books_file(str(tmp_path / "b.txt.bz2"), "b.txt.bz2", CFG.books)
    assert (a.reason, b.reason) == (DropReason.BINARY, DropReason.PARSE_ERROR)


# --- GitHub ---------------------------------------------------------------------------------------------
MIT = "Permission is hereby granted, free of charge, to any person obtaining a copy\n"


def test_github_tar_bz2_is_an_input_and_odd_member_names_are_escaped(tmp_path):
    tar = tar_bytes([(tar_info("r/LICENSE", len(MIT)), MIT.encode()), (tar_info(b"r/caf\xe9.py", 6), b"x = 1\n")],
                    fmt=tarfile.GNU_FORMAT)
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "o__r.tar.bz2").write_bytes(bz2.compress(tar))
    (sf,) = discover(str(tmp_path), ("github",))
    ((path, rel),) = sf.files
    out = _read(lambda p, r, c: parse_github_file(p, r, CFG.github), path, rel)
    assert ids(out) == ["o/r/LICENSE", "o/r/caf\\xe9.py"]


def test_github_corrupt_zip_member_and_unsafe_members(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (("r/LICENSE", MIT), ("r/a.py", "a = 1\n"), ("r/b.py", "b" * 80 + "\n"),
                           ("r/c.py", "c = 1\n"),
                           ("r/../up.py", "x\n")):
            archive.writestr(name, data)
    path = tmp_path / "o__r.zip"
    path.write_bytes(buffer.getvalue().replace(b"b" * 80, b"B" * 80, 1))
    out = list(parse_github_file(str(path), path.name, CFG.github))
    assert [(i, r) for i, r in zip(ids(out), reasons(out), strict=True)] == [
        ("o/r#unsafe-members", "unsafe_archive"), ("o/r/LICENSE", "kept"), ("o/r/a.py", "kept"),
        ("o/r/b.py", "parse_error"), ("o/r/c.py", "kept")]


# --- ArXiv ----------------------------------------------------------------------------------------------
def test_arxiv_refused_members_are_one_record_beside_the_submission(tmp_path):
    tex = b"\\documentclass{article}\\begin{document}\\section{A}Words here.\\end{document}"
    tar = tar_bytes([(tar_info("main.tex", len(tex)), tex),
                     (tar_info("link.tex", 0, tarfile.SYMTYPE, "/etc/passwd"), None)])
    path = tmp_path / "2101.00001.tar.gz"
    path.write_bytes(gzip.compress(tar))
    out = list(parse_arxiv_file(str(path), path.name, CFG.arxiv))
    assert ids(out) == ["2101.00001#unsafe-members", "2101.00001"] and reasons(out) == ["unsafe_archive", "kept"]


# --- StackExchange --------------------------------------------------------------------------------------
def test_posts_xml_resumes_after_a_broken_row():
    rows = ['<posts>', '<row Id="1" PostTypeId="1" Score="1" />', '<row Id=2 PostTypeId="1" Score="1" />',
            '<row Id="3" PostTypeId="1" Score="1" Body="unterminated />', '<row Id="4" PostTypeId="1" Score="1" />',
            '<row Id="5" PostTypeId="1" Score="\xff" />', '<row Id="6" PostTypeId="1" Score="1" />', '</posts>']
    data = "\n".join(rows).encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff") + b"\n"
    out = list(parse_posts_xml(io.BufferedReader(io.BytesIO(data)), "s/Posts.xml", "s"))
    assert [o.post_id if isinstance(o, Post) else o.doc.id for o in out] == [1, "s/row-2", "s/row-3", 4, "s/row-5", 6]


# --- the command line and the model steps ---------------------------------------------------------------
def test_worker_errors_are_user_errors_only_when_plain_value_errors():
    assert worker_user_error(ValueError("model is damaged: run `make models`")) == "model is damaged: run `make models`"
    assert worker_user_error(UnicodeEncodeError("utf-8", "x", 0, 1, "bad")) is None  # a bug, not the user's
    wrapped = RuntimeError("Pipeline failed:\nTraceback (most recent call last):\n  ...\nValueError: bad model [while "
                           "running 'X']")
    assert worker_user_error(wrapped) == "bad model [while running 'X']"
    with pytest.raises(launch.JobError):
        launch.run_job(launch.beam_options([]), lambda p: p | beam.Create([1]) | beam.Map(lambda x: x.nope))


def test_leftover_temporary_files_are_removed_before_a_run(tmp_path):
    (tmp_path / "c4").mkdir()
    (tmp_path / "c4" / ".tmp-123-part-00000-of-00002.arrow").write_bytes(b"half")
    (tmp_path / "c4" / "part-00000-of-00002.arrow").write_bytes(b"whole")
    launch.prepare_output(str(tmp_path))
    assert sorted(p.name for p in (tmp_path / "c4").iterdir()) == ["part-00000-of-00002.arrow"]


def test_a_model_that_cannot_load_is_a_user_error():
    def damaged():
        raise RuntimeError("bad magic")

    with pytest.raises(ValueError,
                       match=r"cannot load the model from m.bin \(RuntimeError: bad magic\): run `make models` again"):
        load_model("the model", "m.bin", damaged)
