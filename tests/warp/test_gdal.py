"""modisoft's warp against GDAL's command-line warper (the independent oracle).

* ``nearest`` must equal ``gdalwarp -et 0 -r near`` (GDAL's exact transformer) on every pixel,
  for single MCD15A2 tiles to EPSG:3035, EPSG:4326, China Albers and UTM 31N, and for the
  h17v03 + h18v03 pair (``gdalbuildvrt`` + ``gdalwarp``, modisoft's ``mosaic``);
* ``mode`` must equal ``gdalwarp -r mode`` except where the mode is a tie (documented: both
  tools then pick the value that reached the winning count first in GDAL's scan order, so ties
  are counted and reported, not excused beforehand);
* ``average`` must agree with ``gdalwarp -r average`` within 1 raw unit on >= 99 % of pixels;
* ``bilinear`` must equal ``gdalwarp -et 0 -r bilinear`` up to rounding (>= 99.9 % identical,
  never more than 1 raw unit apart).  gdalwarp switches from the 4-sample bilinear formula to a
  tent kernel widened by ``1 / scale`` whenever the destination/source size ratio of one of its
  warp *chunks* is below 0.95; that ratio depends on how gdalwarp splits the job (a sheared
  chunk of a China Albers warp gets it even at 2x upsampling), not on the grids.  modisoft
  always uses the 4-sample formula, so the comparison pins GDAL's scale with
  ``-wo XSCALE=1 -wo YSCALE=1``; where gdalwarp warps in one chunk (h17v03 to EPSG:3035 at
  1 km and 500 m) plain gdalwarp is compared as well.

For ``average`` GDAL treats only the ``_FillValue`` (255) as nodata, so the fill classes
249-254 enter its averages; the test gives modisoft the same rule (``ValidRule((255,))``).
The source CRS is the one GDAL reads from the HDF-EOS metadata (the MODIS sphere).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import sample

import modisoft
from modisoft.grids import CHINA_ALBERS_PROJ, Grid, grid_from_bounds
from modisoft.grids.geometry import box_ring, densify_ring
from modisoft.warp import ValidRule, mosaic, reproject

pytestmark = [
    pytest.mark.gdal,
    pytest.mark.skipif(
        shutil.which("gdalwarp") is None or shutil.which("gdalbuildvrt") is None,
        reason="gdalwarp/gdalbuildvrt not installed (Debian: apt-get install gdal-bin)",
    ),
]

H17 = "MCD15A2.A2012001.h17v03.005.2012017211237.hdf"
H18 = "MCD15A2.A2012001.h18v03.005.2012017211211.hdf"
H17_B = "MCD15A2.A2012105.h17v03.005.2012116125519.hdf"
UTM31 = "EPSG:32631"


def subdataset(path: Path, layer: str = "Lai_1km") -> str:
    return f'HDF4_EOS:EOS_GRID:"{path}":MOD_Grid_MOD15A2:{layer}'


def covering_grid(src: Grid, crs: str, res: float, shrink: float = 0.0) -> Grid:
    """A grid in ``crs`` covering ``src`` (its outline transformed exactly), optionally shrunk
    by ``shrink`` of its size on every side to keep the test small."""
    from pyproj import Transformer

    ring = densify_ring(box_ring(*src.bounds), 2000.0)
    x, y = Transformer.from_crs(src.crs, crs, always_xy=True).transform(*ring.T)
    left, right, bottom, top = min(x), max(x), min(y), max(y)
    dx, dy = (right - left) * shrink, (top - bottom) * shrink
    return grid_from_bounds(crs, res, (left + dx, bottom + dy, right - dx, top - dy))


def gdalwarp(
    src: str, dst: Grid, tmp: Path, resampling: str, exact: bool = True, extra: tuple = ()
) -> np.ndarray:
    import rasterio

    out = tmp / f"gdal_{resampling}.tif"
    left, bottom, right, top = dst.bounds
    cmd = ["gdalwarp", "-q", "-overwrite", "-r", resampling, "-t_srs", dst.crs.to_wkt()]
    cmd += ["-te", *(repr(v) for v in (left, bottom, right, top))]
    cmd += ["-ts", str(dst.width), str(dst.height), *extra]
    if exact:
        cmd += ["-et", "0"]
    subprocess.run([*cmd, src, str(out)], check=True)
    with rasterio.open(out) as ds:
        assert ds.transform.almost_equals(dst.transform, precision=1e-6)
        return ds.read(1)


def tile(name: str, layer: str = "Lai_1km"):
    return modisoft.open_granule(sample(name), layers=[layer])[layer]


@pytest.mark.parametrize(
    ("crs", "res"),
    [
        ("EPSG:3035", 1000.0),
        ("EPSG:4326", 0.01),
        (CHINA_ALBERS_PROJ, 1000.0),
        (UTM31, 1000.0),
    ],
    ids=["laea3035", "wgs84", "china_albers", "utm31n"],
)
def test_nearest_single_tile_identical_to_gdalwarp_et0(crs, res, tmp_path):
    src = tile(H17)
    dst = covering_grid(Grid.from_xarray(src), crs, res)
    ours = reproject(src, dst, method="nearest").values
    theirs = gdalwarp(subdataset(sample(H17)), dst, tmp_path, "near")
    covered = np.count_nonzero(theirs != 255)
    print(f"nearest {crs[:20]}: {dst.shape}, {covered} covered pixels, all identical")
    assert covered > 0.5 * theirs.size  # the comparison is not vacuous
    np.testing.assert_array_equal(ours, theirs)


def test_nearest_second_date_and_layer_identical(tmp_path):
    src = tile(H17_B, "FparLai_QC")  # a QA layer: nearest allowed
    dst = covering_grid(Grid.from_xarray(src), UTM31, 2000.0)
    ours = reproject(src, dst).values
    theirs = gdalwarp(subdataset(sample(H17_B), "FparLai_QC"), dst, tmp_path, "near")
    np.testing.assert_array_equal(ours, theirs)


def pair_vrt(tmp_path: Path) -> str:
    vrt = tmp_path / "pair.vrt"
    subs = [subdataset(sample(H17)), subdataset(sample(H18))]
    subprocess.run(["gdalbuildvrt", "-q", "-overwrite", str(vrt), *subs], check=True)
    return str(vrt)


def pair_grid(res: float, crs: str = "EPSG:3035") -> Grid:
    a, b = Grid.from_xarray(tile(H17)), Grid.from_xarray(tile(H18))
    union = Grid(a.crs_wkt, a.transform, (a.height, a.width + b.width))
    return covering_grid(union, crs, res)


def test_nearest_two_tile_mosaic_identical_to_gdalbuildvrt_gdalwarp(tmp_path):
    dst = pair_grid(1000.0)
    ours = mosaic([tile(H17), tile(H18)], dst, method="nearest", chunks=700).values
    theirs = gdalwarp(pair_vrt(tmp_path), dst, tmp_path, "near")
    print(f"mosaic nearest: {dst.shape}, {np.count_nonzero(theirs != 255)} covered, identical")
    np.testing.assert_array_equal(ours, theirs)


def test_nearest_two_tile_mosaic_to_china_albers(tmp_path):
    dst = pair_grid(2000.0, CHINA_ALBERS_PROJ)
    ours = mosaic([tile(H18), tile(H17)], dst, chunks=512).values  # order does not matter
    theirs = gdalwarp(pair_vrt(tmp_path), dst, tmp_path, "near")
    np.testing.assert_array_equal(ours, theirs)


def ties(src: np.ndarray, dst: Grid, src_grid: Grid) -> np.ndarray:
    """Destination pixels whose source window (GDAL's: transformed corners, floor/ceil) has a
    tied mode, counted independently with numpy over each pixel's window."""
    from pyproj import Transformer

    tr = Transformer.from_crs(dst.crs, src_grid.crs, always_xy=True)
    rows, cols = np.mgrid[0 : dst.height + 1, 0 : dst.width + 1]
    t = dst.transform
    x = t.c + cols.ravel() * t.a
    y = t.f + rows.ravel() * t.e
    sx, sy = tr.transform(x, y)
    s = src_grid.transform
    px, py = (np.asarray(sx) - s.c) / s.a, (np.asarray(sy) - s.f) / s.e
    px, py = px.reshape(rows.shape), py.reshape(rows.shape)
    out = np.zeros(dst.shape, bool)
    for r in range(dst.height):
        for c in range(dst.width):
            xs = sorted((px[r, c], px[r + 1, c + 1]))
            ys = sorted((py[r, c], py[r + 1, c + 1]))
            c0, c1 = max(int(np.floor(xs[0] + 1e-10)), 0), int(np.ceil(xs[1] - 1e-10))
            r0, r1 = max(int(np.floor(ys[0] + 1e-10)), 0), int(np.ceil(ys[1] - 1e-10))
            w = src[r0:r1, c0:c1].ravel()
            w = w[w != 255]
            if w.size:
                counts = np.bincount(w)
                out[r, c] = np.count_nonzero(counts == counts.max()) > 1
    return out


def test_mode_equals_gdalwarp_mode_except_ties(tmp_path):
    src = tile(H17)
    sg = Grid.from_xarray(src)
    dst = covering_grid(sg, "EPSG:3035", 5000.0)
    ours = reproject(src, dst, method="mode", valid=ValidRule((255,))).values
    theirs = gdalwarp(subdataset(sample(H17)), dst, tmp_path, "mode")
    diff = ours != theirs
    tied = ties(src.values, dst, sg)
    print(
        f"mode: {dst.shape}, {np.count_nonzero(theirs != 255)} covered, "
        f"{np.count_nonzero(diff)} differ, {np.count_nonzero(tied)} tied windows, "
        f"{np.count_nonzero(diff & ~tied)} differ outside ties"
    )
    assert np.count_nonzero(tied) > 0  # the tie rule is exercised
    assert not np.any(diff & ~tied)


def test_mode_on_qa_layer_of_the_pair(tmp_path):
    dst = pair_grid(4000.0)
    srcs = [tile(H17, "FparLai_QC"), tile(H18, "FparLai_QC")]
    ours = mosaic(srcs, dst, method="mode", valid=ValidRule((255,))).values
    vrt = tmp_path / "qa.vrt"
    subs = [subdataset(sample(H17), "FparLai_QC"), subdataset(sample(H18), "FparLai_QC")]
    subprocess.run(["gdalbuildvrt", "-q", "-overwrite", str(vrt), *subs], check=True)
    theirs = gdalwarp(str(vrt), dst, tmp_path, "mode")
    agree = np.mean(ours == theirs)
    print(f"mode QA pair: {dst.shape}, agreement {100 * agree:.3f} %")
    assert agree >= 0.99


@pytest.mark.parametrize("res", [3000.0, 5000.0])
def test_average_within_one_raw_unit_of_gdalwarp(res, tmp_path):
    dst = pair_grid(res)
    ours = mosaic([tile(H17), tile(H18)], dst, method="average", valid=ValidRule((255,))).values
    theirs = gdalwarp(pair_vrt(tmp_path), dst, tmp_path, "average")
    both = (ours != 255) | (theirs != 255)
    d = np.abs(ours.astype(int) - theirs.astype(int))[both]
    within = np.mean(d <= 1)
    print(
        f"average {res:.0f} m: {both.sum()} compared pixels, identical "
        f"{100 * np.mean(d == 0):.3f} %, within 1 raw unit {100 * within:.3f} %, max |diff| "
        f"{d.max()}"
    )
    assert both.sum() > 1000
    assert within >= 0.99


def test_seam_is_continuous_across_h17v03_h18v03():
    """A field continuous across x = 0 (the shared edge): its value is the source column index
    in the joint 2400-column lattice.  In the mosaic every destination pixel's value must equal
    the column of the source pixel under its centre: no gap, no duplicated column."""
    import xarray as xr
    from pyproj import Transformer

    a, b = Grid.from_xarray(tile(H17)), Grid.from_xarray(tile(H18))
    field_a = np.broadcast_to(np.arange(1200, dtype="float32"), a.shape)
    field_b = np.broadcast_to(np.arange(1200, 2400, dtype="float32"), b.shape)
    srcs = [
        xr.DataArray(f, dims=("y", "x"), coords=g.xarray_coords()).chunk(600)
        for f, g in ((field_a, a), (field_b, b))
    ]
    # a 3035 strip across the seam (x = 0 sinusoidal is 0 deg E)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
    x0, y0 = tr.transform(-1.0, 52.0)
    x1, y1 = tr.transform(1.0, 54.0)
    dst = grid_from_bounds("EPSG:3035", 500.0, (x0, y0, x1, y1))
    out = mosaic(srcs, dst, method="nearest", chunks=128).values
    # independent expectation: centre -> sinusoidal -> column in the joint lattice
    cx, cy = np.meshgrid(dst.x_coords(), dst.y_coords())
    sx, _sy = Transformer.from_crs(dst.crs, a.crs, always_xy=True).transform(cx, cy)
    expect = np.floor((np.asarray(sx) - a.transform.c) / a.transform.a)
    assert np.isfinite(out).all()  # no gap
    np.testing.assert_array_equal(out, expect)
    assert (out < 1200).any() and (out >= 1200).any()  # the strip crosses the seam
    cols = np.unique(out[out.shape[0] // 2])
    assert np.all(np.diff(cols) >= 1)  # along a row: monotone, no duplicated column run back


# bilinear --------------------------------------------------------------------------------------
# GDAL sees only the _FillValue (255) as nodata (-srcnodata/-dstnodata 255 make that explicit),
# so the fill classes 249-254 are interpolated as numbers; modisoft gets the same rule.
BILINEAR_NODATA = ("-srcnodata", "255", "-dstnodata", "255")
GDAL_4SAMPLE = ("-wo", "XSCALE=1", "-wo", "YSCALE=1")


def bilinear_agreement(ours: np.ndarray, theirs: np.ndarray, label: str) -> tuple[float, int]:
    both = (ours != 255) | (theirs != 255)
    d = np.abs(ours.astype(int) - theirs.astype(int))[both]
    same, within = np.mean(d == 0), np.mean(d <= 1)
    only = np.count_nonzero((ours == 255) != (theirs == 255))
    print(
        f"bilinear {label}: {both.sum()} compared pixels, identical {100 * same:.4f} %, "
        f"within 1 raw unit {100 * within:.4f} %, max |diff| {d.max()}, "
        f"{only} covered by one tool only"
    )
    assert both.sum() > 0.5 * ours.size  # not vacuous
    return same, int(d.max())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("crs", "res"),
    [
        ("EPSG:3035", 1000.0),
        ("EPSG:3035", 500.0),
        (CHINA_ALBERS_PROJ, 1000.0),
        (CHINA_ALBERS_PROJ, 500.0),
        ("EPSG:3035", 1500.0),  # 1.6x downsampling: the interpolation, no widened kernel
    ],
    ids=["laea3035_1km", "laea3035_500m", "china_albers_1km", "china_albers_500m", "laea_1.5km"],
)
def test_bilinear_equals_gdalwarp_4sample(crs, res, tmp_path):
    src = tile(H17)
    dst = covering_grid(Grid.from_xarray(src), crs, res)
    ours = reproject(src, dst, method="bilinear", valid=ValidRule((255,))).values
    extra = BILINEAR_NODATA + GDAL_4SAMPLE
    theirs = gdalwarp(subdataset(sample(H17)), dst, tmp_path, "bilinear", extra=extra)
    same, worst = bilinear_agreement(ours, theirs, f"{crs[:20]} {res:.0f} m (XSCALE=YSCALE=1)")
    assert same >= 0.999
    assert worst <= 1
    fills = (ours >= 249) & (ours <= 254)
    assert fills.any() and (ours < 249).any()  # fill classes and values both compared


@pytest.mark.slow
@pytest.mark.parametrize("res", [1000.0, 500.0])
def test_bilinear_equals_plain_gdalwarp_in_one_chunk(res, tmp_path):
    """h17v03 to EPSG:3035: gdalwarp warps in a single chunk whose size ratio is >= 0.95, so
    its default bilinear is the 4-sample formula, and no warp option is needed."""
    src = tile(H17)
    dst = covering_grid(Grid.from_xarray(src), "EPSG:3035", res)
    ours = reproject(src, dst, method="bilinear", valid=ValidRule((255,))).values
    theirs = gdalwarp(subdataset(sample(H17)), dst, tmp_path, "bilinear", extra=BILINEAR_NODATA)
    same, worst = bilinear_agreement(ours, theirs, f"EPSG:3035 {res:.0f} m (plain gdalwarp)")
    assert same >= 0.999
    assert worst <= 1


def test_bilinear_two_tile_mosaic_equals_gdalbuildvrt_gdalwarp(tmp_path):
    """Across the h17v03/h18v03 seam the 2x2 neighbourhood straddles both tiles (a virtual
    source, like gdalbuildvrt's VRT)."""
    dst = pair_grid(1000.0)
    srcs = [tile(H17), tile(H18)]
    ours = mosaic(srcs, dst, method="bilinear", valid=ValidRule((255,)), chunks=700).values
    extra = BILINEAR_NODATA + GDAL_4SAMPLE
    theirs = gdalwarp(pair_vrt(tmp_path), dst, tmp_path, "bilinear", extra=extra)
    same, worst = bilinear_agreement(ours, theirs, "h17v03+h18v03 EPSG:3035 1 km")
    assert same >= 0.999
    assert worst <= 1
