"""CF conventions shared by the Zarr and NetCDF writers: attributes and encodings."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.write._common import (
    CF_CONVENTIONS,
    OutputError,
    as_dataset,
    grid_mapping_name,
    grid_of,
)
from modisoft.write.provenance import Provenance, resolve_provenance

__all__ = ["DEFAULT_CHUNKS", "prepare_cf", "var_chunks", "TIME_UNITS", "discovery_attrs",
           "creation_time", "latlon_coords", "latlon_block", "LATLON_FIELDS",
           "blocks_together"]

DEFAULT_CHUNKS = {"time": 1, "y": 1024, "x": 1024}
TIME_UNITS = "days since 1970-01-01"
STANDARD_NAME_VOCABULARY = "CF Standard Name Table v93"


def var_chunks(da: Any, chunks: dict[str, int]) -> tuple[int, ...]:
    """On-disk chunk shape of one variable: ``chunks`` per dim, capped by the dim size."""
    out = []
    for dim, size in zip(da.dims, da.shape, strict=True):
        c = int(chunks.get(dim, size)) if size else 1
        out.append(max(1, min(c, size)) if c > 0 else max(size, 1))
    return tuple(out)


def check_chunks(chunks: Any, path: Path) -> dict[str, int]:
    """The chunk mapping to use (defaults filled in), validated."""
    out = dict(DEFAULT_CHUNKS)
    if chunks is not None:
        if not isinstance(chunks, dict):
            raise OutputError(path, f"chunks must be a dict like {DEFAULT_CHUNKS}, got {chunks!r}")
        for dim, c in chunks.items():
            if not isinstance(c, int | np.integer) or (c < 1 and c != -1):
                raise OutputError(path, f"chunk size for {dim!r} must be a positive int or -1")
            out[str(dim)] = int(c)
    return out


def prepare_cf(
    obj: Any,
    path: Path,
    *,
    name: str | None,
    provenance: Provenance | None,
) -> tuple[Any, Provenance]:
    """A ``Dataset`` ready for a CF writer: CF-1.11 and ACDD-1.3 attributes, provenance.

    * ``period_end`` becomes the CF bounds variable ``time_bnds`` (first day 00:00, day after
      the last day 00:00), ``period_label`` the ``period_labels`` attribute of ``time``
      (a JSON list): a reader sees one time axis with bounds and no string variable;
    * the grid mapping ``spatial_ref`` (int32) is named by ``grid_mapping`` and the bounds by
      ``time:bounds``, not listed in any variable's ``coordinates`` (CF §5.6, §7.1);
    * a scalar ``height`` coordinate (0 m above the land surface) gives the vertical extent
      ACDD asks for;
    * the global attributes are the ACDD ones the data determine (extent, coverage,
      ``date_created``, ``history``) over those the provenance carries
      (:attr:`Provenance.metadata`, e.g. ``title``, ``institution``).

    Existing encodings are dropped (they come from the source files, not the output), except
    that a variable xarray decoded from integers with a fill value (e.g. a run's ``gap_days``,
    int16 with fill -1, opened from its Zarr store) is written back as those integers.
    """
    ds = as_dataset(obj, name, path)
    grid = grid_of(ds, path)
    prov = resolve_provenance(provenance, grid)
    ref = grid_mapping_name(ds, path)
    for var in ds.data_vars:
        ds[var] = _undecoded(ds[var])
    for var in ds.variables:
        ds[var].encoding = {}
    for var in ds.data_vars:
        ds[var].attrs.pop("_CRS", None)  # GDAL's CRS of a Zarr v2 store: written anew there
        ds[var].attrs.setdefault("long_name", str(var))
        ds[var].attrs.setdefault("coverage_content_type", "physicalMeasurement")
        for key in ("_FillValue", "missing_value"):  # CF fill in attrs → the writer's nodata
            value = ds[var].attrs.pop(key, None)
            if value is not None and "nodata" not in ds[var].attrs:
                ds[var].attrs["nodata"] = np.asarray(value).ravel()[0].item()
    ds = _cf_time(ds)
    ds = ds.assign_coords(height=((), 0.0, HEIGHT_ATTRS), **{ref: ds[ref].astype("int32")})
    ds[ref].attrs["long_name"] = "coordinate reference system"
    aux = "height"
    if not grid.crs.is_geographic:
        have = {"lat", "lon", "lat_bnds", "lon_bnds"} <= set(ds.coords)  # e.g. read back
        if not have:  # from a run's store: those are kept, not transformed again
            ds = ds.assign_coords(latlon_coords(grid, _yx_chunks(ds)))
        aux = "height lat lon"
    for var in ds.data_vars:  # not the grid mapping nor the bounds (CDO, CF §5)
        ds[var].encoding["coordinates"] = aux
        _typed_attrs(ds[var])
    flags = [str(v) for v in ds.data_vars if "flag_values" in ds[v].attrs]
    for var in ds.data_vars:  # the values' status variables (CF §3.4): the flags, and the
        # quality information on the values' own dims (a run's gap_days per period)
        if ds[var].attrs.get("coverage_content_type") != "physicalMeasurement":
            continue
        quality = [str(v) for v in ds.data_vars if ds[v].dims == ds[var].dims and v not in flags
                   and ds[v].attrs.get("coverage_content_type") == "qualityInformation"]
        if flags or quality:
            ds[var].attrs["ancillary_variables"] = " ".join(flags + quality)
    ds.attrs = {
        **{k: v for k, v in ds.attrs.items() if k != "modisoft_status"},
        **discovery_attrs(ds, grid, prov),
        **prov.to_attrs(),
    }
    return ds, prov


def _undecoded(da: Any) -> Any:
    """``da`` back as the integers it was decoded from (its fill value as ``nodata``), when
    xarray masked an integer variable with a ``_FillValue`` (and did not scale it)."""
    enc = da.encoding
    dtype, fv = np.dtype(enc.get("dtype", da.dtype)), enc.get("_FillValue")
    if (fv is None or not np.issubdtype(da.dtype, np.floating)
            or not np.issubdtype(dtype, np.integer) or "nodata" in da.attrs
            or {"scale_factor", "add_offset"} & set(enc)):
        return da
    out = da.fillna(fv).astype(dtype)
    out.attrs = {**da.attrs, "nodata": np.asarray(fv).item()}
    return out


def _yx_chunks(ds: Any) -> tuple[int, int]:
    for var in ds.data_vars:
        if ds[var].chunks is not None and "y" in ds[var].dims:
            c = dict(zip(ds[var].dims, ds[var].chunks, strict=True))
            return int(c["y"][0]), int(c["x"][0])
    return 1024, 1024


LATLON_POINTS = 65536
"""Pixels transformed at once while the lat/lon coordinates are computed."""

#: The fields of :func:`latlon_block`'s last axis, and which coordinate each goes to.
LATLON_FIELDS = {"lon": 0, "lat": 1, "lon_bnds": slice(2, 6), "lat_bnds": slice(6, 10)}


def latlon_block(grid: Any, rows: slice, cols: slice) -> np.ndarray:
    """The ``lat``/``lon`` of a window of ``grid`` and their cell corners, as float32
    ``(rows, cols, 10)``: longitude, latitude, then the four corner longitudes and the four
    corner latitudes (:data:`LATLON_FIELDS`), transformed a few rows at a time so that the
    temporaries stay small.  A window gives the values the whole grid gives there, bit for
    bit (absolute rows and columns of ``grid``, one transformer for the CRS)."""
    r0, r1 = rows.start, rows.stop
    c0, c1 = cols.start, cols.stop
    out = np.empty((r1 - r0, c1 - c0, 10), "float32")
    step = max(1, LATLON_POINTS // max(c1 - c0, 1))
    for a in range(r0, r1, step):
        b = min(a + step, r1)
        # one row more inside the window: the band's lower corners are the next row's
        # upper ones, as the whole window computes them (identical values)
        centre = grid.lonlat(slice(a, b), cols)
        corner = grid.lonlat(slice(a, b + (b < r1)), cols, corners=True)
        out[a - r0:b - r0, :, 0], out[a - r0:b - r0, :, 1] = centre
        out[a - r0:b - r0, :, 2:6] = corner[0][:b - a]
        out[a - r0:b - r0, :, 6:10] = corner[1][:b - a]
    return out


def latlon_coords(grid: Any, chunks: tuple[int, int] = (1024, 1024)) -> dict[str, Any]:
    """2-D ``lat``/``lon`` of the pixel centres and their cell corners (``lat_bnds``,
    ``lon_bnds``), lazily computed per block (:func:`latlon_block`): the CF auxiliary
    coordinates of a projected grid, with which CDO computes cell areas and ACDD's extent
    check finds the latitudes."""
    import dask.array as da
    import xarray as xr

    ny, nx = grid.shape
    cy, cx = min(chunks[0], ny), min(chunks[1], nx)

    def one(_: Any, block_info: Any = None) -> np.ndarray:  # lon, lat, 4 + 4 corners
        (r0, r1), (c0, c1), _k = block_info[None]["array-location"]
        return latlon_block(grid, slice(r0, r1), slice(c0, c1))

    stacked = da.map_blocks(one, da.zeros((ny, nx, 10), chunks=(cy, cx, 10), dtype="float32"),
                            dtype="float32",
                            name=f"modisoft-latlon-{da.core.tokenize(grid, cy, cx)}")
    parts = {name: stacked[..., where] for name, where in LATLON_FIELDS.items()}
    out = {}
    for name, std, units in (("lon", "longitude", "degrees_east"),
                             ("lat", "latitude", "degrees_north")):
        out[name] = xr.Variable(("y", "x"), parts[name], {
            "standard_name": std, "long_name": f"{std} of the pixel centre", "units": units,
            "bounds": f"{name}_bnds"})
        out[f"{name}_bnds"] = xr.Variable(("y", "x", "nv4"), parts[f"{name}_bnds"])
    return out


def blocks_together(arrays: list[Any]) -> Any:
    """Per ``(y, x)`` block, ``[(region, values), ...]`` of dask arrays that share their first
    two axes' chunks (``lat``, ``lon`` and their bounds), computed in one go so that tasks
    they share (one transform per block) run once."""
    import dask

    rows, cols = arrays[0].chunks[:2]
    r0, c0 = np.cumsum((0, *rows)), np.cumsum((0, *cols))
    for i, j in np.ndindex(len(rows), len(cols)):
        picks = [a.blocks[(i, j, *(0,) * (a.ndim - 2))] for a in arrays]
        values = dask.compute(*picks, scheduler="synchronous")
        where = (slice(int(r0[i]), int(r0[i + 1])), slice(int(c0[j]), int(c0[j + 1])))
        yield [(where + (slice(None),) * (a.ndim - 2), np.asarray(v))
               for a, v in zip(arrays, values, strict=True)]


def _latlon_extent(grid: Any) -> tuple[float, float, float, float]:
    """``(lon_min, lat_min, lon_max, lat_max)`` of the pixel centres (float32, as stored in
    ``lat``/``lon``): on a projected grid without a pole inside, the extremes lie on the
    outer rows and columns."""
    ny, nx = grid.shape
    edges = [(slice(0, 1), slice(None)), (slice(ny - 1, ny), slice(None)),
             (slice(None), slice(0, 1)), (slice(None), slice(nx - 1, nx))]
    lons, lats = zip(*(grid.lonlat(r, c) for r, c in edges), strict=True)
    lon = np.concatenate([v.ravel() for v in lons]).astype("float32")
    lat = np.concatenate([v.ravel() for v in lats]).astype("float32")
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _typed_attrs(da: Any) -> None:
    """Attributes CF wants in the variable's own type (after a JSON round trip through a Zarr
    store, numbers come back as int64/float64): flags and valid range."""
    for key in ("flag_values", "flag_masks", "valid_min", "valid_max", "valid_range"):
        if key in da.attrs:
            da.attrs[key] = np.asarray(da.attrs[key], dtype=da.dtype)


HEIGHT_ATTRS = {
    "standard_name": "height", "long_name": "height above the land surface", "units": "m",
    "positive": "up", "axis": "Z",
}  # fmt: skip


def _cf_time(ds: Any) -> Any:
    """``period_end`` → ``time_bnds`` (CF cell bounds), ``period_label`` → ``time`` attribute."""
    if "time" not in ds.coords:
        return ds.drop_vars([v for v in ("period_end", "period_label") if v in ds.variables])
    attrs = {"standard_name": "time", "axis": "T", "long_name": "start of period",
             "units_metadata": "leap_seconds: none"}
    if "period_label" in ds.coords:
        attrs["period_labels"] = json.dumps([str(v) for v in np.atleast_1d(
            ds["period_label"].values)], ensure_ascii=False)
        ds = ds.drop_vars("period_label")
    if "period_end" in ds.coords:
        start = np.atleast_1d(ds["time"].values).astype("datetime64[D]")
        stop = np.atleast_1d(ds["period_end"].values).astype("datetime64[D]") + 1
        ds = ds.drop_vars("period_end")
        dims = (*ds["time"].dims, "nv")
        bnds = np.stack([start, stop], axis=-1).astype("datetime64[ns]")
        ds = ds.assign_coords(time_bnds=(dims, bnds.reshape(*ds["time"].shape, 2)))
        attrs["bounds"] = "time_bnds"
    ds["time"].attrs.update(attrs)
    return ds


def discovery_attrs(ds: Any, grid: Any, prov: Provenance) -> dict[str, Any]:
    """The global attributes (CF and ACDD-1.3) of a dataset written by modisoft.

    What the data determine (geospatial extent in WGS84, time coverage of the periods,
    ``date_created``, ``history``, ``standard_name_vocabulary``) is computed here; the rest
    (``title``, ``summary``, ``source``, ``institution``, ``creator_*`` …) comes from
    :attr:`Provenance.metadata`, left out where the caller gave none.
    """
    from modisoft._version import __version__

    created = prov.created or creation_time()
    lon0, lat0, lon1, lat1 = _latlon_extent(grid)
    out: dict[str, Any] = {
        "Conventions": CF_CONVENTIONS,
        "source": f"modisoft {__version__}",
        "date_created": created,
        "history": f"{created} modisoft {__version__}",
        "standard_name_vocabulary": STANDARD_NAME_VOCABULARY,
        "geospatial_lat_min": lat0, "geospatial_lat_max": lat1,
        "geospatial_lon_min": lon0, "geospatial_lon_max": lon1,
        "geospatial_lat_units": "degrees_north", "geospatial_lon_units": "degrees_east",
        "geospatial_bounds": (
            f"POLYGON (({lat0:.6f} {lon0:.6f}, {lat0:.6f} {lon1:.6f}, {lat1:.6f} {lon1:.6f}, "
            f"{lat1:.6f} {lon0:.6f}, {lat0:.6f} {lon0:.6f}))"),
        "geospatial_bounds_crs": "EPSG:4326",
        "geospatial_vertical_min": 0.0, "geospatial_vertical_max": 0.0,
        "geospatial_vertical_units": "m", "geospatial_vertical_positive": "up",
        "geospatial_bounds_vertical_crs": "height above the land surface (no EPSG code)",
    }  # fmt: skip
    out.update(_time_coverage(ds))
    meta = {k: v for k, v in (prov.metadata or {}).items() if v not in (None, "", [])}
    if "history" in meta:
        out["history"] = f"{out['history']}: {meta.pop('history')}"
    out.update(meta)
    return out


def _time_coverage(ds: Any) -> dict[str, str]:
    """ACDD time coverage: start and end are the first and last ``time`` stamps (the data
    points, as ACDD defines them); the duration runs to the end of the last period."""
    if "time" not in ds.coords:
        return {}
    t = np.atleast_1d(ds["time"].values).astype("datetime64[s]")
    stop = np.atleast_1d(ds["time_bnds"].values[..., 1]).astype("datetime64[s]") \
        if "time_bnds" in ds.variables else t
    out = {"time_coverage_start": _iso(t[0]), "time_coverage_end": _iso(t[-1]),
           "time_coverage_duration": _duration(stop.max() - t.min())}
    if "time_bnds" in ds.variables:
        b = ds["time_bnds"].values.reshape(-1, 2).astype("datetime64[D]")
        lengths = (b[:, 1] - b[:, 0]).astype(int)
        out["time_coverage_resolution"] = f"P{int(np.median(lengths))}D"
    elif t.size > 1:
        out["time_coverage_resolution"] = _duration(np.median(np.diff(t)))
    return out


def _iso(t: np.datetime64) -> str:
    return f"{np.datetime_as_string(t, unit='s')}Z"


def _duration(delta: Any) -> str:
    seconds = int(np.timedelta64(delta, "s").astype(int))
    days, rest = divmod(seconds, 86400)
    return f"P{days}D" if not rest else f"P{days}DT{rest}S"


def creation_time() -> str:
    """Now, as ISO 8601 UTC to the second; ``SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention) overrides it, so that rewriting the same data gives the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() \
        else datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def time_encoding(ds: Any) -> dict[str, dict[str, Any]]:
    """Fixed time units so that every write of the same data encodes identically."""
    enc = {}
    for name in ("time", "time_bnds"):
        if name in ds.variables and np.issubdtype(ds[name].dtype, np.datetime64):
            enc[name] = {"units": TIME_UNITS, "calendar": "proleptic_gregorian",
                         "dtype": "int32"}
    return enc


def fill_value(dtype: np.dtype, given: Any, path: Path, var: str) -> Any:
    """The ``_FillValue`` of a variable: NaN for floats, else the given value (or none)."""
    if given is not None:
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            if not info.min <= given <= info.max or float(given) != int(given):
                raise OutputError(path, f"nodata {given!r} does not fit dtype {dtype}", var)
        return np.array(given, dtype=dtype).item()
    if np.issubdtype(dtype, np.floating):
        return np.nan
    return None
