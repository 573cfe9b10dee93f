"""The national run's pixels against ``mosaic()`` and GDAL, on a matrix of grids.

Every case runs ``modisoft run`` itself (``run(load_config(...))``, the synchronous
scheduler) on real MCD15A2 granules — one tile, and the two tiles h17v03 | h18v03 across
their seam (the cropped windows of ``sample_tiles/``) — with ``qa_rule = "none"``,
``smoother = "none"``, ``period = "8day"`` and ``reducer = "max"``: one date per period, so
the run's Zarr holds the per-date mosaic as the time-series stage saw it.  Oracles:

* ``mosaic()``: the public API on the same granules, ``mosaic([decode(tile)[layer] ...],
  grid, method)``; the run must equal it bit for bit, for every method and grid.
* ``gdalwarp -et 0 -r near`` (``gdalbuildvrt`` across the seam) on the stored values,
  decoded with the product's rule: equal pixel for pixel.
* ``gdalwarp -r average -ot Float32`` on the stored values with the fill classes (249-254)
  made nodata like modisoft's decoding does: GDAL's area weights come from the exactly
  transformed pixel corners, as modisoft's do (see ``docs/reference/resampling.md``), so the
  averages agree to float rounding: within ``AVERAGE_TOL`` raw units on every pixel that has
  a value in both (measured: 8e-6), and have values on the same pixels, except *grazing*
  pixels identified from the grids alone (:func:`grazing_pixels`): a pixel whose centre is
  off the source (GDAL skips it, modisoft averages the covered part), and a pixel whose
  footprint edge lies within 1e-6 pixel of a source edge, where including a sliver of the
  next pixel is floating-point noise (at most 0.1 % of the pixels may differ so).
* ``gdalwarp -r mode`` likewise: equal except where the mode is a tie (both tools then pick
  the value that reached the winning count first in scan order; ties are counted
  independently, the rest must be equal), and the same grazing pixels.

Grids: the native sinusoidal lattice, half and double its pixel size, EPSG:4326 at 0.01° and
30″, UTM 31N at 250 m and a European Albers at 1 km, each with bounds snapped to the
resolution and not snapped (``snap = false``, edges a fraction of a pixel off the lattice),
and with chunk sizes that put piece boundaries inside the tiles.  A hypothesis test draws
random grids and chunkings and asserts run == mosaic.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import sample

import modisoft
from modisoft.grids import Grid, grid_from_bounds
from modisoft.warp import mosaic

ROOT = Path(__file__).resolve().parents[2]
TILES = ROOT / "sample_tiles"
PAIR = ["MCD15A2.A2012105.h17v03.005.2012116125519.hdf",
        "MCD15A2.A2012105.h18v03.005.2012116125611.hdf"]
ONE = ["MCD15A2.A2012105.h17v03.005.2012116125519.hdf"]
FULL = "MCD15A2.A2012161.h17v03.005.2012170080216.hdf"  # the issue's granule (whole tile)
LAYER = "Lai_1km"
SIN_RES = 926.625433055833  # the MODIS 1 km tile lattice: 1111950.519767 m / 1200
UTM31 = "EPSG:32631"
EUROPE_ALBERS = ("+proj=aea +lat_0=30 +lon_0=10 +lat_1=43 +lat_2=62 +x_0=0 +y_0=0 "
                 "+ellps=GRS80 +units=m +no_defs")
AVERAGE_TOL = 1e-3  # raw units (LAI DN): float32 rounding of two area-weighted sums

HAVE_GDAL = shutil.which("gdalwarp") is not None and shutil.which("gdalbuildvrt") is not None
needs_gdal = pytest.mark.skipif(not HAVE_GDAL, reason="gdalwarp/gdalbuildvrt not installed "
                                "(Debian: apt-get install gdal-bin)")


# --------------------------------------------------------------------------------------------
# the run, and the mosaic() oracle
# --------------------------------------------------------------------------------------------
def tile_paths(names: list[str], folder: Path = TILES) -> list[Path]:
    paths = [folder / n for n in names]
    for p in paths:
        if not p.exists():
            pytest.skip(f"{p} not present")
    return paths


def source_grid(paths: list[Path]) -> Grid:
    """The union of the tiles' grids (they sit on one lattice)."""
    grids = [Grid.from_xarray(modisoft.open_granule(p, [LAYER])[LAYER]) for p in paths]
    left = min(g.bounds[0] for g in grids)
    top = max(g.bounds[3] for g in grids)
    right = max(g.bounds[2] for g in grids)
    bottom = min(g.bounds[1] for g in grids)
    a = grids[0].transform.a
    from affine import Affine

    return Grid(grids[0].crs_wkt, Affine(a, 0, left, 0, -a, top),
                (round((top - bottom) / a), round((right - left) / a)))


def bounds_in(src: Grid, crs: str, shrink: float = 0.0) -> tuple[float, float, float, float]:
    """The box in ``crs`` covering ``src`` (outline densified and transformed), optionally
    shrunk by ``shrink`` of its size on every side."""
    from pyproj import CRS, Transformer

    from modisoft.grids.geometry import box_ring, densify_ring

    ring = densify_ring(box_ring(*src.bounds), 2000.0)
    tr = Transformer.from_crs(src.crs, CRS.from_user_input(crs), always_xy=True)
    x, y = tr.transform(*ring.T)
    left, right, bottom, top = min(x), max(x), min(y), max(y)
    dx, dy = (right - left) * shrink, (top - bottom) * shrink
    return (left + dx, bottom + dy, right - dx, top - dy)


def toml_value(v) -> str:
    if isinstance(v, str):
        return "'''" + v + "'''"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(float(v)) if isinstance(v, float) else repr(v)


def run_case(tmp: Path, paths: list[Path], crs: str, res: float, bounds, method: str, *,
             chunk: int = 64, band_rows: int | None = None, snap: bool = True):
    """``modisoft run`` onto one grid; returns (summary, grid, the date's LAI from the Zarr)."""
    import xarray as xr

    from modisoft.pipeline import load_config, resolve_grid, run

    cfg = load_config(case_config(tmp, paths, crs, res, bounds, method, chunk=chunk,
                                  band_rows=band_rows, snap=snap))
    grid = resolve_grid(cfg)
    summary = run(cfg, progress=False, echo=lambda _m: None, force=True)
    z = xr.open_zarr(tmp / "out" / "lai.zarr")["lai"]
    assert z.sizes["time"] == 1
    return summary, grid, z.isel(time=0).values


def case_config(tmp: Path, paths: list[Path], crs: str, res: float, bounds, method: str, *,
                chunk: int = 64, band_rows: int | None = None, snap: bool = True) -> Path:
    """A run config onto one grid: one date per 8-day period, no QA, no smoothing."""
    inp = tmp / "in"
    inp.mkdir(parents=True, exist_ok=True)
    for p in paths:
        if not (inp / p.name).exists():
            (inp / p.name).symlink_to(p)
    grid_keys = (f"crs = {toml_value(crs)}\nresolution = {toml_value(res)}\n"
                 f"bounds = {toml_value([float(b) for b in bounds])}\n"
                 f"snap = {toml_value(snap)}\n")
    compute = f"band_rows = {band_rows}\n" if band_rows else ""
    text = (f'[inputs]\npaths = ["in"]\nproduct = "MCD15A2"\nlayer = "{LAYER}"\n'
            f"[grid]\n{grid_keys}"
            f'[steps]\nqa_rule = "none"\nsmoother = "none"\nperiod = "8day"\n'
            f'reducer = "max"\nresampling = "{method}"\n'
            f'[output]\ndir = "out"\nformats = ["zarr"]\nchunk = {chunk}\nreport = false\n'
            f"[compute]\nworkers = 0\n{compute}")
    (tmp / "run.toml").write_text(text)
    return tmp / "run.toml"


def api_mosaic(paths: list[Path], grid: Grid, method: str) -> np.ndarray:
    """What a user gets from the public API for one date."""
    tiles = [modisoft.decode(modisoft.open_granule(p, [LAYER]))[LAYER] for p in paths]
    return mosaic(tiles, grid, method=method, chunks=200).values


def assert_same(ours: np.ndarray, ref: np.ndarray, label: str) -> int:
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(ref), err_msg=label)
    np.testing.assert_array_equal(ours, ref, err_msg=label)
    return int(np.isfinite(ref).sum())


# --------------------------------------------------------------------------------------------
# GDAL
# --------------------------------------------------------------------------------------------
def subdataset(path: Path, layer: str = LAYER, grid_name: str = "MOD_Grid_MOD15A2") -> str:
    return f'HDF4_EOS:EOS_GRID:"{path}":{grid_name}:{layer}'


def gdal_source(paths: list[Path], tmp: Path, *, classes_to_nodata: bool,
                layer: str = LAYER, grid_name: str = "MOD_Grid_MOD15A2",
                valid_max: int = 100) -> str:
    """A VRT of the tiles' stored values for gdalwarp; with ``classes_to_nodata`` the codes
    above ``valid_max`` (fill classes) are set to 255 and declared nodata, as modisoft's
    decoding treats them."""
    import rasterio

    tmp.mkdir(parents=True, exist_ok=True)
    srcs = []
    for k, p in enumerate(paths):
        sub = subdataset(p, layer, grid_name)
        if not classes_to_nodata:
            srcs.append(sub)
            continue
        tif = tmp / f"src{k}.tif"
        subprocess.run(["gdal_translate", "-q", "-a_nodata", "255", sub, str(tif)],
                       check=True)
        with rasterio.open(tif, "r+") as ds:
            a = ds.read(1)
            a[a > valid_max] = 255
            ds.write(a, 1)
            # GDAL's HDF4 driver rounds the tile corners differently in the last bits (about
            # 1e-7 pixel); both tools get the very same source georeferencing, so that a
            # destination edge lying on a source edge is the same (sliver or none) in both
            ds.transform = Grid.from_xarray(modisoft.open_granule(p, [layer])[layer]).transform
        srcs.append(str(tif))
    vrt = tmp / "src.vrt"
    subprocess.run(["gdalbuildvrt", "-q", "-overwrite", str(vrt), *srcs], check=True)
    return str(vrt)


def gdalwarp(src: str, dst: Grid, tmp: Path, resampling: str, extra: tuple = ()) -> np.ndarray:
    import rasterio

    out = tmp / f"gdal_{resampling}.tif"
    left, bottom, right, top = dst.bounds
    cmd = ["gdalwarp", "-q", "-overwrite", "-et", "0", "-r", resampling,
           "-t_srs", dst.crs.to_wkt(), "-te", *(repr(v) for v in (left, bottom, right, top)),
           "-tr", repr(dst.transform.a), repr(-dst.transform.e), *extra, src, str(out)]
    subprocess.run(cmd, check=True)  # -te + -tr: GDAL's geotransform is exactly the grid's
    with rasterio.open(out) as ds:
        assert ds.shape == dst.shape
        assert tuple(ds.transform)[:6] == tuple(dst.transform)[:6]
        return ds.read(1)


def decode_raw(raw: np.ndarray) -> np.ndarray:
    """The product's documented decoding of stored MCD15A2 LAI (registry rule)."""
    from modisoft.decode import decode_values
    from modisoft.products import get_product

    return decode_values(raw, get_product("MCD15A2").layer(LAYER))


def read_vrt(vrt: str) -> tuple[np.ndarray, Grid]:
    import rasterio

    with rasterio.open(vrt) as ds:
        return ds.read(1), Grid(ds.crs.to_wkt(), ds.transform, ds.shape)


def tied_windows(src: np.ndarray, src_grid: Grid, dst: Grid, nodata: int = 255,
                 only: np.ndarray | None = None) -> np.ndarray:
    """Destination pixels (of ``only``, default all) whose GDAL source window (transformed
    UL/LR corners, floor/ceil) holds a tied mode among its valid values, counted with numpy
    window by window."""
    from pyproj import Transformer

    tr = Transformer.from_crs(dst.crs, src_grid.crs, always_xy=True)
    rows, cols = np.mgrid[0:dst.height + 1, 0:dst.width + 1]
    t = dst.transform
    sx, sy = tr.transform(t.c + cols.ravel() * t.a, t.f + rows.ravel() * t.e)
    s = src_grid.transform
    px = ((np.asarray(sx) - s.c) / s.a).reshape(rows.shape)
    py = ((np.asarray(sy) - s.f) / s.e).reshape(rows.shape)
    out = np.zeros(dst.shape, bool)
    for r, c in np.argwhere(np.ones(dst.shape, bool) if only is None else only):
        xs = sorted((px[r, c], px[r + 1, c + 1]))
        ys = sorted((py[r, c], py[r + 1, c + 1]))
        if not np.isfinite(xs + ys).all():
            continue
        c0, c1 = max(int(np.floor(xs[0] + 1e-10)), 0), int(np.ceil(xs[1] - 1e-10))
        r0, r1 = max(int(np.floor(ys[0] + 1e-10)), 0), int(np.ceil(ys[1] - 1e-10))
        w = src[r0:r1, c0:c1].ravel()
        w = w[w != nodata]
        if w.size:
            counts = np.bincount(w)
            out[r, c] = np.count_nonzero(counts == counts.max()) > 1
    return out


# --------------------------------------------------------------------------------------------
# the matrix
# --------------------------------------------------------------------------------------------
# name -> (crs, resolution, shrink of the sources' box on every side, chunk, band_rows)
# Chunks give 2-4 x 5-9 pieces, with piece edges inside the tiles and off the seam (each
# piece has a fixed cost in the run: more pieces would test the same kinds of edge slower).
GRIDS = {
    "native": ("sin", SIN_RES, 0.0, 112, 224),
    "half": ("sin", SIN_RES / 2, 0.1, 176, 352),
    "double": ("sin", SIN_RES * 2, 0.0, 64, 128),
    "wgs84_0.01": ("EPSG:4326", 0.01, 0.05, 96, 192),
    "wgs84_30s": ("EPSG:4326", 1 / 120, 0.05, 112, 112),
    "utm31_250m": (UTM31, 250.0, 0.3, 128, 256),
    "albers_1km": (EUROPE_ALBERS, 1000.0, 0.0, 112, 224),
}
METHODS = ("nearest", "average", "mode")


def grid_case(paths: list[Path], name: str, snap: bool):
    crs, res, shrink, chunk, band = GRIDS[name]
    src = source_grid(paths)
    if crs == "sin":
        crs = src.crs_wkt
    left, bottom, right, top = bounds_in(src, crs, shrink)
    if not snap:  # edges a fraction of a pixel off the lattice (gdalwarp -te style)
        left, top = left + 0.37 * res, top - 0.21 * res
    return crs, res, (left, bottom, right, top), chunk, band


@needs_gdal
@pytest.mark.slow
@pytest.mark.parametrize("snap", [True, False], ids=["snapped", "unsnapped"])
@pytest.mark.parametrize("grid_name", list(GRIDS))
@pytest.mark.parametrize("method", METHODS)
def test_run_equals_mosaic_and_gdal_across_the_seam(method, grid_name, snap, tmp_path):
    paths = tile_paths(PAIR)
    crs, res, bounds, chunk, band = grid_case(paths, grid_name, snap)
    summary, grid, ours = run_case(tmp_path / "run", paths, crs, res, bounds, method,
                                   chunk=chunk, band_rows=band, snap=snap)
    assert summary.lost_total == 0, summary.lost
    assert summary.bands_total > 1  # piece boundaries inside the tiles
    n = assert_same(ours, api_mosaic(paths, grid, method), f"run vs mosaic() {grid_name}")
    assert n > 0.2 * ours.size, f"only {n} valid pixels of {ours.size}: the case is vacuous"
    stats = check_against_gdal(paths, grid, ours, method, tmp_path / "gdal")
    print(f"\n{method} {grid_name} snap={snap} {grid.shape} pieces={summary.bands_total} "
          f"valid={n} gdal={stats}")


def check_against_gdal(paths, grid, ours, method, tmp) -> dict[str, int]:
    """The run against gdalwarp; see the module docstring for the tolerances."""
    if method == "nearest":
        theirs = decode_raw(gdalwarp(gdal_source(paths, tmp, classes_to_nodata=False),
                                     grid, tmp, "near"))
        assert_same(ours, theirs, "run vs gdalwarp -r near")
        return {"identical": int(np.isfinite(theirs).sum())}
    vrt = gdal_source(paths, tmp, classes_to_nodata=True)
    src, src_grid = read_vrt(vrt)
    if method == "average":
        theirs = gdalwarp(vrt, grid, tmp, "average", ("-ot", "Float32", "-dstnodata", "nan"))
        has = np.isfinite(theirs)
        both = has & np.isfinite(ours)
        differ = np.zeros(grid.shape, bool)
        differ[both] = np.abs(ours[both] * 10 - theirs[both]) > AVERAGE_TOL
    else:
        raw = gdalwarp(vrt, grid, tmp, "mode")
        has = raw != 255
        both = has & np.isfinite(ours)
        got = np.where(np.isfinite(ours), np.rint(ours * 10), 255).astype("uint8")
        differ = both & (got != raw)
        tied = tied_windows(src, src_grid, grid, only=differ)
        differ &= ~tied
    coverage = has != np.isfinite(ours)
    outside, sliver = grazing_pixels(src_grid, grid)
    # GDAL gives nothing to a pixel whose centre is off the source; modisoft averages the
    # part of its footprint the source covers
    assert not np.any(coverage & ~(outside | sliver)), \
        f"{np.count_nonzero(coverage & ~(outside | sliver))} pixels have a value in one tool only"
    assert not np.any(has & ~np.isfinite(ours) & ~sliver), "GDAL has values the run lacks"
    assert not np.any(differ & ~sliver), \
        f"{np.count_nonzero(differ & ~sliver)} pixels differ from GDAL's {method}"
    n_sliver = int(np.count_nonzero((differ | coverage) & sliver))
    assert n_sliver <= 1e-3 * both.sum(), f"{n_sliver} sliver pixels differ"
    return {"compared": int(both.sum()), "outside": int((coverage & outside).sum()),
            "sliver": n_sliver}


def grazing_pixels(src_grid: Grid, dst: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Destination pixels where the two tools may legitimately disagree, found with pyproj
    from the grids alone: ``outside``, the pixel's centre is off the source (GDAL's area
    kernels skip it; modisoft averages the covered part of its footprint); ``sliver``, an
    edge of its footprint lies within 1e-6 pixel of a source pixel edge, so whether a
    sliver of the next source pixel is counted is decided by floating-point noise in
    composing the geotransforms (GDAL and modisoft round differently).  A sliver changes
    the result only where the rest of the footprint holds no valid value."""
    from pyproj import Transformer

    tr = Transformer.from_crs(dst.crs, src_grid.crs, always_xy=True)
    t, s = dst.transform, src_grid.transform

    def to_src(cols, rows):
        x, y = tr.transform(t.c + cols * t.a, t.f + rows * t.e)
        return (np.asarray(x) - s.c) / s.a, (np.asarray(y) - s.f) / s.e

    rows, cols = np.mgrid[0:dst.height + 1, 0:dst.width + 1].astype(float)
    px, py = to_src(cols, rows)
    near = np.abs(px - np.round(px)) < 1e-6
    near_y = np.abs(py - np.round(py)) < 1e-6
    sliver = near[:-1, :-1] | near[1:, 1:] | near_y[:-1, :-1] | near_y[1:, 1:]
    cx, cy = to_src(cols[:-1, :-1] + 0.5, rows[:-1, :-1] + 0.5)
    with np.errstate(invalid="ignore"):
        outside = ~((cx >= 0) & (cx < src_grid.width) & (cy >= 0) & (cy < src_grid.height))
    return outside, sliver


@needs_gdal
@pytest.mark.slow
@pytest.mark.parametrize("grid_name", ["native", "wgs84_0.01", "utm31_250m"])
@pytest.mark.parametrize("method", METHODS)
def test_run_equals_mosaic_and_gdal_one_tile(method, grid_name, tmp_path):
    paths = tile_paths(ONE)
    crs, res, bounds, chunk, band = grid_case(paths, grid_name, snap=grid_name != "native")
    summary, grid, ours = run_case(tmp_path / "run", paths, crs, res, bounds, method,
                                   chunk=chunk, band_rows=band)
    assert summary.lost_total == 0, summary.lost
    assert_same(ours, api_mosaic(paths, grid, method), "run vs mosaic()")
    check_against_gdal(paths, grid, ours, method, tmp_path / "gdal")


# --------------------------------------------------------------------------------------------
# property: run == mosaic() on random grids and chunkings
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("crs_list", [["sin", "EPSG:4326", "EPSG:3035"],
                                      [UTM31, EUROPE_ALBERS, "sin"]],
                         ids=["sin-geographic-laea", "utm-albers-sin"])
def test_run_equals_mosaic_on_random_grids(tmp_path_factory, crs_list):
    """Random CRS (from a list), resolution (0.5x to 2.5x the source pixel), bounds (a random
    part of the two tiles, snapped or not), chunk and piece size, and method: the run's
    per-date output equals ``mosaic()`` bit for bit, and its pixel check finds nothing.

    Two halves of 18 examples each (the CRS lists; the native sinusoidal in both), so two
    test processes share them."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    paths = tile_paths(PAIR)
    src = source_grid(paths)
    metre_per_degree = 111_320.0

    @settings(max_examples=18, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(crs=st.sampled_from(crs_list), factor=st.floats(0.5, 2.5),
           box=st.tuples(st.floats(0.0, 0.7), st.floats(0.0, 0.7), st.floats(0.1, 0.3),
                         st.floats(0.15, 0.3)),
           snap=st.booleans(), chunk=st.sampled_from([32, 48, 64, 80]),
           band=st.sampled_from([1, 2, 3]), method=st.sampled_from(METHODS))
    def check(crs, factor, box, snap, chunk, band, method):
        wkt = src.crs_wkt if crs == "sin" else crs
        left, bottom, right, top = bounds_in(src, wkt)
        w, h = right - left, top - bottom
        x0, y0, fw, fh = box
        sub = (left + x0 * w, bottom + y0 * h, left + (x0 + fw) * w, bottom + (y0 + fh) * h)
        res = SIN_RES * factor / (metre_per_degree if crs == "EPSG:4326" else 1.0)
        tmp = tmp_path_factory.mktemp("prop")
        summary, grid, ours = run_case(tmp, paths, wkt, res, sub, method, chunk=chunk,
                                       band_rows=chunk * band, snap=snap)
        assert summary.lost_total == 0, summary.lost
        assert_same(ours, api_mosaic(paths, grid, method),
                    f"{crs} x{factor:.3f} {box} snap={snap} chunk={chunk} {method}")
        shutil.rmtree(tmp, ignore_errors=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check()


# --------------------------------------------------------------------------------------------
# the issue's table: one whole real tile onto the five grids, nearest and average
# --------------------------------------------------------------------------------------------
def issue_grids(src: Grid) -> dict[str, tuple]:
    b = src.bounds
    return {
        "sinusoidal native 926.6 m, tile bounds": (src.crs_wkt, src.transform.a, b),
        "sinusoidal 463.3 m": (src.crs_wkt, src.transform.a / 2, b),
        "EPSG:4326 0.01°, 15°W–0°, 50–60°N": ("EPSG:4326", 0.01, (-15.0, 50.0, 0.0, 60.0)),
        "sinusoidal 1000 m": (src.crs_wkt, 1000.0, b),
        "EPSG:3035 1000 m (the demo's)": ("EPSG:3035", 1000.0,
                                          (3370000, 3280000, 3970000, 3640000)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("method", ["nearest", "average"])
def test_the_issue_table_loses_nothing(method, tmp_path):
    """The table of the run-versus-GDAL issue, from the whole h17v03 tile of 2012-161:
    the run's valid pixels equal ``mosaic()``'s on every grid (printed as the table)."""
    paths = [sample(FULL)]
    src = source_grid(paths)
    rows = []
    for k, (label, (crs, res, bounds)) in enumerate(issue_grids(src).items()):
        summary, grid, ours = run_case(tmp_path / f"g{k}", paths, crs, res, bounds, method,
                                       chunk=256)
        ref = api_mosaic(paths, grid, method)
        n_ref, n_run = int(np.isfinite(ref).sum()), int(np.isfinite(ours).sum())
        rows.append(f"| {label} | {grid.height} x {grid.width} | {n_ref:,} | {n_run:,} | "
                    f"{n_ref - n_run:,} | {summary.lost_total} |")
        assert_same(ours, ref, label)
        assert summary.lost_total == 0
    print(f"\n{method}: | target grid | pixels | valid in mosaic() | valid in the run | lost "
          "| pixel check |\n" + "\n".join(rows))


# --------------------------------------------------------------------------------------------
# a run checks itself
# --------------------------------------------------------------------------------------------
def test_the_pixel_check_catches_the_old_label_alignment_and_exits_3(tmp_path, monkeypatch):
    """The old bug re-created: a piece's LAI aligned by label to coordinates recomputed for
    the piece's sub-grid (they differ in the last bit on the native sinusoidal lattice), which
    silently emptied rows and columns.  The run must notice, name the date and the count,
    record it in the provenance and exit 3."""
    import importlib
    import json

    import xarray as xr
    from click.testing import CliRunner

    from modisoft.cli import main

    staging = importlib.import_module("modisoft.pipeline.staging")  # where pass 2 looks it up
    original = staging.series_output

    def label_aligned(cfg, values, classes, qa, grid, class_attrs=None):
        out = original(cfg, values, classes, qa, grid, class_attrs)
        sub = grid.xarray_coords()
        lai = out["lai"].reindex(x=sub["x"].values, y=sub["y"].values)
        out["lai"] = lai.assign_coords(x=out["x"].values, y=out["y"].values)
        return out

    monkeypatch.setattr(staging, "series_output", label_aligned)
    paths = tile_paths(PAIR)
    crs, res, bounds, chunk, band = grid_case(paths, "native", True)
    cfg = case_config(tmp_path, paths, crs, res, bounds, "nearest", chunk=chunk,
                      band_rows=band)
    result = CliRunner().invoke(main, ["run", str(cfg), "-q"])
    assert result.exit_code == 3, result.output
    assert "pixel check failed" in result.output and "2012-04-14" in result.output
    ours = xr.open_zarr(tmp_path / "out" / "lai.zarr")["lai"].isel(time=0).values
    ref = api_mosaic(paths, grid_from_bounds(crs, res, bounds), "nearest")
    lost = int(np.count_nonzero(np.isfinite(ref) & ~np.isfinite(ours)))
    assert lost > 1000  # the bug is real on this grid
    assert f"2012-04-14: {lost}" in result.output  # the count is exactly the pixels lost
    prov = json.loads(xr.open_zarr(tmp_path / "out" / "lai.zarr").attrs["modisoft_provenance"])
    check = prov["extra"]["pixel_check"]
    assert check["status"] == "failed" and check["lost_pixels"] == lost
    assert check["dates_with_losses"] == {"2012-04-14": lost}


def test_the_pixel_check_catches_a_mosaic_that_drops_pixels(tmp_path, monkeypatch):
    """A per-date mosaic that loses rows (every fifth row blanked after the warp) is counted
    per date against the nearest lookup of the valid source pixels: the count equals the
    blanked pixels that have a valid source pixel under their centre."""
    import importlib

    staging = importlib.import_module("modisoft.pipeline.staging")  # where pass 1 looks it up
    original = staging.mosaic_decoded

    def lossy(cfg, stacks, grid, cache_dir=None, **kwargs):
        values, classes = original(cfg, stacks, grid, cache_dir, **kwargs)
        rows = (np.arange(grid.height) % 5 == 0)[:, None]
        return values.where(~rows), classes

    monkeypatch.setattr(staging, "mosaic_decoded", lossy)
    paths = tile_paths(PAIR)
    crs, res, bounds, chunk, band = grid_case(paths, "albers_1km", True)
    summary, grid, _ours = run_case(tmp_path, paths, crs, res, bounds, "average",
                                    chunk=chunk, band_rows=band)
    support = np.isfinite(api_mosaic(paths, grid, "nearest"))
    expected = int(np.count_nonzero(support[::5]))
    assert expected > 1000
    assert summary.lost == {"2012-04-14": expected}
    assert "pixel check FAILED" in summary.report()


def test_a_correct_run_reports_a_passed_check(tmp_path):
    import json

    import xarray as xr

    paths = tile_paths(PAIR)
    crs, res, bounds, chunk, band = grid_case(paths, "wgs84_0.01", True)
    summary, _grid, _ours = run_case(tmp_path, paths, crs, res, bounds, "average",
                                     chunk=chunk, band_rows=band)
    assert summary.lost == {"2012-04-14": 0}
    assert "pixel check: every valid source pixel reached the output" in summary.report()
    prov = json.loads(xr.open_zarr(tmp_path / "out" / "lai.zarr").attrs["modisoft_provenance"])
    assert prov["extra"]["pixel_check"]["status"] == "passed"


# --------------------------------------------------------------------------------------------
# mode on land cover: the run's land-cover stage (lai = "retrieve")
# --------------------------------------------------------------------------------------------
LANDCOVER = "MCD12Q1.A2020001.h24v07.061.2022172012059.hdf"
LC_GRIDS = {  # name -> (crs, resolution, shrink)
    "native_463m": ("sin", None, 0.35),
    "double": ("sin", 2.0, 0.3),
    "wgs84_0.01": ("EPSG:4326", 0.01, 0.3),
    "utm42_1km": ("EPSG:32642", 1000.0, 0.3),
}


@needs_gdal
@pytest.mark.slow
@pytest.mark.parametrize("grid_name", list(LC_GRIDS))
def test_run_landcover_mode_equals_mosaic_and_gdal(grid_name, tmp_path):
    """The land cover a retrieval run puts on its grid (``landcover_on_grid``: ``mode``, or
    ``nearest`` onto pixels no larger than the land cover's, which on the native grid, aligned
    with the tile, gives the same codes) equals ``mosaic(..., method="mode")`` and
    ``gdalwarp -r mode`` except on tied windows and grazing pixels."""
    from modisoft.pipeline import load_config, resolve_grid
    from modisoft.pipeline.inputs import landcover_on_grid

    lc = sample(LANDCOVER)
    tile = modisoft.open_granule(lc, ["LC_Type1"])["LC_Type1"]
    src = Grid.from_xarray(tile)
    crs, factor, shrink = LC_GRIDS[grid_name]
    wkt = src.crs_wkt if crs == "sin" else crs
    res = src.transform.a * (factor or 1.0) if crs == "sin" else factor
    bounds = bounds_in(src, wkt, shrink)
    (tmp_path / "refl").mkdir()
    (tmp_path / "run.toml").write_text(
        f'[inputs]\npaths = ["refl"]\nproduct = "MOD09A1"\n'
        f"[grid]\ncrs = {toml_value(wkt)}\nresolution = {toml_value(float(res))}\n"
        f"bounds = {toml_value([float(b) for b in bounds])}\n"
        f'[steps]\nlai = "retrieve"\nresampling = "average"\n'
        f'[lai]\nlandcover = ["{lc}"]\n'
        f'[output]\ndir = "out"\nchunk = 128\n[compute]\nworkers = 0\n')
    cfg = load_config(tmp_path / "run.toml")
    grid = resolve_grid(cfg)
    ours, _files = landcover_on_grid(cfg, grid)
    ours = ours.values
    ref = mosaic([tile], grid, method="mode", chunks=300).values
    np.testing.assert_array_equal(ours, ref)
    sub = subdataset(lc, "LC_Type1", "MCD12Q1")
    theirs = gdalwarp(sub, grid, tmp_path, "mode")
    valid = theirs != 255
    assert valid.sum() > 0.5 * valid.size
    outside, sliver = grazing_pixels(src, grid)
    coverage = valid != (ours != 255)
    assert not np.any(coverage & ~(outside | sliver))
    differ = valid & (ours != 255) & (ours != theirs)
    tied = tied_windows(tile.values, src, grid, only=differ)
    assert not np.any(differ & ~tied & ~sliver), \
        f"{np.count_nonzero(differ & ~tied)} pixels differ from GDAL's mode outside ties"
    print(f"\nland cover mode {grid_name} {grid.shape}: {int(valid.sum())} compared, "
          f"{int(differ.sum())} tied windows differ, {int(coverage.sum())} grazing")
