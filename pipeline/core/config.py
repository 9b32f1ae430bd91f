"""The corpus job's config: frozen, typed dataclasses; YAML presets; `--set a.b=value` overrides.

The dataclass defaults are the paper's recipe. A preset in configs/ (sample.yaml, llama.yaml) or a
user's YAML file overrides some of them; `--set` overrides come last. Unknown keys and wrong types
are a ValueError that says what is valid.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
SHARD_FORMATS = ("arrow", "parquet")  # shards.format: Arrow IPC files or Parquet files (pipeline/core/shards.py)


@dataclasses.dataclass(frozen=True)
class ShardsConfig:
    num_shards: int = 8  # kept shards per source: equal, contiguous slices of its documents in input order
    num_dropped_shards: int = 1  # per source, under <out>/dropped/<source>/
    write_dropped: bool = True  # at scale, turn off and keep only the counts
    batch_rows: int = 1000  # rows per Arrow record batch (Parquet: row group) inside a shard
    format: str = "arrow"  # arrow (Arrow IPC, zstd) or parquet (zstd): part-*.arrow or part-*.parquet


@dataclasses.dataclass(frozen=True)
class ModelsConfig:
    """`make models`: what the CommonCrawl filters load, trained by the project under `dir`."""

    dir: str = "out/models"
    wikipedia_corpus: str = ""  # corpus output holding wikipedia shards; "" = this run's output
    lm_languages: tuple[str, ...] = ("en",)  # a SentencePiece + KenLM model per language
    sp_vocab_size: int = 65536  # CCNet's per-language SentencePiece size
    kenlm_order: int = 5
    ppl_percentiles: tuple[float, ...] = (30.0, 60.0)  # head | middle | tail boundaries
    # Fewer CommonCrawl pages cited by Wikipedia than this: `make models` stops, unless
    # ref_wikipedia_positives lets Wikipedia article text fill the positives (the sample preset).
    ref_min_positives: int = 1000
    ref_wikipedia_positives: bool = False
    ref_max_files: int = 200  # CommonCrawl files read (in name order) for positives and negatives
    ref_max_examples: int = 200_000  # per class
    ref_epochs: int = 5
    ref_seed: int = 1


@dataclasses.dataclass(frozen=True)
class MixtureConfigBase:
    """Sampling proportions by source (renormalized over the sources present). The registry
    (pipeline/sources/registry.py) adds one field per source, LLaMA's Table 1 by default."""

    SOURCES: ClassVar[tuple[str, ...]] = ()

    def weights(self) -> dict[str, float]:
        return {source: getattr(self, source) for source in self.SOURCES}


@dataclasses.dataclass(frozen=True)
class TokenizerConfig:
    """LLaMA section 2: SentencePiece BPE, numbers split into digits, byte fallback; 32,000 pieces."""

    dir: str = "out/tokenizer"
    vocab_size: int = 32000
    sample_chars: int = 200_000_000  # training text drawn from the corpus by the mixture
    character_coverage: float = 0.99995
    seed: int = 1
    max_sentence_length: int = 16384  # longer training lines are split, not skipped
    # Fixed ids (LLaMA's): <unk> 0, <s> 1, </s> 2; and a <pad> at 3, which LLaMA lacked.
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    pad_id: int = 3


@dataclasses.dataclass(frozen=True)
class TokensConfig:
    """`make tokenize`'s encode job: corpus shards -> memory-mappable token shards."""

    dir: str = "out/tokens"
    batch_docs: int = 256  # documents per SentencePiece encode call


@dataclasses.dataclass(frozen=True)
class HoldoutConfig:
    """Evaluation documents kept out of training (`corral ablate`, pipeline/jobs/heldout.py): the job
    drops them as `held_out` right after reading, before any cleaning, filter or dedup step."""

    ids_file: str = ""  # heldout.json of the held-out pass: ids per source and text hashes; "" = none


DEDUP_STEPS = ("exact", "lines", "near", "books", "spans")
EXACT_NORMALIZATIONS = ("none", "whitespace", "lower", "ccnet")


@dataclasses.dataclass(frozen=True)
class ExactDedupConfig:
    """One document per hash of its normalized text; the smallest id is kept."""

    normalization: str = "whitespace"  # none | whitespace | lower | ccnet


@dataclasses.dataclass(frozen=True)
class LineDedupConfig:
    """CCNet's paragraph dedup: drop every line whose hash occurs in another document of the scope."""

    scope: str = "all"  # all (whole source) | dump (metadata "dump") | file (metadata "file")
    min_chars: int = 300  # shorter documents after dedup are dropped (CCNet's min length)


@dataclasses.dataclass(frozen=True)
class MinHashConfig:
    """Near-duplicates: MinHash LSH candidates, verified, clustered, one document kept per cluster."""

    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    threshold: float = 0.8  # Jaccard of word n-gram sets
    # LSH banding is tuned for this lower threshold when candidates are verified: at 0.65 (16 bands
    # x 8 rows) a pair at Jaccard 0.8 is a candidate with p = 0.95 and at 0.85 with p = 0.99, where
    # bands tuned for 0.8 itself (9 x 13) find only 40% and 69%; verification removes the extra.
    candidate_threshold: float = 0.65
    bands: int = 0  # 0: datasketch's optimal parameters for the (candidate) threshold
    rows: int = 0
    verify: str = "estimate"  # none | estimate (signature Jaccard) | jaccard (true shingle Jaccard)
    keep: str = "longest"  # longest | smallest_id
    normalize: bool = False  # shingle CCNet-normalized text (lower case, no accents or punctuation)


@dataclasses.dataclass(frozen=True)
class BookDedupConfig:
    """LLaMA: "we remove books with more than 90% content overlap" (MinHash candidates, verified)."""

    max_overlap: float = 0.9  # a pair with overlap coefficient above this is one book
    # LSH threshold for candidates. Low, because a book contained in a longer one has a small
    # Jaccard (half a book: 0.5) but overlap near 1: at 0.3 (37 bands x 3 rows) a pair at Jaccard
    # 0.5 is a candidate with p = 0.99, at 0.4 with p = 0.91. Verification removes the rest.
    candidate_threshold: float = 0.3
    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    keep: str = "longest"


@dataclasses.dataclass(frozen=True)
class SpanDedupConfig:
    """C4 section 2.2: all but one of any three-sentence span occurring more than once are removed."""

    span: int = 3
    min_chars: int = 1  # shorter documents after removal are dropped


@dataclasses.dataclass(frozen=True)
class DedupConfigBase:
    """Each dedup step's settings. The registry adds one field per source: the steps it runs, in
    order (`dedup.<source>: [exact, near]`), its source module's default."""

    SOURCES: ClassVar[tuple[str, ...]] = ()
    exact: ExactDedupConfig = ExactDedupConfig()
    lines: LineDedupConfig = LineDedupConfig()
    near: MinHashConfig = MinHashConfig()
    books_rule: BookDedupConfig = BookDedupConfig()
    spans: SpanDedupConfig = SpanDedupConfig()

    def steps(self, source: str) -> tuple[str, ...]:
        return getattr(self, source)

    def __post_init__(self) -> None:
        for source in self.SOURCES:
            unknown = [s for s in self.steps(source) if s not in DEDUP_STEPS]
            if unknown:
                raise ValueError(f"dedup.{source}: unknown step(s) {unknown}; steps: {', '.join(DEDUP_STEPS)}")
        _one_of("dedup.exact.normalization", self.exact.normalization, EXACT_NORMALIZATIONS)
        _one_of("dedup.lines.scope", self.lines.scope, ("all", "dump", "file"))
        _one_of("dedup.near.verify", self.near.verify, ("none", "estimate", "jaccard"))
        _one_of("dedup.near.keep", self.near.keep, ("longest", "smallest_id"))
        _one_of("dedup.books_rule.keep", self.books_rule.keep, ("longest", "smallest_id"))
        if (self.near.bands == 0) != (self.near.rows == 0) or self.near.bands * self.near.rows > self.near.num_perm:
            raise ValueError("dedup.near.bands and rows: set both (bands * rows <= num_perm) or neither")


def _one_of(key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{key}: {value!r} is not one of {', '.join(valid)}")


@dataclasses.dataclass(frozen=True)
class CorpusConfigBase:
    """The corpus job's settings that no source owns. The registry (pipeline/sources/registry.py)
    builds `CorpusConfig` from it: a `<source>` field per source (its module's config dataclass),
    and `sources`, `dedup` and `mixture` with every source in them."""

    SOURCES: ClassVar[tuple[str, ...]] = ()
    input: str = "data/sample"
    output: str = "out/corpus"
    sources: tuple[str, ...] = ()
    shards: ShardsConfig = ShardsConfig()
    models: ModelsConfig = ModelsConfig()
    dedup: DedupConfigBase = DedupConfigBase()
    mixture: MixtureConfigBase = MixtureConfigBase()
    tokenizer: TokenizerConfig = TokenizerConfig()
    tokens: TokensConfig = TokensConfig()
    holdout: HoldoutConfig = HoldoutConfig()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.sources) - set(self.SOURCES))
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}; valid sources: {', '.join(self.SOURCES)}")
        for name in ("num_shards", "num_dropped_shards", "batch_rows"):
            if getattr(self.shards, name) < 1:
                raise ValueError(f"shards.{name} must be at least 1")
        _one_of("shards.format", self.shards.format, SHARD_FORMATS)
        pct = self.models.ppl_percentiles
        if len(pct) != 2 or not 0 <= pct[0] <= pct[1] <= 100:
            raise ValueError(f"models.ppl_percentiles {list(pct)}: give two increasing percentiles in [0, 100]")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check (and gently convert) one value against its annotated type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        assert len(inner) == 1, f"unsupported config type {tp}"
        return _coerce(value, inner[0], key)
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key}: expected a list, got {value!r}")
        return tuple(_coerce(v, args[0], key) for v in value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected a mapping of {', '.join(_field_names(tp))}, got {value!r}")
        return _from_dict(tp, value, key + ".")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e11 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"{key}: expected a string, got {value!r}")
    raise AssertionError(f"unsupported config type {_type_name(tp)} for {key}")


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        valid = ", ".join(prefix + name for name in _field_names(cls))
        raise ValueError(f"unknown config key(s) {', '.join(prefix + k for k in unknown)}; valid keys: {valid}")
    kwargs = {name: _coerce(value, hints[name], prefix + name) for name, value in data.items()}
    return cls(**kwargs)


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse_override(item: str) -> dict[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override {item!r} must look like a.b=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not YAML: take it as the plain string it was typed as
    node: dict[str, Any] = {}
    cursor = node
    parts = key.strip().split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return node


def resolve_preset(name_or_path: str) -> Path:
    """A preset name (configs/<name>.yaml) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not path.is_file():
            raise ValueError(f"config file {name_or_path} does not exist")
        return path
    preset = CONFIG_DIR / f"{name_or_path}.yaml"
    if not preset.is_file():
        presets = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
        raise ValueError(f"unknown config preset {name_or_path!r}; presets: {', '.join(presets)}, or give a .yaml path")
    return preset


def load_config(preset: str, overrides: list[str] | tuple[str, ...], cls: type) -> Any:
    """`cls`'s defaults, then the preset or YAML file, then each `a.b=value` override in order
    (`pipeline.sources.registry.load_corpus_config` for the corpus job's CorpusConfig)."""
    with open(resolve_preset(preset), encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config {preset}: the top level must be a mapping")
    for item in overrides:
        data = _deep_merge(data, _parse_override(item))
    return _from_dict(cls, data)


# Config keys that name a local file or folder. A cluster's workers do not share the launcher's
# working folder, so the launcher makes these absolute (absolute_paths); a path with a scheme
# (gs://, s3://, hdfs://) is a URI that Beam's FileSystems opens anywhere, and stays as given.
PATH_KEYS = (
    "input", "output", "models.dir", "models.wikipedia_corpus", "tokenizer.dir", "tokens.dir", "c4.badwords_file",
    "holdout.ids_file",
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(path: str) -> bool:
    """A path with a scheme (gs://bucket/x, s3://..., hdfs://...), not a local one."""
    return bool(_SCHEME.match(path))


def absolute_path(path: str | None) -> str | None:
    """`path` made absolute against the working folder; URIs, None and "" (unset) as given."""
    if not path or is_uri(path):
        return path
    return os.path.abspath(path)


def absolute_paths(cfg: CorpusConfigBase) -> CorpusConfigBase:
    """cfg with every PATH_KEYS entry absolute: the same job then reads and writes the same files
    from any worker's working folder."""
    for key in PATH_KEYS:
        cfg = _replace_key(cfg, key.split("."), absolute_path(_get_key(cfg, key)))
    return cfg


def _get_key(cfg: Any, key: str) -> Any:
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


def _replace_key(cfg: Any, parts: list[str], value: Any) -> Any:
    if len(parts) > 1:
        value = _replace_key(getattr(cfg, parts[0]), parts[1:], value)
    return dataclasses.replace(cfg, **{parts[0]: value})


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def config_to_json(cfg: Any) -> str:
    return json.dumps(config_to_dict(cfg), indent=2, sort_keys=True) + "\n"
