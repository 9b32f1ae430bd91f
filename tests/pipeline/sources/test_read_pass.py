"""The read pass (read_records over a source's parser) on the bundled sample's C4 and Wikipedia files."""
from filters.c4 import C4Config
from pipeline.jobs.inputs import discover
from pipeline.sources.c4 import parse_c4_file
from pipeline.sources.wikipedia import WikipediaConfig, parse_wikipedia_file
from tests.conftest import SAMPLE, read_files


def _files(source):
    (found,) = discover(str(SAMPLE), (source,))
    return list(found.files)


def test_read_c4():
    kept, dropped = read_files("c4", parse_c4_file, _files("c4"), C4Config())
    assert len(kept) == 32
    assert [(d.reason.value, d.stage) for d in dropped] == [("parse_error", "read")]


def test_read_wikipedia_yields_every_page():
    kept, dropped = read_files("wikipedia", parse_wikipedia_file, _files("wikipedia"), WikipediaConfig())
    assert {d.lang for d in kept} == {"en", "de", "fr", "ja"}
    assert dropped == []
