"""make tokenize: the BPE tokenizer's properties, the encode job, and the memory-mapped reader."""
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import sentencepiece as spm

from pipeline.cli import main
from train.data import TokenShards


def _texts(corpus: Path) -> list[str]:
    return [r["text"] for p in sorted(corpus.glob("*/part-*.arrow"))
            for r in pa.ipc.open_file(str(p)).read_all().to_pylist()]


def _tokenize(corpus: Path, work: Path, vocab: int, *extra: str) -> tuple[Path, Path]:
    tok, tokens = work / "tokenizer", work / "tokens"
    sets = ["--set", f"tokenizer.dir={tok}", "--set", f"tokenizer.vocab_size={vocab}", "--set", f"tokens.dir={tokens}"]
    assert main(["tokenize", "--corpus", str(corpus), *sets, *extra]) == 0
    return tok, tokens


@pytest.fixture(scope="module")
def sample_tokens(sample_corpus, tmp_path_factory):
    corpus = tmp_path_factory.mktemp("tok") / "corpus"
    shutil.copytree(sample_corpus, corpus)  # the job writes token counts into the corpus stats
    tok, tokens = _tokenize(corpus, corpus.parent, 800)
    return corpus, tok, tokens


@pytest.fixture(scope="module")
def shared_tokens(shared_corpus, tmp_path_factory):
    corpus = tmp_path_factory.mktemp("tok-shared") / "corpus"
    shutil.copytree(shared_corpus, corpus)
    return (corpus, *_tokenize(corpus, corpus.parent, 4000))


@pytest.mark.parametrize("which", ["sample_tokens", "shared_tokens"])
def test_decode_encode_round_trips_every_document(which, request):
    corpus, tok, _ = request.getfixturevalue(which)
    sp = spm.SentencePieceProcessor(model_file=str(tok / "tokenizer.model"))
    texts = _texts(corpus)
    assert texts
    for text in texts:
        assert sp.decode(sp.encode(text)) == text


def test_digits_split_and_bytes_fall_back(sample_tokens):
    _, tok, _ = sample_tokens
    sp = spm.SentencePieceProcessor(model_file=str(tok / "tokenizer.model"))
    pieces = sp.encode("in 1984 and 2024", out_type=str)
    assert [p for p in pieces if any(c.isdigit() for c in p)] == ["1", "9", "8", "4", "2", "0", "2", "4"]
    rare = "🦜 ꙮ 𓀀"
    ids = sp.encode(rare)
    assert sp.unk_id() not in ids and any(sp.is_byte(i) for i in ids) and sp.decode(ids) == rare
    card = json.loads((tok / "card.json").read_text())
    assert card["special_ids"] == {"unk": 0, "bos": 1, "eos": 2, "pad": 3}
    assert card["vocabulary"]["byte_pieces"] == 256


def test_llama_tokenizer_gives_the_same_ids(sample_tokens):
    transformers = pytest.importorskip("transformers")
    corpus, tok, _ = sample_tokens
    llama = transformers.LlamaTokenizer(str(tok / "tokenizer.model"), legacy=True, add_bos_token=False)
    sp = spm.SentencePieceProcessor(model_file=str(tok / "tokenizer.model"))
    for text in _texts(corpus) + ["Numbers 31415 and ünïcödé 漢字 🦜\n  spaced  out  "]:
        assert llama.encode(text, add_special_tokens=False) == sp.encode(text)


def test_training_is_deterministic(sample_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(sample_corpus, corpus)  # the job writes token counts into the corpus stats, which test_stats reads
    a = _tokenize(corpus, tmp_path / "a", 600, "--output", str(tmp_path / "a" / "t"))[0]
    b = _tokenize(corpus, tmp_path / "b", 600, "--output", str(tmp_path / "b" / "t"))[0]
    assert (a / "tokenizer.model").read_bytes() == (b / "tokenizer.model").read_bytes()


def test_token_shards_match_the_corpus_and_counts_are_merged(sample_tokens):
    corpus, tok, tokens = sample_tokens
    sp = spm.SentencePieceProcessor(model_file=str(tok / "tokenizer.model"))
    manifest = json.loads((corpus / "manifest.json").read_text())
    for entry in manifest["shards"]:
        docs = pa.ipc.open_file(str(corpus / entry["path"])).read_all()
        encoded = pa.ipc.open_file(str(tokens / entry["path"])).read_all()
        assert encoded.column("id").to_pylist() == docs.column("id").to_pylist()
        assert encoded.schema.field("tokens").type == pa.large_list(pa.uint16())
        assert encoded.column("tokens").to_pylist() == [sp.encode(t) for t in docs.column("text").to_pylist()]
    stats = json.loads((tokens / "stats.json").read_text())["sources"]
    corpus_stats = json.loads((corpus / "stats.json").read_text())["sources"]
    for source, s in stats.items():
        assert corpus_stats[source]["tokens"] == s and s["documents"] == corpus_stats[source]["kept"]


def test_encode_is_byte_identical_with_two_workers(sample_tokens, tmp_path):
    corpus, tok, tokens = sample_tokens
    other = tmp_path / "tokens"
    flags = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    sets = ["--set", f"tokenizer.dir={tok}", "--set", f"tokens.dir={other}"]
    assert main(["tokenize", "--corpus", str(corpus), *sets, *flags]) == 0
    for path in sorted(tokens.rglob("part-*.arrow")):
        assert (other / path.relative_to(tokens)).read_bytes() == path.read_bytes()


def test_token_shards_are_memory_mapped_without_copies(sample_tokens):
    corpus, tok, tokens = sample_tokens
    shards = TokenShards(str(tokens))
    sp = spm.SentencePieceProcessor(model_file=str(tok / "tokenizer.model"))
    for source, views in shards.shards.items():
        for view in views:
            if len(view.tokens):
                assert not view.tokens.flags.owndata and not view.tokens.flags.writeable  # a view of the mapping
        first = next(shards.documents(source))
        texts = pa.ipc.open_file(str(corpus / views[0].path.split(str(tokens) + "/")[1])).read_all().column("text")
        if len(texts):
            assert list(first) == sp.encode(texts[0].as_py())
    assert shards.num_tokens("c4") == json.loads((tokens / "stats.json").read_text())["sources"]["c4"]["tokens"]


def test_missing_corpus_is_one_line(tmp_path):
    assert main(["tokenize", "--corpus", str(tmp_path / "none")]) == 2


# sample_texts: the training sample, streamed batch by batch

def _shard(path: Path, ids: list[str], texts: list[str], batch_rows: int) -> str:
    from pipeline.core.document import ARROW_SCHEMA

    n = len(ids)
    table = pa.table({"id": ids, "source": ["c4"] * n, "text": texts, "url": [None] * n, "created": [None] * n,
                      "lang": ["en"] * n, "lang_score": [None] * n, "metadata": ["{}"] * n, "perplexity": [None] * n,
                      "ppl_bucket": [None] * n, "wiki_ref_prob": [None] * n}, schema=ARROW_SCHEMA)
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, ARROW_SCHEMA, options=options) as writer:
        writer.write_table(table, max_chunksize=batch_rows)
    return str(path)


def _oracle(docs: list[tuple[str, str]], budget: int) -> list[str]:
    """The definition on the whole list: documents in xxh64(id) order while fewer than `budget`
    characters were taken before."""
    import xxhash

    taken, used = [], 0
    for _, text in sorted(docs, key=lambda d: xxhash.xxh64_intdigest(d[0].encode("utf-8"))):
        if used >= budget:
            break
        taken.append(text)
        used += len(text)
    return taken


@pytest.mark.parametrize("merge_min", [1, 5, 1 << 16])
def test_sample_texts_is_the_hash_order_prefix_whatever_the_shard_layout(tmp_path, monkeypatch, merge_min):
    from pipeline.jobs.tokenizer import _HashPrefix, sample_texts

    monkeypatch.setattr(_HashPrefix, "MERGE_MIN", merge_min)

    docs = [(f"doc-{i}", f"text {i} " + "ü" * (i * 13 % 41)) for i in range(400)]
    layouts = {"one": [docs], "four": [docs[i::4] for i in range(4)], "uneven": [docs[:7], docs[7:300], docs[300:]]}
    for name, parts in layouts.items():
        shards = [_shard(tmp_path / f"{name}-{k}.arrow", [d[0] for d in part], [d[1] for d in part], batch_rows=16)
                  for k, part in enumerate(parts)]
        for budget in (0, 1, 500, 4000, 10**9):
            assert list(sample_texts(shards, budget)) == _oracle(docs, budget), (name, budget)


def test_encode_spans_bound_the_characters_per_call():
    from pipeline.jobs.tokenize_job import _spans

    assert _spans(np.array([3, 3, 3, 3]), 6) == [(0, 2), (2, 4)]
    assert _spans(np.array([10, 1, 1, 9]), 6) == [(0, 1), (1, 3), (3, 4)]  # a longer text goes alone
    assert _spans(np.array([0, 0, 5]), 5) == [(0, 3)]
    assert _spans(np.array([], dtype=np.int64), 5) == []
