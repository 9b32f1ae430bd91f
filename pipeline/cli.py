"""`corral`: the command line. User errors end in one line and exit code 2, never a traceback."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

import yaml

from pipeline.core.config import absolute_path, absolute_paths, is_uri

# Importing this module does nothing but define the commands: `main` quiets Beam's import-time
# logging first, then imports the layers below (Beam, the jobs, the launchers) where a command
# needs them.


BEAM_COMMANDS = ("corpus", "models", "tokenize", "ablate")  # the commands that take Beam's flags


def quiet_beam_logging() -> None:
    """Beam logs an apitools warning at import on every machine without GCP extras: noise here. It
    also logs a worker's exception with its traceback before raising it again; the command line
    reports it once (a user error in one line, anything else with its traceback)."""
    logging.getLogger().setLevel(logging.ERROR)
    for name in ("apache_beam.runners.common", "apache_beam.runners.portability.local_job_service"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _job_parser(sub: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help)
    p.add_argument("--input", help="input root with one folder per source (default: the config's)")
    p.add_argument("--output", help="corpus output folder (default: the config's)")
    p.add_argument("--config", default="sample", help="preset name in configs/ or a YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="a.b=value",
                   help="override a config key")
    _add_workers(p)
    return p


def _add_workers(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="run on N local worker processes (make WORKERS=N)")
    p.add_argument("--progress-every", type=float, default=10.0, metavar="SECONDS",
                   help="print a `progress` line to stderr this often while the job runs (default 10; 0: never)")
    p.epilog = ("Any other flag (--runner, --job_endpoint, ...) goes to Beam's PipelineOptions untouched; "
                "--runner=DaskRunner is pipeline.launch.runners.DaskRunner.")


def _load(args: argparse.Namespace):
    overrides = list(args.overrides)
    if args.input:
        overrides.append(f"input={args.input}")
    if args.output:
        overrides.append(f"output={args.output}")
    return _load_config(args.config, overrides)


def _load_config(preset: str, overrides: list[str]):
    """The config with every local path made absolute here, at launch: workers on a cluster (or in
    a worker pool started elsewhere) do not share the launcher's working folder."""
    try:
        from pipeline.sources.registry import load_corpus_config

        return absolute_paths(load_corpus_config(preset, overrides))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read config {preset} ({str(exc).splitlines()[0][:200]}); "
                         "fix the file or give another --config") from None


def run_corpus(args: argparse.Namespace, beam_args: list[str]) -> dict:
    from pipeline.launch.beam import run_pipeline

    cfg = _load(args)
    _note_unread_folders(cfg)
    start = time.time()
    stats = run_pipeline(cfg, cfg.sources, cfg.output, beam_args)
    _print_summary(stats, cfg.output, time.time() - start)
    return stats


def run_models(args: argparse.Namespace, beam_args: list[str]) -> None:
    from pipeline.jobs.inputs import discover
    from pipeline.jobs.models import build_models, models_current
    from pipeline.launch.beam import prepare_output, run_pipeline

    cfg = _load(args)
    has_commoncrawl = "commoncrawl" in cfg.sources and any(sf.files for sf in discover(cfg.input, ("commoncrawl",)))
    if args.if_missing and (not has_commoncrawl or models_current(cfg)):
        return
    if not has_commoncrawl:
        raise ValueError(f"{cfg.input} has no commoncrawl input: the models need CommonCrawl pages as negatives")
    prepare_output(cfg.models.dir)
    start = time.time()
    manifest = build_models(cfg, lambda c, sources, out: run_pipeline(c, sources, out, beam_args))
    langs = ", ".join(f"{lang} (held-out Wikipedia percentiles {m['cutoffs'][0]:.0f} / {m['cutoffs'][1]:.0f})"
                      for lang, m in manifest["lm"].items())
    ref = manifest["wikiref"]
    print(f"models: perplexity {langs}; reference classifier positives: {ref['positives']} "
          f"({ref['positives_cited']} cited pages "
          f"+ {ref['positives_wikipedia']} Wikipedia articles), held-out AUC {ref['heldout_auc']:.3f}; "
          f"{cfg.models.dir}/ in {time.time() - start:.1f}s")


def run_tokenize(args: argparse.Namespace, beam_args: list[str]) -> dict:
    """Train the tokenizer when there is none (or --retrain), then encode every corpus shard."""
    from pipeline.core.progress import set_phase
    from pipeline.jobs.tokenize_job import build_encode
    from pipeline.jobs.tokenizer import MODEL_NAME, corpus_shards, train_tokenizer
    from pipeline.launch.beam import beam_options, prepare_output, run_job

    cfg = _load_config(args.config, list(args.overrides))
    corpus = absolute_path(args.corpus) or cfg.output
    try:
        corpus_shards(corpus)  # a clear error before anything runs when the corpus is missing
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{corpus}/manifest.json is damaged ({type(exc).__name__}: {exc}): "
                         "run `make corpus` again") from None
    model = os.path.join(cfg.tokenizer.dir, MODEL_NAME)
    start = time.time()
    if args.retrain or not os.path.isfile(model):
        set_phase("tokenize: train the tokenizer")
        prepare_output(cfg.tokenizer.dir)
        card = train_tokenizer(corpus, cfg)
        print(f"tokenizer: {card['vocabulary']['size']} pieces from "
              f"{sum(s['chars'] for s in card['sample'].values()):,} "
              f"characters -> {model}")
    out = absolute_path(args.output) or cfg.tokens.dir
    prepare_output(out)
    set_phase("tokenize: encode")
    run_job(beam_options(beam_args), lambda p: build_encode(p, model, corpus, out, cfg.tokens.batch_docs), out)
    with open(os.path.join(out, "stats.json"), encoding="utf-8") as f:
        stats = json.load(f)
    for source, s in sorted(stats["sources"].items()):
        print(f"{source:<14}{s['documents']:>9} docs{s['tokens']:>12,} tokens  {s['tokens_per_byte']:.3f} tokens/byte")
    print(f"wrote {out}/ (token shards, manifest.json, stats.json) in {time.time() - start:.1f}s")
    return stats


def run_ablate(args: argparse.Namespace, beam_args: list[str]) -> dict:
    from pipeline.ablate.run import run_ablation, spec_from_args

    return run_ablation(spec_from_args(args), beam_args)


def _note_unread_folders(cfg) -> None:
    if is_uri(cfg.input):
        return
    from pipeline.sources.registry import SOURCE_NAMES

    unread = [s for s in SOURCE_NAMES if s not in cfg.sources and os.path.isdir(os.path.join(cfg.input, s))]
    if unread:
        print(f"note: not reading {', '.join(unread)} (not in config 'sources')", file=sys.stderr)


def _print_summary(stats: dict, out: str, seconds: float) -> None:
    print(f"{'source':<14}{'seen':>9}{'kept':>9}{'dropped':>9}  reasons")
    for source, s in stats["sources"].items():
        reasons = ", ".join(f"{r}={n}" for r, n in s["dropped"].items()) or "-"
        print(f"{source:<14}{s['seen']:>9}{s['kept']:>9}{sum(s['dropped'].values()):>9}  {reasons}")
    print(f"wrote {out}/ (shards, manifest.json, stats.json, config.json) in {seconds:.1f}s")


def run_verify(args: argparse.Namespace) -> int:
    from pipeline.jobs.verify import verify_corpus

    if not os.path.isfile(os.path.join(args.out, "manifest.json")):
        raise ValueError(f"{args.out} holds no manifest.json: run `make corpus OUT={args.out}` first")
    problems = verify_corpus(args.out)
    for problem in problems:
        print(f"verify: {problem}", file=sys.stderr)
    print(f"verify: {args.out}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def _run_job_command(args: argparse.Namespace, beam_args: list[str]) -> int:
    """corpus, models, tokenize or ablate, with a progress line every --progress-every seconds."""
    from pipeline.launch.progress import reporting

    run = {"corpus": run_corpus, "models": run_models, "tokenize": run_tokenize, "ablate": run_ablate}[args.command]
    with reporting(args.progress_every):
        run(args, beam_args)
    return 0


def main(argv: list[str] | None = None) -> int:
    quiet_beam_logging()
    from pipeline.ablate.run import add_parser as add_ablate_parser
    from pipeline.jobs.show import add_show_parser, run_show_command
    from pipeline.jobs.stats import add_stats_parser, run_stats_command
    from pipeline.launch.runners import engine_flags
    from train import commands as trainer

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="corral", description="LLaMA-recipe pretraining data and training")
    sub = parser.add_subparsers(dest="command", required=True)
    trainer.add_parsers(sub)  # pretrain, generate, export-hf: one parser tree for every command
    _job_parser(sub, "corpus", "build the corpus shards from an input root (Beam job)")
    models = _job_parser(sub, "models",
                         "train the CommonCrawl filter models (SentencePiece+KenLM, reference classifier)")
    models.add_argument("--if-missing", action="store_true", help="do nothing when current models exist")
    tok = sub.add_parser("tokenize",
                         help="train the SentencePiece BPE tokenizer if missing, encode the corpus to token shards")
    tok.add_argument("--corpus", help="corpus output folder (default: the config's output)")
    tok.add_argument("--output", help="token shards folder (default: tokens.dir)")
    tok.add_argument("--config", default="sample", help="preset name in configs/ or a YAML file")
    tok.add_argument("--set", dest="overrides", action="append", default=[], metavar="a.b=value",
                     help="override a config key")
    tok.add_argument("--retrain", action="store_true", help="train the tokenizer again even if one exists")
    _add_workers(tok)
    verify = sub.add_parser("verify", help="recount a corpus run from its files and check every number")
    verify.add_argument("out", help="the corpus output folder")
    add_stats_parser(sub)
    add_show_parser(sub)
    _add_workers(add_ablate_parser(sub))
    args, rest = parser.parse_known_args(argv)
    if args.command not in BEAM_COMMANDS and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    def command() -> int | None:
        if args.command in BEAM_COMMANDS:
            return _run_job_command(args, engine_flags(args.workers, rest))
        if args.command == "verify":
            return run_verify(args)
        if args.command == "stats":
            return run_stats_command(args)
        if args.command == "show":
            return run_show_command(args)
        from train.train import run as run_trainer  # the trainer's commands; torch loads only for them

        return run_trainer(args)

    return trainer.exit_code(command)


if __name__ == "__main__":
    sys.exit(main())
