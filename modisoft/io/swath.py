"""Swaths: a Dataset of raw layers on ``(y, x)`` = (scan line, pixel) whose geolocation is 2-D
``lat``/``lon`` coordinates, ready for the swath resampler.

* EUMETSAT AVHRR GAC L1C FDR (netCDF4): ``latitude``/``longitude`` are int32 × 0.001 (CF);
  ``acq_time`` (seconds since 1970) becomes a per-line coordinate; the seven per-line
  ``qual_flags`` keep their names from ``num_flags`` (``reference/PRODUCTS.md`` §12).
* MODIS level-2 swaths (HDF-EOS2, e.g. MOD11_L2/MYD11_L2): geolocation at 5 km is interpolated
  to the 1-km data using the swath's ``DimensionMap`` (data index = offset + increment × geo
  index), bilinearly on the unit sphere so that the antimeridian is no special case.  Within a
  10-line MODIS scan this is the usual tie-point interpolation; across scan edges (the bow-tie)
  it is an approximation, as in every tie-point reader.
"""

from __future__ import annotations

import itertools
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from modisoft.catalog import YEARS, Granule, identity_from_metadata, parse_filename, reconcile
from modisoft.errors import MetadataError, UnknownLayerError
from modisoft.io._build import dataset_attrs, lazy_array, raw_attrs
from modisoft.io.hdf5 import read_h5_block
from modisoft.io.info import GranuleInfo, effective_layer, metadata_tree
from modisoft.io.odl import ODLSyntaxError, parse_odl
from modisoft.products import find_product

__all__ = ["inspect_gac_fdr", "inspect_hdf4_swath", "open_swath", "interpolate_tiepoints"]

_SATS = {
    "N06": "NOAA-6",
    "N07": "NOAA-7",
    "N08": "NOAA-8",
    "N09": "NOAA-9",
    "N10": "NOAA-10",
    "N11": "NOAA-11",
    "N12": "NOAA-12",
    "N14": "NOAA-14",
    "N15": "NOAA-15",
    "N16": "NOAA-16",
    "N17": "NOAA-17",
    "N18": "NOAA-18",
    "N19": "NOAA-19",
    "TN": "TIROS-N",
    "M01": "MetOp-B",
    "M02": "MetOp-A",
    "M03": "MetOp-C",
}
_FDR_NAME = re.compile(
    r"^AVHRR-GAC_FDR_1C_(?P<sat>[A-Z0-9]+)_(?P<start>\d{8}T\d{6})Z_"
    r"(?P<end>\d{8}T\d{6})Z_.*_(?P<version>\d{4})\.nc$"
)


def _time(text: Any) -> datetime | None:
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(str(text), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _fdr_times(
    path: str, attrs: dict[str, Any], m: re.Match[str] | None
) -> tuple[datetime, datetime]:
    """The checked start and end times of a GAC FDR file (attributes, else the file name)."""
    if m and m["sat"] not in _SATS:
        raise MetadataError(path, f"file name platform {m['sat']!r} is not known "
                                  f"(known: {', '.join(_SATS)})")
    times = []
    for key, group in (("start_time", "start"), ("end_time", "end")):
        text = attrs.get(key)
        t = _time(text) if text is not None else (_time(m[group]) if m else None)
        if t is None:
            raise MetadataError(
                path, f"attribute {key}={text!r} is not a time (accepted: YYYYMMDDTHHMMSSZ or "
                "ISO 8601); the header is damaged"
            )
        if not YEARS[0] <= t.year <= YEARS[1]:
            raise MetadataError(path, f"attribute {key}={text!r}: year {t.year} outside "
                                      f"{YEARS[0]}-{YEARS[1]}")
        times.append(t)
    start, end = times
    if not start <= end <= start + timedelta(days=1):
        raise MetadataError(path, f"end_time {end:%Y-%m-%d %H:%M:%S} is not within a day after "
                                  f"start_time {start:%Y-%m-%d %H:%M:%S}")
    return start, end


def inspect_gac_fdr(
    path: str, attrs: dict[str, Any], catalog: dict[str, Any], dims: dict[str, list[str]]
) -> GranuleInfo:
    """GranuleInfo of an AVHRR GAC L1C FDR swath file."""
    for need in ("latitude", "longitude"):
        if need not in catalog:
            raise MetadataError(path, f"GAC L1C FDR file without {need!r}: cannot geolocate")
    shape = catalog["latitude"]["shape"]
    if len(shape) != 2 or catalog["longitude"]["shape"] != shape:
        raise MetadataError(
            path, f"latitude {shape} and longitude {catalog['longitude']['shape']} must be two "
            "equal 2-D (scan line, pixel) arrays"
        )
    sds = {
        k: v
        for k, v in catalog.items()
        if len(v["shape"]) == 2 and (v["shape"] == shape or k == "qual_flags")
    }
    m = _FDR_NAME.match(os.path.basename(path))
    version = m["version"] if m else str(attrs.get("id", "")).rsplit("V", 1)[-1] or None
    start, end = _fdr_times(path, attrs, m)
    granule = Granule(
        path=path,
        product="AVHRR_GAC_L1C_FDR",
        collection=version,
        nominal_date=start.date() if start else None,
        start_date=start.date() if start else None,
        end_date=end.date() if end else None,
        production_time=_time(attrs.get("date_created")),
        granule_id=os.path.basename(path),
        identified_from="metadata",
    )
    provenance = {
        "platform": _SATS.get(m["sat"], m["sat"]) if m else str(attrs.get("platform")),
        "start_time": str(attrs.get("start_time")),
        "end_time": str(attrs.get("end_time")),
        "source_l1b_file": str(attrs.get("gac_filename", "")),
        "pygac_version": str(attrs.get("version_pygac", "")),
        "calibration": str(attrs.get("version_calib_coeffs", "")),
    }
    extra = {
        "lat": "latitude",
        "lon": "longitude",
        "geo": "cf",
        "shape": shape,
        "time": "acq_time" if "acq_time" in catalog else None,
        "flag_names": _flag_names(path) if "num_flags" in catalog else None,
    }
    return GranuleInfo(
        path=path,
        granule=granule,
        product=find_product("AVHRR_GAC_L1C_FDR", version),
        grids=(),
        sds=sds,
        core={},
        archive={},
        format="hdf5",
        kind="swath",
        format_name="netCDF4 (AVHRR GAC L1C FDR swath)",
        provenance=provenance,
        extra=extra,
    )


def _flag_names(path: str) -> list[str]:
    raw = read_h5_block(path, "num_flags", (slice(None), slice(None)))
    return [b"".join(row).decode("ascii", "replace").rstrip("\x00 ") for row in raw]


def _swath_blocks(tree: dict[str, Any]) -> list[dict[str, Any]]:
    ss = tree.get("SwathStructure")
    if not isinstance(ss, dict):
        return []
    out = []
    for block in ss.values():
        for b in block if isinstance(block, list) else [block]:
            if isinstance(b, dict) and "SwathName" in b:
                out.append(b)
    return out


def _dims(obj: dict[str, Any]) -> tuple:
    dims = obj.get("DimList", ())
    return dims if isinstance(dims, tuple) else (dims,)


def _objects(group: Any) -> list[dict[str, Any]]:
    out = []
    for obj in (group or {}).values():
        out.extend(o for o in (obj if isinstance(obj, list) else [obj]) if isinstance(o, dict))
    return out


def inspect_hdf4_swath(
    path: str, attrs: dict[str, Any], struct: str, sds: dict[str, Any]
) -> GranuleInfo:
    """GranuleInfo of an HDF-EOS2 swath (MODIS level 2)."""
    try:
        blocks = _swath_blocks(parse_odl(struct))
    except ODLSyntaxError as exc:
        raise MetadataError(path, f"StructMetadata is not valid ODL ({exc})") from None
    if not blocks:
        raise MetadataError(path, "StructMetadata declares neither a grid nor a swath")
    sw = blocks[0]
    try:
        geo = {o["GeoFieldName"]: _dims(o) for o in _objects(sw.get("GeoField"))}
        data = {o["DataFieldName"]: _dims(o) for o in _objects(sw.get("DataField"))}
        maps = {
            o["GeoDimension"]: (o["DataDimension"], int(o.get("Offset", 0)),
                                int(o.get("Increment", 1)))
            for o in _objects(sw.get("DimensionMap"))
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MetadataError(
            path, f"StructMetadata swath {sw.get('SwathName')!r} is malformed ({exc!r})"
        ) from None
    if any(inc == 0 for _d, _o, inc in maps.values()):
        raise MetadataError(path, f"StructMetadata DimensionMap with Increment=0: {maps}")
    lat = next((n for n in geo if n.lower() == "latitude"), None)
    lon = next((n for n in geo if n.lower() == "longitude"), None)
    if lat is None or lon is None or lat not in sds or lon not in sds:
        raise MetadataError(
            path, f"swath {sw.get('SwathName')!r} has no Latitude/Longitude geolocation fields"
        )
    gdims = geo[lat]
    ddims = tuple(maps.get(d, (d, 0, 1))[0] for d in gdims)
    layers = {n: m for n, m in sds.items() if n in data and data[n] == ddims}
    core = metadata_tree(path, attrs, "CoreMetadata")
    granule = reconcile(parse_filename(path), identity_from_metadata(path, core))
    data_shape = next((m["shape"] for m in layers.values()), None)
    if data_shape is None:
        raise MetadataError(path, f"no data field on the swath dimensions {ddims}")
    extra = {
        "lat": lat,
        "lon": lon,
        "geo": "tiepoints",
        "shape": data_shape,
        "maps": [maps.get(d, (d, 0, 1))[1:] for d in gdims],
        "time": None,
        "swath_name": str(sw.get("SwathName")),
    }
    return GranuleInfo(
        path=path,
        granule=granule,
        product=find_product(granule.product, granule.collection) if granule.product else None,
        grids=(),
        sds={**layers, lat: sds[lat], lon: sds[lon]},
        core=core,
        archive=metadata_tree(path, attrs, "ArchiveMetadata"),
        format="hdf4",
        kind="swath",
        format_name="HDF-EOS2 swath (HDF4)",
        extra=extra,
    )


def interpolate_tiepoints(
    lat: np.ndarray,
    lon: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    row_map: tuple[int, int],
    col_map: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel: tie-point lat/lon (degrees) → lat/lon at data ``rows`` × ``cols``.

    ``row_map``/``col_map`` are ``(offset, increment)``: data index = offset + increment ×
    tie-point index.  Bilinear in the tie-point index space on unit vectors, extrapolating
    linearly beyond the first and last tie points.
    """
    lat = np.radians(np.asarray(lat, "float64"))
    lon = np.radians(np.asarray(lon, "float64"))
    v = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)

    def axis(idx, n, mapping):
        g = (np.asarray(idx, "float64") - mapping[0]) / mapping[1]
        i0 = np.clip(np.floor(g).astype(int), 0, max(n - 2, 0))
        return i0, g - i0, np.minimum(i0 + 1, n - 1)

    i0, t, i1 = axis(rows, v.shape[0], row_map)
    j0, u, j1 = axis(cols, v.shape[1], col_map)
    t = t[:, None, None]
    u = u[None, :, None]
    out = (
        (1 - t) * (1 - u) * v[i0][:, j0]
        + (1 - t) * u * v[i0][:, j1]
        + t * (1 - u) * v[i1][:, j0]
        + t * u * v[i1][:, j1]
    )
    out /= np.linalg.norm(out, axis=-1, keepdims=True)
    return (
        np.degrees(np.arcsin(np.clip(out[..., 2], -1, 1))),
        np.degrees(np.arctan2(out[..., 1], out[..., 0])),
    )


def _cf_decode(raw: np.ndarray, scale: float, offset: float, fill: Any) -> np.ndarray:
    out = raw.astype("float64") * scale + offset
    if fill is not None:
        out[np.isin(raw, np.atleast_1d(fill))] = np.nan
    return out


def _geolocation(info, chunks) -> tuple[Any, Any]:
    import dask
    import dask.array as da

    ex = info.extra
    if ex["geo"] == "cf":
        def cf_decoded(name: str) -> Any:
            attrs = info.sds[name]["attrs"]
            return lazy_array(info, name, ("y", "x"), chunks).map_blocks(
                _cf_decode,
                attrs.get("scale_factor", 1.0),
                attrs.get("add_offset", 0.0),
                attrs.get("_FillValue"),
                dtype="float64",
            )

        return cf_decoded(ex["lat"]), cf_decoded(ex["lon"])
    lat_raw = lazy_array(info, ex["lat"], ("gy", "gx"), None)
    lon_raw = lazy_array(info, ex["lon"], ("gy", "gx"), None)
    ny, nx = ex["shape"]
    template = da.empty(
        (ny, nx), chunks=chunks if chunks not in (None, "auto") else (1000, 1354), dtype="float64"
    )
    row_map, col_map = (tuple(m) for m in ex["maps"])
    lats, lons = [], []
    starts_r = np.cumsum((0,) + template.chunks[0])
    starts_c = np.cumsum((0,) + template.chunks[1])
    interp = dask.delayed(interpolate_tiepoints, nout=2, pure=True)
    for r0, r1 in itertools.pairwise(starts_r):
        row_lat, row_lon = [], []
        for c0, c1 in itertools.pairwise(starts_c):
            la, lo = interp(
                lat_raw, lon_raw, np.arange(r0, r1), np.arange(c0, c1), row_map, col_map
            )
            row_lat.append(da.from_delayed(la, (r1 - r0, c1 - c0), dtype="float64"))
            row_lon.append(da.from_delayed(lo, (r1 - r0, c1 - c0), dtype="float64"))
        lats.append(row_lat)
        lons.append(row_lon)
    return da.block(lats), da.block(lons)


def open_swath(info, layers: list[str] | None, chunks: Any):
    """Open a swath GranuleInfo as a Dataset with 2-D ``lat``/``lon`` coordinates."""
    import xarray as xr

    ex = info.extra
    names = [n for n in info.sds if n not in (ex["lat"], ex["lon"])]
    for n in layers or []:
        if n not in names:
            raise UnknownLayerError(n, names, info.path)
    data_vars = {}
    for name in layers or names:
        shape = info.sds[name]["shape"]
        dims = ("y", "x") if tuple(shape) == tuple(ex["shape"]) else ("y", "flag")
        layer = effective_layer(info, name, warn=True)
        data_vars[name] = xr.Variable(
            dims, lazy_array(info, name, dims, chunks), raw_attrs(info, name, layer, None)
        )
    lat, lon = _geolocation(info, chunks)
    coords: dict[str, Any] = {
        "lat": xr.Variable(
            ("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north"}
        ),
        "lon": xr.Variable(
            ("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east"}
        ),
    }
    if ex.get("time"):
        secs = read_h5_block(info.path, ex["time"], (slice(None),))
        times = np.array(
            [
                np.datetime64("NaT") if not np.isfinite(s) else np.datetime64(round(s * 1e6), "us")
                for s in secs
            ]
        )
        coords["acq_time"] = xr.Variable(("y",), times, {"long_name": "scan line time (UTC)"})
    if "qual_flags" in data_vars and ex.get("flag_names"):
        coords["flag"] = xr.Variable(
            ("flag",), np.array(ex["flag_names"]), {"long_name": "quality flag meaning"}
        )
    attrs = dataset_attrs(info, [])
    attrs["geolocation"] = (
        "2-D lat/lon from the file's scaled integers (CF)"
        if ex["geo"] == "cf"
        else f"lat/lon interpolated from tie points {ex['maps']}"
    )
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
