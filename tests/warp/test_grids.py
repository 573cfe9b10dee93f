"""MODIS tiles from lon/lat and areas, named national grids, grids from bounds or templates.

Expected values come from reference/GRIDS.md (worked examples, tile lists) or from pyproj and
the sinusoidal formula written here."""

from __future__ import annotations

import math
import os
import shutil

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer

from modisoft.grids import (
    CHINA_ALBERS_PROJ,
    CHINA_TILE_PRESETS,
    Grid,
    grid_from_bounds,
    grid_like,
    modis_tile_grid,
    modis_tile_of_lonlat,
    modis_tiles_covering,
    national_grid,
)

R = 6371007.181
T = 2 * math.pi * R / 36


def tile_by_formula(lon: float, lat: float) -> tuple[int, int]:
    x, y = R * math.radians(lon) * math.cos(math.radians(lat)), R * math.radians(lat)
    return math.floor((x + 18 * T) / T), math.floor((9 * T - y) / T)


@pytest.mark.parametrize(
    ("lon", "lat", "tile"),
    [
        (116.4, 39.9, (26, 5)),  # Beijing (GRIDS.md 1.5)
        (114.305, 30.593, (27, 5)),  # Wuhan
        (91.117, 29.647, (25, 6)),  # Lhasa
        (109.512, 18.252, (28, 7)),  # Sanya
        (122.538, 52.972, (25, 3)),  # Mohe
        (0.5, 52.0, (18, 3)),
        (-0.5, 52.0, (17, 3)),
    ],
)
def test_tile_of_lonlat_worked_examples(lon, lat, tile):
    assert modis_tile_of_lonlat(lon, lat) == tile
    h, v = modis_tile_of_lonlat(np.array([lon, lon]), np.array([lat, lat]))
    assert (int(h[0]), int(v[0])) == tile


def test_tiles_covering_a_box_match_dense_sampling():
    box = (116.0, 39.5, 117.0, 40.5)
    lon, lat = np.meshgrid(np.linspace(box[0], box[2], 201), np.linspace(box[1], box[3], 201))
    expect = sorted({tile_by_formula(a, b) for a, b in zip(lon.ravel(), lat.ravel(), strict=False)})
    assert modis_tiles_covering(box) == expect == [(26, 4), (26, 5), (27, 5)]


def test_tiles_covering_china_include_the_named_preset():
    # mainland + Hainan + Taiwan bounding box: a superset of the 19-tile preset
    got = set(modis_tiles_covering((73.5, 18.1, 134.8, 53.6)))
    assert set(CHINA_TILE_PRESETS["china19"]) <= got
    assert len(CHINA_TILE_PRESETS["china18"]) == 18 and len(CHINA_TILE_PRESETS["china22"]) == 22


def test_tiles_covering_a_projected_polygon_and_antimeridian():
    tr = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
    ring = np.array([tr.transform(lo, la) for lo, la in ((-1, 51), (1, 51), (1, 53), (-1, 53))])
    assert modis_tiles_covering(ring, "EPSG:3035") == [(17, 3), (18, 3)]
    wrap = modis_tiles_covering((179.5, -17.5, -179.5, -16.5))
    assert (0, 10) in wrap or (0, 11) in wrap
    assert any(h == 35 for h, _v in wrap)


def test_tiles_covering_large_areas_equal_the_exact_test_of_every_tile():
    """The fast path (a vertex's tile, its neighbours' edges, the centres of the rest) picks
    what the exact ring/box test of every candidate tile picks: boxes reaching the poles,
    boxes on tile edges, the whole globe; each contains the tiles of a dense lon/lat
    sampling."""
    from modisoft.grids import modis
    from modisoft.grids.geometry import ring_intersects_box

    def exhaustive(ring, _hs, _vs, cands):
        return [hv for hv in cands if ring_intersects_box(ring, *modis._tile_box(*hv))]

    rng = np.random.default_rng(7)
    boxes = [(-180.0, -90.0, 180.0, 90.0), (-128.2, 49.5, -66.7, 90.0), (0.0, 0.0, 10.0, 10.0)]
    for _ in range(12):
        w, s = rng.uniform(-180, 100), rng.uniform(-90, 40)
        boxes.append((w, s, min(180.0, w + rng.uniform(1, 120)), min(90.0, s + rng.uniform(1, 60))))
    for box in boxes:
        fast = modis_tiles_covering(box)
        e = 1e-7  # inside the box: a point at 180° or 90° lies on the grid's outer edge
        lon, lat = np.meshgrid(np.linspace(box[0] + e, box[2] - e, 301),
                               np.linspace(box[1] + e, box[3] - e, 301))
        sampled = {tile_by_formula(a, b) for a, b in zip(lon.ravel(), lat.ravel(), strict=True)}
        assert sampled <= set(fast), box
        fast_path = modis._tiles_hit
        try:
            modis._tiles_hit = exhaustive
            assert fast == modis_tiles_covering(box), box
        finally:
            modis._tiles_hit = fast_path


EXTREMES = {
    "Pamir (west)": (73.50, 39.38),
    "Fuyuan (east)": (134.77, 48.45),
    "Mohe / Amur (north)": (122.5, 53.56),
    "Hainan (south)": (109.5, 18.15),
    "Taiwan (east cape)": (121.95, 24.95),
    "Taiwan (south cape)": (120.85, 21.9),
}


@pytest.mark.parametrize(
    ("name", "res"),
    [("china_albers_1km", 1000), ("china_albers_500m", 500), ("china_albers_250m", 250)],
)
def test_national_grids_cover_china_and_snap_to_resolution(name, res):
    g = national_grid(name)
    left, bottom, right, top = g.bounds
    assert g.resolution == (res, -res)
    for edge in (left, bottom, right, top):
        assert edge % res == 0
    assert g.crs.equals(Transformer.from_crs("EPSG:4326", CHINA_ALBERS_PROJ).target_crs)
    tr = Transformer.from_crs("EPSG:4326", CHINA_ALBERS_PROJ, always_xy=True)
    for lon, lat in EXTREMES.values():
        x, y = tr.transform(lon, lat)
        assert left + 50000 < x < right - 50000 and bottom + 50000 < y < top - 50000
    base = national_grid("china_albers_1km")
    assert g.bounds == base.bounds
    assert g.shape == (base.shape[0] * 1000 // res, base.shape[1] * 1000 // res)


def test_china_albers_sanity_value():
    # GRIDS.md 3.2: Beijing -> (956455.17, 4343616.66)
    x, y = Transformer.from_crs("EPSG:4326", CHINA_ALBERS_PROJ, always_xy=True).transform(
        116.4, 39.9
    )
    assert (round(x, 2), round(y, 2)) == (956455.17, 4343616.66)


def test_unknown_national_grid():
    with pytest.raises(ValueError, match="china_albers_1km"):
        national_grid("india_1km")


def test_grid_from_bounds_snaps_outwards_or_keeps_origin():
    g = grid_from_bounds("EPSG:3035", 1000, (2531200, 3036000, 3763500, 4451000.5))
    assert g.bounds == (2531000.0, 3036000.0, 3764000.0, 4452000.0)
    assert g.transform == Affine(1000, 0, 2531000, 0, -1000, 4452000)
    h = grid_from_bounds("EPSG:3035", (1000, 500), (2531200, 3036000, 3763500, 4451000), snap=False)
    # gdalwarp -te … -tr 1000 500: 1232.3 columns → 1232, 2830 rows (tests below: GDAL itself)
    assert h.transform.c == 2531200 and h.transform.f == 4451000 and h.shape == (2830, 1232)
    with pytest.raises(ValueError):
        grid_from_bounds("EPSG:3035", 0, (0, 0, 1, 1))
    with pytest.raises(ValueError):
        grid_from_bounds("EPSG:3035", 1, (1, 0, 0, 1))


def test_grid_like_a_grid_an_xarray_object_and_a_geotiff(tmp_path):
    import rasterio

    g = modis_tile_grid(26, 5)
    assert grid_like(g) is g
    import xarray as xr

    da = xr.DataArray(np.zeros(g.shape, "uint8"), dims=("y", "x"), coords=g.xarray_coords())
    assert grid_like(da).almost_equals(g)
    t = grid_from_bounds(CHINA_ALBERS_PROJ, 2000, (0, 0, 20000, 10000))
    with rasterio.open(
        tmp_path / "t.tif", "w", driver="GTiff", width=t.width, height=t.height, count=1,
        dtype="uint8", crs=rasterio.crs.CRS.from_wkt(t.crs_wkt), transform=t.transform,
    ) as f:  # fmt: skip
        f.write(np.zeros(t.shape, "uint8"), 1)
    got = grid_like(tmp_path / "t.tif")
    assert got.shape == t.shape and got.transform == t.transform and got.crs.equals(t.crs)
    assert isinstance(got, Grid)


@pytest.mark.skipif(shutil.which("gdalwarp") is None and os.environ.get("CI") != "true",
                    reason="gdalwarp is the oracle")
@pytest.mark.parametrize("bounds", [(2531200, 3036000, 3763500, 4451000),
                                    (1000.4, 2000.6, 7499.4, 9600.2), (0, 0, 2600, 1400)])
def test_unsnapped_bounds_give_gdalwarps_te_grid(tmp_path, bounds):
    """``snap=False`` is ``gdalwarp -te left bottom right top -tr dx dy``: same origin, same
    pixel size, same number of rows and columns, read back from GDAL's own output."""
    import json
    import subprocess

    import rasterio

    src = tmp_path / "src.tif"
    with rasterio.open(src, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8",
                       crs="EPSG:3035",
                       transform=Affine(2e6, 0, 0, 0, -2e6, 8e6)) as f:
        f.write(np.ones((1, 4, 4), "uint8"))
    dst = tmp_path / "dst.tif"
    subprocess.run(["gdalwarp", "-q", "-te", *map(str, bounds), "-tr", "1000", "500",
                    str(src), str(dst)], check=True)
    info = json.loads(subprocess.run(["gdalinfo", "-json", str(dst)], capture_output=True,
                                     text=True, check=True).stdout)
    ours = grid_from_bounds("EPSG:3035", (1000, 500), bounds, snap=False)
    assert list(ours.shape) == info["size"][::-1]
    np.testing.assert_allclose(ours.geotransform, info["geoTransform"], rtol=0, atol=1e-6)
