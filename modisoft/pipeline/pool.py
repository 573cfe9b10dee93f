"""The dask.distributed cluster a run computes on: an existing scheduler, a LocalCluster of
worker processes started for the run (quiet, ignoring Ctrl-C, replaced by fresh processes
between the run's passes), or none.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from modisoft.pipeline.schema import ConfigError, RunConfig

__all__ = ["cluster", "restart_workers"]


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
            _warn_if_pausing(client, echo)
            yield client
        return
    # distributed's nannies export MALLOC_TRIM_THRESHOLD_, which switches off glibc's dynamic
    # mmap threshold: every large numpy temporary then is a fresh mmap, page-faulted anew.
    # Our tasks allocate many (one piece or one date each); measured 2.1x slower per task.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    # nor from this process's environment, where any earlier LocalCluster's nannies left it
    # (a benchmark's, a notebook's): the workers inherit it from there (seen: each mosaic date
    # of the China year 1.6x slower after the benchmark's own decode-floor cluster)
    trim = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
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
        _close(own)
        return start()

    # no pausing: a worker paused at 80 % of its memory limit waits for dask-managed data to
    # be spilled, and a run's task results are a few bytes (its memory is the heap a task
    # left), so a paused worker never resumes and the run hangs silently (seen: 22 China
    # tiles, 1.5 GiB workers, both paused at 1.21 GiB). Over 95 % the nanny still restarts
    # it, and the task is retried or its failure reported.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ,
                          "distributed.worker.memory.pause": False}):
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
            _close(own)
            # the nannies put the worker environment into this process's: take it back
            if prior is None:
                os.environ.pop("DASK_LOGGING__DISTRIBUTED", None)
            else:
                os.environ["DASK_LOGGING__DISTRIBUTED"] = prior
            if trim is not None:
                os.environ["MALLOC_TRIM_THRESHOLD_"] = trim


def _warn_if_pausing(client: Any, echo: Callable[[str], None]) -> None:
    """Say so when workers of an existing cluster pause (see the LocalCluster's settings
    below): a run's memory is the heap its tasks leave, which no spilling frees, so a paused
    worker never resumes and the run would wait without a word."""
    try:
        fractions = client.run(_pause_fraction)
    except Exception:  # a check only: the run says itself if its workers fail
        return
    pausing = sorted(w for w, f in fractions.items() if f)
    if pausing:
        echo(f"warning: {len(pausing)} of {len(fractions)} workers pause at "
             f"{fractions[pausing[0]]:.0%} of their memory limit (e.g. {pausing[0]}); a paused "
             "worker may never resume during a run: start them with "
             "DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE=False (see the cluster how-to)")


def _pause_fraction(dask_worker: Any) -> float | bool:
    return dask_worker.memory_manager.memory_pause_fraction


_FRESH: dict[int, Callable[[], Any]] = {}  # client id -> replace the LocalCluster behind it


def _close(own: list[Any]) -> None:
    """Close a LocalCluster and its client (``[cluster, client]``, emptied) without the nanny's
    "still alive after 4 seconds, killing" warning: the process is killed, as it must be."""
    if not own:
        return
    nanny = logging.getLogger("distributed.nanny")
    level = nanny.level
    nanny.setLevel(logging.ERROR)
    try:
        _FRESH.pop(id(own[1]), None)
        own[1].close()
        own[0].close()
    finally:
        nanny.setLevel(level)
        own.clear()


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
