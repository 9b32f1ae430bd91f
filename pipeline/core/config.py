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
from typing import Any

import yaml

from pipeline.core.table1 import PAPER_TABLE1

ALL_SOURCES = ("commoncrawl", "c4", "github", "wikipedia", "books", "arxiv", "stackexchange")
# Sources the job reads by default.
IMPLEMENTED_SOURCES = ALL_SOURCES
# LLaMA section 2: "covers 20 languages, which use either the Latin or Cyrillic scripts".
LLAMA_WIKIPEDIA_LANGUAGES = (
    "bg", "ca", "cs", "da", "de", "en", "es", "fr", "hr", "hu",
    "it", "nl", "pl", "pt", "ro", "ru", "sl", "sr", "sv", "uk",
)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


@dataclasses.dataclass(frozen=True)
class ShardsConfig:
    num_shards: int = 8  # kept shards per source: equal, contiguous slices of its documents in input order
    num_dropped_shards: int = 1  # per source, under <out>/dropped/<source>/
    write_dropped: bool = True  # at scale, turn off and keep only the counts
    batch_rows: int = 1000  # rows per Arrow record batch inside a shard


@dataclasses.dataclass(frozen=True)
class WikipediaConfig:
    languages: tuple[str, ...] = LLAMA_WIKIPEDIA_LANGUAGES
    namespaces: tuple[int, ...] = (0,)  # article namespace only
    max_page_bytes: int = 64 * 1024 * 1024  # a larger <page> is a parse_error, not an OOM
    min_chars: int = 1  # shorter plain text is dropped as empty


@dataclasses.dataclass(frozen=True)
class C4Config:
    """C4's heuristics (Raffel et al. 2020, section 2.2); each rule can be switched off."""

    # The paper: "only retained lines that contained at least 5 words" and "discarded any page with
    # fewer than 3 sentences" (the issue text had the two numbers swapped; the paper and tfds agree).
    terminal_punctuation: bool = True  # keep only lines ending in . ! ? or a double quote
    min_words_per_line: int = 5  # 0 turns the rule off
    max_word_length: int = 1000  # lines with a longer word are removed; 0 turns it off
    min_sentences: int = 3  # pages with fewer are dropped; 0 turns it off
    lorem_ipsum: bool = True  # drop pages containing "lorem ipsum"
    curly_bracket: bool = True  # drop pages containing "{"
    javascript: bool = True  # remove lines mentioning javascript
    policy: bool = True  # remove cookie / privacy-policy / terms-of-use lines
    citations: bool = True  # remove Wikipedia-style citation markers such as [1] and [edit]
    badwords_file: str | None = None  # one word or phrase per line; pages containing one are dropped


@dataclasses.dataclass(frozen=True)
class CommonCrawlConfig:
    """CCNet's recipe (Wenzek et al. 2020) as LLaMA used it, plus the Wikipedia-reference filter."""

    max_record_bytes: int = 16 * 1024 * 1024  # a larger WARC payload is a parse_error
    min_chars: int = 300  # shorter pages are dropped when read (`too_short`), as cc_net's reader does
    languages: tuple[str, ...] = ("en",)  # fastText lid.176 labels to keep
    lang_threshold: float = 0.5  # CCNet keeps lid.176 score >= 0.5
    keep_buckets: tuple[str, ...] = ("head", "middle")  # perplexity buckets kept (RedPajama: head+middle)
    # Perplexity cut-offs between head|middle and middle|tail for every language (for example
    # CCNet's English 340 / 520 with CCNet's own models); empty: the models.ppl_percentiles of the
    # perplexities of this run's CommonCrawl pages of each language, as CCNet cut its buckets.
    ppl_cutoffs: tuple[float, ...] = ()
    wiki_ref_threshold: float = 0.25  # RedPajama kept pages with reference probability >= 0.25


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


# RedPajama's GitHub allow-list of code and text extensions (its github_clean_dedup_local.py).
GITHUB_EXTENSIONS = (
    ".asm", ".bat", ".cmd", ".c", ".h", ".cs", ".cpp", ".hpp", ".c++", ".h++", ".cc", ".hh", ".C", ".H",
    ".cmake", ".css", ".dockerfile", ".f90", ".f", ".f03", ".f08", ".f77", ".f95", ".for", ".fpp", ".go",
    ".hs", ".html", ".java", ".js", ".jl", ".lua", ".md", ".markdown", ".php", ".php3", ".php4", ".php5",
    ".phps", ".phpt", ".pl", ".pm", ".pod", ".perl", ".ps1", ".psd1", ".psm1", ".py", ".rb", ".rs", ".sql",
    ".scala", ".sh", ".bash", ".command", ".zsh", ".ts", ".tsx", ".tex", ".vb", "Dockerfile", "Makefile",
    ".xml", ".rst", ".m", ".smali",
)


@dataclasses.dataclass(frozen=True)
class GitHubConfig:
    """LLaMA section 2: Apache/BSD/MIT repositories; RedPajama's line-length and alphanumeric filters."""

    licenses: tuple[str, ...] = ("apache-2.0", "bsd-2-clause", "bsd-3-clause", "mit")
    extensions: tuple[str, ...] = GITHUB_EXTENSIONS  # suffixes, or whole names (Makefile)
    max_line_length: int = 1000
    max_mean_line_length: int = 100
    min_alnum_fraction: float = 0.25
    min_alpha_per_token: float = 1.5  # RedPajama: alphabetic characters per token; 0 turns it off
    # Exact file dedup hashes the file's text as it is (RedPajama: md5 of the content), not the
    # dedup.exact.normalization form; false: that normalization, as for the other sources.
    raw_exact_dedup: bool = True
    max_file_bytes: int = 1_000_000  # a larger source file is dropped as too_large
    max_archive_bytes: int = 2_000_000_000  # decompressed cap per repository archive
    strip_license_headers: bool = True


@dataclasses.dataclass(frozen=True)
class StackExchangeConfig:
    """LLaMA section 2: the 28 largest sites; HTML removed; answers sorted by score, highest first."""

    top_sites: int = 28  # keep the N sites with the most posts in the input; 0 keeps every site
    sites: tuple[str, ...] = ()  # an explicit list of sites to keep (overrides top_sites)
    # Questions with fewer answers are dropped as no_answers. 0: an unanswered question is kept as
    # the question alone, as RedPajama kept it (its stack_exchange/filter.py).
    min_answers: int = 0
    max_archive_bytes: int = 200_000_000_000  # decompressed cap per .7z dump


@dataclasses.dataclass(frozen=True)
class ArxivConfig:
    """LLaMA section 2: text from the first section on, no bibliography, no comments, macros inlined."""

    max_archive_bytes: int = 500_000_000  # decompressed cap per submission (a bomb is unsafe_archive)
    max_members: int = 10_000  # files per submission
    max_nesting: int = 2  # archives inside archives (the monthly arXiv_src_*.tar bundles hold .gz/.tar.gz)
    min_chars: int = 1


@dataclasses.dataclass(frozen=True)
class BooksConfig:
    """LLaMA section 2: Project Gutenberg books, boilerplate removed (the book dedup is in dedup/)."""

    min_chars: int = 1
    max_book_bytes: int = 100_000_000


@dataclasses.dataclass(frozen=True)
class MixtureConfig:
    """Sampling proportions by source: LLaMA's Table 1 by default (renormalized over the sources present)."""

    commoncrawl: float = PAPER_TABLE1["commoncrawl"]["sampling"]
    c4: float = PAPER_TABLE1["c4"]["sampling"]
    github: float = PAPER_TABLE1["github"]["sampling"]
    wikipedia: float = PAPER_TABLE1["wikipedia"]["sampling"]
    books: float = PAPER_TABLE1["books"]["sampling"]
    arxiv: float = PAPER_TABLE1["arxiv"]["sampling"]
    stackexchange: float = PAPER_TABLE1["stackexchange"]["sampling"]

    def weights(self) -> dict[str, float]:
        return {source: getattr(self, source) for source in ALL_SOURCES}


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
    max_rounds: int = 10  # connected-components rounds (each halves the distance to a root)


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
    max_rounds: int = 10


@dataclasses.dataclass(frozen=True)
class SpanDedupConfig:
    """C4 section 2.2: all but one of any three-sentence span occurring more than once are removed."""

    span: int = 3
    min_chars: int = 1  # shorter documents after removal are dropped


@dataclasses.dataclass(frozen=True)
class DedupConfig:
    """Which dedup steps each source runs, in order, and each step's settings."""

    # Exact copies first (one of two identical pages stays), then CCNet's line dedup on the rest.
    commoncrawl: tuple[str, ...] = ("exact", "lines")
    c4: tuple[str, ...] = ("exact",)
    github: tuple[str, ...] = ("exact",)
    wikipedia: tuple[str, ...] = ("exact",)
    books: tuple[str, ...] = ("books",)
    arxiv: tuple[str, ...] = ("exact",)
    stackexchange: tuple[str, ...] = ("exact",)
    exact: ExactDedupConfig = ExactDedupConfig()
    lines: LineDedupConfig = LineDedupConfig()
    near: MinHashConfig = MinHashConfig()
    books_rule: BookDedupConfig = BookDedupConfig()
    spans: SpanDedupConfig = SpanDedupConfig()

    def __post_init__(self) -> None:
        for source in ALL_SOURCES:
            unknown = [s for s in getattr(self, source) if s not in DEDUP_STEPS]
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
class CorpusConfig:
    input: str = "data/sample"
    output: str = "out/corpus"
    sources: tuple[str, ...] = IMPLEMENTED_SOURCES
    shards: ShardsConfig = ShardsConfig()
    wikipedia: WikipediaConfig = WikipediaConfig()
    c4: C4Config = C4Config()
    commoncrawl: CommonCrawlConfig = CommonCrawlConfig()
    github: GitHubConfig = GitHubConfig()
    stackexchange: StackExchangeConfig = StackExchangeConfig()
    arxiv: ArxivConfig = ArxivConfig()
    books: BooksConfig = BooksConfig()
    models: ModelsConfig = ModelsConfig()
    dedup: DedupConfig = DedupConfig()
    mixture: MixtureConfig = MixtureConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    tokens: TokensConfig = TokensConfig()
    holdout: HoldoutConfig = HoldoutConfig()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.sources) - set(ALL_SOURCES))
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}; valid sources: {', '.join(ALL_SOURCES)}")
        for name in ("num_shards", "num_dropped_shards", "batch_rows"):
            if getattr(self.shards, name) < 1:
                raise ValueError(f"shards.{name} must be at least 1")
        cut, pct = self.commoncrawl.ppl_cutoffs, self.models.ppl_percentiles
        if cut and (len(cut) != 2 or not cut[0] <= cut[1]):
            raise ValueError(f"commoncrawl.ppl_cutoffs {list(cut)}: give two increasing perplexities "
                             "(head|middle, middle|tail), or [] to cut at percentiles of this run's pages")
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


def load_config(preset: str = "sample", overrides: list[str] | tuple[str, ...] = (), cls: type = CorpusConfig) -> Any:
    """Defaults, then the preset or YAML file, then each `a.b=value` override in order."""
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


def absolute_paths(cfg: CorpusConfig) -> CorpusConfig:
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
