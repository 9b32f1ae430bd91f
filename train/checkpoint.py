"""Atomic, exactly resumable checkpoints: `<out_dir>/checkpoints/step-00000100/`.

A checkpoint folder holds
  model.safetensors   the full (unsharded) weights under our parameter names
  optimizer.pt        the full AdamW state, keyed by parameter name; tensors, numbers and strings only
  rng.pt              per rank: torch CPU and CUDA generator states (tensors)
  state.json          step, sampler cursors, config, model config, per-rank python/numpy RNG states
  tokenizer.model     a copy, so generate and export-hf need nothing but the folder

Everything is written under `.tmp-step-...` and renamed when complete, so a killed run never
leaves a half checkpoint under a final name; the newest K are kept. Loading never unpickles:
safetensors, `torch.load(weights_only=True)` and JSON only.

Sharded models (FSDP): torch.distributed.checkpoint's get_state_dict / set_state_dict with
full_state_dict=True gather the shards to CPU and scatter them back, so every parallel mode
writes the same format and a run can resume under another mode or world size (the sampler state
is global). The cost is one full copy in CPU memory per rank: fine to ~13B on a node; beyond
that, DCP's sharded save (dcp.save of the same state dicts) is the way, at the price of this
single-file format.
"""
from __future__ import annotations

import json
import os
import random
import shutil

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

CHECKPOINTS = "checkpoints"
_PREFIX = "step-"


def step_dir(out_dir: str, step: int) -> str:
    return os.path.join(out_dir, CHECKPOINTS, f"{_PREFIX}{step:08d}")


def list_checkpoints(out_dir: str) -> list[str]:
    """Complete checkpoints of a run, oldest first (temporary folders are hidden and skipped)."""
    root = os.path.join(out_dir, CHECKPOINTS)
    if not os.path.isdir(root):
        return []
    names = sorted(n for n in os.listdir(root) if n.startswith(_PREFIX) and n[len(_PREFIX):].isdigit())
    return [os.path.join(root, n) for n in names]


def resolve_checkpoint(path: str) -> str:
    """A checkpoint folder, or a run's out_dir (its newest checkpoint)."""
    if os.path.isfile(os.path.join(path, "state.json")):
        return path
    found = list_checkpoints(path)
    if not found:
        raise ValueError(f"{path} is neither a checkpoint folder nor a run folder with checkpoints; "
                         "give --checkpoint <out_dir> or <out_dir>/checkpoints/step-N of a `corral pretrain` run")
    return found[-1]


def _rng_state() -> tuple[dict, dict]:
    """(JSON part, tensor part) of every generator this process uses."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    plain = {"python": [version, list(internal), gauss], "numpy": [kind, keys.tolist(), pos, has_gauss, cached]}
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["cuda"] = torch.cuda.get_rng_state()
    return plain, tensors


def _set_rng_state(plain: dict, tensors: dict) -> None:
    version, internal, gauss = plain["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])


def _gather(obj, dist) -> list:
    """Every rank's obj on rank 0 (in-process collective; nothing here is read back from disk)."""
    if dist.world == 1:
        return [obj]
    import torch.distributed as tdist

    out = [None] * dist.world if dist.rank == 0 else None
    tdist.gather_object(obj, out, dst=0)
    return out


def _unshare(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory; copy only those (none for untied LLaMA)."""
    seen, out = set(), {}
    for name, tensor in state.items():
        tensor = tensor.detach().to("cpu").contiguous()
        ptr = tensor.untyped_storage().data_ptr()
        out[name] = tensor.clone() if ptr in seen else tensor
        seen.add(ptr)
    return out


def save_checkpoint(out_dir: str, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    meta: dict, dist, keep: int, tokenizer_path: str | None = None) -> str | None:
    """Write checkpoint `step` (all ranks call; rank 0 writes) and keep the newest `keep`; returns its folder."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state, optim_state = get_state_dict(model, optimizer, options=options)
    rng = _gather(_rng_state(), dist)
    if dist.rank != 0:
        return None
    final = step_dir(out_dir, step)
    tmp = os.path.join(os.path.dirname(final), "." + os.path.basename(final) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # a leftover of a run killed while writing
    os.makedirs(tmp)
    save_file(_unshare(model_state), os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    torch.save(optim_state, os.path.join(tmp, "optimizer.pt"))
    torch.save([tensors for _, tensors in rng], os.path.join(tmp, "rng.pt"))
    state = {**meta, "step": step, "world_size": dist.world, "rng": [plain for plain, _ in rng]}
    with open(os.path.join(tmp, "state.json"), "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    if tokenizer_path and os.path.isfile(tokenizer_path):
        shutil.copyfile(tokenizer_path, os.path.join(tmp, "tokenizer.model"))
    _fsync_tree(tmp)
    if os.path.isdir(final):  # the same step again (a rerun from an earlier checkpoint): replace it
        shutil.rmtree(final)
    os.rename(tmp, final)
    for old in list_checkpoints(out_dir)[:-keep]:
        shutil.rmtree(old)
    return final


def _fsync_tree(folder: str) -> None:
    """Flush the files before the rename, so the rename never publishes a folder of empty files."""
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_state(path: str) -> dict:
    with open(os.path.join(path, "state.json"), encoding="utf-8") as f:
        return json.load(f)


def load_model_weights(path: str) -> dict[str, torch.Tensor]:
    return load_file(os.path.join(path, "model.safetensors"))


def load_checkpoint(path: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer, dist) -> dict:
    """Restore model, optimizer and this rank's RNGs from `path` (every rank calls); returns state.json."""
    state = read_state(path)
    optim_state = torch.load(os.path.join(path, "optimizer.pt"), map_location="cpu", weights_only=True)
    set_state_dict(model, optimizer, model_state_dict=load_model_weights(path), optim_state_dict=optim_state,
                   options=StateDictOptions(full_state_dict=True))
    rng = torch.load(os.path.join(path, "rng.pt"), map_location="cpu", weights_only=True)
    if state["world_size"] == dist.world:  # another world size: ranks differ, keep the fresh seeds
        _set_rng_state(state["rng"][dist.rank], rng[dist.rank])
    return state
