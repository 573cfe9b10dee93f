"""A STAC catalog of a run: one Collection, one Item per period COG, relative and movable.

:func:`write_stac` describes the outputs of a run with `STAC <https://stacspec.org>`_ through
``pystac``: a Collection holding the whole-run files (the NetCDF file, the Zarr store) as
assets, and one Item per Cloud-optimised GeoTIFF written by :func:`~modisoft.write.cog.
write_cog`, with the projection extension (the grid's CRS, shape, transform and bounds) and the
raster extension (nodata, data type, unit, scale and offset as stored in the COG).  The catalog
is self-contained with relative links and asset hrefs, so the output folder can be moved or
copied as a whole; it is written into a temporary sibling of ``<directory>/stac`` and swapped
into place (:func:`~modisoft.write._common.atomic_path`).
"""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from modisoft.grids import Grid, grid_like
from modisoft.write._common import OutputError, atomic_path
from modisoft.write.cog import CogFile
from modisoft.write.provenance import Provenance, resolve_provenance

__all__ = ["write_stac", "STAC_DIR", "RUN_ASSET_MEDIA_TYPES"]

STAC_DIR = "stac"
"""The catalog's folder inside the output directory."""

RUN_ASSET_MEDIA_TYPES = {
    "netcdf": "application/x-netcdf",
    "zarr": "application/vnd+zarr",
}
"""Media types of the whole-run files, by kind; the kind comes from the file name ending
(``.nc``, ``.nc4``, ``.zarr``), else from the asset's name."""

_SUFFIX_KIND = {".nc": "netcdf", ".nc4": "netcdf", ".netcdf": "netcdf", ".zarr": "zarr"}
_FOOTPRINT_POINTS = 21  # points per grid edge of the WGS84 footprint


def write_stac(
    directory: str | os.PathLike[str],
    cogs: list[CogFile],
    *,
    grid: Grid,
    provenance: Provenance | None = None,
    assets: dict[str, str | os.PathLike[str]] | None = None,
    collection_id: str,
    title: str,
    description: str,
    license: str = "other",
    overwrite: bool = True,
) -> Path:
    """Write a self-contained STAC catalog of a run's outputs to ``<directory>/stac``.

    Parameters
    ----------
    directory
        The run's output folder.  Every file described (COGs, sidecars, ``assets``) must lie
        inside it, so that relative hrefs survive moving the folder.
    cogs
        The COGs of the run, as returned by :func:`~modisoft.write.cog.write_cog`: one Item
        each, with the id of the file's stem.  They must have a period (a ``time``
        coordinate); an empty list gives a Collection with the whole-run assets only.
    grid
        The grid of the outputs; each COG must be on it.  Gives the projection extension
        fields and the WGS84 footprint (the grid's edges, densified, transformed by pyproj).
    provenance
        Written to ``stac/provenance.json``, a Collection asset with role ``metadata``
        (default: a minimal record with the grid and the software versions).
    assets
        Whole-run files by name, e.g. ``{"netcdf": "lai.nc", "zarr": "lai.zarr"}`` (paths
        relative to ``directory`` or absolute): Collection assets with role ``data`` and media
        type ``application/x-netcdf`` or ``application/vnd+zarr``, and a ``related`` link of
        every Item.
    collection_id, title, description
        The Collection's id, title and description.
    license
        The Collection's license: an SPDX identifier (``"CC-BY-4.0"``); any other text
        becomes ``"other"`` with the text added to the description (STAC's rule).
    overwrite
        Replace an existing ``stac`` folder (only when the new one is complete).

    Returns
    -------
    pathlib.Path
        ``<directory>/stac/collection.json``; Items are at ``stac/<id>/<id>.json``.

    Raises
    ------
    OutputError
        A missing directory or file, a file outside ``directory``, a COG without a period or
        off ``grid``, repeated Item ids, an asset of unknown kind, or an existing catalog
        without ``overwrite``.

    Notes
    -----
    Item times are UTC: ``datetime`` and ``start_datetime`` at the start of the period's
    first day, ``end_datetime`` at the last second of its last day (``period_end``, the last
    day, is inclusive).  Without ``period_end`` an Item has a ``datetime`` only.

    Examples
    --------
    >>> cogs = write_cog(lai, "out/")  # doctest: +SKIP
    >>> write_stac("out/", cogs, grid=grid, assets={"netcdf": "out/lai.nc"},
    ...            collection_id="lai-china-2012", title="LAI", description="...")
    ... # doctest: +SKIP
    """
    import pystac

    directory = Path(directory)
    if not directory.is_dir():
        raise OutputError(directory, "the output directory does not exist")
    root = directory.resolve()
    run_assets = _run_assets(root, assets or {})
    footprint = _footprint(grid, directory)
    items = [_item(cog, root, grid, footprint, run_assets) for cog in cogs]
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise OutputError(
            directory, f"COG file names {dup} repeat; each COG needs its own stem (Item id)"
        )
    starts = [_utc(c.start) for c in cogs]
    ends = [_utc(c.end or c.start, last=c.end is not None) for c in cogs]
    interval = [min(starts), max(ends)] if cogs else [None, None]
    spdx = re.fullmatch(r"[\w\-.+]+", license or "") is not None  # STAC's license pattern
    collection = pystac.Collection(
        id=collection_id,
        title=title,
        description=description if spdx or not license else
        f"{description}\n\nLicense: {license}",
        license=license if spdx else "other",
        extent=pystac.Extent(
            pystac.SpatialExtent([footprint["bbox"]]), pystac.TemporalExtent([interval])
        ),
    )
    for key, (path, media_type) in run_assets.items():
        collection.add_asset(key, pystac.Asset(
            _relative(path, root / STAC_DIR), title=f"{key}: {path.name} (whole run)",
            media_type=media_type, roles=["data"],
        ))  # fmt: skip
    collection.add_asset("provenance", pystac.Asset(
        "./provenance.json", title="Provenance of the run", media_type=pystac.MediaType.JSON,
        roles=["metadata"],
    ))  # fmt: skip
    for item in items:
        collection.add_item(item)
    out = directory / STAC_DIR
    with atomic_path(out, overwrite=overwrite) as tmp:
        tmp.mkdir()
        resolve_provenance(provenance, grid).write_sidecar(tmp / "provenance.json")
        collection.normalize_hrefs(str(tmp))
        collection.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, dest_href=str(tmp))
    return out / "collection.json"


def _run_assets(root: Path, assets: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    """``{name: (absolute path, media type)}`` of the whole-run files, checked."""
    out = {}
    for key, value in assets.items():
        path = Path(value) if Path(value).is_absolute() else root / Path(value)
        if key == "provenance":
            raise OutputError(path, "the asset name 'provenance' is taken by the run's record")
        if not path.exists():
            raise OutputError(path, f"the {key!r} asset does not exist")
        kind = _SUFFIX_KIND.get(path.suffix.lower(), key if key in RUN_ASSET_MEDIA_TYPES else None)
        if kind is None:
            raise OutputError(
                path,
                f"asset {key!r}: unknown kind of file {path.name!r}; accepted are NetCDF "
                "('.nc', '.nc4') and Zarr ('.zarr') files, or the names 'netcdf' and 'zarr'",
            )
        out[key] = (_inside(path, root, f"asset {key!r}"), RUN_ASSET_MEDIA_TYPES[kind])
    return out


def _inside(path: Path, root: Path, what: str) -> Path:
    """``path`` resolved; it must be inside ``root`` and outside the catalog folder."""
    full = path.resolve()
    if not full.is_relative_to(root):
        raise OutputError(
            path,
            f"{what} lies outside the output directory {str(root)!r}; only files inside it "
            "can be linked with relative hrefs",
        )
    if full.is_relative_to(root / STAC_DIR):
        raise OutputError(path, f"{what} lies inside the catalog folder, which is replaced")
    return full


def _relative(path: Path, start: Path) -> str:
    """The href of ``path`` from the folder ``start`` (POSIX separators)."""
    return Path(os.path.relpath(path, start)).as_posix()


def _utc(day: date | None, *, last: bool = False) -> datetime | None:
    """Midnight UTC of ``day``, or its last second with ``last``."""
    if day is None:
        return None
    return datetime.combine(day, time(23, 59, 59) if last else time(0), tzinfo=UTC)


def _item(cog: CogFile, root: Path, grid: Grid, footprint: dict, run: dict) -> Any:
    """The Item of one COG: period, footprint, projection, raster band, sidecar, run links."""
    import pystac
    from pystac.extensions.projection import ProjectionExtension
    from pystac.extensions.raster import RasterExtension

    path = Path(cog.path)
    if not path.is_file():
        raise OutputError(path, "the COG does not exist")
    if cog.start is None:
        raise OutputError(
            path, "the COG has no period (start None); STAC Items need dated COGs, written "
            "from an array with a 'time' coordinate",
        )  # fmt: skip
    full = _inside(path, root, "the COG")
    item_dir = root / STAC_DIR / path.stem
    item = pystac.Item(
        id=path.stem, geometry=footprint["geometry"], bbox=footprint["bbox"],
        datetime=_utc(cog.start), properties={},
        start_datetime=_utc(cog.start) if cog.end is not None else None,
        end_datetime=_utc(cog.end, last=True),
    )  # fmt: skip
    band, key = _raster_band(path, grid)
    asset = pystac.Asset(
        _relative(full, item_dir), title=path.name, media_type=pystac.MediaType.COG,
        roles=["data"],
    )  # fmt: skip
    item.add_asset(key, asset)
    RasterExtension.ext(asset, add_if_missing=True).bands = [band]
    epsg = grid.crs.to_epsg()
    t = grid.transform
    ProjectionExtension.ext(item, add_if_missing=True).apply(
        code=f"EPSG:{epsg}" if epsg else None, wkt2=grid.crs.to_wkt(),
        shape=[grid.height, grid.width], transform=[t.a, t.b, t.c, t.d, t.e, t.f],
        bbox=list(grid.bounds),
    )  # fmt: skip
    if cog.sidecar is not None:
        if not Path(cog.sidecar).is_file():
            raise OutputError(cog.sidecar, f"the sidecar of {path.name!r} does not exist")
        side = _inside(Path(cog.sidecar), root, "the COG's sidecar")
        item.add_asset("provenance", pystac.Asset(
            _relative(side, item_dir), title=side.name, media_type=pystac.MediaType.JSON,
            roles=["metadata"],
        ))  # fmt: skip
    for name, (target, media_type) in run.items():
        item.add_link(pystac.Link(
            "related", _relative(target, item_dir), media_type=media_type,
            title=f"{name}: {target.name} (whole run, all periods)",
        ))  # fmt: skip
    return item


def _raster_band(path: Path, grid: Grid) -> tuple[Any, str]:
    """The raster-extension band of a COG (as stored in the file) and its asset key."""
    import rasterio
    from pystac.extensions.raster import DataType, NoDataStrings, RasterBand

    try:
        with rasterio.open(path) as src:
            own = grid_like(src)
            nodata, dtype = src.nodata, src.dtypes[0]
            unit, scale, offset = src.units[0], src.scales[0], src.offsets[0]
            key = src.tags().get("VARIABLE") or "data"
            count = src.count
    except rasterio.errors.RasterioError as exc:
        raise OutputError(path, f"the COG cannot be read: {exc}") from None
    if count != 1:
        raise OutputError(path, f"the COG has {count} bands; write_cog writes one")
    if not own.almost_equals(grid):
        raise OutputError(path, f"the COG is on {own!r}, not on the grid given, {grid!r}")
    if key == "provenance":  # the sidecar's asset key
        key = "data"
    if nodata is not None and math.isnan(nodata):
        nodata = NoDataStrings.NAN
    elif nodata is not None and math.isinf(nodata):
        nodata = NoDataStrings.INF if nodata > 0 else NoDataStrings.NINF
    elif nodata is not None and float(nodata).is_integer() and "float" not in dtype:
        nodata = int(nodata)
    try:
        data_type = DataType(dtype)
    except ValueError:
        data_type = DataType.OTHER
    band = RasterBand.create(
        nodata=nodata, data_type=data_type, unit=unit or None,
        scale=scale if scale not in (None, 1.0) else None,
        offset=offset if offset not in (None, 0.0) else None,
        spatial_resolution=abs(grid.transform.a) if abs(grid.transform.a) == abs(
            grid.transform.e) else None,
    )  # fmt: skip
    return band, key


def _footprint(grid: Grid, where: Path) -> dict[str, Any]:
    """WGS84 ``geometry`` (GeoJSON polygon) and ``bbox`` of the grid's outer edges.

    Each edge is densified to :data:`_FOOTPRINT_POINTS` points and transformed by pyproj;
    the bbox also takes pyproj's ``transform_bounds`` (which finds a pole inside the grid and
    a crossing of the antimeridian).  When the footprint crosses the antimeridian or holds a
    pole, the geometry is the bbox (two boxes across the antimeridian).
    """
    import numpy as np
    from pyproj import CRS, Transformer
    from pyproj.exceptions import ProjError

    ny, nx = grid.shape
    if ny == 0 or nx == 0:
        raise OutputError(where, f"the grid is empty (shape {grid.shape})")
    s = np.linspace(0.0, 1.0, _FOOTPRINT_POINTS, endpoint=False)
    cols = np.concatenate([s * nx, np.full_like(s, nx), (1 - s) * nx, np.zeros_like(s)])
    rows = np.concatenate([np.zeros_like(s), s * ny, np.full_like(s, ny), (1 - s) * ny])
    t = grid.transform
    xs, ys = t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f
    to_wgs84 = Transformer.from_crs(grid.crs, CRS.from_epsg(4326), always_xy=True)
    lon, lat = (np.asarray(v, dtype="float64") for v in to_wgs84.transform(xs, ys))
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.sum() < 3:
        raise OutputError(
            where, f"the grid's edges do not transform to longitude/latitude: {grid!r}"
        )
    lon, lat = lon[ok], lat[ok]
    try:
        west, south, east, north = to_wgs84.transform_bounds(
            *grid.bounds, densify_pts=_FOOTPRINT_POINTS
        )
    except ProjError:
        west, south, east, north = lon.min(), lat.min(), lon.max(), lat.max()
    wraps = west > east or (west <= -180 and east >= 180)
    if not wraps:
        west, south = min(west, lon.min()), min(south, lat.min())
        east, north = max(east, lon.max()), max(north, lat.max())
    bbox = [float(v) for v in (west, south, east, north)]
    if wraps or north >= 90 or south <= -90:
        return {"bbox": bbox, "geometry": _bbox_geometry(bbox)}
    ring = list(zip(lon.tolist(), lat.tolist(), strict=True))
    area = float(np.sum(lon * np.roll(lat, -1) - np.roll(lon, -1) * lat))  # shoelace, x2
    if area < 0:  # GeoJSON (RFC 7946): exterior rings counterclockwise
        ring.reverse()
    ring.append(ring[0])
    return {"bbox": bbox, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _bbox_geometry(bbox: list[float]) -> dict[str, Any]:
    """A GeoJSON polygon of a bbox; two polygons when it crosses the antimeridian."""

    def box(w: float, s: float, e: float, n: float) -> list:
        return [[[w, s], [e, s], [e, n], [w, n], [w, s]]]

    west, south, east, north = bbox
    if west <= east:
        return {"type": "Polygon", "coordinates": box(west, south, east, north)}
    return {
        "type": "MultiPolygon",
        "coordinates": [box(west, south, 180.0, north), box(-180.0, south, east, north)],
    }
