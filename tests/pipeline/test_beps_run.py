"""The BEPS output of a run: land cover from a GeoTIFF in another CRS mapped to BEPS_D codes,
and BEPS_D's day table computed from the daily smoothed curve when the run's own periods are
something else (monthly here).

Expected land cover comes from the raster's own class blocks at each output pixel (pyproj,
pixels whose whole footprint lies in one block); expected BEPS values from a second run with
``period = "beps_d"`` (the same daily curve averaged over the same days)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from pipeline.test_run import quiet, write_config
from pyproj import Transformer

from modisoft.pipeline import load_config, run
from modisoft.products.beps import IGBP_TO_BEPS_D

CLASSES = (1, 4, 5, 10, 12, 17)  # IGBP: needleleaf, deciduous, mixed, grass, crop, water


def _landcover_tif(path, grid_bounds, crs) -> tuple[float, float, float]:
    """An EPSG:4326 GeoTIFF of IGBP classes in 0.1° column blocks over the grid, 0.005°
    pixels; returns (left, top, block width)."""
    import rasterio
    from rasterio.transform import from_origin

    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    left, bottom, right, top = grid_bounds
    xs, ys = np.meshgrid(np.linspace(left, right, 50), np.linspace(bottom, top, 50))
    lon, lat = to_ll.transform(xs, ys)
    w, n = np.floor(lon.min()) - 0.5, np.ceil(lat.max()) + 0.5
    res, block = 0.005, 0.1
    ncol = int((lon.max() + 0.5 - w) / res)
    nrow = int((n - (lat.min() - 0.5)) / res)
    cols = (np.arange(ncol) * res / block).astype(int) % len(CLASSES)
    data = np.broadcast_to(np.asarray(CLASSES, np.uint8)[cols], (nrow, ncol)).copy()
    with rasterio.open(path, "w", driver="GTiff", height=nrow, width=ncol, count=1,
                       dtype="uint8", crs="EPSG:4326", nodata=255,
                       transform=from_origin(w, n, res, res)) as dst:
        dst.write(data, 1)
    return w, n, block


@pytest.mark.slow
def test_landcover_geotiff_and_beps_periods_beside_monthly_means(tmp_path):
    cfg_path = write_config(tmp_path, smoother="whittaker", period="month",
                            formats='["zarr", "beps"]')
    cfg0 = load_config(cfg_path)
    from modisoft.pipeline.schema import resolve_grid

    grid = resolve_grid(cfg0)
    w, _, block = _landcover_tif(tmp_path / "lc.tif", grid.bounds, grid.crs)
    cfg_path.write_text(cfg_path.read_text() + '\n[beps]\nlandcover = ["lc.tif"]\n'
                        "display_cycle = 5\n")
    summary = run(load_config(cfg_path), progress=False, echo=quiet)
    out = tmp_path / "out"
    assert summary.beps["landcover"]["from"] == "land cover"
    assert "display_cycle" not in summary.beps["to_fill"]
    side = json.loads((out / "beps" / "lai.001.json").read_text())
    assert side["extra"]["beps_landcover"]["files"] == [str(tmp_path / "lc.tif")]
    assert side["extra"]["beps_landcover"]["resampling"] == "mode"
    # land cover: the block's BEPS code where the pixel's footprint is in one block
    z = xr.open_zarr(out / "lai.zarr")
    assert z.sizes["time"] == 4  # January .. April: the run's own periods are months
    lc = np.fromfile(out / "beps" / "landcover.img", np.uint8).reshape(grid.shape)
    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    t = grid.transform
    ny, nx = grid.shape
    jj, ii = np.meshgrid(np.arange(nx), np.arange(ny))
    blocks = []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):  # the four corners of each pixel
        lon, _ = to_ll.transform(t.c + (jj + dx) * t.a, t.f + (ii + dy) * t.e)
        blocks.append(((lon - w) // block).astype(int))
    pure = np.all([b == blocks[0] for b in blocks], axis=0)
    igbp = np.asarray(CLASSES)[blocks[0] % len(CLASSES)]
    expect = np.vectorize(IGBP_TO_BEPS_D.get)(igbp)
    missing = np.isnan(z.lai.values).any(axis=0)
    assert pure.sum() > 1000 and (lc[missing] == 0).all()
    ok = pure & ~missing
    assert np.array_equal(lc[ok], expect[ok])
    assert set(np.unique(lc[ok])) == {0, 1, 6, 7, 16, 23}  # water (17) is 0: not simulated
    # the BEPS files hold BEPS_D's day table from the same daily curve: equal to a beps_d run
    ref = tmp_path / "ref"
    ref.mkdir()
    ref_cfg = write_config(ref, smoother="whittaker", period="beps_d", formats='["zarr"]')
    run(load_config(ref_cfg), progress=False, echo=quiet)
    want = xr.open_zarr(ref / "out" / "lai.zarr").lai.values
    got = xr.open_zarr(out / "lai_beps.zarr").lai.values
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, equal_nan=True)
    for k, suffix in enumerate((".001", ".002", ".003")):
        dn = np.fromfile(out / "beps" / f"lai{suffix}", np.uint8).reshape(grid.shape)
        sim = lc != 0
        assert (dn[~sim] == 0).all() and (dn[sim] >= 1).all()
        assert np.abs((dn[sim] - 1) / 10 - want[k][sim]).max() <= 0.05 + 1e-6


def test_a_beps_landcover_that_matches_nothing_fails_before_computing(tmp_path):
    from modisoft.errors import ConfigError

    cfg_path = write_config(tmp_path, smoother="whittaker", formats='["zarr", "beps"]')
    cfg_path.write_text(cfg_path.read_text() + '\n[beps]\nlandcover = ["lc/*.tif"]\n')
    with pytest.raises(ConfigError, match=r"\[beps\] landcover: nothing matches 'lc/\*.tif'"):
        run(load_config(cfg_path), progress=False, echo=quiet)
    assert not (tmp_path / "out" / "lai.zarr").exists()


def test_periods_past_the_last_observation_are_reported_not_passed_off(tmp_path):
    """[inputs] end two months after the last granule (May 1, covering to May 7): the
    smoother holds its last value over May and June, but those BEPS files have no observation:
    the run reports them and the control file ends with .003 (days 121-130)."""
    from write.test_beps import readconf

    cfg_path = write_config(tmp_path, smoother="whittaker", formats='["zarr", "beps"]')
    cfg_path.write_text(cfg_path.read_text().replace('end = "2012-04-30"',
                                                     'end = "2012-06-30"'))
    summary = run(load_config(cfg_path), progress=False, echo=quiet)
    assert summary.beps["uncovered"] == [f"lai.{k:03d}" for k in range(4, 10)]
    assert summary.exit_code == 3 and "no observation or no valid LAI in lai.004" in \
        summary.report()
    conf = readconf(tmp_path / "out" / "beps" / "lai.con")
    assert (conf["jday_start"], conf["jday_end"]) == (1, 130)
    assert len(summary.outputs["beps"]) == 9  # the LAI files, .001 to .009


def test_beps_codes_from_a_utm_geotiff_are_the_mode_with_nodata_0(tmp_path):
    """`[beps] landcover` as a **synthetic** GeoTIFF in UTM 30N (250 m, 5 km blocks, nodata
    blocks, not reaching the grid's west, east and north edges) with `landcover_codes =
    "beps"`: each pixel gets the mode of the codes under it as given (pyproj + numpy,
    :mod:`landcover_oracle`), and 0 (not simulated) where only nodata or nothing lies under
    it."""
    from landcover_oracle import NODATA, mode_under_pixels, write_block_landcover

    from modisoft.pipeline.beps_run import beps_landcover
    from modisoft.pipeline.schema import resolve_grid

    codes, src_tr = write_block_landcover(tmp_path / "lc.tif", "EPSG:32630", 620000.0,
                                          5970000.0, 250.0)
    cfg_path = write_config(tmp_path, formats='["zarr", "beps"]')
    cfg_path.write_text(cfg_path.read_text() + '\n[beps]\nlandcover = ["lc.tif"]\n'
                        'landcover_codes = "beps"\n')
    cfg = load_config(cfg_path)
    grid = resolve_grid(cfg)
    lai = xr.DataArray(np.zeros(grid.shape, "float32"), dims=("y", "x"),
                       coords=grid.xarray_coords())
    got, desc = beps_landcover(cfg, lai)
    assert desc["resampling"] == "mode" and desc["codes"] == "beps"
    e = mode_under_pixels(grid.crs_wkt, grid.transform, grid.shape, codes, "EPSG:32630", src_tr)
    want = np.where(e.code == NODATA, 0, e.code)
    ok = e.comparable
    np.testing.assert_array_equal(got[ok], want[ok])
    assert ok.mean() > 0.85 and (ok & e.mixed).sum() > 200
    assert (ok & (e.code == NODATA)).sum() > 200 and (ok & e.some_nodata).sum() > 20
