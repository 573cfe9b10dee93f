"""``open_granule``: a granule as a lazy, georeferenced ``xarray.Dataset`` of raw layers.

Opening reads only metadata (global attributes, StructMetadata, SDS attributes); pixel data are
read by dask, chunk by chunk, through :func:`modisoft.io.hdf4.read_block`.  Values stay raw
(stored integers); :func:`modisoft.decode` turns them into physical values.  The file's
``scale_factor``/``add_offset``/``_FillValue`` are *not* left under their CF names on the raw
layers (a CF tool would apply MOD13's ``scale_factor = 10000`` by multiplying, the bug of
rspatial/terra#1354); they are kept as ``stored_scale_factor``, ``stored_add_offset``,
``fill_values`` with the registry's ``unpacking`` convention.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from functools import lru_cache
from typing import Any

from modisoft.catalog import identity_from_metadata, parse_filename, reconcile, text_path
from modisoft.errors import (
    GranuleReadError,
    IdentityMismatchWarning,
    MetadataError,
    NotHDFError,
    UnknownLayerError,
    UnknownProductWarning,
)
from modisoft.grids import modis_tile_of_grid
from modisoft.io import hdf4
from modisoft.io._build import dataset_attrs, lazy_array, raw_attrs
from modisoft.io.avhrr_l1b import inspect_l1b, open_l1b
from modisoft.io.checksums import check_download_record
from modisoft.io.hdf5_readers import inspect_hdf5
from modisoft.io.hdfeos import (
    GridInfo,
    StructMetadataError,
    check_granule_grids,
    parse_struct_metadata,
)
from modisoft.io.info import GranuleInfo, effective_layer, metadata_tree
from modisoft.io.odl import join_split_attribute
from modisoft.io.swath import inspect_hdf4_swath, open_swath
from modisoft.products import find_product

__all__ = ["GranuleInfo", "inspect_granule", "open_granule", "detect_format"]

log = logging.getLogger(__name__)

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def detect_format(path: str) -> str:
    """``"hdf4"``, ``"hdf5"``, ``"netcdf3"``, ``"avhrr-l1b"``, ``"empty"`` or ``"unknown"``."""
    size = os.path.getsize(path)
    if size == 0:
        return "empty"
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:4] == hdf4.HDF4_MAGIC:
        return "hdf4"
    if head == _HDF5_MAGIC:
        return "hdf5"
    if head[:3] == b"CDF":
        return "netcdf3"
    if re.match(r"^NSS\.[A-Z]{4}\.", os.path.basename(path)):
        return "avhrr-l1b"
    return "unknown"


@lru_cache(maxsize=256)
def _inspect_cached(path: str, mtime_ns: int, size: int) -> GranuleInfo:
    fmt = detect_format(path)
    if fmt == "empty":
        raise NotHDFError(path, "the file is empty (0 bytes); the download probably failed")
    if fmt == "hdf5":
        return inspect_hdf5(path)
    if fmt == "avhrr-l1b":
        return inspect_l1b(path)
    if fmt != "hdf4":
        raise NotHDFError(
            path, "not an HDF4 file (unrecognised signature); is it a MODIS HDF-EOS granule?"
        )
    attrs = hdf4.file_attributes(path)
    struct = join_split_attribute(attrs, "StructMetadata")
    if struct is None:
        raise MetadataError(
            path,
            "no StructMetadata.0 attribute: an HDF4 file but not HDF-EOS, "
            "so it has no grid to georeference",
        )
    try:
        grids = tuple(parse_struct_metadata(struct))
    except StructMetadataError as exc:
        raise MetadataError(path, f"StructMetadata: {exc}") from None
    sds = {k: {**v, "key": k} for k, v in hdf4.sds_catalog(path).items()}
    if not grids:
        return inspect_hdf4_swath(path, attrs, struct, sds)
    core = metadata_tree(path, attrs, "CoreMetadata")
    archive = metadata_tree(path, attrs, "ArchiveMetadata")
    tiles = {modis_tile_of_grid(g.grid) for g in grids} - {None}
    grid_tile = tiles.pop() if len(tiles) == 1 else None
    name_id = parse_filename(path)
    meta_id = identity_from_metadata(path, core, grid_tile)
    granule = reconcile(name_id, meta_id, grid_tile)
    product = None
    if granule.product:
        product = find_product(granule.product, granule.collection)
    check_granule_grids(path, grids, granule.tile, product)
    version = attrs.get("HDFEOSVersion")
    return GranuleInfo(
        path=path,
        granule=granule,
        product=product,
        grids=grids,
        sds=sds,
        core=core,
        archive=archive,
        hdfeos_version=str(version).rstrip("\x00") if version else None,
    )


def inspect_granule(path: str | os.PathLike[str]) -> GranuleInfo:
    """Read a granule's metadata: identity, product, grids and layers (no pixel data).

    Parameters
    ----------
    path
        An HDF-EOS2 (HDF4) granule.

    Returns
    -------
    GranuleInfo

    Raises
    ------
    GranuleReadError
        ``ChecksumMismatchError`` for a downloaded file that no longer matches the size or
        checksum recorded when it was downloaded; ``NotHDFError`` for a missing, empty,
        truncated or non-HDF4 file; ``MetadataError`` when
        the HDF-EOS metadata is missing, corrupted or implausible (corners out of order or off
        the granule's tile, sizes over ``docs/reference/limits.md``); a plain
        ``GranuleReadError`` for a name that is not UTF-8 or carries an impossible date.
    """
    path = os.path.abspath(text_path(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise GranuleReadError(path, "no such file") from None
    except OSError as exc:
        raise GranuleReadError(path, f"cannot access the file ({exc.strerror})") from None
    if not os.path.isfile(path):
        raise GranuleReadError(path, "not a regular file")
    check_download_record(path)  # a downloaded file damaged since is not read
    return _inspect_cached(path, st.st_mtime_ns, st.st_size)


def _select(
    info: GranuleInfo, layers: list[str] | None, grid: str | None
) -> list[tuple[GridInfo, list[str]]]:
    by_grid = info.grid_layers
    if grid is not None:
        g = info.find_grid(grid)
        wanted = layers if layers is not None else by_grid[g.name]
        for name in wanted:
            if name not in by_grid[g.name]:
                raise UnknownLayerError(name, by_grid[g.name], info.path)
        return [(g, list(wanted))]
    if layers is None:
        return [(g, by_grid[g.name]) for g in info.grids if by_grid[g.name]]
    out: dict[str, list[str]] = {}
    every = [n for names in by_grid.values() for n in names]
    for name in layers:
        owner = next((g for g in info.grids if name in by_grid[g.name]), None)
        if owner is None:
            if name in info.sds:
                raise GranuleReadError(
                    info.path,
                    "not a grid layer (it belongs to no HDF-EOS "
                    "grid, e.g. a compact 1-D array); it cannot be "
                    "georeferenced",
                    name,
                )
            raise UnknownLayerError(name, every, info.path)
        out.setdefault(owner.name, []).append(name)
    return [(info.find_grid(g), names) for g, names in out.items()]


def open_granule(
    path: str | os.PathLike[str],
    layers: list[str] | str | None = None,
    *,
    grid: str | None = None,
    chunks: Any = "auto",
) -> Any:
    """Open an HDF-EOS2 granule as a lazy, georeferenced :class:`xarray.Dataset` of raw layers.

    Parameters
    ----------
    path
        The granule (a MODIS HDF-EOS2 tile or subset).
    layers
        Layer (SDS) names to include; default: every grid layer.
    grid
        For files with several grids (MOD09GA): the grid name or its short key (``"1km"``).
        Without it, all grids are opened and each gets its own dims (``y_1km``, ``x_1km``)
        and grid-mapping coordinate (``spatial_ref_1km``); with one grid the dims are ``y``,
        ``x`` and the coordinate ``spatial_ref``.
    chunks
        Dask chunks: ``"auto"``, an int (square spatial chunks), a tuple, a dict by dim name,
        or ``None`` for one chunk per layer.

    Returns
    -------
    xarray.Dataset
        Raw stored values (integer dtypes) as dask arrays; pixel-centre ``x``/``y``
        coordinates; a ``spatial_ref`` coordinate with the CRS (WKT) and ``GeoTransform``;
        identity and provenance in ``attrs``.  Use :func:`modisoft.decode` for physical
        values.

    Raises
    ------
    GranuleReadError
        (also an ``OSError``) for a missing, empty, truncated, non-HDF4 or metadata-corrupted
        file.
    UnknownLayerError
        (also a ``KeyError``) for a layer the file does not have.

    Warns
    -----
    UnknownProductWarning
        When the registry does not know the product: raw values with the file's attributes.
    IdentityMismatchWarning
        When the file name and the metadata disagree (the metadata wins).

    Examples
    --------
    >>> ds = open_granule("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf", ["Lai_500m"])
    ... # doctest: +SKIP
    >>> ds.Lai_500m.dtype  # doctest: +SKIP
    dtype('uint8')
    """
    info = inspect_granule(path)
    if isinstance(layers, str):
        layers = [layers]
    if info.product is None and info.kind != "l1b":
        warnings.warn(
            f"{info.path}: product {info.granule.product or '(unidentified)'} collection "
            f"{info.granule.collection or '?'} is not in the modisoft registry; layers are raw "
            "with the file's own fill/scale attributes",
            UnknownProductWarning,
            stacklevel=2,
        )
    if info.granule.mismatches:
        warnings.warn(
            f"{info.path}: " + "; ".join(info.granule.mismatches),
            IdentityMismatchWarning,
            stacklevel=2,
        )
    if info.kind == "swath":
        return open_swath(info, layers, chunks)
    if info.kind == "l1b":
        return open_l1b(info, layers, chunks)
    return _open_grids(info, layers, grid, chunks)


def _open_grids(info: GranuleInfo, layers: list[str] | None, grid: str | None, chunks: Any) -> Any:
    import xarray as xr

    selection = _select(info, layers, grid)
    multi = len(selection) > 1
    coords: dict[str, Any] = {}
    data_vars: dict[str, Any] = {}
    for g, names in selection:
        suffix = f"_{info.grid_key(g)}" if multi else ""
        ydim, xdim, ref = f"y{suffix}", f"x{suffix}", f"spatial_ref{suffix}"
        coords.update(g.grid.xarray_coords(ydim, xdim, ref))
        for name in names:
            meta = info.sds[name]
            fld = g.field(name)
            dims = (
                tuple({"YDim": ydim, "XDim": xdim}.get(d, d) for d in fld.dims)
                if fld
                else (ydim, xdim)
            )
            shape = meta["shape"]
            if (
                len(dims) != len(shape)
                or shape[dims.index(ydim)] != g.grid.height
                or shape[dims.index(xdim)] != g.grid.width
            ):
                raise MetadataError(
                    info.path,
                    f"shape {shape} disagrees with grid {g.name} "
                    f"{g.grid.shape} and dims {fld.dims if fld else ''}",
                    name,
                )
            layer = effective_layer(info, name, warn=True)
            darr = lazy_array(info, name, dims, chunks)
            data_vars[name] = xr.Variable(dims, darr, raw_attrs(info, name, layer, ref))
    for cname, (cdims, values, cattrs) in info.extra.get("coords", {}).items():
        coords[cname] = xr.Variable(cdims, values, cattrs)
    return xr.Dataset(
        data_vars, coords=coords, attrs=dataset_attrs(info, [g.name for g, _ in selection])
    )
