"""CF conventions shared by the Zarr and NetCDF writers: attributes and encodings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modisoft.write._common import (
    CF_CONVENTIONS,
    OutputError,
    as_dataset,
    grid_of,
)
from modisoft.write.provenance import Provenance, resolve_provenance

__all__ = ["DEFAULT_CHUNKS", "prepare_cf", "var_chunks", "TIME_UNITS"]

DEFAULT_CHUNKS = {"time": 1, "y": 1024, "x": 1024}
TIME_UNITS = "days since 1970-01-01"


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
    """A ``Dataset`` ready for a CF writer: grid-mapping links, CF attributes, provenance.

    Existing encodings are dropped (they come from the source files, not the output).
    """
    ds = as_dataset(obj, name, path)
    grid = grid_of(ds, path)
    prov = resolve_provenance(provenance, grid)
    for var in ds.variables:
        ds[var].encoding = {}
    for var in ds.data_vars:
        ds[var].attrs.setdefault("long_name", str(var))
        for key in ("_FillValue", "missing_value"):  # CF fill in attrs → the writer's nodata
            value = ds[var].attrs.pop(key, None)
            if value is not None and "nodata" not in ds[var].attrs:
                ds[var].attrs["nodata"] = np.asarray(value).ravel()[0].item()
    if "time" in ds.coords:
        ds["time"].attrs.update(
            {"standard_name": "time", "axis": "T", "long_name": "start of period"}
        )
    if "period_end" in ds.coords:
        ds["period_end"].attrs.setdefault("long_name", "last day of period")
    ds.attrs = {
        **{k: v for k, v in ds.attrs.items() if k != "modisoft_status"},
        "Conventions": CF_CONVENTIONS,
        "source": f"modisoft {prov.software.get('modisoft', '')}".strip(),
        **prov.to_attrs(),
    }
    return ds, prov


def time_encoding(ds: Any) -> dict[str, dict[str, Any]]:
    """Fixed time units so that every write of the same data encodes identically."""
    enc = {}
    for name in ("time", "period_end"):
        if name in ds.variables and np.issubdtype(ds[name].dtype, np.datetime64):
            enc[name] = {"units": TIME_UNITS, "calendar": "proleptic_gregorian"}
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
