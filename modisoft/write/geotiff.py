"""GeoTIFF and Cloud-optimised GeoTIFF files: the one place modisoft writes a raster file.

:func:`write_geotiff` writes bands (numpy or dask, ``(band, y, x)`` or ``(y, x)``) on a
:class:`~modisoft.grids.Grid` through rasterio, atomically (:func:`~modisoft.write._common.
atomic_path`); with ``cog=`` it stages a tiled GeoTIFF and lets GDAL's COG driver copy it with
overviews.  The callers choose the creation options, so each output keeps its own layout:
:func:`~modisoft.write.cog.write_cog` (one COG per period), :func:`write_stack_geotiff` (a
mosaic, one band per date, for ``modisoft mosaic``) and :func:`write_mask_geotiff` (a QA mask,
for ``modisoft qa --mask``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.grids import Grid
from modisoft.write._common import (
    OutputError,
    atomic_path,
    iter_blocks,
    remove_path,
    temp_sibling,
)

__all__ = [
    "write_geotiff",
    "write_stack_geotiff",
    "write_mask_geotiff",
    "plain_attrs",
    "BandMetadata",
]

STACK_OPTIONS = {
    "tiled": True,
    "blockxsize": 512,
    "blockysize": 512,
    "compress": "deflate",
    "BIGTIFF": "IF_SAFER",
}
"""Creation options of a mosaic GeoTIFF (``modisoft mosaic -o x.tif``)."""


@dataclass(frozen=True)
class BandMetadata:
    """What a GIS shows of one band: description, unit, scale/offset and band-level tags.

    Every field is optional; a field left ``None`` (or empty) is not written, so GDAL's
    default applies (no unit, scale 1, offset 0, no description).

    Attributes
    ----------
    description
        The band description (``gdalinfo``'s ``Description``), e.g. the quantity and period.
    unit
        The band unit type (``gdalinfo``'s ``Unit Type``), e.g. ``"m2 m-2"``.
    scale, offset
        Physical value = stored value × ``scale`` + ``offset``.  When only one is given the
        other is written with its default (1 or 0).
    tags
        Band-level metadata items (default domain), e.g. ``{"standard_name": ...}``.

    Examples
    --------
    >>> BandMetadata(description="LAI, 2012-01-01", unit="m2 m-2", scale=0.1).unit
    'm2 m-2'
    """

    description: str | None = None
    unit: str | None = None
    scale: float | None = None
    offset: float | None = None
    tags: dict[str, str] = field(default_factory=dict)


COG_CACHE_MB = 64
"""GDAL's block cache (MB) while its COG driver copies a stage: the process writing a
COG of a large grid holds at most this much of it (the copy's bytes do not depend on it)."""


def write_geotiff(
    path: str | os.PathLike[str],
    data: Any,
    grid: Grid,
    *,
    nodata: float | int | None = None,
    tags: dict[str, str] | None = None,
    descriptions: list[str] | None = None,
    options: dict[str, Any] | None = None,
    cog: dict[str, Any] | None = None,
    overwrite: bool = True,
    blockwise: bool = False,
    band_metadata: Sequence[BandMetadata] | None = None,
) -> Path:
    """Write bands on a grid to a GeoTIFF (or a COG), atomically.

    Parameters
    ----------
    path
        The file to write; it appears only when complete.
    data
        ``(band, y, x)`` or ``(y, x)`` values, numpy or dask; the file's dtype is theirs.
    grid
        The grid of the pixels (CRS and pixel-edge transform).
    nodata
        The nodata value written in the header (none when ``None``).
    tags, descriptions
        Dataset metadata tags; one description per band.
    options
        GDAL GTiff creation options (``tiled``, ``blockxsize``, ``compress``, ``BIGTIFF``...).
    cog
        When given, the GeoTIFF is a stage copied by GDAL's COG driver with these options
        (``COMPRESS``, ``BLOCKSIZE``, ``OVERVIEW_RESAMPLING``...) onto ``path``.
    overwrite
        Replace an existing file.
    blockwise
        For dask data: compute one chunk at a time in this process (works with any scheduler,
        memory of one chunk); else ``dask.array.store`` writes chunks as the threads finish.
    band_metadata
        One :class:`BandMetadata` per band: description, unit, scale/offset and band tags
        (a description given here replaces the one from ``descriptions``).  GDAL's COG driver
        copies them from the stage.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        As :func:`~modisoft.write._common.atomic_path` (an existing file without
        ``overwrite``, a missing directory); ``band_metadata`` or ``descriptions`` whose
        length is not the number of bands.

    Examples
    --------
    >>> write_geotiff("mask.tif", mask, grid, nodata=255, options={"compress": "deflate"})
    ... # doctest: +SKIP
    """
    path = Path(path)
    bands = data if data.ndim == 3 else data[None]
    meta = _band_metadata(path, bands.shape[0], descriptions, band_metadata)
    with atomic_path(path, overwrite=overwrite) as tmp:
        if cog is None:
            _write_gtiff(tmp, bands, grid, nodata, tags, meta, options, blockwise)
        else:
            import rasterio.shutil

            stage = temp_sibling(path, ".stage.tif")
            try:
                _write_gtiff(stage, bands, grid, nodata, tags, meta, options, blockwise)
                with rasterio.Env(GDAL_CACHEMAX=COG_CACHE_MB):  # bounded, however large
                    rasterio.shutil.copy(stage, tmp, driver="COG", **cog)
            finally:
                remove_path(stage)
    return path


def _band_metadata(
    path: Path, count: int, descriptions: Any, band_metadata: Any
) -> list[BandMetadata]:
    """One :class:`BandMetadata` per band, from ``band_metadata`` and/or ``descriptions``."""
    for what, given in (("descriptions", descriptions), ("band_metadata", band_metadata)):
        if given is not None and len(given) != count:
            raise OutputError(
                path, f"{what} has {len(given)} entries for {count} band(s); give one per band"
            )
    meta = list(band_metadata) if band_metadata is not None else [BandMetadata()] * count
    for b, text in enumerate(descriptions or ()):
        if meta[b].description is None:
            meta[b] = BandMetadata(text, meta[b].unit, meta[b].scale, meta[b].offset, meta[b].tags)
    return meta


def _write_gtiff(path, bands, grid, nodata, tags, meta, options, blockwise) -> None:
    import rasterio
    from rasterio.crs import CRS

    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": bands.shape[0],
        "dtype": str(bands.dtype),
        "crs": CRS.from_wkt(grid.crs_wkt),
        "transform": grid.transform,
        **({"nodata": nodata} if nodata is not None else {}),
        **(options or {}),
    }
    chunks = getattr(bands, "chunks", None)
    with rasterio.open(path, "w", **profile) as dst:
        if chunks is None:  # in-memory data first, then the metadata (as always written)
            dst.write(np.asarray(bands))
            _write_metadata(dst, tags, meta)
            return
        _write_metadata(dst, tags, meta)
        if blockwise:
            for rows, cols in iter_blocks(grid.shape, chunks[1:]):
                block = np.asarray(bands[:, rows, cols])
                dst.write(block, window=_window(rows, cols))
        else:
            import dask.array as da

            da.store(bands, _Window(dst, threading.Lock()), lock=False)


def _write_metadata(dst: Any, tags: dict[str, str] | None, meta: list[BandMetadata]) -> None:
    if tags:
        dst.update_tags(**tags)
    for b, m in enumerate(meta, 1):
        if m.description is not None:
            dst.set_band_description(b, m.description)
        if m.unit:
            dst.set_band_unit(b, m.unit)
        if m.tags:
            dst.update_tags(b, **m.tags)
    if any(m.scale is not None or m.offset is not None for m in meta):  # else GDAL's defaults
        dst.scales = [1.0 if m.scale is None else float(m.scale) for m in meta]
        dst.offsets = [0.0 if m.offset is None else float(m.offset) for m in meta]


def _window(rows: slice, cols: slice) -> Any:
    from rasterio.windows import Window

    return Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)


class _Window:
    """``dask.array.store`` target writing ``[band, rows, cols]`` blocks into a rasterio file."""

    def __init__(self, dst: Any, lock: Any):
        self.dst, self.lock = dst, lock

    def __setitem__(self, key: tuple, value: np.ndarray) -> None:
        b, r, c = key
        with self.lock:
            for k, band in enumerate(range(b.start, b.stop)):
                self.dst.write(value[k], band + 1, window=_window(r, c))


def plain_attrs(attrs: dict) -> dict:
    """Attributes as JSON/TIFF-friendly scalars, strings and lists."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = str(v)
        out[k] = v
    return out


def write_stack_geotiff(arr: Any, path: str | os.PathLike[str], *, cog: bool = False) -> Path:
    """A mosaic (``(time, y, x)`` or ``(y, x)`` DataArray) as a GeoTIFF, one band per date.

    Tiled 512 × 512, DEFLATE; the array's attributes become tags, the dates band
    descriptions, a finite ``nodata`` attribute the nodata value.  ``cog=True`` writes a COG
    (DEFLATE) instead.  Dask data are computed chunk by chunk as they are written.
    """
    grid = Grid.from_xarray(arr)
    nodata = arr.attrs.get("nodata")
    tags = {"AREA_OR_POINT": "Area", **{k: str(v) for k, v in plain_attrs(arr.attrs).items()}}
    dates = None
    if "time" in arr.dims:
        dates = [str(np.datetime_as_string(t, unit="D")) for t in arr["time"].values]
    return write_geotiff(
        path, arr.data, grid,
        nodata=float(nodata) if nodata is not None and np.isfinite(nodata) else None,
        tags=tags, descriptions=dates, options=STACK_OPTIONS,
        cog={"compress": "deflate"} if cog else None,
    )  # fmt: skip


def write_mask_geotiff(
    mask: Any, valid: Any, path: str | os.PathLike[str], *, tags: dict[str, str]
) -> Path:
    """Write a QA mask as a single-band uint8 GeoTIFF: 1 passes, 0 fails, 255 fill (nodata).

    The grid (CRS and pixel-edge transform) comes from the mask's coordinates
    (:meth:`modisoft.grids.Grid.from_xarray`).
    """
    grid = Grid.from_xarray(mask)
    arr = np.asarray(mask.values).astype("uint8")
    if valid is not None:
        arr[~np.asarray(valid.values)] = 255
    return write_geotiff(
        path, arr, grid, nodata=255, tags=tags,
        descriptions=["QA mask: 1 passes, 0 fails, 255 fill"], options={"compress": "deflate"},
    )  # fmt: skip
