"""Reading StackExchange dumps (pipeline/sources/stackexchange.py) and the bundled sample's dumps
(scripts/sample/stackexchange.py)."""
from __future__ import annotations

import collections
import re
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import py7zr
import pytest

from pipeline.cli import main
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.shards import read_shard
from pipeline.jobs.inputs import discover
from pipeline.sources.stackexchange import (
    ANSWER_SEPARATOR,
    Post,
    StackExchangeConfig,
    assemble_question,
    check_archive_members,
    choose_sites,
    is_stackexchange_input,
    parse_questions_file,
    parse_stackexchange_file,
    site_of,
)
from scripts.sample import stackexchange as sample

REPO_ROOT = Path(__file__).resolve().parents[3]
SE_SAMPLES = REPO_ROOT.parent / "shared" / "corpus-samples" / "stackexchange"
REAL_FOLDERS = ["coffee.stackexchange.com_2015-03", "datascience.meta.stackexchange.com_2017-03",
                "conlang.meta.stackexchange.com_2020-09"]
CFG = StackExchangeConfig()
SITE = "garden.stackexchange.com"


def row(post_id: int, post_type: int = 1, score: int | str = 1, **extra: str) -> dict[str, str]:
    attrs = {"Id": str(post_id), "PostTypeId": str(post_type), "CreationDate": "2020-01-02T03:04:05.678",
             "Score": str(score), "Body": f"<p>Body of {post_id}.</p>", **extra}
    if post_type == 1:
        attrs.setdefault("Title", f"Question {post_id}")
    return attrs


def posts_xml(rows: list[dict[str, str]]) -> bytes:
    return sample._table_xml("posts", rows)


def write_site(tmp_path: Path, rows: list[dict[str, str]], folder: str = SITE + "_2020-01") -> tuple[str, str]:
    (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / folder / "Posts.xml").write_bytes(posts_xml(rows))
    return str(tmp_path / folder / "Posts.xml"), f"{folder}/Posts.xml"


def write_7z(path: Path, members: dict[str, bytes], unchecked: bool = False) -> tuple[str, str]:
    with py7zr.SevenZipFile(path, "w") as archive:
        for name, data in members.items():
            # writestr refuses unsafe names; the private _writestr is how a hostile archive is made.
            (archive._writestr if unchecked else archive.writestr)(data, name)
    return str(path), path.name


def parse(path: str, rel: str, cfg: StackExchangeConfig = CFG) -> list[Post | Dropped]:
    return list(parse_stackexchange_file(path, rel, cfg))


def assemble_all(items, cfg: StackExchangeConfig = CFG) -> dict[str, Document | Dropped]:
    groups = collections.defaultdict(list)
    for post in items:
        if isinstance(post, Post):
            groups[(post.site, post.question_id)].append(post)
    out = [assemble_question(site, qid, posts, cfg) for (site, qid), posts in groups.items()]
    return {(o.doc.id if isinstance(o, Dropped) else o.id): o for o in out}


# --- which files, which site -------------------------------------------------------------------------
@pytest.mark.parametrize("rel, site", [
    ("coffee.stackexchange.com_2015-03/Posts.xml", "coffee.stackexchange.com"),
    ("dumps/conlang.meta.stackexchange.com.7z", "conlang.meta.stackexchange.com"),
    ("stackoverflow.com-Posts.7z", "stackoverflow.com"),
    ("Math.StackExchange.com/Posts.xml", "math.stackexchange.com"),
    ("Posts.xml", None),
])
def test_site_of(rel, site):
    assert site_of(rel) == site


@pytest.mark.parametrize("rel, expected", [
    ("a.stackexchange.com/Posts.xml", True), ("a.stackexchange.com.7z", True), ("stackoverflow.com-Posts.7z", True),
    ("stackoverflow.com-Comments.7z", False), ("a.stackexchange.com/Comments.xml", False),
    ("a.stackexchange.com/Users.xml", False), ("a.stackexchange.com/posts.xml.bak", False),
    ("a.stackexchange.com/posts.xml", True),
])
def test_which_files_are_inputs(rel, expected):
    assert is_stackexchange_input(rel) is expected


def test_other_tables_yield_nothing(tmp_path):
    path = tmp_path / "Comments.xml"
    path.write_bytes(b"<comments><row Id='1' PostId='1' Text='hi' /></comments>")
    assert parse(str(path), "a.stackexchange.com/Comments.xml") == []


def test_posts_xml_without_a_site_folder_is_a_parse_error(tmp_path):
    path, _ = write_site(tmp_path, [row(1)])
    (out,) = parse(path, "Posts.xml")
    assert out.reason is DropReason.PARSE_ERROR and "folder named after its site" in out.detail


# --- rows ---------------------------------------------------------------------------------------------
def test_rows_become_posts(tmp_path):
    rows = [row(1, Tags="<soil><ph>", AcceptedAnswerId="2"), row(2, 2, score=-3, ParentId="1"),
            row(3, 4), row(4, 5), row(5, 1, Tags="|new|format|")]
    out = parse(*write_site(tmp_path, rows))
    assert [p.post_id for p in out] == [1, 2, 5]  # tag-wiki excerpt (4) and wiki (5) are not posts of a question
    q, a, q5 = out
    assert q == Post(site=SITE, post_id=1, post_type=1, parent_id=None, score=1, title="Question 1",
                     body_html="<p>Body of 1.</p>", creation_date="2020-01-02T03:04:05Z", accepted_answer_id=2,
                     tags=("soil", "ph"), last_activity_date="")
    assert (a.post_type, a.parent_id, a.score, a.question_id) == (2, 1, -3, 1)
    assert q5.tags == ("new", "format")


@pytest.mark.parametrize("bad, detail", [
    ({"Id": None}, "no Id"),
    ({"Score": "high"}, "Score 'high' is not an integer"),
    ({"Score": None}, "no Score"),
    ({"ParentId": None}, "no ParentId"),
    ({"PostTypeId": "answer"}, "PostTypeId 'answer' is not an integer"),
    ({"AcceptedAnswerId": "x"}, "AcceptedAnswerId 'x' is not an integer"),
])
def test_malformed_row_mid_file_is_one_parse_error(tmp_path, bad, detail):
    broken = {k: v for k, v in {**row(7, 2, ParentId="1"), **bad}.items() if v is not None}
    out = parse(*write_site(tmp_path, [row(1), row(2, 2, ParentId="1"), broken, row(3, 2, ParentId="1")]))
    assert [type(o) for o in out] == [Post, Post, Dropped, Post]
    drop = out[2]
    assert (drop.reason, drop.stage, drop.doc.id) == (DropReason.PARSE_ERROR, "read", f"{SITE}/row-3")
    assert detail in drop.detail and drop.doc.meta()["file"] == f"{SITE}_2020-01/Posts.xml"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_xml_keeps_the_rows_before(tmp_path, cut):
    path, rel = write_site(tmp_path, [row(i, 1 if i % 3 == 1 else 2, ParentId="1") for i in range(1, 61)])
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * cut)])
    out = parse(path, rel)
    posts, last = out[:-1], out[-1]
    assert len(posts) > 20 and [p.post_id for p in posts] == list(range(1, len(posts) + 1))
    assert isinstance(last, Dropped) and last.reason is DropReason.PARSE_ERROR
    assert last.doc.id == f"{SITE}/row-{len(posts) + 1}" and f"XML broken after row {len(posts)}" in last.detail


@pytest.mark.parametrize("data", [b"", b"not xml at all", b"<posts><row Id='1' PostTypeId='1' Score='1'"])
def test_broken_files_are_one_parse_error(tmp_path, data):
    (tmp_path / "s.stackexchange.com").mkdir()
    (tmp_path / "s.stackexchange.com" / "Posts.xml").write_bytes(data)
    (out,) = parse(str(tmp_path / "s.stackexchange.com" / "Posts.xml"), "s.stackexchange.com/Posts.xml")
    assert out.reason is DropReason.PARSE_ERROR and out.doc.id == "s.stackexchange.com/row-1"


def test_streaming_memory_is_bounded(tmp_path):
    body = "<p>" + "word " * 200 + "</p>"
    path, rel = write_site(tmp_path, [row(i, 2, ParentId="1", Body=body) for i in range(1, 20_001)])
    assert Path(path).stat().st_size > 20_000_000
    tracemalloc.start()
    num_posts = sum(1 for _ in parse_stackexchange_file(path, rel, CFG))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert num_posts == 20_000 and peak < 3_000_000  # a tree of every row would hold the whole 20 MB


# --- .7z dumps ------------------------------------------------------------------------------------------
def test_7z_gives_the_same_posts_as_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    rows = [row(1), row(2, 2, ParentId="1"), row(3, 2, ParentId="1", score=5)]
    folder = parse(*write_site(tmp_path, rows, folder="g.stackexchange.com"))
    archived = parse(*write_7z(tmp_path / "g.stackexchange.com.7z",
                               {"Comments.xml": b"<comments />", "Posts.xml": posts_xml(rows),
                                "Users.xml": b"<users />"}))
    assert archived == folder and len(folder) == 3
    assert list((tmp_path / "tmp").iterdir()) == []  # the extracted Posts.xml is gone


@pytest.mark.parametrize("members, reason, detail", [
    ({"../Posts.xml": b"<posts />"}, DropReason.UNSAFE_ARCHIVE, "escapes"),
    ({"Posts.xml": b"<posts />", "/etc/cron.d/x": b"x"}, DropReason.UNSAFE_ARCHIVE, "escapes"),
    ({"Comments.xml": b"<comments />"}, DropReason.PARSE_ERROR, "no Posts.xml at the archive root"),
    ({"dump/Posts.xml": b"<posts />"}, DropReason.PARSE_ERROR, "no Posts.xml at the archive root"),
])
def test_unsafe_or_wrong_archives_are_refused(tmp_path, members, reason, detail):
    (out,) = parse(*write_7z(tmp_path / "g.stackexchange.com.7z", members, unchecked=True))
    assert (out.reason, out.stage) == (reason, "read") and detail in out.detail
    assert out.doc.id == "g.stackexchange.com.7z#read-error"
    assert not (tmp_path / "Posts.xml").exists() and not (tmp_path.parent / "Posts.xml").exists()


def test_archive_over_the_size_cap_is_too_large_before_extraction(tmp_path):
    path, rel = write_7z(tmp_path / "g.stackexchange.com.7z", {"Posts.xml": posts_xml([row(1)] * 50)})
    (out,) = parse(path, rel, StackExchangeConfig(max_archive_bytes=1000))
    assert out.reason is DropReason.TOO_LARGE and "max_archive_bytes is 1000" in out.detail
    assert not list(tmp_path.glob("**/Posts.xml"))


def test_more_data_than_listed_is_unsafe(tmp_path, monkeypatch):
    # py7zr counts what it decompresses; past the cap (sizes listed lower than that) the header lied.
    path, rel = write_7z(tmp_path / "g.stackexchange.com.7z", {"Posts.xml": posts_xml([row(1)] * 50)})
    monkeypatch.setattr("pipeline.sources.stackexchange.check_archive_members", lambda members, cap: None)
    (out,) = parse(path, rel, StackExchangeConfig(max_archive_bytes=1000))
    assert out.reason is DropReason.UNSAFE_ARCHIVE and "exceeds" in out.detail


def test_links_and_duplicate_members_are_unsafe():
    def info(is_file=True, is_symlink=False):
        return py7zr.FileInfo("Posts.xml", None, 10, True, False, is_file, is_symlink, None, None)
    assert check_archive_members([info(is_file=False, is_symlink=True)], 100)[0] is DropReason.UNSAFE_ARCHIVE
    assert check_archive_members([info(), info()], 100)[0] is DropReason.UNSAFE_ARCHIVE
    assert check_archive_members([info()], 100) is None


@pytest.mark.parametrize("data", [b"", b"7z but not really", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 30])
def test_unreadable_7z_is_one_parse_error(tmp_path, data):
    (tmp_path / "g.stackexchange.com.7z").write_bytes(data)
    (out,) = parse(str(tmp_path / "g.stackexchange.com.7z"), "g.stackexchange.com.7z")
    assert out.reason is DropReason.PARSE_ERROR and "unreadable .7z" in out.detail


# --- assembling a question ------------------------------------------------------------------------------
def post(post_id, post_type=2, score=0, parent=1, body=None, **extra) -> Post:
    fields = dict(site=SITE, post_id=post_id, post_type=post_type, parent_id=parent if post_type == 2 else None,
                  score=score, title="How?" if post_type == 1 else "", body_html=body or f"<p>answer {post_id}</p>",
                  creation_date="2020-01-02T03:04:05Z", accepted_answer_id=None, tags=())
    return Post(**{**fields, **extra})


def test_answers_sorted_by_score_then_accepted_then_id():
    question = post(1, 1, score=4, body="<p>The <code>question</code>.</p>", accepted_answer_id=30, tags=("a", "b"))
    answers = [post(10, score=2), post(20, score=7), post(30, score=2), post(5, score=2), post(40, score=-1)]
    doc = assemble_question(SITE, 1, [answers[0], question, *answers[1:]], CFG)
    sep = f"\n\n{ANSWER_SEPARATOR}\n\n"
    assert doc.text == sep.join(["How?\n\nThe question.", "answer 20", "answer 30", "answer 5", "answer 10",
                                 "answer 40"])
    assert (doc.id, doc.source, doc.url, doc.created) == (
        f"{SITE}/1", "stackexchange", f"https://{SITE}/questions/1", "2020-01-02T03:04:05Z")
    assert doc.meta() == {"site": SITE, "question_id": 1, "score": 4, "num_answers": 5,
                          "answer_scores": [7, 2, 2, 2, -1],
                          "tags": ["a", "b"], "accepted_answer_id": 30}


@pytest.mark.parametrize("min_answers, num_answers, dropped",
                         [(1, 0, True), (1, 1, False), (2, 1, True), (0, 0, False)])
def test_no_answers(min_answers, num_answers, dropped):
    posts = [post(1, 1)] + [post(i) for i in range(2, 2 + num_answers)]
    out = assemble_question(SITE, 1, posts, StackExchangeConfig(min_answers=min_answers))
    assert isinstance(out, Dropped) is dropped
    if dropped:
        assert (out.reason, out.stage) == (DropReason.NO_ANSWERS, "clean")
        assert out.doc.text.startswith("How?") and out.doc.id == f"{SITE}/1"


def test_default_keeps_an_unanswered_question_alone():
    assert CFG.min_answers == 0  # RedPajama kept every question, answered or not
    out = assemble_question(SITE, 1, [post(1, 1)], CFG)
    assert isinstance(out, Document) and out.text == "How?\n\nanswer 1"  # the question's title and body
    assert out.meta()["num_answers"] == 0 and out.meta()["answer_scores"] == []


@pytest.mark.parametrize("folder", ["coffee.stackexchange.com_2015-03", "datascience.meta.stackexchange.com_2017-03",
                                    "conlang.meta.stackexchange.com_2020-09"])
def test_real_unanswered_questions_are_kept_alone(folder):
    path, rel = _real(f"{folder}/Posts.xml")
    # The oracle is the dump itself, read here with ElementTree: every question row is one document
    # (RedPajama's stack_exchange/filter.py), those no answer row points to hold the question alone.
    rows = [r.attrib for r in ET.parse(path).getroot().iter("row")]
    questions = {int(r["Id"]): r for r in rows if r["PostTypeId"] == "1"}
    answered = {int(r["ParentId"]) for r in rows if r["PostTypeId"] == "2"}
    unanswered = set(questions) - answered
    assert unanswered  # the real dumps have some
    docs = assemble_all(parse(path, rel))
    by_question = {d.meta()["question_id"]: d for d in docs.values() if isinstance(d, Document)}
    assert by_question.keys() == questions.keys()
    for qid in unanswered:
        doc = by_question[qid]
        assert doc.meta()["num_answers"] == 0 and doc.text.startswith(questions[qid]["Title"])
        assert "\n---\n" not in doc.text
    strict = assemble_all(parse(path, rel), StackExchangeConfig(min_answers=1))
    assert sorted(d.doc.meta()["question_id"] for d in strict.values() if isinstance(d, Dropped)
                  and d.reason is DropReason.NO_ANSWERS) == sorted(unanswered)


def test_answers_without_their_question():
    out = assemble_question(SITE, 9, [post(10, parent=9), post(11, parent=9)], CFG)
    assert (out.reason, out.stage, out.detail) == (DropReason.PARSE_ERROR, "clean", "answers without their question")
    assert out.doc.id == f"{SITE}/9" and out.doc.meta()["num_answers"] == 2


def test_two_dumps_of_a_site_give_one_document_with_the_newest_copies():
    old = [post(1, 1, last_activity_date="2019"), post(2, score=1, last_activity_date="2019")]
    new = [post(1, 1, last_activity_date="2020"), post(2, score=8, last_activity_date="2020"), post(3, score=2)]
    doc = assemble_question(SITE, 1, old + new + old, CFG)
    assert doc.meta()["answer_scores"] == [8, 2] and doc.text.count("answer 2") == 1


def test_empty_answers_add_no_separator():
    doc = assemble_question(SITE, 1, [post(1, 1), post(2, body="<p><img src='x.png'></p>"), post(3)], CFG)
    assert doc.text == f"How?\n\nanswer 1\n\n{ANSWER_SEPARATOR}\n\nanswer 3" and doc.meta()["num_answers"] == 2


@pytest.mark.parametrize("cfg, kept", [
    (StackExchangeConfig(top_sites=2), {"b", "c"}),
    (StackExchangeConfig(top_sites=1), {"b"}),
    (StackExchangeConfig(top_sites=0), {"a", "b", "c"}),
    (StackExchangeConfig(top_sites=2, sites=("A", "x")), {"a", "x"}),
])
def test_choose_sites(cfg, kept):
    assert choose_sites([("a", 5), ("c", 9), ("b", 9)], cfg) == kept  # ties by name


# --- through the corpus job (questions assembled per file, sites chosen from counts) --------------------
def _job_outcomes(root: Path, tmp_path: Path, *overrides: str) -> dict[str, str]:
    """Runs the corpus job on stackexchange/ under `root`; {id: "kept" | "reason/stage"}."""
    out = tmp_path / "out"
    args = ["corpus", "--input", str(root), "--output", str(out), "--set", "sources=[stackexchange]",
            "--set", "dedup.stackexchange=[]"]
    for override in overrides:
        args += ["--set", override]
    assert main(args) == 0
    outcomes = {}
    for shard in sorted((out / "stackexchange").glob("part-*.arrow")):
        outcomes.update((i, "kept") for i in read_shard(str(shard)).column("id").to_pylist())
    for shard in sorted((out / "dropped" / "stackexchange").glob("part-*.arrow")):
        table = read_shard(str(shard)).to_pydict()
        outcomes.update((i, f"{r}/{s}")
                        for i, r, s in zip(table["id"], table["drop_reason"], table["drop_stage"], strict=True))
    return outcomes


def _sample_files(root: Path) -> list[tuple[str, str]]:
    return sorted((str(p), p.relative_to(root).as_posix()) for p in root.rglob("*")
                  if p.is_file() and is_stackexchange_input(p.relative_to(root).as_posix()))


GARDEN, WOOD = sample.GARDENING, sample.WOODWORKING
SAMPLE_OUTCOMES = {
    **{f"{GARDEN}/{q}": "kept" for q in (1, 7, 11, 14, 20, 25, 28)},
    f"{GARDEN}/10": "kept", f"{GARDEN}/99": "parse_error/clean", f"{GARDEN}/row-20": "parse_error/read",
    **{f"{WOOD}/{q}": "kept" for q in (1, 4, 7)},
}


def test_read_stackexchange_in_the_job(tmp_path):
    sample.write_sample(tmp_path / "in" / "stackexchange")
    assert _job_outcomes(tmp_path / "in", tmp_path) == SAMPLE_OUTCOMES


def test_read_stackexchange_keeps_the_largest_sites(tmp_path):
    sample.write_sample(tmp_path / "in" / "stackexchange")
    expected = {k: ("site_not_kept/filter" if k.startswith(WOOD) else v) for k, v in SAMPLE_OUTCOMES.items()}
    assert _job_outcomes(tmp_path / "in", tmp_path, "stackexchange.top_sites=1") == expected


def test_questions_are_grouped_in_bounded_memory(tmp_path):
    """Posts spill to disk: grouping 20,000 posts holds far less than their text in memory."""
    rows = [row(q, 1, Title=f"Question {q}", Body="<p>" + "why " * 50 + "</p>") for q in range(1, 10_001)]
    rows += [row(10_000 + q, 2, ParentId=str(q), Body="<p>" + "because " * 50 + "</p>") for q in range(1, 10_001)]
    path, rel = write_site(tmp_path, rows)
    tracemalloc.start()
    num_docs = sum(1 for out in parse_questions_file(path, rel, CFG) if isinstance(out, Document))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert num_docs == 10_000
    assert peak < Path(path).stat().st_size / 4, peak


# --- the bundled sample -----------------------------------------------------------------------------------
def test_sample_is_byte_identical_across_runs(tmp_path):
    sample.write_sample(tmp_path / "one")
    sample.write_sample(tmp_path / "two")
    files = sorted(p.relative_to(tmp_path / "one").as_posix() for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert files == [f"{sample.GARDENING_FOLDER}/Posts.xml", f"{sample.GARDENING_FOLDER}/Tags.xml", sample.ARCHIVE]
    assert all((tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes() for f in files)
    assert sum((tmp_path / "one" / f).stat().st_size for f in files) < 50_000


def test_sample_outcomes(tmp_path):
    sample.write_sample(tmp_path)
    items = [o for path, rel in _sample_files(tmp_path) for o in parse(path, rel)]
    outcomes = assemble_all(items)
    reasons = {k: f"{v.reason.value}/{v.stage}" if isinstance(v, Dropped) else "kept" for k, v in outcomes.items()}
    reasons.update({d.doc.id: f"{d.reason.value}/{d.stage}" for d in items if isinstance(d, Dropped)})
    assert reasons == SAMPLE_OUTCOMES
    tomato, sensor = outcomes[f"{GARDEN}/1"], outcomes[f"{GARDEN}/7"]
    assert tomato.meta()["answer_scores"] == [9, 9, 3] and tomato.text.index("drainage") < tomato.text.index("blight")
    assert "    pct = (DRY - raw) / (DRY - WET) * 100\n" in sensor.text and "<" not in sensor.text
    assert "\u22122\u00a0\u00b0C" in outcomes[f"{GARDEN}/25"].text
    assert "Type III PVA | 10 min" in outcomes[f"{WOOD}/1"].text


# --- the real dumps (../shared/corpus-samples/stackexchange, PROVENANCE.md section 7) -----------------------
def _real(rel: str) -> tuple[str, str]:
    if not SE_SAMPLES.is_dir():
        pytest.skip(f"{SE_SAMPLES} not present")
    return str(SE_SAMPLES / rel), rel


def _answered_questions(path: str) -> dict[int, list[int]]:
    """Independently of the reader: question id -> its answers' scores, for answered questions."""
    rows = [r.attrib for r in ET.parse(path).getroot()]
    questions = {int(r["Id"]) for r in rows if r["PostTypeId"] == "1"}
    answers = collections.defaultdict(list)
    for r in rows:
        if r["PostTypeId"] == "2" and int(r["ParentId"]) in questions:
            answers[int(r["ParentId"])].append(int(r["Score"]))
    return answers


@pytest.mark.parametrize("folder", REAL_FOLDERS)
def test_real_dump_every_question_is_one_document(folder):
    path, rel = _real(f"{folder}/Posts.xml")
    items = parse(path, rel)
    assert all(isinstance(p, Post) for p in items)  # no parse errors; tag wikis (4, 5) are not posts
    site = site_of(rel)
    docs = {k: v for k, v in assemble_all(items).items() if isinstance(v, Document)}
    answered = _answered_questions(path)
    questions = {int(r.attrib["Id"]) for r in ET.parse(path).getroot() if r.attrib["PostTypeId"] == "1"}
    assert set(docs) == {f"{site}/{q}" for q in questions}  # unanswered ones too (min_answers 0)
    for qid, scores in answered.items():
        doc = docs[f"{site}/{qid}"]
        assert doc.meta()["answer_scores"] == sorted(scores, reverse=True)
        assert doc.created.endswith("Z") and doc.text.count(f"\n{ANSWER_SEPARATOR}\n") >= 1


@pytest.mark.parametrize("folder", REAL_FOLDERS)
def test_real_dump_text_has_no_html(folder):
    path, rel = _real(f"{folder}/Posts.xml")
    items = [p for p in parse(path, rel) if isinstance(p, Post)]
    escaped = {p.question_id for p in items if "&lt;" in p.body_html}  # HTML shown as text on the page
    for doc in assemble_all(items).values():
        if isinstance(doc, Document) and re.search(r"<p>|<a |</", doc.text):
            assert doc.meta()["question_id"] in escaped, doc.id


def test_real_7z_and_its_folder_give_the_same_documents():
    from_7z = assemble_all(parse(*_real("conlang.meta.stackexchange.com.7z")))
    from_folder = assemble_all(parse(*_real("conlang.meta.stackexchange.com_2020-09/Posts.xml")))
    assert len(from_7z) == 54 and from_7z.keys() == from_folder.keys()
    assert all(from_7z[k] == from_folder[k] for k in from_7z)


def test_real_dumps_top_two_sites(tmp_path):
    _real("")
    (found,) = discover(str(SE_SAMPLES.parent), ("stackexchange",))  # the three folders and the .7z
    assert len(found.files) == 4
    outcomes = _job_outcomes(SE_SAMPLES.parent, tmp_path, "stackexchange.top_sites=2")
    kept_sites = {i.split("/")[0] for i, o in outcomes.items() if o == "kept"}
    assert kept_sites == {"coffee.stackexchange.com", "datascience.meta.stackexchange.com"}
    # conlang.meta is read twice (folder and .7z), each question once per file, and its size counts
    # once (its larger dump): not among the two largest, all its 54 questions go (49 answered, 5 not).
    conlang = {i: o for i, o in outcomes.items() if i.startswith("conlang.meta.")}
    assert len(conlang) == 54
    assert sorted(collections.Counter(conlang.values()).items()) == [("site_not_kept/filter", 54)]
