"""Checksums of HDF4 deflate blocks, which the HDF4 library itself does not verify.

HDF4 inflates a compressed SDS chunk only until its output buffer is full, so it never reaches
the zlib stream's end nor its Adler-32 checksum: a byte flipped inside a deflate block (a bad
disk, an interrupted copy) often decodes into *plausible wrong values* without any error.
Measured on the real MCD15A2 h17v03 granule of the sample set: of 212 single-byte flips in one
``Lai_1km`` chunk, HDF4 failed on 150, returned different values silently for 60 and identical
ones for 2.  So before a block is read, :func:`verify_deflate` reads the raw compressed bytes of
every chunk the block covers (located with the library's ``SDgetdatainfo``) and inflates them
with Python's :mod:`zlib`, which checks the header, the stream's end, the length and the
Adler-32 checksum.  A chunk is verified once per process (a small LRU of verified chunks).

Not detectable here (``docs/reference/limits.md``): damage to an uncompressed SDS (no
checksum), to SDS compressed otherwise than deflate (SZIP, RLE, N-bit, skipping Huffman), and a
block rewritten with a matching checksum.  When the HDF4 library lacks ``SDgetdatainfo``
(before HDF 4.2.1), nothing is verified and HDF4's own errors are all there is.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import os
import zlib
from collections import OrderedDict
from typing import Any

import numpy as np

from modisoft.errors import CorruptGranuleError

__all__ = ["verify_deflate", "deflate_layout", "clear_verified"]

_COMP_DEFLATE = 4  # comp_coder_t COMP_CODE_DEFLATE (hcomp.h)
_HDF_CHUNK = 0x1  # SDgetchunkinfo flag bit: the SDS is chunked (mfhdf.h)

_NUMPY = {5: ">f4", 6: ">f8", 20: "i1", 21: "u1", 22: ">i2", 23: ">u2", 24: ">i4", 25: ">u4",
          26: ">i8", 27: ">u8"}
"""HDF4 number type → the numpy type of its stored bytes (HDF4 writes big-endian, XDR)."""
_ITEMSIZE = {3: 1, 4: 1} | {t: np.dtype(v).itemsize for t, v in _NUMPY.items()}
"""HDF4 number type (DFNT_*) → bytes per value (CHAR8 and UCHAR8 one byte each)."""

_lib: Any = None
_verified: OrderedDict[tuple, None] = OrderedDict()
_VERIFIED_SIZE = 100_000


def clear_verified() -> None:
    """Forget which chunks were verified (tests; a file rewritten in place with its mtime)."""
    _verified.clear()


def _library() -> Any:
    """The HDF4 C library pyhdf is linked with, through ctypes; ``None`` when unavailable."""
    global _lib
    if _lib is None:
        try:
            from pyhdf import _hdfext

            lib = ctypes.CDLL(_hdfext.__file__)
            i32p = ctypes.POINTER(ctypes.c_int32)
            lib.SDgetdatainfo.restype = ctypes.c_int
            lib.SDgetdatainfo.argtypes = [ctypes.c_int32, i32p, ctypes.c_uint, ctypes.c_uint,
                                          i32p, i32p]
            lib.SDgetchunkinfo.restype = ctypes.c_int
            lib.SDgetchunkinfo.argtypes = [ctypes.c_int32, ctypes.c_void_p, i32p]
            lib.SDgetcompinfo.restype = ctypes.c_int
            lib.SDgetcompinfo.argtypes = [ctypes.c_int32, i32p, ctypes.c_void_p]
            _lib = lib
        except (ImportError, OSError, AttributeError):
            _lib = False
    return _lib or None


def deflate_layout(sds_id: int, rank: int) -> tuple[int, ...] | bool:
    """How an SDS is stored: its chunk lengths when chunked and deflated, ``()`` when deflated
    in one piece, ``False`` when not deflated (or the library cannot tell).  Call with
    :data:`~modisoft.io.hdf4.HDF4_LOCK` held."""
    lib = _library()
    if lib is None:
        return False
    coder = ctypes.c_int32(-1)
    info = ctypes.create_string_buffer(512)  # comp_info, a union of a few ints
    if lib.SDgetcompinfo(sds_id, ctypes.byref(coder), info) < 0 or coder.value != _COMP_DEFLATE:
        return False
    lengths = (ctypes.c_int32 * 1024)()  # HDF_CHUNK_DEF: 32 lengths and the codec's settings
    flags = ctypes.c_int32(0)
    if lib.SDgetchunkinfo(sds_id, lengths, ctypes.byref(flags)) < 0:
        return False
    if flags.value & _HDF_CHUNK:
        return tuple(int(n) for n in lengths[:rank])
    return ()


def _blocks(lib: Any, sds_id: int, coords: tuple[int, ...] | None) -> list[tuple[int, int]]:
    """(offset, length) of the stored blocks of one chunk (of the whole SDS when ``None``)."""
    c = (ctypes.c_int32 * len(coords))(*coords) if coords is not None else None
    size = 4
    while True:
        offs, lens = (ctypes.c_int32 * size)(), (ctypes.c_int32 * size)()
        n = lib.SDgetdatainfo(sds_id, c, 0, size, offs, lens)
        if n <= 0:
            return []  # never written (the library returns fill values), or unknown
        if n <= size:
            return list(zip(offs[:n], lens[:n], strict=True))
        size = n


def _inflate(raw: bytes, nbytes: int) -> tuple[str | None, bytes]:
    """``raw`` inflated, and why it is not one complete zlib stream of ``nbytes`` bytes (or
    ``None``)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, nbytes + 1)
    except zlib.error as exc:
        return f"deflate decompression failed (zlib: {exc})", b""
    if len(out) > nbytes or d.unconsumed_tail:
        return f"the block inflates to more than the {nbytes} bytes of the chunk", out
    if not d.eof:
        return "the deflate stream ends early (no end-of-stream marker or checksum)", out
    if len(out) != nbytes:
        return f"the block inflates to {len(out)} bytes, the chunk holds {nbytes}", out
    return None, out


def _chunk_text(coords: tuple[int, ...], lengths: tuple[int, ...], shape: tuple[int, ...]) -> str:
    spans = [f"{c * n}-{min((c + 1) * n, size) - 1}"
             for c, n, size in zip(coords, lengths, shape, strict=True)]
    if len(spans) == 2:
        return f"chunk {tuple(coords)} (rows {spans[0]}, cols {spans[1]})"
    return f"chunk {tuple(coords)} (index ranges {', '.join(spans)})"


def verify_deflate(
    path: str, name: str, sds: Any, start: tuple[int, ...], count: tuple[int, ...],
    *, read: bool = False,
) -> np.ndarray | None:
    """Check every deflate block a hyperslab of ``sds`` (a pyhdf SDS) covers.

    Call with :data:`~modisoft.io.hdf4.HDF4_LOCK` held.

    With ``read``, also return the hyperslab itself, assembled from the chunks just inflated
    and checked (the values the HDF4 library would return, which then need not inflate them a
    second time), when the SDS is chunked, every chunk it covers is stored and its number type
    is a plain big-endian one (:data:`_NUMPY`); else ``None``, and the caller reads it.

    Raises
    ------
    CorruptGranuleError
        Naming the file, the layer, the chunk and its byte range: the block fails to inflate,
        its checksum does not match, its length is wrong, or it lies beyond the end of the
        file (a truncated download).
    """
    _name, rank, dims, dtype, _nattrs = sds.info()
    shape = tuple(dims) if isinstance(dims, list | tuple) else (dims,)
    layout = deflate_layout(sds._id, rank)
    lib = _library()
    if layout is False or lib is None or 0 in count:
        return None
    st = os.stat(path)
    itemsize = _ITEMSIZE.get(dtype, 1)
    out = np.empty(count, _NUMPY[dtype]) if read and layout and dtype in _NUMPY else None
    if layout:
        nbytes = math.prod(layout) * itemsize
        ranges = [range(s // c, (s + n - 1) // c + 1)
                  for s, n, c in zip(start, count, layout, strict=True)]
        chunks: Any = itertools.product(*ranges)
    else:
        nbytes, chunks = math.prod(shape) * itemsize, [None]
    with open(path, "rb") as fh:
        for coords in chunks:
            key = (path, st.st_mtime_ns, st.st_size, name, coords)
            if key in _verified and out is None:
                _verified.move_to_end(key)
                continue
            blocks = _blocks(lib, sds._id, coords)
            if not blocks:
                out = None  # never written: the library returns its fill values
                continue
            end = max(off + n for off, n in blocks)
            data = b""
            if end > st.st_size:
                why = (f"the block ends at byte {end}, beyond the end of the file "
                       f"({st.st_size} bytes)")
            else:
                raw = b""
                for off, n in blocks:
                    fh.seek(off)
                    raw += fh.read(n)
                why, data = _inflate(raw, nbytes)
            if why is not None:
                where = "the whole layer" if coords is None else _chunk_text(coords, layout, shape)
                span = f"bytes {blocks[0][0]}-{blocks[-1][0] + blocks[-1][1] - 1}"
                raise CorruptGranuleError(
                    path,
                    f"corrupt block: {where} ({span}): {why}; the file is truncated or "
                    "corrupted, download it again",
                    name,
                )
            if out is not None:
                _place(out, data, coords, layout, start, count)
            _verified[key] = None
    while len(_verified) > _VERIFIED_SIZE:
        _verified.popitem(last=False)
    return None if out is None else out.astype(out.dtype.newbyteorder("="), copy=False)


def _place(out: np.ndarray, data: bytes, coords: tuple[int, ...], layout: tuple[int, ...],
           start: tuple[int, ...], count: tuple[int, ...]) -> None:
    """Copy the part of one inflated chunk that lies in the hyperslab into ``out``.

    HDF4 stores every chunk whole, the edge chunks padded to the full chunk lengths."""
    chunk = np.frombuffer(data, out.dtype).reshape(layout)
    src, dst = [], []
    for c, n, s, m in zip(coords, layout, start, count, strict=True):
        lo, hi = max(c * n, s), min((c + 1) * n, s + m)
        src.append(slice(lo - c * n, hi - c * n))
        dst.append(slice(lo - s, hi - s))
    out[tuple(dst)] = chunk[tuple(src)]
