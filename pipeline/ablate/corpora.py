"""The data side of an ablation: the variants' configs, the held-out set, each variant's corpus run,
one tokenizer for all of them, and each variant's token shards. Every step is reused when its
fingerprint is unchanged (pipeline/ablate/reuse.py).

Folders under the ablation's output:

  heldout/                 the evaluation documents (<source>.arrow) and heldout.json (ids, text hashes)
  eval-user/               a copy of the user's evaluation corpus (--eval-corpus), at most max_docs a source
  models/                  the CommonCrawl models, shared by the variants whose model settings agree
  variants/<name>/corpus/  the variant's corpus run (its config with holdout.ids_file = heldout.json)
  variants/<name>/tokens/  its token shards
  tokenizer/               the one tokenizer, trained on an equal share of every variant's corpus
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from pipeline.ablate import reuse
from pipeline.core.config import HoldoutConfig, absolute_paths, config_to_dict
from pipeline.core.document import ARROW_SCHEMA
from pipeline.core.holdout import HELDOUT_FILE, text_key
from pipeline.core.shards import file_sha256
from pipeline.sources.registry import SOURCE_NAMES, SOURCES, CorpusConfig, load_corpus_config

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    spec: str  # the preset name or YAML path as given
    cfg: CorpusConfig  # resolved: input, output, models.dir, tokenizer.dir, tokens.dir, holdout set here

    @property
    def corpus_dir(self) -> str:
        return self.cfg.output

    @property
    def tokens_dir(self) -> str:
        return self.cfg.tokens.dir


def variant_name(spec: str) -> str:
    """`sample` -> sample; `configs/mine.yaml` -> mine."""
    path = Path(spec)
    return path.stem if path.suffix in (".yaml", ".yml") or os.sep in spec else spec


def load_variants(specs: list[str], input_root: str, overrides: list[str], out: str) -> list[Variant]:
    names = [variant_name(s) for s in specs]
    if len(specs) < 2:
        raise ValueError("an ablation compares at least two configs: give two or more (e.g. sample sample-nofilter)")
    if len(set(names)) != len(names):
        raise ValueError(f"configs {', '.join(specs)} give the variant names {', '.join(names)}: "
                         "each must differ (rename a YAML file)")
    heldout = os.path.join(out, "heldout", HELDOUT_FILE)
    variants = []
    for spec, name in zip(specs, names, strict=True):
        folder = os.path.join(out, "variants", name)
        cfg = load_corpus_config(spec, [*overrides, f"input={input_root}"] if input_root else overrides)
        cfg = dataclasses.replace(
            cfg, output=os.path.join(folder, "corpus"), holdout=HoldoutConfig(ids_file=heldout),
            models=dataclasses.replace(cfg.models, dir=os.path.join(out, "models")),
            tokenizer=dataclasses.replace(cfg.tokenizer, dir=os.path.join(out, "tokenizer")),
            tokens=dataclasses.replace(cfg.tokens, dir=os.path.join(folder, "tokens")))
        variants.append(Variant(name, spec, absolute_paths(cfg)))
    inputs = {v.cfg.input for v in variants}
    if len(inputs) > 1:
        raise ValueError(f"the configs read different inputs ({', '.join(sorted(inputs))}): give INPUT=<dir>")
    return variants


# --- the held-out set ----------------------------------------------------------------------------
def _user_texts(eval_corpus: str, folder: str, max_docs: int) -> tuple[int, ...]:
    """Copy at most max_docs documents a source of a corpus run into `folder`; their text hashes."""
    from pipeline.core.shards import read_shard_batches, write_atomic
    from pipeline.jobs.tokenizer import corpus_shards

    os.makedirs(folder, exist_ok=True)
    for stale in Path(folder).glob("*.arrow"):
        stale.unlink()
    keys = []
    for source, shards in sorted(corpus_shards(eval_corpus).items()):
        tables, rows = [], 0
        for batch in (b for path in shards for b in read_shard_batches(path)):
            if rows >= max_docs:
                break  # the rest of the corpus is not read
            tables.append(pa.Table.from_batches([batch.slice(0, max_docs - rows)]))
            rows += tables[-1].num_rows
        table = pa.concat_tables(tables).select(ARROW_SCHEMA.names).cast(ARROW_SCHEMA)
        keys += [text_key(t) for t in table.column("text").to_pylist()]
        write_atomic(folder, f"{source}.arrow", table, batch_rows=1000)
    return tuple(keys)


def build_heldout(variants: list[Variant], settings, out: str, eval_corpus: str | None, beam_args: list[str],
                  fresh: bool, log: Log) -> str:
    """The evaluation documents, read with the first config's readers; returns heldout.json's path."""
    from pipeline.jobs.heldout import build_heldout as heldout_job
    from pipeline.jobs.inputs import discover
    from pipeline.launch.beam import beam_options, prepare_output, run_job

    first = variants[0].cfg
    folder = os.path.dirname(first.holdout.ids_file)
    wanted = set().union(*(v.cfg.sources for v in variants))
    sources = [s for s in SOURCE_NAMES if s in wanted]
    user = os.path.join(out, "eval-user")
    user_manifest = file_sha256(os.path.join(eval_corpus, "manifest.json")) if eval_corpus else None
    fingerprint = {"input": reuse.input_fingerprint(dataclasses.replace(first, sources=tuple(sources))),
                   "settings": dataclasses.asdict(settings), "readers": config_to_dict(first),
                   "eval_corpus": user_manifest}
    if not fresh and reuse.current(folder, fingerprint):
        log(f"held-out set: reused {folder}/")
        return first.holdout.ids_file
    prepare_output(folder)
    reuse.start(folder)
    for stale in Path(folder).glob("*.arrow"):  # a source an earlier run had and this one lacks
        stale.unlink()
    extra = _user_texts(eval_corpus, user, settings.max_docs) if eval_corpus else ()
    inputs = [sf for sf in discover(first.input, tuple(sources)) if sf.files]
    if not inputs:
        raise ValueError(f"no input files for sources {', '.join(sources)} under {first.input}; "
                         "see README 'Input layout'")
    readers = {sf.source: SOURCES[sf.source].read_args(first) for sf in inputs}  # the corpus job's readers
    run_job(beam_options(beam_args), lambda p: heldout_job(p, inputs, readers, settings, folder, extra))
    reuse.done(folder, fingerprint)
    log(f"held-out set: {folder}/")
    return first.holdout.ids_file


# --- corpora, tokenizer, token shards ------------------------------------------------------------
def build_corpus(v: Variant, input_fp: str, beam_args: list[str], fresh: bool, models_built: set[str],
                 log: Log) -> None:
    """The variant's corpus run (and the CommonCrawl models it needs), unless its fingerprint matches."""
    from pipeline.jobs.inputs import discover
    from pipeline.jobs.models import build_models, models_current
    from pipeline.launch.beam import prepare_output, run_pipeline

    cfg = v.cfg
    fingerprint = {"config": config_to_dict(cfg), "input": input_fp,
                   "heldout": file_sha256(cfg.holdout.ids_file)}
    if not fresh and reuse.current(cfg.output, fingerprint):
        log(f"{v.name}: corpus reused ({cfg.output}/)")
        return
    reuse.start(cfg.output)
    launch = lambda c, sources, out: run_pipeline(c, sources, out, beam_args)  # noqa: E731
    has_commoncrawl = "commoncrawl" in cfg.sources and any(sf.files for sf in discover(cfg.input, ("commoncrawl",)))
    if has_commoncrawl and (not models_current(cfg) or (fresh and cfg.models.dir not in models_built)):
        prepare_output(cfg.models.dir)
        build_models(cfg, launch)
        models_built.add(cfg.models.dir)
        log(f"{v.name}: CommonCrawl models trained ({cfg.models.dir}/)")
    stats = run_pipeline(cfg, cfg.sources, cfg.output, beam_args)
    reuse.done(cfg.output, fingerprint)
    kept = sum(s["kept"] for s in stats["sources"].values())
    log(f"{v.name}: corpus built, {kept:,} documents kept ({cfg.output}/)")


def build_tokenizer(variants: list[Variant], fresh: bool, log: Log) -> str:
    """One tokenizer on a fixed mixture of every variant's corpus (the first config's tokenizer and
    mixture settings); returns tokenizer.model's path."""
    from pipeline.jobs.tokenizer import MODEL_NAME, train_tokenizer
    from pipeline.launch.beam import prepare_output

    cfg = variants[0].cfg
    fingerprint = {"corpora": [file_sha256(os.path.join(v.corpus_dir, "manifest.json")) for v in variants],
                   "tokenizer": config_to_dict(cfg.tokenizer), "mixture": config_to_dict(cfg.mixture)}
    model = os.path.join(cfg.tokenizer.dir, MODEL_NAME)
    if not fresh and reuse.current(cfg.tokenizer.dir, fingerprint) and os.path.isfile(model):
        log(f"tokenizer: reused {model}")
        return model
    prepare_output(cfg.tokenizer.dir)
    reuse.start(cfg.tokenizer.dir)
    card = train_tokenizer([v.corpus_dir for v in variants], cfg)
    reuse.done(cfg.tokenizer.dir, fingerprint)
    log(f"tokenizer: {card['vocabulary']['size']:,} pieces from {len(variants)} corpora -> {model}")
    return model


def encode(v: Variant, model: str, beam_args: list[str], fresh: bool, log: Log) -> None:
    """The variant's token shards with the shared tokenizer."""
    from pipeline.jobs.tokenize_job import build_encode
    from pipeline.launch.beam import beam_options, prepare_output, run_job

    fingerprint = {"tokenizer": file_sha256(model),
                   "corpus": file_sha256(os.path.join(v.corpus_dir, "manifest.json"))}
    if not fresh and reuse.current(v.tokens_dir, fingerprint):
        log(f"{v.name}: token shards reused ({v.tokens_dir}/)")
        return
    prepare_output(v.tokens_dir)
    reuse.start(v.tokens_dir)
    run_job(beam_options(beam_args),
            lambda p: build_encode(p, model, v.corpus_dir, v.tokens_dir, v.cfg.tokens.batch_docs))
    reuse.done(v.tokens_dir, fingerprint)
    log(f"{v.name}: token shards written ({v.tokens_dir}/)")
