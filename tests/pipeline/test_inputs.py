import os

import pytest

from pipeline.jobs.inputs import discover


def test_discover_recurses_by_format_and_lists_ignored(tmp_path):
    (tmp_path / "c4" / "sub").mkdir(parents=True)
    (tmp_path / "c4" / "sub" / "b.json.gz").write_bytes(b"")
    (tmp_path / "c4" / "a.jsonl").write_text("")
    (tmp_path / "c4" / "README.md").write_text("")
    (tmp_path / "wikipedia").mkdir()
    (tmp_path / "wikipedia" / "x-multistream-index.txt.bz2").write_bytes(b"")
    (tmp_path / "wikipedia" / "x.xml.bz2").write_bytes(b"")
    found = {sf.source: sf for sf in discover(str(tmp_path), ("c4", "wikipedia"))}
    assert [rel for _, rel in found["c4"].files] == ["a.jsonl", "sub/b.json.gz"]
    assert found["c4"].ignored == ("README.md",)
    assert [rel for _, rel in found["wikipedia"].files] == ["x.xml.bz2"]
    assert found["wikipedia"].ignored == ("x-multistream-index.txt.bz2",)


def test_missing_source_folder_means_absent(tmp_path):
    (tmp_path / "c4").mkdir()
    assert [sf.source for sf in discover(str(tmp_path), ("c4", "wikipedia"))] == ["c4"]


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        discover(str(tmp_path / "nope"), ("c4",))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_folder_is_a_clear_error(tmp_path):
    (tmp_path / "c4" / "locked").mkdir(parents=True)
    os.chmod(tmp_path / "c4" / "locked", 0)
    try:
        with pytest.raises(ValueError, match="cannot be read"):
            discover(str(tmp_path), ("c4",))
    finally:
        os.chmod(tmp_path / "c4" / "locked", 0o755)


def test_unreadable_file_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "c4").mkdir()
    (tmp_path / "c4" / "a.json.gz").write_bytes(b"")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).endswith("a.json.gz") else real_access(p, mode))
    with pytest.raises(ValueError, match="not readable"):
        discover(str(tmp_path), ("c4",))


def test_github_plain_repository_folders_are_inputs(tmp_path):
    (tmp_path / "github" / "archives").mkdir(parents=True)
    (tmp_path / "github" / "archives" / "a__b.tar.gz").write_bytes(b"")
    (tmp_path / "github" / "myrepo" / "src").mkdir(parents=True)
    (tmp_path / "github" / "myrepo" / "LICENSE").write_text("MIT")
    (tmp_path / "github" / "myrepo" / "src" / "x.py").write_text("print(1)")
    (found,) = discover(str(tmp_path), ("github",))
    assert [rel for _, rel in found.files] == ["archives/a__b.tar.gz", "myrepo"]
    assert found.ignored == ()


def test_stackexchange_reads_posts_and_7z_only(tmp_path):
    site = tmp_path / "stackexchange" / "a.stackexchange.com"
    site.mkdir(parents=True)
    for name in ("Posts.xml", "Users.xml", "Comments.xml"):
        (site / name).write_text("<posts/>")
    (tmp_path / "stackexchange" / "b.stackexchange.com.7z").write_bytes(b"")
    (found,) = discover(str(tmp_path), ("stackexchange",))
    assert [rel for _, rel in found.files] == ["a.stackexchange.com/Posts.xml", "b.stackexchange.com.7z"]
    assert found.ignored == ("a.stackexchange.com/Comments.xml", "a.stackexchange.com/Users.xml")


def test_stackexchange_other_table_archives_are_listed_as_ignored(tmp_path):
    (tmp_path / "stackexchange").mkdir()
    for name in ("stackoverflow.com-Posts.7z", "stackoverflow.com-Votes.7z"):
        (tmp_path / "stackexchange" / name).write_bytes(b"")
    (found,) = discover(str(tmp_path), ("stackexchange",))
    assert [rel for _, rel in found.files] == ["stackoverflow.com-Posts.7z"]
    assert found.ignored == ("stackoverflow.com-Votes.7z",)
