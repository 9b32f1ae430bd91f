"""The corpus and tokenize jobs on other engines, byte-identical to the default runner.

Workers on a cluster do not share the launcher's working folder. So every engine here runs its
workers in a folder of their own while the launcher gives a relative --input, --output and
models.dir from yet another folder: Beam's local job server with an external SDK worker pool (how
Flink, Spark and Dataflow run Python workers), and a dask.distributed cluster (`dask scheduler`
and two `dask worker` processes) through pipeline.launch.runners.DaskRunner.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.cli import main
from pipeline.launch.runners import engine_flags, resolve_runner
from tests.conftest import REPO, SAMPLE

BIN = Path(sys.executable).parent  # the venv's bin: its `python` must come first on the workers' PATH
VOCAB = "tokenizer.vocab_size=800"


def _tree(root: Path) -> dict[str, bytes]:
    """Every file's bytes; config.json names the output folder and its launcher's defaults, so it is left out."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != "config.json"}


def _run_jobs(cwd: Path, models: str, tokenizer: str, flags: list[str], monkeypatch) -> dict[str, dict[str, bytes]]:
    """`corral corpus` then `corral tokenize` launched from `cwd`, every path relative to it."""
    monkeypatch.chdir(cwd)
    rel = lambda path: os.path.relpath(path, cwd)  # noqa: E731
    assert main(["corpus", "--input", rel(SAMPLE), "--output", "corpus", "--set", f"models.dir={rel(models)}",
                 *flags]) == 0
    corpus = _tree(cwd / "corpus")
    assert main(["tokenize", "--corpus", "corpus", "--output", "tokens", "--set", f"tokenizer.dir={rel(tokenizer)}",
                 "--set", VOCAB, *flags]) == 0
    return {"corpus": corpus, "tokens": _tree(cwd / "tokens"),
            "stats": {"stats.json": (cwd / "corpus" / "stats.json").read_bytes()}}


@pytest.fixture(scope="module")
def reference(sample_models, tmp_path_factory) -> tuple[dict, str]:
    """The default runner's outputs, with absolute paths; and the tokenizer it trained, which the
    other runs reuse (the tokenize job trains only when none exists)."""
    work = tmp_path_factory.mktemp("reference")
    assert main(["corpus", "--input", str(SAMPLE), "--output", str(work / "corpus"), "--set",
                 f"models.dir={sample_models}"]) == 0
    corpus = _tree(work / "corpus")
    tokenizer = str(work / "tokenizer")
    assert main(["tokenize", "--corpus", str(work / "corpus"), "--output", str(work / "tokens"),
                 "--set", f"tokenizer.dir={tokenizer}", "--set", VOCAB]) == 0
    outputs = {"corpus": corpus, "tokens": _tree(work / "tokens"),
               "stats": {"stats.json": (work / "corpus" / "stats.json").read_bytes()}}
    return outputs, tokenizer


def _assert_same(found: dict, expected: dict) -> None:
    for part in ("corpus", "tokens", "stats"):
        assert sorted(found[part]) == sorted(expected[part]), part
        differ = [name for name in expected[part] if found[part][name] != expected[part][name]]
        assert not differ, f"{part}: {differ} differ from the default runner's"


def test_relative_paths_give_the_same_output_as_absolute(reference, sample_models, tmp_path, monkeypatch):
    expected, tokenizer = reference
    _assert_same(_run_jobs(tmp_path, sample_models, tokenizer, [], monkeypatch), expected)
    config = json.loads((tmp_path / "corpus" / "config.json").read_text())  # the paths the workers were given
    assert (config["input"], config["output"], config["models"]["dir"]) == (str(SAMPLE), str(tmp_path / "corpus"),
                                                                            sample_models)


def test_two_workers_give_the_same_output(reference, sample_models, tmp_path, monkeypatch):
    expected, tokenizer = reference
    _assert_same(_run_jobs(tmp_path, sample_models, tokenizer, ["--workers", "2"], monkeypatch), expected)


# --- services: processes started in their own folders, stopped with everything they started -------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    """The venv's bin first on PATH (the worker pool starts `python` from PATH) and the project
    importable, as it is where it is installed on a cluster's workers."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


class _Services:
    def __init__(self, root: Path) -> None:
        self._root, self._procs = root, []

    def start(self, name: str, command: list[str]) -> Path:
        """Starts `command` in a new empty folder root/name, in a session of its own; returns the folder."""
        folder = self._root / name
        folder.mkdir()
        log = open(folder / "log.txt", "wb")  # noqa: SIM115 - stays open while the service runs; stop() closes it
        self._procs.append((name, log, subprocess.Popen(command, cwd=folder, env=_env(), stdout=log,
                                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                        start_new_session=True)))
        return folder

    def wait(self, what: str, ready: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [name for name, _, proc in self._procs if proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise AssertionError(f"{what}: {'exited: ' + ', '.join(dead) if dead else 'timed out'}\n{self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{(self._root / name / 'log.txt').read_text(errors='replace')[-3000:]}"
                         for name, _, _ in self._procs)

    def stop(self) -> None:
        """SIGTERM to each process group (the pool's SDK workers, dask's worker processes), then SIGKILL."""
        for _, _, proc in self._procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for _, log, proc in self._procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()


@contextlib.contextmanager
def _services(root: Path) -> Iterator[_Services]:
    services = _Services(root)
    try:
        yield services
    finally:
        services.stop()


def _accepts(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("localhost", port)) == 0
    return ready


# --- the portable runner ------------------------------------------------------------------------


def test_portable_runner_with_worker_pool_elsewhere(reference, sample_models, tmp_path, monkeypatch):
    """Beam's local job server runs the job; an external SDK worker pool, started in a folder of
    its own, runs every DoFn: the same outputs, byte for byte, from a relative --input."""
    expected, tokenizer = reference
    pool_port = _free_port()
    with _services(tmp_path) as services:
        job_server = services.start("job-server",
                                    [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                                                   "--port", "0", "--port_file", "port"])
        services.start("worker-pool", [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                                       f"--service_port={pool_port}"])
        services.wait("job server",
                      lambda: (job_server / "port").is_file() and (job_server / "port").read_text().strip() != "")
        job_port = int((job_server / "port").read_text())
        services.wait("job server port", _accepts(job_port))
        services.wait("worker pool", _accepts(pool_port))
        flags = ["--runner=PortableRunner", f"--job_endpoint=localhost:{job_port}",
                 "--environment_type=EXTERNAL", f"--environment_config=localhost:{pool_port}"]
        launcher = tmp_path / "launcher"
        launcher.mkdir()
        try:
            found = _run_jobs(launcher, sample_models, tokenizer, flags, monkeypatch)
        except BaseException:
            print(services.logs())
            raise
    _assert_same(found, expected)


# --- Dask ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes (one thread each), each in its own folder."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed: pip install -r requirements.txt")
    dask_cli = shutil.which("dask", path=str(BIN))
    if dask_cli is None:
        pytest.skip(f"no `dask` command in {BIN}: pip install -r requirements.txt")
    from distributed import Client

    root = tmp_path_factory.mktemp("dask")
    scheduler_file = root / "scheduler.json"
    with _services(root) as services:
        services.start("scheduler", [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                     "--scheduler-file", str(scheduler_file)])
        services.wait("dask scheduler", scheduler_file.is_file)
        for name in ("worker-1", "worker-2"):
            services.start(name, [dask_cli, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                                  "--nworkers", "1", "--no-dashboard", "--local-directory", "."])
        with Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address
        print(services.logs()[-6000:])  # shown when a test using the cluster failed


def test_dask_cluster_runs_the_jobs(dask_cluster, reference, sample_models, tmp_path, monkeypatch):
    expected, tokenizer = reference
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    flags = ["--runner=DaskRunner", f"--dask_client_address={dask_cluster}"]
    _assert_same(_run_jobs(launcher, sample_models, tokenizer, flags, monkeypatch), expected)


class _SplitOddEven(beam.DoFn):
    def process(self, x):
        yield beam.pvalue.TaggedOutput("odd", x) if x % 2 else x


class _SumInFinishBundle(beam.DoFn):
    def start_bundle(self):
        self._total = 0

    def process(self, x):
        self._total += x

    def finish_bundle(self):
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.windowed_value import WindowedValue

        yield WindowedValue(self._total, 0, (GlobalWindow(),))


def test_dask_runner_semantics(dask_cluster, tmp_path):
    """What Beam's own DaskRunner gets wrong (pipeline/launch/runners.py): each output of a multi-output
    ParDo reaches only its consumers, every sink runs, finish_bundle outputs and side inputs arrive."""
    def sink(name):
        def write(values):
            (tmp_path / name).write_text(repr(sorted(values)))
        return f"Write{name}" >> beam.Map(write)

    options = PipelineOptions(flags=["--runner=pipeline.launch.runners.DaskRunner",
                                     f"--dask_client_address={dask_cluster}"])
    with beam.Pipeline(options=options) as p:
        numbers = p | beam.Create(list(range(10))) | beam.Reshuffle()
        split = numbers | beam.ParDo(_SplitOddEven()).with_outputs("odd", main="even")
        _ = split.even | "Evens" >> beam.combiners.ToList() | sink("even")
        _ = split.odd | "Odds" >> beam.combiners.ToList() | sink("odd")
        total = numbers | "Sum" >> beam.ParDo(_SumInFinishBundle()) | "Total" >> beam.CombineGlobally(sum)
        _ = total | "TotalList" >> beam.Map(lambda t: [t]) | sink("total")
        size = numbers | "Size" >> beam.combiners.Count.Globally()
        _ = (p | "Keys" >> beam.Create(["a", "b"])
             | "WithSize" >> beam.Map(lambda k, n, evens: (k, n, len(evens)), beam.pvalue.AsSingleton(size),
                                      beam.pvalue.AsList(split.even))
             | "Pairs" >> beam.combiners.ToList() | sink("side"))
    assert (tmp_path / "even").read_text() == "[0, 2, 4, 6, 8]"
    assert (tmp_path / "odd").read_text() == "[1, 3, 5, 7, 9]"
    assert (tmp_path / "total").read_text() == "[45]"
    assert (tmp_path / "side").read_text() == "[('a', 10, 5), ('b', 10, 5)]"


def _fail_with_user_error(x):
    raise ValueError(f"model file {x} is damaged: run `make models`")


def test_dask_worker_user_error_is_one_line(dask_cluster):
    """A ValueError raised in a dask worker reaches the launcher as itself: one line, exit code 2."""
    from pipeline.launch.beam import beam_options, run_job

    flags = ["--runner=DaskRunner", f"--dask_client_address={dask_cluster}"]
    with pytest.raises(ValueError, match=r"^model file m\.bin is damaged: run `make models`"):
        run_job(beam_options(flags), lambda p: p | beam.Create(["m.bin"]) | beam.Map(_fail_with_user_error))


# --- fast checks without any engine -----------------------------------------------------------------


def test_dask_partitions_stay_bounded_through_iterated_joins():
    """Beam's DaskRunner doubles the partitions at every CoGroupByKey; ours keeps --dask_npartitions."""
    pytest.importorskip("dask.bag")
    from apache_beam.runners.dask.overrides import dask_overrides

    from pipeline.launch.runners import _Translator

    p = beam.Pipeline(options=PipelineOptions(flags=[]))
    pairs = p | beam.Create([(i % 5, i) for i in range(100)]) | beam.Reshuffle()
    for r in range(8):
        other = pairs | f"Copy{r}" >> beam.Map(lambda kv: kv)
        pairs = ({"a": pairs, "b": other} | f"Join{r}" >> beam.CoGroupByKey()
                 | f"Unnest{r}" >> beam.FlatMap(lambda kv: [(kv[0], v) for v in kv[1]["a"]]))
    p.replace_all(dask_overrides())
    translator = _Translator("job", 4, {})
    p.visit(translator)
    assert [bag.npartitions for bag in translator.leaves()] == [4]


def test_workers_flags():
    assert engine_flags(1, ["--x=1"]) == ["--x=1"]
    assert engine_flags(3, []) == ["--runner=FnApiRunner", "--direct_num_workers=3",
                                   "--direct_running_mode=multi_processing"]
    with pytest.raises(ValueError, match="at least 1"):
        engine_flags(0, [])
    with pytest.raises(ValueError, match="cannot be combined with --runner=PortableRunner"):
        engine_flags(2, ["--runner", "PortableRunner"])
    with pytest.raises(ValueError, match="not both"):
        engine_flags(2, ["--direct_num_workers=4"])
    assert resolve_runner([]) == ["--runner=FnApiRunner"]
    assert resolve_runner(["--runner", "DaskRunner", "--dask_client_address=tcp://h:1"]) == [
        "--dask_client_address=tcp://h:1", "--runner=pipeline.launch.runners.DaskRunner"]
    assert resolve_runner(["--runner=PortableRunner"]) == ["--runner=PortableRunner"]


def test_workers_flag_errors_are_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "tokenize", "--corpus", str(tmp_path), "--workers",
                             "2", "--runner=PortableRunner"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot be combined with --runner=PortableRunner" in result.stderr
