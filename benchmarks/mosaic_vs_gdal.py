"""Mosaic + reproject MCD15A2 LAI with modisoft and with gdalbuildvrt + gdalwarp; print ratios.

Cases (issue 5):

(a) h17v03 + h18v03, ``Lai_1km``, the 16 common dates -> EPSG:3035 at 1 km, nearest;
(b) h17v03 alone, the 46 dates of 2012 -> the same target.

The peer runs as users run it, with default settings: per date ``gdalbuildvrt`` of the tiles'
``HDF4_EOS`` subdatasets, then ``gdalwarp -t_srs EPSG:3035 -tr 1000 1000 -te ...`` to an
uncompressed GeoTIFF (``-te`` only pins the same output grid).  modisoft finds the files,
opens one ``(time, y, x)`` stack per tile, builds the ``ResamplePlan`` from scratch (memory
cache cleared, no disk cache) and writes one uncompressed GeoTIFF per date, with dask's
synchronous scheduler (HDF4 reads share one lock and the kernels hold the GIL, so threads gain
nothing here on 2 cores; a national run uses processes).  Imports are warmed on both sides
first; everything else is timed.  gdalwarp runs single-threaded, its default.

Peak memory: each side's peak resident set size (VmHWM of a fresh process).  The
memory check mosaics 1 tile and then 2 tiles (and 8 then 16 dates) onto the same grid in fresh
processes: the peak must not grow with the number of tiles or dates.

Usage: ``python benchmarks/mosaic_vs_gdal.py [--case a|b|mem|all]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "sample-data"
CASES = {"a": (["h17v03", "h18v03"], 16), "b": (["h17v03"], 46)}


def _files(tiles: list[str], ndates: int) -> dict[str, list[Path]]:
    """Per date (YYYYDDD): the files of every tile, for the first ``ndates`` common dates."""
    by_date: dict[str, dict[str, Path]] = {}
    for t in tiles:
        for f in sorted(SAMPLE.glob(f"MCD15A2.A2012*.{t}.005.*.hdf")):
            by_date.setdefault(f.name.split(".")[1][1:], {})[t] = f
    common = sorted(d for d, fs in by_date.items() if len(fs) == len(tiles))[:ndates]
    return {d: [by_date[d][t] for t in tiles] for d in common}


def _dst_grid(tiles: list[str]):
    from pyproj import Transformer

    from modisoft.grids import grid_from_bounds, modis_tile_grid
    from modisoft.grids.geometry import box_ring, densify_ring

    xs, ys = [], []
    for t in tiles:
        g = modis_tile_grid(int(t[1:3]), int(t[4:6]), "1km")
        ring = densify_ring(box_ring(*g.bounds), 2000.0)
        x, y = Transformer.from_crs(g.crs, "EPSG:3035", always_xy=True).transform(*ring.T)
        xs += list(x)
        ys += list(y)
    return grid_from_bounds("EPSG:3035", 1000, (min(xs), min(ys), max(xs), max(ys)))


def run_modisoft(
    tiles: list[str],
    ndates: int,
    out: Path,
    write: bool = True,
    grid_tiles: list[str] | None = None,
    chunks: int | None = None,
) -> float:
    """The modisoft side; returns the wall time (s) after imports.

    ``grid_tiles``: the tiles whose outline sets the output grid (default ``tiles``);
    ``chunks``: output chunk size (default one chunk per date, which ``write`` needs)."""
    import dask
    import dask.array
    import rasterio

    from modisoft.io import granule, hdf4
    from modisoft.warp.mosaic import mosaic
    from modisoft.warp.plan import clear_plan_memory
    from modisoft.warp.sources import open_stacks

    files = [f for fs in _files(tiles, ndates).values() for f in fs]
    clear_plan_memory()
    granule._inspect_cached.cache_clear()
    hdf4.clear_handle_cache()
    t0 = time.perf_counter()
    dst = _dst_grid(grid_tiles or tiles)
    lai = mosaic(open_stacks(files, "Lai_1km"), dst, method="nearest", chunks=chunks or dst.shape)
    profile = {
        "driver": "GTiff",
        "width": dst.width,
        "height": dst.height,
        "count": 1,
        "dtype": "uint8",
        "crs": rasterio.crs.CRS.from_wkt(dst.crs_wkt),
        "transform": dst.transform,
        "nodata": 255,
    }
    target = _TiffPerDate(out, profile, write)
    with dask.config.set(scheduler="synchronous"):
        dask.array.store(lai.data, target, lock=False)  # each task writes its date's file
    return time.perf_counter() - t0


class _TiffPerDate:
    """A ``dask.array.store`` target: ``[k, :, :] = array`` writes ``m{k:02d}.tif``."""

    def __init__(self, out: Path, profile: dict, write: bool):
        self.out, self.profile, self.write = out, profile, write

    def __setitem__(self, key: tuple, value: np.ndarray) -> None:
        import rasterio

        k = key[0].start
        if self.write and key[1:] != (
            slice(0, self.profile["height"]),
            slice(0, self.profile["width"]),
        ):
            raise ValueError("one output chunk per date expected")
        if self.write:
            with rasterio.open(self.out / f"m{k:02d}.tif", "w", **self.profile) as dst:
                dst.write(value[0], 1)


def run_gdal(tiles: list[str], ndates: int, out: Path) -> tuple[float, int]:
    """The peer; returns (wall time, peak RSS in kB over its processes)."""
    dst = _dst_grid(tiles)
    left, bottom, right, top = dst.bounds
    peak = 0
    t0 = time.perf_counter()
    for k, fs in enumerate(_files(tiles, ndates).values()):
        subs = [f'HDF4_EOS:EOS_GRID:"{f}":MOD_Grid_MOD15A2:Lai_1km' for f in fs]
        vrt = out / f"g{k:02d}.vrt"
        peak = max(peak, _run(["gdalbuildvrt", "-q", "-overwrite", str(vrt), *subs]))
        cmd = ["gdalwarp", "-q", "-overwrite", "-t_srs", "EPSG:3035", "-tr", "1000", "1000"]
        cmd += ["-te", *(repr(v) for v in (left, bottom, right, top)), str(vrt)]
        peak = max(peak, _run([*cmd, str(out / f"g{k:02d}.tif")]))
    return time.perf_counter() - t0, peak


def _run(cmd: list[str]) -> int:
    """Run a command; its peak RSS (kB), polled from ``/proc/<pid>/status`` (VmHWM: the
    rusage ``ru_maxrss`` of a child would include this process's memory at fork time)."""
    p = subprocess.Popen(cmd)
    peak = 0
    while p.poll() is None:
        peak = max(peak, _vmhwm(p.pid))
        time.sleep(0.005)
    if p.returncode:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode})")
    return peak


def _vmhwm(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _worker(
    tiles: str, ndates: int, out: str, write: bool, grid_tiles=None, chunks=None
) -> tuple[float, int]:
    """Run the modisoft side in a fresh process; its (seconds, peak RSS kB)."""
    here, tl = str(Path(__file__).parent), tiles.split(",")
    code = (
        f"import json,sys,pathlib;sys.path.insert(0,{here!r});import mosaic_vs_gdal as b;"
        f"t=b.run_modisoft({tl!r},{ndates},pathlib.Path({out!r}),{write!r},{grid_tiles!r},"
        f"{chunks!r});print(json.dumps([t, b._vmhwm()]))"
    )
    text = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    seconds, kb = json.loads(text)
    return seconds, kb


def case(name: str) -> float:
    import rasterio

    tiles, ndates = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # warm imports / file cache on both sides (not timed)
        run_modisoft(tiles, 1, tmp)
        run_gdal(tiles, 1, tmp)
        t_gdal, m_gdal = run_gdal(tiles, ndates, tmp)
        t_ours = run_modisoft(tiles, ndates, tmp)
        (t_sub, m_ours) = _worker(",".join(tiles), ndates, str(tmp), True)
        same = total = 0
        for k in range(ndates):
            a = rasterio.open(tmp / f"m{k:02d}.tif").read(1)
            b = rasterio.open(tmp / f"g{k:02d}.tif").read(1)
            same += int(np.count_nonzero(a == b))
            total += a.size
    ratio = t_gdal / t_ours
    print(
        f"({name}) {'+'.join(tiles)} Lai_1km, {ndates} dates -> EPSG:3035 1 km, nearest\n"
        f"    gdalbuildvrt+gdalwarp {t_gdal:7.2f} s   peak RSS {m_gdal / 1024:6.0f} MB\n"
        f"    modisoft              {t_ours:7.2f} s   peak RSS {m_ours / 1024:6.0f} MB "
        f"(fresh process: {t_sub:.2f} s after imports)\n"
        f"    ratio {ratio:.1f}x   (target >= {5 if name == 'a' else 10}x)   "
        f"pixels equal to gdalwarp's default (-et 0.125) output: {100 * same / total:.4f} %"
    )
    return ratio


def memory() -> None:
    both = ["h17v03", "h18v03"]
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for tiles, nd in (("h17v03", 16), ("h17v03,h18v03", 16), ("h17v03,h18v03", 8)):
            _t, kb = _worker(tiles, nd, tmp, False, both, 512)
            rows.append((tiles, nd, kb))
    print("peak RSS of a mosaic onto one grid (the pair's), chunks 512, fresh processes:")
    for tiles, nd, kb in rows:
        print(f"    {tiles:<15} {nd:2d} dates  {kb / 1024:6.0f} MB")
    ratio_t, ratio_d = rows[1][2] / rows[0][2], rows[1][2] / rows[2][2]
    print(f"    2 tiles / 1 tile: {ratio_t:.2f}   16 dates / 8 dates: {ratio_d:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--case", default="all", choices=["a", "b", "mem", "all"])
    args = ap.parse_args()
    for tool in ("gdalbuildvrt", "gdalwarp"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: install Debian's gdal-bin for the peer")
    if not SAMPLE.is_dir():
        raise SystemExit(f"no sample data at {SAMPLE}")
    if args.case in ("a", "all"):
        case("a")
    if args.case in ("b", "all"):
        case("b")
    if args.case in ("mem", "all"):
        memory()


if __name__ == "__main__":
    main()
