"""The mixture sampler: proportions, packing with EOS, determinism, held-out split, epochs, resume, ranks."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.sources.registry import MixtureConfig
from train.data import TokenShards, write_token_shards
from train.sampler import EOS_ID, MixtureSampler, mix64, mix64_array, permute

# Each source's ids live in their own range, so a window's source can be read off its tokens.
RANGES = {"commoncrawl": 1000, "c4": 2000, "wikipedia": 3000}


def _docs(source: str, n: int, rng: np.random.Generator) -> list[list[int]]:
    return [list(RANGES[source] + rng.integers(0, 900, size=int(rng.integers(0, 40)))) for _ in range(n)]


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> TokenShards:
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("tokens")
    write_token_shards(str(root), {s: _docs(s, 60, rng) for s in RANGES}, num_shards=3)
    return TokenShards(str(root))


def _unique_doc_shards(root, n: int = 50) -> TokenShards:
    """One source whose document i is made only of token 10 + i: a token names its document."""
    rng = np.random.default_rng(1)
    write_token_shards(str(root), {"c4": [[10 + i] * int(rng.integers(1, 30)) for i in range(n)]})
    return TokenShards(str(root))


def _source(window: np.ndarray) -> str:
    ids = window[window != EOS_ID]
    return next(s for s, lo in RANGES.items() if lo <= ids[0] < lo + 1000)


def test_proportions_follow_the_mixture_renormalized_over_present_sources(shards):
    sampler = MixtureSampler(shards, MixtureConfig().weights(), seq_len=8, seed=3)
    total = 0.67 + 0.15 + 0.045
    assert sampler.proportions == pytest.approx({"commoncrawl": 0.67 / total, "c4": 0.15 / total,
                                                 "wikipedia": 0.045 / total})
    windows = sampler.next_windows(20000)
    counts = {s: 0 for s in RANGES}
    for w in windows:
        counts[_source(w)] += 1
    for s, p in sampler.proportions.items():
        assert abs(counts[s] / 20000 - p) < 0.012, (s, counts[s] / 20000, p)


def test_zero_weight_source_is_unused_and_none_left_is_an_error(shards):
    sampler = MixtureSampler(shards, {"c4": 1.0, "wikipedia": 0.0}, seq_len=8)
    assert list(sampler.proportions) == ["c4"] and sorted(sampler.unused) == ["commoncrawl", "wikipedia"]
    assert all(_source(w) == "c4" for w in sampler.next_windows(50))
    with pytest.raises(ValueError, match="mixture"):
        MixtureSampler(shards, {"books": 1.0}, seq_len=8)


def test_packing_one_epoch_is_every_training_document_followed_by_eos(tmp_path):
    shards = _unique_doc_shards(tmp_path)
    sampler = MixtureSampler(shards, {"c4": 1.0}, seq_len=16, seed=5)
    source = sampler.sources[0]
    windows = sampler.next_windows(source.train_tokens // 16 + 1)
    assert np.array_equal(windows[:-1, -1], windows[1:, 0])  # the last target is the next first input
    stream = np.concatenate([windows[0]] + [w[1:] for w in windows[1:]])[:source.train_tokens]
    docs = [d for d in np.split(stream, np.flatnonzero(stream == EOS_ID) + 1) if len(d)]
    assert all(d[-1] == EOS_ID for d in docs)
    expected = {int(source.document(i)[0]): len(source.document(i)) for i in range(source.num_docs)}
    assert {int(d[0]): len(d) - 1 for d in docs} == expected  # each document once, whole, in a shuffled order
    assert [int(d[0]) for d in docs] != sorted(int(d[0]) for d in docs)


def test_epochs_are_tokens_consumed_over_tokens_available(tmp_path):
    shards = _unique_doc_shards(tmp_path)
    sampler = MixtureSampler(shards, {"c4": 1.0}, seq_len=16, heldout_fraction=0.2)
    source = sampler.sources[0]
    available = sum(len(source.document(i)) + 1 for i in range(source.num_docs) if not source.is_heldout(i))
    assert source.train_tokens == available
    sampler.next_windows(100)
    assert sampler.epochs()["c4"] == pytest.approx(100 * 16 / available)
    assert sampler.table()[0]["epochs"] > 1  # several epochs: the permutation changes per epoch and wraps


def test_heldout_documents_never_reach_training_and_do_not_depend_on_the_seed(tmp_path):
    shards = _unique_doc_shards(tmp_path, n=200)
    a = MixtureSampler(shards, {"c4": 1.0}, seq_len=16, seed=1, heldout_fraction=0.2)
    b = MixtureSampler(shards, {"c4": 1.0}, seq_len=16, seed=2, heldout_fraction=0.2)
    source = a.sources[0]
    heldout = {int(source.document(i)[0]) for i in range(200) if source.is_heldout(i)}
    assert heldout == {int(source.document(i)[0]) for i in range(200) if b.sources[0].is_heldout(i)}
    assert 20 < len(heldout) < 60 and a.sources[0].heldout_docs == len(heldout)
    training = set(np.unique(a.next_windows(400))) - {EOS_ID}
    assert training.isdisjoint(heldout) and len(training) == 200 - len(heldout)
    evaluation = set(np.unique(a.heldout_windows(30))) - {EOS_ID}
    assert evaluation and evaluation <= heldout
    assert np.array_equal(a.heldout_windows(30), b.heldout_windows(30))


def test_deterministic_for_a_seed(shards):
    def draw(seed):
        return MixtureSampler(shards, MixtureConfig().weights(), seq_len=32, seed=seed).next_windows(64)

    assert np.array_equal(draw(1), draw(1))
    assert not np.array_equal(draw(1), draw(2))


def test_state_dict_resumes_with_exactly_the_same_next_batch(shards):
    weights = MixtureConfig().weights()
    sampler = MixtureSampler(shards, weights, seq_len=32, seed=4, heldout_fraction=0.1)
    for _ in range(7):
        sampler.next_windows(16)
    state = json.loads(json.dumps(sampler.state_dict()))  # what a checkpoint stores
    expected = sampler.next_windows(16)
    resumed = MixtureSampler(shards, weights, seq_len=32, seed=4, heldout_fraction=0.1)
    resumed.load_state_dict(state)
    assert np.array_equal(resumed.next_windows(16), expected)
    assert resumed.epochs() == sampler.epochs()
    with pytest.raises(ValueError, match="seq_len"):
        MixtureSampler(shards, weights, seq_len=16, seed=4, heldout_fraction=0.1).load_state_dict(state)


def test_ranks_draw_disjoint_slices_whose_union_is_the_global_batch(shards):
    weights = MixtureConfig().weights()
    whole = MixtureSampler(shards, weights, seq_len=16, seed=9)
    ranks = [MixtureSampler(shards, weights, seq_len=16, seed=9) for _ in range(2)]
    for _ in range(5):
        expected = whole.next_windows(8)
        parts = [ranks[r].next_windows(8, 4 * r, 4 * (r + 1)) for r in range(2)]
        assert np.array_equal(np.concatenate(parts), expected)
    assert ranks[0].state_dict() == ranks[1].state_dict() == whole.state_dict()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 64, 1000, 4097])
def test_permute_is_a_bijection(n):
    assert sorted(permute(i, n, key=12345) for i in range(n)) == list(range(n))


def test_vectorised_hash_matches_the_scalar_one():
    xs = [0, 1, 2**63, 2**64 - 1, 123456789]
    assert mix64_array(np.array(xs, dtype=np.uint64)).tolist() == [mix64(x) for x in xs]
