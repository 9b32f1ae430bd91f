"""LLaMA's book rule on the real Gutenberg files of ../shared/corpus-samples/books (read-only)."""
import pytest

from dedup.minhash import dedup_books
from pipeline.core.config import BookDedupConfig
from pipeline.core.document import Document
from tests.conftest import SHARED_SAMPLES
from tests.dedup.test_composites import _run

SAME_BOOK = [
    ("pg972_en_DevilsDictionary.txt", "pg972_en_DevilsDictionary_OLD-EDITION_dvldc10.txt"),
    ("pg3261_en_NewsFromNowhere.txt", "pg3261_en_NewsFromNowhere_OLD-EDITION_nwsnw10.txt"),
    ("pg44157_fr_EntreNous_utf8.txt", "pg44157_fr_EntreNous_latin1.txt"),
]


def _decode(data: bytes) -> str:
    """UTF-8 (BOM or not), else Latin-1, CRLF to LF: enough to compare editions (issue 5 reads books properly)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n")


def test_editions_collapse_and_other_books_stay():
    folder = SHARED_SAMPLES / "books"
    if not folder.is_dir():
        pytest.skip("../shared/corpus-samples/books is not present")
    docs = [Document(id=p.name, source="books", text=_decode(p.read_bytes())) for p in sorted(folder.glob("*.txt"))]
    kept, dropped, stats = _run(dedup_books("books", BookDedupConfig()), docs)
    for a, b in SAME_BOOK:
        assert (a in kept) != (b in kept), (a, b)
        loser = b if a in kept else a
        assert dropped[loser][0] == "duplicate_book" and dropped[loser][1]["duplicate_of"] in (a, b)
    assert len(kept) == len(docs) - len(SAME_BOOK)
    assert stats["books"]["books"]["clusters"] == 3 and stats["books"]["books"]["max_cluster"] == 2
