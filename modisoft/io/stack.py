"""Open modisoft's own stacks (Zarr stores, NetCDF files) and GeoTIFFs as xarray Datasets."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.grids import Grid

__all__ = ["open_stack", "open_geotiff", "periods_from_cf"]


def open_stack(path: str | os.PathLike[str], *, decode_coords: Any = True,
               chunks: dict[str, int] | None = None) -> Any:
    """Open a Zarr store (a folder or ``*.zarr``) or a NetCDF file lazily.

    ``chunks`` (dask chunks per dim, ``-1`` = whole) replaces the stored chunks, e.g. one
    chunk per band of rows that is read at once (``{"time": -1, "y": 48, "x": -1}``: one
    read per band instead of thousands of small tasks); default: the stored chunks.

    Examples
    --------
    >>> ds = open_stack("lai_2012.zarr")  # doctest: +SKIP
    """
    import xarray as xr

    p = str(path)
    if p.rstrip("/").endswith(".zarr") or os.path.isdir(p):
        with warnings.catch_warnings():  # a store without consolidated metadata is fine
            warnings.filterwarnings("ignore", "Failed to open Zarr store with consolidated")
            warnings.filterwarnings("ignore", ".*separate the stored chunks")
            ds = xr.open_zarr(p, decode_coords=decode_coords,
                              **({} if chunks is None else {"chunks": chunks}))
    else:
        ds = xr.open_dataset(p, chunks={} if chunks is None else chunks,
                             decode_coords=decode_coords)
    return periods_from_cf(ds)


def periods_from_cf(ds: Any) -> Any:
    """modisoft's period coordinates back from a CF file's encoding of them.

    The writers store a period's last day as the CF bounds ``time_bnds`` (the upper bound is
    the day after) and its label in the ``period_labels`` attribute of ``time``; this gives
    back the ``period_end`` and ``period_label`` coordinates, and makes the grid mapping
    (``spatial_ref``) and ``height`` coordinates again.
    """
    refs = {str(ds[v].attrs.get("grid_mapping")) for v in ds.data_vars} & set(ds.data_vars)
    ds = ds.set_coords(sorted(refs | ({"height"} & set(ds.data_vars))))
    if "time" not in ds.coords:
        return ds
    bounds = ds["time"].attrs.get("bounds")
    if bounds in ds.variables and "period_end" not in ds.coords:
        stop = np.asarray(ds[bounds].values)[..., 1].astype("datetime64[D]") - 1
        ds = ds.drop_vars(bounds).assign_coords(
            period_end=(ds["time"].dims, stop.astype("datetime64[ns]")))
    labels = ds["time"].attrs.get("period_labels")
    if labels is not None and "period_label" not in ds.coords:
        labels = json.loads(labels) if isinstance(labels, str) else list(np.atleast_1d(labels))
        ds = ds.assign_coords(period_label=(ds["time"].dims, np.asarray(labels, object)))
    return ds


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
