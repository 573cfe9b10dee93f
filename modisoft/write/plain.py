"""Plain outputs of the commands: a dataset to Zarr or NetCDF by its extension, and a mosaic
to GeoTIFF/COG or Zarr, each written atomically (no CF preparation or provenance; for those use
:func:`~modisoft.write.write_zarr`, :func:`~modisoft.write.write_netcdf`,
:func:`~modisoft.write.write_cog`)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from modisoft.write._common import OutputError, atomic_path
from modisoft.write.geotiff import plain_attrs, write_stack_geotiff

__all__ = ["write_dataset", "write_mosaic", "MOSAIC_SUFFIXES"]

MOSAIC_SUFFIXES = (".tif", ".tiff", ".zarr")
"""Output extensions :func:`write_mosaic` knows."""


def _is_zarr(path: Path) -> bool:
    return str(path).rstrip("/").endswith(".zarr")


def write_dataset(ds: Any, path: str | os.PathLike[str]) -> Path:
    """Write a Dataset to Zarr (``*.zarr``) or NetCDF (h5netcdf), atomically.

    Examples
    --------
    >>> write_dataset(smoothed, "lai_smooth.nc")  # doctest: +SKIP
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if _is_zarr(path):
            ds.to_zarr(tmp, mode="w")
        else:
            ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def write_mosaic(arr: Any, path: str | os.PathLike[str], *, cog: bool = False) -> Path:
    """Write a mosaic (``(time, y, x)`` or ``(y, x)``) chunk by chunk to GeoTIFF/COG or Zarr.

    A ``.tif`` gets one band per date (:func:`~modisoft.write.geotiff.write_stack_geotiff`);
    a ``.zarr`` one variable named after the array with plain attributes.

    Raises
    ------
    OutputError
        For another extension.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        ds = arr.to_dataset(name=str(arr.name or "values"))
        for v in list(ds.variables.values()):
            v.attrs = plain_attrs(v.attrs)
        ds.attrs = {}
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata")
            ds.to_zarr(tmp, mode="w")
        return path
    if suffix not in (".tif", ".tiff"):
        raise OutputError(path, "use a .tif or .zarr output")
    return write_stack_geotiff(arr, path, cog=cog)
