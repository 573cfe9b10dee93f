"""HDF4 access through pyhdf: one lock per process, cached handles, lazy picklable arrays.

The HDF4 C library is not thread-safe, so every call into it goes through :data:`HDF4_LOCK`.
Handles are cached per process (keyed by path and modification time) and never shared across
processes: after a fork the cache is dropped.  Pixel data are read only through
:func:`read_block`, which tests wrap to prove laziness.  Errors from the C library are caught
here and re-raised as :class:`~modisoft.errors.GranuleReadError` naming the file and layer.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from modisoft.errors import CorruptGranuleError, GranuleReadError, MetadataError, NotHDFError
from modisoft.io.handles import HandleCache, LazyArray
from modisoft.io.hdf4_blocks import verify_deflate
from modisoft.io.limits import MAX_METADATA_BYTES, check_shape

__all__ = [
    "HDF4_LOCK",
    "HDF4Array",
    "read_block",
    "open_sd",
    "sds_catalog",
    "file_attributes",
    "read_attributes",
    "sds_attributes",
    "HDF4_MAGIC",
    "clear_handle_cache",
]

HDF4_LOCK = threading.RLock()
"""The process-wide lock around every HDF4 library call."""

HDF4_MAGIC = b"\x0e\x03\x13\x01"
_handles = HandleCache(lambda sd: sd.end())


def _hdf4_error() -> tuple[type[Exception], ...]:
    """What pyhdf raises on library failures (``SDreaddata`` failures surface as ValueError)."""
    from pyhdf.error import HDF4Error

    return (HDF4Error, ValueError, RuntimeError)


def clear_handle_cache() -> None:
    """Close every cached HDF4 handle of this process."""
    with HDF4_LOCK:
        _handles.clear()


def open_sd(path: str) -> Any:
    """A cached, open ``pyhdf.SD.SD`` for ``path`` (call with :data:`HDF4_LOCK` held).

    Raises
    ------
    NotHDFError
        If the file is missing, empty, not HDF4, or cannot be opened (e.g. truncated).
    """
    from pyhdf.SD import SD, SDC

    def opener(path: str, st: os.stat_result) -> Any:
        check_hdf4_signature(path, st.st_size)
        check_hdf4_extent(path, st.st_size)
        try:
            return SD(path, SDC.READ)
        except _hdf4_error() as exc:
            raise NotHDFError(
                path,
                f"HDF4 library cannot open the file ({exc}); size {st.st_size} bytes: it may "
                "be truncated or corrupted, re-download it",
            ) from None

    return _handles.get(path, opener)


def check_hdf4_signature(path: str, size: int | None = None) -> None:
    """Raise :class:`NotHDFError` unless the file starts with the HDF4 signature."""
    if size is None:
        size = os.path.getsize(path)
    if size == 0:
        raise NotHDFError(path, "the file is empty (0 bytes); the download probably failed")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:4] != HDF4_MAGIC:
        raise NotHDFError(path, f"not an HDF4 file (first bytes {head[:8]!r})")


_DFTAG_NULL = 1
_NO_OFFSET = 0xFFFFFFFF


def check_hdf4_extent(path: str, size: int) -> None:
    """Raise :class:`NotHDFError` when the file's own data descriptors place an object beyond
    its end: the file was cut short (a download that stopped), even by one byte.

    An HDF4 file lists every object (tag, reference, offset, length) in a chain of
    data-descriptor blocks that starts right after the signature; the largest
    ``offset + length`` is where the file must at least end.
    """
    end, offset, seen = 4, 4, set()
    with open(path, "rb") as fh:
        while offset and offset not in seen and len(seen) < 100_000:
            seen.add(offset)
            fh.seek(offset)
            head = fh.read(6)
            if len(head) < 6:
                raise NotHDFError(path, f"its descriptor block at byte {offset:,} lies beyond "
                                        f"the end of the file; size {size} bytes: it may be "
                                        "truncated or corrupted, re-download it")
            ndds, nxt = int.from_bytes(head[:2], "big"), int.from_bytes(head[2:], "big")
            block = fh.read(12 * ndds)
            end = max(end, offset + 6 + 12 * ndds)
            for k in range(len(block) // 12):
                tag = int.from_bytes(block[12 * k:12 * k + 2], "big")
                off = int.from_bytes(block[12 * k + 4:12 * k + 8], "big")
                length = int.from_bytes(block[12 * k + 8:12 * k + 12], "big")
                if tag != _DFTAG_NULL and _NO_OFFSET not in (off, length) and length:
                    end = max(end, off + length)
            offset = nxt
    if end > size:
        raise NotHDFError(path, f"its own directory places data up to byte {end:,}, beyond "
                                f"the end of the file; size {size} bytes: it may be truncated "
                                "or corrupted, re-download it")


def file_attributes(path: str) -> dict[str, Any]:
    """The file's global attributes (StructMetadata, CoreMetadata, ...).

    Values are those of ``pyhdf``'s ``SD.attributes()``; character attributes are read in one
    piece (see :func:`read_attributes`).
    """
    with HDF4_LOCK:
        sd = open_sd(path)
        try:
            return read_attributes(sd, sd.info()[1], path=path)
        except _hdf4_error() as exc:
            raise GranuleReadError(path, f"cannot read the file attributes ({exc})") from None


def read_attributes(obj: Any, count: int, *, path: str = "(HDF4 object)",
                    layer: str | None = None) -> dict[str, Any]:
    """The ``count`` attributes of a pyhdf ``SD`` or ``SDS`` object, as its ``attributes()``.

    pyhdf turns a character attribute into ``str`` one byte at a time through a SWIG accessor
    (about 0.7 µs per byte; MODIS metadata attributes hold ~70 kB per file).  Here the bytes the
    HDF4 library has read into pyhdf's buffer are copied at once and decoded as Latin-1, which
    gives the same ``str`` (one character per byte).  Other types go through pyhdf.  Call with
    :data:`HDF4_LOCK` held.

    Raises
    ------
    MetadataError
        When an attribute declares more than
        :data:`~modisoft.io.limits.MAX_METADATA_BYTES` (4 MiB) values (checked before it is
        read), or cannot be inquired or read; ``path`` and ``layer`` name it.
    """
    from pyhdf import hdfext
    from pyhdf.SD import SDC

    out: dict[str, Any] = {}
    for index in range(count):
        status, name, data_type, n_values = hdfext.SDattrinfo(obj._id, index)
        if status < 0:
            raise MetadataError(path, f"cannot inquire attribute number {index}", layer)
        if n_values > MAX_METADATA_BYTES:
            raise MetadataError(
                path,
                f"attribute {name!r} declares {n_values:,} values, over the limit of "
                f"{MAX_METADATA_BYTES:,} (4 MiB, docs/reference/limits.md); real metadata "
                "attributes hold a few kB: the file is damaged",
                layer,
            )
        if data_type == SDC.CHAR8:
            out[name] = _read_char_attribute(obj, index, n_values, path, layer, name)
        else:
            out[name] = obj.attr(index).get()
    return out


def _read_char_attribute(
    obj: Any, index: int, n_values: int, path: str, layer: str | None, name: str
) -> str:
    import ctypes

    from pyhdf import hdfext

    if n_values == 0:
        return ""
    buf = hdfext.array_byte(n_values)
    if hdfext.SDreadattr(obj._id, index, buf) < 0:
        raise MetadataError(path, f"cannot read attribute {name!r}", layer)
    try:
        raw = ctypes.string_at(int(buf.cast()), n_values)
    except (AttributeError, TypeError, ValueError):  # a pyhdf without SWIG pointers: slow path
        return obj.attr(index).get()
    return raw.decode("latin-1")


def sds_catalog(path: str) -> dict[str, dict[str, Any]]:
    """Every SDS: ``{name: {"index", "shape", "dtype", "attrs"}}`` (metadata only)."""
    from pyhdf.SD import SDC

    types = {
        SDC.INT8: "int8",
        SDC.UINT8: "uint8",
        SDC.INT16: "int16",
        SDC.UINT16: "uint16",
        SDC.INT32: "int32",
        SDC.UINT32: "uint32",
        SDC.FLOAT32: "float32",
        SDC.FLOAT64: "float64",
        SDC.CHAR8: "S1",
        SDC.UCHAR8: "uint8",
    }
    out: dict[str, dict[str, Any]] = {}
    with HDF4_LOCK:
        sd = open_sd(path)
        try:
            items = sd.datasets().items()
        except _hdf4_error() as exc:
            raise GranuleReadError(path, f"cannot list the datasets ({exc})") from None
        for name, (_dims, shape, typ, index) in sorted(items, key=lambda kv: kv[1][3]):
            shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
            check_shape(path, name, shape)
            try:
                sds = sd.select(index)
                attrs = {k: _clean(v) for k, v in
                         read_attributes(sds, sds.info()[4], path=path, layer=name).items()}
                sds.endaccess()
            except _hdf4_error() as exc:
                raise GranuleReadError(path, f"cannot read attributes ({exc})", name) from None
            out[name] = {
                "index": index,
                "shape": shape,
                "dtype": types.get(typ, f"hdf4:{typ}"),
                "attrs": attrs,
            }
    return out


def sds_attributes(path: str, name: str) -> dict[str, Any]:
    """The attributes of one SDS."""
    return sds_catalog(path)[name]["attrs"]


def _clean(v: Any) -> Any:
    if isinstance(v, str):
        return v.rstrip("\x00")
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def read_block(path: str, name: str, start: tuple[int, ...], count: tuple[int, ...]) -> np.ndarray:
    """Read one hyperslab of an SDS (the only place pixel data are read from HDF4).

    The deflate blocks the hyperslab covers are verified first
    (:func:`~modisoft.io.hdf4_blocks.verify_deflate`): HDF4 does not check their checksums.
    The values of a chunked deflated SDS come from those checked chunks, inflated once.

    Raises
    ------
    CorruptGranuleError
        Naming the file, layer and block when a compressed block is damaged (decompression
        failed, checksum mismatch) or lies beyond the end of a truncated file, or when the
        library fails to read the block.
    """
    with HDF4_LOCK:
        sd = open_sd(path)
        try:
            sds = sd.select(name)
            try:
                data = verify_deflate(path, name, sds, start, count, read=True)
                if data is None:  # not assembled from the checked chunks: the library reads
                    data = sds.get(start=list(start), count=list(count))
            finally:
                sds.endaccess()
        except _hdf4_error() as exc:
            raise CorruptGranuleError(
                path,
                f"corrupt block: the HDF4 library failed to read rows/cols from {start} count "
                f"{count} ({exc}): decompression failed or the file is truncated or corrupted",
                name,
            ) from None
    return np.asarray(data)


class HDF4Array(LazyArray):
    """A lazy, picklable view of one SDS: ``shape``, ``dtype`` and ``__getitem__``.

    Holds only the path and names, so it pickles to dask worker processes; every read reopens
    (or reuses this process's cached handle) under :data:`HDF4_LOCK`.
    """

    def read(self, start: tuple[int, ...], count: tuple[int, ...]) -> np.ndarray:
        """The block of ``count`` values from ``start`` (through :func:`read_block`)."""
        return read_block(self.path, self.name, start, count)
