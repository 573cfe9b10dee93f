"""NetCDF-4 (CF) writer via h5netcdf, readable by xarray and by GDAL's netCDF driver.

The grid travels as a CF ``grid_mapping`` variable ``spatial_ref`` holding ``crs_wkt`` (full
WKT), the CF projection parameters, and GDAL's ``spatial_ref`` and ``GeoTransform`` (pixel
edges), so ``gdalinfo NETCDF:file.nc:lai`` reports the same CRS and transform as modisoft.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.write._common import atomic_path
from modisoft.write.cf import (
    blocks_together,
    check_chunks,
    fill_value,
    prepare_cf,
    time_encoding,
    var_chunks,
)
from modisoft.write.provenance import Provenance

__all__ = ["write_netcdf"]

NETCDF_DEFAULT_CHUNKS = {"time": 1, "y": 128, "x": 128}  # benchmarks/netcdf_access.py


def write_netcdf(
    obj: Any,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    chunks: dict[str, int] | None = None,
    provenance: Provenance | None = None,
    compression_level: int = 4,
    overwrite: bool = True,
) -> Path:
    """Write a georeferenced ``DataArray``/``Dataset`` to a NetCDF-4 CF file, atomically.

    Parameters
    ----------
    obj
        Dims ``(time, y, x)`` or ``(y, x)`` with ``x``/``y`` centre coordinates and a
        ``spatial_ref`` grid-mapping coordinate.  Lazy data are computed while writing.
    path
        The ``.nc`` file; written under a temporary name in the same directory, then renamed.
    name
        Variable name for an unnamed ``DataArray`` (default ``"lai"``), or the one variable
        of a ``Dataset`` to write.
    chunks
        HDF5 chunk size per dim, default ``{"time": 1, "y": 128, "x": 128}``: one period per
        chunk keeps a map read fast, small tiles a pixel series (measured by
        ``benchmarks/netcdf_access.py``; docs/reference/output-formats.md).  A ``nodata``
        attribute on an integer variable becomes its ``_FillValue``; floats use NaN.
    provenance
        Stored as the global attribute ``modisoft_provenance`` (JSON).
    compression_level
        zlib (deflate) level, with byte shuffle.
    overwrite
        Replace an existing file (after the new one is complete).

    Returns
    -------
    pathlib.Path
        The file.

    Raises
    ------
    OutputError
        If the object lacks a grid-mapping coordinate or ``y``/``x`` dims, or the file exists
        and ``overwrite`` is false.

    Examples
    --------
    >>> write_netcdf(lai, "lai_2012.nc")  # doctest: +SKIP
    """
    path = Path(path)
    ds, _ = prepare_cf(obj, path, name=name, provenance=provenance)
    chunk_map = check_chunks({**NETCDF_DEFAULT_CHUNKS, **(chunks or {})}, path)
    enc: dict[str, dict[str, Any]] = time_encoding(ds)
    for var in (str(v) for v in ds.variables if "y" in ds[v].dims and v != "y"):
        enc[var] = {
            "zlib": True,
            "complevel": int(compression_level),
            "shuffle": True,
            "chunksizes": var_chunks(ds[var], chunk_map),
        }
        fv = None if var in ds.coords else \
            fill_value(ds[var].dtype, ds[var].attrs.pop("nodata", None), path, var)
        enc[var]["_FillValue"] = fv
    for var in ds.variables:
        if var not in enc and np.issubdtype(ds[var].dtype, np.floating):
            enc[var] = {"_FillValue": None}  # CF: coordinates carry no fill value
    lazy = [str(v) for v in ds.variables if ds[v].chunks is not None and v not in ds.dims]
    with atomic_path(path, overwrite=overwrite) as tmp:
        eager = ds.drop_vars(lazy)
        eager.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False,
                        encoding={k: v for k, v in enc.items() if k in eager.variables})
        if lazy:
            _append_in_order(tmp, ds, lazy, enc)
        _char_attributes(tmp)
    return path


def _char_attributes(tmp: Path) -> None:
    """Text attributes as NC_CHAR (fixed-length, UTF-8), as CF and NCO expect, instead of the
    NC_STRING h5netcdf writes (NCO skips a ``bounds`` attribute of type NC_STRING)."""
    import h5py

    def fix(obj: Any) -> None:
        for key, value in list(obj.attrs.items()):
            if isinstance(value, str):
                obj.attrs[key] = np.bytes_(value.encode("utf-8"))

    with h5py.File(tmp, "r+") as f:
        fix(f)
        f.visititems(lambda _name, obj: fix(obj))


def _append_in_order(tmp: Path, ds: Any, names: list[str], enc: dict) -> None:
    """Write dask-backed variables block by block in C order, one variable after another.

    ``to_netcdf`` lets dask write the chunks of all variables in a graph order that depends
    on random task names, so HDF5 allocates them differently from one process to the next;
    writing in a fixed order makes the file byte-identical whenever the data are.
    """
    import h5netcdf
    import xarray as xr

    with h5netcdf.File(tmp, "a") as f:
        for dim, size in ds.sizes.items():  # a dimension only lazy variables use (nv4)
            if dim not in f.dimensions:
                f.dimensions[dim] = size
        made = {}
        for name in names:
            var = ds[name].variable.copy(deep=False)
            e = enc[name]
            var.encoding = {"_FillValue": e["_FillValue"]}
            coded = xr.conventions.encode_cf_variable(var, name=name)
            h = f.create_variable(name, dimensions=coded.dims, dtype=coded.dtype,
                                  chunks=tuple(e["chunksizes"]), compression="gzip",
                                  compression_opts=e["complevel"], shuffle=e["shuffle"],
                                  fillvalue=e["_FillValue"])
            for k, v in coded.attrs.items():
                if k != "_FillValue":
                    h.attrs[k] = v
            if ds[name].encoding.get("coordinates"):
                h.attrs["coordinates"] = ds[name].encoding["coordinates"]
            if name in ds.coords:  # lat/lon: written together below, one transform a block
                made[name] = (h, coded.data)
                continue
            data = coded.data
            for idx in np.ndindex(*data.numblocks):
                where = tuple(slice(sum(c[:i]), sum(c[:i]) + c[i])
                              for c, i in zip(data.chunks, idx, strict=True))
                h[where] = np.asarray(data.blocks[idx].compute())
        if made:
            for parts in blocks_together([data for _h, data in made.values()]):
                for (h, _data), (where, values) in zip(made.values(), parts, strict=True):
                    h[where] = values
