"""Cloud-optimised GeoTIFF writer: one COG per period, with nodata and a JSON sidecar.

Each band says what it holds, as a GIS shows it: its unit, a description naming the quantity
and the period, scale/offset for packed values, the CF ``standard_name`` (a band metadata
item), and overviews resampled by the layer's kind (``average`` for continuous values, ``mode``
for categorical codes).  The GeoTIFF tag ``MODISOFT_PROVENANCE`` holds a short summary
(:meth:`~modisoft.write.provenance.Provenance.summary`); the full record is the sidecar.

Each period is written block by block (one dask chunk at a time) into a temporary tiled
GeoTIFF, then GDAL's COG driver (through rasterio) copies it with overviews into a second
temporary name, which is renamed onto the final file (:func:`~modisoft.write.geotiff.
write_geotiff`).  Peak memory is one block plus what the
COG driver needs for overviews, not the whole country.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.write._common import OutputError, as_dataset, grid_of, period_bounds, sha256
from modisoft.write.geotiff import BandMetadata, write_geotiff
from modisoft.write.provenance import PROVENANCE_ATTR, Provenance, resolve_provenance

__all__ = ["write_cog", "CogFile", "is_categorical"]

DEFAULT_COG_NAME = "{name}_{start:%Y%m%d}.tif"

OVERVIEW_RESAMPLINGS = (
    "nearest", "average", "bilinear", "cubic", "cubicspline", "lanczos", "mode", "rms",
)  # fmt: skip
"""The ``overview_resampling`` values GDAL's COG driver takes."""

CATEGORICAL_KINDS = ("categorical", "class", "qa")
"""Values of the ``kind`` attribute that mark categorical codes (overviews by ``mode``)."""

PROVENANCE_TAG_BYTES = 1024
"""Largest size of the ``MODISOFT_PROVENANCE`` tag (the summary; the full record is the
sidecar)."""


@dataclass(frozen=True)
class CogFile:
    """One written COG: the file, its JSON sidecar and the period it holds."""

    path: Path
    sidecar: Path
    start: date | None
    end: date | None

    @classmethod
    def from_sidecar(cls, sidecar: str | os.PathLike[str]) -> CogFile:
        """The COG a JSON sidecar written by :func:`write_cog` describes (``<file>.json``).

        Raises
        ------
        OutputError
            If the sidecar is missing or not one of :func:`write_cog`'s.
        """
        sidecar = Path(sidecar)
        try:
            doc = json.loads(sidecar.read_text())
            period = doc.get("period") or {}
            day = {k: date.fromisoformat(period[k]) if period.get(k) else None
                   for k in ("start", "end")}
            return cls(sidecar.with_name(doc["file"]["name"]), sidecar, day["start"], day["end"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OutputError(sidecar, f"not a COG sidecar of write_cog: {exc}") from None


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
    overview_resampling: str | None = None,
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
        Written in full to each sidecar ``<file>.json``; the GeoTIFF metadata tag
        ``MODISOFT_PROVENANCE`` holds a summary of at most 1024 bytes naming the sidecar
        (:meth:`~modisoft.write.provenance.Provenance.summary`).
    nodata
        Nodata value; default NaN for float data.  Integer data need one (or a ``nodata``
        attribute).  NaN pixels of float data are written as ``nodata``.
    blocksize
        Internal tile size (pixels, a multiple of 16, at least 128).  Overviews are built
        by halving until the image fits in one tile.
    compress
        GeoTIFF compression (``"DEFLATE"``, ``"ZSTD"``, ``"LZW"``, ...).
    overview_resampling
        Resampling for the overviews: one of :data:`OVERVIEW_RESAMPLINGS`.  ``None`` (the
        default) chooses by the layer's kind: ``"mode"`` for categorical codes (attributes
        with CF ``flag_values`` or ``flag_masks``, or ``kind`` in :data:`CATEGORICAL_KINDS`),
        ``"average"`` otherwise.  The choice is recorded in the tag ``OVERVIEW_RESAMPLING``.
    overwrite
        Replace existing files.

    Returns
    -------
    list of CogFile
        One per time step, in time order.

    Notes
    -----
    Each band gets, from the array's attributes: the unit type (``units``); the description
    ``"<long_name or variable>, <start>/<end>"`` (ISO dates of the period, ``time`` and
    ``period_end``); scale and offset when ``scale_factor``/``add_offset`` are present
    (else GDAL's defaults); band metadata items ``standard_name``, ``flag_values`` and
    ``flag_meanings`` when present.

    Raises
    ------
    OutputError
        Bad input (no georeferencing, not 2-D/3-D, integer data without nodata, a
        ``scale_factor``/``add_offset`` that is not one finite number), bad options (an
        unknown ``overview_resampling``), or a missing directory.

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
    resampling = _resampling(da.attrs, overview_resampling, directory, var)
    scaling = _scaling(da.attrs, directory, var)
    bounds = period_bounds(ds)
    paths = _file_names(filename, var, bounds, da.shape[0], directory)
    out = []
    for i, path in enumerate(paths):
        start, end = bounds[i] if bounds else (None, None)
        side = path.with_name(path.name + ".json")
        tags = {
            PROVENANCE_ATTR.upper(): prov.summary(PROVENANCE_TAG_BYTES, sidecar=side.name),
            "VARIABLE": var,
            "OVERVIEW_RESAMPLING": resampling,
        }
        if start is not None:
            tags["PERIOD_START"] = start.isoformat()
        if end is not None:
            tags["PERIOD_END"] = end.isoformat()
        band = _band(da.attrs, var, start, end, scaling)
        opts = {"blocksize": blocksize, "compress": compress, "resampling": resampling}
        _write_one(da[i], path, grid, nodata, tags, band, opts, overwrite)
        sidecar = prov.write_sidecar(
            side,
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


def is_categorical(attrs: dict[str, Any]) -> bool:
    """Whether a layer holds categorical codes: CF flags, or a categorical ``kind``.

    Parameters
    ----------
    attrs
        The array's attributes.

    Returns
    -------
    bool
        ``True`` when ``attrs`` has ``flag_values`` or ``flag_masks``, or ``kind`` is one
        of :data:`CATEGORICAL_KINDS`.

    Examples
    --------
    >>> is_categorical({"flag_values": [0, 1]}), is_categorical({"units": "m2 m-2"})
    (True, False)
    """
    flags = "flag_values" in attrs or "flag_masks" in attrs
    return flags or str(attrs.get("kind", "")).lower() in CATEGORICAL_KINDS


def _resampling(attrs: dict, requested: str | None, directory: Path, var: str) -> str:
    """The overview resampling: the one asked for, else by kind (mode / average)."""
    if requested is None:
        return "mode" if is_categorical(attrs) else "average"
    if not isinstance(requested, str) or requested.lower() not in OVERVIEW_RESAMPLINGS:
        raise OutputError(
            directory,
            f"overview_resampling {requested!r} is not one of {OVERVIEW_RESAMPLINGS} "
            "(or None: by the layer's kind)",
            var,
        )
    return requested.lower()


def _scaling(attrs: dict, directory: Path, var: str) -> tuple[float | None, float | None]:
    """``(scale, offset)`` from ``scale_factor``/``add_offset`` (``None`` where absent)."""
    out: list[float | None] = []
    for key in ("scale_factor", "add_offset"):
        value = attrs.get(key)
        if value is None:
            out.append(None)
            continue
        try:
            arr = np.asarray(value, dtype="float64").ravel()
        except (TypeError, ValueError):
            arr = np.array([])
        if arr.size != 1 or not np.isfinite(arr[0]):
            raise OutputError(
                directory, f"attribute {key}={value!r} must be one finite number", var
            )
        out.append(float(arr[0]))
    return out[0], out[1]


def _band(attrs: dict, var: str, start: Any, end: Any, scaling: tuple) -> BandMetadata:
    """The band's description, unit, scale/offset and CF metadata items."""
    what = str(attrs.get("long_name") or var)
    period = "/".join(d.isoformat() for d in (start, end) if d is not None)
    tags = {}
    for key in ("standard_name", "flag_values", "flag_meanings"):
        if attrs.get(key) is not None:
            value = attrs[key]
            if not isinstance(value, str):
                value = " ".join(str(v) for v in np.atleast_1d(value).tolist())
            tags[key] = value
    units = attrs.get("units")
    return BandMetadata(
        description=f"{what}, {period}" if period else what,
        unit=str(units) if units not in (None, "") else None,
        scale=scaling[0],
        offset=scaling[1],
        tags=tags,
    )


def _write_one(
    da2: Any,
    path: Path,
    grid: Any,
    nodata: Any,
    tags: dict,
    band: BandMetadata,
    opts: dict,
    ow: bool,
) -> None:
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
        blockwise=True, band_metadata=[band],
    )  # fmt: skip
