"""The pretrain command end to end on small synthetic token shards (tiny preset, CPU, float32)."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from train.config import TrainConfig, load_train_config

SOURCES = ("c4", "wikipedia", "github")


def _text(rng: random.Random, source: str) -> str:
    """Documents with a little structure per source, so a tiny model's loss has somewhere to go."""
    nouns, verbs, adjs = ["cat", "river", "house", "tree", "bird"], ["sees", "likes", "follows"], ["red", "small",
                                                                                                   "old"]
    if source == "github":
        return "\n".join(f"def f{rng.randrange(100)}(x):\n    return x + {rng.randrange(1000)}"
                         for _ in range(rng.randint(2, 8)))
    if source == "wikipedia":
        return " ".join(f"The {rng.choice(nouns).title()} is a {rng.choice(adjs)} {rng.choice(nouns)} of "
                        f"{rng.randrange(1900, 2024)}."
                        for _ in range(rng.randint(2, 10)))
    return " ".join(f"the {rng.choice(adjs)} {rng.choice(nouns)} {rng.choice(verbs)} the {rng.choice(nouns)}."
                    for _ in range(rng.randint(2, 12)))


def make_dataset(root: Path, docs_per_source: int = 40, vocab_size: int = 400) -> tuple[str, str]:
    """A SentencePiece tokenizer (the project's settings) and token shards of three sources; (tokens_dir, model)."""
    import io

    import sentencepiece as spm

    from pipeline.core.config import TokenizerConfig
    from pipeline.jobs.tokenizer import _trainer_options
    from train.data import write_token_shards

    rng = random.Random(7)
    texts = {s: [_text(rng, s) for _ in range(docs_per_source)] for s in SOURCES}
    model = io.BytesIO()
    lines = (line for s in SOURCES for t in texts[s] for line in t.split("\n"))
    spm.SentencePieceTrainer.train(sentence_iterator=lines, model_writer=model,
                                   **_trainer_options(TokenizerConfig(vocab_size=vocab_size)))
    (root / "tokenizer").mkdir(parents=True, exist_ok=True)
    tokenizer = root / "tokenizer" / "tokenizer.model"
    tokenizer.write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer))
    write_token_shards(str(root / "tokens"), {s: sp.encode(texts[s]) for s in SOURCES})
    return str(root / "tokens"), str(tokenizer)


def run_args(out: Path, dataset: tuple[str, str], *overrides: str) -> list[str]:
    """`pretrain` arguments for a tiny, fast run; later overrides win."""
    tokens, tokenizer = dataset
    base = [f"tokens_dir={tokens}", f"tokenizer_path={tokenizer}", f"out_dir={out}", "seq_len=32", "micro_batch=4",
            "batch_tokens=256", "steps=30", "eval_every=10", "eval_batches=2", "heldout_fraction=0.1",
            "checkpoint_every=10", "keep_checkpoints=2", "peak_flops=1.0e+11", "log_every=10", "threads=1"]
    args = ["pretrain", "--config", "pretrain_sample"]
    for item in base + list(overrides):
        args += ["--set", item]
    return args


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[str, str]:
    return make_dataset(tmp_path_factory.mktemp("train-data"))


def test_pretrain_writes_metrics_checkpoints_and_plot(tmp_path, dataset, capsys):
    from train.metrics import read_metrics
    from train.train import main

    out = tmp_path / "run"
    assert main(run_args(out, dataset)) == 0
    records = read_metrics(str(out / "metrics.jsonl"))
    assert [r["step"] for r in records] == list(range(1, 31))
    for key in ("loss", "lr", "grad_norm", "tokens_per_sec", "mfu", "tokens_seen", "epochs"):
        assert key in records[0]
    assert records[-1]["tokens_seen"] == 30 * 256
    assert set(records[-1]["epochs"]) == set(SOURCES) and all(e > 0 for e in records[-1]["epochs"].values())
    assert [r["step"] for r in records if "eval_loss" in r] == [10, 20, 30]
    first, last = sum(r["loss"] for r in records[:5]) / 5, sum(r["loss"] for r in records[-5:]) / 5
    assert last < first - 1.0, (first, last)
    assert records[-1]["eval_loss"] < records[0]["loss"]
    assert sorted(os.listdir(out / "checkpoints")) == ["step-00000020", "step-00000030"]  # keep_checkpoints=2
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "config.json").read_text())["model"] == "tiny"
    printed = capsys.readouterr().out
    assert "epochs" in printed and "step 30/30" in printed

    # Done already: a rerun resumes at step 30 and has nothing to do.
    assert main(run_args(out, dataset)) == 0
    assert len(read_metrics(str(out / "metrics.jsonl"))) == 30

    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(out), "--prompt", "the small", "--max-new-tokens", "12"]) == 0
    assert capsys.readouterr().out.startswith("the small")


def test_missing_token_shards_is_one_line_naming_make_tokenize(tmp_path, dataset, capsys):
    from train.train import main

    assert main(run_args(tmp_path, dataset, f"tokens_dir={tmp_path / 'none'}")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make tokenize" in err
    assert main(run_args(tmp_path, dataset, f"tokenizer_path={tmp_path / 'none.model'}")) == 2
    assert "make tokenize" in capsys.readouterr().err


def test_attention_setting_on_the_cpu(tmp_path, dataset, capsys):
    """attention=math trains (the CPU has flash and math); a CUDA-only kernel is a one-line error
    before any step, with nothing written."""
    from train.train import main

    assert main(run_args(tmp_path / "math", dataset, "steps=2", "attention=math")) == 0
    assert "attention: math kernels only" in capsys.readouterr().out
    assert main(run_args(tmp_path / "cudnn", dataset, "steps=2", "attention=cudnn")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CUDA only" in err and not (tmp_path / "cudnn").exists()


def test_resuming_with_another_model_is_refused(tmp_path, dataset, capsys):
    from train.train import main

    assert main(run_args(tmp_path, dataset, "steps=2", "checkpoint_every=1")) == 0
    assert main(run_args(tmp_path, dataset, "steps=3", "seq_len=16")) == 2
    assert "--fresh" in capsys.readouterr().err
    assert main(run_args(tmp_path, dataset, "steps=3", "seq_len=16") + ["--fresh"]) == 0


def test_config_presets_overrides_and_errors():
    cfg = load_train_config("pretrain_sample", ["steps=7", "mixture.c4=0.5"])
    assert (cfg.model, cfg.steps, cfg.mixture.c4) == ("tiny", 7, 0.5)
    for preset in ("pretrain_1b", "pretrain_7b", "pretrain_65b"):
        big = load_train_config(preset)
        assert big.seq_len == 2048 and big.grad_accum(8) >= 1
    assert load_train_config("pretrain_7b").lr == 3e-4 and load_train_config("pretrain_65b").lr == 1.5e-4
    assert TrainConfig(model="7b").lr == 3e-4 and TrainConfig(model="65b").lr == 1.5e-4
    assert TrainConfig(model="tiny").lr == 1e-3 and TrainConfig(model="tiny", peak_lr=5e-4).lr == 5e-4
    with pytest.raises(ValueError, match="valid keys: .*micro_batch"):
        load_train_config("pretrain_sample", ["micro_batchez=3"])
    with pytest.raises(ValueError, match="parallel"):
        TrainConfig(parallel="tp")
    cfg = TrainConfig(seq_len=128, micro_batch=4, batch_tokens=4096)
    assert cfg.grad_accum(1) == 8 and cfg.grad_accum(2) == 4 and cfg.global_windows(2) == 32
    with pytest.raises(ValueError, match="batch_tokens"):
        cfg.grad_accum(3)
    assert TrainConfig(seq_len=128, micro_batch=4).grad_accum(2) == 1


def test_loss_curve_png_without_matplotlib(tmp_path):
    import struct
    import zlib

    from train.metrics import _plot_png

    data = _plot_png([(1, 5.0), (2, 4.0), (3, 3.5)], [(3, 3.7)])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    raw = zlib.decompress(data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8])
    assert len(raw) == height * (1 + 3 * width)
    assert b"\x1f\x77\xb4" in raw and b"\xd6\x27\x28" in raw  # the train and eval colours were drawn
