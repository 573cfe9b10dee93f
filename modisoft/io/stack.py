"""Open modisoft's own stacks (Zarr stores, NetCDF files) and GeoTIFFs as xarray Datasets."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.grids import Grid

__all__ = ["open_stack", "open_geotiff"]


def open_stack(path: str | os.PathLike[str], *, decode_coords: Any = True) -> Any:
    """Open a Zarr store (a folder or ``*.zarr``) or a NetCDF file lazily.

    Examples
    --------
    >>> ds = open_stack("lai_2012.zarr")  # doctest: +SKIP
    """
    import xarray as xr

    p = str(path)
    if p.rstrip("/").endswith(".zarr") or os.path.isdir(p):
        with warnings.catch_warnings():  # a store without consolidated metadata is fine
            warnings.filterwarnings("ignore", "Failed to open Zarr store with consolidated")
            return xr.open_zarr(p, decode_coords=decode_coords)
    return xr.open_dataset(p, chunks={}, decode_coords=decode_coords)


def open_geotiff(path: str | os.PathLike[str]) -> Any:
    """A GeoTIFF as a ``Dataset``: float32 values (nodata → NaN) on the file's grid.

    One band with a ``PERIOD_START`` tag (a :func:`~modisoft.write.write_cog` file) gets a
    ``time`` axis; one band otherwise is ``(y, x)``; several are ``(band, y, x)``.  The
    variable is named by the ``VARIABLE`` tag, else the file's stem.
    """
    import pandas as pd
    import rasterio
    import xarray as xr

    with rasterio.open(path) as src:
        grid = Grid.from_crs(src.crs.to_wkt(), src.transform, (src.height, src.width))
        data = src.read(masked=True).astype("float32").filled(np.nan)
        tags = src.tags()
    name = tags.get("VARIABLE") or Path(path).stem
    ds = xr.Dataset(coords=grid.xarray_coords())
    if "PERIOD_START" in tags and data.shape[0] == 1:
        ds = ds.assign_coords(time=("time", pd.to_datetime([tags["PERIOD_START"]])))
        ds[name] = (("time", "y", "x"), data)
    elif data.shape[0] == 1:
        ds[name] = (("y", "x"), data[0])
    else:
        ds[name] = (("band", "y", "x"), data)
    ds[name].attrs["grid_mapping"] = "spatial_ref"
    return ds
