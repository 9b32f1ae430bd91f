"""`make models`, language-model part: CCNet's per-language SentencePiece + 5-gram KenLM, trained on
the corpus job's own Wikipedia output (Wenzek et al. 2020, section 3.3; LLaMA, Touvron et al.
2023, section 2, filters CommonCrawl with it).

For one language, as cc_net's Makefile does (`%.sp.model`, `%.arpa`, `%.arpa.bin`):

1. every line of every document is normalized as cc_net's text_normalizer.normalize does
   (pipeline.core.text.normalize_line); blank lines are left out;
2. a unigram SentencePiece model is trained on those lines, or on a deterministic sample of them
   drawn by streaming when they exceed SP_MAX_SENTENCES lines or SP_SAMPLE_CHARS characters
   (_sample_lines; the trainer holds its input in memory): CCNet's 65,536 pieces
   (`models.sp_vocab_size`), character coverage 0.9995. The vocabulary is a soft limit, CCNet's own
   fallback for a corpus too small for the full size: SentencePiece then keeps every piece its
   seeds support, so the model has min(sp_vocab_size, what the input supports) pieces, one
   deterministic training, no retry loop (the size is in the returned summary);
3. the lines, encoded into pieces, train `lmplz -o <kenlm_order> --discount_fallback`, whose ARPA
   `build_binary` turns into `<lang>.lm.binary`;
4. every document is scored by filters.perplexity.PerplexityScorer, exactly as the CommonCrawl
   filter scores a page, and the `models.ppl_percentiles` percentiles (30th and 60th) of the
   held-out documents (every HELDOUT_EVERY-th, left out of steps 2-3) are recorded in the
   manifest as a description of the model. They are not the bucket cut-offs: the corpus job
   cuts at the same percentiles of the perplexities of the CommonCrawl pages of the language, as
   CCNet's cutoff.csv did (English 340 and 520 there): web text scores far above Wikipedia, so
   Wikipedia cut-offs would put nearly every page in the tail (filters/ccnet.py).

Every step streams through files in a temporary folder inside `out_dir` (documents, lines, pieces,
ARPA): memory holds one document's text at a time, 8 bytes a document for the perplexities, the
SentencePiece sample, lmplz's sort memory (`-S`) and the n-gram model that build_binary and the
scorer load (it grows with the training text). Outputs are renamed into place when complete.
No Beam imports: this runs as plain Python in `make models`.
"""
from __future__ import annotations

import array
import io
import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import sentencepiece

from filters.perplexity import PerplexityScorer
from pipeline.core.config import ModelsConfig
from pipeline.core.shards import read_shard_batches, shard_paths
from pipeline.core.text import normalize_line

# SentencePiece trains on a sample of the training lines (paragraphs) drawn by streaming
# (_sample_lines): at most SP_MAX_SENTENCES lines and about SP_SAMPLE_CHARS characters. CCNet
# trained on the openings of 1M Wikipedia articles; the unigram trainer's memory grows with its
# input, about 23 bytes a character here (measured: 305 MB peak on 11.6M characters of English
# Wikipedia), so the sample bounds it near 0.7 GB however large the dump.
SP_MAX_SENTENCES = 1_000_000
SP_SAMPLE_CHARS = 30_000_000
SAMPLE_CHUNK_LINES = 1 << 18  # lines whose lengths are read at a time while sampling
# Lines longer than this many bytes are skipped by SentencePiece's trainer (its default, 4192,
# would skip many whole Wikipedia paragraphs); KenLM still trains on them.
SP_MAX_SENTENCE_BYTES = 1 << 14
SP_CHARACTER_COVERAGE = 0.9995  # cc_net's Makefile
SP_SEED = 1  # the sample of lines, when they exceed SP_MAX_SENTENCES or SP_SAMPLE_CHARS
ENCODE_BATCH_LINES = 10_000
# Every HELDOUT_EVERY-th document is left out of training and only scored: the cut-offs are its
# percentiles. An unpruned 5-gram nearly memorizes its training text (on 84 English articles:
# median perplexity 7.5 on them, ~600 on held-out articles), so cut-offs taken on the training
# documents would put all unseen text, Wikipedia's own included, in the tail.
HELDOUT_EVERY = 10
STDERR_TAIL_CHARS = 2000


def find_kenlm_binaries() -> tuple[str, str]:
    """Paths of KenLM's `lmplz` and `build_binary`: the virtualenv's bin first, then PATH."""
    found = []
    for name in ("lmplz", "build_binary"):
        candidate = Path(sys.prefix) / "bin" / name
        path = str(candidate) if os.access(candidate, os.X_OK) else shutil.which(name)
        if path is None:
            raise ValueError(
                f"KenLM's {name} is in neither {Path(sys.prefix) / 'bin'} nor PATH: run `make setup` "
                "(scripts/build_kenlm.sh builds lmplz and build_binary)"
            )
        found.append(path)
    return found[0], found[1]


def wikipedia_texts(corpus_dir: str, lang: str) -> Iterator[str]:
    """The texts of the kept Wikipedia documents of `lang` in `<corpus_dir>/wikipedia/part-*` (Arrow or Parquet),
    shard by shard in file-name order and in row order inside a shard (the corpus job writes the
    same shards for the same input, so the order is deterministic), streamed one record batch at a
    time. Checked eagerly: a ValueError comes at the call, not at the first `next()`, when the
    folder or the language's documents are missing."""
    shards = shard_paths(corpus_dir, "wikipedia")
    if not any(_has_lang(path, lang) for path in shards):
        raise ValueError(
            f"no {lang!r} Wikipedia documents in {Path(corpus_dir, 'wikipedia')}/part-*: run the "
            "corpus job on an input with Wikipedia dumps of that language first (or set models.wikipedia_corpus)"
        )
    return _lang_texts(shards, lang)


def _has_lang(path: str, lang: str) -> bool:
    """Whether a shard holds a document of `lang`; reads the lang column alone and stops at the
    first record batch that does."""
    return any(pc.any(pc.equal(batch.column("lang"), lang)).as_py() for batch in read_shard_batches(path, ["lang"]))


def _lang_texts(shards: list[str], lang: str) -> Iterator[str]:
    """One record batch in memory at a time, however large the shards."""
    for path in shards:
        for batch in read_shard_batches(path, ["text", "lang"]):
            mask = pc.fill_null(pc.equal(batch.column("lang"), lang), False)
            yield from batch.filter(mask).column("text").to_pylist()


def train_language_model(lang: str, texts: Iterable[str], out_dir: Path, cfg: ModelsConfig,
                         lmplz: str, build_binary: str, heldout_every: int = HELDOUT_EVERY) -> dict[str, Any]:
    """Train `<out_dir>/<lang>.sp.model` and `<out_dir>/<lang>.lm.binary` on `texts` and return a
    summary with the perplexity cut-offs (see the module docstring for both). Documents with no
    non-blank line are skipped and not counted; none left is a ValueError. `heldout_every=0` takes
    the cut-offs from the training documents themselves."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{lang}.train-", dir=out_dir))
    try:
        num_docs, num_chars = _write_docs(texts, work / "docs.jsonl")
        if num_docs == 0:
            raise ValueError(f"no {lang!r} text to train a language model on: every document is empty")
        step = _heldout_step(num_docs, heldout_every)
        _write_training_lines(work / "docs.jsonl", work / "lines.txt", step)
        sp_vocab_size = _train_sentencepiece(work / "lines.txt", work / "sp.model", cfg.sp_vocab_size, lang)
        _train_kenlm(work, cfg.kenlm_order, lmplz, build_binary)
        train_ppl, heldout_ppl = _score_documents(work, step)
        sp_path, lm_path = out_dir / f"{lang}.sp.model", out_dir / f"{lang}.lm.binary"
        os.replace(work / "sp.model", sp_path)
        os.replace(work / "lm.binary", lm_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cutoffs = [float(x) for x in np.percentile(heldout_ppl or train_ppl, cfg.ppl_percentiles)]
    return {
        "lang": lang, "sp_model": str(sp_path), "lm": str(lm_path), "sp_vocab_size": sp_vocab_size,
        "num_docs": num_docs, "num_chars": num_chars, "num_heldout_docs": len(heldout_ppl),
        "ppl_percentiles": {str(float(p)): x for p, x in zip(cfg.ppl_percentiles, cutoffs, strict=True)},
        "cutoffs": cutoffs, "cutoffs_from": "heldout" if heldout_ppl else "train",
        "train_ppl_median": float(np.median(train_ppl)),
        "heldout_ppl_median": float(np.median(heldout_ppl)) if heldout_ppl else None,
    }


def _heldout_step(num_docs: int, heldout_every: int) -> int:
    """Every `step`-th document is held out; 0: none. A corpus smaller than `heldout_every` still
    holds out one document when it has two."""
    if heldout_every <= 0 or num_docs < 2:
        return 0
    return min(heldout_every, num_docs)


def _is_heldout(index: int, step: int) -> bool:
    return step > 0 and index % step == step - 1


def _write_docs(texts: Iterable[str], docs_path: Path) -> tuple[int, int]:
    """One pass over `texts` (it may be a one-shot iterator): each scorable document as a JSON
    [text, normalized non-blank lines] per line, so it can be read back, split and scored."""
    num_docs = num_chars = 0
    with open(docs_path, "w", encoding="utf-8", newline="\n") as docs:
        for text in texts:
            normalized = [line for line in map(normalize_line, text.split("\n")) if line]
            if not normalized:
                continue
            docs.write(json.dumps([text, "\n".join(normalized)], ensure_ascii=False) + "\n")
            num_docs += 1
            num_chars += len(text)
    return num_docs, num_chars


def _read_docs(path: Path) -> Iterator[tuple[str, str]]:
    # newline="\n" (here and for every temporary file): no translation, so a line read back is
    # the line written, and only "\n" ends a line, as for SentencePiece's and KenLM's readers.
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            text, normalized = json.loads(line)
            yield text, normalized


def _write_training_lines(docs_path: Path, lines_path: Path, step: int) -> None:
    with open(lines_path, "w", encoding="utf-8", newline="\n") as lines:
        for index, (_, normalized) in enumerate(_read_docs(docs_path)):
            if not _is_heldout(index, step):
                lines.write(normalized + "\n")


def _score_documents(work: Path, step: int) -> tuple[array.array, array.array]:
    """The perplexity of each document, exactly as the CommonCrawl filter computes it; (training
    documents, held-out documents), streamed from docs.jsonl. Only the values are kept, as packed
    doubles (8 bytes a document: the percentiles need them all)."""
    scorer = PerplexityScorer(str(work / "sp.model"), str(work / "lm.binary"))
    train, heldout = array.array("d"), array.array("d")
    for index, (text, _) in enumerate(_read_docs(work / "docs.jsonl")):
        (heldout if _is_heldout(index, step) else train).append(scorer.perplexity(text))
    return train, heldout


def _train_kenlm(work: Path, order: int, lmplz: str, build_binary: str) -> None:
    """cc_net Makefile `%.arpa` and `%.arpa.bin`: lmplz on the pieces, then KenLM's binary format.
    --discount_fallback: small corpora otherwise abort with BadDiscountException; --skip_symbols: a
    literal "<s>", "</s>" or "<unk>" piece in the text is whitespace, not a fatal error."""
    _encode_lines(work / "sp.model", work / "lines.txt", work / "pieces.txt")
    _run([lmplz, "-o", str(order), "--discount_fallback", "--skip_symbols", "-S", "20%", "-T", str(work)],
         stdin=work / "pieces.txt", stdout=work / "lm.arpa")
    _run([build_binary, str(work / "lm.arpa"), str(work / "lm.binary")])


def _train_sentencepiece(lines_path: Path, model_path: Path, vocab_size: int, lang: str) -> int:
    """CCNet's unigram SentencePiece (cc_net Makefile `%.sp.model`); returns its number of pieces.

    Fed from an iterator and written through `model_writer`: given a file, SentencePiece records
    the input and output paths (here in a temporary folder) in the model, and two trainings on the
    same text would differ in those bytes."""
    # The sample is ours and seeded; SentencePiece's own reservoir (input_sentence_size) never
    # fills, as the sample has at most SP_MAX_SENTENCES lines. Its seed is set all the same.
    sentencepiece.set_random_generator_seed(SP_SEED)
    model = io.BytesIO()
    picked = _sample_lines(lines_path, SP_MAX_SENTENCES, SP_SAMPLE_CHARS, SP_SEED)
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=_picked_lines(lines_path, picked), model_writer=model,
            model_type="unigram", vocab_size=vocab_size, hard_vocab_limit=False,
            character_coverage=SP_CHARACTER_COVERAGE, input_sentence_size=SP_MAX_SENTENCES,
            shuffle_input_sentence=True, max_sentence_length=SP_MAX_SENTENCE_BYTES,
            num_threads=os.cpu_count() or 1, minloglevel=2,
        )
    except RuntimeError as err:
        # In practice: a vocabulary smaller than the alphabet the input needs.
        raise ValueError(f"SentencePiece training for {lang!r} failed with models.sp_vocab_size="
                         f"{vocab_size}: {err}") from err
    model_path.write_bytes(model.getvalue())
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue()).get_piece_size()


def _sample_lines(lines_path: Path, max_lines: int, max_chars: int, seed: int) -> np.ndarray:
    """Ascending indexes of a deterministic random sample of the lines SentencePiece can train on.

    Each line gets a priority, splitmix64 of (seed, line index); lines are taken in priority order
    while fewer than `max_chars` characters were taken before, up to `max_lines` lines: every line
    when all fit, so a small input trains on all of it. Lines over SP_MAX_SENTENCE_BYTES (which
    SentencePiece skips) are never taken. One pass reads the file in chunks and keeps only the
    priorities, sizes and indexes of lines that can still be in the sample, never the lines."""
    keys, sizes, picked = np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64)
    if max_lines <= 0 or max_chars <= 0:
        return picked
    full = False  # the sample is complete: a later line enters only with a smaller priority
    start = 0
    with open(lines_path, encoding="utf-8", newline="\n") as lines:
        while True:
            lengths = np.fromiter(map(_trainable_chars, itertools.islice(lines, SAMPLE_CHUNK_LINES)), np.int64)
            if not len(lengths):
                break
            indexes = np.arange(start, start + len(lengths), dtype=np.int64)
            start += len(lengths)
            priorities = _splitmix64(indexes, seed)
            take = (lengths >= 0) & (priorities < keys[-1] if full else True)
            keys = np.concatenate([keys, priorities[take]])
            sizes = np.concatenate([sizes, lengths[take]])
            picked = np.concatenate([picked, indexes[take]])
            order = np.argsort(keys, kind="stable")[:max_lines]  # priorities are distinct
            chars_before = np.cumsum(sizes[order]) - sizes[order]
            keep = order[chars_before < max_chars]
            full = len(keep) == max_lines or int(sizes[keep].sum()) >= max_chars
            keys, sizes, picked = keys[keep], sizes[keep], picked[keep]
    return np.sort(picked)


def _trainable_chars(line: str) -> int:
    """Characters of a line of lines.txt without its newline; -1 when SentencePiece would skip it."""
    chars = len(line) - 1
    if chars * 4 <= SP_MAX_SENTENCE_BYTES:  # UTF-8 takes at most 4 bytes a character
        return chars
    return chars if chars <= SP_MAX_SENTENCE_BYTES and len(line.encode("utf-8")) - 1 <= SP_MAX_SENTENCE_BYTES else -1


def _splitmix64(indexes: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64's output for each index (a bijection of uint64: distinct indexes, distinct values)."""
    with np.errstate(over="ignore"):
        z = (indexes.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _picked_lines(lines_path: Path, picked: np.ndarray) -> Iterator[str]:
    """The lines at the ascending indexes `picked`, without their newline, in file order."""
    wanted = iter(picked.tolist())
    next_index = next(wanted, -1)
    with open(lines_path, encoding="utf-8", newline="\n") as lines:
        for index, line in enumerate(lines):
            if index == next_index:
                yield line[:-1]
                next_index = next(wanted, -1)


def _encode_lines(sp_model: Path, lines_path: Path, pieces_path: Path) -> None:
    """The KenLM training corpus: each normalized line as SentencePiece pieces joined by spaces
    (cc_net's `spm_encode --output_format=piece`), encoded in batches."""
    sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_model))
    with open(lines_path, encoding="utf-8", newline="\n") as src, \
            open(pieces_path, "w", encoding="utf-8", newline="\n") as dst:
        batch: list[str] = []
        for line in src:
            batch.append(line[:-1])
            if len(batch) == ENCODE_BATCH_LINES:
                dst.writelines(" ".join(p) + "\n" for p in sp.encode(batch, out_type=str))
                batch = []
        dst.writelines(" ".join(p) + "\n" for p in sp.encode(batch, out_type=str))


def _run(cmd: list[str], stdin: Path | None = None, stdout: Path | None = None) -> None:
    """Run a KenLM program; a failure is a RuntimeError naming the command and its stderr tail."""
    with open(stdin or os.devnull, "rb") as fin, open(stdout or os.devnull, "wb") as fout:
        try:
            proc = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE, check=False)
        except OSError as err:
            raise RuntimeError(f"could not run {shlex.join(cmd)}: {err}") from err
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", errors="replace")[-STDERR_TAIL_CHARS:]
        raise RuntimeError(f"{shlex.join(cmd)} failed with exit code {proc.returncode}:\n{tail}")
