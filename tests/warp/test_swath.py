"""Swath resampling: nearest within a radius and bucket averaging, against formulas written
here (chord distances on a sphere, pixel membership by floor of the inverse transform)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from modisoft.errors import ModisoftError
from modisoft.grids import grid_from_bounds
from modisoft.warp import SwathPlan, ValidRule, resample_swath


def test_nearest_takes_the_sample_at_each_centre_and_nothing_beyond_the_radius():
    g = grid_from_bounds("EPSG:4326", 0.1, (10.0, 40.0, 11.0, 41.0))  # 10 x 10
    cx, cy = np.meshgrid(g.x_coords(), g.y_coords())
    lon, lat = cx[:, :5].copy(), cy[:, :5].copy()  # samples on the western half's centres
    vals = np.arange(50, dtype="float32").reshape(10, 5)
    plan = SwathPlan(lon, lat, g, method="nearest", radius=5000.0)
    out = plan.apply(vals)
    np.testing.assert_array_equal(out[:, :5], vals)
    # column 5 centres are 0.1 deg (~8.4 km at 41 N) from the nearest sample: beyond 5 km
    assert np.isnan(out[:, 5:]).all()
    wide = SwathPlan(lon, lat, g, radius=9000.0).apply(vals)
    np.testing.assert_array_equal(wide[:, 5], vals[:, 4])  # now within reach
    assert np.isnan(wide[:, 6:]).all()


def test_bucket_average_is_the_mean_of_valid_samples_per_pixel():
    g = grid_from_bounds("EPSG:3035", 1000.0, (4000000, 3000000, 4003000, 3002000))  # 2 x 3
    rng = np.random.default_rng(1)
    x = rng.uniform(4000000, 4003000, 400)
    y = rng.uniform(3000000, 3002000, 400)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(x, y)
    vals = rng.integers(0, 100, 400).astype("int16")
    vals[::7] = -999  # fills
    out = SwathPlan(lon, lat, g, method="bucket_avg").apply(
        vals, valid=ValidRule((-999,)), nodata=-999
    )
    col, row = (
        np.floor((x - 4000000) / 1000).astype(int),
        np.floor((3002000 - y) / 1000).astype(int),
    )
    for r in range(2):
        for c in range(3):
            sel = (row == r) & (col == c) & (vals != -999)
            assert out[r, c] == np.floor(vals[sel].mean() + 0.5)


def test_resample_swath_dataset_and_errors():
    g = grid_from_bounds("EPSG:4326", 1.0, (0.0, 0.0, 3.0, 2.0))
    lon, lat = np.meshgrid([0.5, 1.5, 2.5], [1.5, 0.5])
    ds = xr.Dataset(
        {"ch1": (("y", "x"), np.arange(6, dtype="uint16").reshape(2, 3), {"fill_values": [65535]})},
        coords={"lat": (("y", "x"), lat), "lon": (("y", "x"), lon)},
    )
    out = resample_swath(ds, g, method="nearest")
    np.testing.assert_array_equal(out.ch1.values, np.arange(6).reshape(2, 3))
    assert out.ch1.dtype == np.uint16 and "spatial_ref" in out.coords
    with pytest.raises(ModisoftError, match="unknown swath method"):
        SwathPlan(lon, lat, g, method="ewa")
    with pytest.raises(ModisoftError, match="lat"):
        resample_swath(xr.Dataset({"a": (("y", "x"), np.zeros((2, 3)))}), g)
    with pytest.raises(ModisoftError, match="nodata"):
        SwathPlan(lon, lat, g).apply(np.zeros((2, 3), "int16"))
