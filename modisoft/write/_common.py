"""Shared helpers of the writers: the error class, atomic files, georeferenced input checks."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import OutputError
from modisoft.grids import Grid

__all__ = ["OutputError", "atomic_path", "confined_to", "check_confined", "temp_sibling",
           "as_dataset", "grid_of", "sha256"]

CF_CONVENTIONS = "CF-1.11, ACDD-1.3"
PROVENANCE_ATTR = "modisoft_provenance"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


_ROOT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("modisoft_output_root",
                                                                    default=None)


@contextlib.contextmanager
def confined_to(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Within the block, :func:`atomic_path` refuses any file outside ``folder``.

    A run confines its writers to its output folder: whatever a config value (a name, a
    stem) or a link makes of a path, a file is created only where its resolved path lies
    inside the folder.

    Examples
    --------
    >>> with confined_to("out"):  # doctest: +SKIP
    ...     write_netcdf(lai, "out/../escaped.nc")  # OutputError
    """
    root = Path(folder).resolve()
    token = _ROOT.set(root)
    try:
        yield root
    finally:
        _ROOT.reset(token)


def check_confined(path: Path) -> None:
    """Raise :class:`OutputError` if ``path`` resolves outside the folder of
    :func:`confined_to` (no check outside such a block)."""
    root = _ROOT.get()
    if root is not None and not Path(path).resolve().is_relative_to(root):
        raise OutputError(path, f"resolves to {Path(path).resolve()}, outside the output "
                                f"folder {root}; outputs are written only inside it")


def temp_sibling(path: Path, suffix: str = "") -> Path:
    """A unique hidden temporary name in the same directory as ``path`` (same file system)."""
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}{suffix}")


def remove_path(path: Path) -> None:
    """Remove a file or a directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _swap_in(tmp: Path, path: Path) -> None:
    """Rename the finished ``tmp`` onto ``path``; an old directory (a Zarr store) is moved
    aside first and removed after, since a rename cannot replace a non-empty directory."""
    if path.is_dir() and not path.is_symlink():
        old = temp_sibling(path)
        os.replace(path, old)
        os.replace(tmp, path)
        remove_path(old)
    else:
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, overwrite: bool = True, suffix: str = ""
) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on success rename it onto ``path`` atomically.

    The one way modisoft writes an output: write a file (or a directory such as a Zarr store)
    under the yielded name, and it appears under ``path`` only when complete.  If the body
    raises, the temporary is removed and ``path`` is left untouched (a previous complete output
    stays, a missing one stays missing).

    Parameters
    ----------
    path
        The final file or directory.
    overwrite
        Replace an existing ``path``.
    suffix
        Ending of the temporary name, for writers that add an extension otherwise
        (``numpy.savez`` appends ``.npz``).

    Raises
    ------
    OutputError
        If ``path`` exists and ``overwrite`` is false, or its directory does not exist.

    Examples
    --------
    >>> with atomic_path("lai.tif") as tmp:  # doctest: +SKIP
    ...     write_geotiff(tmp, data, grid)
    """
    path = Path(path)
    check_confined(path)
    if not path.parent.is_dir():
        raise OutputError(path, f"the directory {str(path.parent)!r} does not exist")
    if path.exists() and not overwrite:
        raise OutputError(path, "the output exists; pass overwrite=True to replace it")
    tmp = temp_sibling(path, suffix)
    try:
        yield tmp
        _swap_in(tmp, path)
    except BaseException:
        remove_path(tmp)
        raise


def as_dataset(obj: Any, name: str | None, path: Path) -> Any:
    """A ``Dataset`` from a ``DataArray``/``Dataset`` with the georeferencing checked.

    Every data variable with ``y``/``x`` dims gets ``grid_mapping`` pointing at the
    grid-mapping coordinate.
    """
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        var = name or obj.name or "lai"
        ds = obj.to_dataset(name=str(var))
    elif isinstance(obj, xr.Dataset):
        ds = obj if name is None else obj[[name]]
    else:
        raise OutputError(path, f"expected an xarray DataArray or Dataset, got {type(obj)!r}")
    ref = grid_mapping_name(ds, path)
    ds = ds.copy()
    for var in ds.data_vars:
        dims = ds[var].dims
        if "y" not in dims or "x" not in dims:
            raise OutputError(path, f"dims {dims} lack 'y' and 'x'", str(var))
        if dims[-2:] != ("y", "x"):
            raise OutputError(path, f"dims {dims} must end with ('y', 'x')", str(var))
        ds[var].attrs["grid_mapping"] = ref
        ds[var].encoding.pop("grid_mapping", None)
    return ds


def grid_mapping_name(ds: Any, path: Path) -> str:
    """The name of the grid-mapping coordinate (``spatial_ref``) of ``ds``."""
    names = [n for n in ds.coords if "crs_wkt" in ds.coords[n].attrs]
    if "spatial_ref" in names:
        return "spatial_ref"
    if len(names) != 1:
        raise OutputError(
            path,
            "the array has no grid-mapping coordinate with 'crs_wkt' (e.g. 'spatial_ref' from "
            "Grid.xarray_coords() or open_granule); the CRS would be lost",
        )
    return str(names[0])


def grid_of(ds: Any, path: Path) -> Grid:
    """The :class:`~modisoft.grids.Grid` of a georeferenced xarray object."""
    try:
        return Grid.from_xarray(ds)
    except (ValueError, KeyError) as exc:
        raise OutputError(path, f"cannot recover the grid from the coordinates: {exc}") from None


def period_bounds(ds: Any) -> list[tuple[date, date | None]]:
    """``(start, end)`` of each time step: ``time`` and, if present, ``period_end``."""
    if "time" not in ds.dims:
        if "time" in ds.coords:
            start = to_date(ds["time"].values)
            end = to_date(ds["period_end"].values) if "period_end" in ds.coords else None
            return [(start, end)]
        return []
    starts = [to_date(v) for v in ds["time"].values]
    if "period_end" in ds.coords:
        ends: list[date | None] = [to_date(v) for v in ds["period_end"].values]
    else:
        ends = [None] * len(starts)
    return list(zip(starts, ends, strict=True))


def to_date(value: Any) -> date:
    """A ``datetime.date`` from numpy datetime64, pandas/py datetime or date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    day = int(np.datetime64(value, "D").astype("int64"))
    return date.fromordinal(_EPOCH_ORDINAL + day)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def iter_blocks(shape: tuple[int, int], chunks: Any) -> Iterator[tuple[slice, slice]]:
    """Row/column slices of the 2-D blocks given by dask-style ``chunks`` ``((r...), (c...))``."""
    rows = np.cumsum((0, *chunks[0]))
    cols = np.cumsum((0, *chunks[1]))
    for r0, r1 in itertools.pairwise(rows):
        for c0, c1 in itertools.pairwise(cols):
            yield slice(int(r0), int(r1)), slice(int(c0), int(c1))
