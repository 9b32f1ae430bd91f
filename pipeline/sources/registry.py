"""The source registry: the one list of sources, and the corpus config built from it.

Each source is one module under pipeline/sources/ that declares a `SPEC` (pipeline.core.stages.
SourceSpec: its config dataclass, input formats, plan, default dedup steps); `SOURCES` lists them in
the order of LLaMA's Table 1. Config loading, input discovery, the corpus job, the report and the
trainer's mixture read this registry; none of them names a source. Adding one (CONTRIBUTING.md):
write `pipeline/sources/pubmed.py` with its SPEC and add it below.

From the specs this module builds three config dataclasses on the bases in pipeline/core/config.py:
`CorpusConfig` gets a `<source>` field per source (the `<source>:` block of a preset), `DedupConfig`
the steps each source runs (`dedup.<source>`), `MixtureConfig` each source's sampling weight
(`mixture.<source>`, LLaMA's Table 1 where the paper has the source, else 0).
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from pipeline.core.config import CorpusConfigBase, DedupConfigBase, MixtureConfigBase, load_config
from pipeline.core.stages import SourceSpec
from pipeline.core.table1 import PAPER_TABLE1
from pipeline.sources import arxiv, books, c4, commoncrawl, github, stackexchange, wikipedia

SOURCES: dict[str, SourceSpec] = {spec.name: spec for spec in (
    commoncrawl.SPEC,
    c4.SPEC,
    github.SPEC,
    wikipedia.SPEC,
    books.SPEC,
    arxiv.SPEC,
    stackexchange.SPEC,
)}
SOURCE_NAMES: tuple[str, ...] = tuple(SOURCES)


def _config_class(name: str, base: type, names: tuple[str, ...], fields: list[tuple[str, Any, Any]]) -> type:
    """A frozen dataclass `name` on `base` with `fields` (name, type, default) added, that pickles by
    reference as pipeline.sources.registry.<name> (Beam pickles the config onto workers)."""
    specs = [(field, tp, dataclasses.field(default=default)) for field, tp, default in fields]
    specs.append(("SOURCES", ClassVar[tuple[str, ...]], names))
    cls = dataclasses.make_dataclass(name, specs, bases=(base,), frozen=True)
    cls.__module__, cls.__qualname__ = __name__, name
    cls.__doc__ = base.__doc__
    return cls


def config_classes(specs: list[SourceSpec]) -> tuple[type, type, type]:
    """(CorpusConfig, DedupConfig, MixtureConfig) for `specs`, in their order."""
    names = tuple(s.name for s in specs)
    dedup = _config_class("DedupConfig", DedupConfigBase, names, [(s.name, tuple[str, ...], s.dedup) for s in specs])
    mixture = _config_class("MixtureConfig", MixtureConfigBase, names,
                            [(s.name, float, PAPER_TABLE1.get(s.name, {}).get("sampling", 0.0)) for s in specs])
    corpus = _config_class("CorpusConfig", CorpusConfigBase, names, [
        ("sources", tuple[str, ...], names),
        *((s.name, s.config, s.config()) for s in specs),
        ("dedup", dedup, dedup()),
        ("mixture", mixture, mixture()),
    ])
    return corpus, dedup, mixture


CorpusConfig, DedupConfig, MixtureConfig = config_classes(list(SOURCES.values()))


def load_corpus_config(preset: str = "sample", overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """The corpus job's CorpusConfig: defaults, the preset or YAML file, then `a.b=value` overrides."""
    return load_config(preset, overrides, CorpusConfig)
