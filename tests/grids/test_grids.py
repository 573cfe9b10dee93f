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


# ------------------------------------------------------------------------------------------
# BEPS_D's Canadian grid, against its own source (lcc_nad83.h, beps.h, pixtolon.c)
# ------------------------------------------------------------------------------------------
def _pixtolon(pix: float, lin: float) -> tuple[float, float]:
    """BEPS_D pixtolon.c with the constants of lcc_nad83.h, written out (prettymao/BEPS_D
    @0673aca): pixel centre → (lon, lat) in degrees on its Lambert conformal grid."""
    import math

    a, e = 6378137.0, 0.081819190903
    n, f, rho0 = 0.9007900869, 1.7621526918, 11239251.285494
    lamda0 = -1.658062789611
    x = (pix + 0.5) * 1000.0 - 2600000.0
    y = (4800 - (lin + 0.5)) * 1000.0 + 5700000.0
    rho = math.hypot(x, rho0 - y)
    theta = math.atan(x / (rho0 - y))
    t = (rho / (a * f)) ** (1 / n)
    lat = 90 - 2 * math.degrees(math.atan(t))
    for _ in range(50):  # the C loop iterates until the change is < 1e-4 degree
        s = e * math.sin(math.radians(lat))
        lat_new = 90 - 2 * math.degrees(math.atan(t * ((1 - s) / (1 + s)) ** (e / 2)))
        if abs(lat_new - lat) < 1e-12:
            break
        lat = lat_new
    return math.degrees(theta / n + lamda0), lat


def test_beps_d_canada_grid_matches_beps_d_source():
    from pyproj import Transformer

    from modisoft.grids import national_grid

    g = national_grid("beps_d_canada_1km")
    assert g.shape == (4800, 5700)  # NLIN_CAN x NPIX_CAN (beps.h)
    assert g.geotransform == (-2600000.0, 1000.0, 0.0, 10500000.0, 0.0, -1000.0)
    params = {p.name: p.value for p in g.crs.coordinate_operation.params}
    assert params == {"Latitude of false origin": 0.0, "Longitude of false origin": -95.0,
                      "Latitude of 1st standard parallel": 49.0,
                      "Latitude of 2nd standard parallel": 77.0,
                      "Easting at false origin": 0.0, "Northing at false origin": 0.0}
    assert g.crs.datum.name == "North American Datum 1983"
    to_ll = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True)
    xs, ys = g.x_coords(), g.y_coords()
    for pix, lin in [(0, 0), (2850, 2400), (5699, 4799), (1234, 4000), (5000, 10)]:
        lon, lat = to_ll.transform(xs[pix], ys[lin])
        ref_lon, ref_lat = _pixtolon(pix, lin)
        # NAD83 vs WGS 84 differ by < 2 m here (pyproj's null transform): 1e-4 degree
        assert abs(lon - ref_lon) < 1e-4 and abs(lat - ref_lat) < 1e-4, (pix, lin)
