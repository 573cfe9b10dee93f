"""Rasters GDAL reads (GeoTIFF land cover, clumping index maps): band 1 as a lazy
georeferenced ``DataArray``.

Reading goes through rasterio one window per dask chunk, reopening the file each time, so the
array pickles as its path and a worker process reads only the windows its tasks need.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import GranuleReadError

__all__ = ["read_raster"]


class _RasterBand:
    """Band 1 of a raster file as a lazily windowed array (pickles as its path)."""

    def __init__(self, path: str) -> None:
        import rasterio

        self.path = path
        with rasterio.open(path) as src:
            self.shape = (src.height, src.width)
            self.dtype = np.dtype(src.dtypes[0])
            self.nodata = src.nodata
            self.crs = src.crs
            self.transform = src.transform
        self.ndim = 2

    def __getitem__(self, key: Any) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        rows, cols = key
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        with rasterio.open(self.path) as src:
            return src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))


def read_raster(path: str | os.PathLike[str], *, kind: str = "class", chunk: int = 2048) -> Any:
    """Band 1 of a GeoTIFF (any raster rasterio opens) as a lazy georeferenced ``DataArray``
    that :func:`modisoft.warp.mosaic` accepts.

    Integer rasters keep their ``nodata`` as the fill value (255 for uint8, else the type's
    largest value, when the file has none); float rasters keep a finite ``nodata`` (NaN marks
    itself), so that a resampling leaves those pixels out.

    Parameters
    ----------
    path
        The raster file.
    kind
        ``attrs["kind"]`` of the result: ``"class"`` (categorical codes) or ``"value"``.
    chunk
        The dask chunk size (rows and columns); each chunk reads one window.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` band 1, named after the file's stem, with the grid's centre coordinates
        and ``spatial_ref``; attributes ``kind``, ``source_path``, ``grid_mapping`` and, for
        integer rasters and float rasters with a finite ``nodata``, ``fill_values``.  Nothing
        is read but the header.

    Raises
    ------
    GranuleReadError
        When the file cannot be opened or has no CRS.

    Examples
    --------
    >>> lc = read_raster("landcover.tif")  # doctest: +SKIP
    >>> lc.attrs["kind"], lc.dims  # doctest: +SKIP
    ('class', ('y', 'x'))
    """
    import dask.array as da
    import xarray as xr

    from modisoft.grids import Grid

    try:
        band = _RasterBand(str(path))
    except Exception as exc:  # rasterio raises its own error types
        raise GranuleReadError(path, f"cannot open the raster: {exc}") from None
    if band.crs is None:
        raise GranuleReadError(path, "the raster has no CRS")
    grid = Grid.from_crs(band.crs.to_wkt(), band.transform, band.shape)
    data = da.from_array(
        band,
        chunks=(chunk, chunk),
        asarray=True,
        name=f"raster-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}",
    )
    attrs: dict[str, Any] = {"grid_mapping": "spatial_ref", "kind": kind, "source_path": str(path)}
    if band.dtype.kind in "ui":
        nodata = band.nodata if band.nodata is not None else np.iinfo(band.dtype).max
        attrs["fill_values"] = np.array([nodata], dtype=band.dtype)
    elif band.nodata is not None and np.isfinite(band.nodata):
        attrs["fill_values"] = np.array([band.nodata], dtype=band.dtype)
    return xr.DataArray(
        data, dims=("y", "x"), coords=grid.xarray_coords(), name=Path(path).stem, attrs=attrs
    )
