"""Zarr writer (format 3, or 2 for older readers): chunked ``(time, y, x)``, compressed, CF
attributes, provenance, consolidated metadata.

Two ways to write:

* :func:`write_zarr` writes a whole object at once into a temporary store beside the target,
  marks it complete and renames it into place.
* :func:`create_zarr` → :func:`write_zarr_region` (any number of times, in any order, e.g. one
  period or one chunk band per call, from any process) → :func:`finalize_zarr`.  The store is
  created atomically with all metadata and coordinates and the root attribute
  ``modisoft_status = "incomplete"``; only :func:`finalize_zarr` sets it to ``"complete"``.
  :func:`zarr_status` reads it, so a crashed run leaves a store that is detectably incomplete.
  With ``coords="per_region"`` the 2-D ``lat``/``lon`` of a projected grid are left to the
  regions: each :func:`write_zarr_region` computes and writes those of its own window, so the
  process that creates the store (a cluster's client) never transforms the whole grid.

Readers: ``xarray.open_zarr(path)`` (the CRS is in the ``spatial_ref`` coordinate, CF
``grid_mapping`` with ``crs_wkt`` and GDAL's ``GeoTransform``; rioxarray's ``.rio.crs`` and
``.rio.transform()`` work on the result).  ``zarr_format=2`` writes a Zarr v2 store (``.zarray``
/ ``.zattrs`` and a consolidated ``.zmetadata``) for readers without Zarr v3: GDAL before 3.11
(``gdalinfo 'ZARR:"lai.zarr":/lai:0'``, one time index per subdataset) and zarr-python 2.
In a v2 store, text variables (object-dtype strings) are written as fixed-width unicode
(``<U``), which GDAL and zarr-python 2 read, instead of variable-length strings.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from modisoft.write._common import OutputError, as_dataset, atomic_path
from modisoft.write.cf import (
    LATLON_FIELDS,
    check_chunks,
    fill_value,
    latlon_block,
    prepare_cf,
    time_encoding,
    var_chunks,
)
from modisoft.write.provenance import Provenance

__all__ = ["write_zarr", "create_zarr", "write_zarr_region", "finalize_zarr", "zarr_status"]

STATUS_ATTR = "modisoft_status"
COORDS_ATTR = "modisoft_coords"  # "per_region" until finalize_zarr: regions write lat/lon
ZarrStatus = Literal["complete", "incomplete", "missing"]
ZARR_FORMATS = (2, 3)


def _compressor(level: int, zarr_format: int) -> Any:
    if zarr_format == 2:  # a numcodecs codec: the v2 "compressor" GDAL and zarr-python 2 read
        from numcodecs import Blosc

        return Blosc(cname="zstd", clevel=int(level), shuffle=Blosc.SHUFFLE)
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="zstd", clevel=int(level), shuffle="shuffle")


def _check_format(zarr_format: Any, path: Path) -> int:
    if isinstance(zarr_format, bool) or zarr_format not in ZARR_FORMATS:
        raise OutputError(path, f"zarr_format must be 2 or 3, not {zarr_format!r}")
    return int(zarr_format)


def _fixed_width_text(ds: Any) -> Any:
    """Variable-length text variables (object dtype) as fixed-width unicode, for Zarr v2."""
    for name in list(ds.variables):
        v = ds[name]
        if v.dtype == object and all(isinstance(x, str) for x in np.ravel(v.values)):
            ds[name] = v.copy(data=np.asarray(v.values).astype(str))
    return ds


def _prepare(obj: Any, path: Path, name: str | None, chunks: Any, provenance: Any, level: int,
             zarr_format: int):
    ds, _ = prepare_cf(obj, path, name=name, provenance=provenance)
    chunk_map = check_chunks(chunks, path)
    if zarr_format == 2:
        ds = _fixed_width_text(ds)
        for var in ds.data_vars:  # GDAL's Zarr driver reads the CRS from _CRS, not CF
            if "grid_mapping" in ds[var].attrs:
                ref = ds[ds[var].attrs["grid_mapping"]]
                ds[var].attrs["_CRS"] = {"wkt": ref.attrs["crs_wkt"]}
    enc: dict[str, dict[str, Any]] = time_encoding(ds)
    for var in ds.data_vars:
        if "y" not in ds[var].dims:  # spatial_ref, time_bnds: written with the metadata
            enc.setdefault(str(var), {})["_FillValue"] = None
            continue
        shape = var_chunks(ds[var], chunk_map)
        enc[var] = {"chunks": shape, "compressors": [_compressor(level, zarr_format)]}
        fv = fill_value(ds[var].dtype, ds[var].attrs.pop("nodata", None), path, str(var))
        if fv is not None:
            enc[var]["_FillValue"] = fv
        ds[var] = ds[var].chunk(dict(zip(ds[var].dims, shape, strict=True)))
    for var in lazy_coords(ds):  # lat/lon: stored in their own blocks
        enc[var] = {"chunks": tuple(int(c[0]) for c in ds[var].chunks),
                    "compressors": [_compressor(level, zarr_format)], "_FillValue": None}
    ds.attrs[STATUS_ATTR] = "incomplete"
    return ds, enc


def lazy_coords(ds: Any) -> list[str]:
    """The dask-backed coordinates (the 2-D ``lat``/``lon`` and their bounds)."""
    return [str(v) for v in ds.coords if ds[v].chunks is not None and v not in ds.dims]


def _set_status(path: Path, status: str, provenance: Provenance | None = None) -> None:
    import zarr

    group = zarr.open_group(str(path), mode="r+")
    attrs = {STATUS_ATTR: status}
    if provenance is not None:
        attrs.update(provenance.to_attrs())
    group.attrs.update(attrs)
    # v2's .zmetadata holds a copy of the root attributes: refresh it on every change
    if status == "complete" or group.metadata.zarr_format == 2:
        _consolidate(path)


def _consolidate(path: Path) -> None:
    import zarr

    with warnings.catch_warnings():  # consolidated metadata is a zarr-python v3 extension
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(path))


def write_zarr(
    obj: Any,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    chunks: dict[str, int] | None = None,
    provenance: Provenance | None = None,
    compression_level: int = 5,
    overwrite: bool = False,
    zarr_format: int = 3,
) -> Path:
    """Write a georeferenced ``DataArray``/``Dataset`` to a new Zarr store, atomically.

    Parameters
    ----------
    obj
        Dims ``(time, y, x)`` or ``(y, x)``, pixel-centre ``x``/``y`` coordinates and a
        ``spatial_ref`` grid-mapping coordinate (as made by :meth:`Grid.xarray_coords` or
        :func:`modisoft.open_granule`).  Lazy (dask) data are computed chunk by chunk.
    path
        The store (a directory, conventionally ``*.zarr``).
    name
        Variable name for a ``DataArray`` without one (default ``"lai"``), or the one variable
        of a ``Dataset`` to write.
    chunks
        On-disk chunk size per dim, default ``{"time": 1, "y": 1024, "x": 1024}`` (capped by
        the array size).  A ``nodata`` attribute on an integer variable becomes its
        ``_FillValue``; float variables use NaN.
    provenance
        Stored as the JSON attribute ``modisoft_provenance``; the grid is filled in if unset.
    compression_level
        Blosc-zstd level (byte shuffle).
    overwrite
        Replace an existing store (the old store is removed only after the new one is done).
    zarr_format
        3 (default) or 2: a Zarr v2 store for readers without v3 (GDAL < 3.11, zarr-python
        2); its metadata is consolidated in ``.zmetadata`` and text coordinates are
        fixed-width unicode.

    Returns
    -------
    pathlib.Path
        The store.

    Raises
    ------
    OutputError
        If the object lacks a grid-mapping coordinate or ``y``/``x`` dims, the target exists,
        or ``zarr_format`` is not 2 or 3.

    Examples
    --------
    >>> write_zarr(lai, "lai_2012.zarr", chunks={"time": 1, "y": 512, "x": 512})  # doctest: +SKIP
    """
    path = Path(path)
    zarr_format = _check_format(zarr_format, path)
    ds, enc = _prepare(obj, path, name, chunks, provenance, compression_level, zarr_format)
    with atomic_path(path, overwrite=overwrite) as tmp:
        ds.to_zarr(str(tmp), mode="w-", zarr_format=zarr_format, encoding=enc,
                   consolidated=False)
        _set_status(tmp, "complete")
    return path


def create_zarr(
    template: Any,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    chunks: dict[str, int] | None = None,
    provenance: Provenance | None = None,
    compression_level: int = 5,
    if_exists: Literal["error", "overwrite", "keep"] = "error",
    zarr_format: int = 3,
    coords: Literal["now", "per_region"] = "now",
) -> Path:
    """Create an empty Zarr store shaped like ``template``, marked incomplete.

    Metadata, coordinates, CF attributes and provenance are written; data variables are not
    computed (a lazy template costs nothing).  Fill the store with :func:`write_zarr_region`
    and mark it complete with :func:`finalize_zarr`.

    Parameters
    ----------
    template
        The full output, usually lazy, as for :func:`write_zarr`.
    path, name, chunks, provenance, compression_level, zarr_format
        As for :func:`write_zarr`.
    if_exists
        ``"error"`` (default); ``"overwrite"``: replace the store; ``"keep"``: reuse an
        existing store with the same Zarr format, variables, shapes and chunks (to resume a
        run).
    coords
        When the 2-D ``lat``/``lon`` (and bounds) of a projected grid are computed and
        written: ``"now"`` (default), here, block by block; ``"per_region"``: by each
        :func:`write_zarr_region`, for its own window, so that regions written in worker
        processes share the transforms and this process does none.  Regions must then cover
        the grid before the store is used.

    Returns
    -------
    pathlib.Path
        The store.

    Raises
    ------
    OutputError
        If the store exists (``"error"``) or does not match the template (``"keep"``), or
        ``zarr_format`` is not 2 or 3, or ``coords`` is not ``"now"`` or ``"per_region"``.
    """
    path = Path(path)
    if if_exists not in ("error", "overwrite", "keep"):
        raise OutputError(
            path, f"if_exists must be 'error', 'overwrite' or 'keep', not {if_exists!r}"
        )
    if coords not in ("now", "per_region"):
        raise OutputError(path, f"coords must be 'now' or 'per_region', not {coords!r}")
    zarr_format = _check_format(zarr_format, path)
    ds, enc = _prepare(template, path, name, chunks, provenance, compression_level, zarr_format)
    if path.exists() and if_exists == "keep":
        _check_compatible(path, ds, enc, zarr_format)
        return path
    with atomic_path(path, overwrite=if_exists == "overwrite") as tmp:
        _placeholders(ds).to_zarr(str(tmp), mode="w-", zarr_format=zarr_format, encoding=enc,
                                  consolidated=False, compute=False)
        if lazy_coords(ds) and coords == "now":  # the whole grid as one region: same values
            _write_region_coords(tmp, ds, {d: slice(0, ds.sizes[d]) for d in ("y", "x")})
        elif lazy_coords(ds):
            import zarr

            zarr.open_group(str(tmp), mode="r+").attrs[COORDS_ATTR] = "per_region"
        _consolidate(tmp)  # array metadata is final now; readers open it without a warning
    return path


def _placeholders(ds: Any) -> Any:
    """``ds`` with each dask-backed data variable standing on a graph of zeros of the same
    shape, chunks and dtype: ``to_zarr(compute=False)`` builds (and optimises) the graph of
    everything it could compute, and the template's own graph (a whole run's, for a run)
    costs seconds and hundreds of MB to build only to be thrown away."""
    import dask.array as da

    out = ds.copy()
    for var in ds.data_vars:
        if ds[var].chunks is not None:
            out[var] = ds[var].copy(data=da.zeros(ds[var].shape, dtype=ds[var].dtype,
                                                  chunks=ds[var].data.chunks))
    return out


def _check_compatible(path: Path, ds: Any, enc: dict[str, Any], zarr_format: int) -> None:
    import zarr

    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as exc:
        raise OutputError(path, f"exists but is not a Zarr store: {exc}") from None
    if group.metadata.zarr_format != zarr_format:
        raise OutputError(path, f"the existing store is Zarr v{group.metadata.zarr_format}, "
                          f"the run wants v{zarr_format}; use if_exists='overwrite'")
    for var in (v for v in ds.data_vars if "y" in ds[v].dims):
        if var not in group:
            raise OutputError(path, "the existing store lacks this variable", str(var))
        arr = group[var]
        if tuple(arr.shape) != ds[var].shape or tuple(arr.chunks) != enc[var]["chunks"]:
            raise OutputError(
                path,
                f"the existing store has shape {arr.shape} chunks {arr.chunks}, the run wants "
                f"{ds[var].shape} {enc[var]['chunks']}; use if_exists='overwrite'",
                str(var),
            )


def _region_of(sub: Any, store: Any, dim: str, path: Path) -> slice:
    """Where ``sub``'s coordinate values along ``dim`` sit in the store's, as a slice."""
    if dim not in sub.coords or dim not in store.coords:
        raise OutputError(path, f"the region needs a {dim!r} coordinate to locate it")
    full = store.indexes[dim]
    values = sub.indexes[dim]
    if np.issubdtype(full.dtype, np.floating) and len(full) > 1:
        step = abs(float(full[1] - full[0]))
        idx = full.get_indexer(values, method="nearest", tolerance=1e-6 * step)
    else:
        idx = full.get_indexer(values)
    if len(idx) == 0 or (idx < 0).any() or not np.array_equal(idx, idx[0] + np.arange(len(idx))):
        raise OutputError(path, f"the {dim!r} values are not a contiguous run of the store's")
    return slice(int(idx[0]), int(idx[-1]) + 1)


def write_zarr_region(
    obj: Any,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
) -> dict[str, slice]:
    """Write one piece (a period, a chunk band, …) into a store made by :func:`create_zarr`.

    The piece is located from its ``time``/``y``/``x`` coordinate values, must cover whole
    on-disk chunks (its start on a chunk boundary, its end on a boundary or the array end),
    and is computed and written, in the store's own Zarr format (2 or 3).  Pieces may be
    written in any order or again (idempotent).
    A store marked complete goes back to incomplete until :func:`finalize_zarr`.

    Returns
    -------
    dict
        The region written, ``{dim: slice}``.

    Raises
    ------
    OutputError
        If the store is missing, the CRS differs, the piece is off the store's coordinates
        or not chunk-aligned.
    """
    import xarray as xr
    import zarr

    path = Path(path)
    status = zarr_status(path)
    if status == "missing":
        raise OutputError(path, "no store; create it first with create_zarr()")
    ds = as_dataset(obj, name, path)
    store = xr.open_zarr(str(path), consolidated=False)
    ref = ds[next(iter(ds.data_vars))].attrs["grid_mapping"]
    if ds[ref].attrs.get("crs_wkt") != store["spatial_ref"].attrs.get("crs_wkt"):
        raise OutputError(path, "the piece's CRS differs from the store's")
    group = zarr.open_group(str(path), mode="r")
    region: dict[str, slice] = {}
    for dim in ds[next(iter(ds.data_vars))].dims:
        region[dim] = _region_of(ds, store, dim, path)
    for var in ds.data_vars:
        if var not in group:
            raise OutputError(path, "the store has no such variable", str(var))
        _check_aligned(region, ds[var].dims, group[var], path, str(var))
    if status == "complete":
        _set_status(path, "incomplete")
    out = ds.drop_vars(list(ds.coords)).copy()
    for var in out.data_vars:
        out[var].attrs = {}
        out[var].encoding = {}
        chunks = dict(zip(out[var].dims, group[var].chunks, strict=True))
        out[var] = out[var].chunk(chunks)
    out.attrs = {}
    out.to_zarr(str(path), region=region, mode="r+", consolidated=False,
                zarr_format=group.metadata.zarr_format)
    if group.attrs.get(COORDS_ATTR) == "per_region" and {"y", "x"} <= set(region):
        _write_region_coords(path, store, region)
    return region


def _write_region_coords(path: Path, store: Any, region: dict[str, slice]) -> None:
    """The ``lat``/``lon`` (and bounds) of ``region``'s window, one on-disk block at a time,
    from the store's own grid (bit for bit what :func:`create_zarr` computes at once)."""
    import zarr

    from modisoft.grids import Grid

    group = zarr.open_group(str(path), mode="r+")
    names = [n for n in LATLON_FIELDS if n in group]
    if not names:
        return
    grid = Grid.from_xarray(store)
    rows, cols = region["y"], region["x"]
    cy, cx = group[names[0]].chunks[:2]
    for r in range(rows.start, rows.stop, cy):
        for c in range(cols.start, cols.stop, cx):
            win = (slice(r, min(r + cy, rows.stop)), slice(c, min(c + cx, cols.stop)))
            block = latlon_block(grid, *win)
            for name in names:
                group[name][win] = block[..., LATLON_FIELDS[name]]


def _check_aligned(region: dict, dims: tuple, arr: Any, path: Path, var: str) -> None:
    for dim, size, chunk in zip(dims, arr.shape, arr.chunks, strict=True):
        sl = region[dim]
        if sl.start % chunk or (sl.stop % chunk and sl.stop != size):
            raise OutputError(
                path,
                f"the piece covers {dim} {sl.start}:{sl.stop}, not whole chunks of {chunk}; "
                "write chunk-aligned pieces",
                var,
            )


def finalize_zarr(path: str | os.PathLike[str], *, provenance: Provenance | None = None) -> Path:
    """Mark a store complete (and optionally replace its provenance, e.g. with the final list
    of granules and failures).

    Raises
    ------
    OutputError
        If there is no store at ``path``.
    """
    path = Path(path)
    if zarr_status(path) == "missing":
        raise OutputError(path, "no store to finalize")
    import zarr

    group = zarr.open_group(str(path), mode="r+")
    if COORDS_ATTR in group.attrs:  # the regions wrote them: a plain store from here on
        del group.attrs[COORDS_ATTR]
    _set_status(path, "complete", provenance)
    return path


def zarr_status(path: str | os.PathLike[str]) -> ZarrStatus:
    """``"complete"``, ``"incomplete"`` (being written, or a run died) or ``"missing"``.

    Raises
    ------
    OutputError
        If ``path`` exists but is not a Zarr store.
    """
    import zarr

    path = Path(path)
    if not path.exists():
        return "missing"
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as exc:
        raise OutputError(path, f"not a Zarr store: {exc}") from None
    return "complete" if group.attrs.get(STATUS_ATTR) == "complete" else "incomplete"
