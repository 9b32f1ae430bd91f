"""Which engine runs a job: `--workers N` as Beam flags, and Beam's DaskRunner made safe for our jobs.

`engine_flags` turns `WORKERS=N` into the flags of the local engine that measured fastest on the
development machine (BENCHMARKS.md): Beam's FnApiRunner with N worker processes. Any other runner
is named with `--runner` and its own flags, which pass through to PipelineOptions untouched;
`--runner=DaskRunner` means `DaskRunner` below.

Beam 2.77's own DaskRunner (apache_beam.runners.dask) translates a pipeline into dask.bag calls.
Checked on a dask.distributed cluster (scheduler and workers as separate processes), it:

  - computes only the last transform it visits: a branch that does not lead into it (a second
    sink, an unconsumed output) never runs, and the job still reports success;
  - hands every output of a multi-output ParDo, of every tag, to every consumer;
  - drops the outputs a DoFn emits in finish_bundle;
  - treats Reshuffle as a no-op, and Create makes one partition per 128 elements: a job over 16
    files runs in one task on one worker;
  - keeps a GroupByKey's input partition count, and Flatten adds them up, so every CoGroupByKey (a
    Flatten and a GroupByKey) doubles the partitions: iterated joins multiply them until the
    launcher runs out of memory;
  - computes a side input in a nested compute inside each consuming task, so its upstream work
    runs again;
  - runs DoFn.setup for every partition; lets windowing, Beam's Read sources and stateful DoFns
    through untranslated or fails on them with a bare AssertionError; has no metrics.

`DaskRunner` keeps Beam's translation of Create and Flatten and replaces the rest: every leaf is
computed, each output of a multi-output ParDo reaches only its own consumers, finish_bundle
outputs are kept, side inputs are ordinary dependencies on the producing tasks, Reshuffle spreads
its input over `--dask_npartitions` partitions (default: twice the cluster's worker threads), a
GroupByKey's output has that many partitions whatever its input had, and a worker process sets up
a DoFn once per job and reuses it across bundles. The graph is computed unoptimized, because
dask's fusing renames shared tasks and a renamed copy would run a second time: every task, writes
to disk included, runs once. Stateful, timer and splittable DoFns, non-global windows and Read
sources are refused with a clear error. GroupByKey keys must be str, bytes, numbers or tuples of
them (dask partitions them by its deterministic `tokenize`); runner metrics are not collected.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
import uuid
from collections.abc import Iterable
from typing import Any

import apache_beam as beam
from apache_beam.internal import pickler
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor
from apache_beam.runners.common import Receiver
from apache_beam.runners.dask import overrides as beam_dask_overrides
from apache_beam.runners.runner import PipelineState
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

# FnApiRunner never reaches for the network; the name "DirectRunner" first tries to download Prism.
DEFAULT_RUNNER = "FnApiRunner"
RUNNER_ALIASES = {"DaskRunner": "pipeline.launch.runners.DaskRunner"}


def engine_flags(workers: int, beam_args: list[str]) -> list[str]:
    """The Beam flags for `workers` local worker processes, added to the user's own flags."""
    if workers < 1:
        raise ValueError(f"--workers {workers}: give a number of worker processes, at least 1 (WORKERS=N)")
    flags = list(beam_args)
    if workers == 1:
        return flags
    if _flag_value(flags, "runner") not in (None, DEFAULT_RUNNER):
        raise ValueError(f"--workers {workers} runs the job on local processes and cannot be combined with "
                         f"--runner={_flag_value(flags, 'runner')}: give that runner's own parallelism flags instead")
    if _flag_value(flags, "direct_num_workers") is not None:
        raise ValueError("give either --workers (WORKERS=N) or --direct_num_workers, not both")
    return flags + [f"--runner={DEFAULT_RUNNER}", f"--direct_num_workers={workers}",
                    "--direct_running_mode=multi_processing"]


def resolve_runner(flags: list[str]) -> list[str]:
    """The flags with the default runner added when none is named, and runner aliases resolved."""
    runner = _flag_value(flags, "runner")
    if runner is None:
        return [*flags, f"--runner={DEFAULT_RUNNER}"]
    if runner in RUNNER_ALIASES:
        return _without_flag(flags, "runner") + [f"--runner={RUNNER_ALIASES[runner]}"]
    return flags


def _flag_value(flags: list[str], name: str) -> str | None:
    """The value of `--name=value` or `--name value` in flags (the last one wins), or None."""
    value = None
    for i, flag in enumerate(flags):
        if flag.startswith(f"--{name}="):
            value = flag.split("=", 1)[1]
        elif flag == f"--{name}" and i + 1 < len(flags):
            value = flags[i + 1]
    return value


def _without_flag(flags: list[str], name: str) -> list[str]:
    out, skip = [], False
    for flag in flags:
        if skip:
            skip = False
        elif flag == f"--{name}":
            skip = True
        elif not flag.startswith(f"--{name}="):
            out.append(flag)
    return out


# ---------------------------------------------------------------------------------------------
# DaskRunner


class LocalDaskOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--dask_local_workers", type=int, default=None,
                            help="without --dask_client_address: start a local dask.distributed cluster of this many "
                                 "worker processes (one thread each) for the job (default: the machine's cores)")


def _global(value: Any) -> WindowedValue:
    return WindowedValue(value, 0, (GlobalWindow(),))


class _Collect:
    """The receivers of one bundle: every output as its value, or as (tag, value) for a ParDo
    with several outputs, whose consumers then take only their own tag."""

    def __init__(self, tagged: bool) -> None:
        self.values: list[Any] = []
        self._tagged = tagged

    def __getitem__(self, tag: str | None) -> _Receiver:
        return _Receiver(self, tag)


class _Receiver(Receiver):
    def __init__(self, collect: _Collect, tag: str | None) -> None:
        super().__init__()
        self._collect, self._tag = collect, tag

    def receive(self, windowed_value: WindowedValue) -> None:
        value = windowed_value.value
        self._collect.values.append((self._tag, value) if self._collect._tagged else value)


@dataclasses.dataclass(frozen=True)
class _ParDoSpec:
    key: str  # the job and the transform: set-up DoFns are reused by key within a worker process
    fn: beam.DoFn
    label: str
    args: tuple
    kwargs: dict
    side_views: tuple  # (view class, view options, number of partitions) per side input
    tagged: bool


# Set-up DoFns of the current job in this worker process, by spec key: setup() once per worker
# and job, as Beam's other runners do (models load in setup).
_POOL: dict[str, list[beam.DoFn]] = {}
_POOL_LOCK = threading.Lock()


def _take_fn(spec: _ParDoSpec) -> tuple[beam.DoFn, bool]:
    job = spec.key.split("/", 1)[0]
    with _POOL_LOCK:
        for key in [k for k in _POOL if not k.startswith(job + "/")]:  # an earlier job's DoFns
            for fn in _POOL.pop(key):
                fn.teardown()
        idle = _POOL.get(spec.key)
        if idle:
            return idle.pop(), False
    # A copy, as Beam's workers make one per DoFn instance: threads of one worker never share it.
    return pickler.loads(pickler.dumps(spec.fn)), True


def _give_back(spec: _ParDoSpec, fn: beam.DoFn) -> None:
    with _POOL_LOCK:
        _POOL.setdefault(spec.key, []).append(fn)


def _run_bundle(items: Iterable[Any], spec: _ParDoSpec, *side_parts: list) -> list:
    """One dask partition through the DoFn as one bundle."""
    from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, _OutputHandler

    fn, fresh = _take_fn(spec)
    collect = _Collect(spec.tagged)
    handler = _OutputHandler(
        window_fn=None, main_receivers=collect[None], tagged_receivers=collect, per_element_output_counter=None,
        output_batch_converter=None, process_yields_batches=False, process_batch_yields_elements=False)
    sides, start = [], 0
    for view, options, num_parts in spec.side_views:
        values = [_global(v) for part in side_parts[start:start + num_parts] for v in part]
        sides.append(SideInputMap(view, options, values))
        start += num_parts
    invoker = DoFnInvoker.create_invoker(
        DoFnSignature(fn), handler, context=DoFnContext(spec.label, state=None), side_inputs=sides,
        input_args=list(spec.args), input_kwargs=spec.kwargs, user_state_context=None,
        bundle_finalizer_param=beam.DoFn.BundleFinalizerParam())
    if fresh:
        invoker.invoke_setup()
    try:
        invoker.invoke_start_bundle()
        for item in items:
            invoker.invoke_process(item if isinstance(item, WindowedValue) else _global(item))
        invoker.invoke_finish_bundle()
    except BaseException:
        invoker.invoke_teardown()
        raise
    _give_back(spec, fn)
    return collect.values


def _has_tag(tag: str | None, item: tuple) -> bool:
    return item[0] == tag


def _second(item: tuple) -> Any:
    return item[1]


def _key(item: tuple) -> Any:
    return item[0]


def _grouped(item: tuple) -> tuple:
    key, pairs = item
    return key, [value.value if isinstance(value, WindowedValue) else value for _, value in pairs]


def _drain(partition: Iterable[Any]) -> list:
    for _ in partition:
        pass
    return []


def _into_global_window(transform: beam.PTransform) -> bool:
    return isinstance(transform, beam.WindowInto) and isinstance(transform.windowing.windowfn, GlobalWindows)


class _Translator(PipelineVisitor):
    """One dask bag per PCollection; the leaves are what the job computes."""

    def __init__(self, job: str, npartitions: int, bag_kwargs: dict) -> None:
        self.bags: dict[int, Any] = {}  # by id() of the PCollection
        self.consumed: set[int] = set()
        self._job, self._npartitions, self._bag_kwargs = job, npartitions, bag_kwargs

    def leaves(self) -> list:
        return [bag.map_partitions(_drain) for pcoll, bag in self.bags.items() if pcoll not in self.consumed]

    def visit_transform(self, node: AppliedPTransform) -> None:
        transform = node.transform
        inputs = [self._input(pc) for pc in node.inputs if isinstance(pc, beam.pvalue.PCollection)]
        outputs = dict(node.outputs)
        if isinstance(transform, beam_dask_overrides._Create):
            from apache_beam.runners.dask.transform_evaluator import Create

            bag = Create(node, bag_kwargs=self._bag_kwargs).apply(None)
        elif isinstance(transform, beam_dask_overrides._Flatten):
            bag = self._flatten(inputs)
        elif isinstance(transform, beam_dask_overrides._GroupByKeyOnly):
            bag = (self._spread(inputs[0])
                   .groupby(_key, shuffle="tasks", max_branch=max(32, self._npartitions))
                   .map(_grouped))
        elif isinstance(transform, beam_dask_overrides._Reshuffle):
            bag = self._spread(inputs[0])
        elif isinstance(transform, beam_dask_overrides._GroupAlsoByWindow) or _into_global_window(transform):
            bag = inputs[0]  # GroupByKey above already grouped, in the global window
        elif isinstance(transform, beam.ParDo) and not isinstance(transform, beam.WindowInto):
            bag = self._pardo(node, inputs[0], outputs)
        else:
            raise NotImplementedError(f"the DaskRunner cannot run {node.full_label!r} ({type(transform).__name__}): "
                                      "it runs Create, ParDo, GroupByKey, Flatten and Reshuffle in the global window "
                                      "(read files in a ParDo)")
        for tag, pcoll in outputs.items():
            self.bags[id(pcoll)] = (bag if len(outputs) == 1
                                    else bag.filter(functools.partial(_has_tag, tag)).map(_second))

    def _input(self, pcoll):
        self.consumed.add(id(pcoll))
        return self.bags[id(pcoll)]

    def _flatten(self, inputs: list):
        import dask.bag as db

        return db.concat(inputs) if inputs else db.from_sequence([], npartitions=1)

    def _spread(self, bag):
        return bag if bag.npartitions == self._npartitions else bag.repartition(npartitions=self._npartitions)

    def _pardo(self, node: AppliedPTransform, bag, outputs: dict):
        from apache_beam.runners.common import DoFnSignature

        transform = node.transform
        signature = DoFnSignature(transform.fn)
        if signature.is_stateful_dofn() or signature.has_timers() or signature.is_splittable_dofn():
            raise NotImplementedError(f"the DaskRunner cannot run {node.full_label!r}: stateful, timer and "
                                      "splittable DoFns are not supported")
        args, kwargs = transform.raw_side_inputs
        sides = list(node.side_inputs)
        # Side inputs as the partitions of their bags: to_delayed() reuses the bag's tasks, where
        # dask.delayed(bag) or a reduction to an Item would compute them a second time.
        side_parts = [self._input(si.pvalue).to_delayed(optimize_graph=False) for si in sides]
        spec = _ParDoSpec(
            key=f"{self._job}/{node.full_label}", fn=transform.fn, label=node.full_label, args=tuple(args),
            kwargs=kwargs,
            side_views=tuple((type(si), si._view_options(), len(parts))
                             for si, parts in zip(sides, side_parts, strict=True)),
            tagged=len(outputs) > 1)
        return bag.map_partitions(_run_bundle, spec, *[part for parts in side_parts for part in parts])


def __getattr__(name: str) -> Any:
    """`DaskRunner`, built on first use: Beam's DaskRunner module imports dask.distributed (half a
    second), which no other job should pay for."""
    if name == "DaskRunner":
        return _dask_runner_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _dask_runner_class() -> type:
    from apache_beam.runners.dask import dask_runner as beam_dask

    @dataclasses.dataclass
    class DaskRunnerResult(beam_dask.DaskRunnerResult):
        cluster: Any = None

        def wait_until_finish(self, duration=None) -> str:
            try:
                return super().wait_until_finish(duration)
            finally:
                if self._state != PipelineState.RUNNING:
                    self.client.close()
                    if self.cluster is not None:
                        self.cluster.close()

    class DaskRunner(beam_dask.DaskRunner):
        """Beam's DaskRunner with the translation fixed (see pipeline/launch/runners.py)."""

        def run_pipeline(self, pipeline, options):
            import dask.distributed as ddist

            dask_options = options.view_as(beam_dask.DaskOptions).get_all_options(drop_default=True, current_only=True)
            bag_kwargs = beam_dask.DaskOptions._extract_bag_kwargs(dask_options)
            cluster = None
            if not dask_options.get("address") and not dask_options.get("scheduler_file"):
                workers = options.view_as(LocalDaskOptions).dask_local_workers
                cluster = ddist.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None)
                dask_options["address"] = cluster
            client = ddist.Client(**dask_options)
            npartitions = bag_kwargs.get("npartitions") or 2 * max(1, sum(client.nthreads().values()))
            pipeline.replace_all(beam_dask_overrides.dask_overrides())
            translator = _Translator(uuid.uuid4().hex, npartitions, bag_kwargs)
            pipeline.visit(translator)
            # Unoptimized: dask's optimizer fuses and renames tasks per collection type, and a task
            # reached under two names (a side input's and a main input's) would run twice; every
            # ParDo with side effects (staged files, shards) must run once.
            futures = client.compute(translator.leaves(), optimize_graph=False)
            return DaskRunnerResult(client, futures, cluster)

    DaskRunner.__module__ = DaskRunnerResult.__module__ = __name__
    return DaskRunner
