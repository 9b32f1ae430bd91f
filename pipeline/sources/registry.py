"""The source registry: the one list of sources, and the corpus config built from it.

Each source is one module under pipeline/sources/ that declares a `SPEC` (pipeline.core.stages.
SourceSpec: its config dataclass, input formats, plan, default dedup steps); `SOURCE_NAMES` lists
the modules in the order of LLaMA's Table 1, `SOURCES` maps each name to its SPEC. Config loading,
input discovery, the corpus job, the report and the trainer's mixture read this registry; none of
them names a source. Adding one (CONTRIBUTING.md): write `pipeline/sources/pubmed.py` with its
SPEC and add "pubmed" to SOURCE_NAMES.

From the specs this module builds three config dataclasses on the bases in pipeline/core/config.py:
`CorpusConfig` gets a `<source>` field per source (the `<source>:` block of a preset), `DedupConfig`
the steps each source runs (`dedup.<source>`), `MixtureConfig` each source's sampling weight
(`mixture.<source>`, LLaMA's Table 1 where the paper has the source, else 0).
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.core.config import CorpusConfigBase, DedupConfigBase, MixtureConfigBase, load_config
from pipeline.core.table1 import PAPER_TABLE1

if TYPE_CHECKING:
    from pipeline.core.stages import SourceSpec

# One line per source: its module under pipeline/sources/ (which declares SPEC, named the same),
# in the order of LLaMA's Table 1.
SOURCE_NAMES: tuple[str, ...] = (
    "commoncrawl",
    "c4",
    "github",
    "wikipedia",
    "books",
    "arxiv",
    "stackexchange",
)


def _config_class(name: str, base: type, names: tuple[str, ...], fields: list[tuple[str, Any, Any]]) -> type:
    """A frozen dataclass `name` on `base` with `fields` (name, type, default) added, that pickles by
    reference as pipeline.sources.registry.<name> (Beam pickles the config onto workers)."""
    specs = [(field, tp, dataclasses.field(default=default)) for field, tp, default in fields]
    specs.append(("SOURCES", ClassVar[tuple[str, ...]], names))
    cls = dataclasses.make_dataclass(name, specs, bases=(base,), frozen=True)
    cls.__module__, cls.__qualname__ = __name__, name
    cls.__doc__ = base.__doc__
    return cls


def _mixture_class(names: tuple[str, ...]) -> type:
    return _config_class("MixtureConfig", MixtureConfigBase, names,
                         [(n, float, PAPER_TABLE1.get(n, {}).get("sampling", 0.0)) for n in names])


def config_classes(specs: list[SourceSpec], mixture: type | None = None) -> tuple[type, type, type]:
    """(CorpusConfig, DedupConfig, MixtureConfig) for `specs`, in their order."""
    names = tuple(s.name for s in specs)
    mixture = mixture or _mixture_class(names)
    dedup = _config_class("DedupConfig", DedupConfigBase, names, [(s.name, tuple[str, ...], s.dedup) for s in specs])
    corpus = _config_class("CorpusConfig", CorpusConfigBase, names, [
        ("sources", tuple[str, ...], names),
        *((s.name, s.config, s.config()) for s in specs),
        ("dedup", dedup, dedup()),
        ("mixture", mixture, mixture()),
    ])
    return corpus, dedup, mixture


# The trainer reads only the mixture, which needs only the names: importing this module imports no
# source module (their readers need Beam, KenLM, fastText, resiliparse; a GPU node has torch). The
# specs and the corpus config are built on first use (PEP 562 module __getattr__), once.
MixtureConfig = _mixture_class(SOURCE_NAMES)
_BUILT: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name not in ("SOURCES", "CorpusConfig", "DedupConfig"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _BUILT:
        modules = [importlib.import_module(f"pipeline.sources.{n}") for n in SOURCE_NAMES]
        sources = {m.SPEC.name: m.SPEC for m in modules}
        assert tuple(sources) == SOURCE_NAMES, "each source module's SPEC is named as the module"
        corpus, dedup, _ = config_classes(list(sources.values()), MixtureConfig)
        _BUILT.update(SOURCES=sources, CorpusConfig=corpus, DedupConfig=dedup)
    return _BUILT[name]


def load_corpus_config(preset: str = "sample", overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """The corpus job's CorpusConfig: defaults, the preset or YAML file, then `a.b=value` overrides."""
    return load_config(preset, overrides, __getattr__("CorpusConfig"))
