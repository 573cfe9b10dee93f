"""What a run will do, before it does it: its pieces, its tasks (in all and held by the
scheduler at once), memory per task, disk, and a wall time estimated from the costs the
last complete run measured on this machine (``modisoft run CONFIG --plan``).

Nothing here reads a granule or writes an output: the plan of a global year comes from the
config, the tiling and the product's calendar alone, in seconds. The costs are recorded by
every run that computed all its work (:func:`record_costs`) in ``run-costs.json`` of the
user's cache folder (``$XDG_CACHE_HOME/modisoft``, else ``~/.cache/modisoft``; or
``$MODISOFT_CACHE_DIR``), as CPU-seconds per granule of the mosaic pass, per pixel-date of the
piece pass and per pixel-period of the per-period outputs.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modisoft.pipeline.limits import (
    SERIES_BYTES,
    STAGE_BYTES,
    check_grid,
    check_size,
    disk_need,
    fmt_bytes,
    planned_dates,
)
from modisoft.pipeline.schema import ConfigError, RunConfig
from modisoft.pipeline.validate import check_compute

__all__ = ["TASKS_PER_THREAD", "RunPlan", "cost_file", "plan_pieces", "plan_run",
           "record_costs", "tasks_in_flight"]

_PIECE_CHUNKS = 1
"""Output chunks per piece along x: a piece is a row band (``band_rows``) of this many."""

TASKS_PER_THREAD = 2
"""Tasks of a run the scheduler holds at once, per worker thread: enough that no thread
waits for its next task, few enough that the graph stays bounded whatever the run's size (a
global year has thousands of pieces; the scheduler holds 2 per thread of them)."""


def tasks_in_flight(client: Any, threads: int | None = None) -> int:
    """How many of a run's tasks are submitted at once: :data:`TASKS_PER_THREAD` per worker
    thread of ``client``'s cluster (``threads`` when there is no client), at least 2."""
    if threads is None:
        threads = sum(client.nthreads().values()) if client is not None else 1
    return max(2, TASKS_PER_THREAD * threads)


def plan_pieces(cfg: RunConfig, grid: Any) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The run's pieces of work: (manifest key, (row0, row1, col0, col1)), chunk-aligned.

    Parameters
    ----------
    cfg
        The run configuration (``[output] chunk``, ``[compute] band_rows``).
    grid
        The output grid.

    Returns
    -------
    list of (str, (int, int, int, int))

    Raises
    ------
    ConfigError
        When ``band_rows`` is not a multiple of the chunk.
    """
    chunk = cfg.output.chunk
    band = cfg.compute.band_rows or chunk
    if band % chunk:
        raise ConfigError(f"[compute] band_rows {band} must be a multiple of [output] chunk "
                          f"{chunk}")
    ny, nx = grid.shape
    width = chunk * _PIECE_CHUNKS
    return [(f"zarr:band:{i}:{j}", (r, min(r + band, ny), c, min(c + width, nx)))
            for i, r in enumerate(range(0, ny, band))
            for j, c in enumerate(range(0, nx, width))]


def cost_file() -> Path:
    """Where this machine's measured run costs are kept (see the module's docstring)."""
    base = os.environ.get("MODISOFT_CACHE_DIR")
    if base:
        return Path(base) / "run-costs.json"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "modisoft" / "run-costs.json"


_KEEP = 20
"""Runs kept in the cost file (the newest; one per output folder)."""


def record_costs(cfg: RunConfig, grid: Any, inv: Any, used: list, timings: dict[str, float],
                 threads: int, label: str) -> None:
    """Keep the costs of a run that computed all its work, for :func:`plan_run`'s estimate
    (a cache: a folder that cannot be written is skipped silently).

    Parameters
    ----------
    cfg, grid
        The run's config and output grid.
    inv, used
        Its inventory (the dates it had) and the granules it used.
    timings
        Its :attr:`~modisoft.pipeline.RunSummary.timings` (wall seconds per stage).
    threads
        Worker threads it computed with (0: no cluster, this process).
    label
        The run (its output folder).
    """
    from modisoft.timeseries import periods

    px, cpus = grid.shape[0] * grid.shape[1], max(1, threads)
    dates, granules = sorted(inv.by_date), len(used)
    if granules <= 0 or not dates:
        return
    n_per = len(periods(cfg.steps.period, min(dates), max(dates)))
    pieces = timings.get("time series+zarr (per piece)", timings.get("mosaic+time series+zarr"))
    rec = {"recorded": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "run": label,
           "machine": platform.node(), "workers": threads, "granules": granules,
           "pixel_dates": px * len(dates),
           "cpu_s_per_granule": timings.get("QA+mosaic (per date)", 0.0) * cpus / granules,
           "cpu_s_per_pixel_date": (pieces or 0.0) * cpus / (px * len(dates)),
           "s_per_pixel_period": timings.get("per-period outputs", 0.0) / max(1, px * n_per)}
    path = cost_file()
    runs = [*[r for r in _runs() if r.get("run") != label][-(_KEEP - 1):], rec]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"runs": runs}, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass


def _runs() -> list[dict[str, Any]]:
    try:
        runs = json.loads(cost_file().read_text())["runs"]
        return [r for r in runs if isinstance(r, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _costs() -> dict[str, Any] | None:
    """The costs of the largest run measured on this machine (its fixed costs per task weigh
    least; of equal ones, the newest), or None."""
    here = [r for r in _runs() if r.get("machine") == platform.node()
            and isinstance(r.get("pixel_dates"), int)]
    return max(here, key=lambda r: (r["pixel_dates"], str(r.get("recorded")))) if here \
        else None


@dataclass
class RunPlan:
    """A run's figures before it runs (:func:`plan_run`); ``str()`` is what ``--plan``
    prints."""

    grid: str
    pixels: int
    dates: int
    periods: int
    tiles: int
    granules_expected: int
    granules_found: int | None
    pieces: int
    tasks: dict[str, int]
    at_once: int
    bytes_per_task: dict[str, int]
    disk: int
    workers: int
    threads: int
    estimate_s: float | None
    cost_source: str
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        total = sum(self.tasks.values())
        kinds = " + ".join(f"{n:,} {k}" for k, n in self.tasks.items() if n)
        found = "" if self.granules_found is None else \
            f", {self.granules_found:,} found in [inputs] paths"
        lines = [
            f"grid: {self.grid} ({self.pixels:,} pixels)",
            f"dates: {self.dates:,}; output periods: {self.periods:,}",
            f"granules: {self.granules_expected:,} expected ({self.tiles:,} tiles × "
            f"{self.dates:,} dates; tiles with no land have none){found}",
            f"pieces: {self.pieces:,}",
            f"tasks: {total:,} in all ({kinds}); at most {self.at_once:,} held by the "
            f"scheduler at once",
            "memory per task (lower bound): " + "; ".join(
                f"{k} {fmt_bytes(v)}" for k, v in self.bytes_per_task.items()),
            f"memory per worker (lower bound, {self.threads} task(s) at once): "
            f"{fmt_bytes(self.threads * max(self.bytes_per_task.values()))}",
            f"disk: up to {fmt_bytes(self.disk)} uncompressed (stage and Zarr)",
        ]
        if self.estimate_s is None:
            lines.append(f"wall time: not estimated: {self.cost_source}")
        else:
            lines.append(f"wall time: about {_duration(self.estimate_s)} on {self.workers} "
                         f"worker(s), from {self.cost_source}")
        return "\n".join(lines + self.notes)


def _duration(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _tiles(cfg: RunConfig, grid: Any) -> list[str]:
    from modisoft.errors import GridError
    from modisoft.grids import modis_tiles_covering, national_grid_tiles, tile_ids

    if cfg.inputs.tiles:
        return list(tile_ids(cfg.inputs.tiles))
    if cfg.grid.name:
        try:
            return list(national_grid_tiles(cfg.grid.name))
        except GridError:  # a named grid without a tile list: the tiles its bounds cover
            pass
    return [f"h{h:02d}v{v:02d}" for h, v in modis_tiles_covering(grid.bounds, grid.crs)]


def plan_run(cfg: RunConfig, *, workers: int | None = None, memory_limit: str | None = None,
             scheduler: str | None = None) -> RunPlan:
    """The figures of a run of ``cfg`` without running it (nothing read, nothing written).

    Parameters
    ----------
    cfg
        From :func:`~modisoft.pipeline.load_config`.
    workers, memory_limit, scheduler
        The overrides ``modisoft run`` would get.

    Returns
    -------
    RunPlan

    Raises
    ------
    ConfigError
        What the run itself would refuse before any work: the grid, the overrides, memory
        per task; a config without dates (``[inputs] years`` or ``start`` and ``end``).
    """
    grid = check_grid(cfg)
    dates = planned_dates(cfg)
    if not dates:
        raise ConfigError("[inputs]: a plan needs the dates: years, or start and end")
    check_size(cfg, grid, dates, workers=workers, memory_limit=memory_limit,
               scheduler=scheduler)
    n_workers, _limit, address = check_compute(cfg, workers, memory_limit, scheduler)
    ny, nx = grid.shape
    px, nd = ny * nx, len(dates)
    disk, n_per = disk_need(cfg, px, dates)
    tiles = _tiles(cfg, grid)
    pieces = plan_pieces(cfg, grid)
    staged = cfg.steps.lai != "retrieve"
    tasks = {"mosaic-date": nd if staged else 0, "piece": len(pieces)}
    threads = max(1, n_workers) * cfg.compute.threads_per_worker
    rows = min(cfg.compute.band_rows or cfg.output.chunk, ny)
    per_task = {"a piece": rows * min(cfg.output.chunk, nx) * nd * SERIES_BYTES}
    if staged:
        per_task = {"a date's mosaic": px * STAGE_BYTES, **per_task}
    found = None
    if not cfg.inputs.download and cfg.inputs.paths:
        from modisoft.pipeline.inventory import discover

        try:
            found = sum(len(v) for v in discover(cfg).by_date.values())
        except ConfigError:
            found = 0
    costs, estimate = _costs(), None
    source = f"no complete run has been measured on this machine ({cost_file()}); run one " \
        "(e.g. scripts/demo.sh) and plan again"
    if costs is not None:
        cpu = len(tiles) * nd * costs["cpu_s_per_granule"] * staged + \
            px * nd * costs["cpu_s_per_pixel_date"]
        estimate = cpu / max(1, n_workers) + px * n_per * costs["s_per_pixel_period"]
        source = (f"the costs the run {costs['run']} measured on this machine "
                  f"({costs['recorded']}): {costs['cpu_s_per_granule']:.3g} CPU-s a granule, "
                  f"{costs['cpu_s_per_pixel_date'] * 1e6:.3g} CPU-µs a pixel-date, "
                  f"{costs['s_per_pixel_period'] * 1e6:.3g} µs a pixel-period of output")
        if costs["pixel_dates"] * 100 < px * nd:
            source += (f"; that run was {px * nd / costs['pixel_dates']:,.0f}× smaller, so "
                       "its fixed costs per task weigh in: an upper bound")
    name = cfg.grid.name or cfg.grid.like or "from [grid]"
    notes = [f"cluster: the existing scheduler {address}; the estimate assumes "
             f"{max(1, n_workers)} worker(s)"] if address else []
    return RunPlan(
        grid=f"{name}, {nx:,} × {ny:,} at {grid.resolution[0]:g}", pixels=px, dates=nd,
        periods=n_per, tiles=len(tiles), granules_expected=len(tiles) * nd,
        granules_found=found, pieces=len(pieces), tasks=tasks,
        at_once=min(sum(tasks.values()), tasks_in_flight(None, threads)),
        bytes_per_task=per_task, disk=disk, workers=max(1, n_workers),
        threads=cfg.compute.threads_per_worker, estimate_s=estimate, cost_source=source,
        notes=notes)
