"""The dedup composites under Beam: planted duplicates, order and worker-count independence."""
import json
import pickle
import random

import apache_beam as beam
import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions

from dedup.common import DECISION, decisions_by_row
from dedup.exact import ExactStep
from dedup.lines import dedup_lines
from dedup.local import run_step
from dedup.minhash import dedup_books, dedup_near
from dedup.minhash_core import true_jaccard
from dedup.spans import dedup_spans
from pipeline.core.config import BookDedupConfig, ExactDedupConfig, LineDedupConfig, MinHashConfig, SpanDedupConfig
from pipeline.core.document import Document, Dropped

WORDS = [f"w{i}" for i in range(5000)]


def _text(rng: random.Random, num_words: int = 400) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(num_words))


def _mutate(rng: random.Random, text: str, fraction: float) -> str:
    """Replace a contiguous block of words: Jaccard of 5-gram sets drops to about the target."""
    words = text.split()
    n = int(len(words) * fraction)
    start = rng.randrange(0, len(words) - n)
    words[start:start + n] = [rng.choice(WORDS) + "x" for _ in range(n)]
    return " ".join(words)


def _save(values, path):
    with open(path, "w") as f:
        json.dump(values, f)


def _run(step, docs, workers: int = 1, docs_per_file: int = 3):
    """(kept ids, {dropped id: (reason, metadata)}, stats) of the step, run as the job runs it."""
    kept, dropped, stats = run_step(step, docs, workers, docs_per_file)
    return sorted(d.id for d in kept), {d.doc.id: (d.reason.value, json.loads(d.doc.metadata)) for d in dropped}, stats


def _doc(i, text, **meta):
    return Document(id=f"d{i:04d}", source="c4", text=text, metadata=json.dumps(meta, sort_keys=True))


def test_exact_keeps_smallest_id_and_records_it():
    docs = [_doc(3, "same text"), _doc(1, "same  text "), _doc(2, "other")]
    kept, dropped, stats = _run(ExactStep("c4", ExactDedupConfig("whitespace")), docs)
    assert kept == ["d0001", "d0002"]
    assert dropped["d0003"][0] == "duplicate_exact" and dropped["d0003"][1]["duplicate_of"] == "d0001"
    assert stats["c4"]["exact"] == {"clusters": 1, "documents_removed": 1, "max_cluster": 2}


def test_exact_without_normalization_keeps_whitespace_variants():
    docs = [_doc(1, "same text"), _doc(2, "same  text")]
    kept, _, _ = _run(ExactStep("c4", ExactDedupConfig("none")), docs)
    assert kept == ["d0001", "d0002"]


def test_lines_removes_shared_lines_and_keeps_the_first_copy_inside_a_document():
    """cc_net/dedup.py: a line in two documents leaves both; a line repeated inside one document
    keeps its first copy (finalize_doc), also when the copies differ in case, digits or unicode
    punctuation (normalize_for_dedup)."""
    boiler = "Copyright 2019 ACME. All rights reserved.\n"
    docs = [
        _doc(1, "A unique first line here.\n" + boiler + "Another unique line.\n"),
        _doc(2, "Different opening line.\n" + boiler.replace("2019", "2021").upper()),
        _doc(3, "Repeated inside one doc.\nSomething else.\nREPEATED inside one doc.\n"),
    ]
    kept, dropped, stats = run_step(dedup_lines("commoncrawl", LineDedupConfig(scope="all", min_chars=5)), docs, 1, 3)
    texts = {d.id: d.text for d in kept}
    assert sorted(texts) == ["d0001", "d0002", "d0003"] and not dropped
    assert texts["d0001"] == "A unique first line here.\nAnother unique line.\n"
    assert texts["d0002"] == "Different opening line.\n"
    assert texts["d0003"] == "Repeated inside one doc.\nSomething else.\n"
    assert stats["commoncrawl"]["lines"]["lines_removed"] == 3


def test_lines_too_short_after_dedup_and_scope():
    shared = "The same paragraph in two dumps of the crawl.\n"
    docs = [_doc(1, shared, dump="2019"), _doc(2, shared + "Extra text of doc two.\n", dump="2020")]
    kept, dropped, _ = _run(dedup_lines("commoncrawl", LineDedupConfig(scope="all", min_chars=5)), docs)
    assert kept == ["d0002"] and dropped["d0001"][0] == "too_short_after_dedup"
    kept, dropped, _ = _run(dedup_lines("commoncrawl", LineDedupConfig(scope="dump", min_chars=5)), docs)
    assert kept == ["d0001", "d0002"] and not dropped


def test_spans_keep_first_occurrence():
    passage = "One sentence here. Two sentence here. Three sentence here."
    docs = [_doc(1, passage + " Unique tail one."), _doc(2, "Own start. " + passage)]
    kept, dropped, stats = _run(dedup_spans("c4", SpanDedupConfig(span=3, min_chars=5)), docs)
    assert kept == ["d0001", "d0002"]
    assert stats["c4"]["spans"]["spans_removed"] >= 1


def _planted(num_groups: int = 12, seed: int = 7):
    rng = random.Random(seed)
    docs, same = [], {}
    for g in range(num_groups):
        base = _text(rng)
        # 400 words: a block of n new words breaks n + 4 of 396 shingles, J = (396 - k) / (396 + k).
        kinds = [("base", base), ("exact", base), ("j95", _mutate(rng, base, 0.01)), ("j85", _mutate(rng, base, 0.07)),
                 ("j50", _mutate(rng, base, 0.32))]
        for k, (kind, text) in enumerate(kinds):
            doc_id = f"g{g:02d}-{k}-{kind}"
            docs.append(Document(id=doc_id, source="c4", text=text))
            same[doc_id] = g if kind != "j50" else None
    return docs, same


def test_minhash_planted_duplicates_collapse_and_distinct_survive():
    docs, _ = _planted()
    text = {d.id: d.text for d in docs}
    for kind, lo, hi in (("2-j95", 0.93, 0.97), ("3-j85", 0.82, 0.88), ("4-j50", 0.45, 0.55)):
        assert lo < true_jaccard(text["g00-0-base"], text[f"g00-{kind}"]) < hi
    kept, dropped, stats = _run(dedup_near("c4", MinHashConfig(threshold=0.8, verify="jaccard")), docs)
    for g in range(12):
        survivors = [k for k in kept if k.startswith(f"g{g:02d}-")]
        assert len(survivors) == 2 and survivors[1] == f"g{g:02d}-4-j50"
    assert all(reason == "duplicate_near" and "near_cluster" in meta for reason, meta in dropped.values())
    assert stats["c4"]["near"]["clusters"] == 12 and stats["c4"]["near"]["max_cluster"] == 4
    assert stats["c4"]["near"]["unconverged_nodes"] == 0


def test_minhash_independent_of_order_and_workers():
    docs, _ = _planted(num_groups=6, seed=3)
    shuffled = list(docs)
    random.Random(1).shuffle(shuffled)
    transform = lambda: dedup_near("c4", MinHashConfig(threshold=0.8, keep="smallest_id"))  # noqa: E731
    first = _run(transform(), docs)
    assert _run(transform(), docs, docs_per_file=5) == first
    assert _run(transform(), docs, workers=2) == first
    # Another input order may keep another member of a cluster (longest, then smallest id decide),
    # never another number of documents.
    kept, dropped, _ = _run(transform(), shuffled)
    assert len(kept) == len(first[0]) and set(dropped) | set(kept) == set(first[1]) | set(first[0])


def _pickle(values, path):
    with open(path, "wb") as f:
        pickle.dump(values, f)


def test_minhash_after_an_earlier_step_decides_by_staged_row(tmp_path):
    """In the job a later step (near after exact) gets only the documents the earlier steps kept, at
    their rows in the staged file (pipeline/jobs/passes.py ReplayKeys), so rows have gaps. Its
    decisions name those rows and are the ones it makes without gaps."""
    docs, _ = _planted(num_groups=6, seed=11)
    _, expected, _ = _run(dedup_near("c4", MinHashConfig(threshold=0.8)), docs, docs_per_file=10)
    step, folder, staged, keyed = dedup_near("c4", MinHashConfig(threshold=0.8)), str(tmp_path), {}, []
    for f in range(3):
        batch = docs[10 * f:10 * f + 10]
        positions = [(f, 3 * r + 2) for r in range(len(batch))]  # two dropped rows before each kept one
        staged.update(zip(positions, batch, strict=True))
        step.begin_file(folder, f)
        records = [*step.keys(batch[:4], positions[:4]), *step.keys(batch[4:], positions[4:]), *step.end_file()]
        keyed += sorted({b: [r for b2, r in records if b2 == b] for b, _ in records}.items())
    with beam.Pipeline(options=PipelineOptions(flags=["--runner=FnApiRunner"])) as p:
        (p | beam.Create(keyed) | step.decide(folder) | beam.Filter(lambda r: r[0] == DECISION)
         | beam.combiners.ToList() | beam.Map(_pickle, str(tmp_path / "decided.pickle")))
    with open(tmp_path / "decided.pickle", "rb") as f:
        decided = pickle.load(f)
    dropped = {}
    for _, f, rows, values in decided:
        for row, found in decisions_by_row([(rows, values)]).items():
            out = step.apply(staged[(f, row)], found, {})
            if isinstance(out, Dropped):
                dropped[out.doc.id] = (out.reason.value, json.loads(out.doc.metadata))
    assert dropped == expected and len(dropped) == 18


def test_books_rule_uses_overlap_coefficient():
    rng = random.Random(5)
    book = _text(rng, 3000)
    abridged = " ".join(book.split()[:1500])  # wholly contained in the full book
    revised = _mutate(rng, book, 0.02)
    other = _text(rng, 3000)
    docs = [_doc(1, book), _doc(2, abridged), _doc(3, revised), _doc(4, other)]
    kept, dropped, stats = _run(dedup_books("books", BookDedupConfig(keep="smallest_id")), docs)
    assert kept == ["d0001", "d0004"]
    assert {d: r for d, (r, _) in dropped.items()} == {"d0002": "duplicate_book", "d0003": "duplicate_book"}


def test_books_rule_keeps_the_longest_by_default():
    rng = random.Random(6)
    book = _text(rng, 2000)
    longer = book + " " + _text(rng, 100)
    kept, _, _ = _run(dedup_books("books", BookDedupConfig()), [_doc(1, book), _doc(2, longer)])
    assert kept == ["d0002"]


def _reference_pairs(groups: list[list[int]]) -> set[tuple[int, int]]:
    """The rule, written plainly: every pair of a small group, a star from the first of a large one."""
    from dedup.minhash import ALL_PAIRS_UP_TO

    pairs = set()
    for members in groups:
        ordered = sorted(set(members))
        if len(ordered) <= ALL_PAIRS_UP_TO:
            pairs |= {(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:]}
        else:
            pairs |= {(ordered[0], b) for b in ordered[1:]}
    return pairs


def test_candidate_pairs_all_pairs_when_small_star_when_large():
    from dedup.minhash import _group_pairs

    rng = random.Random(4)
    groups = [rng.sample(range(10_000), rng.choice([1, 2, 3, 4, 5, 9, 30])) for _ in range(200)]
    hashes = np.array([g for g, members in enumerate(groups) for _ in members], dtype=np.uint64)
    positions = np.array([m for members in groups for m in members], dtype=np.int64)
    shuffle = np.random.default_rng(1).permutation(len(positions))
    found = {tuple(p) for p in _group_pairs(hashes[shuffle], positions[shuffle]).tolist()}
    assert found == _reference_pairs(groups)


def test_components_by_batches_equal_one_union_find():
    """Edges arrive a batch at a time (one spilled file per pair of files); the components must be
    those of all edges at once, checked against a plain union-find."""
    from dedup.minhash import _components

    rng = np.random.default_rng(7)
    batches = []
    for _ in range(12):
        first = rng.integers(0, 3000, 400) * 1009  # sparse codes, like (file << 32 | row)
        second = rng.integers(0, 3000, 400) * 1009
        batches.append((first.astype(np.int64), second.astype(np.int64)))
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for first, second in batches:
        for a, b in zip(first.tolist(), second.tolist(), strict=True):
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)
    nodes, labels = _components(lambda: iter(batches))
    assert nodes.tolist() == sorted(parent)
    expected = {}
    for node in parent:
        expected.setdefault(find(node), set()).add(node)
    found = {}
    for node, label in zip(nodes.tolist(), labels.tolist(), strict=False):
        found.setdefault(label, set()).add(node)
    assert sorted(map(sorted, found.values())) == sorted(map(sorted, expected.values()))
    assert all(nodes[label] == min(members) for label, members in found.items())  # label: first member
