"""HDF5 granules: HDF-EOS5 grids (VIIRS), and netCDF4 files (NOAA CDR AVHRR, GIMMS NDVI3g,
any CF file with 1-D latitude/longitude or projected x/y coordinates, and swaths).

HDF-EOS5 files carry the same ODL ``StructMetadata.0`` as HDF-EOS2 (``HE5_GCTP_SNSOID``,
corners in metres), so :func:`~modisoft.io.hdfeos.parse_struct_metadata` builds their grids;
data live under ``/HDFEOS/GRIDS/<grid>/Data Fields/<field>``.  netCDF grids are built from their
1-D centre coordinates (checked for regular spacing) or, for the AVHRR CDR, from the product's
exact 0.05° grid (the files' coordinates are offset from the centres by up to 0.02°, GEE).
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

import numpy as np
from affine import Affine

from modisoft.catalog import Granule, identity_from_metadata, parse_filename, reconcile
from modisoft.errors import GranuleReadError, GridError, MetadataError, ModisoftError
from modisoft.grids import Grid, modis_tile_of_grid
from modisoft.io.hdf5 import HDF5_LOCK, attr_text, h5_attrs, h5_catalog, open_h5, read_h5_block
from modisoft.io.hdfeos import (
    FieldInfo,
    GridInfo,
    StructMetadataError,
    check_granule_grids,
    parse_struct_metadata,
)
from modisoft.io.info import GranuleInfo
from modisoft.io.limits import MAX_METADATA_BYTES
from modisoft.io.odl import ODLSyntaxError, parse_odl
from modisoft.io.swath import inspect_gac_fdr
from modisoft.products import find_product

__all__ = ["inspect_hdf5", "cdr_grid", "grid_from_centres"]

_CDR_NAME = re.compile(
    r"^AVHRR-Land_v(?P<v>\d{3})_(?P<p>AVH\d\dC1)_(?P<sat>[A-Z0-9-]+)_"
    r"(?P<d>\d{8})_c(?P<c>\d{14})\.nc$"
)
_LAT = ("lat", "latitude", "Latitude")
_LON = ("lon", "longitude", "Longitude")


def _root(path: str) -> tuple[dict[str, Any], dict[str, list[str]], str | None, str | None]:
    """Root attributes, each dataset's dimension names, and HDF-EOS5 metadata texts."""
    import h5py

    with HDF5_LOCK:
        f = open_h5(path)

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                names = []
                for i, dim in enumerate(obj.dims):
                    keys = list(dim.keys()) if len(dim) else []
                    names.append(keys[0] if keys else f"phony_dim_{i}")
                dims[name] = names

        def text(info: Any, key: str) -> str | None:
            if info is None or key not in info:
                return None
            size = info[key].size * info[key].dtype.itemsize
            if size > MAX_METADATA_BYTES:
                raise MetadataError(
                    path,
                    f"HDFEOS INFORMATION/{key} holds {size:,} bytes, over the limit of "
                    f"{MAX_METADATA_BYTES:,} (4 MiB, docs/reference/limits.md); real metadata "
                    "are a few kB: the file is damaged",
                )
            return attr_text(info[key][()])

        dims: dict[str, list[str]] = {}
        try:
            attrs = h5_attrs(f)
            f.visititems(visit)
            info = f.get("HDFEOS INFORMATION")
            texts = [text(info, k) for k in ("StructMetadata.0", "CoreMetadata.0")]
        except ModisoftError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise MetadataError(path, f"cannot read the file's structure ({exc})") from None
    return attrs, dims, texts[0], texts[1]


def inspect_hdf5(path: str) -> GranuleInfo:
    """Metadata of an HDF5/netCDF4 granule as a :class:`~modisoft.io.granule.GranuleInfo`."""
    attrs, dims, struct, core_text = _root(path)
    catalog = h5_catalog(path)
    if struct:
        return _inspect_hdfeos5(path, attrs, struct, core_text, catalog)
    if str(attrs.get("title", "")).startswith("AVHRR GAC L1C FDR"):
        return inspect_gac_fdr(path, attrs, catalog, dims)
    return _inspect_netcdf_grid(path, attrs, catalog, dims)


def _inspect_hdfeos5(path, attrs, struct, core_text, catalog):
    try:
        grids = tuple(parse_struct_metadata(struct))
    except StructMetadataError as exc:
        raise MetadataError(path, f"StructMetadata: {exc}") from None
    if not grids:
        raise MetadataError(
            path,
            "HDF-EOS5 StructMetadata declares no grid (a swath?); only HDF-EOS5 grids are read",
        )
    try:
        core = parse_odl(core_text) if core_text else {}
    except ODLSyntaxError as exc:
        raise MetadataError(path, f"CoreMetadata is not valid ODL ({exc})") from None
    sds, provenance = {}, {}
    for g in grids:
        for fld in g.fields:
            key = f"HDFEOS/GRIDS/{g.name}/Data Fields/{fld.name}"
            if key in catalog:
                sds[fld.name] = catalog[key]
        xdim = f"HDFEOS/GRIDS/{g.name}/XDim"
        if xdim in catalog:
            provenance["xdim_convention"] = _xdim_convention(path, xdim, g.grid)
    tiles = {modis_tile_of_grid(g.grid) for g in grids} - {None}
    grid_tile = tiles.pop() if len(tiles) == 1 else None
    meta = (
        identity_from_metadata(path, core, grid_tile)
        if core
        else _identity_from_attrs(path, attrs, grid_tile)
    )
    granule = reconcile(parse_filename(path), meta, grid_tile)
    for key, name in (
        ("pge_version", "PGEVersion"),
        ("processing_center", "ProcessingCenter"),
        ("algorithm_version", "AlgorithmVersion"),
        ("platform", "PlatformShortName"),
    ):
        if name in attrs:
            provenance[key] = str(attrs[name])
    product = find_product(granule.product, granule.collection) if granule.product else None
    check_granule_grids(path, grids, granule.tile, product)
    return GranuleInfo(
        path=path,
        granule=granule,
        product=product,
        grids=grids,
        sds=sds,
        core=core,
        archive={},
        format="hdf5",
        format_name="HDF-EOS5 (HDF5)",
        provenance=provenance,
    )


def _xdim_convention(path: str, key: str, grid: Grid) -> str:
    """Whether an HDF-EOS5 ``XDim`` dataset holds pixel corners or centres (GRIDS.md §4.2)."""
    x = read_h5_block(path, key, (slice(0, min(grid.width, 4)),)).astype("float64")
    edges = grid.transform.c + np.arange(len(x)) * grid.transform.a
    if np.allclose(x, edges, atol=1e-3):
        return "XDim holds the left edge of each pixel column"
    if np.allclose(x, edges + grid.transform.a / 2, atol=1e-3):
        return "XDim holds pixel-column centres"
    return "XDim matches neither edges nor centres of the StructMetadata grid"


def _identity_from_attrs(path: str, attrs: dict[str, Any], grid_tile) -> Granule:
    from datetime import date

    gid = attrs.get("LocalGranuleID")
    try:
        g = parse_filename(str(gid)) if gid else Granule(path=path, identified_from="none")
    except GranuleReadError as exc:
        raise MetadataError(path, f"LocalGranuleID: {exc}") from None
    try:
        start = date.fromisoformat(str(attrs.get("RangeBeginningDate", ""))[:10])
        end = date.fromisoformat(str(attrs.get("RangeEndingDate", ""))[:10])
    except ValueError:
        start, end = g.start_date, None
    from dataclasses import replace

    return replace(
        g,
        path=path,
        tile=grid_tile or g.tile,
        start_date=start,
        end_date=end,
        identified_from="metadata" if gid else g.identified_from,
    )


def grid_from_centres(x: np.ndarray, y: np.ndarray, crs: Any, rtol: float = 1e-3) -> Grid:
    """A grid from regular 1-D centre coordinates (steps equal within ``rtol``, which tolerates
    float32 coordinates); raises ``ValueError`` if irregular."""
    x = np.asarray(x, "float64")
    y = np.asarray(y, "float64")
    if len(x) < 2 or len(y) < 2:
        raise GridError("need at least 2 coordinates along each axis")
    dx = (x[-1] - x[0]) / (len(x) - 1)
    dy = (y[-1] - y[0]) / (len(y) - 1)
    if not (
        np.allclose(np.diff(x), dx, rtol=rtol, atol=0)
        and np.allclose(np.diff(y), dy, rtol=rtol, atol=0)
    ):
        raise GridError("coordinates are not regularly spaced")
    return Grid.from_crs(
        crs, Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2), (len(y), len(x))
    )


def cdr_grid() -> Grid:
    """The exact 0.05° global grid of the NOAA AVHRR CDR (7200 × 3600, north up)."""
    return Grid.from_crs("EPSG:4326", Affine(0.05, 0.0, -180.0, 0.0, -0.05, 90.0), (3600, 7200))


def _coord_names(catalog: dict[str, Any], dims: dict[str, list[str]]) -> tuple[str, str] | None:
    for ylab, xlab in zip(_LAT, _LON, strict=True):
        if ylab in catalog and xlab in catalog and len(catalog[ylab]["shape"]) == 1:
            return ylab, xlab
    for ylab, xlab in (("y", "x"),):
        if ylab in catalog and xlab in catalog and len(catalog[ylab]["shape"]) == 1:
            return ylab, xlab
    return None


def _read_1d(path: str, key: str) -> np.ndarray:
    return read_h5_block(path, key, (slice(None),))


def _nc_identity(path: str, attrs: dict[str, Any], catalog) -> tuple[Granule, Any]:
    from datetime import date, datetime

    name = os.path.basename(path)
    m = _CDR_NAME.match(name)
    if m:
        d = m["d"]
        try:
            day = date(int(d[:4]), int(d[4:6]), int(d[6:]))
            made = datetime.strptime(m["c"], "%Y%m%d%H%M%S")
        except ValueError as exc:
            raise GranuleReadError(
                path, f"file name date {d} or c{m['c']} is not a valid date ({exc}); accepted: "
                "YYYYMMDD and cYYYYMMDDHHMMSS"
            ) from None
        g = Granule(
            path=path,
            product=m["p"],
            collection=m["v"],
            nominal_date=day,
            start_date=day,
            production_time=made,
            granule_id=name,
            identified_from="filename",
        )
        return g, find_product(m["p"], m["v"])
    if "ndvi" in catalog and "percentile" in catalog:
        g = Granule(
            path=path,
            product="GIMMS_NDVI3G",
            collection="v1",
            granule_id=name,
            identified_from="variables",
        )
        return g, find_product("GIMMS_NDVI3G", "v1")
    for prod in ("AVH15C1", "AVH13C1", "AVH09C1"):
        if prod in name:
            g = Granule(path=path, product=prod, granule_id=name, identified_from="filename")
            return g, find_product(prod)
    return Granule(path=path, granule_id=name, identified_from="none"), None


def _inspect_netcdf_grid(path, attrs, catalog, dims):
    names = _coord_names(catalog, dims)
    if names is None:
        raise MetadataError(
            path,
            "an HDF5/netCDF4 file with neither HDF-EOS5 metadata nor 1-D "
            "latitude/longitude (or x/y) coordinates: not a grid modisoft "
            "can georeference",
        )
    ylab, xlab = names
    granule, product = _nc_identity(path, attrs, catalog)
    y, x = _read_1d(path, ylab), _read_1d(path, xlab)
    crs = _nc_crs(path, catalog, ylab)
    provenance: dict[str, Any] = {}
    if product is not None and product.name.startswith("AVH"):
        grid = cdr_grid()
        off_x = np.max(np.abs(x - grid.x_coords())) if len(x) == grid.width else np.inf
        off_y = np.max(np.abs(y - grid.y_coords())) if len(y) == grid.height else np.inf
        if not (off_x <= 0.025 and off_y <= 0.025):
            raise MetadataError(
                path,
                f"latitude/longitude ({len(y)} x {len(x)}) do not match "
                "the AVHRR CDR 0.05° global grid (3600 x 7200) within "
                f"0.025° (offsets {off_y:.4g}°, {off_x:.4g}°)",
            )
        provenance["coordinate_offset_deg"] = (
            f"lat {off_y:.4g}, lon {off_x:.4g} (GEE: < 0.002, "
            "< 0.02); georeferenced on the exact 0.05° grid"
        )
    else:
        try:
            grid = grid_from_centres(x, y, crs)
        except ValueError as exc:
            raise MetadataError(path, f"{ylab}/{xlab}: {exc}") from None
    fields = []
    sds = {}
    for key, meta in catalog.items():
        d = dims.get(key, [])
        if len(d) >= 2 and d[-2] == ylab and d[-1] == xlab:
            fields.append(FieldInfo(key, (*tuple(d[:-2]), "YDim", "XDim"), meta["dtype"]))
            sds[key] = meta
    if not sds:
        raise MetadataError(path, f"no variable on the ({ylab}, {xlab}) grid")
    ginfo = GridInfo(name=f"{ylab}_{xlab}", grid=grid, fields=tuple(fields), projection="netCDF-CF")
    extra = {"coords": _time_coords(path, catalog, dims, {d for f in fields for d in f.dims})}
    for key in ("institution", "title", "source", "product_version", "history"):
        if key in attrs:
            provenance[f"file_{key}"] = str(attrs[key])[:500]
    return GranuleInfo(
        path=path,
        granule=granule,
        product=product,
        grids=(ginfo,),
        sds=sds,
        core={},
        archive={},
        format="hdf5",
        format_name="netCDF4/HDF5 (CF)",
        provenance=provenance,
        extra=extra,
    )


def _nc_crs(path: str, catalog: dict[str, Any], ylab: str) -> Any:
    """The CRS: a CF grid-mapping variable's WKT/parameters, else geographic WGS 84."""
    from pyproj import CRS

    for meta in catalog.values():
        a = meta["attrs"]
        if "crs_wkt" in a or "spatial_ref" in a:
            return CRS.from_wkt(a.get("crs_wkt") or a["spatial_ref"])
        if "grid_mapping_name" in a:
            return CRS.from_cf(a)
    if ylab in _LAT:
        return "EPSG:4326"
    raise MetadataError(path, "projected x/y coordinates without a grid-mapping variable")


def _time_coords(path, catalog, dims, used) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "time" in used and "time" in catalog and len(catalog["time"]["shape"]) == 1:
        import xarray as xr

        meta = catalog["time"]
        vals = _read_1d(path, "time")
        units = meta["attrs"].get("units")
        if units:
            with contextlib.suppress(ValueError, TypeError, OverflowError):
                vals = xr.coding.times.decode_cf_datetime(
                    vals, units, meta["attrs"].get("calendar", "standard")
                )
        out["time"] = (("time",), vals, {"standard_name": "time"})
    return out
