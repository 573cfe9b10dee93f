"""HDF5/netCDF4 access through h5py: one lock per process, cached handles, lazy arrays.

The same contract as :mod:`modisoft.io.hdf4`: every library call goes through
:data:`HDF5_LOCK`; handles are cached per process (dropped after a fork); pixel data are read
only through :func:`read_h5_block`, which tests wrap to prove laziness; library errors become
:class:`~modisoft.errors.GranuleReadError` naming the file and dataset.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from modisoft.errors import CorruptGranuleError, GranuleReadError, ModisoftError, NotHDFError
from modisoft.io.handles import HandleCache, LazyArray
from modisoft.io.limits import check_shape

__all__ = [
    "HDF5_LOCK",
    "H5Array",
    "read_h5_block",
    "open_h5",
    "h5_catalog",
    "h5_attrs",
    "clear_h5_cache",
    "attr_text",
]

HDF5_LOCK = threading.RLock()
"""The process-wide lock around every HDF5 library call."""

_handles = HandleCache(lambda f: f.close())


def clear_h5_cache() -> None:
    """Close every cached HDF5 handle of this process."""
    with HDF5_LOCK:
        _handles.clear()


def open_h5(path: str) -> Any:
    """A cached, open ``h5py.File`` (call with :data:`HDF5_LOCK` held)."""
    import h5py

    def opener(path: str, st: os.stat_result) -> Any:
        try:
            return h5py.File(path, "r")
        except OSError as exc:
            raise NotHDFError(
                path,
                f"HDF5 library cannot open the file ({exc}); size "
                f"{st.st_size} bytes: it may be truncated or corrupted",
            ) from None

    return _handles.get(path, opener)


def attr_text(value: Any) -> Any:
    """HDF5 attribute → plain Python: bytes → str, 1-element arrays → scalars."""
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", "replace").rstrip("\x00")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            items = [attr_text(v) for v in value.ravel()]
            return items[0] if len(items) == 1 else items
        if value.size == 1:
            return value.ravel()[0].item()
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


_SKIP = {
    "DIMENSION_LIST",
    "REFERENCE_LIST",
    "CLASS",
    "NAME",
    "_Netcdf4Dimid",
    "_Netcdf4Coordinates",
    "_NCProperties",
}


def h5_attrs(obj: Any) -> dict[str, Any]:
    """An HDF5 object's attributes without the netCDF/HDF5 bookkeeping ones."""
    out = {}
    for k in obj.attrs:
        if k in _SKIP:
            continue
        try:
            v = obj.attrs[k]
        except (OSError, TypeError):  # e.g. empty attributes h5py cannot read
            continue
        if (
            isinstance(v, np.ndarray)
            and v.dtype.kind in "iuf"
            and k in ("_FillValue", "valid_range", "scale_factor", "add_offset")
        ):
            out[k] = v.tolist() if v.size > 1 else v.ravel()[0].item()
        else:
            out[k] = attr_text(v)
    return out


def h5_catalog(path: str) -> dict[str, dict[str, Any]]:
    """Every dataset: ``{path: {"key", "shape", "dtype", "attrs"}}`` (metadata only)."""
    import h5py

    out: dict[str, dict[str, Any]] = {}
    with HDF5_LOCK:
        f = open_h5(path)

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                check_shape(path, name, obj.shape or ())
                out[name] = {
                    "key": name,
                    "shape": tuple(obj.shape),
                    "dtype": str(obj.dtype),
                    "attrs": h5_attrs(obj),
                }

        try:
            f.visititems(visit)
        except ModisoftError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise GranuleReadError(path, f"cannot list the datasets ({exc})") from None
    return out


def read_h5_block(path: str, key: str, selection: tuple[slice, ...]) -> np.ndarray:
    """Read one hyperslab of a dataset (the only place pixel data are read from HDF5).

    HDF5's deflate filter checks each chunk's zlib stream to its end (Adler-32 included), and
    its Fletcher-32 filter, when present, the stored bytes: damage to a compressed chunk fails
    here; damage to an uncompressed dataset cannot be detected.

    Raises
    ------
    CorruptGranuleError
        Naming the file and dataset when a chunk fails to decompress or the read fails (a
        truncated or corrupted file).
    """
    with HDF5_LOCK:
        f = open_h5(path)
        try:
            return np.asarray(f[key][selection])
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            what = ("decompression failed (an HDF5 filter rejected a chunk)"
                    if "filter" in str(exc).lower() else "the read failed")
            raise CorruptGranuleError(
                path,
                f"corrupt block: HDF5 read of {selection}: {what} ({exc}); the file is "
                "truncated or corrupted, download it again",
                key,
            ) from None


class H5Array(LazyArray):
    """A lazy, picklable view of one HDF5 dataset (path + dataset name only)."""

    @property
    def key(self) -> str:
        """The dataset's path in the file."""
        return self.name

    def read(self, start: tuple[int, ...], count: tuple[int, ...]) -> np.ndarray:
        """The block of ``count`` values from ``start`` (through :func:`read_h5_block`)."""
        return read_h5_block(self.path, self.name,
                             tuple(slice(s, s + c) for s, c in zip(start, count, strict=True)))
