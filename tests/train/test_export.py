"""export-hf: the folder loads in transformers and gives our logits; the tokenizer gives our ids."""
from __future__ import annotations

import json

import pytest
import torch

from tests.train.test_train import make_dataset, run_args


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from train.train import main

    root = tmp_path_factory.mktemp("export")
    dataset = make_dataset(root)
    assert main(run_args(root / "run", dataset, "steps=3", "checkpoint_every=0")) == 0
    return root / "run", dataset


def test_export_loads_in_transformers_with_matching_logits(trained, tmp_path):
    from transformers import LlamaForCausalLM

    from train.generate import load_model
    from train.train import main

    run, _ = trained
    out = tmp_path / "hf"
    assert main(["export-hf", "--checkpoint", str(run), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"config.json", "model.safetensors", "tokenizer.model",
                                               "tokenizer_config.json", "generation_config.json"}
    assert json.loads((out / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]
    ours, _ = load_model(str(run))
    hf = LlamaForCausalLM.from_pretrained(str(out), torch_dtype=torch.float32).eval()
    tokens = torch.randint(0, ours.cfg.vocab_size, (2, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, _ = ours(tokens)
        got = hf(tokens).logits
    assert (expected - got).abs().max().item() < 1e-4


def test_exported_tokenizer_gives_our_ids(trained, tmp_path):
    import sentencepiece as spm
    from transformers import AutoTokenizer

    from train.export import export_hf

    run, (_, tokenizer) = trained
    out = export_hf(str(run), str(tmp_path / "hf"))
    hf = AutoTokenizer.from_pretrained(out, use_fast=False)
    assert type(hf).__name__ == "LlamaTokenizer"
    text = "The Cat is a red river of 1999.\n    return x + 12"
    assert hf(text)["input_ids"] == [1] + spm.SentencePieceProcessor(model_file=tokenizer).encode(text)
    assert hf.eos_token_id == 2 and hf.pad_token_id == 3


def test_export_refuses_a_folder_with_other_files(trained, tmp_path):
    from train.export import export_hf

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="--out"):
        export_hf(str(trained[0]), str(tmp_path))
