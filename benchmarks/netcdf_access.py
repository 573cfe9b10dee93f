"""NetCDF chunking for the two ways an LAI stack is read: one period's map, or pixel series.

A synthetic national stack (float32, 46 periods of 2012 on the China Albers 1 km grid,
4300 × 5050 pixels, about 4 GB uncompressed; **synthetic values**, see :func:`synth_band`) is
written with :func:`modisoft.write.write_netcdf` (deflate level 4 + shuffle, as a run writes
it) once per candidate ``chunks``, and each file is then read with xarray + h5netcdf:

(a) **map**: one whole period ``lai[t]`` (a random ``t``);
(b) **series**: the full time series ``lai[:, y, x]`` of 100 random land pixels, one pixel
    after another (as a user extracts series at sites).

Every measurement opens the file anew (no HDF5 chunk cache carried over) and, by default,
first evicts the file's pages from the OS page cache (``posix_fadvise(DONTNEED)`` after an
``fsync``; only this file, nothing else on the machine), so reads come from the disk:
"cold-ish" (a cache below the virtual disk may remain).  ``--warm`` keeps the page cache.
The median of ``--repeats`` measurements is printed, with the file size, the write time and
the ratios to today's default chunking (:data:`modisoft.write.netcdf.NETCDF_DEFAULT_CHUNKS`).

The data are handed to the writer as dask blocks of ``(46, 512, 512)``, the blocks a run's
per-period outputs have (the Zarr store's ``time: -1`` chunks); every candidate's chunks nest
in them, so no HDF5 chunk is written twice.

Usage::

    python benchmarks/netcdf_access.py [--small] [--rows N --cols N] [--repeats N]
                                      [--dir DIR] [--warm] [--keep]

``--small`` is a quick check (46 × 860 × 1010, about a minute).  The full size takes about
14 minutes on 2 cores (each of the six files is written in 1.5–2 minutes).  The synthetic
stack is generated once into a raw ``.f32`` file in ``--dir`` (default: a temporary folder,
removed at the end).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np

CANDIDATES: list[dict[str, int]] = [
    {"time": 1, "y": 512, "x": 512},  # today's default (NETCDF_DEFAULT_CHUNKS)
    {"time": 46, "y": 128, "x": 128},
    {"time": 8, "y": 256, "x": 256},
    {"time": 46, "y": 64, "x": 64},
    {"time": 1, "y": 128, "x": 128},  # series cost follows the chunk's area, maps its depth
    {"time": 8, "y": 128, "x": 128},
]
N_PERIODS = 46
N_PIXELS = 100
DASK_BLOCK = (N_PERIODS, 512, 512)


def land(rows: np.ndarray, cols: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """A synthetic land mask (about half the grid): an ellipse with a wavy coast."""
    u = (cols / nx - 0.5) * 2
    v = (rows / ny - 0.5) * 2
    coast = 0.85 + 0.08 * np.sin(6 * np.arctan2(v, u)) + 0.04 * np.sin(17 * u + 3 * v)
    return u**2 + (1.2 * v) ** 2 < coast**2


def synth_band(r0: int, r1: int, ny: int, nx: int, seed: int = 0) -> np.ndarray:
    """Rows ``r0:r1`` of the synthetic stack, ``(46, r1 - r0, nx)`` float32, NaN off land.

    LAI = a smooth spatial field (0.3–6) × a seasonal curve (peak day 150–240 by latitude)
    + a static per-pixel texture and a small period-to-period noise, clipped at 0: smooth in
    time like a smoothed series, not a constant, so deflate sees float mantissas as in a run.
    """
    rows = np.arange(r0, r1, dtype=np.float64)[:, None]
    cols = np.arange(nx, dtype=np.float64)[None, :]
    base = (3.1 + 1.4 * np.sin(cols / 310.0 + 0.7) * np.cos(rows / 270.0)
            + 0.9 * np.sin((cols + 2 * rows) / 97.0) + 0.5 * np.cos((cols - rows) / 41.0))
    base = np.clip(base, 0.3, 6.0)
    rng = np.random.default_rng([seed, r0])
    texture = rng.normal(0.0, 0.25, base.shape)
    doy = 1 + 8 * np.arange(N_PERIODS, dtype=np.float64)[:, None, None]
    peak = 150.0 + 90.0 * (rows / ny)[None]
    season = 0.12 + 0.88 * np.exp(-(((doy - peak) / 55.0) ** 2))
    noise = rng.normal(0.0, 0.04, (N_PERIODS, r1 - r0, nx))
    out = np.clip(base[None] * season + texture[None] * season + noise, 0.0, None)
    out[:, ~land(rows + 0 * cols, cols + 0 * rows, ny, nx)] = np.nan
    return out.astype(np.float32)


def make_stack(raw: Path, ny: int, nx: int) -> np.memmap:
    """The synthetic stack in a raw float32 file (generated once, band by band)."""
    shape = (N_PERIODS, ny, nx)
    if raw.exists() and raw.stat().st_size == 4 * N_PERIODS * ny * nx:
        return np.memmap(raw, dtype=np.float32, mode="r", shape=shape)
    mm = np.memmap(raw, dtype=np.float32, mode="w+", shape=shape)
    for r0 in range(0, ny, 256):
        r1 = min(r0 + 256, ny)
        mm[:, r0:r1, :] = synth_band(r0, r1, ny, nx)
    mm.flush()
    del mm
    return np.memmap(raw, dtype=np.float32, mode="r", shape=shape)


def as_dataarray(stack: np.ndarray) -> object:
    """The stack on (a corner of) the China Albers 1 km grid, with 2012's 8-day periods."""
    import dask.array as da
    import xarray as xr

    from modisoft.grids import Grid, national_grid

    china = national_grid("china_albers_1km")
    grid = Grid.from_crs(china.crs, china.transform, stack.shape[1:])
    starts = [date(2012, 1, 1) + timedelta(days=8 * i) for i in range(N_PERIODS)]
    ends = [min(s + timedelta(days=7), date(2012, 12, 31)) for s in starts]
    coords = grid.xarray_coords()
    coords["time"] = np.array(starts, dtype="datetime64[ns]")
    coords["period_end"] = ("time", np.array(ends, dtype="datetime64[ns]"))
    data = da.from_array(stack, chunks=DASK_BLOCK)
    return xr.DataArray(data, dims=("time", "y", "x"), coords=coords, name="lai")


def evict(path: Path) -> None:
    """Drop ``path``'s pages from the OS page cache (this file only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_map(path: Path, t: int) -> np.ndarray:
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds["lai"][t].values


def read_series(path: Path, pixels: list[tuple[int, int]]) -> np.ndarray:
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        lai = ds["lai"]
        return np.stack([lai[:, r, c].values for r, c in pixels])


def timed(fn: Callable[[], np.ndarray], path: Path, cold: bool) -> tuple[float, np.ndarray]:
    if cold:
        evict(path)
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(path: Path, stack: np.ndarray, repeats: int, cold: bool,
            rng: np.random.Generator) -> tuple[float, float]:
    """Median seconds of a map read and of a 100-pixel series read (values checked)."""
    ny, nx = stack.shape[1:]
    maps, series = [], []
    for _ in range(repeats):
        t = int(rng.integers(N_PERIODS))
        dt, got = timed(lambda t=t: read_map(path, t), path, cold)
        assert np.array_equal(got, stack[t], equal_nan=True)
        maps.append(dt)
        pixels: list[tuple[int, int]] = []
        while len(pixels) < N_PIXELS:
            r, c = int(rng.integers(ny)), int(rng.integers(nx))
            if land(np.array(r), np.array(c), ny, nx):
                pixels.append((r, c))
        dt, got = timed(lambda p=pixels: read_series(path, p), path, cold)
        want = np.stack([stack[:, r, c] for r, c in pixels])
        assert np.array_equal(got, want, equal_nan=True)
        series.append(dt)
    return statistics.median(maps), statistics.median(series)


def label(chunks: dict[str, int]) -> str:
    return f"{{time:{chunks['time']},y:{chunks['y']},x:{chunks['x']}}}"


def main(argv: list[str] | None = None) -> None:
    import dask

    from modisoft.write import write_netcdf
    from modisoft.write.netcdf import NETCDF_DEFAULT_CHUNKS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="46 x 860 x 1010 (quick check)")
    ap.add_argument("--rows", type=int, default=None, help="grid rows (default 4300)")
    ap.add_argument("--cols", type=int, default=None, help="grid columns (default 5050)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp)")
    ap.add_argument("--warm", action="store_true", help="keep the OS page cache")
    ap.add_argument("--keep", action="store_true", help="keep the files")
    args = ap.parse_args(argv)
    ny = args.rows or (860 if args.small else 4300)
    nx = args.cols or (1010 if args.small else 5050)
    assert CANDIDATES[0] == NETCDF_DEFAULT_CHUNKS, "the first candidate is today's default"
    work = args.dir or Path(tempfile.mkdtemp(prefix="netcdf_access_"))
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    try:
        t0 = time.perf_counter()
        stack = make_stack(work / f"stack_{ny}x{nx}.f32", ny, nx)
        lai = as_dataarray(stack)
        valid = float(np.isfinite(stack[0]).mean())
        print(f"synthetic stack: float32 {N_PERIODS} x {ny} x {nx} "
              f"({stack.nbytes / 1e9:.2f} GB raw, {valid:.0%} land), made in "
              f"{time.perf_counter() - t0:.0f} s; reads: "
              f"{'page cache kept' if args.warm else 'file evicted from page cache'}, "
              f"median of {args.repeats}", flush=True)
        rows = []
        for chunks in CANDIDATES:
            path = work / f"lai_{chunks['time']}_{chunks['y']}_{chunks['x']}.nc"
            t1 = time.perf_counter()
            with dask.config.set(scheduler="synchronous"):
                write_netcdf(lai, path, chunks=chunks)
            write_s = time.perf_counter() - t1
            map_s, series_s = measure(path, stack, args.repeats, not args.warm, rng)
            rows.append((chunks, path.stat().st_size, write_s, map_s, series_s))
            print(f"  {label(chunks)}: written in {write_s:.1f} s, map {map_s:.3f} s, "
                  f"{N_PIXELS} series {series_s:.3f} s", flush=True)
            if not args.keep:
                path.unlink()
        _, size0, _, map0, series0 = rows[0]
        print()
        print(f"| chunking | file size | write s | map read s | {N_PIXELS}-pixel series "
              "read s | map ×default | series ×default | size ×default |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for chunks, size, write_s, map_s, series_s in rows:
            print(f"| {label(chunks)} | {size / 2**20:,.0f} MiB | {write_s:.1f} | {map_s:.3f} "
                  f"| {series_s:.3f} | {map_s / map0:.2f} | {series_s / series0:.3f} | "
                  f"{size / size0:.2f} |")
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
