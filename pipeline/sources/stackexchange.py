"""Reading StackExchange (LLaMA section 2): one document per question, with its answers.

LLaMA: "We kept the data from the 28 largest websites, removed the HTML tags from text and sorted
the answers by score (from highest to lowest)." The input is a site's data dump as archive.org ships
it, `<site>.7z` (stackoverflow.com as `stackoverflow.com-Posts.7z`) with Posts.xml at its root, or an
extracted `<site>[_YYYY-MM]/Posts.xml`; the site is the file or folder name. Other tables of a dump
(Comments.xml, Users.xml, `stackoverflow.com-Votes.7z`, ...) are not inputs.

A question and its answers lie anywhere in Posts.xml, and the largest site's posts (~100 GB) do not
fit in one worker's memory, so they are grouped on local disk, inside the file, never through a
shuffle (post text is document text):
  1. `parse_stackexchange_file` (pure) streams one file's rows as `Post`s, memory bounded;
  2. `parse_questions_file` spills them to a temporary SQLite table and reads them back grouped
     by (site, question id); `assemble_question` (pure) turns one group into a Document;
  3. `SiteStep` counts posts per site from small per-file records and picks the kept sites
     (`choose_sites`); questions of other sites are dropped as site_not_kept.
Each question group is one outcome, kept or dropped, and so is each read error: `seen` counts
question groups, never posts.
"""
from __future__ import annotations

import collections
import dataclasses
import lzma
import os
import pickle
import posixpath
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import py7zr
from py7zr.exceptions import AbsolutePathError, ArchiveError, DecompressionBombError, PasswordRequired

from dedup.common import KeyedStep, decision
from pipeline.core.archives import safe_name
from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import open_decompressed, open_raw
from pipeline.core.stages import SourcePlan, SourceSpec
from pipeline.sources.c4 import normalize_timestamp
from pipeline.sources.html_markup import html_to_text
from pipeline.sources.posts_xml import BrokenRow, read_rows


@dataclasses.dataclass(frozen=True)
class StackExchangeConfig:
    """LLaMA section 2: the 28 largest sites; HTML removed; answers sorted by score, highest first."""

    top_sites: int = 28  # keep the N sites with the most posts in the input; 0 keeps every site
    sites: tuple[str, ...] = ()  # an explicit list of sites to keep (overrides top_sites)
    # Questions with fewer answers are dropped as no_answers. 0: an unanswered question is kept as
    # the question alone, as RedPajama kept it (its stack_exchange/filter.py).
    min_answers: int = 0
    max_archive_bytes: int = 200_000_000_000  # decompressed cap per .7z dump


SOURCE = "stackexchange"
POSTS_XML = "Posts.xml"
QUESTION, ANSWER = 1, 2  # PostTypeId; the others (tag wikis 4 and 5, ...) are not documents
ANSWER_SEPARATOR = "---"  # a line of its own between the question and each answer
# archive.org splits stackoverflow.com into one archive per table: only -Posts holds posts.
_TABLE_RE = re.compile(r"-(posts|badges|comments|posthistory|postlinks|tags|users|votes)$", re.IGNORECASE)
_DUMP_DATE_RE = re.compile(r"_\d{4}-\d{2}(-\d{2})?$")  # a folder named `<site>_2015-03`
_TAGS_RE = re.compile(r"<([^<>]+)>")
_ARCHIVE_ERRORS = (ArchiveError, PasswordRequired, AbsolutePathError, lzma.LZMAError, EOFError, OSError)


@dataclasses.dataclass(frozen=True)
class Post:
    """One question or answer row of Posts.xml: what a question document needs, nothing more."""

    site: str
    post_id: int
    post_type: int  # QUESTION or ANSWER
    parent_id: int | None  # the question of an answer
    score: int
    title: str  # questions only
    body_html: str
    creation_date: str | None  # ISO 8601 UTC ("2015-01-27T20:09:32Z")
    accepted_answer_id: int | None
    tags: tuple[str, ...]
    last_activity_date: str = ""  # picks the newest copy when two dumps of a site hold the post

    @property
    def question_id(self) -> int:
        return self.post_id if self.post_type == QUESTION else self.parent_id


# --- reading one file --------------------------------------------------------------------------------
def is_stackexchange_input(rel: str) -> bool:
    """Posts.xml, or a .7z dump other than another table's (`stackoverflow.com-Votes.7z`)."""
    name = posixpath.basename(rel)
    if name.lower().endswith(".7z"):
        table = _TABLE_RE.search(name[:-3])
        return table is None or table.group(1).lower() == "posts"
    return name.lower() == POSTS_XML.lower()


def site_of(rel: str) -> str | None:
    """`a.stackexchange.com.7z` and `a.stackexchange.com_2015-03/Posts.xml` -> `a.stackexchange.com`."""
    name = posixpath.basename(rel)
    stem = name[:-3] if name.lower().endswith(".7z") else posixpath.basename(posixpath.dirname(rel))
    stem = _DUMP_DATE_RE.sub("", _TABLE_RE.sub("", stem))
    return stem.lower() or None


def _file_error(rel: str, site: str | None, reason: DropReason, detail: str) -> Dropped:
    doc = Document(id=f"{rel}#read-error", source=SOURCE, text="", metadata=dump_meta({"file": rel, "site": site}))
    return Dropped(doc, reason, "read", detail)


def parse_stackexchange_file(path: str, rel: str, cfg: StackExchangeConfig) -> Iterator[Post | Dropped]:
    """Stream one site's posts from Posts.xml or from a `.7z` dump (only Posts.xml is extracted).

    A malformed row is one PARSE_ERROR and the file goes on; XML broken mid-file is one PARSE_ERROR
    for the rest of it, and the posts already yielded stay. Files that are not inputs (see
    `is_stackexchange_input`) yield nothing: they hold no posts.
    """
    if not is_stackexchange_input(rel):
        return
    site = site_of(rel)
    if site is None:
        yield _file_error(rel, None, DropReason.PARSE_ERROR, "put Posts.xml in a folder named after its site")
    elif rel.lower().endswith(".7z"):
        yield from _parse_archive(path, rel, site, cfg)
    else:
        with open_decompressed(path) as stream:
            yield from parse_posts_xml(stream, rel, site)


def _parse_archive(path: str, rel: str, site: str, cfg: StackExchangeConfig) -> Iterator[Post | Dropped]:
    # py7zr pushes what it decompresses into writers while iterparse pulls from a file, so Posts.xml
    # is extracted first, into a private temporary folder that goes once the file has been read.
    # A worker needs that much disk: stackoverflow.com's Posts.xml is ~100 GB.
    with tempfile.TemporaryDirectory(prefix="corral-stackexchange-") as folder:
        problem = _extract_posts(path, folder, cfg)
        if problem is not None:
            yield _file_error(rel, site, *problem)
            return
        with open(os.path.join(folder, POSTS_XML), "rb") as stream:
            yield from parse_posts_xml(stream, rel, site)


def _extract_posts(path: str, folder: str, cfg: StackExchangeConfig) -> tuple[DropReason, str] | None:
    """Extract the archive's root Posts.xml into `folder`, or say why not."""
    cap = cfg.max_archive_bytes
    try:
        with open_raw(path) as raw, py7zr.SevenZipFile(raw, mode="r", max_extract_size=cap) as archive:
            problem = check_archive_members(archive.list(), cap)
            if problem is None:
                archive.extract(path=folder, targets=[POSTS_XML])
            return problem
    except DecompressionBombError as e:
        # The listed sizes were under the cap and the data came out larger: the header lied.
        return DropReason.UNSAFE_ARCHIVE, f"decompressed size exceeds stackexchange.max_archive_bytes: {e}"
    except _ARCHIVE_ERRORS as e:
        return DropReason.PARSE_ERROR, f"unreadable .7z: {type(e).__name__}: {e}"[:500]


def _unsafe_name(name: str) -> bool:
    return safe_name(name)[1] in ("absolute path", "parent directory")


def check_archive_members(members: list[py7zr.FileInfo], max_bytes: int) -> tuple[DropReason, str] | None:
    """None when the archive holds exactly one regular `Posts.xml` at its root, within the size cap.

    Any member with an absolute path or `..` makes the whole archive unsafe: a dump has no reason
    to hold one. The cap applies to everything the archive lists, checked before anything is
    extracted: in a solid archive the members before Posts.xml are decompressed too (not written).
    """
    unsafe = [m.filename for m in members if _unsafe_name(m.filename)]
    if unsafe:
        return DropReason.UNSAFE_ARCHIVE, f"member path escapes the archive: {unsafe[0]!r}"
    posts = [m for m in members if m.filename == POSTS_XML]
    if not posts:
        names = ", ".join(sorted(m.filename for m in members)[:8])
        return DropReason.PARSE_ERROR, f"no {POSTS_XML} at the archive root (members: {names})"
    if len(posts) > 1 or not posts[0].is_file:
        return DropReason.UNSAFE_ARCHIVE, f"{POSTS_XML} is duplicated, a link or a folder"
    listed = sum(m.uncompressed or 0 for m in members)
    if listed > max_bytes:
        return DropReason.TOO_LARGE, (f"the archive lists {listed} bytes uncompressed; "
                                      f"stackexchange.max_archive_bytes is {max_bytes}")
    return None


def parse_posts_xml(stream: Any, rel: str, site: str) -> Iterator[Post | Dropped]:
    """Posts.xml's rows as Posts, streamed (pipeline/sources/posts_xml.py): a row that breaks the
    XML, or has no usable Id, Score or ParentId, is one PARSE_ERROR and the rows after it are read."""
    for item in read_rows(stream):
        if isinstance(item, BrokenRow):
            yield _row_error(site, rel, item.number, item.detail)
            continue
        number, attrib = item
        try:
            post = post_from_row(attrib, site)
        except ValueError as e:
            post = _row_error(site, rel, number, str(e))
        if post is not None:
            yield post


def _row_error(site: str, rel: str, row: int, detail: str) -> Dropped:
    doc = Document(id=f"{site}/row-{row}", source=SOURCE, text="",
                   metadata=dump_meta({"file": rel, "row": row, "site": site}))
    return Dropped(doc, DropReason.PARSE_ERROR, "read", detail[:500])


def _int(row: dict[str, str], name: str, required: bool = True) -> int | None:
    value = row.get(name)
    if value is None:
        if required:
            raise ValueError(f"row has no {name}")
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} {value[:40]!r} is not an integer") from None


def _tags(raw: str) -> tuple[str, ...]:
    # Dumps up to 2023 write "<a><b>"; later ones write "|a|b|".
    return tuple(_TAGS_RE.findall(raw)) if raw.startswith("<") else tuple(t for t in raw.split("|") if t)


def post_from_row(row: dict[str, str], site: str) -> Post | None:
    """One row's attributes -> a Post; None for rows that are not questions or answers.

    Raises ValueError for a question or answer row without a usable Id, Score or (answers) ParentId.
    """
    post_type = _int(row, "PostTypeId")
    if post_type not in (QUESTION, ANSWER):
        return None
    return Post(
        site=site,
        post_id=_int(row, "Id"),
        post_type=post_type,
        parent_id=_int(row, "ParentId", required=post_type == ANSWER),
        score=_int(row, "Score"),
        title=row.get("Title", "").strip(),
        body_html=row.get("Body", ""),
        creation_date=normalize_timestamp(row.get("CreationDate", "")),
        accepted_answer_id=_int(row, "AcceptedAnswerId", required=False),
        tags=_tags(row.get("Tags", "")),
        last_activity_date=row.get("LastActivityDate", ""),
    )


# --- one question and its answers -> one document -----------------------------------------------------
def _stub(site: str, question_id: int, **meta: Any) -> Document:
    return Document(id=f"{site}/{question_id}", source=SOURCE, text="", url=f"https://{site}/questions/{question_id}",
                    metadata=dump_meta({"site": site, "question_id": question_id, **meta}))


def _newest_copies(posts: Iterable[Post]) -> dict[int, Post]:
    """One post per id: two dumps of one site both hold most posts; the newest activity wins."""
    newest: dict[int, Post] = {}
    for post in posts:
        seen = newest.get(post.post_id)
        if seen is None or (post.last_activity_date, repr(post)) > (seen.last_activity_date, repr(seen)):
            newest[post.post_id] = post
    return newest


def _question_text(question: Post, answers: list[Post]) -> str:
    parts = [part for part in (question.title, html_to_text(question.body_html)) if part]
    for answer in answers:
        text = html_to_text(answer.body_html)
        if text:  # an answer that was only an image has no text to add
            parts += [ANSWER_SEPARATOR, text]
    return "\n\n".join(parts)


def assemble_question(site: str, question_id: int, posts: Iterable[Post],
                      cfg: StackExchangeConfig) -> Document | Dropped:
    """The question's title and body, then its answers by score, highest first (LLaMA section 2).

    Ties go to the accepted answer, then to the older post (smaller id). A group with no question
    row (answers whose question is not in the input: deleted, or cut from a partial dump) is a
    parse_error at stage "clean"; a question with fewer than `min_answers` answers is no_answers.
    With the default 0, an unanswered question is a document of its title and body alone, as
    RedPajama kept it (its stack_exchange/filter.py keeps every post with a title).
    """
    posts_by_id = _newest_copies(posts)
    question = posts_by_id.get(question_id)
    answers = [p for p in posts_by_id.values() if p.post_type == ANSWER and p.parent_id == question_id]
    if question is None or question.post_type != QUESTION:
        return Dropped(_stub(site, question_id, num_answers=len(answers)), DropReason.PARSE_ERROR, "clean",
                       "answers without their question")
    answers.sort(key=lambda a: (-a.score, a.post_id != question.accepted_answer_id, a.post_id))
    meta = {"site": site, "question_id": question_id, "score": question.score, "num_answers": len(answers),
            "answer_scores": [a.score for a in answers], "tags": list(question.tags),
            "accepted_answer_id": question.accepted_answer_id}
    doc = dataclasses.replace(_stub(site, question_id), text=_question_text(question, answers),
                              created=question.creation_date, metadata=dump_meta(meta))
    if len(answers) < cfg.min_answers:
        detail = f"{len(answers)} answers; stackexchange.min_answers is {cfg.min_answers}"
        return Dropped(doc, DropReason.NO_ANSWERS, "clean", detail)
    return doc


def choose_sites(site_sizes: Iterable[tuple[str, int]], cfg: StackExchangeConfig) -> frozenset[str]:
    """`cfg.sites` when given; else the `cfg.top_sites` sites with most posts (ties by name); 0: all."""
    if cfg.sites:
        return frozenset(site.lower() for site in cfg.sites)
    ranked = sorted(site_sizes, key=lambda item: (-item[1], item[0]))
    if cfg.top_sites > 0:
        ranked = ranked[: cfg.top_sites]
    return frozenset(site for site, _ in ranked)


# --- one dump -> question documents, grouped in bounded memory -------------------------------------------
_SPILL_ROWS = 1_000  # posts per insert into the spill database


def parse_questions_file(path: str, rel: str, cfg: StackExchangeConfig) -> Iterator[Document | Dropped]:
    """One site's dump -> one Document (or Dropped) per question, its answers sorted by score.

    A question and its answers are grouped inside the file: posts spill to a temporary SQLite
    database on local disk and come back ordered by question, so a dump of any size (stackoverflow's
    Posts.xml is ~100 GB) is grouped in bounded memory and no post text crosses a shuffle. Two dumps
    of one site give two documents with one id; the job keeps the newer (`duplicate_id`).
    """
    with tempfile.TemporaryDirectory(prefix="corral-stackexchange-posts-") as folder:
        db = sqlite3.connect(os.path.join(folder, "posts.sqlite"))
        try:
            yield from _spill_posts(db, path, rel, cfg)
            yield from _assemble_spilled(db, cfg)
        finally:
            db.close()


def _spill_posts(db: sqlite3.Connection, path: str, rel: str, cfg: StackExchangeConfig) -> Iterator[Dropped]:
    db.execute("CREATE TABLE posts (question INTEGER NOT NULL, post INTEGER NOT NULL, site TEXT NOT NULL, "
               "data BLOB NOT NULL)")
    rows = []
    for item in parse_stackexchange_file(path, rel, cfg):
        if isinstance(item, Dropped):
            yield item
            continue
        rows.append((item.question_id, item.post_id, item.site, pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)))
        if len(rows) >= _SPILL_ROWS:
            db.executemany("INSERT INTO posts VALUES (?, ?, ?, ?)", rows)
            rows = []
    db.executemany("INSERT INTO posts VALUES (?, ?, ?, ?)", rows)
    db.commit()


def _assemble_spilled(db: sqlite3.Connection, cfg: StackExchangeConfig) -> Iterator[Document | Dropped]:
    group_key, posts = None, []
    for site, question, data in db.execute("SELECT site, question, data FROM posts ORDER BY site, question, post"):
        if (site, question) != group_key and posts:
            yield assemble_question(group_key[0], group_key[1], posts, cfg)
            posts = []
        group_key = (site, question)
        posts.append(pickle.loads(data))
    if posts:
        yield assemble_question(group_key[0], group_key[1], posts, cfg)


class SiteStep(KeyedStep):
    """LLaMA's "28 largest websites": posts counted per site from every file, the largest kept
    (`choose_sites`); every question of a file of another site is dropped as `site_not_kept`.

    Keys are one (site, file, posts) record per batch of documents; the decision is one per file.
    A site's size is the posts (question + answers) of its questions that passed reading, in its
    largest file: two dumps of one site count once.
    """

    name = "sites"

    def __init__(self, cfg: StackExchangeConfig) -> None:
        super().__init__(SOURCE)
        self._cfg = cfg

    def keys(self, docs: list[Document], positions) -> Iterator[tuple[int, Any]]:
        sizes: collections.Counter = collections.Counter()
        for doc, (file_index, _) in zip(docs, positions, strict=True):
            meta = doc.meta()
            sizes[(meta["site"], file_index)] += 1 + int(meta.get("num_answers", 0))
        for (site, file_index), num_posts in sorted(sizes.items()):
            yield 0, (site, file_index, num_posts)

    def decide_bucket(self, records: Iterable[Any]) -> Iterator[tuple]:
        per_file: collections.Counter = collections.Counter()
        for site, file_index, num_posts in records:
            per_file[(site, file_index)] += num_posts
        sizes: dict[str, int] = {}
        files: dict[str, list[int]] = collections.defaultdict(list)
        for (site, file_index), num_posts in sorted(per_file.items()):
            sizes[site] = max(sizes.get(site, 0), num_posts)  # two dumps of one site count once
            files[site].append(file_index)
        kept = choose_sites(sizes.items(), self._cfg)
        for site in sorted(set(sizes) - kept):
            for file_index in files[site]:
                yield decision((file_index, -1), site)

    def apply(self, doc: Document, decisions: list[Any], stats: dict[str, int]) -> Document | Dropped:
        rule = ("stackexchange.sites" if self._cfg.sites
                else f"the stackexchange.top_sites={self._cfg.top_sites} largest")
        return Dropped(doc, DropReason.SITE_NOT_KEPT, "filter", f"not among {rule}")


def plan(cfg: Any, models: Any) -> SourcePlan:
    # Questions are assembled per file; the largest sites are chosen from counts (SiteStep).
    return SourcePlan(pre_steps=(SiteStep(cfg.stackexchange),))


# A site's Posts.xml (the other tables of a dump are not read) or its archive.org .7z.
SPEC = SourceSpec(SOURCE, StackExchangeConfig, ("posts.xml", ".7z"), parse_questions_file, plan,
                  is_input=is_stackexchange_input)
