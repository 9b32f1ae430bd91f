"""Reading C4 JSON Lines (pipeline/sources/c4.py) and the bundled sample's C4 file
(scripts/sample/c4.py)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from filters.c4 import C4Config, C4Filter
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.sources.c4 import normalize_timestamp, parse_c4_file
from scripts.sample.c4 import FILENAME, write_sample

REPO_ROOT = Path(__file__).resolve().parents[3]
C4_SAMPLE = REPO_ROOT.parent / "shared" / "corpus-samples" / "c4" / "c4-train.00000-of-01024.head1000.json.gz"
CFG = C4Config()


def record(i: int, **extra) -> bytes:
    obj = {"text": f"Document number {i}.", "timestamp": "2019-04-25T12:57:54Z",
           "url": f"https://example.com/{i}", **extra}
    return json.dumps(obj).encode("utf-8")


def write(path: Path, lines: list[bytes]) -> str:
    data = b"\n".join(lines) + b"\n"
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return str(path)


def parse(path: str, rel: str = "c4/file") -> list[Document | Dropped]:
    return list(parse_c4_file(path, rel, CFG))


@pytest.mark.parametrize("name", ["a.json.gz", "a.jsonl.gz", "a.json", "a.jsonl"])
def test_gzip_and_plain_files(tmp_path, name):
    out = parse(write(tmp_path / name, [record(1), record(2)]), rel="c4/" + name)
    assert [d.id for d in out] == [f"c4/{name}:1", f"c4/{name}:2"]
    doc = out[0]
    assert isinstance(doc, Document)
    assert (doc.source, doc.text, doc.url, doc.created, doc.lang) == (
        "c4", "Document number 1.", "https://example.com/1", "2019-04-25T12:57:54Z", None)
    assert doc.meta() == {"file": "c4/" + name, "line": 1}


def test_bad_json_line_in_the_middle(tmp_path):
    out = parse(write(tmp_path / "a.json.gz", [record(1), b'{"text": "cut off', record(3)]))
    assert [type(d) for d in out] == [Document, Dropped, Document]
    bad = out[1]
    assert bad.reason is DropReason.PARSE_ERROR and bad.stage == "read"
    assert bad.doc.id == "c4/file:2" and "invalid JSON" in bad.detail
    assert out[2].text == "Document number 3."


@pytest.mark.parametrize("line, detail", [
    (b'{"text": "caf\xe9 au lait"}', "invalid UTF-8"),
    (b'["text", "a list"]', "not a JSON object"),
    (b'"just a string"', "not a JSON object"),
    (b'{"timestamp": "2019-04-25T12:57:54Z"}', "no string 'text'"),
    (b'{"text": 42}', "no string 'text'"),
])
def test_malformed_records_are_parse_errors(tmp_path, line, detail):
    out = parse(write(tmp_path / "a.jsonl", [record(1), line, record(3)]))
    assert [type(d) for d in out] == [Document, Dropped, Document]
    assert out[1].reason is DropReason.PARSE_ERROR and detail in out[1].detail


def test_blank_lines_are_not_records_but_keep_line_numbers(tmp_path):
    out = parse(write(tmp_path / "a.jsonl", [record(1), b"", b"   ", record(4)]))
    assert [d.id for d in out] == ["c4/file:1", "c4/file:4"]


def test_truncated_gzip_keeps_earlier_documents(tmp_path):
    lines = [record(i, text=f"Document {i} " + "word " * 50) for i in range(1, 401)]
    path = tmp_path / "a.json.gz"
    write(path, lines)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    out = parse(str(path))
    docs, last = out[:-1], out[-1]
    assert len(docs) > 10 and all(isinstance(d, Document) for d in docs)
    assert [d.id for d in docs] == [f"c4/file:{i}" for i in range(1, len(docs) + 1)]
    assert isinstance(last, Dropped) and last.reason is DropReason.PARSE_ERROR
    assert "stream broken" in last.detail and last.doc.id == f"c4/file:{len(docs) + 1}"


def test_not_gzip_at_all_is_one_parse_error(tmp_path):
    path = tmp_path / "a.json.gz"
    path.write_bytes(b'{"text": "I was never compressed."}\n')
    out = parse(str(path))
    assert len(out) == 1 and out[0].reason is DropReason.PARSE_ERROR


@pytest.mark.parametrize("raw, expected", [
    ("2019-04-25T12:57:54Z", "2019-04-25T12:57:54Z"),
    ("2019-04-25 12:57:54", "2019-04-25T12:57:54Z"),
    ("2019-04-25T12:57:54", "2019-04-25T12:57:54Z"),
    ("2019-04-25 12:57:54Z", "2019-04-25T12:57:54Z"),
    ("2019-04-25T14:57:54+02:00", "2019-04-25T12:57:54Z"),
    ("2019-04-25T12:57:54.250Z", "2019-04-25T12:57:54Z"),
    ("last Tuesday", None),
])
def test_normalize_timestamp(raw, expected):
    assert normalize_timestamp(raw) == expected


def test_bad_or_missing_timestamp_keeps_document(tmp_path):
    lines = [record(1, timestamp="sometime"), json.dumps({"text": "No time or url."}).encode()]
    bad, missing = parse(write(tmp_path / "a.jsonl", lines))
    assert bad.created is None and bad.meta()["bad_timestamp"] == "sometime"
    assert missing.created is None and missing.url is None and "bad_timestamp" not in missing.meta()


def test_ids_stable_and_unique(tmp_path):
    path = write(tmp_path / "a.json.gz", [record(i) for i in range(50)])
    first, second = parse(path), parse(path)
    assert first == second
    assert len({d.id for d in first}) == 50


def test_real_c4_sample_parses_without_errors():
    if not C4_SAMPLE.is_file():
        pytest.skip(f"{C4_SAMPLE} not present")
    out = list(parse_c4_file(str(C4_SAMPLE), "c4/head1000.json.gz", CFG))
    assert len(out) == 1000 and all(isinstance(d, Document) for d in out)
    assert len({d.id for d in out}) == 1000
    assert all(d.created and d.created.endswith("Z") and d.url and d.text for d in out)


# --- the bundled sample's C4 file ---------------------------------------------------------------------
def test_sample_is_byte_identical_across_runs(tmp_path):
    write_sample(tmp_path / "one")
    write_sample(tmp_path / "two")
    one, two = (tmp_path / "one" / FILENAME).read_bytes(), (tmp_path / "two" / FILENAME).read_bytes()
    assert one == two and len(one) < 50_000
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [FILENAME]


def test_sample_outcomes(tmp_path):
    write_sample(tmp_path)
    f = C4Filter(CFG)
    out = [d if isinstance(d, Dropped) else f(d) for d in parse(str(tmp_path / FILENAME))]
    reasons = {int(o.doc.id.rsplit(":", 1)[1]): o.reason for o in out if isinstance(o, Dropped)}
    assert reasons == {
        25: DropReason.PARSE_ERROR,
        29: DropReason.C4_LOREM_IPSUM,
        30: DropReason.C4_CURLY_BRACKET,
        31: DropReason.C4_TOO_FEW_SENTENCES,
        32: DropReason.EMPTY,
    }
    kept = {int(o.id.rsplit(":", 1)[1]): o for o in out if isinstance(o, Document)}
    assert len(kept) == 28
    assert kept[33].text == kept[1].text  # the mirror copy, for the dedup step after the filter
    assert "JavaScript" not in kept[26].text and kept[26].meta()["c4_lines_removed"] == 3
    assert "cookies" not in kept[27].text and "terms of use" not in kept[27].text
    assert "[" not in kept[28].text and "opened in 1932 after six years of work." in kept[28].text
