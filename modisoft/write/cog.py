"""Cloud-optimised GeoTIFF writer: one COG per period, with nodata and a JSON sidecar.

Each period is written block by block (one dask chunk at a time) into a temporary tiled
GeoTIFF, then GDAL's COG driver (through rasterio) copies it with overviews into a second
temporary name, which is renamed onto the final file (:func:`~modisoft.write.geotiff.
write_geotiff`).  Peak memory is one block plus what the
COG driver needs for overviews, not the whole country.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.write._common import OutputError, as_dataset, grid_of, period_bounds, sha256
from modisoft.write.geotiff import write_geotiff
from modisoft.write.provenance import PROVENANCE_ATTR, Provenance, resolve_provenance

__all__ = ["write_cog", "CogFile"]

DEFAULT_COG_NAME = "{name}_{start:%Y%m%d}.tif"


@dataclass(frozen=True)
class CogFile:
    """One written COG: the file, its JSON sidecar and the period it holds."""

    path: Path
    sidecar: Path
    start: date | None
    end: date | None


def _file_names(template: str, name: str, bounds: list, n: int, directory: Path) -> list[Path]:
    out = []
    for i in range(n):
        start, end = bounds[i] if bounds else (None, None)
        if start is None and ("{start" in template or "{end" in template):
            raise OutputError(directory, f"file name {template!r} needs a time coordinate")
        try:
            fname = template.format(name=name, index=i, start=start, end=end or start)
        except (KeyError, IndexError, ValueError) as exc:
            raise OutputError(directory, f"bad file name template {template!r}: {exc}") from None
        out.append(directory / fname)
    if len(set(out)) != len(out):
        raise OutputError(
            directory, f"file name template {template!r} repeats names; add {{index}}"
        )
    return out


def write_cog(
    obj: Any,
    directory: str | os.PathLike[str],
    *,
    name: str | None = None,
    filename: str = DEFAULT_COG_NAME,
    provenance: Provenance | None = None,
    nodata: float | int | None = None,
    blocksize: int = 512,
    compress: str = "DEFLATE",
    overview_resampling: str = "average",
    overwrite: bool = True,
) -> list[CogFile]:
    """Write one Cloud-optimised GeoTIFF per time step (period), each with a JSON sidecar.

    Parameters
    ----------
    obj
        A ``DataArray`` (or one-variable ``Dataset``) with dims ``(time, y, x)`` or ``(y, x)``,
        ``x``/``y`` centre coordinates and a ``spatial_ref`` grid-mapping coordinate.
    directory
        Existing directory for the files.
    name
        Variable name (default: the array's name, else ``"lai"``); used in file names.
    filename
        Python format template with ``name``, ``index`` (0-based), ``start`` and ``end``
        (``datetime.date``: ``time`` and ``period_end`` coordinates).  Default
        ``"{name}_{start:%Y%m%d}.tif"``.
    provenance
        Written to each sidecar ``<file>.json`` and to the GeoTIFF metadata tag
        ``MODISOFT_PROVENANCE``.
    nodata
        Nodata value; default NaN for float data.  Integer data need one (or a ``nodata``
        attribute).  NaN pixels of float data are written as ``nodata``.
    blocksize
        Internal tile size (pixels, a multiple of 16, at least 128).  Overviews are built
        by halving until the image fits in one tile.
    compress
        GeoTIFF compression (``"DEFLATE"``, ``"ZSTD"``, ``"LZW"``, ...).
    overview_resampling
        Resampling for the overviews (``"average"``, ``"nearest"``, ``"mode"``, ...).
    overwrite
        Replace existing files.

    Returns
    -------
    list of CogFile
        One per time step, in time order.

    Raises
    ------
    OutputError
        Bad input (no georeferencing, not 2-D/3-D, integer data without nodata), bad options,
        or a missing directory.

    Examples
    --------
    >>> write_cog(lai, "cogs/", filename="lai_{start:%Y%j}.tif")  # doctest: +SKIP
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise OutputError(directory, "the output directory does not exist")
    if blocksize < 128 or blocksize % 16:
        raise OutputError(
            directory, f"blocksize must be a multiple of 16 and >= 128 (COG), got {blocksize}"
        )
    ds = as_dataset(obj, name, directory)
    if len(ds.data_vars) != 1:
        raise OutputError(directory, f"write_cog takes one variable, got {list(ds.data_vars)}")
    var = str(next(iter(ds.data_vars)))
    da = ds[var]
    if da.ndim == 2:
        da = da.expand_dims("time") if "time" in da.coords else da.expand_dims("_t")
    if da.ndim != 3:
        raise OutputError(directory, f"dims {da.dims} must be (time, y, x) or (y, x)", var)
    grid = grid_of(ds, directory)
    if not grid.is_rectilinear:
        raise OutputError(directory, "rotated grids are not supported", var)
    prov = resolve_provenance(provenance, grid)
    nodata = _nodata(da, nodata, directory, var)
    bounds = period_bounds(ds)
    paths = _file_names(filename, var, bounds, da.shape[0], directory)
    out = []
    for i, path in enumerate(paths):
        start, end = bounds[i] if bounds else (None, None)
        tags = {PROVENANCE_ATTR.upper(): prov.to_json(), "VARIABLE": var}
        if start is not None:
            tags["PERIOD_START"] = start.isoformat()
        if end is not None:
            tags["PERIOD_END"] = end.isoformat()
        opts = {"blocksize": blocksize, "compress": compress, "resampling": overview_resampling}
        _write_one(da[i], path, grid, nodata, tags, opts, overwrite)
        sidecar = prov.write_sidecar(
            path.with_name(path.name + ".json"),
            file={"name": path.name, "sha256": sha256(path), "format": "COG", "variable": var},
            period={"start": start, "end": end},
        )
        out.append(CogFile(path, sidecar, start, end))
    return out


def _nodata(da: Any, nodata: Any, directory: Path, var: str) -> float | int:
    if nodata is None:
        nodata = da.attrs.get("nodata", da.attrs.get("_FillValue"))
    if nodata is None:
        if np.issubdtype(da.dtype, np.floating):
            return float("nan")
        raise OutputError(directory, f"{da.dtype} data need a nodata value", var)
    if np.issubdtype(da.dtype, np.integer):
        info = np.iinfo(da.dtype)
        if not (info.min <= nodata <= info.max) or float(nodata) != int(nodata):
            raise OutputError(directory, f"nodata {nodata!r} does not fit {da.dtype}", var)
        return int(nodata)
    return float(nodata)


def _write_one(da2: Any, path: Path, grid: Any, nodata: Any, tags: dict, opts: dict, ow: bool):
    """One period: blocks → temporary tiled GeoTIFF → COG copy → atomic rename."""
    data = da2.data
    if not np.isnan(nodata) and np.issubdtype(data.dtype, np.floating):
        data = np.where(np.isnan(data), nodata, data).astype(data.dtype, copy=False)
    options = {
        "tiled": True,
        "blockxsize": opts["blocksize"],
        "blockysize": opts["blocksize"],
        "compress": "NONE",
        "BIGTIFF": "IF_SAFER",
    }
    cog = {
        "BLOCKSIZE": opts["blocksize"],
        "COMPRESS": opts["compress"],
        "OVERVIEW_RESAMPLING": opts["resampling"].upper(),
        "BIGTIFF": "IF_SAFER",
    }
    write_geotiff(
        path, data, grid, nodata=nodata, tags=tags, options=options, cog=cog, overwrite=ow,
        blockwise=True,
    )  # fmt: skip
