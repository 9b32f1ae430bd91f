"""The step contract every source shares: how a per-document step is built, what a source's plan
holds, what a source module declares, and the read nets around a source's parser.

A step is a plain callable `Document -> Document | Dropped`. Every step is built one way: a
`Recipe(make, *args)`, picklable, that the Beam layer calls in `DoFn.setup()` (so a model or word
list loads once per worker, never on the launcher); `make(*args)` returns the step. A check is a
plain function `Document -> DropReason | None` (no setup), run in order by `run_checks`.

A source module declares a `SourceSpec` (pipeline/sources/registry.py lists them); its `plan` gives
the corpus job a `SourcePlan`: plain data, no Beam.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pipeline.core.document import Document, Dropped, DropReason, dump_meta
from pipeline.core.io import printable

Step = Callable[[Document], "Document | Dropped"]
Check = Callable[[Document], "DropReason | None"]
_LOG = logging.getLogger(__name__)


class Recipe:
    """The one way a step is built: `Recipe(make, *args)()` is `make(*args)`, a step.

    Extra arguments given at build time come last: the bucket step is built per file with the
    cut-offs that phase 4 computed, `Recipe(bucket_step, cfg)(cutoffs)`.
    """

    def __init__(self, make: Callable[..., Step], *args: Any) -> None:
        self.make, self.args = make, args

    def __call__(self, *more: Any) -> Step:
        return self.make(*self.args, *more)

    def __repr__(self) -> str:
        return f"Recipe({getattr(self.make, '__name__', self.make)!r})"


def with_config(fn: Callable[[Document, Any], Document | Dropped], cfg: Any) -> Step:
    """The step of a pure `fn(doc, cfg)`: `Recipe(with_config, clean_github, cfg.github)`."""
    return lambda doc: fn(doc, cfg)


def run_checks(checks: Sequence[Check]) -> Step:
    """The step that runs `checks` in order: the first that names a reason drops the document
    (stage "filter", detail the check's name)."""
    checks = tuple(checks)

    def step(doc: Document) -> Document | Dropped:
        for check in checks:
            reason = check(doc)
            if reason is not None:
                return Dropped(doc, reason, "filter", getattr(check, "__name__", type(check).__name__))
        return doc

    return step


@dataclasses.dataclass(frozen=True)
class SourcePlan:
    """What the corpus job runs for one source after its reader (pipeline/jobs/passes.py), in this order."""

    clean: Recipe | None = None  # stage "clean"; None when the reader's output is already clean
    checks: tuple[Check, ...] = ()  # stage "filter" (check_not_empty is always first)
    pre_steps: tuple = ()  # keyed steps (dedup.common.KeyedStep) before the dedup steps
    after_dedup: tuple[tuple[str, Recipe], ...] = ()  # (stage, recipe), model steps after dedup
    # A step that needs a value computed from every document of the source (CommonCrawl's
    # perplexity bucket: cut-offs at percentiles of the source's perplexities) runs, with the
    # steps after it, in a later per-file pass: `bucket(cutoffs)` builds it there.
    bucket: Recipe | None = None
    after_bucket: tuple[tuple[str, Recipe], ...] = ()
    dedup: Any = None  # this source's dedup settings (a DedupConfig) where they differ from cfg.dedup


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    """What a source module declares; pipeline/sources/registry.py lists one per source.

    The registry builds the config (`<name>:` block of a preset, `dedup.<name>`, `mixture.<name>`),
    input discovery reads `formats`, the corpus job and the held-out pass call `reader`, the corpus
    job calls `plan`, the report reads `stages`.
    """

    name: str  # the input folder, the config key, the shard folder
    config: type  # a frozen dataclass: the `<name>:` block of a preset (defaults are the recipe)
    formats: tuple[str, ...]  # file name endings (lower case) the reader takes
    reader: Callable[..., Iterable]  # (path, rel, the source's config block) -> Documents and Dropped records
    plan: Callable[[Any, Any], SourcePlan]  # (CorpusConfig, models or None) -> SourcePlan
    dedup: tuple[str, ...] = ("exact",)  # default dedup steps, in order
    stages: tuple[str, ...] = ()  # stages besides read, filter, dedup and write (the report's funnel)
    is_input: Callable[[str], bool] | None = None  # rel path -> read it?, where a suffix is not enough
    checkouts: bool = False  # an immediate subfolder holding no input file is one input (a git checkout)
    needs_models: bool = False  # `make models` must run first (CommonCrawl's filters)

    def read_args(self, cfg: Any) -> tuple[Callable[..., Iterable], Any]:
        """(reader, its config block) of a CorpusConfig: what read_records takes."""
        return self.reader, getattr(cfg, self.name)


def _input_exists(path: str) -> bool:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems  # Beam only where a URI needs it

        return FileSystems.exists(path)
    return os.path.lexists(path)


def read_records(source: str, parse_file: Callable[..., Iterable[Any]], path: str, rel: str, cfg: Any) -> Iterator[Any]:
    """A source's pure `parse_file(path, rel, cfg)` over one file, with the nets every reader shares.

    A file listed at launch that is gone at read time is a user error naming it (ValueError: the
    job stops with one line), never a counted parse error with wrong numbers. A file the parser
    yields nothing for is one EMPTY record (a zero-byte or record-less file is counted, never
    silently skipped); a parser exception keeps what was yielded and counts the rest of the file as
    one PARSE_ERROR; a string that is not valid UTF-8 (a file or member name that is not, a JSON
    escape of half a surrogate pair) never reaches a shard, where Arrow would refuse it and stop
    the job: names are escaped, such text is dropped.
    """
    if not _input_exists(path):
        raise ValueError(f"input file {printable(str(path))} cannot be opened (it was listed when the job started): "
                         "check that every worker sees the input, then run again")
    num_records = 0
    try:
        for out in parse_file(path, rel, cfg):
            num_records += 1
            yield _utf8_safe(out)
    except Exception as exc:  # noqa: BLE001 - parsers handle expected damage; this is the last net
        _LOG.exception("reading %s failed", rel)
        doc = Document(id=f"{rel}#read-error", source=source, text="", metadata=dump_meta({"file": rel}))
        detail = printable(f"{type(exc).__name__}: {exc}"[:500])
        yield Dropped(doc, DropReason.PARSE_ERROR, "read", detail)
        return
    if num_records == 0:
        doc = Document(id=f"{rel}#empty", source=source, text="", metadata=dump_meta({"file": rel}))
        yield Dropped(doc, DropReason.EMPTY, "read", "no records in this file")


_TEXT_FIELDS = ("id", "url", "created", "lang")


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _utf8_safe_json(value: Any) -> Any:
    if isinstance(value, str):
        return value if _is_utf8(value) else printable(value)
    if isinstance(value, dict):
        return {_utf8_safe_json(k): _utf8_safe_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utf8_safe_json(v) for v in value]
    return value


def _utf8_safe(item: Any) -> Any:
    """`item` with every string valid UTF-8 (see _ReadFileFn); a Document whose text is not
    becomes a PARSE_ERROR. Anything else (a source's own records) passes untouched."""
    if isinstance(item, Dropped):
        doc = _utf8_safe_doc(item.doc, escape_text=True)
        detail = item.detail if _is_utf8(item.detail) else printable(item.detail)
        return item if doc is item.doc and detail is item.detail else Dropped(doc, item.reason, item.stage, detail)
    if isinstance(item, Document):
        doc = _utf8_safe_doc(item, escape_text=False)
        if _is_utf8(doc.text):
            return doc
        bad = next(i for i, c in enumerate(doc.text) if not _is_utf8(c))
        escaped = dataclasses.replace(doc, text=printable(doc.text))
        return Dropped(escaped, DropReason.PARSE_ERROR, "read",
                       f"text is not valid Unicode (lone surrogate at character {bad})")
    return item


def _utf8_safe_doc(doc: Document, escape_text: bool) -> Document:
    fields = {name: printable(value) for name in _TEXT_FIELDS
              if (value := getattr(doc, name)) is not None and not _is_utf8(value)}
    if not _is_utf8(doc.metadata):
        fields["metadata"] = dump_meta(_utf8_safe_json(json.loads(doc.metadata)))
    if escape_text and not _is_utf8(doc.text):
        fields["text"] = printable(doc.text)
    return dataclasses.replace(doc, **fields) if fields else doc
