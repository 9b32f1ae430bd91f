"""Launching a Beam job: options and runner, the corpus job for a set of sources, and the sorting of a
failed job into the user's errors (one line) and bugs (a traceback). The command line calls these;
so does `make models` (through the `launch` callable the command line hands it) for its Wikipedia
corpus."""
from __future__ import annotations

import dataclasses
import json
import os
import re

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.core.config import absolute_paths, config_to_json, is_uri
from pipeline.core.progress import clear_progress, progress_dir
from pipeline.core.shards import TMP_PREFIX, write_text_atomic
from pipeline.jobs.inputs import discover
from pipeline.launch import progress
from pipeline.launch.runners import resolve_runner


def beam_options(beam_args: list[str]) -> PipelineOptions:
    flags = resolve_runner(list(beam_args))
    if not any(f.startswith("--default_sdk_harness_log_level") for f in flags):
        flags.append("--default_sdk_harness_log_level=WARNING")  # worker processes log every bundle at INFO
    return PipelineOptions(flags=flags)


class JobError(RuntimeError):
    """A Beam job failed for a reason that is no user's to fix (a bug): reported with its traceback."""


def run_job(options: PipelineOptions, build, out: str | None = None) -> None:
    """Build the job with `build(pipeline)` and run it. A worker's user error (a plain ValueError,
    such as a damaged model file) comes back as a ValueError: one line and exit code 2. Any other
    failure is a JobError caused by the original exception, traceback and all. The workers' counts
    under `out` (pipeline/core/progress.py) feed the command's progress line, and are removed after."""
    if out is not None:
        clear_progress(out)
        progress.watch(progress_dir(out))
    try:
        with beam.Pipeline(options=options) as p:
            build(p)
    except Exception as exc:  # noqa: BLE001 - sorted here into the user's errors and bugs
        message = worker_user_error(exc)
        if message is not None:
            raise ValueError(message) from None
        raise JobError(f"the Beam job failed: {type(exc).__name__}: {str(exc)[:500]}") from exc
    finally:
        if out is not None:
            progress.collect()
            clear_progress(out)


_WORKER_VALUE_ERROR = re.compile(r"^ValueError: (.+)$", re.MULTILINE)


def worker_user_error(exc: BaseException) -> str | None:
    """The message of a user error raised in a worker, or None. In-process runners raise it again
    as itself; out-of-process ones wrap its traceback, whose last line then names it."""
    if type(exc) is ValueError:  # exactly: UnicodeError, JSONDecodeError, ArrowInvalid are bugs here
        return str(exc)
    if isinstance(exc, RuntimeError):  # the portable runner and multi-process workers
        found = _WORKER_VALUE_ERROR.findall(str(exc))
        if found:
            return found[-1]
    return None


def run_pipeline(cfg, sources: tuple[str, ...], out: str, beam_args: list[str]) -> dict:
    """The corpus job for `sources` of cfg.input into `out`; returns stats.json's content."""
    # callers may pass relative paths
    cfg = absolute_paths(dataclasses.replace(cfg, sources=tuple(sources), output=out))
    inputs = discover(cfg.input, cfg.sources)
    if not any(sf.files for sf in inputs):
        raise ValueError(f"no input files for sources {', '.join(cfg.sources)} under {cfg.input}; "
                         "see README 'Input layout'")
    from pipeline.jobs.corpus import Corpus  # heavy imports only once the arguments are good
    from pipeline.jobs.models import commoncrawl_models
    from pipeline.sources.commoncrawl import CommonCrawlModels
    from pipeline.sources.registry import SOURCES

    models = None
    if any(SOURCES[sf.source].needs_models and sf.files for sf in inputs):
        try:
            models = CommonCrawlModels(*commoncrawl_models(cfg))
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"the models in {cfg.models.dir} are damaged ({type(exc).__name__}: {exc}): "
                             "run `make models`") from None
    prepare_output(cfg.output)
    write_text_atomic(os.path.join(cfg.output, "config.json"), config_to_json(cfg))
    try:
        run_job(beam_options(beam_args), lambda p: p | "Corpus" >> Corpus(cfg, inputs, models), cfg.output)
    except BaseException:
        # Staged text a failed run leaves is never an output; a killed run's is replaced by the next.
        from pipeline.core.staging import remove_staging

        remove_staging(cfg.output)
        raise
    with open(os.path.join(cfg.output, "stats.json"), encoding="utf-8") as f:
        return json.load(f)


def prepare_output(out: str) -> None:
    if is_uri(out):
        return
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output folder {out} ({exc.strerror}); choose another with OUT=<dir>") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"output folder {out} is not writable; choose another with OUT=<dir>")
    _remove_partial_files(out)


def _remove_partial_files(out: str) -> None:
    """Files a killed run left half written under their temporary names (never under a final
    name): the run that starts now writes them again."""
    for dirpath, _, filenames in os.walk(out):
        for name in filenames:
            if name.startswith(TMP_PREFIX):
                os.remove(os.path.join(dirpath, name))
