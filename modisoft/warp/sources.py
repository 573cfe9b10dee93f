"""Mosaic sources from files: find granules, and open one layer as a ``(time, y, x)`` stack
per tile.

A national run opens hundreds of granules that share a few grids.  :func:`open_stacks` opens the
first granule of each tile with :func:`modisoft.open_granule` (full metadata, registry checks)
and every later date of that tile with a light check: the HDF4 signature, the same product,
collection and tile in the standard file name (which fix the grid of a MODIS tile), and the
layer's shape.  With ``verify_grid=True`` the grid corners of each file's own
``StructMetadata`` must also equal the first file's (pyhdf reads that 32 kB text attribute
slowly, about 7 ms per file).  A file that fails the check is opened in full.  Pixel data are
never read here.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np

from modisoft.catalog import Granule, find_granules, parse_filename
from modisoft.errors import ModisoftError
from modisoft.grids import Grid

__all__ = ["select_granules", "open_stacks"]


def select_granules(inputs: Iterable[str | os.PathLike[str]], **filters: Any) -> list[Granule]:
    """:func:`~modisoft.catalog.find_granules`, checked for a mosaic: at least one granule,
    of one product.  ``filters`` are its keywords (``product``, ``start``, ``end``, ``tiles``).

    Raises
    ------
    ModisoftError
        When no granule matches, or the granules are of several products (give ``product``).
    """
    granules = find_granules(inputs, **filters)
    if not granules:
        raise ModisoftError("no granules match the inputs and filters")
    products = {g.product for g in granules}
    if len(products) > 1:
        raise ModisoftError(
            f"several products found ({', '.join(sorted(map(str, products)))}); choose one "
            "(--product)"
        )
    return granules


def open_stacks(
    granules: Iterable[Granule | str | os.PathLike[str]],
    layer: str,
    *,
    chunks: int | None = None,
    verify_grid: bool = False,
) -> list[Any]:
    """One lazy ``(time, y, x)`` DataArray of raw values per tile (or per file without a tile).

    Parameters
    ----------
    granules
        Granules or paths of one product.
    layer
        The layer (SDS) to stack.
    chunks
        Spatial chunk size of the source arrays (default: one chunk per tile and date, which
        is what HDF4's compressed blocks favour).
    verify_grid
        Check every file's StructMetadata grid, not only the first file's of each tile.

    Returns
    -------
    list of xarray.DataArray
        Sorted by tile; ``time`` holds the nominal dates; attributes are the first file's,
        with ``granule_ids`` listing every file.

    Raises
    ------
    ModisoftError
        Two files of one tile and date, or a file the readers cannot open.
    """
    groups: dict[tuple, list[Granule]] = defaultdict(list)
    for g in granules:
        g = g if isinstance(g, Granule) else parse_filename(g)
        key = (g.product, g.collection, g.tile_id) if g.tile_id else ("path", g.path)
        groups[key].append(g)
    out = []
    for key in sorted(groups, key=str):
        gs = sorted(groups[key], key=lambda g: g.nominal_date or date.min)
        dates = [g.nominal_date for g in gs]
        dup = {d for d in dates if dates.count(d) > 1}
        if dup and key[0] != "path":
            raise ModisoftError(
                f"tile {key[2]} of {key[0]} has several files for {sorted(dup)[0]}: "
                + ", ".join(os.path.basename(g.path) for g in gs if g.nominal_date in dup)
                + "; keep one (e.g. the latest production)"
            )
        out.append(_stack(gs, layer, chunks, verify_grid))
    return out


def _stack(gs: list[Granule], layer: str, chunks: int | None, verify_grid: bool) -> Any:
    import dask.array as da
    import xarray as xr

    from modisoft.io.granule import open_granule

    first = open_granule(gs[0].path, layers=[layer], chunks=chunks or None)
    ref = first[layer]
    grid = Grid.from_xarray(ref)
    arrays = [ref.data]
    ids = [str(first.attrs.get("granule_id", os.path.basename(gs[0].path)))]
    for g in gs[1:]:
        arr = _light(g, layer, ref, grid if verify_grid else None, chunks)
        if arr is None:
            arr = open_granule(g.path, layers=[layer], chunks=chunks or None)[layer].data
        arrays.append(arr)
        ids.append(os.path.basename(g.path))
    data = da.stack(arrays)
    times = np.array([np.datetime64(g.nominal_date or "NaT", "ns") for g in gs])
    coords = dict(ref.coords)
    coords["time"] = xr.Variable("time", times)
    attrs = {**ref.attrs, "granule_ids": " ".join(ids), "source": ids[0]}
    attrs.update({k: first.attrs[k] for k in ("product", "tile") if k in first.attrs})
    return xr.DataArray(data, dims=("time", *ref.dims), coords=coords, attrs=attrs, name=layer)


def _light(g: Granule, layer: str, ref: Any, grid: Grid | None, chunks: int | None) -> Any:
    """A lazy array for a later date of the same tile, or None when the light check fails.

    ``grid``: also compare the file's StructMetadata grids with it."""
    import dask.array as da
    from dask.base import tokenize

    from modisoft.io import hdf4
    from modisoft.io.hdfeos import parse_struct_metadata

    path = os.path.abspath(g.path)
    with open(path, "rb") as fh:
        if fh.read(4) != hdf4.HDF4_MAGIC:
            return None
    try:
        with hdf4.HDF4_LOCK:
            sd = hdf4.open_sd(path)
            text = _struct_metadata(sd) if grid is not None else None
            sds = sd.select(layer)
            try:
                _name, _rank, shape, _type, _nattr = sds.info()
            finally:
                sds.endaccess()
        grids = parse_struct_metadata(text) if text else []
    except Exception:  # anything unusual: let open_granule say what is wrong
        return None
    shape = tuple(np.atleast_1d(shape).tolist())
    if shape != ref.shape:
        return None
    if grid is not None and not any(gi.grid.almost_equals(grid, 1e-6) for gi in grids):
        return None
    arr = hdf4.HDF4Array(path, layer, shape, ref.dtype)
    norm = shape if chunks is None else (chunks, chunks)
    token = tokenize(path, os.stat(path).st_mtime_ns, layer, norm)
    meta = np.empty((0, 0), ref.dtype)
    return da.from_array(arr, chunks=norm, name=f"hdf4-{layer}-{token}", lock=False, meta=meta)


def _struct_metadata(sd: Any) -> str | None:
    """``StructMetadata.0`` (+ ``.1``...) only: reading every global attribute is slow."""
    parts = {}
    for i in range(sd.info()[1]):
        attr = sd.attr(i)
        name = attr.info()[0]
        if name.startswith("StructMetadata."):
            parts[name] = attr.get()
    if not parts:
        return None
    return "".join(str(parts[k]).rstrip("\x00") for k in sorted(parts))
