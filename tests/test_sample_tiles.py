"""The demo's cropped granules in sample_tiles/ hold the real pixels of the sample files, and
are georeferenced where those pixels lie in their tile (checked with GDAL when present)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE_DIR
from pyhdf.SD import SD

import modisoft
from modisoft.grids import modis_tile_grid

TILES = Path(__file__).resolve().parents[1] / "sample_tiles"
CROPPED = sorted(TILES.glob("MCD15A2.A2012*.hdf"))


def test_there_are_32_cropped_granules_and_they_are_small():
    assert len(CROPPED) == 32
    assert sum(p.stat().st_size for p in TILES.iterdir()) < 8e6


@pytest.mark.parametrize("path", CROPPED[:2] + CROPPED[-2:], ids=lambda p: p.name[9:24])
def test_pixels_and_grid_equal_the_source_window(path):
    src = SAMPLE_DIR / path.name
    if not src.exists():
        pytest.skip("../shared/sample-data is not present")
    tile = path.name.split(".")[2]
    c0 = 900 if tile == "h17v03" else 0
    ds = modisoft.open_granule(path, ["Lai_1km", "FparLai_QC"])
    full = SD(str(src))
    for layer in ("Lai_1km", "FparLai_QC"):
        np.testing.assert_array_equal(ds[layer].values, full.select(layer)[600:900, c0:c0 + 300])
    full.end()
    h, v = int(tile[1:3]), int(tile[4:6])
    expect = modis_tile_grid(h, v, "1km")[600:900, c0:c0 + 300]
    got = modisoft.grids.Grid.from_xarray(ds)
    assert got.almost_equals(expect, tol=1e-3)
    if shutil.which("gdalinfo"):
        out = subprocess.run(["gdalinfo", f'HDF4_EOS:EOS_GRID:"{path}":MOD_Grid_MOD15A2:Lai_1km'],
                             capture_output=True, text=True).stdout
        origin = out.split("Origin = (")[1].split(")")[0].split(",")
        assert abs(float(origin[0]) - expect.transform.c) < 1e-3
        assert abs(float(origin[1]) - expect.transform.f) < 1e-3
