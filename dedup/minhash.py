"""DedupMinHash: near-duplicate removal by MinHash LSH, as Beam transforms (and LLaMA's book rule).

  1. Signatures: word n-gram shingles, MinHash signatures (dedup.minhash_core, equal to datasketch),
     computed in batches once per worker.
  2. Bands: each document emits (band key, id) per LSH band; ids sharing a key meet in one group,
     which yields candidate pairs: every pair in a small group, a star from the smallest id in a
     large one (so a group costs at most `max(n^2/2, n)` pairs, never a quadratic blow-up).
  3. Verification: each candidate pair is joined with both documents' sketches through the
     shuffle (signature Jaccard estimate, true shingle Jaccard, or the book overlap coefficient);
     only the band keys and ids travel through the band shuffle, so memory stays small.
  4. Clusters: connected components of the edges (dedup.components), smallest id as cluster id.
  5. One document kept per cluster (the longest, or the smallest id), the others dropped with
     their cluster id and the kept id in metadata.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

import apache_beam as beam
import numpy as np

from dedup.common import STATS, stage_name, stat
from dedup.components import ConnectedComponents
from dedup.hashing import book_shingles, normalize_for_exact
from dedup.minhash_core import MinHasher, band_keys, estimate_jaccard, optimal_bands
from pipeline.config import BookDedupConfig, MinHashConfig
from pipeline.document import Document, DropReason, Dropped
from pipeline.stages import DROPPED


@dataclasses.dataclass(frozen=True)
class NearParams:
    """What one DedupMinHash run needs, whichever rule (near or books) configured it."""

    ngram: int
    num_perm: int
    seed: int
    bands: int
    rows: int
    verify: str  # none | estimate | jaccard | overlap
    threshold: float  # for the verification (Jaccard, or overlap coefficient for books)
    keep: str  # longest | smallest_id
    max_rounds: int
    reason: DropReason
    strict: bool = False  # overlap must exceed the threshold ("more than 90%") rather than reach it
    normalize: bool = False  # shingle CCNet-normalized text (case, accents, punctuation, digits)


def near_params(cfg: MinHashConfig) -> NearParams:
    band_threshold = cfg.threshold if cfg.verify == "none" else cfg.candidate_threshold
    bands, rows = (cfg.bands, cfg.rows) if cfg.bands else optimal_bands(band_threshold, cfg.num_perm)
    return NearParams(cfg.ngram, cfg.num_perm, cfg.seed, bands, rows, cfg.verify, cfg.threshold, cfg.keep,
                      cfg.max_rounds, DropReason.DUPLICATE_NEAR, normalize=cfg.normalize)


def book_params(cfg: BookDedupConfig) -> NearParams:
    bands, rows = optimal_bands(cfg.candidate_threshold, cfg.num_perm)
    # Editions differ in typography (curly vs straight apostrophes, "oe" for a Latin-1 file's missing
    # "œ"), so books are compared on CCNet-normalized words: Entre Nous in UTF-8 and in Latin-1
    # overlap 0.84 as raw words and 0.998 normalized.
    return NearParams(cfg.ngram, cfg.num_perm, cfg.seed, bands, rows, "overlap", cfg.max_overlap, cfg.keep,
                      cfg.max_rounds, DropReason.DUPLICATE_BOOK, strict=True, normalize=True)


@dataclasses.dataclass(frozen=True)
class Sketch:
    id: str
    length: int
    signature: np.ndarray
    shingles: np.ndarray | None  # sorted unique shingle hashes, only when verification needs them


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    common = np.intersect1d(a, b, assume_unique=True).size
    return common, a.size, b.size


def matches(a: Sketch, b: Sketch, p: NearParams) -> bool:
    """The verification of a candidate pair (step 3)."""
    if p.verify == "none":
        return True
    if p.verify == "estimate":
        return estimate_jaccard(a.signature, b.signature) >= p.threshold
    common, size_a, size_b = _overlap(a.shingles, b.shingles)
    if p.verify == "jaccard":
        union = size_a + size_b - common
        return union > 0 and common / union >= p.threshold
    smaller = min(size_a, size_b)  # overlap coefficient, dedup.hashing.book_overlap
    score = common / smaller if smaller else 0.0
    return score > p.threshold if p.strict else score >= p.threshold


class _SketchFn(beam.DoFn):
    def __init__(self, p: NearParams) -> None:
        self._p = p

    def setup(self) -> None:
        self._hasher = MinHasher(self._p.num_perm, self._p.seed, self._p.ngram)

    def process(self, batch: list[Document]):
        texts = [normalize_for_exact(d.text, "ccnet") if self._p.normalize else d.text for d in batch]
        signatures = self._hasher.signatures(texts)
        for doc, text, signature in zip(batch, texts, signatures):
            shingles = None
            if self._p.verify in ("jaccard", "overlap"):
                shingles = np.array(sorted(book_shingles(text, self._p.ngram)), dtype=np.uint64)
            # Every MinHash value fits 32 bits: half the bytes in every shuffle that carries sketches.
            yield Sketch(doc.id, len(doc.text), signature.astype(np.uint32), shingles)


ALL_PAIRS_UP_TO = 16  # band groups up to this size yield every pair; larger ones a star


def _band_entries(sketch: Sketch, p: NearParams):
    for key in band_keys(sketch.signature, p.bands, p.rows):
        yield key, sketch.id


def candidate_pairs(ids: Iterable[str]):
    """Candidate (smaller id, larger id) pairs of one band group."""
    ordered = sorted(set(ids))
    if len(ordered) <= ALL_PAIRS_UP_TO:
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                yield a, b
    else:
        for b in ordered[1:]:
            yield ordered[0], b


def _with_left_sketch(joined):
    _, grouped = joined
    for sketch in grouped["sketch"]:
        for right in grouped["pairs"]:
            yield right, sketch


def _verified(joined, p: NearParams):
    _, grouped = joined
    for right in grouped["sketch"]:
        for left in grouped["lefts"]:
            if matches(left, right, p):
                yield left.id, right.id


class VerifyPairs(beam.PTransform):
    """Candidate pairs -> the pairs that pass `matches`, each joined with both sketches."""

    def __init__(self, params: NearParams) -> None:
        super().__init__()
        self._p = params

    def expand(self, inputs):
        pairs, sketches = inputs
        by_id = sketches | "SketchById" >> beam.Map(lambda s: (s.id, s))
        lefts = (
            {"pairs": pairs, "sketch": by_id}
            | "JoinLeft" >> beam.CoGroupByKey()
            | "LeftSketch" >> beam.FlatMap(_with_left_sketch)
        )
        return (
            {"lefts": lefts, "sketch": by_id}
            | "JoinRight" >> beam.CoGroupByKey()
            | "Verify" >> beam.FlatMap(_verified, self._p)
        )


def _choose_keeper(members: list[tuple[str, int]], keep: str) -> str:
    if keep == "longest":
        return min(members, key=lambda m: (-m[1], m[0]))[0]
    return min(members)[0]


class _DecideFn(beam.DoFn):
    def __init__(self, source: str, step: str, keep: str) -> None:
        self._source, self._step, self._keep = source, step, keep

    def process(self, keyed: tuple[str, Iterable[tuple[str, int]]]):
        cluster, members = keyed
        members = sorted(members)
        keeper = _choose_keeper(members, self._keep)
        for member_id, _ in members:
            yield member_id, (cluster, keeper, len(members))
        yield stat(self._source, self._step, "clusters", 1)
        yield stat(self._source, self._step, "max_cluster", len(members))
        yield stat(self._source, self._step, "documents_removed", len(members) - 1)


class _ApplyDecisionFn(beam.DoFn):
    def __init__(self, step: str, reason: DropReason) -> None:
        self._step, self._reason = step, reason

    def process(self, joined):
        _, grouped = joined
        decisions = list(grouped["decision"])
        for doc in grouped["doc"]:
            if not decisions:
                yield doc
                continue
            cluster, keeper, size = decisions[0]
            doc = doc.with_meta(**{f"{self._step}_cluster": cluster, f"{self._step}_cluster_size": size})
            if doc.id == keeper:
                yield doc
            else:
                doc = doc.with_meta(duplicate_of=keeper)
                yield beam.pvalue.TaggedOutput(DROPPED, Dropped(doc, self._reason, stage_name(self._step), keeper))


class DedupMinHash(beam.PTransform):
    """Documents -> {kept, dropped, stats}: one document per near-duplicate cluster."""

    def __init__(self, source: str, params: NearParams, step: str = "near") -> None:
        super().__init__()
        self._source, self._p, self._step = source, params, step

    def expand(self, docs):
        p, source, step = self._p, self._source, self._step
        sketches = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=512)
            | "Sketch" >> beam.ParDo(_SketchFn(p))
        )
        candidates = (
            sketches
            | "Bands" >> beam.FlatMap(_band_entries, p)
            | "GroupByBand" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.FlatMap(lambda kv: candidate_pairs(kv[1]))
            | "DistinctPairs" >> beam.Distinct()
        )
        edges = candidates if p.verify == "none" else (candidates, sketches) | "VerifyPairs" >> VerifyPairs(p)
        components = edges | "Components" >> ConnectedComponents(p.max_rounds)
        lengths = sketches | "Lengths" >> beam.Map(lambda s: (s.id, s.length))
        decided = (
            {"label": components["labels"], "length": lengths}
            | "JoinLengths" >> beam.CoGroupByKey()
            | "ByCluster" >> beam.FlatMap(lambda kv: [(label, (kv[0], max(kv[1]["length"]))) for label in kv[1]["label"]])
            | "GroupByCluster" >> beam.GroupByKey()
            | "ChooseKeeper" >> beam.ParDo(_DecideFn(source, step, p.keep)).with_outputs(STATS, main="decisions")
        )
        unconverged = components["unconverged"] | "UnconvergedStat" >> beam.Map(lambda n: ((source, step, "unconverged_nodes"), n))
        result = (
            {"doc": docs | "KeyById" >> beam.Map(lambda d: (d.id, d)), "decision": decided.decisions}
            | "JoinDecisions" >> beam.CoGroupByKey()
            | "Apply" >> beam.ParDo(_ApplyDecisionFn(step, p.reason)).with_outputs(DROPPED, main="kept")
        )
        stats = (decided[STATS], unconverged) | "AllStats" >> beam.Flatten()
        return {"kept": result.kept, "dropped": result[DROPPED], "stats": stats}


def dedup_near(source: str, cfg: MinHashConfig) -> DedupMinHash:
    return DedupMinHash(source, near_params(cfg), "near")


def dedup_books(source: str, cfg: BookDedupConfig) -> DedupMinHash:
    return DedupMinHash(source, book_params(cfg), "books")
