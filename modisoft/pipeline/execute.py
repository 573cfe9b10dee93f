"""Where the run's tasks execute: the dask.distributed cluster, the pieces of the output, and
one task per date (pass 1) or piece (pass 2), each computed whole inside one worker process.

On a cluster each task rebuilds the run's work from the config once per worker process
(:data:`_WORKER_WORK`), computes with the synchronous scheduler, and hands its freed memory
back to the system, so intermediate arrays never cross between processes and the scheduler
sees a few dozen tasks instead of tens of thousands.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from modisoft.pipeline.inventory import discover
from modisoft.pipeline.memory import release_memory
from modisoft.pipeline.plan import tasks_in_flight
from modisoft.pipeline.schema import ConfigError, RunConfig, resolve_grid
from modisoft.pipeline.series import lost_in_series, output_stores, split_output
from modisoft.pipeline.staging import NoManifest, Staged, prepare

__all__ = ["cluster", "restart_workers", "run_tasks"]


@contextlib.contextmanager
def cluster(cfg: RunConfig, scheduler: str | None, workers: int | None,
            memory_limit: str | None, echo: Callable[[str], None]) -> Iterator[Any]:
    """A dask.distributed client: an existing scheduler, a LocalCluster of processes, or
    none (``workers = 0``: the synchronous scheduler, for small runs and debugging).

    Parameters
    ----------
    cfg
        The run configuration (``[compute]``).
    scheduler, workers, memory_limit
        Overrides of ``[compute]`` scheduler, workers and memory_limit (``None``: keep).
    echo
        Where the dashboard address goes.

    Yields
    ------
    distributed.Client or None

    Raises
    ------
    ConfigError
        When a cluster is asked for and dask.distributed is not installed.
    """
    import dask

    address = scheduler or cfg.compute.scheduler
    n = cfg.compute.workers if workers is None else workers
    if not address and n == 0:
        with dask.config.set(scheduler="synchronous"):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("[compute] needs dask.distributed: pip install 'modisoft[distributed]'"
                          " (or workers = 0 for the synchronous scheduler)") from None
    for name in ("distributed", "distributed.scheduler", "distributed.nanny",
                 "distributed.worker", "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    if address:
        with Client(address) as client:
            echo(f"scheduler {address}; dashboard {client.dashboard_link}")
            yield client
        return
    # distributed's nannies export MALLOC_TRIM_THRESHOLD_, which switches off glibc's dynamic
    # mmap threshold: every large numpy temporary then is a fresh mmap, page-faulted anew.
    # Our tasks allocate many (one piece or one date each); measured 2.1x slower per task.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    # the worker processes log to the terminal themselves: at the default level, not even
    # their errors (a heartbeat cut by the cluster's own shutdown); a task's failure reaches
    # the run through its result, and -v shows them all
    quiet = logging.getLogger("modisoft").getEffectiveLevel() > logging.INFO
    prior = os.environ.get("DASK_LOGGING__DISTRIBUTED")
    environ["DASK_LOGGING__DISTRIBUTED"] = "critical" if quiet else (prior or "info")
    own: list[Any] = []  # the LocalCluster and its client; replaced by restart_workers

    def start() -> Any:
        lc = LocalCluster(n_workers=n, threads_per_worker=cfg.compute.threads_per_worker,
                          memory_limit=memory_limit or cfg.compute.memory_limit,
                          processes=True, dashboard_address=":0")
        own[:] = [lc, Client(lc)]
        own[1].register_plugin(_ignore_interrupt())
        _FRESH[id(own[1])] = fresh
        return own[1]

    def fresh() -> Any:
        _FRESH.pop(id(own[1]), None)
        own[1].close()
        own[0].close()
        return start()

    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        try:
            # the first worker processes ignore Ctrl-C from their start (an ignored signal
            # stays ignored in a spawned child; later ones through the plugin): the main
            # process alone stops them, so an interrupt prints one line, not a traceback each
            with _sigint_ignored():
                client = start()
            with _quiet_on_interrupt():
                echo(f"LocalCluster: {n} worker processes; dashboard {client.dashboard_link}")
                yield client
        finally:
            if own:
                _FRESH.pop(id(own[1]), None)
                own[1].close()
                own[0].close()
            # the nannies put the worker environment into this process's: take it back
            if prior is None:
                os.environ.pop("DASK_LOGGING__DISTRIBUTED", None)
            else:
                os.environ["DASK_LOGGING__DISTRIBUTED"] = prior


_FRESH: dict[int, Callable[[], Any]] = {}  # client id -> replace the LocalCluster behind it


@contextlib.contextmanager
def _quiet_on_interrupt() -> Iterator[None]:
    """On Ctrl-C, silence the cluster's own loggers before anything unwinds: the scheduler
    logs the gathers the interrupt cancelled ("Couldn't gather keys ... forgotten") while the
    client closes, and the run says once, itself, that it was interrupted."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(_signum: int, _frame: Any) -> None:
        for name in ("distributed", "tornado", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def restart_workers(client: Any) -> Any:
    """Fresh worker processes for a run's own LocalCluster, so what a pass left in the
    workers' heaps goes: the cluster is closed and a new one started with the same settings.
    Returns the client to go on with (the given one for an external scheduler's cluster,
    whose workers are left alone, or without a cluster).

    Neither ``client.restart()`` nor scaling the cluster to none and back: the first once left
    a CI run waiting for workers that never came back (and in a loop its 19th restart of one
    cluster always did; dask/distributed#8534), the second once broke the cluster's own
    bookkeeping of its workers (a ``KeyError`` when a removed worker was reported); starting
    and closing a LocalCluster is the path every dask user takes."""
    replace = _FRESH.get(id(client))
    if replace is None:
        return client
    new = replace()
    logging.getLogger("modisoft").info("new worker processes: dashboard %s", new.dashboard_link)
    return new


def _ignore_interrupt() -> Any:
    """A worker plugin: the worker process ignores Ctrl-C (the main process alone stops the
    run). The scheduler hands it to every worker that joins, the replaced ones included."""
    from distributed import WorkerPlugin

    class IgnoreInterrupt(WorkerPlugin):
        name = "modisoft-ignore-interrupt"

        def setup(self, worker: Any) -> None:
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreInterrupt()


def run_tasks(cfg: RunConfig, work: Any, kind: str, todo: list,
              client: Any) -> Iterator[tuple[str, dict[str, int]]]:
    """Run ``todo`` (``(manifest key, argument)``) tasks of ``kind`` (``"stage"``: a date of
    pass 1, ``"piece"``: a piece of pass 2); yield each key as soon as its work is on disk,
    with the pixels it lost per date (see :func:`_do`).

    Without a client the tasks run here on ``work``, one after the other, on the synchronous
    scheduler. With a dask.distributed client each is one task: the worker rebuilds the work from
    the config (once per process) and computes it with the synchronous scheduler, so
    intermediate arrays never cross between processes; the scheduler holds at most
    :func:`tasks_in_flight` of them at once (the next is submitted as one finishes), however
    many dates and pieces the run has.
    """
    if client is None:
        for key, arg in todo:
            yield key, _do(cfg, work, kind, arg)
        return
    from distributed import as_completed

    keys: dict[str, str] = {}

    def submit(key: str, arg: Any) -> Any:
        fut = client.submit(_task, cfg, kind, arg, key=f"modisoft-{key}-{cfg.digest()[:12]}",
                            pure=False, retries=1)
        keys[fut.key] = key
        return fut

    left = iter(todo)
    window = tasks_in_flight(client)
    running = as_completed([submit(key, arg) for key, arg in itertools.islice(left, window)])
    for fut in running:
        key = keys.pop(fut.key)
        result = fut.result()  # re-raises a worker's error here
        nxt = next(left, None)
        if nxt is not None:
            running.add(submit(*nxt))
        yield key, result



_WORKER_WORK: dict[str, Any] = {}


def _task(cfg: RunConfig, kind: str, arg: Any) -> Any:
    """One task on a worker: the run's work (built once per process), then :func:`_do`.

    A piece of a two-pass run drops the in-memory resample plans a mosaic task left (it
    reads the stage only; an empty cache costs nothing), and every task hands its freed
    memory back to the system, so what a worker holds does not creep up with the number of
    tasks it has run.
    """
    import dask

    ident = cfg.digest() + "|" + str(cfg.resolve(cfg.output.dir))
    work = _WORKER_WORK.get(ident)
    if work is None:
        # a task cancelled because the run was interrupted is not a warning of every
        # worker: the run says once that it was interrupted
        logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)
        _WORKER_WORK.clear()
        with dask.config.set(scheduler="synchronous"):
            if cfg.steps.lai == "retrieve":
                work = prepare(cfg, discover(cfg), NoManifest(), lambda _m: None,
                               resolve_grid(cfg))
            else:  # opens no granule until a date needs it
                work = Staged(cfg, resolve_grid(cfg), discover(cfg))
        _WORKER_WORK[ident] = work
    if kind == "piece" and isinstance(work, Staged):  # a single-pass piece mosaics itself
        from modisoft.warp.plan import clear_plan_memory

        clear_plan_memory()
    try:
        return _do(cfg, work, kind, arg)
    finally:
        release_memory()


def _do(cfg: RunConfig, work: Any, kind: str, arg: Any) -> dict[str, int]:
    """Stage date ``arg`` (``kind = "stage"``) or compute and write piece ``arg``; return the
    pixels it lost per date (:func:`~modisoft.pipeline.mosaic.lost_in_mosaic`,
    :func:`~modisoft.pipeline.series.lost_in_series`)."""
    import dask

    from modisoft.write import write_zarr_region

    with dask.config.set(scheduler="synchronous"):
        if kind == "stage":
            return work.stage_date(arg)
        stores = output_stores(cfg)
        out, values, w = work.piece(arg)
        if values is None:
            out = out.compute()
        else:
            out, values, w = dask.compute(out, values, w)
        lost = lost_in_series(cfg, out, values, w)
        for key, part in split_output(out, cfg).items():
            write_zarr_region(part, stores[key])
        return lost
