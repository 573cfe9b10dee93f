"""Where the run's tasks execute (on the cluster of :mod:`~modisoft.pipeline.pool`): one task
per date (pass 1) or piece (pass 2), each computed whole inside one worker process.

On a cluster each task rebuilds the run's work from the config once per worker process
(:data:`_WORKER_WORK`), computes with the synchronous scheduler, and hands its freed memory
back to the system, so intermediate arrays never cross between processes and the scheduler
sees a few dozen tasks instead of tens of thousands.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

from modisoft.pipeline.inventory import discover
from modisoft.pipeline.memory import release_memory
from modisoft.pipeline.plan import tasks_in_flight
from modisoft.pipeline.schema import RunConfig, resolve_grid
from modisoft.pipeline.series import lost_in_series, output_stores, split_output
from modisoft.pipeline.staging import NoManifest, Staged, prepare

__all__ = ["run_tasks"]


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
