"""Grid value object and MODIS tiling, against the formulas and constants of GRIDS.md."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from affine import Affine
from dask.base import tokenize
from pyproj import Transformer

from modisoft.grids import (
    MODIS_SPHERE_RADIUS,
    Grid,
    modis_tile_grid,
    modis_tile_of_grid,
    sinusoidal_crs,
)

T = 2 * math.pi * 6371007.181 / 36  # exact tile width (GRIDS.md §1.2)


def test_sinusoidal_is_the_modis_sphere_not_wgs84():
    crs = sinusoidal_crs()
    assert crs.ellipsoid.semi_major_metre == 6371007.181
    assert crs.ellipsoid.inverse_flattening == 0
    assert crs.coordinate_operation.method_name == "Sinusoidal"
    assert crs.to_epsg() is None  # no EPSG code exists (GRIDS.md §1.1)


@pytest.mark.parametrize(
    "lon, lat, x, y, tile",
    [
        (116.4, 39.9, 9929498.38, 4436682.57, (26, 5)),  # Beijing (GRIDS.md §1.5)
        (114.305, 30.593, 10940951.01, 3401790.23, (27, 5)),  # Wuhan
        (91.117, 29.647, 8805405.38, 3296599.71, (25, 6)),  # Lhasa
    ],
)
def test_golden_points(lon, lat, x, y, tile):
    tr = Transformer.from_crs("EPSG:4326", sinusoidal_crs(), always_xy=True)
    gx, gy = tr.transform(lon, lat)
    assert gx == pytest.approx(x, abs=0.01) and gy == pytest.approx(y, abs=0.01)
    h = math.floor((gx + 18 * T) / T)
    v = math.floor((9 * T - gy) / T)
    assert (h, v) == tile
    assert modis_tile_grid(h, v, "500m").bounds[0] <= gx < modis_tile_grid(h, v, "500m").bounds[2]


@pytest.mark.parametrize("res, n", [("250m", 4800), ("500m", 2400), ("1km", 1200), ("6km", 200)])
def test_tile_grid_formula(res, n):
    g = modis_tile_grid(17, 3, res)
    assert g.shape == (n, n)
    assert g.transform.c == pytest.approx(-18 * T + 17 * T, abs=1e-6)
    assert g.transform.f == pytest.approx(9 * T - 3 * T, abs=1e-6)
    assert g.transform.a == pytest.approx(T / n, rel=1e-15)
    assert g.transform.e == pytest.approx(-T / n, rel=1e-15)


def test_tile_of_grid_accepts_exact_and_truncated_widths_but_not_subsets():
    assert modis_tile_of_grid(modis_tile_grid(26, 5)) == (26, 5)
    nominal = Grid.from_corners(
        sinusoidal_crs(), (-1111950.519667, 6671703.118), (0.0, 5559752.598333), (1200, 1200)
    )
    assert modis_tile_of_grid(nominal) == (17, 3)
    assert modis_tile_of_grid(modis_tile_grid(18, 4, "500m")[923:996, 1626:1692]) is None
    assert (
        modis_tile_of_grid(
            Grid.from_crs("EPSG:4326", Affine(0.05, 0, -180, 0, -0.05, 90), (3600, 7200))
        )
        is None
    )


def test_bad_tile_and_resolution():
    with pytest.raises(ValueError, match="outside"):
        modis_tile_grid(36, 0)
    with pytest.raises(ValueError, match="resolution"):
        modis_tile_grid(1, 1, "300m")


def test_slicing_centres_and_value_semantics():
    g = modis_tile_grid(18, 9, "1km")
    sub = g[10:20, 5:7]
    s = T / 1200
    assert sub.shape == (10, 2)
    assert sub.transform.c == pytest.approx(5 * s, abs=1e-9)
    assert sub.transform.f == pytest.approx(-10 * s, abs=1e-9)
    np.testing.assert_allclose(sub.x_coords(), [5.5 * s, 6.5 * s], atol=1e-9)
    assert g == modis_tile_grid(18, 9, "1km") and hash(g) == hash(modis_tile_grid(18, 9, "1km"))
    assert tokenize(g) == tokenize(modis_tile_grid(18, 9, "1km")) != tokenize(sub)
    assert pickle.loads(pickle.dumps(g)) == g


def test_from_xarray_round_trip_exact_after_slicing():
    import xarray as xr

    g = modis_tile_grid(17, 3, "500m")
    da = xr.DataArray(np.zeros(g.shape, "uint8"), dims=("y", "x"), coords=g.xarray_coords())
    assert Grid.from_xarray(da) == g
    assert Grid.from_xarray(da[100:300, 2000:2001]) == g[100:300, 2000:2001]
    attrs = da.spatial_ref.attrs
    assert attrs["grid_mapping_name"] == "sinusoidal"
    assert "6371007.181" in attrs["crs_wkt"]
    assert [float(v) for v in attrs["GeoTransform"].split()] == list(g.geotransform)


def test_radius_constant():
    assert MODIS_SPHERE_RADIUS == 6371007.181
    assert pytest.approx(1111950.5197665233, abs=1e-9) == T
