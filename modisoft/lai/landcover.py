"""Land cover for a retrieval: MCD12Q1 granules or GeoTIFF/COG rasters in any CRS, put on the
grid of the retrieval by the mode of the codes under each pixel.

Every land-cover entry point goes through here (``modisoft lai retrieve --landcover``,
:func:`~modisoft.lai.retrieve_lai` given a land cover on another grid, a run's ``[lai]
landcover`` and ``[beps] landcover``), so they behave the same:

* the codes are taken as stored (no scaling): IGBP for MCD12Q1 ``LC_Type1``, or whatever the
  file holds; the cover mapping (or ``[beps] landcover_codes``) says what they mean;
* the file's fill is respected: a GeoTIFF's ``nodata`` (255 for uint8 without one), a
  granule's ``_FillValue`` and ``valid_range``; fill pixels never vote in the mode, and an
  output pixel that sees only fill keeps the fill;
* the codes are resampled by ``mode`` (:func:`modisoft.warp.mosaic`, GDAL's rule: the most
  frequent valid code among the source pixels between the pixel's transformed upper-left and
  lower-right corners) onto output pixels larger than the land cover's, by ``nearest`` onto
  pixels no larger (:func:`landcover_method`); several files are mosaicked, the first valid
  code winning;
* a file that is not a raster, or a land cover that does not reach the grid, is an error that
  names the file (:class:`~modisoft.errors.LandcoverError`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.catalog import GRANULE_SUFFIXES, RASTER_SUFFIXES
from modisoft.errors import LandcoverError, ModisoftError
from modisoft.grids import Grid

__all__ = [
    "LANDCOVER_RESAMPLING",
    "LandcoverError",
    "landcover_method",
    "open_landcover",
    "resample_landcover",
]

LANDCOVER_RESAMPLING = "mode"
"""How land cover is put on a grid of larger pixels: the most frequent code under each pixel
(:func:`landcover_method`)."""
# source: choice (1 %: grids built from the nominal MODIS pixel size differ from the HDF's by
# far less; a real change of scale by far more), see landcover_method
_LARGER = 1.01
"""Output pixels this much larger (linear) than the land cover's are resampled by mode."""

_WHAT = "a land-cover raster (GeoTIFF/COG, any raster GDAL opens) or an MCD12Q1 granule (HDF)"


def open_landcover(path: str | os.PathLike[str], layer: str = "LC_Type1") -> Any:
    """One land-cover file's codes as stored, lazily, on the file's own grid.

    Parameters
    ----------
    path
        A GeoTIFF/COG (band 1; ``.tif``, ``.tiff``, ``.vrt``, ``.img`` or any raster GDAL
        opens, in any CRS) or an MCD12Q1 granule (``.hdf``).
    layer
        The granule layer to read (``LC_Type1`` …); not used for a raster.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` codes with ``kind = "class"``, the fill in ``fill_values``, ``source`` the
        path and the grid's ``spatial_ref``.

    Raises
    ------
    LandcoverError
        When the file is not a raster GDAL opens (or has no CRS) nor a granule with ``layer``.

    Examples
    --------
    >>> lc = open_landcover("landcover_2020.tif")  # doctest: +SKIP
    >>> lc = open_landcover("MCD12Q1.A2020001.h24v07.061.2022172012059.hdf")  # doctest: +SKIP
    """
    from modisoft.io.granule import open_granule
    from modisoft.io.rasters import read_raster

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in GRANULE_SUFFIXES:
        try:
            da = open_granule(p, [layer])[layer]
        except (ModisoftError, OSError) as exc:
            raise LandcoverError(
                f"{p}: cannot read land-cover layer {layer!r}: {_reason(exc, p)}"
            ) from None
    else:
        try:
            da = read_raster(p, kind="class")
        except (ModisoftError, OSError) as exc:
            how = "" if suffix in RASTER_SUFFIXES else f" (suffix {suffix or 'none'!r})"
            raise LandcoverError(f"{p}: not {_WHAT}{how}: {_reason(exc, p)}") from None
    if da.ndim != 2:
        raise LandcoverError(f"{p}: land-cover layer {layer!r} has dims {da.dims}, not (y, x)")
    da.attrs["kind"] = "class"
    da.attrs["source"] = str(p)
    return da


def _reason(exc: BaseException, path: Path) -> str:
    """The error's message without a leading ``<path>: `` (the caller names the file)."""
    text = str(exc)
    for prefix in (f"{path}: ", f"{os.fspath(path)}, "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def resample_landcover(
    landcover: Any,
    grid: Grid,
    *,
    layer: str = "LC_Type1",
    chunks: int | tuple[int, int] = 1024,
) -> Any:
    """Land-cover codes on ``grid``: the mode of the codes under each pixel, lazily.

    Parameters
    ----------
    landcover
        A path, or a sequence of paths, of land-cover files (:func:`open_landcover`: GeoTIFF/
        COG in any CRS, or MCD12Q1 granules), or georeferenced ``DataArray``\\ s of codes.
        Several are mosaicked: where they overlap, the first valid code wins.
    grid
        The destination grid.
    layer
        The granule layer read from HDF files.
    chunks
        Output chunk size.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` codes as stored, on ``grid``; the fill (``nodata`` attribute) where no
        valid code lies under the pixel.  Attributes give the ``resampling_method`` (``mode``,
        or ``nearest`` onto pixels no larger than the land cover's: :func:`landcover_method`)
        and the ``sources``.

    Raises
    ------
    LandcoverError
        When a file cannot be read as land cover, or no source overlaps ``grid`` (the message
        names the files, their extent and the grid's).

    Examples
    --------
    >>> from modisoft.grids import grid_from_bounds
    >>> g = grid_from_bounds("EPSG:4326", 0.01, (8.8, -1.2, 9.8, -0.2))  # doctest: +SKIP
    >>> lc = resample_landcover("landcover_utm32s.tif", g)  # doctest: +SKIP
    """
    import xarray as xr

    from modisoft.warp import mosaic

    items = (
        [landcover] if isinstance(landcover, (str, os.PathLike, xr.DataArray)) else list(landcover)
    )
    if not items:
        raise LandcoverError("no land-cover file given")
    arrays = [a if isinstance(a, xr.DataArray) else open_landcover(a, layer) for a in items]
    grids = []
    for a in arrays:
        try:
            grids.append(Grid.from_xarray(a))
        except (ModisoftError, KeyError, ValueError) as exc:
            raise LandcoverError(
                f"{_name(a)}: the land cover has no grid to resample from ({exc})"
            ) from None
    if not any(_overlaps(g, grid) for g in grids):
        pairs = list(zip(arrays, grids, strict=True))
        covers = "; ".join(f"{_name(a)} covers {_extent(g)}" for a, g in pairs[:3])
        names = ", ".join(_name(a) for a, _g in pairs[:3])
        if len(pairs) > 3:
            names += f" and {len(pairs) - 3} more files"
        raise LandcoverError(
            f"{names}: the land cover does not overlap the grid ({covers}; the grid is "
            f"{_extent(grid)}); give a land cover of the grid's area"
        )
    arrays = [a.assign_attrs(kind="class") for a in arrays]
    lc = mosaic(arrays, grid, method=landcover_method(grids, grid), chunks=chunks, fuse="first")
    lc.attrs["long_name"] = lc.attrs.get("long_name", "land cover")
    return lc


def landcover_method(src_grids: Sequence[Grid], grid: Grid) -> str:
    """``"mode"`` when the pixels of ``grid`` are larger than those of a land cover on
    ``src_grids`` that overlaps it, else ``"nearest"``.

    An output pixel no larger than the land cover's lies essentially in one land-cover pixel,
    and GDAL's mode, which counts every source pixel its corners touch as a whole pixel, would
    let a sliver of a neighbour (such as the millimetres by which a grid built from the nominal
    MODIS pixel size misses the HDF's rounded tile corner) outvote it; the nearest is that
    pixel.

    Examples
    --------
    >>> from modisoft.grids import grid_from_bounds
    >>> fine = grid_from_bounds("EPSG:4326", 0.001, (8.0, 0.0, 9.0, 1.0))
    >>> coarse = grid_from_bounds("EPSG:4326", 0.01, (8.0, 0.0, 9.0, 1.0))
    >>> landcover_method([fine], coarse), landcover_method([coarse], fine)
    ('mode', 'nearest')
    """
    from modisoft.warp import ResamplePlan

    ratios = [ResamplePlan(g, grid).downsampling() for g in src_grids if _overlaps(g, grid)]
    return LANDCOVER_RESAMPLING if max(ratios, default=1.0) > _LARGER else "nearest"


def _name(a: Any) -> str:
    return str(a.attrs.get("source") or a.attrs.get("source_path") or a.name or "land cover")


def _extent(g: Grid) -> str:
    left, bottom, right, top = g.bounds
    return (
        f"{g.crs.name} [{left:.6g}, {bottom:.6g}, {right:.6g}, {top:.6g}], "
        f"{g.height} x {g.width} pixels"
    )


def _overlaps(src: Grid, dst: Grid, n: int = 65) -> bool:
    """Whether ``src`` and ``dst`` share any area: a lattice of at most ``n`` x ``n`` points
    over each grid (edges included) transformed into the other, at least one inside."""
    return _inside(_lattice(src, n), src, dst) or _inside(_lattice(dst, n), dst, src)


def _lattice(g: Grid, n: int) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = g.shape
    cols = np.linspace(0.5, nx - 0.5, min(nx, n))
    rows = np.linspace(0.5, ny - 0.5, min(ny, n))
    c, r = np.meshgrid(cols, rows)
    t = g.transform
    return t.c + c * t.a + r * t.b, t.f + c * t.d + r * t.e


def _inside(points: tuple[np.ndarray, np.ndarray], frm: Grid, to: Grid) -> bool:
    from modisoft.grids import crs_transformer
    from modisoft.warp.transform import crs_equal

    x, y = points
    if not crs_equal(frm.crs_wkt, to.crs_wkt):
        with np.errstate(invalid="ignore"):
            x, y = (
                np.asarray(v, "float64")
                for v in crs_transformer(frm.crs_wkt, to.crs_wkt).transform(x, y)
            )
    inv = ~to.transform
    px = inv.c + x * inv.a + y * inv.b
    py = inv.f + x * inv.d + y * inv.e
    ny, nx = to.shape
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(px) & np.isfinite(py) & (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
    return bool(ok.any())
