"""Reading GitHub inputs (pipeline/sources/github.py): archives, checkouts and tables; license
decisions; untrusted archives; the shared real repositories; the bundled sample (scripts/sample)."""
from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pipeline.sources.github as github
from filters.github import GitHubConfig, clean_github
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.sources.github import decode_source, github_url, parse_github_file, repo_name
from scripts.sample.github import ARCHIVES, write_sample
from tests.conftest import read_files

REPO_ROOT = Path(__file__).resolve().parents[3]
GITHUB_SAMPLES = REPO_ROOT.parent / "shared" / "corpus-samples" / "github"
CFG = GitHubConfig()
MIT = ("MIT License\n\nCopyright (c) 2024 Test\n\nPermission is hereby granted, free of charge, to any "
       "person obtaining a copy of this software.\n")
GPL = "GNU GENERAL PUBLIC LICENSE\n   Version 3, 29 June 2007\n"
CODE = "def add(a, b):\n    return a + b\n"


def tar_archive(path: Path, files: dict[str, str | bytes], extra: tuple[tarfile.TarInfo, ...] = ()) -> str:
    mode = "w:gz" if path.name.endswith((".tar.gz", ".tgz")) else "w"
    with tarfile.open(path, mode) as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return str(path)


def zip_archive(path: Path, files: dict[str, str | bytes], links: dict[str, str] | None = None) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system, info.external_attr = 3, (0o120777 << 16)
            archive.writestr(info, target)
    return str(path)


def parse(path: str, rel: str | None = None, cfg: GitHubConfig = CFG) -> list[Document | Dropped]:
    return list(parse_github_file(path, rel or os.path.basename(path), cfg))


def by_id(out: list[Document | Dropped]) -> dict[str, Document | Dropped]:
    return {(o.doc.id if isinstance(o, Dropped) else o.id): o for o in out}


def special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


# --- names and small helpers ---------------------------------------------------------------------
@pytest.mark.parametrize("rel, expected", [
    ("facebookresearch__cc_net__MIT.tar.gz", "facebookresearch/cc_net"),
    ("sub/owner__name__NO-LICENSE_minified-vendor-js.tar.gz", "owner/name"),
    ("owner__name.zip", "owner/name"),
    ("owner__name", "owner/name"),
    ("project.tgz", "project"),
    ("Project.TAR", "Project"),
    ("__name.tar.gz", "__name"),
])
def test_repo_name(rel, expected):
    assert repo_name(rel) == expected


def test_github_url():
    assert github_url("o/n", "src/a b.py") == "https://github.com/o/n/blob/HEAD/src/a%20b.py"
    assert github_url("o/n") == "https://github.com/o/n"
    assert github_url("project", "a.py") is None


@pytest.mark.parametrize("data, text, why", [
    (b"plain\n", "plain\n", ""),
    (b"\xef\xbb\xbfwith bom", "with bom", ""),
    (b"\x89PNG\r\n\x1a\n\x00\x00", None, "NUL byte at offset 8"),
    (b"caf\xe9", None, "not UTF-8 (invalid byte at offset 3)"),
    (b"a" * 9000 + b"\x00", "a" * 9000 + "\x00", ""),  # NUL past the probe: text (git agrees)
])
def test_decode_source(data, text, why):
    assert decode_source(data) == (text, why)


# --- archives ---------------------------------------------------------------------------------------
def test_tar_gz_repository_is_read_with_its_top_folder_stripped(tmp_path):
    path = tar_archive(tmp_path / "octo__demo__MIT.tar.gz", {
        "octo__demo__MIT/LICENSE": MIT, "octo__demo__MIT/src/add.py": CODE,
        "octo__demo__MIT/README.md": "# demo\n"})
    out = parse(path)
    assert [o.id for o in out] == ["octo/demo/LICENSE", "octo/demo/src/add.py", "octo/demo/README.md"]
    doc = out[1]
    assert isinstance(doc, Document) and doc.text == CODE and doc.source == "github"
    assert doc.url == "https://github.com/octo/demo/blob/HEAD/src/add.py" and doc.created is None
    assert doc.meta() == {"repo": "octo/demo", "license": "mit", "path": "src/add.py",
                          "file": "octo__demo__MIT.tar.gz", "lang": "Python"}
    assert out == parse(path)  # ids and documents are stable


def test_plain_tar_without_top_folder_and_a_plain_name(tmp_path):
    path = tar_archive(tmp_path / "demo.tar", {"COPYING": MIT, "add.py": CODE, "pkg/x.py": CODE})
    out = parse(path)
    assert [o.id for o in out] == ["demo/COPYING", "demo/add.py", "demo/pkg/x.py"]
    assert out[1].url is None and out[1].meta()["license"] == "mit"


def test_owner_name_from_the_top_folder_when_the_file_name_has_none(tmp_path):
    path = tar_archive(tmp_path / "archive.tar.gz", {"octo__demo/LICENSE": MIT, "octo__demo/a.py": CODE})
    assert parse(path)[1].id == "octo/demo/a.py"


@pytest.mark.parametrize("files, detail", [
    ({"r/COPYING": GPL, "r/a.py": CODE}, "gpl-3.0"),
    ({"r/LICENSE": GPL + "\n(the file name says nothing)", "r/a.py": CODE}, "gpl-3.0"),
    ({"r/a.py": CODE, "r/README.md": "MIT licensed.\n"}, "none"),
    ({"r/vendor/lib/LICENSE": MIT, "r/a.py": CODE}, "none"),  # not at the root
    ({"r/LICENSE": "Copyright Example Corp. All rights reserved.\n", "r/a.py": CODE}, "custom"),
    ({"r/COPYING": GPL, "r/LICENSE": MIT, "r/a.py": CODE}, "gpl-3.0, mit"),
])
def test_repositories_not_allowed_are_one_license_drop(tmp_path, files, detail):
    out = parse(tar_archive(tmp_path / "octo__r__MIT.tar.gz", files))  # the name's hint is ignored
    assert len(out) == 1
    drop = out[0]
    assert isinstance(drop, Dropped) and drop.reason is DropReason.LICENSE and drop.stage == "read"
    assert drop.detail == detail and drop.doc.id == "octo/r" and drop.doc.text == ""
    assert drop.doc.meta() == {"repo": "octo/r", "license": detail, "file": "octo__r__MIT.tar.gz"}


def test_several_allowed_license_files_and_a_see_also_note(tmp_path):
    path = tar_archive(tmp_path / "r.tar.gz", {
        "r/LICENSE-APACHE": "Licensed under the Apache License, Version 2.0", "r/LICENSE-MIT": MIT,
        "r/COPYING": "See the LICENSE-* files.", "r/a.py": CODE})
    docs = parse(path)
    assert all(isinstance(d, Document) for d in docs)
    assert docs[-1].meta()["license"] == "apache-2.0, mit"


def test_config_can_allow_other_licenses(tmp_path):
    path = tar_archive(tmp_path / "r.tar.gz", {"r/a.py": CODE})
    docs = parse(path, cfg=dataclasses.replace(CFG, licenses=("none",)))
    assert [d.id for d in docs] == ["r/a.py"] and docs[0].meta()["license"] == "none"


def test_zip_repository(tmp_path):
    path = zip_archive(tmp_path / "octo__demo.zip", {
        "demo-main/LICENSE.txt": MIT, "demo-main/src/add.py": CODE, "demo-main/../escape.py": CODE,
        "demo-main/src/": ""}, links={"demo-main/link.py": "/etc/passwd"})
    unsafe, *out = parse(path)
    assert [o.id for o in out] == ["octo/demo/LICENSE.txt", "octo/demo/src/add.py"]
    assert out[1].text == CODE and out[1].meta()["skipped_members"] == 2
    assert (unsafe.reason, unsafe.doc.id) == (DropReason.UNSAFE_ARCHIVE, "octo/demo#unsafe-members")
    assert unsafe.detail == "2 members skipped: demo-main/../escape.py (absolute or .. path), demo-main/link.py (link)"


def test_unsafe_tar_members_are_skipped_and_counted(tmp_path):
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    extra = (
        special("r/link.py", tarfile.SYMTYPE, "/etc/passwd"),
        special("r/hard.py", tarfile.LNKTYPE, "r/a.py"),
        special("r/dev.py", tarfile.CHRTYPE),
        special("r/fifo.py", tarfile.FIFOTYPE),
    )
    path = tar_archive(tmp_path / "r.tar.gz", {"r/LICENSE": MIT, "r/a.py": CODE, "r/../../escape.py": CODE,
                                               "/etc/cron.py": CODE, "r/./ok/../../up.py": CODE}, extra)
    unsafe, *out = parse(path)
    assert [o.id for o in out] == ["r/LICENSE", "r/a.py"]
    assert all(o.meta()["skipped_members"] == 7 for o in out)
    # The skipped members are listed in dropped/ too, as one record for the repository.
    assert (unsafe.reason, unsafe.doc.id, unsafe.doc.meta()["file"]) == (
        DropReason.UNSAFE_ARCHIVE, "r#unsafe-members", "r.tar.gz")
    assert unsafe.detail.startswith("7 members skipped: ") and "r/link.py (link)" in unsafe.detail
    assert "/etc/cron.py (absolute or .. path)" in unsafe.detail and "r/fifo.py (device or fifo)" in unsafe.detail
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before  # nothing was extracted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tar.gz"]


@pytest.mark.parametrize("name, data", [
    ("r.tar.gz", b"this is not a gzip file at all"),
    ("r.tar", b"\x01" * 2048),
    ("r.zip", b"PK\x03\x04 broken"),
])
def test_corrupt_archive_is_one_parse_error(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    out = parse(str(tmp_path / name))
    assert len(out) == 1 and out[0].reason is DropReason.PARSE_ERROR and out[0].stage == "read"
    assert out[0].doc.id == "r" and "unreadable repository" in out[0].detail


def test_truncated_archive_keeps_the_files_before_the_cut(tmp_path):
    files = {"r/LICENSE": MIT, **{f"r/m{i:02d}.py": os.urandom(3000).hex() for i in range(20)}}
    path = tmp_path / "r.tar.gz"
    tar_archive(path, files)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    out = parse(str(path))
    docs = [o for o in out if isinstance(o, Document)]
    assert [d.id for d in docs] == ["r/LICENSE"] + [f"r/m{i:02d}.py" for i in range(len(docs) - 1)] and len(docs) > 5
    assert all(d.text == files[d.id] for d in docs)
    errors = out[len(docs):]
    assert errors and all(e.reason is DropReason.PARSE_ERROR for e in errors)
    assert errors[-1].doc.id == "r" and "broken after" in errors[-1].detail


def test_truncated_archive_without_its_license_is_one_parse_error(tmp_path):
    files = {**{f"r/m{i:02d}.py": os.urandom(3000).hex() for i in range(20)}, "r/LICENSE": MIT}
    path = tmp_path / "r.tar.gz"
    tar_archive(path, files)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    (out,) = parse(str(path))
    assert out.reason is DropReason.PARSE_ERROR and "unreadable repository (license none" in out.detail


def test_corrupt_zip_member_costs_that_member_only(tmp_path):
    # zip_archive stores members uncompressed
    path = zip_archive(tmp_path / "octo__demo.zip", {"demo-main/LICENSE": MIT, "demo-main/a.py": CODE,
                                                     "demo-main/b.py": "x = 1\n" * 40,
                                                     "demo-main/c.py": CODE + "# c\n"})
    data = Path(path).read_bytes()
    Path(path).write_bytes(data.replace(b"x = 1\n" * 40, b"x = 2\n" * 40, 1))  # b.py no longer matches its CRC
    out = parse(path)
    assert [o.id if isinstance(o, Document) else (o.doc.id, o.reason) for o in out] == [
        "octo/demo/LICENSE", "octo/demo/a.py", ("octo/demo/b.py", DropReason.PARSE_ERROR), "octo/demo/c.py"]
    assert "Bad CRC-32" in out[2].detail


def test_breaking_in_the_second_pass_keeps_earlier_files(tmp_path, monkeypatch):
    path = tar_archive(tmp_path / "r.tar.gz", {"r/LICENSE": MIT, "r/a.py": CODE, "r/b.py": CODE})
    real, calls = github._tar_members, []

    def flaky(p):
        calls.append(p)
        for i, member in enumerate(real(p)):
            if len(calls) == 2 and i == 2:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            yield member

    monkeypatch.setattr(github, "_tar_members", flaky)
    out = parse(path)
    assert [type(o) for o in out] == [Document, Document, Dropped]
    assert out[2].reason is DropReason.PARSE_ERROR and out[2].detail.startswith("broken after 2 files: EOFError")


def test_archive_cap_drops_the_rest_of_the_repository(tmp_path):
    files = {"r/LICENSE": MIT, **{f"r/f{i}.py": "x = 1\n" * 100 for i in range(5)}}
    path = tar_archive(tmp_path / "r.tar.gz", files)
    cfg = dataclasses.replace(CFG, max_archive_bytes=len(MIT) + 2 * 600)
    out = parse(path, cfg=cfg)
    assert [o.id if isinstance(o, Document) else o.doc.id for o in out] == ["r/LICENSE", "r/f0.py", "r/f1.py", "r"]
    assert out[-1].reason is DropReason.TOO_LARGE and "max_archive_bytes" in out[-1].detail


def test_too_large_binary_and_non_utf8_files_are_read_drops(tmp_path):
    path = tar_archive(tmp_path / "r.tar.gz", {
        "r/LICENSE": MIT, "r/big.py": "x" * 200, "r/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "r/latin1.py": "caf\xe9 = 1\n".encode("latin-1"), "r/ok.py": CODE})
    got = by_id(parse(path, cfg=dataclasses.replace(CFG, max_file_bytes=150)))
    assert (got["r/big.py"].reason, got["r/big.py"].stage) == (DropReason.TOO_LARGE, "read")
    assert got["r/logo.png"].reason is DropReason.BINARY and "NUL" in got["r/logo.png"].detail
    assert got["r/latin1.py"].reason is DropReason.BINARY and "UTF-8" in got["r/latin1.py"].detail
    assert isinstance(got["r/ok.py"], Document)


# --- checkouts --------------------------------------------------------------------------------------
def test_directory_repository(tmp_path):
    root = tmp_path / "octo__tool"
    (root / "src").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "LICENSE").write_text("Licensed under the Apache License, Version 2.0\n")
    (root / "src" / "main.go").write_text("package main\n")
    (root / ".git" / "config").write_text("[core]\n")
    (root / "link.py").symlink_to("/etc/passwd")
    (root / "linked_dir").symlink_to(tmp_path)
    unsafe, *out = parse(str(root), rel="octo__tool")
    assert unsafe.reason is DropReason.UNSAFE_ARCHIVE and unsafe.detail == (
        "2 members skipped: linked_dir (linked folder), link.py (link or device)")
    assert [o.id for o in out] == ["octo/tool/LICENSE", "octo/tool/src/main.go"]
    assert out[1].text == "package main\n" and out[1].meta()["skipped_members"] == 2
    assert out[1].meta()["license"] == "apache-2.0" and out[1].meta()["lang"] == "Go"


def test_directory_without_license(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.py").write_text(CODE)
    out = parse(str(tmp_path / "proj"), rel="proj")
    assert len(out) == 1 and out[0].reason is DropReason.LICENSE and out[0].detail == "none"


# --- tables -----------------------------------------------------------------------------------------
ROWS = [
    {"repo_name": "octo/a", "path": "src/a.py", "content": CODE, "license": "MIT"},
    {"repo_name": "octo/gpl", "path": "x.c", "content": "int x;\n", "license": "gpl-2.0"},
    {"repo_name": "octo/gpl", "path": "y.c", "content": "int y;\n", "license": "gpl-2.0"},
    {"repo_name": "octo/a", "path": "logo.png", "content": None, "license": "mit"},
    {"repo_name": "octo/nolicense", "path": "z.py", "content": CODE, "license": None},
    {"repo_name": "octo/a", "path": "/b.py", "content": "b = 2\n", "license": "mit"},
]


def check_table_outcomes(out: list[Document | Dropped], rel: str, bad_row: int | None = None) -> None:
    got = by_id(out)
    assert isinstance(got["octo/a/src/a.py"], Document) and got["octo/a/src/a.py"].text == CODE
    assert got["octo/a/src/a.py"].meta() == {"repo": "octo/a", "license": "mit", "path": "src/a.py",
                                              "file": rel, "lang": "Python"}
    assert (got["octo/gpl"].reason, got["octo/gpl"].detail) == (DropReason.LICENSE, "gpl-2.0")
    assert (got["octo/nolicense"].reason, got["octo/nolicense"].detail) == (DropReason.LICENSE, "none")
    assert got["octo/a/logo.png"].reason is DropReason.BINARY
    assert got["octo/a/b.py"].text == "b = 2\n"
    assert len(out) == 5 + (bad_row is not None)  # one drop for the two GPL rows
    if bad_row is not None:
        assert got[f"{rel}:{bad_row}"].reason is DropReason.PARSE_ERROR


@pytest.mark.parametrize("name", ["files.jsonl", "files.jsonl.gz", "files.json.gz"])
def test_jsonl_table(tmp_path, name):
    lines = [json.dumps(r) for r in ROWS[:3]] + ['{"repo_name": "cut', ""] + [json.dumps(r) for r in ROWS[3:]]
    data = ("\n".join(lines) + "\n").encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    check_table_outcomes(parse(str(tmp_path / name)), name, bad_row=4)


@pytest.mark.parametrize("row, detail", [
    ('["a list"]', "not a JSON object"),
    ('{"path": "a.py", "content": "x"}', "no string 'repo_name' and 'path'"),
    ('{"repo_name": "o/r", "path": "a.py", "content": 3, "license": "mit"}', "'content' is int"),
])
def test_malformed_table_rows(tmp_path, row, detail):
    (tmp_path / "t.jsonl").write_text(row + "\n")
    (out,) = parse(str(tmp_path / "t.jsonl"))
    assert out.reason is DropReason.PARSE_ERROR and detail in out.detail and out.doc.id == "t.jsonl:1"


def test_parquet_table(tmp_path):
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "files.parquet")
    check_table_outcomes(parse(str(tmp_path / "files.parquet")), "files.parquet")


def test_parquet_without_content_column_and_corrupt_parquet(tmp_path):
    pq.write_table(pa.table({"repo_name": ["o/r"], "path": ["a.py"]}), tmp_path / "t.parquet")
    (out,) = parse(str(tmp_path / "t.parquet"))
    assert out.reason is DropReason.PARSE_ERROR and "content" in out.detail
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    (out,) = parse(str(tmp_path / "bad.parquet"))
    assert out.reason is DropReason.PARSE_ERROR and "table broken" in out.detail


def test_unknown_input_is_a_parse_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (out,) = parse(str(tmp_path / "notes.txt"))
    assert out.reason is DropReason.PARSE_ERROR and "not a GitHub input" in out.detail


# --- the shared real repositories ------------------------------------------------------------------
def parse_and_clean(path: Path, cfg: GitHubConfig = CFG) -> list[Document | Dropped]:
    return [o if isinstance(o, Dropped) else clean_github(o, cfg) for o in parse(str(path), cfg=cfg)]


def shared(name: str) -> Path:
    path = GITHUB_SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


@pytest.mark.parametrize("archive, repo, license_id, min_kept", [
    ("facebookresearch__cc_net__MIT.tar.gz", "facebookresearch/cc_net", "mit", 25),
    ("webrecorder__warcio__Apache-2.0.tar.gz", "webrecorder/warcio", "apache-2.0", 25),
    ("commoncrawl__whirlwind-python__Apache-2.0.tar.gz", "commoncrawl/whirlwind-python", "apache-2.0", 3),
    ("pallets__markupsafe__BSD-3-Clause.tar.gz", "pallets/markupsafe", "bsd-3-clause", 15),
    ("ssvb__xztextfilter__MIT_C.tar.gz", "ssvb/xztextfilter", "mit", 2),
])
def test_shared_permissive_repositories_are_kept(archive, repo, license_id, min_kept):
    out = parse_and_clean(shared(archive))
    kept = [o for o in out if isinstance(o, Document)]
    assert len(kept) >= min_kept
    assert all(d.id.startswith(repo + "/") and d.meta()["license"] == license_id for d in kept)
    assert not [o for o in out if isinstance(o, Dropped) and o.reason is DropReason.PARSE_ERROR]
    assert len({o.doc.id if isinstance(o, Dropped) else o.id for o in out}) == len(out)


@pytest.mark.parametrize("archive, detail", [
    ("zx2c4__password-store__GPL-2.0.tar.gz", "gpl-2.0-or-later"),
    ("rupa__z__WTFPL.tar.gz", "wtfpl"),
    ("meta-llama__llama__Llama2-Community-License.tar.gz", "llama-2-community"),
    ("bryceAebi__MarkovRandomText__NO-LICENSE.tar.gz", "none"),
    ("Yoav-Shafir__Elasticsearch-Coffee-Search-Engine-JS__NO-LICENSE_minified-vendor-js.tar.gz", "none"),
])
def test_shared_other_repositories_are_one_license_drop(archive, detail):
    (drop,) = parse(str(shared(archive)))
    assert drop.reason is DropReason.LICENSE and drop.detail == detail


def test_shared_binaries_and_minified_code_never_reach_kept_output():
    if not GITHUB_SAMPLES.is_dir():
        pytest.skip(f"{GITHUB_SAMPLES} not present")
    everyone = dataclasses.replace(CFG, licenses=CFG.licenses + ("none", "custom", "wtfpl"))
    kept, drops = [], {}
    for path in sorted(GITHUB_SAMPLES.iterdir()):
        for o in parse_and_clean(path, everyone):
            if isinstance(o, Document):
                kept.append(o.meta()["path"])
            else:
                drops[o.doc.id] = o.reason
    assert not [p for p in kept if p.endswith((".min.js", ".png", ".gz", ".warc", ".gpg"))]
    assert (drops["Yoav-Shafir/Elasticsearch-Coffee-Search-Engine-JS/public/js/vendor/angular.min.js"]
            is DropReason.VENDORED)
    assert drops["webrecorder/warcio/test/data/example.warc.gz"] is DropReason.BINARY
    assert drops["commoncrawl/whirlwind-python/img/web-graph.png"] is DropReason.BINARY


# --- the Beam composite and the bundled sample ------------------------------------------------------
def test_read_github_composite(tmp_path):
    write_sample(tmp_path)
    files = [(str(p), p.name) for p in sorted(tmp_path.iterdir())]
    kept, dropped = read_files("github", parse_github_file, files, CFG)
    assert len(kept) == 15
    assert sorted((d.doc.id, d.reason.value, d.detail) for d in dropped) == sorted([
        ("corral-samples/notekeeper", "license", "gpl-3.0"),
        ("corral-samples/scratchpad", "license", "none"),
        ("corral-samples/wordfreq/docs/logo.png", "binary", "NUL byte at offset 8"),
    ])


def test_sample_is_byte_identical_across_runs(tmp_path):
    write_sample(tmp_path / "one")
    write_sample(tmp_path / "two")
    names = sorted(ARCHIVES)
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == names
    one = [(tmp_path / "one" / n).read_bytes() for n in names]
    assert one == [(tmp_path / "two" / n).read_bytes() for n in names]
    assert sum(map(len, one)) < 100_000


def test_sample_outcomes(tmp_path):
    write_sample(tmp_path)
    outcome = {}
    for path in sorted(tmp_path.iterdir()):
        for o in parse_and_clean(path):
            outcome[o.doc.id if isinstance(o, Dropped) else o.id] = o.reason.value if isinstance(o, Dropped) else "kept"
    w, t = "corral-samples/wordfreq/", "corral-samples/tilemath/"
    assert outcome == {
        w + ".gitignore": "extension", w + "LICENSE": "extension", w + "Makefile": "kept",
        w + "README.md": "kept", w + "docs/logo.png": "binary", w + "web/vendor/chart.min.js": "vendored",
        w + "wordfreq/__init__.py": "kept", w + "wordfreq/_version.py": "vendored",
        w + "wordfreq/counting.py": "kept",
        t + "LICENSE.txt": "extension", t + "README.md": "kept", t + "data/zoom_levels.csv": "extension",
        t + "docs/layout.md": "alnum_fraction", t + "src/lookup.h": "long_line",
        t + "src/messages.py": "mean_line", t + "src/tiles.c": "alpha_per_token",
        "corral-samples/notekeeper": "license", "corral-samples/scratchpad": "license",
    }
    init = next(d for d in parse_and_clean(tmp_path / "corral-samples__wordfreq__MIT.tar.gz")
                if isinstance(d, Document) and d.id.endswith("__init__.py"))
    assert init.text.startswith('"""Word frequencies') and "SPDX" not in init.text


# --- exact file dedup on the raw content (RedPajama: md5 of each file's content) --------------------------
def _github_job(root: Path, out: Path, *overrides: str) -> dict[str, tuple[str, str]]:
    """The corpus job on github/ under `root`: {path in repo: (repo, "kept" | drop reason)}, non-license rows."""
    from pipeline.cli import main
    from pipeline.core.shards import read_shard

    args = ["corpus", "--input", str(root), "--output", str(out), "--set", "sources=[github]"]
    for override in overrides:
        args += ["--set", override]
    assert main(args) == 0
    outcomes = {}
    for shard in sorted((out / "github").glob("part-*.arrow")):
        for row in read_shard(str(shard)).to_pylist():
            meta = json.loads(row["metadata"])
            outcomes[(meta["repo"], meta["path"])] = "kept"
    for shard in sorted((out / "dropped" / "github").glob("part-*.arrow")):
        for row in read_shard(str(shard)).to_pylist():
            meta = json.loads(row["metadata"])
            if "path" in meta:
                outcomes[(meta["repo"], meta["path"])] = row["drop_reason"]
    return outcomes


def test_exact_dedup_hashes_real_files_as_they_are(tmp_path):
    original = shared("pallets__markupsafe__BSD-3-Clause.tar.gz")
    root = tmp_path / "in" / "github"
    root.mkdir(parents=True)
    (root / original.name).write_bytes(original.read_bytes())
    # A second repository holding the same real files, where the Python files differ from the
    # originals only by a trailing space on their first line: byte for byte they differ, so
    # RedPajama's md5 keeps both copies; the other files are exact copies it drops.
    files = {}
    with tarfile.open(original) as tar:
        for m in tar.getmembers():
            if m.isfile():
                data = tar.extractfile(m).read()
                name = m.name.split("/", 1)[1]
                if name.endswith(".py"):
                    first, _, rest = data.partition(b"\n")
                    data = first + b" \n" + rest
                files[name] = data
    tar_archive(root / "copyist__markupsafe__BSD-3-Clause.tar.gz",
                {f"copyist__markupsafe__BSD-3-Clause/{k}": v for k, v in files.items()})
    outcomes = _github_job(tmp_path / "in", tmp_path / "raw")
    copies = {path: o for (repo, path), o in outcomes.items() if repo == "copyist/markupsafe"}
    originals = {path: o for (repo, path), o in outcomes.items() if repo == "pallets/markupsafe"}
    py = [p for p, o in originals.items() if p.endswith(".py") and o == "kept"]
    # Byte-identical copies: one of the two stays (the smaller id), the other is duplicate_exact.
    other = [p for p in originals if not p.endswith(".py") and {originals[p], copies[p]} == {"kept", "duplicate_exact"}]
    assert len(py) >= 5 and len(other) >= 5
    assert all(copies[p] == "kept" for p in py)  # whitespace variants are different files
    assert sum(o == "duplicate_exact" for o in outcomes.values()) == len(other)
    # With the other sources' whitespace normalization, the variants collapse too.
    normalized = _github_job(tmp_path / "in", tmp_path / "normalized", "github.raw_exact_dedup=false")
    assert all({normalized[("copyist/markupsafe", p)], normalized[("pallets/markupsafe", p)]}
               == {"kept", "duplicate_exact"}
               for p in py)
