"""Near-duplicate removal by MinHash LSH, decided from compact keys (and LLaMA's book rule).

Everything that crosses a shuffle is a numpy array per file or per bucket, never one element per
document or per band, so Beam's cost per element is paid a few times per file:

  1. Keys, beside each staged file: word n-gram shingles, MinHash signatures (dedup.minhash_core,
     equal to datasketch) per batch of the file's documents. Each document's id, length and
     signature (and its shingle hashes when verification needs them) go to a sidecar Arrow file
     next to the staged documents; its band hashes (64-bit XXH3 of the band's values, seeded by
     the band index) go to their buckets as two arrays (hashes, positions) per file and bucket.
  2. Candidates, per bucket: the arrays sorted by band hash; documents sharing a hash are
     candidate pairs, every pair in a small group and a star from the smallest position in a
     large one (`_group_pairs`: at most max(n(n-1)/2, n-1) pairs a group).
  3. Verification per pair of files: the candidate pairs between two files meet in one group,
     which reads both sides' rows from the two sidecars (staged storage, which every worker
     reads) and decides (signature Jaccard estimate, true shingle Jaccard, or the book overlap
     coefficient). Signatures and shingles never cross a shuffle: only 16 bytes per pair do.
  4. Clusters: the verified edges of a source meet once and a union-find forms the connected
     components in one pass (exact: `unconverged_nodes` is always 0). Only duplicate pairs are
     there: 40 bytes and two ids each.
  5. One document kept per cluster (the longest, or the smallest id), the others dropped (apply,
     beside the staged documents) with their cluster id and the kept id in metadata.

Nodes are document positions (file, row), unique even where two input files repeat an id;
cluster ids (the smallest id in the cluster) and keepers are reported by document id.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa
import scipy.sparse
import scipy.sparse.csgraph
import xxhash

from dedup.common import DECISION, NUM_BUCKETS, KeyedStep, stage_name, stat
from dedup.hashing import book_shingles, normalize_for_exact
from dedup.minhash_core import MinHasher, optimal_bands
from pipeline.config import BookDedupConfig, MinHashConfig
from pipeline.document import Document, DropReason, Dropped
from pipeline.shards import AtomicArrowWriter
from pipeline.staging import read_rows, release_memory, staged_relpath

ROW_BITS = 32  # a position (file, row) travels as one int64: file << 32 | row


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


# Band groups up to this size yield every pair, larger ones a star from their first member: a
# group of n costs at most max(n(n-1)/2, n-1) pairs, and a star keeps candidates near one per
# document (every pair of a large group would multiply what the verification hops carry).
ALL_PAIRS_UP_TO = 4


def encode_position(file_index: int, row: int) -> int:
    return (file_index << ROW_BITS) | row


def decode_position(code: int) -> tuple[int, int]:
    return int(code) >> ROW_BITS, int(code) & ((1 << ROW_BITS) - 1)


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64: the 64-bit XXH3 of each band's `rows` values (4 bytes each, little
    endian), seeded by the band index, so equal bands of different index never collide."""
    values = np.ascontiguousarray(signatures[:, :bands * rows].astype("<u4"))
    out = np.empty((values.shape[0], bands), dtype=np.uint64)
    for b in range(bands):
        band = np.ascontiguousarray(values[:, b * rows:(b + 1) * rows])
        for i in range(band.shape[0]):
            out[i, b] = xxhash.xxh3_64_intdigest(band[i].tobytes(), seed=b)
    return out


def _sidecar_schema(p: NearParams) -> pa.Schema:
    fields = [pa.field("id", pa.string()), pa.field("length", pa.int64()),
              pa.field("signature", pa.list_(pa.uint32(), p.num_perm))]
    if p.verify in ("jaccard", "overlap"):
        fields.append(pa.field("shingles", pa.large_list(pa.uint64())))
    return pa.schema(fields)


def _group_pairs(hashes: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(n, 2) int64 candidate pairs (first < second position codes) among equal band hashes of
    one bucket, as `candidate_pairs` makes them per group, computed with numpy."""
    order = np.lexsort((positions, hashes))
    hashes, positions = hashes[order], positions[order]
    is_start = np.r_[True, hashes[1:] != hashes[:-1]]
    group = np.cumsum(is_start) - 1
    starts = np.flatnonzero(is_start)
    size = np.diff(np.r_[starts, hashes.size])[group]
    pairs = [np.stack([positions[starts[group]], positions], 1)[~is_start]]  # the star of every group
    for d in range(1, ALL_PAIRS_UP_TO - 1):  # small groups: the pairs among the other members too
        i = np.flatnonzero(~is_start[:-d] & (group[:-d] == group[d:]) & (size[:-d] <= ALL_PAIRS_UP_TO))
        pairs.append(np.stack([positions[i], positions[i + d]], 1))
    found = np.concatenate(pairs)
    found = found[found[:, 0] != found[:, 1]]  # a document in one band group twice (never, but cheap)
    return np.unique(np.sort(found, axis=1), axis=0)


def _bucket_candidates(grouped) -> Iterator[tuple[tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
    """One bucket's (hashes, positions) arrays -> candidate pairs, keyed by the pair of files."""
    parts = [record for records in grouped[1] for record in records]
    if not parts:
        return
    pairs = _group_pairs(np.concatenate([h for h, _ in parts]), np.concatenate([q for _, q in parts]))
    file_pairs = pairs >> ROW_BITS
    keys, which = np.unique(file_pairs, axis=0, return_inverse=True)
    for k, (first_file, second_file) in enumerate(keys.tolist()):
        chosen = pairs[which.reshape(-1) == k]
        yield (first_file, second_file), (chosen[:, 0], chosen[:, 1])


@dataclasses.dataclass(frozen=True)
class _Side:
    """One side of a set of pairs, read from its sidecar: row per pair, aligned with the pairs."""

    ids: list[str]
    lengths: np.ndarray
    signatures: np.ndarray  # (n, num_perm) uint32
    shingles: list[np.ndarray] | None


def _side(out_dir: str, source: str, step: str, file_index: int, codes: np.ndarray) -> _Side:
    """The sidecar rows of `codes` (sorted unique positions in one file), in that order."""
    table = read_rows(out_dir, staged_relpath(source, file_index, step), codes & ((1 << ROW_BITS) - 1))
    signatures = table.column("signature").combine_chunks().flatten().to_numpy().reshape(len(codes), -1)
    shingles = None
    if "shingles" in table.column_names:
        shingles = [np.array(v, dtype=np.uint64) for v in table.column("shingles").to_pylist()]
    return _Side(table.column("id").to_pylist(), table.column("length").to_numpy(), signatures, shingles)


def _subset(side: _Side, index: np.ndarray) -> _Side:
    shingles = [side.shingles[i] for i in index] if side.shingles is not None else None
    return _Side([side.ids[i] for i in index], side.lengths[index], side.signatures[index], shingles)


def _scores_pass(a: _Side, b: _Side, p: NearParams) -> np.ndarray:
    """The verification of candidate pairs (step 3), vectorized where it can be."""
    n = len(a.ids)
    if p.verify == "none":
        return np.ones(n, dtype=bool)
    if p.verify == "estimate":
        return (a.signatures == b.signatures).mean(axis=1) >= p.threshold
    passed = np.zeros(n, dtype=bool)
    for i in range(n):
        sa, sb = a.shingles[i], b.shingles[i]
        common = np.intersect1d(sa, sb, assume_unique=True).size
        if p.verify == "jaccard":
            union = sa.size + sb.size - common
            passed[i] = union > 0 and common / union >= p.threshold
        else:  # overlap coefficient, dedup.hashing.book_overlap
            smaller = min(sa.size, sb.size)
            score = common / smaller if smaller else 0.0
            passed[i] = score > p.threshold if p.strict else score >= p.threshold
    return passed


class _Verify(beam.DoFn):
    """The candidate pairs between two files: both sides read from the files' sidecars (staged
    beside the documents, never shuffled), decided; verified edges with ids and lengths."""

    def __init__(self, out_dir: str, source: str, step: str, p: NearParams) -> None:
        self._out, self._source, self._step, self._p = out_dir, source, step, p

    def _sides(self, file_index: int, codes: np.ndarray) -> _Side:
        unique, inverse = np.unique(codes, return_inverse=True)
        return _subset(_side(self._out, self._source, self._step, file_index, unique), inverse.reshape(-1))

    def process(self, grouped):
        (first_file, second_file), parts = grouped
        parts = list(parts)
        pairs = np.unique(np.stack([np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])], 1), axis=0)
        a, b = self._sides(first_file, pairs[:, 0]), self._sides(second_file, pairs[:, 1])
        passed = np.flatnonzero(_scores_pass(a, b, self._p))
        release_memory()
        if passed.size:
            yield self._source, (pairs[passed, 0], pairs[passed, 1], a.lengths[passed], b.lengths[passed],
                                 [a.ids[i] for i in passed], [b.ids[i] for i in passed])


def _clusters(grouped, p: NearParams, source: str, step: str) -> Iterator[tuple]:
    """All verified edges of a source -> connected components -> one DECISION batch per file, STATs.

    The edges arrive as arrays (positions, lengths, ids of both ends); scipy's connected_components
    labels the graph in one pass, so the components are exact."""
    parts = [part for part in grouped[1] if len(part[0])]
    yield stat(source, step, "unconverged_nodes", 0)
    if not parts:
        return
    # Every first end, then every second end: edge k joins node k and node num_edges + k.
    codes = np.concatenate([part[0] for part in parts] + [part[1] for part in parts])
    lengths = np.concatenate([part[2] for part in parts] + [part[3] for part in parts])
    ids = np.array([i for part in parts for i in part[4]] + [i for part in parts for i in part[5]], dtype=object)
    nodes, first_at, index = np.unique(codes, return_index=True, return_inverse=True)
    lengths, ids = lengths[first_at], ids[first_at]
    num_edges = len(codes) // 2
    graph = scipy.sparse.coo_matrix((np.ones(num_edges), (index[:num_edges], index[num_edges:])), shape=(len(nodes),) * 2)
    _, labels = scipy.sparse.csgraph.connected_components(graph, directed=False)
    order = np.lexsort((nodes, labels))  # members of each component together, in position order
    bounds = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1], True])
    num_components = labels.max() + 1
    keeper_of = np.zeros(num_components, dtype=np.int64)
    cluster_ids, keeper_ids, sizes = [""] * num_components, [""] * num_components, np.zeros(num_components, np.int64)
    for start, end in zip(bounds[:-1], bounds[1:]):
        members = order[start:end]
        if p.keep == "longest":
            keeper = min(members, key=lambda m: (-lengths[m], ids[m], nodes[m]))
        else:
            keeper = min(members, key=lambda m: (ids[m], nodes[m]))
        component = labels[members[0]]
        keeper_of[component], sizes[component] = keeper, len(members)
        cluster_ids[component], keeper_ids[component] = min(ids[m] for m in members), ids[keeper]
        yield stat(source, step, "clusters", 1)
        yield stat(source, step, "max_cluster", len(members))
        yield stat(source, step, "documents_removed", len(members) - 1)
    is_keeper = keeper_of[labels] == np.arange(len(nodes))
    files, rows = nodes >> ROW_BITS, nodes & ((1 << ROW_BITS) - 1)
    for file_index in np.unique(files).tolist():
        chosen = np.flatnonzero(files == file_index)
        used, local = np.unique(labels[chosen], return_inverse=True)
        values = _MemberDecisions(local.astype(np.int32), is_keeper[chosen], [cluster_ids[c] for c in used],
                                  [keeper_ids[c] for c in used], sizes[used].tolist())
        yield DECISION, file_index, rows[chosen].tolist(), values


@dataclasses.dataclass(frozen=True)
class _MemberDecisions:
    """One file's clustered documents, compactly: per row its component (an index into the
    per-component lists) and whether it is the keeper. Iterating gives each row's decision
    (cluster id, keeper id, cluster size, is keeper), as `MinHashStep.apply` reads it."""

    components: np.ndarray
    is_keeper: np.ndarray
    cluster_ids: list[str]
    keeper_ids: list[str]
    sizes: list[int]

    def __iter__(self) -> Iterator[tuple[str, str, int, bool]]:
        for c, keeper in zip(self.components.tolist(), self.is_keeper.tolist()):
            yield self.cluster_ids[c], self.keeper_ids[c], self.sizes[c], keeper


class _Decide(beam.PTransform):
    """Per file and bucket (hashes, positions) arrays -> DECISIONs for clustered documents, STATs."""

    def __init__(self, source: str, params: NearParams, step: str, out_dir: str) -> None:
        super().__init__()
        self._source, self._p, self._step, self._out = source, params, step, out_dir

    def expand(self, keyed):
        p, source, step, out = self._p, self._source, self._step, self._out
        edges = (
            keyed
            | "GroupByBucket" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.FlatMap(_bucket_candidates)
            | "GroupByFilePair" >> beam.GroupByKey()
            | "Verify" >> beam.ParDo(_Verify(out, source, step, p))
        )
        # A source with no edge still reports its (empty) components: one record that joins them.
        nothing = keyed.pipeline | "NoEdges" >> beam.Create([(source, (np.zeros(0, np.int64),) * 4 + ([], []))])
        return (
            (edges, nothing)
            | "AllEdges" >> beam.Flatten()
            | "GroupEdges" >> beam.GroupByKey()
            | "Clusters" >> beam.FlatMap(_clusters, p, source, step)
        )


class MinHashStep(KeyedStep):
    """One document per near-duplicate cluster (see the module docstring)."""

    def __init__(self, source: str, params: NearParams, name: str = "near") -> None:
        super().__init__(source)
        self._p, self.name = params, name
        self._hasher = None

    def begin_file(self, out_dir: str, file_index: int) -> None:
        if self._hasher is None:
            self._hasher = MinHasher(self._p.num_perm, self._p.seed, self._p.ngram)
        self._sidecar = AtomicArrowWriter(out_dir, staged_relpath(self.source, file_index, self.name),
                                          _sidecar_schema(self._p), "lz4")
        self._hashes: list[np.ndarray] = []
        self._positions: list[np.ndarray] = []

    def keys(self, docs: list[Document], positions) -> Iterator[tuple[int, Any]]:
        if not docs:
            return iter(())
        p = self._p
        texts = [normalize_for_exact(d.text, "ccnet") if p.normalize else d.text for d in docs]
        signatures = self._hasher.signatures(texts).astype(np.uint32)
        columns = [pa.array([d.id for d in docs], pa.string()), pa.array([len(d.text) for d in docs], pa.int64()),
                   pa.FixedSizeListArray.from_arrays(pa.array(signatures.reshape(-1)), p.num_perm)]
        if p.verify in ("jaccard", "overlap"):
            columns.append(pa.array([sorted(book_shingles(t, p.ngram)) for t in texts], pa.large_list(pa.uint64())))
        self._sidecar.write(pa.record_batch(columns, schema=_sidecar_schema(p)))
        codes = np.array([encode_position(f, r) for f, r in positions], dtype=np.int64)
        hashes = band_hashes(signatures, p.bands, p.rows)  # (n, bands)
        self._hashes.append(hashes.reshape(-1))
        self._positions.append(np.repeat(codes, p.bands))
        return iter(())

    def end_file(self) -> Iterator[tuple[int, Any]]:
        self._sidecar.close()
        if not self._hashes:
            return
        hashes, positions = np.concatenate(self._hashes), np.concatenate(self._positions)
        buckets = (hashes % np.uint64(NUM_BUCKETS)).astype(np.int64)
        for bucket in np.unique(buckets):
            chosen = buckets == bucket
            yield int(bucket), (hashes[chosen], positions[chosen])

    def decide(self, out_dir: str) -> beam.PTransform:
        return _Decide(self.source, self._p, self.name, out_dir)

    def apply(self, doc: Document, decisions: list[Any], stats: dict[str, int]) -> Document | Dropped:
        cluster, keeper, size, is_keeper = decisions[0]
        doc = doc.with_meta(**{f"{self.name}_cluster": cluster, f"{self.name}_cluster_size": size})
        if is_keeper:
            return doc
        doc = doc.with_meta(duplicate_of=keeper)
        return Dropped(doc, self._p.reason, stage_name(self.name), keeper)

    def __getstate__(self):
        return {**self.__dict__, "_hasher": None, "_sidecar": None}  # rebuilt on the worker, never pickled


def dedup_near(source: str, cfg: MinHashConfig) -> MinHashStep:
    return MinHashStep(source, near_params(cfg), "near")


def dedup_books(source: str, cfg: BookDedupConfig) -> MinHashStep:
    return MinHashStep(source, book_params(cfg), "books")
