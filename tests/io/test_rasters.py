"""GeoTIFF reading (:func:`modisoft.io.rasters.read_raster`): lazy, georeferenced, fills kept."""

from __future__ import annotations

import numpy as np
import pytest

from modisoft.errors import GranuleReadError
from modisoft.io.rasters import read_raster


def _write(path, data, crs="EPSG:3035", nodata=None):
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype=data.dtype, crs=crs, nodata=nodata,
                       transform=from_origin(4000000.0, 3000000.0, 1000.0, 1000.0)) as dst:
        dst.write(data, 1)


def test_read_raster_is_lazy_georeferenced_and_exact(tmp_path):
    data = np.arange(5 * 7, dtype="uint8").reshape(5, 7)
    _write(tmp_path / "lc.tif", data)
    ras = read_raster(tmp_path / "lc.tif", chunk=3)
    assert ras.dims == ("y", "x") and ras.name == "lc" and ras.chunks == ((3, 2), (3, 3, 1))
    assert ras.attrs["kind"] == "class" and ras.attrs["source_path"] == str(tmp_path / "lc.tif")
    assert ras.attrs["fill_values"].tolist() == [255]  # uint8 without nodata: 255
    np.testing.assert_array_equal(ras.values, data)
    np.testing.assert_allclose(ras["x"].values, 4000500.0 + 1000.0 * np.arange(7))  # centres
    np.testing.assert_allclose(ras["y"].values, 2999500.0 - 1000.0 * np.arange(5))
    assert "spatial_ref" in ras.coords


def test_read_raster_nodata_float_and_errors(tmp_path):
    _write(tmp_path / "i.tif", np.zeros((2, 2), "int16"), nodata=-1)
    assert read_raster(tmp_path / "i.tif").attrs["fill_values"].tolist() == [-1]
    _write(tmp_path / "f.tif", np.full((2, 2), 0.5, "float32"))
    f = read_raster(tmp_path / "f.tif", kind="value")
    assert f.attrs["kind"] == "value" and "fill_values" not in f.attrs
    with pytest.raises(GranuleReadError, match="cannot open the raster"):
        read_raster(tmp_path / "missing.tif")
    _write(tmp_path / "nocrs.tif", np.zeros((2, 2), "uint8"), crs=None)
    with pytest.raises(GranuleReadError, match="has no CRS"):
        read_raster(tmp_path / "nocrs.tif")
