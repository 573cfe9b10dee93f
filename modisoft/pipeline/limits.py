"""What a run needs, checked before any work: the output grid (resolution for the CRS's units,
bounds, size), memory per task, disk, and the paths it reads and writes.

The run never holds the whole ``(time, y, x)`` cube in memory: a **date task** (pass 1)
computes one date's mosaic of the whole grid into the stage store on disk (at least
:data:`STAGE_BYTES` a pixel), a **piece task** (pass 2) holds a piece's series, ``band_rows`` ×
``chunk`` pixels × dates (at least :data:`SERIES_BYTES` a pixel and date). Both are lower
bounds (a date task with ``nearest`` measured near 9 bytes a pixel, an area method far more),
so a run refused here could never fit. Documented in ``docs/reference/config.md``.
"""

from __future__ import annotations

import math
import os
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from modisoft.pipeline.schema import ConfigError, RunConfig, resolve_grid
from modisoft.pipeline.validate import check_compute

__all__ = [
    "MAX_GRID_PIXELS", "MAX_STAGE_BYTES", "RESOLUTION_DEGREES", "RESOLUTION_METRES",
    "SERIES_BYTES", "STAGE_BYTES", "available_memory", "check_before_run", "check_grid",
    "check_paths", "check_size", "disk_need", "expected_dates", "fmt_bytes", "planned_dates",
    "unmatched_paths",
]

RESOLUTION_METRES = (1.0, 100_000.0)
"""``[grid] resolution`` of a CRS with linear units, in metres (feet are converted)."""

RESOLUTION_DEGREES = (1e-5, 10.0)
"""``[grid] resolution`` of a geographic CRS, in degrees."""

MAX_GRID_PIXELS = 2**32
"""Pixels of one date (width × height): 4,294,967,296, a global 500 m grid fits."""

STAGE_BYTES = 5
"""Bytes per pixel of one date's mosaic (float32 value + uint8 fill class)."""

SERIES_BYTES = 9
"""Bytes per pixel and date of a piece's series (float32 value and weight, uint8 class)."""

MAX_STAGE_BYTES = 16 * 2**40
"""The per-date stage of a run, pixels × dates × :data:`STAGE_BYTES`: at most 16 TiB."""


def fmt_bytes(n: float) -> str:
    """``1.5 GiB``-style size.

    Examples
    --------
    >>> fmt_bytes(5 * 10**12)
    '4.5 TiB'
    """
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.0f} bytes" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_grid(cfg: RunConfig) -> Any:
    """The output grid of ``[grid]``, its resolution checked against the CRS's units and its
    size against :data:`MAX_GRID_PIXELS`.

    Returns
    -------
    modisoft.grids.Grid
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    g = cfg.grid
    if g.crs is not None:
        try:
            crs = CRS.from_user_input(g.crs)
        except CRSError as exc:
            raise ConfigError(f"[grid] crs {g.crs!r}: not a CRS pyproj reads ({exc}); e.g. "
                              "'EPSG:3035', a PROJ string or WKT") from None
        if crs.is_geocentric or len(crs.axis_info) < 2:
            raise ConfigError(f"[grid] crs {g.crs!r}: need a projected or geographic 2D CRS")
        axis = crs.axis_info[0]
        res, bounds = g.resolution, g.bounds
        if crs.is_geographic:
            size, unit, (lo, hi) = res * axis.unit_conversion_factor * 180 / math.pi, \
                "degrees", RESOLUTION_DEGREES
        else:
            size, unit, (lo, hi) = res * axis.unit_conversion_factor, "metres", \
                RESOLUTION_METRES
        if not (math.isfinite(size) and lo <= size <= hi):
            raise ConfigError(f"[grid] resolution {res:g}: {size:g} {unit} a pixel (the CRS's "
                              f"axes are in {axis.unit_name}); accepted: {lo:g} to {hi:g} {unit}")
        left, bottom, right, top = bounds
        if not all(math.isfinite(b) for b in bounds) or not (left < right and bottom < top):
            raise ConfigError(f"[grid] bounds {list(bounds)}: need [left, bottom, right, top] "
                              "with left < right and bottom < top")
        if crs.is_geographic and not -90 <= bottom < top <= 90:
            raise ConfigError(f"[grid] bounds {list(bounds)}: latitudes outside -90..90")
        nx, ny = (right - left) / res, (top - bottom) / res
        _cap(_label(cfg), ny, nx)
    grid = resolve_grid(cfg)
    _cap(_label(cfg), *grid.shape)
    return grid


def _cap(what: str, ny: float, nx: float) -> None:
    px = math.ceil(ny) * math.ceil(nx)
    if px > MAX_GRID_PIXELS:
        raise ConfigError(f"[grid] {what}: {math.ceil(nx):,} × {math.ceil(ny):,} pixels = "
                          f"{px:,} pixels, one date's mosaic alone {fmt_bytes(px * STAGE_BYTES)}"
                          f"; the limit is {MAX_GRID_PIXELS:,} pixels "
                          f"({fmt_bytes(MAX_GRID_PIXELS * STAGE_BYTES)} a date)")


def _calendar(product: str) -> tuple[int, int]:
    """The product's compositing period (8 days when the registry does not say) and the day
    offset of its first period in a year, from the registry."""
    from modisoft.products import find_product

    p = find_product(product)
    step = int(p.period_days) if p is not None and p.period_days else 8
    return step, p.date_offset_days if p is not None else 0


def expected_dates(product: str, start: date, end: date) -> list[date]:
    """The acquisition start dates of a MODIS composite product inside ``[start, end]``.

    MODIS 8-day (4-day, 16-day) periods restart on 1 January every year (day 9 for Aqua's
    16-day products: the registry's ``date_offset_days``).

    Examples
    --------
    >>> [d.isoformat() for d in expected_dates("MCD15A2", date(2012, 12, 20), date(2013, 1, 9))]
    ['2012-12-26', '2013-01-01', '2013-01-09']
    """
    step, offset = _calendar(product)
    out = []
    for year in range(start.year, end.year + 1):
        d = date(year, 1, 1) + timedelta(days=offset)
        while d.year == year:
            if start <= d <= end:
                out.append(d)
            d += timedelta(days=step)
    return out


def planned_dates(cfg: RunConfig) -> list[date] | None:
    """The dates ``[inputs]`` asks for (years, or both start and end), else ``None``."""
    i = cfg.inputs
    if i.years:
        return expected_dates(i.product, date(min(i.years), 1, 1), date(max(i.years), 12, 31))
    if i.start and i.end:
        return expected_dates(i.product, i.start, i.end)
    return None


def check_size(cfg: RunConfig, grid: Any, dates: list[date] | None, *, workers: Any = None,
               memory_limit: Any = None, scheduler: Any = None, machine: bool = False) -> None:
    """The grid and ``dates`` (``None``: not known yet) against the caps and a worker's
    memory (``[compute]`` or the overrides ``workers``, ``memory_limit``, ``scheduler``);
    with ``machine``, also this machine's available memory (``workers = 0``) and free disk."""
    ny, nx = grid.shape
    px, n = ny * nx, len(dates or ())
    shape = f"{nx:,} × {ny:,} pixels"
    if n and px * n * STAGE_BYTES > MAX_STAGE_BYTES:
        raise ConfigError(f"[grid] × [inputs] dates: {shape} × {n:,} dates × {STAGE_BYTES} bytes"
                          f" = {fmt_bytes(px * n * STAGE_BYTES)} of per-date stage; the limit "
                          f"is {fmt_bytes(MAX_STAGE_BYTES)}")
    n_workers, limit, address = check_compute(cfg, workers, memory_limit, scheduler)
    what = f"[compute] memory_limit {cfg.compute.memory_limit!r}" if memory_limit is None \
        else f"--memory-limit {memory_limit!r}"
    if address:
        limit = None  # the workers of an existing cluster: their memory is theirs
    elif n_workers == 0:
        limit = available_memory() if machine else None
        what = "the available memory (workers = 0: the run computes in this process)"
    if limit is not None:
        need = px * STAGE_BYTES
        if need > limit:
            raise ConfigError(f"[grid] {_label(cfg)}: {shape}, one date's mosaic needs at least "
                              f"{fmt_bytes(need)} ({STAGE_BYTES} bytes a pixel), more than "
                              f"{what} ({fmt_bytes(limit)}); use a coarser resolution, a "
                              "smaller area or more memory")
        rows = min(cfg.compute.band_rows or cfg.output.chunk, ny)
        piece = rows * min(cfg.output.chunk, nx) * n * SERIES_BYTES
        if piece > limit:
            raise ConfigError(f"[output] chunk {cfg.output.chunk} / [compute] band_rows "
                              f"{cfg.compute.band_rows}: a piece of {rows} × "
                              f"{min(cfg.output.chunk, nx)} pixels × {n} dates needs at least "
                              f"{fmt_bytes(piece)} ({SERIES_BYTES} bytes a pixel and date), "
                              f"more than {what} ({fmt_bytes(limit)})")
    if machine and n:
        _check_disk(cfg, px, dates)


def _label(cfg: RunConfig) -> str:
    g = cfg.grid
    return f"name {g.name!r}" if g.name else f"like {g.like!r}" if g.like else \
        f"resolution {g.resolution:g}, bounds {list(g.bounds or ())}"


def disk_need(cfg: RunConfig, px: int, dates: list[date]) -> tuple[int, int]:
    """Bytes a run of ``px`` pixels over ``dates`` writes at most, uncompressed (the stage,
    :data:`STAGE_BYTES` a pixel and date, and the Zarr output, 4 bytes a pixel and period and
    3 more a pixel), and its number of output periods."""
    from modisoft.timeseries import periods

    n_per = len(periods(cfg.steps.period, min(dates), max(dates)))
    stage = 0 if cfg.steps.lai == "retrieve" else px * len(dates) * STAGE_BYTES
    return stage + px * (n_per * 4 + 3), n_per


def _check_disk(cfg: RunConfig, px: int, dates: list[date]) -> None:
    """The stage and the Zarr output, uncompressed, against the output disk's free space
    (not on a resumed run: its files already hold part of it)."""
    out = cfg.resolve(cfg.output.dir)
    if (out / "modisoft-run.json").exists():
        return
    need, n_per = disk_need(cfg, px, dates)
    free = shutil.disk_usage(_existing_parent(out)).free
    if need > free:
        raise ConfigError(f"[output] dir {cfg.output.dir!r}: the run writes up to "
                          f"{fmt_bytes(need)} uncompressed ({len(dates)} dates of stage, "
                          f"{STAGE_BYTES} bytes a pixel, and {n_per} periods of Zarr output) "
                          f"on a disk with {fmt_bytes(free)} free")


def available_memory() -> int | None:
    """This machine's available memory in bytes (psutil, else ``/proc/meminfo``), or None
    when neither tells."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def unmatched_paths(cfg: RunConfig, key: str, patterns: tuple[str, ...]) -> None:
    """Raise when any of ``patterns`` (``[inputs] paths``, ``[lai] landcover``) matches
    nothing, naming every one of them (cheap: folders are not searched)."""
    from modisoft.catalog import find_files

    _found, missing = find_files(patterns, base=cfg.base_dir, recursive=False, rejected=[])
    if missing:
        where = ", ".join(f"{p!r} (looked for {cfg.resolve(p)})" for p in missing)
        extra = f"; none of the {len(patterns)} paths matches anything" \
            if len(missing) == len(patterns) > 1 else \
            f"; {len(missing)} of {len(patterns)} paths" if len(patterns) > 1 else ""
        raise ConfigError(f"{key}: nothing matches {where}{extra}")


def check_paths(cfg: RunConfig) -> None:
    """The inputs exist, and the output folder is a folder that can be written."""
    paths = cfg.inputs.paths[1:] if cfg.inputs.download else cfg.inputs.paths
    if paths:  # with download = true, paths[0] is created (fetch.check_download)
        unmatched_paths(cfg, "[inputs] paths", paths)
    if cfg.lai is not None and cfg.lai.landcover:
        unmatched_paths(cfg, "[lai] landcover", cfg.lai.landcover)
    out = cfg.resolve(cfg.output.dir)
    parent = _existing_parent(out)
    label = f"[output] dir {cfg.output.dir!r}"
    if not parent.is_dir():
        raise ConfigError(f"{label}: {parent} is a file, not a folder" +
                          (f", so {out} cannot be created" if parent != out.absolute() else ""))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{label}: cannot write in {parent}" +
                          (f" (to create {out})" if parent != out.absolute() else "") +
                          "; choose a folder you can write")


def check_before_run(cfg: RunConfig, *, workers: Any = None, memory_limit: Any = None,
                     scheduler: Any = None) -> Any:
    """Everything :func:`~modisoft.pipeline.run.run` checks before it starts: the grid, the
    compute overrides, memory, the paths; returns the output grid."""
    grid = check_grid(cfg)
    check_size(cfg, grid, planned_dates(cfg), workers=workers, memory_limit=memory_limit,
               scheduler=scheduler, machine=True)
    check_paths(cfg)
    return grid
