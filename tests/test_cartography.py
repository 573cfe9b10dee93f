"""What maps draw besides the raster (:mod:`modisoft.cartography`): the lon/lat box of a grid,
coastlines projected into its CRS, class legends.

Expected values: the MODIS sinusoidal formulas (x = R·λ·cos φ, y = R·φ on the sphere
R = 6371007.181 m; tile h, v spans x from (h - 18)·T, y from (9 - v)·T with T = 2πR/36, so a
tile row covers 10° of latitude), the IGBP legend of the MCD12Q1 user guide (table 3).
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import xarray as xr

from modisoft.cartography import class_legend_of, fill_legend_of, lonlat_box, map_lines
from modisoft.grids import modis_tile_grid
from modisoft.io import shapes

R = 6371007.181
T = 2 * math.pi * R / 36


def _lon(x, lat):
    return math.degrees(x / (R * math.cos(math.radians(lat))))


def test_lonlat_box_of_sinusoidal_tiles():
    # h26v07: 10°N to 20°N; the west edge reaches furthest west at 10°N, the east at 20°N
    w, s, e, n = lonlat_box(modis_tile_grid(26, 7, "500m"))
    assert (s, n) == pytest.approx((10.0, 20.0), abs=1e-6)
    assert w == pytest.approx(_lon(8 * T, 10.0), abs=1e-6)
    assert e == pytest.approx(_lon(9 * T, 20.0), abs=1e-6)
    # h35v09 (0°S to 10°S) reaches the antimeridian: the box goes across it (west > east)
    w, s, e, n = lonlat_box(modis_tile_grid(35, 9, "1km"))
    assert w > e and w == pytest.approx(_lon(17 * T, 0.0), abs=1e-6) and e < -170
    # h17v17 touches the South Pole: every longitude
    w, s, e, n = lonlat_box(modis_tile_grid(17, 17, "1km"))
    assert (w, e) == (-180.0, 180.0) and s == pytest.approx(-90.0)


def test_coastlines_projected_by_the_sinusoidal_formulas():
    grid = modis_tile_grid(26, 7, "500m")
    got = map_lines(grid, borders=False)
    assert got.resolution == "i" and got.borders == []  # 1,112 km across: intermediate
    lonlat = shapes.coastlines("i", lonlat_box(grid))
    assert len(got.coastlines) == len(lonlat) > 10
    for xy, ll in zip(got.coastlines, lonlat, strict=True):
        lat = np.radians(ll[:, 1])
        np.testing.assert_allclose(xy[:, 0], R * np.radians(ll[:, 0]) * np.cos(lat), atol=1e-3)
        np.testing.assert_allclose(xy[:, 1], R * lat, atol=1e-3)


def test_map_lines_never_fails_for_want_of_data(tmp_path, monkeypatch):
    grid = modis_tile_grid(26, 7, "500m")
    assert map_lines(grid, coastlines=False, borders=False).note == "not asked for"
    for name in ("gshhs_i.dat", "gshhsmeta_i.dat"):
        shutil.copy(shapes.data_dir() / name, tmp_path / name)
    (tmp_path / "gshhs_i.dat").write_bytes(b"\0" * 16)  # damaged: far too short
    monkeypatch.setattr(shapes, "data_dir", lambda: tmp_path)
    got = map_lines(grid, borders=False)
    assert got.coastlines == [] and got.note.startswith("none: ")
    assert "gshhsmeta_i.dat: line 1 declares" in got.note


IGBP_GUIDE = {1: "Evergreen Needleleaf Forests", 12: "Croplands", 17: "Water Bodies"}


def test_class_legends():
    flags = xr.DataArray([0], attrs={"flag_values": np.array([0, 254], "uint8"),
                                     "flag_meanings": "valid water"})  # fmt: skip
    assert class_legend_of(flags) == {0: "valid", 254: "water"}
    assert fill_legend_of(flags) == {254: "water"}  # fill classes: 0 is "a value"
    # a raw land cover layer as open_granule gives it: kind "class" and the layer name
    lc = xr.DataArray([1], name="LC_Type1", attrs={"kind": "class", "layer": "LC_Type1"})
    legend = class_legend_of(lc)
    assert sorted(legend) == list(range(1, 18))
    assert {c: legend[c] for c in IGBP_GUIDE} == IGBP_GUIDE
    tagged = lc.assign_attrs(registry_product="MCD12Q1.061")
    assert class_legend_of(tagged) == legend
    prop = xr.DataArray([1], name="LC_Prop1", attrs={"kind": "class", "layer": "LC_Prop1"})
    assert class_legend_of(prop) == {}  # a class layer without a legend in the registry
    assert class_legend_of(lc.assign_attrs(kind="value")) == {}  # values: a colour bar
    assert class_legend_of(xr.DataArray([1.0], name="lai")) == {}
