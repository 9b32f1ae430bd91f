"""Near-duplicate removal by MinHash LSH, decided from compact keys (and LLaMA's book rule).

The keys of every stage (band hashes, candidate pairs, verified edges) are numpy arrays spilled to
staged Arrow files beside the documents (`OUT/_staging/<source>/<step>-<kind>/`, storage every
worker reads, written whole or not at all); what crosses a shuffle is a reference to them (a file
index, a bucket, a pair of files), a few per file. The local runner holds every shuffle in memory,
so this keeps the job's memory to one bucket or one pair of files at a time, and the nodes of the
final graph:

  1. Keys, beside each staged file: word n-gram shingles, MinHash signatures (dedup.minhash_core,
     equal to datasketch) per batch of the file's documents. Each document's id, length, row in
     the staged file and signature (and its shingle hashes when verification needs them) go to a
     sidecar Arrow file; its band hashes (64-bit XXH3 of the band's values, seeded by the band
     index) with its sidecar row go to the file's `bands` file, one record batch per bucket
     (hash % 64). A step after another (near after exact) sees only the documents the earlier
     steps kept, so sidecar rows and staged rows differ once one was dropped.
  2. Candidates, per bucket (GroupByKey of file indices): that batch of every file, sorted by band
     hash; documents sharing a hash are candidate pairs, every pair in a small group and a star
     from the smallest position in a large one (`_group_pairs`: at most max(n(n-1)/2, n-1) pairs
     a group), spilled to the bucket's `pairs` file, one record batch per pair of files.
  3. Verification per pair of files (GroupByKey of (bucket, batch) references): the candidate
     pairs between two files, both sides' signatures read from the two sidecars, decided
     (signature Jaccard estimate, true shingle Jaccard, or the book overlap coefficient); the
     verified edges spilled to the pair's `edges` file.
  4. Clusters, once per source: the edge files read a pair of files at a time, each batch merged
     into the components it touches (`_components`: exact connected components; the statistic
     `unconverged_nodes` is always 0). Held: the clustered positions, their labels, then their
     ids, lengths and staged rows as Arrow columns.
  5. One document kept per cluster (the longest, or the smallest id), the others dropped (apply,
     beside the staged documents) with their cluster id and the kept id in metadata.

Nodes are document positions (file, sidecar row), unique even where two input files repeat an id
and ordered as (file, staged row) are; decisions go out by staged row. Cluster ids (the smallest
id in the cluster) and keepers are reported by document id.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import xxhash

from dedup.common import DECISION, NUM_BUCKETS, KeyedStep, stage_name, stat
from dedup.hashing import book_overlap, book_shingles, normalize_for_exact
from dedup.minhash_core import MinHasher, optimal_bands
from pipeline.core.config import BookDedupConfig, MinHashConfig
from pipeline.core.document import Document, Dropped, DropReason
from pipeline.core.shards import AtomicArrowWriter, write_batches_atomic
from pipeline.core.staging import read_batch, read_batches, read_rows, release_memory, spill_relpath, staged_relpath

ROW_BITS = 32  # a position (file, sidecar row) travels as one int64: file << 32 | row


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
    reason: DropReason
    strict: bool = False  # overlap must exceed the threshold ("more than 90%") rather than reach it
    normalize: bool = False  # shingle CCNet-normalized text (case, accents, punctuation, digits)


def near_params(cfg: MinHashConfig) -> NearParams:
    band_threshold = cfg.threshold if cfg.verify == "none" else cfg.candidate_threshold
    bands, rows = (cfg.bands, cfg.rows) if cfg.bands else optimal_bands(band_threshold, cfg.num_perm)
    return NearParams(cfg.ngram, cfg.num_perm, cfg.seed, bands, rows, cfg.verify, cfg.threshold, cfg.keep,
                      DropReason.DUPLICATE_NEAR, normalize=cfg.normalize)


def book_params(cfg: BookDedupConfig) -> NearParams:
    bands, rows = optimal_bands(cfg.candidate_threshold, cfg.num_perm)
    # Editions differ in typography (curly vs straight apostrophes, "oe" for a Latin-1 file's missing
    # "œ"), so books are compared on CCNet-normalized words: Entre Nous in UTF-8 and in Latin-1
    # overlap 0.84 as raw words and 0.998 normalized.
    return NearParams(cfg.ngram, cfg.num_perm, cfg.seed, bands, rows, "overlap", cfg.max_overlap, cfg.keep,
                      DropReason.DUPLICATE_BOOK, strict=True, normalize=True)


# Band groups up to this size yield every pair, larger ones a star from their first member: a
# group of n costs at most max(n(n-1)/2, n-1) pairs, and a star keeps candidates near one per
# document (every pair of a large group would multiply what the verification hops carry).
ALL_PAIRS_UP_TO = 4


def encode_position(file_index: int, row: int) -> int:
    return (file_index << ROW_BITS) | row


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
    fields = [pa.field("id", pa.string()), pa.field("length", pa.int64()), pa.field("row", pa.uint32()),
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


BAND_SCHEMA = pa.schema([pa.field("hash", pa.uint64()), pa.field("row", pa.uint32())])
PAIR_SCHEMA = pa.schema([pa.field("first", pa.int64()), pa.field("second", pa.int64())])


def _pair_batch(first: np.ndarray, second: np.ndarray) -> pa.RecordBatch:
    return pa.record_batch([pa.array(first, pa.int64()), pa.array(second, pa.int64())], schema=PAIR_SCHEMA)


def _pair_arrays(batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
    return batch.column(0).to_numpy(), batch.column(1).to_numpy()


class _Candidates(beam.DoFn):
    """One bucket: the band keys of every file that has some (read from the files' spilled band
    keys) -> candidate pairs, spilled per pair of files; a reference to each goes on."""

    def __init__(self, out_dir: str, source: str, step: str) -> None:
        self._out, self._source, self._step = out_dir, source, step

    def process(self, grouped):
        bucket, file_lists = grouped
        hashes, positions = [], []
        for file_index in sorted({f for files in file_lists for f in files}):
            batch = read_batch(self._out, spill_relpath(self._source, self._step, "bands", f"{file_index:06d}"), bucket)
            hashes.append(batch.column(0).to_numpy())
            positions.append(encode_position(file_index, 0) | batch.column(1).to_numpy().astype(np.int64))
        pairs = _group_pairs(np.concatenate(hashes), np.concatenate(positions))
        if not len(pairs):
            return
        file_pairs = pairs >> ROW_BITS
        pairs = pairs[np.lexsort((file_pairs[:, 1], file_pairs[:, 0]))]  # each pair of files one run
        keys, starts = np.unique(pairs >> ROW_BITS, axis=0, return_index=True)
        bounds = np.r_[starts, len(pairs)]
        writer = AtomicArrowWriter(self._out, spill_relpath(self._source, self._step, "pairs", f"{bucket:06d}"),
                                   PAIR_SCHEMA, None)
        for k, (first_file, second_file) in enumerate(keys.tolist()):
            chosen = pairs[bounds[k]:bounds[k + 1]]
            writer.write(_pair_batch(chosen[:, 0], chosen[:, 1]))
            yield (first_file, second_file), (bucket, k)
        writer.close()
        release_memory()


def _signatures(out_dir: str, source: str, step: str, file_index: int, codes: np.ndarray, p: NearParams
                ) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """The sidecar signatures (and shingles) of `codes` (positions in one file, any order)."""
    unique, inverse = np.unique(codes, return_inverse=True)
    inverse = inverse.reshape(-1)
    relpath = staged_relpath(source, file_index, step)
    fields = ["signature", "shingles"] if p.verify in ("jaccard", "overlap") else ["signature"]
    columns = [_sidecar_schema(p).get_field_index(name) for name in fields]
    table = read_rows(out_dir, relpath, unique & ((1 << ROW_BITS) - 1), columns=columns)
    if table is None or table.num_rows != len(unique):
        raise ValueError(f"{relpath}: {len(unique)} rows asked, {0 if table is None else table.num_rows} found")
    signatures = table.column("signature").combine_chunks().flatten().to_numpy().reshape(len(unique), -1)[inverse]
    shingles = None
    if "shingles" in table.column_names:
        per_row = [np.array(v, dtype=np.uint64) for v in table.column("shingles").to_pylist()]
        shingles = [per_row[i] for i in inverse]
    return signatures, shingles


def _scores_pass(a: tuple, b: tuple, p: NearParams) -> np.ndarray:
    """The verification of candidate pairs (step 3), vectorized where it can be. `a` and `b` are
    (signatures, shingles) of the pairs' two ends."""
    n = len(a[0])
    if p.verify == "none":
        return np.ones(n, dtype=bool)
    if p.verify == "estimate":
        return (a[0] == b[0]).mean(axis=1) >= p.threshold
    passed = np.zeros(n, dtype=bool)
    for i in range(n):
        sa, sb = a[1][i], b[1][i]
        if p.verify == "jaccard":
            common = np.intersect1d(sa, sb, assume_unique=True).size
            union = sa.size + sb.size - common
            passed[i] = union > 0 and common / union >= p.threshold
        else:  # LLaMA's book rule: the overlap coefficient
            score = book_overlap(sa, sb)
            passed[i] = score > p.threshold if p.strict else score >= p.threshold
    return passed


class _Verify(beam.DoFn):
    """The candidate pairs between two files (read from the buckets' spilled pairs): both sides'
    signatures read from the files' sidecars, decided; the verified edges spilled, a reference on."""

    def __init__(self, out_dir: str, source: str, step: str, p: NearParams) -> None:
        self._out, self._source, self._step, self._p = out_dir, source, step, p

    def process(self, grouped):
        (first_file, second_file), refs = grouped
        parts = [_pair_arrays(read_batch(self._out, spill_relpath(self._source, self._step, "pairs", f"{bucket:06d}"),
                                         k))
                 for bucket, k in sorted(refs)]
        pairs = np.unique(np.stack([np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])], 1),
                          axis=0)
        a = _signatures(self._out, self._source, self._step, first_file, pairs[:, 0], self._p)
        b = _signatures(self._out, self._source, self._step, second_file, pairs[:, 1], self._p)
        passed = np.flatnonzero(_scores_pass(a, b, self._p))
        del a, b
        if passed.size:
            name = f"{first_file:06d}-{second_file:06d}"
            write_batches_atomic(self._out, spill_relpath(self._source, self._step, "edges", name), PAIR_SCHEMA,
                                 [_pair_batch(pairs[passed, 0], pairs[passed, 1])], None)
            yield self._source, name
        release_memory()


def _components(edge_batches) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, labels): every position that has an edge, sorted, and its component (the index in
    `nodes` of the component's first member). `edge_batches()` yields (first, second) arrays and
    is called twice; only the nodes and their labels are held, one batch of edges at a time: each
    batch's edges join the components they touch (scipy's connected_components on that small
    graph), so the result is the exact connected components of all edges."""
    import scipy.sparse.csgraph  # here, not at import: every corpus job imports this module

    nodes = np.zeros(0, dtype=np.int64)
    for first, second in edge_batches():
        merged = np.sort(np.concatenate([nodes, first, second]), kind="stable")  # runs: a merge
        nodes = merged[np.r_[True, merged[1:] != merged[:-1]]]  # (np.union1d hashes: 10x slower here)
    labels = np.arange(len(nodes))
    for first, second in edge_batches():
        touched, index = np.unique(labels[np.searchsorted(nodes, np.concatenate([first, second]))], return_inverse=True)
        index = index.reshape(-1)
        m = len(first)
        graph = scipy.sparse.coo_matrix((np.ones(m), (index[:m], index[m:])), shape=(len(touched),) * 2)
        _, component = scipy.sparse.csgraph.connected_components(graph, directed=False)
        _, first_at = np.unique(component, return_index=True)
        root = touched[first_at]  # `touched` is sorted: each merged component's smallest label
        relabel = np.arange(len(nodes))
        relabel[touched] = root[component]
        labels = relabel[labels]  # labels stay roots: every label points at itself
    return nodes, labels


class _Clusters(beam.DoFn):
    """All verified edges of a source (spilled per pair of files) -> connected components -> one
    DECISION batch per file, STATs. Held at once: the clustered positions and their labels, then
    their ids, lengths and staged rows (read from the sidecars) as Arrow columns."""

    def __init__(self, out_dir: str, source: str, step: str, p: NearParams) -> None:
        self._out, self._source, self._step, self._p = out_dir, source, step, p

    def _edges(self, names: list[str]):
        for name in names:
            (batch,) = read_batches(self._out, spill_relpath(self._source, self._step, "edges", name))
            yield _pair_arrays(batch)

    def process(self, grouped):
        source, step = self._source, self._step
        names = sorted(name for name in grouped[1] if name is not None)
        yield stat(source, step, "unconverged_nodes", 0)
        nodes, labels = _components(lambda: self._edges(names))
        if not len(nodes):
            return
        files, rows = nodes >> ROW_BITS, nodes & ((1 << ROW_BITS) - 1)
        ids, lengths, staged_rows = [], [], []
        for file_index in np.unique(files).tolist():
            table = read_rows(self._out, staged_relpath(source, file_index, step), rows[files == file_index],
                              columns=[0, 1, 2])  # id, length, staged row: the signatures stay compressed
            ids.append(table.column("id").combine_chunks())
            lengths.append(table.column("length").to_numpy())
            assert table.num_rows == np.count_nonzero(files == file_index), "sidecar rows missing"
            staged_rows.append(table.column("row").to_numpy())
        rows = np.concatenate(staged_rows)  # `nodes` is sorted, so files come in the order read
        members = pa.table({"label": labels, "length": np.concatenate(lengths), "id": pa.concat_arrays(ids),
                            "node": np.arange(len(nodes))})
        del ids, lengths
        by_id = members.sort_by([("label", "ascending"), ("id", "ascending"), ("node", "ascending")])
        if self._p.keep == "longest":
            ranked = members.sort_by([("label", "ascending"), ("length", "descending"), ("id", "ascending"),
                                      ("node", "ascending")])
        else:
            ranked = by_id
        # Both orders list each component's members together, components in label order.
        sorted_labels = ranked.column("label").to_numpy()
        firsts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
        sizes = np.diff(np.r_[firsts, len(sorted_labels)])
        keeper_nodes = ranked.column("node").to_numpy()[firsts]
        keeper_ids = ranked.column("id").take(pa.array(firsts))
        cluster_ids = by_id.column("id").take(pa.array(firsts))
        del members, by_id, ranked
        component = np.searchsorted(sorted_labels[firsts], labels)  # each node's component, 0..C-1
        yield stat(source, step, "clusters", len(firsts))
        yield stat(source, step, "max_cluster", sizes.max())
        yield stat(source, step, "documents_removed", len(nodes) - len(firsts))
        is_keeper = np.zeros(len(nodes), dtype=bool)
        is_keeper[keeper_nodes] = True
        for file_index in np.unique(files).tolist():
            chosen = np.flatnonzero(files == file_index)
            used, local = np.unique(component[chosen], return_inverse=True)
            index = pa.array(used)
            values = _MemberDecisions(local.reshape(-1).astype(np.int32), is_keeper[chosen],
                                      cluster_ids.take(index).to_pylist(), keeper_ids.take(index).to_pylist(),
                                      sizes[used].tolist())
            yield DECISION, file_index, rows[chosen].tolist(), values
        release_memory()


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
        for c, keeper in zip(self.components.tolist(), self.is_keeper.tolist(), strict=False):
            yield self.cluster_ids[c], self.keeper_ids[c], self.sizes[c], keeper


class _Decide(beam.PTransform):
    """(bucket, [file index, ...]) per file and bucket -> DECISIONs for clustered documents, STATs."""

    def __init__(self, source: str, params: NearParams, step: str, out_dir: str) -> None:
        super().__init__()
        self._source, self._p, self._step, self._out = source, params, step, out_dir

    def expand(self, keyed):
        p, source, step, out = self._p, self._source, self._step, self._out
        edges = (
            keyed
            | "GroupByBucket" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.ParDo(_Candidates(out, source, step))
            | "GroupByFilePair" >> beam.GroupByKey()
            | "Verify" >> beam.ParDo(_Verify(out, source, step, p))
        )
        # A source with no edge still reports its (empty) components: one record that joins them.
        nothing = keyed.pipeline | "NoEdges" >> beam.Create([(source, None)])
        return (
            (edges, nothing)
            | "AllEdges" >> beam.Flatten()
            | "GroupEdges" >> beam.GroupByKey()
            | "Clusters" >> beam.ParDo(_Clusters(out, source, step, p))
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
        self._out, self._file = out_dir, file_index
        self._hashes: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._num_rows = 0  # rows in the sidecar so far

    def keys(self, docs: list[Document], positions) -> Iterator[tuple[int, Any]]:
        if not docs:
            return iter(())
        p = self._p
        texts = [normalize_for_exact(d.text, "ccnet") if p.normalize else d.text for d in docs]
        signatures = self._hasher.signatures(texts).astype(np.uint32)
        columns = [pa.array([d.id for d in docs], pa.string()), pa.array([len(d.text) for d in docs], pa.int64()),
                   pa.array([r for _, r in positions], pa.uint32()),
                   pa.FixedSizeListArray.from_arrays(pa.array(signatures.reshape(-1)), p.num_perm)]
        if p.verify in ("jaccard", "overlap"):
            columns.append(pa.array([sorted(book_shingles(t, p.ngram)) for t in texts], pa.large_list(pa.uint64())))
        self._sidecar.write(pa.record_batch(columns, schema=_sidecar_schema(p)))
        hashes = band_hashes(signatures, p.bands, p.rows)  # (n, bands)
        self._hashes.append(hashes.reshape(-1))
        sidecar_rows = np.arange(self._num_rows, self._num_rows + len(docs), dtype=np.uint32)
        self._num_rows += len(docs)
        self._rows.append(np.repeat(sidecar_rows, p.bands))
        return iter(())

    def end_file(self) -> Iterator[tuple[int, Any]]:
        self._sidecar.close()
        if not self._hashes:
            return
        hashes, rows = np.concatenate(self._hashes), np.concatenate(self._rows)
        self._hashes, self._rows = [], []
        buckets = (hashes % np.uint64(NUM_BUCKETS)).astype(np.int64)
        order = np.argsort(buckets, kind="stable")
        bounds = np.searchsorted(buckets[order], np.arange(NUM_BUCKETS + 1))
        writer = AtomicArrowWriter(self._out, spill_relpath(self.source, self.name, "bands", f"{self._file:06d}"),
                                   BAND_SCHEMA, None)
        for bucket in range(NUM_BUCKETS):  # batch b holds bucket b, so a bucket's keys are one read
            chosen = order[bounds[bucket]:bounds[bucket + 1]]
            writer.write(pa.record_batch([pa.array(hashes[chosen]), pa.array(rows[chosen])], schema=BAND_SCHEMA))
        writer.close()
        for bucket in np.flatnonzero(np.diff(bounds)).tolist():
            yield bucket, self._file

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
