"""``describe``: a granule's identity, grids and layers as a plain dict (for ``modisoft info``).

Works on every file it is given: HDF-EOS2 granules are described fully; other formats it
recognises (HDF5/netCDF4, AVHRR level-1b) are described as far as modisoft can read them yet,
with a note saying what is missing.  Real errors (empty, truncated, corrupted) raise.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from modisoft.errors import ModisoftError, NotHDFError
from modisoft.io.granule import GranuleInfo, detect_format, inspect_granule

__all__ = ["describe", "describe_all", "granule_paths"]

log = logging.getLogger(__name__)

TEXT_EXTENSIONS = {".csv", ".txt", ".md", ".json", ".toml", ".yaml", ".yml", ".xml", ".html"}


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _crs_summary(crs: Any) -> str:
    ell = crs.ellipsoid
    if ell is not None and ell.inverse_flattening == 0:
        shape = f"sphere R={ell.semi_major_metre!r} m"
    elif ell is not None:
        shape = f"{ell.name} (a={ell.semi_major_metre!r}, 1/f={ell.inverse_flattening:.9g})"
    else:  # pragma: no cover
        shape = "unknown ellipsoid"
    return f"{crs.name}; {shape}"


def _layer_entry(info: GranuleInfo, name: str) -> dict[str, Any]:
    meta = info.sds[name]
    layer = info.layer(name)
    entry: dict[str, Any] = {
        "name": name,
        "dtype": meta["dtype"],
        "shape": list(meta["shape"]),
        "kind": layer.kind,
        "registry": info.product is not None and info.product.find_layer(name) is not None,
        "fill_values": list(layer.fill_values),
        "valid_range": list(layer.valid_range) if layer.valid_range else None,
        "units": layer.units,
    }
    if layer.scaling is not None:
        entry["scale"] = layer.scaling.scale
        entry["offset"] = layer.scaling.offset
        entry["unpacking"] = layer.scaling.convention
    if layer.fill_classes:
        entry["fill_classes"] = {str(c.code): c.name for c in layer.fill_classes}
    if layer.deviations:
        entry["deviations"] = dict(layer.deviations)
    return entry


def _granule(path: str) -> dict[str, Any]:
    info = inspect_granule(path)
    g = info.granule
    out: dict[str, Any] = {
        "path": path,
        "format": info.format_name or "HDF-EOS2 (HDF4)",
        "status": "ok",
        "kind": info.kind,
        "product": g.product,
        "collection": g.collection,
        "tile": g.tile_id,
        "nominal_date": g.nominal_date.isoformat() if g.nominal_date else None,
        "start_date": g.start_date.isoformat() if g.start_date else None,
        "end_date": g.end_date.isoformat() if g.end_date else None,
        "production_time": g.production_time.isoformat() if g.production_time else None,
        "granule_id": g.granule_id,
        "identified_from": g.identified_from,
        "identity_mismatches": list(g.mismatches),
        "registered": info.product is not None,
        "title": info.product.title if info.product else None,
        "grids": [],
        "non_grid_layers": info.non_grid_layers,
        "notes": [],
    }
    if info.product is None and info.kind != "l1b":
        out["notes"].append("product not in the registry: layers described from file attributes")
    for gi in info.grids:
        grid = gi.grid
        left, bottom, right, top = grid.bounds
        out["grids"].append(
            {
                "name": gi.name,
                "key": info.grid_key(gi),
                "crs": _crs_summary(grid.crs),
                "projection": gi.projection,
                "shape": list(grid.shape),
                "resolution": [grid.resolution[0], -grid.resolution[1]],
                "upper_left": [left, top],
                "lower_right": [right, bottom],
                "geotransform": list(grid.geotransform),
                "pixel_registration": gi.pixel_registration,
                "grid_origin": gi.grid_origin,
                "layers": [_layer_entry(info, n) for n in info.grid_layers[gi.name]],
            }
        )
    if info.kind == "swath":
        ex = info.extra
        out["swath"] = {
            "shape": list(ex["shape"]),
            "geolocation": ex["geo"],
            "layers": [_layer_entry(info, n) for n in info.sds if n not in (ex["lat"], ex["lon"])],
        }
    if info.kind == "l1b":
        out["status"] = "partial"
        out["header"] = {k: v for k, v in info.extra.items() if v is not None}
        out["notes"].append(
            "header read; reading the data needs the optional pygac backend "
            "(pip install 'modisoft[avhrr]') and a TLE folder"
        )
    out["provenance"] = dict(info.provenance)
    return out


def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe one file as a JSON-ready dict.

    Returns a dict with ``status`` ``"ok"`` (fully read), ``"partial"`` (a format modisoft
    recognises but cannot fully read yet; ``notes`` says why) or ``"skipped"`` (a text file,
    not a granule).

    Raises
    ------
    ModisoftError
        For real errors: missing, empty, truncated, corrupted or unrecognised files.
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        from modisoft.errors import GranuleReadError

        raise GranuleReadError(path, "no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext in TEXT_EXTENSIONS:
        return {
            "path": path,
            "format": f"text ({ext[1:]})",
            "status": "skipped",
            "notes": [
                "not a granule: a text table or document (site time series are read "
                "by the time-series tools, not by open_granule)"
            ],
        }
    fmt = detect_format(path)
    if fmt in ("hdf4", "hdf5", "avhrr-l1b"):
        return _jsonable(_granule(path))
    if fmt == "empty":
        raise NotHDFError(path, "the file is empty (0 bytes); the download probably failed")
    if fmt == "netcdf3":
        raise NotHDFError(path, "a netCDF-3 classic file; modisoft reads HDF-EOS granules")
    raise NotHDFError(
        path, "not a recognised granule format (HDF4, HDF5/netCDF4 or AVHRR level-1b)"
    )


def is_real_error(exc: BaseException) -> bool:
    """True for errors that should make ``modisoft info`` exit non-zero."""
    return isinstance(exc, (ModisoftError, OSError))


def granule_paths(items: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files and folders → files: every file directly inside a folder, sorted, hidden files and
    text files (``.md``, ``.csv``, ...) excepted; files are kept as given."""
    paths: list[str] = []
    for item in map(os.fspath, items):
        if os.path.isdir(item):
            paths.extend(
                sorted(
                    os.path.join(item, n)
                    for n in os.listdir(item)
                    if os.path.isfile(os.path.join(item, n))
                    and not n.startswith(".")
                    and os.path.splitext(n)[1].lower() not in TEXT_EXTENSIONS
                )
            )
        else:
            paths.append(item)
    return paths


def describe_all(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """:func:`describe` each file; a file that cannot be read gives
    ``{"path", "status": "error", "error"}`` (and is logged) instead of stopping the others."""
    results = []
    for p in paths:
        try:
            d = describe(p)
        except (OSError, ValueError) as exc:  # ModisoftError subclasses OSError/KeyError/...
            log.error("%s", exc)
            d = {"path": os.path.abspath(p), "status": "error", "error": str(exc)}
        results.append(d)
    return results
