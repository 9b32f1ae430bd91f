import pytest

from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.stages import Recipe, read_records, with_config
from tests.conftest import read_files


def _parse(path, rel, cfg):
    yield Document(id=f"{rel}:1", source="c4", text="one")
    yield Dropped(Document(id=f"{rel}:2", source="c4", text=""), DropReason.PARSE_ERROR, "read", "bad line")
    if rel == "broken":
        raise OSError("disk went away")
    yield Document(id=f"{rel}:3", source="c4", text="three")


def test_read_records_routes_and_survives_a_failing_file(tmp_path):
    for name in ("p1", "p2"):
        (tmp_path / name).write_text("x")
    files = [(str(tmp_path / "p1"), "good"), (str(tmp_path / "p2"), "broken")]
    kept, dropped = read_files("c4", _parse, files, None)
    assert sorted(d.id for d in kept) == sorted(["good:1", "good:3", "broken:1"])
    expected = [("good:2", "parse_error"), ("broken:2", "parse_error"), ("broken#read-error", "parse_error")]
    assert sorted((d.doc.id, d.reason.value) for d in dropped) == sorted(expected)


def _upper_or_drop(doc, cfg):
    if cfg in doc.text:
        return Dropped(doc, DropReason.EMPTY, "clean")
    return Document(id=doc.id, source=doc.source, text=doc.text.upper())


def test_a_recipe_builds_a_step_with_bound_config():
    step = Recipe(with_config, _upper_or_drop, "x")()
    assert step(Document(id="a", source="c4", text="keep")).text == "KEEP"
    assert step(Document(id="b", source="c4", text="xx")).doc.id == "b"


def test_a_recipe_passes_build_time_arguments_last():
    assert Recipe(lambda a, b: (a, b), 1)(2) == (1, 2)


def test_a_listed_file_gone_at_read_time_is_a_user_error_naming_it(tmp_path):
    gone = str(tmp_path / "gone.json.gz")
    with pytest.raises(ValueError, match="gone.json.gz cannot be opened"):
        list(read_records("c4", lambda path, rel, cfg: iter(()), gone, "gone.json.gz", None))
