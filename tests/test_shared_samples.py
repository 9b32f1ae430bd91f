"""The corpus job on the real files in ../shared/corpus-samples (read-only): the issue's acceptance."""
import json

import pyarrow as pa
import pytest

from pipeline.cli import main
from pipeline.verify import verify_corpus

DROPPED_LANGS = ("ja", "vi", "el", "hy", "bn", "mr")
KEPT_LANGS = ("en", "bg", "uk")
MARKUP = ("[[", "{{", "<ref", "|}")


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    from tests.conftest import SHARED_SAMPLES

    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/corpus-samples is not present")
    out = tmp_path_factory.mktemp("shared") / "corpus"
    assert main(["corpus", "--input", str(SHARED_SAMPLES), "--output", str(out)]) == 0
    return out


def _kept(out, source):
    tables = [pa.ipc.open_file(str(p)).read_all() for p in sorted((out / source).glob("part-*.arrow"))]
    return pa.concat_tables(tables).to_pylist()


def test_every_shard_reads_with_plain_pyarrow_and_counts_agree(shared_run):
    assert verify_corpus(str(shared_run)) == []


def test_wikipedia_languages(shared_run):
    kept = _kept(shared_run, "wikipedia")
    langs = {d["lang"] for d in kept}
    assert all(lang in langs for lang in KEPT_LANGS)
    assert not langs & set(DROPPED_LANGS)
    stats = json.loads((shared_run / "stats.json").read_text())["sources"]["wikipedia"]
    assert stats["dropped"]["language_not_kept"] > 0 and stats["dropped"]["redirect"] > 0


def test_wikipedia_text_is_clean_and_has_no_redirects(shared_run):
    for doc in _kept(shared_run, "wikipedia"):
        assert not any(m in doc["text"] for m in MARKUP), doc["id"]
        meta = json.loads(doc["metadata"])
        assert not meta["redirect"] and meta["ns"] == 0
        assert not doc["text"].lstrip().upper().startswith("#REDIRECT")


def test_c4_keeps_most_and_counts_every_drop(shared_run):
    stats = json.loads((shared_run / "stats.json").read_text())["sources"]["c4"]
    assert stats["seen"] == 1005  # the 1000-document head plus the 5-document original head
    assert stats["kept"] > 900
    assert stats["seen"] == stats["kept"] + sum(stats["dropped"].values())
    assert all(reason.startswith("c4_") or reason == "empty" or reason == "duplicate_exact" for reason in stats["dropped"])
    # The 5-document head is byte-identical to the first 5 of the 1000: exact dedup keeps one of each.
    assert stats["dropped"]["duplicate_exact"] == 5 and stats["dedup"]["exact"]["clusters"] == 5
