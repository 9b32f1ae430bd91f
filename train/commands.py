"""The trainer's subcommands (pretrain, generate, export-hf): their arguments and how each runs.

Torch-free at import: `corral` adds these parsers to its one parser tree (pipeline/cli.py) without
loading torch, and runs a command with train.train.run; `python -m train.train` (torchrun's entry)
builds the same parsers on its own.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

COMMANDS = ("pretrain", "generate", "export-hf")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="train a LLaMA preset on the token shards by the mixture")
    p.add_argument("--config", default="pretrain_sample",
                   help="preset in configs/ (pretrain_sample, pretrain_1b, ...) or a YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="key=value",
                   help="override a config key")
    p.add_argument("--fresh", action="store_true",
                   help="start at step 0 even if out_dir holds checkpoints (they are removed)")
    g = sub.add_parser("generate", help="sample text from a checkpoint")
    g.add_argument("--checkpoint", required=True, help="a run's out_dir (newest checkpoint) or a checkpoint folder")
    g.add_argument("--prompt", default="", help="text to continue")
    g.add_argument("--max-new-tokens", type=int, default=100)
    g.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    g.add_argument("--top-k", type=int, default=50, help="0 = the whole vocabulary")
    g.add_argument("--seed", type=int, default=1)
    e = sub.add_parser("export-hf", help="write a checkpoint as a transformers LlamaForCausalLM folder")
    e.add_argument("--checkpoint", required=True, help="a run's out_dir (newest checkpoint) or a checkpoint folder")
    e.add_argument("--out", required=True, help="the folder to write (config.json, model.safetensors, tokenizer)")


def exit_code(command: Callable[[], int | None]) -> int:
    """Run a command of `corral` or `python -m train.train`: its own exit code (0 when it returns
    None); a ValueError, the user's to fix, is one line `corral: error: ...` on stderr and 2."""
    try:
        return command() or 0
    except ValueError as exc:
        print(f"corral: error: {exc}", file=sys.stderr)
        return 2
