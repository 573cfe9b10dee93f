"""The synthetic China generator (benchmarks/china_synth.py): 2 tiles x 2 dates, full size.

Expected values are computed here independently: tile corners from the tiling formula with
T = 2πR/36, the pixel shuffle re-implemented from the module's documented rule with numpy and
applied to the real source pixels read straight with pyhdf, and GDAL's ``gdalinfo`` as an
oracle for the geotransform.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE_DIR

import modisoft
from modisoft.grids import CHINA_TILE_PRESETS, Grid, modis_tile_grid

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_china_synth")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cs():
    spec = importlib.util.spec_from_file_location("china_synth", ROOT / "benchmarks/china_synth.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["china_synth"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def synth(cs, tmp_path_factory):
    if not list(SAMPLE_DIR.glob("MCD15A2.A2012*.h17v03.005.*.hdf")):
        pytest.skip("sample granules absent")
    out = tmp_path_factory.mktemp("china")
    res = cs.generate(out, tiles=2, dates=2)
    return out, res


def _shuffle_expected(src: np.ndarray, h: int, v: int) -> np.ndarray:
    """The documented rule, re-implemented: flips by parity, roll, 2x replication."""
    a = src.copy()
    if v % 2:
        a = np.flipud(a)
    if h % 2:
        a = np.fliplr(a)
    a = np.roll(a, (131 * h + 61 * v) % 1200, axis=0)
    a = np.roll(a, (47 * h + 173 * v) % 1200, axis=1)
    return np.kron(a, np.ones((2, 2), dtype=a.dtype))


def test_names_and_counts(synth):
    out, res = synth
    assert res.written == 4 and res.skipped == 0 and len(res.paths) == 4
    names = sorted(p.name for p in out.glob("*.hdf"))
    assert names == sorted(p.name for p in res.paths)
    pat = re.compile(r"^MCD15A2H\.A2012(001|009)\.h(\d\d)v(\d\d)\.006\.\d{13}\.hdf$")
    tiles = {(int(m.group(2)), int(m.group(3))) for m in map(pat.match, names) if m}
    assert len(tiles) == 2 and tiles == set(CHINA_TILE_PRESETS["china22"][:2])
    assert not list(out.glob(".*tmp"))  # no leftovers from the atomic write


def test_rerun_skips_existing(cs, synth):
    out, res = synth
    mtimes = {p: p.stat().st_mtime_ns for p in res.paths}
    again = cs.generate(out, tiles=2, dates=2)
    assert again.written == 0 and again.skipped == 4
    assert {p: p.stat().st_mtime_ns for p in again.paths} == mtimes
    assert again.bytes == sum(p.stat().st_size for p in res.paths) > 0


def test_modisoft_opens_with_right_grid_and_identity(synth):
    _out, res = synth
    T = 2 * math.pi * 6371007.181 / 36
    for path in res.paths:
        m = re.match(r"MCD15A2H\.A2012(\d{3})\.h(\d\d)v(\d\d)\.006\.(\d{13})\.hdf", path.name)
        doy, h, v = int(m.group(1)), int(m.group(2)), int(m.group(3))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any identity or registry warning fails
            ds = modisoft.open_granule(path, ["Lai_500m", "FparLai_QC"])
        grid = Grid.from_xarray(ds)
        assert grid.almost_equals(modis_tile_grid(h, v, "500m"), tol=1e-5)
        # and against the tiling formula written out here
        ulx, uly = -18 * T + h * T, 9 * T - v * T
        assert grid.transform.c == pytest.approx(ulx, abs=1e-5)
        assert grid.transform.f == pytest.approx(uly, abs=1e-5)
        assert grid.transform.a == pytest.approx(T / 2400, rel=1e-12)
        assert ds.attrs["tile"] == f"h{h:02d}v{v:02d}"
        assert ds.attrs["product"] == "MCD15A2H" and ds.attrs["collection"] == "006"
        start = dt.date(2012, 1, 1) + dt.timedelta(days=doy - 1)
        assert ds.attrs["start_date"] == start.isoformat()
        assert ds.attrs["end_date"] == (start + dt.timedelta(days=7)).isoformat()
        assert ds.attrs["granule_id"] == path.name
        info = modisoft.inspect_granule(str(path))
        assert info.granule.mismatches == ()


def test_values_are_the_source_pixels_replicated(synth):
    from pyhdf.SD import SD

    _out, res = synth
    for path in res.paths:
        h, v = (int(x) for x in re.search(r"\.h(\d\d)v(\d\d)\.", path.name).groups())
        sd = SD(str(path))
        attrs = sd.attributes()
        assert "SYNTHETIC" in attrs["SYNTHETIC_NOTE"]
        src_path = SAMPLE_DIR / attrs["SYNTHETIC_SOURCE"]
        doy = path.name.split(".")[1][-3:]
        assert f".A2012{doy}.h17v03.005." in src_path.name  # the source of the same date
        sd.end()
        src = SD(str(src_path))
        ds = modisoft.open_granule(path)
        for src_name, name in (("Lai_1km", "Lai_500m"), ("FparLai_QC", "FparLai_QC")):
            expected = _shuffle_expected(src.select(src_name).get(), h, v)
            got = ds[name].values
            assert got.shape == (2400, 2400)
            np.testing.assert_array_equal(got, expected)
        src.end()
    # the two tiles differ (per-tile shuffle)
    a = modisoft.open_granule(res.paths[0], ["Lai_500m"]).Lai_500m.values
    b = modisoft.open_granule(res.paths[2], ["Lai_500m"]).Lai_500m.values
    assert res.paths[0].name.split(".")[1] == res.paths[2].name.split(".")[1]
    assert (a != b).mean() > 0.1


def test_layers_are_stored_as_the_real_mcd15a2h_granules_are(synth):
    """Chunked and deflated as the real 500 m product (the sample MCD15A2H granule is the
    oracle): a reader of a row band inflates only that band's chunks, on either."""
    from pyhdf.SD import SD

    from modisoft.io import hdf4, hdf4_blocks

    real = next(SAMPLE_DIR.glob("MCD15A2H.*.hdf"), None)
    if real is None:
        pytest.skip("no real MCD15A2H sample")

    def layout(path: Path) -> dict:
        with hdf4.HDF4_LOCK:
            sd = SD(str(path))
            try:
                out = {}
                for name in sd.datasets():
                    sds = sd.select(name)
                    out[name] = (hdf4_blocks.deflate_layout(sds._id, 2), sds.getcompress())
                    sds.endaccess()
                return out
            finally:
                sd.end()

    expected = set(layout(real).values())
    assert expected == {((100, 1200), (4, 4))}  # (chunk rows, cols), (DEFLATE, level 4)
    _out, res = synth
    for path in res.paths:
        got = layout(path)
        assert len(got) == 6 and set(got.values()) == expected, (path.name, got)


@pytest.mark.gdal
def test_gdal_reads_the_grid(synth):
    if shutil.which("gdalinfo") is None:
        pytest.skip("gdalinfo not installed")
    _out, res = synth
    path = res.paths[0]
    h, v = (int(x) for x in re.search(r"\.h(\d\d)v(\d\d)\.", path.name).groups())
    txt = subprocess.run(
        ["gdalinfo", f'HDF4_EOS:EOS_GRID:"{path}":MOD_Grid_MOD15A2H:Lai_500m'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ox, oy = map(float, re.search(r"Origin = \(([-\d.]+),([-\d.]+)\)", txt).groups())
    px = float(re.search(r"Pixel Size = \(([-\d.]+),", txt).group(1))
    g = modis_tile_grid(h, v, "500m")
    assert "Size is 2400, 2400" in txt
    assert (ox, oy) == (
        pytest.approx(g.transform.c, abs=1e-5),
        pytest.approx(g.transform.f, abs=1e-5),
    )
    assert px == pytest.approx(g.transform.a, rel=1e-9)


def test_plan_and_errors(cs, tmp_path):
    items = cs.plan(11, 46)
    assert len(items) == 11 * 46
    assert [it.tile for it in items[::46]] == list(CHINA_TILE_PRESETS["china22"][:11])
    assert len(cs.plan()) == 22 * 46
    with pytest.raises(FileNotFoundError, match="no source granules"):
        cs.find_sources(tmp_path)
