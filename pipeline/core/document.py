"""The Document record, the Dropped record and the Arrow schema: defined once, used everywhere."""
from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

import pyarrow as pa


class DropReason(str, enum.Enum):  # noqa: UP042 - StrEnum would change str()/format() of a member to its value
    """Why a document left the corpus. The value is what stats.json and dropped/ shards show."""

    # Input that could not be read or parsed: counted, routed, and the rest of the file goes on.
    PARSE_ERROR = "parse_error"
    # Nothing (or only whitespace) left after cleaning.
    EMPTY = "empty"
    # Shorter than the source's min_chars when read (CommonCrawl: CCNet's 300 characters).
    TOO_SHORT = "too_short"
    # Set aside for evaluation (`corral ablate`) before any filter; never in a training set.
    HELD_OUT = "held_out"
    # The same id twice in one source (the same page in two dumps): the newest copy is kept.
    DUPLICATE_ID = "duplicate_id"
    # Deduplication (dedup/): LLaMA section 2, CCNet, the C4 paper.
    DUPLICATE_EXACT = "duplicate_exact"
    DUPLICATE_NEAR = "duplicate_near"
    DUPLICATE_BOOK = "duplicate_book"
    TOO_SHORT_AFTER_DEDUP = "too_short_after_dedup"
    # Wikipedia (LLaMA section 2: 20 languages, article pages).
    REDIRECT = "redirect"
    NON_ARTICLE_NAMESPACE = "non_article_namespace"
    LANGUAGE_NOT_KEPT = "language_not_kept"
    # CommonCrawl by CCNet (Wenzek et al. 2020) and the Wikipedia-reference classifier.
    LANG = "lang"  # fastText lid.176: language not kept, or score under the threshold
    PERPLEXITY = "perplexity"  # KenLM perplexity in a bucket not kept (tail by default)
    WIKI_REF = "wiki_ref"  # reference-classifier probability under the threshold
    # GitHub (LLaMA section 2; RedPajama's file filters).
    LICENSE = "license"  # repository license not in the allow-list (detail: the license found)
    BINARY = "binary"  # binary content, whatever the file name says
    VENDORED = "vendored"  # vendored, minified or generated files
    EXTENSION = "extension"  # not an allowed code or text extension
    LONG_LINE = "long_line"  # longest line over github.max_line_length
    MEAN_LINE = "mean_line"  # mean line length over github.max_mean_line_length
    ALNUM = "alnum_fraction"  # alphanumeric fraction under github.min_alnum_fraction
    ALPHA_TOKENS = "alpha_per_token"  # alphabetic characters per token under github.min_alpha_per_token
    TOO_LARGE = "too_large"  # a file or archive member over its size cap
    # StackExchange (LLaMA section 2).
    NO_ANSWERS = "no_answers"
    SITE_NOT_KEPT = "site_not_kept"  # not among the largest sites (stackexchange.top_sites)
    # ArXiv (LLaMA section 2) and archives in general.
    NO_TEX = "no_tex"  # no LaTeX main file: an HTML-only or PDF-only submission
    UNSAFE_ARCHIVE = "unsafe_archive"  # absolute paths, "..", links, devices, or a decompression bomb
    # C4 heuristics (Raffel et al. 2020, section 2.2).
    C4_LOREM_IPSUM = "c4_lorem_ipsum"
    C4_CURLY_BRACKET = "c4_curly_bracket"
    C4_TOO_FEW_SENTENCES = "c4_too_few_sentences"
    C4_BAD_WORDS = "c4_bad_words"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Document:
    """One document of one source. `id` is stable across runs and unique within its source."""

    id: str
    source: str
    text: str
    url: str | None = None
    created: str | None = None  # ISO 8601, UTC ("2019-04-25T12:57:54Z") where the source says
    lang: str | None = None
    lang_score: float | None = None
    metadata: str = "{}"  # JSON object, keys sorted (license, repo, title, page id, ...)
    perplexity: float | None = None
    ppl_bucket: str | None = None
    wiki_ref_prob: float | None = None

    def meta(self) -> dict[str, Any]:
        return json.loads(self.metadata)

    def with_meta(self, **updates: Any) -> Document:
        merged = {**self.meta(), **updates}
        return dataclasses.replace(self, metadata=dump_meta(merged))


def dump_meta(meta: dict[str, Any]) -> str:
    """The one JSON encoding of metadata, so equal metadata gives equal bytes."""
    return json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclasses.dataclass(frozen=True)
class Dropped:
    """A document that left the corpus, with the stage that dropped it and why."""

    doc: Document
    reason: DropReason
    stage: str
    detail: str = ""


ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("created", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float64()),
        pa.field("metadata", pa.string(), nullable=False),
        pa.field("perplexity", pa.float64()),
        pa.field("ppl_bucket", pa.string()),
        pa.field("wiki_ref_prob", pa.float64()),
    ]
)

DROPPED_SCHEMA = ARROW_SCHEMA.append(pa.field("drop_reason", pa.string(), nullable=False)).append(
    pa.field("drop_stage", pa.string(), nullable=False)
).append(pa.field("drop_detail", pa.string(), nullable=False))

DOCUMENT_FIELDS = tuple(f.name for f in dataclasses.fields(Document))
assert tuple(ARROW_SCHEMA.names) == DOCUMENT_FIELDS, "Document and ARROW_SCHEMA must list the same columns"


def documents_to_table(docs: list[Document]) -> pa.Table:
    columns = {name: [getattr(d, name) for d in docs] for name in DOCUMENT_FIELDS}
    return pa.Table.from_pydict(columns, schema=ARROW_SCHEMA)


def dropped_to_table(drops: list[Dropped]) -> pa.Table:
    columns = {name: [getattr(d.doc, name) for d in drops] for name in DOCUMENT_FIELDS}
    columns["drop_reason"] = [d.reason.value for d in drops]
    columns["drop_stage"] = [d.stage for d in drops]
    columns["drop_detail"] = [d.detail for d in drops]
    return pa.Table.from_pydict(columns, schema=DROPPED_SCHEMA)


def table_to_documents(table: pa.Table | pa.RecordBatch) -> list[Document]:
    """The rows of a documents table or record batch as Documents (column by column: fast)."""
    columns = [table.column(name).to_pylist() for name in DOCUMENT_FIELDS]
    return [Document(*row) for row in zip(*columns, strict=True)]
