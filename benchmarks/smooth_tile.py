"""Peak memory and time of ``modisoft smooth`` on a full 2400 × 2400 × 46 MODIS 500 m tile.

The tile is **synthetic** (no real 500 m year ships with the sample data): float32 LAI on the
h17v03 500 m grid, the 46 8-day dates of 2012, a seasonal curve per pixel plus noise, with
realistic gaps: a sea area that is NaN on every date, winter dates with most values missing,
~25 % cloudy observations (value kept, weight 0) and some NaN at random; weights
(``w``, float32) 1 for good, 0.5 for "retrieved with saturation", 0 for cloud.  It is made
chunk by chunk (never in memory as a whole) with :func:`modisoft.write.write_zarr` (the run's
chunks, ``{time: 1, y: 1024, x: 1024}``) and, with ``--nc``, :func:`modisoft.write.write_netcdf`.

Then ``python -m modisoft smooth STACK --var lai --weights w --out OUT -q`` runs in a fresh
interpreter and the script prints its wall time and its peak resident set size (the kernel's
``ru_maxrss`` of the child, the figure ``/usr/bin/time -v`` prints).  Target: ≤ 1 GiB.

Usage: ``python benchmarks/smooth_tile.py [--dir DIR] [--nc] [--daily] [--keep]``
(``DIR`` default ``modisoft-smooth-tile`` in the temporary folder; the stacks are reused
when present).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZE, DATES, CHUNK = 2400, 46, 1024


def _block(block_info: dict | None = None, kind: str = "lai") -> np.ndarray:
    """One ``(time, y, x)`` chunk of the synthetic tile, the same for a given position."""
    (t0, t1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
    rng = np.random.default_rng([t0, y0, x0])
    yy, xx = np.mgrid[y0:y1, x0:x1].astype("float32")
    t = np.arange(t0, t1, dtype="float32")[:, None, None]
    peak = 1.0 + 5.0 * (np.sin(xx / 300.0) * np.cos(yy / 400.0)) ** 2
    lai = 0.3 + peak * np.exp(-(((t - 25.0) / 8.0) ** 2)) \
        + rng.normal(0, 0.3, (t1 - t0, y1 - y0, x1 - x0)).astype("float32")
    lai = np.clip(lai, 0, 10).astype("float32")
    sea = (xx + 0.6 * yy) > 3000.0  # the lower-right corner: no data on any date
    winter = ((t < 6) | (t > 41)) & (rng.random(lai.shape) < 0.7)
    lai[np.broadcast_to(sea, lai.shape) | winter | (rng.random(lai.shape) < 0.05)] = np.nan
    u = rng.random(lai.shape)
    w = np.where(u < 0.25, 0.0, np.where(u < 0.4, 0.5, 1.0)).astype("float32")
    return lai if kind == "lai" else np.where(np.isfinite(lai), w, 0).astype("float32")


def make_tile(folder: Path, nc: bool) -> tuple[Path, Path | None]:
    """The synthetic tile as ``tile.zarr`` (and ``tile.nc``) in ``folder``, made if missing."""
    import dask.array as da
    import pandas as pd
    import xarray as xr

    from modisoft.grids.modis import modis_tile_grid
    from modisoft.write import write_netcdf, write_zarr

    folder.mkdir(parents=True, exist_ok=True)
    zarr_path, nc_path = folder / "tile.zarr", folder / "tile.nc"
    grid = modis_tile_grid(17, 3, "500m")
    shape, chunks = (DATES, SIZE, SIZE), (1, CHUNK, CHUNK)
    dates = pd.date_range("2012-01-01", periods=DATES, freq="8D")
    lai = da.map_blocks(_block, kind="lai", chunks=da.empty(shape, chunks=chunks).chunks,
                        dtype="float32", meta=np.array((), "float32"))
    w = da.map_blocks(_block, kind="w", chunks=lai.chunks, dtype="float32",
                      meta=np.array((), "float32"))
    ds = xr.Dataset({"lai": (("time", "y", "x"), lai), "w": (("time", "y", "x"), w)},
                    coords={"time": dates, **grid.xarray_coords()})
    ds["lai"].attrs.update(units="1", plausible_range=np.array([0, 10], "float32"),
                           long_name="leaf area index (synthetic)")
    ds.attrs["title"] = "synthetic MODIS 500 m LAI tile for benchmarks/smooth_tile.py"
    if not zarr_path.exists():
        t = time.perf_counter()
        write_zarr(ds, zarr_path)
        print(f"made {zarr_path} in {time.perf_counter() - t:.0f} s")
    if nc and not nc_path.exists():
        t = time.perf_counter()
        write_netcdf(ds, nc_path)
        print(f"made {nc_path} in {time.perf_counter() - t:.0f} s")
    return zarr_path, nc_path if nc else None


def run_smooth(stack: Path, out: Path, daily: bool, code: Path) -> tuple[float, int]:
    """``modisoft smooth`` on ``stack`` in a fresh interpreter: (seconds, peak RSS bytes)."""
    cmd = [sys.executable, "-m", "modisoft", "-q", "smooth", str(stack), "--var", "lai",
           "--weights", "w", "--out", str(out), *(["--daily"] if daily else [])]
    env = {**os.environ, "PYTHONPATH": str(code)}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (ru_maxrss in KiB)
    seconds = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd)} failed")
    return seconds, usage.ru_maxrss * 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "modisoft-smooth-tile")
    p.add_argument("--nc", action="store_true", help="also smooth a NetCDF copy of the tile")
    p.add_argument("--daily", action="store_true", help="daily output (--daily)")
    p.add_argument("--code", type=Path, default=ROOT,
                   help="modisoft source tree to run (e.g. an older checkout to compare)")
    p.add_argument("--keep", action="store_true", help="keep the smoothed outputs")
    args = p.parse_args()
    zarr_path, nc_path = make_tile(args.dir, args.nc)
    for stack in [zarr_path, *([nc_path] if nc_path else [])]:
        for ext in (".zarr", ".nc"):
            out = args.dir / f"smoothed{ext}"
            seconds, peak = run_smooth(stack, out, args.daily, args.code)
            print(f"{stack.name} -> {out.name}{' daily' if args.daily else ''}: "
                  f"{seconds:.0f} s, peak RSS {peak / 2**30:.2f} GiB (target <= 1 GiB)")
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink()


if __name__ == "__main__":
    main()
