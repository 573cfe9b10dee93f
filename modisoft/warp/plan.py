"""``ResamplePlan``: the mapping from a source grid to a destination grid, computed once.

A plan is cheap to create (it holds two grids and a method).  Its mapping is computed window by
window of the destination grid (:meth:`ResamplePlan.window`), kept in a per-process memory
cache, and optionally on disk under a key made of both grids and the method, so that every
date and layer on the same grids, and every rerun, reuses it.  Each window stores, for every
destination pixel the source covers, which source pixels it reads:

* ``nearest``: one source index (GDAL's ``floor(p + 1e-10)`` of the transformed centre);
* ``bilinear``: the upper-left of the 2×2 neighbourhood of ``p - 0.5`` and the weights of its
  left column and upper row (GDAL's ``1.5 - (p - floor(p - 0.5))``, clamped at the first
  row/column); the source coordinates are transformed exactly for every pixel, because the
  weights, not only integer decisions, depend on them;
* ``average``/``mode``/``min``/``max``: the source box between the transformed upper-left and
  lower-right pixel corners (GDAL's window), with its fractional edges for the weights; the
  corners are transformed exactly for every pixel (like bilinear), so the weights, and with
  them the result, do not depend on how the output is cut into windows or chunks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import WarpError
from modisoft.grids import Grid
from modisoft.warp.kernels import ValidRule, resample_window
from modisoft.warp.policy import METHODS, ResamplingPolicyError
from modisoft.warp.transform import GDAL_EPS, PixelMapper
from modisoft.write._common import atomic_path

__all__ = ["ResamplePlan", "PlanWindow", "clear_plan_memory", "fits_in_plan_memory",
           "plan_memory", "PLAN_VERSION"]

log = logging.getLogger(__name__)

PLAN_VERSION = 3
"""Bumped whenever the stored mapping changes meaning (part of every cache key)."""
_MEMORY_BYTES = 128 * 2**20
"""Plan windows kept in memory per process (LRU): a run computes one piece of the output at
a time, and every date of the piece reuses the same few windows."""
_memory: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
_memory_lock = threading.Lock()
_memory_used = [0]


@dataclass(eq=False)
class PlanWindow:
    """The mapping of one destination window: see the module docstring.

    Attributes
    ----------
    method
        The resampling method.
    dst_shape
        ``(rows, cols)`` of the destination window.
    src_box
        ``(row0, row1, col0, col1)``: the source pixels read, in source grid indices.
    dst_index
        Flat index (int32) in the window of every destination pixel the source covers.
    arrays
        Method-specific arrays, one entry per ``dst_index`` (source indices relative to
        ``src_box``).
    """

    method: str
    dst_shape: tuple[int, int]
    src_box: tuple[int, int, int, int]
    dst_index: np.ndarray
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return self.dst_index.nbytes + sum(a.nbytes for a in self.arrays.values())


_WINDOW_BYTES_PER_PIXEL = 64
"""An area-method window holds eight 8-byte numbers per destination pixel (its source box and
the box's fractional edges)."""


def fits_in_plan_memory(pixels: int, plans: int = 1) -> bool:
    """Whether the windows of ``plans`` plans over ``pixels`` destination pixels fit in this
    process's in-memory cache (else a sweep over them evicts each before its next use)."""
    return pixels * plans * _WINDOW_BYTES_PER_PIXEL <= _MEMORY_BYTES


@contextlib.contextmanager
def plan_memory(nbytes: int) -> Iterator[None]:
    """Within the block, keep at most ``nbytes`` of plan windows in this process's memory
    (0: none; windows still come from the disk cache).

    A task that sweeps a whole national grid once per date touches every window in turn, so
    an LRU smaller than the grid's windows never hits and only holds memory.
    """
    global _MEMORY_BYTES
    old, _MEMORY_BYTES = _MEMORY_BYTES, int(nbytes)
    try:
        yield
    finally:
        _MEMORY_BYTES = old


def clear_plan_memory() -> None:
    """Forget every plan window cached in this process's memory, and what the kernels
    derived from them (their expanded entries hold the windows too)."""
    from modisoft.warp.kernels import clear_entries_memory

    with _memory_lock:
        _memory.clear()
        _memory_used[0] = 0
    clear_entries_memory()


def _grid_key(g: Grid) -> list:
    return [g.crs_wkt, [float(v) for v in tuple(g.transform)[:6]], list(g.shape)]


class ResamplePlan:
    """The resampling of one source grid onto one destination grid by one method.

    Parameters
    ----------
    src_grid, dst_grid
        Source and destination grids (any CRSs).
    method
        ``"nearest"``, ``"bilinear"``, ``"average"``, ``"mode"``, ``"min"`` or ``"max"``.
    cache_dir
        Folder for the on-disk cache (``None``: memory only).  Entries are keyed by both grids,
        the method and :data:`PLAN_VERSION`.
    exact
        Transform every pixel with pyproj instead of the guarded interpolation of
        :class:`~modisoft.warp.transform.PixelMapper` (same indices, slower).

    Examples
    --------
    >>> from modisoft import modis_tile_grid, national_grid
    >>> plan = ResamplePlan(modis_tile_grid(26, 5), national_grid("china_albers_1km"))
    >>> out = plan.apply(lai_raw, nodata=255)  # doctest: +SKIP
    """

    def __init__(
        self,
        src_grid: Grid,
        dst_grid: Grid,
        method: str = "nearest",
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        exact: bool = False,
    ):
        if method not in METHODS:
            raise ResamplingPolicyError(
                f"unknown resampling method {method!r}; use one of {', '.join(METHODS)}"
            )
        self.src_grid, self.dst_grid, self.method = src_grid, dst_grid, method
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        self.exact = exact
        text = json.dumps(
            [PLAN_VERSION, _mapping(method), _grid_key(src_grid), _grid_key(dst_grid)],
            sort_keys=True,
        )
        self.key = hashlib.sha256(text.encode()).hexdigest()[:32]
        self._mapper: PixelMapper | None = None

    def __reduce__(self):
        return (_rebuild, (self.src_grid, self.dst_grid, self.method, self.cache_dir, self.exact))

    def __dask_tokenize__(self) -> tuple:
        return ("modisoft.ResamplePlan", self.key, self.exact)

    def __repr__(self) -> str:
        return (
            f"ResamplePlan({self.method!r}, src={self.src_grid.shape} {self.src_grid.crs.name!r}"
            f", dst={self.dst_grid.shape} {self.dst_grid.crs.name!r}, key={self.key[:12]})"
        )

    @property
    def mapper(self) -> PixelMapper:
        """The coordinate mapper (created on first use, in each process)."""
        if self._mapper is None:
            self._mapper = PixelMapper(self.src_grid, self.dst_grid)
        return self._mapper

    # windows ---------------------------------------------------------------------------------
    def window(self, rows: tuple[int, int], cols: tuple[int, int]) -> PlanWindow | None:
        """The mapping of destination rows ``[r0, r1)`` × cols ``[c0, c1)``; ``None`` if empty.

        Looked up in this process's memory, then on disk, else computed (and stored in both).
        """
        rows, cols = (int(rows[0]), int(rows[1])), (int(cols[0]), int(cols[1]))
        mkey = (self.key, rows, cols)
        with _memory_lock:
            if mkey in _memory:
                _memory.move_to_end(mkey)
                return _as_method(_memory[mkey][0], self.method)
        pw = self._load(rows, cols)
        if pw is False:
            pw = self._compute(rows, cols)
            self._store(rows, cols, pw)
        _remember(mkey, pw)
        return pw

    def _compute(self, rows: tuple[int, int], cols: tuple[int, int]) -> PlanWindow | None:
        shape = (rows[1] - rows[0], cols[1] - cols[0])
        if self.method in ("nearest", "bilinear"):
            # bilinear weights need the fractional coordinates themselves: the interpolated
            # lattice is only guaranteed for integer decisions (its fractions can be ~0.01 px off)
            px, py = self.mapper.lattice(
                np.arange(*cols) + 0.5,
                np.arange(*rows) + 0.5,
                exact=self.exact or self.method == "bilinear",
            )
            return _point_window(self.method, px, py, shape, self.src_grid.shape)
        # the area methods weigh source pixels by the fractions of the transformed corners, so
        # they need them exact too: interpolated fractions (off by up to 0.05 px where the
        # integer decisions allow it) shifted averages by up to 0.17 LAI against GDAL, and
        # differently for every window size, so a mosaic depended on its chunking
        px, py = self.mapper.lattice(
            np.arange(cols[0], cols[1] + 1.0), np.arange(rows[0], rows[1] + 1.0), exact=True
        )
        return _area_window(self.method, px, py, shape, self.src_grid.shape)

    # disk cache ------------------------------------------------------------------------------
    def _path(self, rows, cols) -> Path | None:
        if self.cache_dir is None:
            return None
        return (
            Path(self.cache_dir)
            / f"plan-{self.key}"
            / f"r{rows[0]}-{rows[1]}_c{cols[0]}-{cols[1]}.plan"
        )

    def _load(self, rows, cols):
        path = self._path(rows, cols)
        if path is None or not path.is_file():
            return False
        try:
            return _unpack(self.method, np.fromfile(path, dtype=np.uint8))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable plan cache file %s (%s)", path, exc)
            return False

    def _store(self, rows, cols, pw: PlanWindow | None) -> None:
        path = self._path(rows, cols)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = path.parent / "plan.json"
        if not meta.exists():
            _atomic_write_text(meta, json.dumps(self.describe(), indent=1))
        with atomic_path(path, suffix=".plan") as tmp, open(tmp, "wb") as f:
            for part in _pack(pw):
                f.write(part)

    def describe(self) -> dict[str, Any]:
        """What the plan maps (written beside the on-disk cache as ``plan.json``)."""
        return {
            "method": _mapping(self.method),
            "plan_version": PLAN_VERSION,
            "src_grid": _grid_key(self.src_grid),
            "dst_grid": _grid_key(self.dst_grid),
        }

    # whole-array use ------------------------------------------------------------------------
    def apply(
        self,
        src: np.ndarray,
        *,
        nodata: Any = None,
        fill_codes: tuple = (),
        valid_range: tuple | None = None,
        chunks: int = 1024,
    ) -> np.ndarray:
        """Resample a whole in-memory 2-D source array onto the destination grid (numpy).

        ``fill_codes`` and ``valid_range`` say which values are not measurements; ``nodata``
        (default NaN for floats, else required) marks pixels the source does not cover.
        """
        src = np.asarray(src)
        if src.shape != self.src_grid.shape:
            raise WarpError(f"source shape {src.shape} is not the grid's {self.src_grid.shape}")
        if nodata is None:
            if src.dtype.kind != "f":
                raise WarpError("nodata= is required for integer sources")
            nodata = np.nan
        rule = ValidRule(tuple(fill_codes), valid_range)
        ny, nx = self.dst_grid.shape
        out = np.full((ny, nx), nodata, dtype=src.dtype)
        for r0 in range(0, ny, chunks):
            for c0 in range(0, nx, chunks):
                r1, c1 = min(r0 + chunks, ny), min(c0 + chunks, nx)
                pw = self.window((r0, r1), (c0, c1))
                if pw is None:
                    continue
                b = pw.src_box
                res = resample_window(pw, src[b[0] : b[1], b[2] : b[3]], None, rule, nodata)
                out[r0:r1, c0:c1] = res.values.reshape(r1 - r0, c1 - c0)
        return out

    def downsampling(self) -> float:
        """Destination pixel size over source pixel size, at the middle of the overlap."""
        ny, nx = self.dst_grid.shape
        rows, cols = np.linspace(0, ny - 1, 9), np.linspace(0, nx - 1, 9)
        cc, rr = np.meshgrid(cols + 0.5, rows + 0.5)
        x0, y0 = self.mapper.points(cc, rr)
        x1, y1 = self.mapper.points(cc + 1.0, rr)
        x2, y2 = self.mapper.points(cc, rr + 1.0)
        inside = (x0 >= 0) & (x0 <= self.src_grid.width) & (y0 >= 0)
        inside &= y0 <= self.src_grid.height
        area = np.abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))
        area = area[inside & np.isfinite(area)]
        if area.size == 0:
            area = np.abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))
            area = area[np.isfinite(area)]
        return float(np.sqrt(np.median(area))) if area.size else 1.0


_AREA = ("average", "mode", "min", "max")


def _mapping(method: str) -> str:
    """What a method's windows store: the area methods share one mapping (the source box of
    every destination pixel and its fractional edges), so a mosaic of values by ``average``
    and of their fill classes by ``mode`` compute, cache and load it once."""
    return "area" if method in _AREA else method


def _as_method(pw: PlanWindow | None, method: str) -> PlanWindow | None:
    """``pw`` for ``method`` (another area method's window shares its arrays)."""
    if pw is None or pw.method == method:
        return pw
    return PlanWindow(method, pw.dst_shape, pw.src_box, pw.dst_index, pw.arrays)


def _rebuild(src, dst, method, cache_dir, exact) -> ResamplePlan:
    return ResamplePlan(src, dst, method, cache_dir=cache_dir, exact=exact)


def _remember(key: tuple, pw: PlanWindow | None) -> None:
    """Keep ``pw`` in the LRU, counted at the size it has with what the kernels add to it
    later (:func:`~modisoft.warp.kernels.dense_index` keeps a nearest window's dense index on
    it): the size is recorded with the entry, so an eviction gives back what was counted."""
    size = 64 if pw is None else pw.nbytes
    if size > _MEMORY_BYTES // 4:  # admitted by its own size, as computed or loaded
        return
    if pw is not None and pw.method == "nearest" and "_dense" not in pw.arrays:
        size += 4 * pw.dst_shape[0] * pw.dst_shape[1]
    with _memory_lock:
        old = _memory.pop(key, None)
        if old is not None:
            _memory_used[0] -= old[1]
        _memory[key] = (pw, size)
        _memory_used[0] += size
        while _memory_used[0] > _MEMORY_BYTES and _memory:
            _, (_, gone) = _memory.popitem(last=False)
            _memory_used[0] -= gone


def _atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _point_window(method, px, py, shape, src_shape) -> PlanWindow | None:
    h, w = src_shape
    with np.errstate(invalid="ignore"):
        ix, iy = np.floor(px + GDAL_EPS), np.floor(py + GDAL_EPS)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    dst = np.flatnonzero(inside).astype(np.int32)
    if dst.size == 0:
        return None
    if method == "nearest":
        ix, iy = ix.ravel()[dst].astype(np.int64), iy.ravel()[dst].astype(np.int64)
        box = (int(iy.min()), int(iy.max()) + 1, int(ix.min()), int(ix.max()) + 1)
        src = (iy - box[0]) * (box[3] - box[2]) + (ix - box[2])
        return PlanWindow(method, shape, box, dst, {"src": src.astype(np.int32)})
    # bilinear, GDAL's 4-sample formula: upper-left (c, r) = floor(p - 0.5); the left column
    # and upper row weigh wx = 1.5 - (p - c), wy = 1.5 - (p - r); a point in the first half
    # pixel (c = -1) uses column 0 alone (c = 0, wx = 1), likewise for rows
    x, y = px.ravel()[dst], py.ravel()[dst]
    c, r = np.floor(x - 0.5), np.floor(y - 0.5)
    wx, wy = 1.5 - (x - c), 1.5 - (y - r)
    wx, c = np.where(c == -1, 1.0, wx), np.maximum(c, 0)
    wy, r = np.where(r == -1, 1.0, wy), np.maximum(r, 0)
    box = (int(r.min()), min(int(r.max()) + 2, h), int(c.min()), min(int(c.max()) + 2, w))
    arrays = {
        "row": (r - box[0]).astype(np.int32),
        "col": (c - box[2]).astype(np.int32),
        "wy": wy,
        "wx": wx,
    }
    return PlanWindow(method, shape, box, dst, arrays)


def _area_window(method, px, py, shape, src_shape) -> PlanWindow | None:
    h, w = src_shape
    x0, x1 = np.fmin(px[:-1, :-1], px[1:, 1:]), np.fmax(px[:-1, :-1], px[1:, 1:])
    y0, y1 = np.fmin(py[:-1, :-1], py[1:, 1:]), np.fmax(py[:-1, :-1], py[1:, 1:])
    finite = np.isfinite(px[:-1, :-1] + px[1:, 1:] + py[:-1, :-1] + py[1:, 1:])
    with np.errstate(invalid="ignore"):
        c0, c1 = _span(x0, x1, w)
        r0, r1 = _span(y0, y1, h)
        ok = finite & (c0 < c1) & (r0 < r1)
    dst = np.flatnonzero(ok).astype(np.int32)
    if dst.size == 0:
        return None
    c0, c1, r0, r1 = (a.ravel()[dst].astype(np.int64) for a in (c0, c1, r0, r1))
    box = (int(r0.min()), int(r1.max()), int(c0.min()), int(c1.max()))
    arrays = {
        "r0": (r0 - box[0]).astype(np.int32),
        "r1": (r1 - box[0]).astype(np.int32),
        "c0": (c0 - box[2]).astype(np.int32),
        "c1": (c1 - box[2]).astype(np.int32),
        "y0": y0.ravel()[dst] - box[0],
        "y1": y1.ravel()[dst] - box[0],
        "x0": x0.ravel()[dst] - box[2],
        "x1": x1.ravel()[dst] - box[2],
    }
    return PlanWindow(method, shape, box, dst, arrays)


def _span(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """GDAL's source index window of a pixel footprint along one axis (clamped, never empty
    when it touches the source)."""
    a = np.clip(np.floor(np.nan_to_num(lo, nan=-1.0) + GDAL_EPS), 0, n)
    b = np.clip(np.ceil(np.nan_to_num(hi, nan=-1.0) - GDAL_EPS), -1, n)
    b = np.where((a == b) & (b < n), b + 1, b)
    return a, b


_MAGIC = b"MSPLAN\x00\x01"
"""First bytes of a plan window file (:func:`_pack`): a name and a format number."""
_ALIGN = 64


def _pack(pw: PlanWindow | None) -> list[bytes]:
    """A plan window as one file: magic, the JSON header's length (8 bytes, little-endian),
    the header (shapes, boxes, and each array's dtype, shape and offset), then the arrays'
    bytes, each at a 64-byte boundary.  It loads with one read and no checksum pass
    (:func:`_unpack`), where a ``.npz`` archive cost a zip CRC over every array."""
    head: dict[str, Any] = {"empty": pw is None, "arrays": []}
    blobs: list[bytes] = []
    if pw is not None:
        head.update(dst_shape=[int(v) for v in pw.dst_shape],
                    src_box=[int(v) for v in pw.src_box])
        named = {"dst_index": pw.dst_index,
                 **{f"a_{k}": v for k, v in pw.arrays.items() if not k.startswith("_")}}
        off = 0
        for name, a in named.items():
            a = np.ascontiguousarray(a)
            head["arrays"].append([name, a.dtype.str, list(a.shape), off, a.nbytes])
            blobs.append(a.tobytes() + bytes(-a.nbytes % _ALIGN))
            off += a.nbytes + (-a.nbytes % _ALIGN)
    text = json.dumps(head).encode()
    start = len(_MAGIC) + 8 + len(text)
    return [_MAGIC, len(text).to_bytes(8, "little"), text, bytes(-start % _ALIGN), *blobs]


def _unpack(method: str, raw: np.ndarray) -> PlanWindow | None:
    """:func:`_pack`'s file, read into ``raw`` (bytes), as a window (views of ``raw``)."""
    if raw[: len(_MAGIC)].tobytes() != _MAGIC:
        raise ValueError("not a plan window file")
    n = int.from_bytes(raw[len(_MAGIC) : len(_MAGIC) + 8].tobytes(), "little")
    start = len(_MAGIC) + 8
    head = json.loads(raw[start : start + n].tobytes())
    if head["empty"]:
        return None
    base = start + n + (-(start + n) % _ALIGN)
    arrays = {}
    for name, dtype, shape, off, nbytes in head["arrays"]:
        part = raw[base + off : base + off + nbytes]
        if part.size != nbytes:
            raise ValueError(f"truncated at array {name!r}")
        arrays[name] = part.view(np.dtype(dtype)).reshape(shape)
    return PlanWindow(method, tuple(head["dst_shape"]), tuple(head["src_box"]),
                      arrays.pop("dst_index"),
                      {k[2:]: v for k, v in arrays.items()})
