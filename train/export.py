"""`corral export-hf`: a checkpoint as a transformers LlamaForCausalLM folder.

Writes config.json (LlamaConfig from train.model.hf_config_dict), model.safetensors (the weights
under HF names, train.model.hf_state_dict: our RoPE layout is HF's, so no permutation),
tokenizer.model with tokenizer_config.json and special_tokens_map.json for
`LlamaTokenizer(legacy=True)`, and generation_config.json. Then
`LlamaForCausalLM.from_pretrained(out)` and `LlamaTokenizer.from_pretrained(out)` load it.
"""
from __future__ import annotations

import json
import os
import shutil

from safetensors.torch import save_file

from train.checkpoint import load_model_weights, read_state, resolve_checkpoint
from train.generate import tokenizer_path

_FILES = ("config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
          "special_tokens_map.json", "generation_config.json")
# LLaMA's fixed ids, as `make tokenize` trains them (pipeline.core.config.TokenizerConfig).
_SPECIAL = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}
_IDS = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3}


def _check_out(out: str) -> None:
    if os.path.isdir(out) and set(os.listdir(out)) - set(_FILES):
        raise ValueError(f"{out} exists and holds other files than an export's; choose an empty or new --out")


def export_hf(checkpoint: str, out: str) -> str:
    """Write the export of `checkpoint` (a checkpoint folder or a run's out_dir) into `out`; returns out."""
    from transformers import GenerationConfig, LlamaConfig

    from train.model import ModelConfig, hf_config_dict, hf_state_dict

    path = resolve_checkpoint(checkpoint)
    _check_out(out)
    cfg = ModelConfig(**read_state(path)["model_config"])
    os.makedirs(out, exist_ok=True)
    config = LlamaConfig(**hf_config_dict(cfg), **_IDS, architectures=["LlamaForCausalLM"], torch_dtype="float32")
    config.save_pretrained(out)
    weights = {name: t.contiguous() for name, t in hf_state_dict(load_model_weights(path)).items()}
    save_file(weights, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    shutil.copyfile(tokenizer_path(path), os.path.join(out, "tokenizer.model"))
    tokenizer_config = {"tokenizer_class": "LlamaTokenizer", "legacy": True, "add_bos_token": True,
                        "add_eos_token": False, "model_max_length": cfg.max_seq_len,
                        "clean_up_tokenization_spaces": False, **_SPECIAL}
    _write_json(os.path.join(out, "tokenizer_config.json"), tokenizer_config)
    _write_json(os.path.join(out, "special_tokens_map.json"), _SPECIAL)
    GenerationConfig(**_IDS, do_sample=True, temperature=0.8, top_k=50, max_length=cfg.max_seq_len).save_pretrained(out)
    return out


def _write_json(path: str, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
