"""A national run: granules → QA → mosaic → composite/smooth → LAI → Zarr, NetCDF, COG, BEPS.

:func:`run` sequences the stages (:mod:`~modisoft.pipeline.inventory`,
:mod:`~modisoft.pipeline.inputs`, :mod:`~modisoft.pipeline.qa`,
:mod:`~modisoft.pipeline.mosaic`, :mod:`~modisoft.pipeline.series`,
:mod:`~modisoft.pipeline.lai`, :mod:`~modisoft.pipeline.outputs`, last
:mod:`~modisoft.pipeline.summary`: the summary and ``report.html``) and owns the cluster and the
manifest. On a dask.distributed cluster each date and each piece is one task computed entirely
inside one worker process (:mod:`~modisoft.pipeline.execute`). Every finished date and piece is
recorded in the run manifest; a rerun after a crash or ``kill -9`` skips finished work and
rewrites identical bytes for the rest.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from modisoft.pipeline.execute import run_tasks
from modisoft.pipeline.fetch import fetch_inputs
from modisoft.pipeline.inputs import lai_layers
from modisoft.pipeline.inventory import checked_inventory, describe_inventory
from modisoft.pipeline.limits import check_before_run
from modisoft.pipeline.manifest import Manifest
from modisoft.pipeline.memory import release_memory
from modisoft.pipeline.outputs import (
    RunSummary,
    lost_by_date,
    missing_inputs,
    run_provenance,
    write_period_outputs,
)
from modisoft.pipeline.plan import plan_pieces, record_costs
from modisoft.pipeline.pool import cluster, restart_workers
from modisoft.pipeline.schema import RunConfig
from modisoft.pipeline.series import output_stores, split_output
from modisoft.pipeline.staging import prepare
from modisoft.pipeline.summary import finish_run

__all__ = ["RunSummary", "run"]


def run(cfg: RunConfig, *, force: bool = False, scheduler: str | None = None,
        workers: int | None = None, memory_limit: str | None = None, progress: bool = True,
        echo: Callable[[str], None] = print) -> RunSummary:
    """Run a configuration end to end; resumable.

    Parameters
    ----------
    cfg
        From :func:`~modisoft.pipeline.load_config`.
    force
        Recompute everything even when the manifest says it is done.
    scheduler, workers, memory_limit
        Override ``[compute]``: an existing scheduler address, the number of worker
        processes of the LocalCluster (0: no cluster, synchronous), memory per worker.
    progress
        Show progress bars.
    echo
        Where messages go (``print`` by default).

    Returns
    -------
    RunSummary
        Its ``exit_code`` is 0 when everything requested was produced from every input, 3
        when outputs were written but inputs failed or tile-dates are missing.

    Raises
    ------
    ConfigError
        Before any work, for what the run cannot do: a bad override, a grid, piece or date
        over the limits (``docs/reference/config.md``), missing inputs, an output folder
        that cannot be written; or an output folder holding another configuration's outputs
        (:class:`~modisoft.errors.ConfigChangedError`; ``force`` replaces them).
    OutputInUseError
        Another run holds the output folder.
    NoReadableInputError
        Not one granule could be read.
    """
    from modisoft.write.folder import claim_output_dir

    if cfg.steps.lai == "product":
        lai_layers(cfg)  # the LAI guard
    # fail fast: the grid, the overrides, memory and paths, then the dates found (no work yet)
    over = {"workers": workers, "memory_limit": memory_limit, "scheduler": scheduler}
    grid = check_before_run(cfg, **over)
    inv = None if cfg.inputs.download else checked_inventory(cfg, grid, over)
    out_dir = cfg.resolve(cfg.output.dir)
    with claim_output_dir(out_dir) as stale:  # download = true: fetch, then the inventory
        if inv is None:
            inv = checked_inventory(cfg, grid, over, fetch_inputs(cfg, grid, echo, progress))
        if stale:
            echo(f"removed {len(stale)} temporary file(s) left by an interrupted run")
        return _run(cfg, out_dir, grid, inv, force, over, progress, echo)


def _run(cfg: RunConfig, out_dir: Any, grid: Any, inv: Any, force: bool,
         over: dict[str, Any], progress: bool, echo: Callable[[str], None]) -> RunSummary:
    import click

    from modisoft import write

    t0 = time.perf_counter()
    summary = RunSummary()
    manifest = Manifest(out_dir / "modisoft-run.json", cfg.digest(), force=force,
                        config=cfg.as_dict())
    if manifest.replaced:
        echo(f"--force: replacing the outputs of another configuration in {out_dir} "
             f"({manifest.replaced['done']} finished piece(s); changed: "
             f"{', '.join(manifest.replaced['changed']) or 'unknown keys'})")
    if manifest.resumed:
        echo(f"resuming: {len(manifest.data['done'])} finished piece(s) recorded in "
             f"{manifest.path}")
    for path, reason in inv.failed:
        manifest.add_failure(path, reason, "inventory")
    summary.inventory = inv.report()
    echo(summary.inventory)
    manifest.data["inventory"] = describe_inventory(inv)
    manifest.save()
    work = prepare(cfg, inv, manifest, echo, grid)
    if manifest.check_inputs(work.used):
        echo("the usable inputs changed since the last run (a granule was replaced, added or "
             "removed): computing everything again")
    summary.timings["discover+open"] = time.perf_counter() - t0
    prov = run_provenance(cfg, work.used, manifest, grid, work.retrieval)
    stores, chunk = output_stores(cfg), cfg.output.chunk
    fresh = force or (not manifest.is_done("zarr") and not manifest.data["done"])
    for key, part in split_output(work.full, cfg).items():  # the run's store (and the BEPS one)
        # lat/lon: each piece writes its own, in the workers (nothing grid-sized here)
        write.create_zarr(part, stores[key], chunks={"time": -1, "y": chunk, "x": chunk},
                    provenance=prov, if_exists="overwrite" if fresh else "keep",
                    zarr_format=cfg.output.zarr_format, coords="per_region")
    release_memory()
    pieces = plan_pieces(cfg, grid)
    summary.bands_total = len(pieces)
    with cluster(cfg, over["scheduler"], over["workers"], over["memory_limit"],
                 echo) as client:
        summary.dashboard = getattr(client, "dashboard_link", None)
        todo = [(key, box) for key, box in pieces if not manifest.is_done(key)]
        summary.bands_skipped = len(pieces) - len(todo)
        if todo and work.dates:
            t1 = time.perf_counter()
            if not work.stage_ok():  # absent (or deleted): every date again
                manifest.data["done"] = [k for k in manifest.data["done"]
                                         if not k.startswith("stage:")]
                work.create_stage()
            dates = [(f"stage:{arg[0]}", arg) for arg in work.stage_args()]
            left = [(key, k) for key, k in dates if not manifest.is_done(key)]
            with click.progressbar(length=len(dates), label="mosaic dates", show_pos=True,
                                   file=None if progress else io.StringIO()) as bar:
                bar.update(len(dates) - len(left))
                for key, lost in run_tasks(cfg, work, "stage", left, client):
                    manifest.data.setdefault("lost", {})[key] = lost
                    manifest.mark_done(key)
                    bar.update(1)
            if left:
                # our own LocalCluster: fresh worker processes for the pieces, so what the
                # mosaic pass left in a worker's heap (it grows with the tiles per date)
                # does not add to the piece pass (an external cluster is left alone)
                client = restart_workers(client)
            summary.timings["QA+mosaic (per date)"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        with click.progressbar(length=len(pieces), label="pieces", show_pos=True,
                               file=None if progress else io.StringIO()) as bar:
            bar.update(summary.bands_skipped)
            for key, lost in run_tasks(cfg, work, "piece", todo, client):
                manifest.data.setdefault("lost", {})[key] = lost
                manifest.mark_done(key)
                bar.update(1)
        summary.timings["time series+zarr (per piece)" if work.dates else
                        "mosaic+time series+zarr"] = time.perf_counter() - t1
        threads = sum(client.nthreads().values()) if client is not None else 0
        summary.lost = lost_by_date(manifest, work)
        prov.extra["pixel_check"] = summary.pixel_check()
        if not manifest.is_done("zarr"):
            for path in stores.values():
                write.finalize_zarr(path, provenance=prov)
            manifest.mark_done("zarr")
        if work.dates:
            work.remove_stage()
        summary.outputs["zarr"] = [str(p) for p in stores.values()]
        client = restart_workers(client)  # our own LocalCluster: what the pieces left goes
        # per-period files are read back from the store by one worker (here without a
        # cluster), window by window: this process holds none of them
        t2 = time.perf_counter()
        write_period_outputs(cfg, stores, out_dir, prov, manifest, summary, progress, (
            write.write_netcdf, write.write_cog, write.write_beps, write.BepsOptions),
            client, threads)
        summary.timings["per-period outputs"] = time.perf_counter() - t2
        assert all(write.zarr_status(p) == "complete" for p in stores.values())
        summary.failures = manifest.failures
        if not manifest.resumed and not summary.bands_skipped:  # all of it computed here
            record_costs(cfg, grid, inv, work.used, summary.timings, threads, str(out_dir))
        summary.missing = missing_inputs(cfg, work.used, manifest)
        return finish_run(cfg, out_dir, manifest, summary, work, t0, echo,
                          client)  # + report.html (by a worker)

