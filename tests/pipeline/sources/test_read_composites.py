"""TestPipeline tests of the Read<Source> composites over the bundled sample."""
import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.core.config import C4Config, WikipediaConfig
from pipeline.jobs.inputs import discover
from pipeline.sources.c4 import ReadC4
from pipeline.sources.wikipedia import ReadWikipedia
from tests.conftest import SAMPLE


def _files(source):
    (found,) = discover(str(SAMPLE), (source,))
    return list(found.files)


def _count(pcoll, label):
    return pcoll | f"Count{label}" >> beam.combiners.Count.Globally()


def test_read_c4_composite():
    with TestPipeline() as p:
        out = p | beam.Create(_files("c4")) | ReadC4(C4Config())
        assert_that(_count(out.kept, "Kept"), equal_to([32]), label="kept")
        reasons = out.dropped | beam.Map(lambda d: (d.reason.value, d.stage))
        assert_that(reasons, equal_to([("parse_error", "read")]), label="dropped")


def test_read_wikipedia_composite_yields_every_page():
    with TestPipeline() as p:
        out = p | beam.Create(_files("wikipedia")) | ReadWikipedia(WikipediaConfig())
        langs = out.kept | beam.Map(lambda d: d.lang) | beam.Distinct()
        assert_that(langs, equal_to(["en", "de", "fr", "ja"]), label="langs")
        assert_that(_count(out.dropped, "Dropped"), equal_to([0]), label="dropped")
