"""Land cover on a retrieval's grid (:mod:`modisoft.lai.landcover`): GeoTIFF/COG in any CRS or
MCD12Q1 HDF, codes as stored, fill left out, mode onto larger pixels.

Expected codes come from :mod:`landcover_oracle` (pyproj + numpy over each output pixel's
window of a **synthetic** block raster), from the real MCD12Q1 h24v07 file read with pyhdf,
or are written out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from conftest import sample
from landcover_oracle import NODATA, mode_under_pixels, write_block_landcover
from pyhdf.SD import SD

from modisoft.errors import LandcoverError
from modisoft.grids import Grid, grid_from_bounds
from modisoft.lai import open_landcover, resample_landcover
from modisoft.lai.landcover import landcover_method

UTM32S = "EPSG:32732"
LC_LEFT, LC_TOP, LC_RES = 480000.0, 9975000.0, 250.0  # 100 x 100 km over the Gabon coast
MCD12Q1 = "MCD12Q1.A2020001.h24v07.061.2022172012059.hdf"


def test_a_utm_geotiff_goes_onto_a_geographic_grid_by_mode(tmp_path):
    codes, tr = write_block_landcover(tmp_path / "lc.tif", UTM32S, LC_LEFT, LC_TOP, LC_RES)
    grid = grid_from_bounds("EPSG:4326", 0.01, (8.8, -1.2, 9.8, -0.2))  # wider than the raster
    lc = resample_landcover(tmp_path / "lc.tif", grid, chunks=37)
    assert lc.attrs["resampling_method"] == "mode" and lc.dtype == np.uint8
    got = lc.values
    e = mode_under_pixels("EPSG:4326", grid.transform, grid.shape, codes, UTM32S, tr)
    ok = e.comparable
    np.testing.assert_array_equal(got[ok], e.code[ok])
    assert ok.mean() > 0.85  # the rest: ties (and corners on a source pixel edge)
    assert (ok & e.mixed).sum() > 1000  # pixels over block edges: a real mode
    assert (ok & e.some_nodata & (e.code != NODATA)).sum() > 100  # nodata did not vote
    assert (ok & (e.code == NODATA)).sum() > 1000  # outside the raster, or in nodata blocks
    assert set(np.unique(got)) == {1, 2, 4, 5, 12, 17, NODATA}


def test_the_real_mcd12q1_as_hdf_and_as_geotiff_give_the_same_codes(tmp_path):
    """The same codes through both readers: the h24v07 LC_Type1 (pyhdf) written as a GeoTIFF
    on the tile's grid; at the native 463 m the nearest pixel is the file's pixel, onto 0.01°
    the two sources give the same mode."""
    import rasterio

    f = sample(MCD12Q1)
    sd = SD(str(f))
    raw = sd.select("LC_Type1")[:]
    sd.end()
    hdf = open_landcover(f)
    tile = Grid.from_xarray(hdf)
    with rasterio.open(tmp_path / "lc.tif", "w", driver="GTiff", height=2400, width=2400,
                       count=1, dtype="uint8", crs=tile.crs_wkt, nodata=255,
                       transform=tile.transform) as dst:
        dst.write(raw, 1)
    native = tile[0:100, 2200:2350]
    got = resample_landcover(f, native).values
    assert landcover_method([tile], native) == "nearest"
    np.testing.assert_array_equal(got, raw[0:100, 2200:2350])
    assert len(np.unique(got)) > 5
    lon = grid_from_bounds("EPSG:4326", 0.01, (73.0, 19.0, 73.6, 19.8))  # land in h24v07
    a = resample_landcover(f, lon)
    b = resample_landcover(tmp_path / "lc.tif", lon)
    assert a.attrs["resampling_method"] == b.attrs["resampling_method"] == "mode"
    np.testing.assert_array_equal(a.values, b.values)
    assert (a.values != 255).all() and len(np.unique(a.values)) > 5


def test_float_nodata_does_not_vote(tmp_path):
    """A float land cover with nodata -9999 (same CRS, 2 x 2 source pixels per pixel): each
    output pixel's code by hand."""
    import rasterio

    src = np.array([[-9999, -9999, 4, 4], [-9999, 12, 4, 12], [1, 1, -9999, -9999],
                    [-9999, 5, -9999, -9999]], "float32")
    with rasterio.open(tmp_path / "f.tif", "w", driver="GTiff", height=4, width=4, count=1,
                       dtype="float32", crs="EPSG:3035", nodata=-9999,
                       transform=Affine(100.0, 0, 0.0, 0, -100.0, 400.0)) as dst:
        dst.write(src, 1)
    grid = Grid.from_crs("EPSG:3035", Affine(200.0, 0, 0.0, 0, -200.0, 400.0), (2, 2))
    got = resample_landcover(tmp_path / "f.tif", grid).values
    np.testing.assert_array_equal(got, [[12, 4], [1, np.nan]])


def test_a_land_cover_that_cannot_be_used_is_named(tmp_path):
    (tmp_path / "notes.tif").write_text("not a raster")
    grid = grid_from_bounds("EPSG:4326", 0.01, (8.8, -1.2, 9.8, -0.2))
    with pytest.raises(LandcoverError, match=r"notes\.tif: not a land-cover raster") as err:
        resample_landcover(tmp_path / "notes.tif", grid)
    assert err.value.exit_code == 2
    (tmp_path / "lc.csv").write_text("1,2\n")
    with pytest.raises(LandcoverError, match=r"lc\.csv: not a land-cover raster .*suffix '\.csv'"):
        open_landcover(tmp_path / "lc.csv")
    f = sample(MCD12Q1)
    with pytest.raises(LandcoverError, match=rf"{f.name}: cannot read land-cover layer 'LC_Type9'"):
        open_landcover(f, "LC_Type9")
    # MCD12Q1 h24v07 (the Arabian Sea and western India) does not reach a grid over Gabon
    with pytest.raises(LandcoverError, match=rf"{f.name}: the land cover does not overlap the "
                                             r"grid \(.*covers MODIS Sinusoidal"):
        resample_landcover([f], grid)
