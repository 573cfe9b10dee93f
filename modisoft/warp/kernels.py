"""Resampling and fusing kernels: pure numpy, vectorised, no I/O and no xarray.

A plan window (:class:`~modisoft.warp.plan.PlanWindow`) says, for every destination pixel of an
output chunk that a source covers, which source pixels it reads and with which weights.  The
kernels here apply it to a source window array and combine several sources:

* :func:`resample_window` → a :class:`Resampled` triple per source (or per virtual mosaic of
  adjacent tiles): values, ``valid`` (a measurement) and ``inside`` (covered by the source).
* :func:`fuse` → one chunk from several ``Resampled``, by rule ``first``/``last``/``min``/
  ``max``/``mean``/``count``.

Fill values are respected throughout: invalid source pixels (fills, fill classes, values
outside ``valid_range``, NaN) never enter an average, a min/max or a mode.  Where a
destination pixel sees only invalid pixels it keeps their most frequent code (so the LAI fill
classes water, urban, ... survive a mosaic), and it is ``nodata`` where no source covers it.
The rules for the area methods follow GDAL's warp kernel (3.x): the source window of a
destination pixel spans the transformed upper-left and lower-right corners, floor/ceil with a
1e-10 tolerance, and the average weights edge pixels by their fractional coverage.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ValidRule",
    "Resampled",
    "resample_window",
    "dense_index",
    "fuse",
    "mode_reduce",
    "to_dtype",
]


@dataclass(frozen=True)
class ValidRule:
    """Which stored values are measurements: not a fill code, inside ``valid_range``, finite.

    Examples
    --------
    >>> ValidRule((255, 254), (0, 100)).mask(np.array([0, 100, 101, 254], "uint8"))
    array([ True,  True, False, False])
    """

    fill_codes: tuple = ()
    valid_range: tuple | None = None

    def mask(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        kind = values.dtype.kind
        if kind in "iu" and values.dtype.itemsize == 1 and values.size > 256:
            from modisoft.lookup import byte_lookup  # the rule on the 256 values, by byte

            every = np.arange(256, dtype=np.uint8).view(values.dtype)
            return byte_lookup(values, self.mask(every))
        if kind in "iu" and values.dtype.itemsize <= 2:
            return self._lut(values.dtype)[values.astype(np.int64) - np.iinfo(values.dtype).min]
        ok = np.isfinite(values) if kind == "f" else np.ones(values.shape, dtype=bool)
        if self.fill_codes:
            ok &= ~np.isin(values, np.asarray(self.fill_codes))
        if self.valid_range is not None:
            ok &= (values >= self.valid_range[0]) & (values <= self.valid_range[1])
        return ok

    def _lut(self, dtype: np.dtype) -> np.ndarray:
        info = np.iinfo(dtype)
        allv = np.arange(info.min, info.max + 1, dtype=np.int64)
        ok = ~np.isin(allv, np.asarray(self.fill_codes, dtype=np.int64))
        if self.valid_range is not None:
            ok &= (allv >= self.valid_range[0]) & (allv <= self.valid_range[1])
        return ok


@dataclass
class Resampled:
    """One source's contribution to an output chunk (flat arrays of the chunk's size)."""

    values: np.ndarray
    valid: np.ndarray
    inside: np.ndarray


def to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float results → ``dtype``: integers rounded half up (as GDAL) and clipped to the range."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return values.astype(dtype)
    info = np.iinfo(dtype)
    r = np.floor(values + 0.5)
    np.minimum(r, info.max, out=r)
    return np.maximum(r, info.min, out=r).astype(dtype)


def resample_window(
    pw, win: np.ndarray, present: np.ndarray | None, rule: ValidRule, nodata, masks: bool = True,
    need: np.ndarray | None = None,
) -> Resampled:
    """Apply a plan window to the source window ``win`` (the plan's ``src_box``).

    ``present`` marks the pixels of ``win`` that exist (``None``: all); pixels outside it, such
    as a missing tile of a mosaic, count as outside the source.  Values are ``nodata`` where
    nothing is known.  ``masks=False`` (one source, no ``count``) lets ``nearest`` skip the
    ``valid``/``inside`` masks, which :func:`fuse` does not need then.  ``need`` (per pixel of
    the window's ``dst_index``): the integer ``mode`` computes only those pixels and leaves
    the others ``nodata`` and outside the source (the other methods compute all).
    """
    n = pw.dst_shape[0] * pw.dst_shape[1]
    out = Resampled(np.full(n, nodata, win.dtype), np.zeros(n, bool), np.zeros(n, bool))
    if pw.method == "nearest":
        _nearest(pw, win, present, rule, out, masks)
    elif pw.method == "bilinear":
        _bilinear(pw, win, present, rule, out)
    elif pw.method == "average":
        _average(pw, win, present, rule, out)
    elif pw.method in ("min", "max") or win.dtype.kind in "iu":
        _offsets(pw, win, present, rule, out, need)
    else:  # the mode of a float layer
        _area(pw, win, present, rule, out)
    return out


def _nearest(pw, win, present, rule, out: Resampled, masks: bool = True) -> None:
    if not masks:  # one gather through a dense index; the extra last element is nodata
        ext = np.empty(win.size + 1, win.dtype)
        ext[:-1].reshape(win.shape)[...] = win  # one copy, strided window or not
        ext[-1] = out.values[0] if out.values.size else 0
        if present is not None:
            ext[:-1][~present.ravel()] = ext[-1]
        out.values = np.take(ext, dense_index(pw, win.size))
        return
    src, dst = pw.arrays["src"], pw.dst_index
    if present is not None:
        keep = present.ravel()[src]
        src, dst = src[keep], dst[keep]
    vals = np.take(win.ravel(), src)
    out.values[dst] = vals
    out.inside[dst] = True
    out.valid[dst] = rule.mask(vals)


def dense_index(pw, src_size: int) -> np.ndarray:
    """For every pixel of a ``nearest`` window, its flat source index, or ``src_size`` where
    the source does not cover it (kept on the plan window after the first use)."""
    dense = pw.arrays.get("_dense")
    if dense is None or dense.size != pw.dst_shape[0] * pw.dst_shape[1]:
        dense = np.full(pw.dst_shape[0] * pw.dst_shape[1], src_size, dtype=np.int32)
        dense[pw.dst_index] = pw.arrays["src"]
        pw.arrays["_dense"] = dense
    return dense


def _bilinear(pw, win, present, rule, out: Resampled) -> None:
    """GDAL's 4-sample bilinear with a validity mask (``GWKBilinearResample4Sample``).

    The weights of the valid neighbours among the 2×2 are summed in GDAL's order (upper-left,
    upper-right, lower-left, lower-right); the value is their weighted sum, divided by the sum
    of weights unless that is exactly 1, and there is none where that sum is below 1e-5.  A
    pixel of an integer layer without one keeps the code of the neighbour nearest to the point
    (the ``nearest`` pixel) when it exists, so fill classes survive as in the area methods.
    """
    a = pw.arrays
    h, w = win.shape
    n = len(pw.dst_index)
    num, den = np.zeros(n), np.zeros(n)
    any_in = np.zeros(n, bool)
    wx, wy = a["wx"], a["wy"]
    taps = {}
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        r, c = a["row"] + dy, a["col"] + dx
        inb = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        r, c = np.where(inb, r, 0), np.where(inb, c, 0)
        if present is not None:
            inb &= present[r, c]
        vals = win[r, c]
        ok = inb & rule.mask(vals)
        wgt = (wx if dx == 0 else 1.0 - wx) * (wy if dy == 0 else 1.0 - wy)
        num += np.where(ok, vals.astype("float64") * wgt, 0.0)
        den += np.where(ok, wgt, 0.0)
        any_in |= inb
        taps[dy, dx] = (vals, inb)
    good = den >= _MIN_WEIGHT
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.where(den == 1.0, num, num / np.where(good, den, 1.0))
    out.values[pw.dst_index[good]] = to_dtype(res[good], win.dtype)
    out.valid[pw.dst_index[good]] = True
    out.inside[pw.dst_index[any_in]] = True
    lost = any_in & ~good
    if win.dtype.kind != "f" and lost.any():  # the nearest pixel's (fill) code
        ny, nx = (wy[lost] <= 0.5).astype(int), (wx[lost] <= 0.5).astype(int)
        code = np.zeros(int(lost.sum()), win.dtype)
        has = np.zeros(code.size, bool)
        for (dy, dx), (vals, inb) in taps.items():
            sel = (ny == dy) & (nx == dx) & inb[lost]
            code[sel], has[sel] = vals[lost][sel], True
        out.values[pw.dst_index[lost][has]] = code[has]


_MIN_WEIGHT = 1e-5
"""GDAL's bilinear: no value where the valid neighbours' weights sum to less than this."""


_ENTRIES_BYTES = 256 * 2**20
_entries_memory: OrderedDict[int, tuple] = OrderedDict()
_entries_lock = threading.Lock()
_entries_used = [0]


def clear_entries_memory() -> None:
    """Forget every expanded plan window (see :func:`modisoft.warp.plan.clear_plan_memory`)."""
    with _entries_lock:
        _entries_memory.clear()
        _entries_used[0] = 0


def _entries(pw) -> tuple[np.ndarray, ...]:
    """:func:`_expand_entries` of a plan window, remembered per window (bounded LRU, per
    process): every date and layer of a mosaic applies the same window."""
    key = id(pw)
    with _entries_lock:
        hit = _entries_memory.get(key)
        if hit is not None and hit[0] is pw:
            _entries_memory.move_to_end(key)
            return hit[1]
    k, pos, row, col, wgt = _expand_entries(pw)
    small = np.int32 if pw.src_box[1] - pw.src_box[0] < 2**31 else np.int64
    ent = (k.astype(np.int32), pos.astype(np.int32), row.astype(small), col.astype(small), wgt)
    for a in ent:
        a.flags.writeable = False
    size = sum(a.nbytes for a in ent)
    if size <= _ENTRIES_BYTES // 4:
        with _entries_lock:
            old = _entries_memory.pop(key, None)
            if old is not None:
                _entries_used[0] -= old[2]
            _entries_memory[key] = (pw, ent, size)
            _entries_used[0] += size
            while _entries_used[0] > _ENTRIES_BYTES and _entries_memory:
                _, (_, _, sz) = _entries_memory.popitem(last=False)
                _entries_used[0] -= sz
    return ent


def _expand_entries(pw, subset: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Expand a window of source boxes into (dst pixel k, scan position, row, col, weight);
    with ``subset`` (indices of destination pixels) only those, ``k`` indexing ``subset``."""
    a = pw.arrays
    if subset is not None:
        a = {n: a[n][subset] for n in ("r0", "r1", "c0", "c1", "y0", "y1", "x0", "x1")}
    nx, ny = a["c1"] - a["c0"], a["r1"] - a["r0"]
    cnt = (nx * ny).astype(np.int64)
    k = np.repeat(np.arange(len(cnt)), cnt)
    pos = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    nxk = nx[k]
    dr, dc = pos // nxk, pos % nxk
    row, col = a["r0"][k] + dr, a["c0"][k] + dc
    wy = _edge_weight(dr, ny[k], a["y0"][k], a["y1"][k], a["r0"][k], a["r1"][k])
    wx = _edge_weight(dc, nxk, a["x0"][k], a["x1"][k], a["c0"][k], a["c1"][k])
    return k, pos, row, col, wy * wx


JIT = True
"""Whether the area methods run the numba kernels of :mod:`modisoft.warp.area_jit` (identical
to the bit to the numpy forms ``_average_np``, ``_offset_mode_np`` and ``_offset_any``'s own,
which ``JIT = False`` selects and the tests hold them to)."""


def _average(pw, win, present, rule, out: Resampled) -> None:
    """Area-weighted average: :func:`_average_np`'s result, one compiled loop per destination
    pixel over its source box (:func:`modisoft.warp.area_jit.average_sums`)."""
    if not JIT:
        return _average_np(pw, win, present, rule, out)
    from modisoft.warp.area_jit import average_sums

    a = pw.arrays
    okf = rule.mask(win)
    if present is not None:
        okf &= present
    pres = np.zeros((0, 0), bool) if present is None else present
    num, den, anyok, inside = average_sums(win, okf, pres, a["r0"], a["r1"], a["c0"],
                                           a["c1"], a["y0"], a["y1"], a["x0"], a["x1"])
    has = anyok & (den > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = to_dtype(np.where(has, num / np.where(has, den, 1.0), 0.0), win.dtype)
    r0, c0 = a["r0"].astype(np.intp), a["c0"].astype(np.intp)
    ny, nx = a["r1"] - a["r0"], a["c1"] - a["c0"]
    _place(pw, out, has, res, inside, (win, okf, present, r0, c0, ny, nx, win.shape[1]))
    return None


def _average_np(pw, win, present, rule, out: Resampled) -> None:
    """Area-weighted average without expanding every (pixel, source pixel) entry: one pass per
    offset (dy, dx) inside the source boxes, vectorised over the destination pixels.  Each
    pixel's sums accumulate in the same order as the entry form (row-major scan), so the
    result is bit-identical to it.  Pixels that see only invalid codes keep their mode
    (:func:`_offset_mode`)."""
    a = pw.arrays
    r0, c0 = a["r0"].astype(np.intp), a["c0"].astype(np.intp)
    ny, nx = a["r1"] - a["r0"], a["c1"] - a["c0"]
    m = len(pw.dst_index)
    okf = rule.mask(win)
    if present is not None:
        okf = okf & present
    okf, winf = okf.ravel(), win.ravel()
    if winf.dtype.kind == "f":  # a weight of 0 must not meet a NaN
        winf = np.where(okf, winf, 0)
    pres = None if present is None else present.ravel()
    width, last = win.shape[1], winf.size - 1
    num, den = np.zeros(m), np.zeros(m)
    anyok = np.zeros(m, bool)
    inside = (ny > 0) & (nx > 0) if pres is None else np.zeros(m, bool)
    hy, hx = (int(ny.max()), int(nx.max())) if m else (0, 0)
    wys = _edge_weights(hy, ny, a["y0"], a["y1"], a["r0"], a["r1"])
    wxs = _edge_weights(hx, nx, a["x0"], a["x1"], a["c0"], a["c1"])
    for dy in range(hy):
        rowy = ny > dy
        base = (r0 + dy) * width + c0
        for dx in range(hx):
            # dense over all pixels: an entry outside a pixel's box gets weight 0, and x + 0.0
            # is x, so the sums are those of the entries alone
            sel = rowy & (nx > dx)
            flat = np.minimum(base + dx, last)
            ok = np.take(okf, flat) & sel
            if pres is not None:
                inside |= np.take(pres, flat) & sel
            wk = wys[dy] * wxs[dx] * ok
            num += wk * np.take(winf, flat)
            den += wk
            anyok |= ok
    has = anyok & (den > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = to_dtype(np.where(has, num / np.where(has, den, 1.0), 0.0), win.dtype)
    _place(pw, out, has, res, inside, (winf, okf, pres, r0, c0, ny, nx, width))


def _place(pw, out: Resampled, has, res, inside, box) -> None:
    """Write per-pixel results into ``out``; pixels inside the source that have no valid
    value keep the most frequent of their invalid codes (integer layers: fill classes)."""
    winf, okf, pres, r0, c0, ny, nx, width = box  # the window and masks, 2-D or flat
    dst = pw.dst_index
    if JIT:
        from modisoft.warp.area_jit import place

        need = place(dst, has, res, inside, out.values, out.valid, out.inside)
    else:
        out.values[dst[has]] = res[has]
        out.valid[dst[has]] = True
        out.inside[dst[inside]] = True
        need = np.flatnonzero(inside & ~has)
    if winf.dtype.kind != "f" and need.size:
        bad = ~okf if pres is None else ~okf & pres
        winf, bad = np.ravel(winf), np.ravel(bad)
        got, code = _offset_mode(winf, bad, need, r0, c0, ny, nx, width)
        out.values[dst[need[got]]] = code[got]


_MODE_CELLS = 2**21
"""Cells of a mode's count table per batch of pixels (pixels × distinct codes), about 25 MB:
a uint8 QA layer can show a hundred codes in one output chunk."""


def _offset_mode(winf, counted, sub, r0, c0, ny, nx, width
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_offset_mode_np`, compiled (:func:`modisoft.warp.area_jit.offset_mode`)."""
    if not JIT:
        return _offset_mode_np(winf, counted, sub, r0, c0, ny, nx, width)
    from modisoft.warp.area_jit import offset_mode

    return offset_mode(winf, counted, np.asarray(sub, np.intp), r0, c0, ny, nx, width,
                       np.iinfo(winf.dtype).max)


def _offset_mode_np(winf, counted, sub, r0, c0, ny, nx, width
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per destination pixel ``sub``: the most frequent code among its ``counted`` source
    pixels (the valid ones, or the invalid ones for a fill class),
    ties to the code whose last occurrence comes first in scan order (which is the code that
    reached the winning count first: GDAL's integer mode, as :func:`mode_reduce`).
    Returns (pixels that have a counted source pixel, their code).

    Most such pixels see one code only (all water, all cloud-masked): a min/max pass settles
    them, and only pixels with mixed codes are counted."""
    r0, c0, ny, nx = r0[sub], c0[sub], ny[sub], nx[sub]
    ms, last = sub.size, winf.size - 1
    info = np.iinfo(winf.dtype)
    lo, hi = np.full(ms, info.max, winf.dtype), np.full(ms, info.min, winf.dtype)
    got = np.zeros(ms, bool)
    offsets = [(dy, dx) for dy in range(int(ny.max())) for dx in range(int(nx.max()))]
    for dy, dx in offsets:
        flat = np.minimum((r0 + dy) * width + c0 + dx, last)
        e = np.take(counted, flat) & (ny > dy) & (nx > dx)
        v = np.take(winf, flat)
        np.minimum(lo, np.where(e, v, info.max), out=lo)
        np.maximum(hi, np.where(e, v, info.min), out=hi)
        got |= e
    mixed = np.flatnonzero(got & (lo != hi))
    if mixed.size == 0:
        return got, lo
    r0, c0, ny, nx = r0[mixed], c0[mixed], ny[mixed], nx[mixed]
    codes = np.unique(np.concatenate([lo[mixed], hi[mixed]]))
    flats = []
    for dy, dx in offsets:  # the codes seen by the mixed pixels (between their min and max)
        flat = np.minimum((r0 + dy) * width + c0 + dx, last)
        e = np.take(counted, flat) & (ny > dy) & (nx > dx)
        flats.append((flat, e))
        codes = np.union1d(codes, np.take(winf, flat)[e])
    u, mm = codes.size, mixed.size
    cols = [np.where(e, np.minimum(np.searchsorted(codes, np.take(winf, flat)), u - 1), u)
            for flat, e in flats]  # per offset, each pixel's code column (u: not counted)
    del flats
    step = max(1, _MODE_CELLS // (u + 1))  # pixels per batch: the count table stays small
    for b0 in range(0, mm, step):
        b = slice(b0, min(b0 + step, mm))
        nb = b.stop - b.start
        count = np.zeros(nb * (u + 1), np.int32)
        seen = np.zeros(nb * (u + 1), np.int64)
        row0 = np.arange(nb, dtype=np.intp) * (u + 1)
        for (dy, dx), col in zip(offsets, cols, strict=True):
            j = row0 + col[b]  # column u collects the rest
            count[j] += 1
            seen[j] = dy * nx[b] + dx  # scan position inside the pixel's box
        count = count.reshape(nb, u + 1)[:, :u]
        seen = seen.reshape(nb, u + 1)[:, :u]
        top = count.max(axis=1)
        key = np.where(count == top[:, None], seen, np.iinfo(np.int64).max)
        lo[mixed[b]] = codes[np.argmin(key, axis=1)]
    return got, lo


def _edge_weights(n_max: int, n, lo, hi, i0, i1) -> list[np.ndarray]:
    """:func:`_edge_weight` for d = 0 … n_max - 1, each over all pixels."""
    first, final = 1.0 - (lo - i0), 1.0 - (i1 - hi)
    out = [np.where(n > 1, first, 1.0)] if n_max else []
    out += [np.where(n - 1 == d, final, 1.0) for d in range(1, n_max)]
    return out


def _edge_weight(d, n, lo, hi, i0, i1) -> np.ndarray:
    """GDAL's weight of the ``d``-th of ``n`` source pixels along one axis (1 inside)."""
    w = np.ones(d.shape)
    first, last = (d == 0) & (n > 1), (d == n - 1) & (n > 1)
    w = np.where(first, 1.0 - (lo - i0), w)
    return np.where(last, 1.0 - (i1 - hi), w)


def _offsets(pw, win, present, rule, out: Resampled, need: np.ndarray | None = None) -> None:
    """``min``, ``max`` or (integer layers) ``mode`` of the valid source pixels in each
    destination pixel's box, one pass per offset (dy, dx) inside the boxes, vectorised over
    the destination pixels: the same result as the entry form (:func:`_area`) without
    expanding every (pixel, source pixel) pair, which at a 2:1 ratio holds about nine entries
    of 24 bytes per destination pixel.  Pixels that see only invalid codes keep their mode.
    With ``need``, ``mode`` computes only those pixels (the others stay outside)."""
    a = pw.arrays
    r0, c0 = a["r0"].astype(np.intp), a["c0"].astype(np.intp)
    ny, nx = a["r1"] - a["r0"], a["c1"] - a["c0"]
    m = len(pw.dst_index)
    if m == 0:
        return
    okf = rule.mask(win)
    if present is not None:
        okf = okf & present
    okf, winf = okf.ravel(), win.ravel()
    pres = None if present is None else present.ravel()
    width = win.shape[1]
    if pw.method == "mode":
        sub = np.arange(m) if need is None else np.flatnonzero(need)
        got, code = (_offset_mode(winf, okf, sub, r0, c0, ny, nx, width) if sub.size
                     else (np.zeros(0, bool), np.zeros(0, winf.dtype)))
        inside = _offset_any(pres, r0, c0, ny, nx, width)
        if need is None:
            has, res = got, code
        else:
            has, res = np.zeros(m, bool), np.zeros(m, winf.dtype)
            has[sub], res[sub] = got, code
            inside &= need
    else:
        has, res, inside = _offset_extreme(pw.method, winf, okf, pres, r0, c0, ny, nx, width)
    _place(pw, out, has, res, inside, (winf, okf, pres, r0, c0, ny, nx, width))


def _offset_any(flagf, r0, c0, ny, nx, width) -> np.ndarray:
    """Per destination pixel: whether any source pixel of its box is set in ``flagf``
    (``None``: all are set, so any non-empty box)."""
    if flagf is None:
        return (ny > 0) & (nx > 0)
    if JIT:
        from modisoft.warp.area_jit import offset_any

        return offset_any(flagf, r0, c0, ny, nx, width)
    got, last = np.zeros(len(r0), bool), flagf.size - 1
    for dy in range(int(ny.max())):
        for dx in range(int(nx.max())):
            flat = np.minimum((r0 + dy) * width + c0 + dx, last)
            got |= np.take(flagf, flat) & (ny > dy) & (nx > dx)
    return got


def _offset_extreme(method, winf, okf, pres, r0, c0, ny, nx, width):
    """Per destination pixel: (has a valid source pixel, the min or max of them, inside)."""
    m, last = len(r0), winf.size - 1
    if winf.dtype.kind == "f":
        init = np.inf if method == "min" else -np.inf
    else:
        info = np.iinfo(winf.dtype)
        init = info.max if method == "min" else info.min
    red = np.minimum if method == "min" else np.maximum
    res = np.full(m, init, winf.dtype)
    has = np.zeros(m, bool)
    inside = (ny > 0) & (nx > 0) if pres is None else np.zeros(m, bool)
    for dy in range(int(ny.max())):
        for dx in range(int(nx.max())):
            flat = np.minimum((r0 + dy) * width + c0 + dx, last)
            sel = (ny > dy) & (nx > dx)
            ok = np.take(okf, flat) & sel
            red(res, np.where(ok, np.take(winf, flat), init), out=res)
            has |= ok
            if pres is not None:
                inside |= np.take(pres, flat) & sel
    return has, res, inside


def _area(pw, win, present, rule, out: Resampled) -> None:
    """The mode of a float (or boolean) layer in entry form: every (destination pixel, source pixel)
    pair expanded (:func:`_expand_entries`), reduced per pixel (:func:`_offsets` does
    integer modes, min and max without the expansion)."""
    k, pos, row, col, wgt = _entries(pw)
    if present is not None:
        keep = present[row, col]
        k, pos, row, col, wgt = k[keep], pos[keep], row[keep], col[keep], wgt[keep]
    vals = win[row, col]
    ok = rule.mask(vals)
    m = len(pw.dst_index)
    inside = np.bincount(k, minlength=m) > 0
    has = np.bincount(k[ok], minlength=m) > 0
    res = np.zeros(m, win.dtype)
    idx, best = mode_reduce(k[ok], pos[ok], vals[ok])
    res[idx] = best
    dst = pw.dst_index
    out.values[dst[has]] = res[has]
    out.valid[dst[has]] = True
    out.inside[dst[inside]] = True
    if win.dtype.kind != "f" and (inside & ~has).any():
        bad = ~ok & ~has[k]  # pixels seeing only invalid codes keep the most frequent one
        idx, best = mode_reduce(dst[k[bad]], pos[bad], vals[bad])
        out.values[idx] = best


def mode_reduce(k: np.ndarray, pos: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group ``k``: the most frequent value; ties go to the value that reached the winning
    count first in scan order ``pos`` (GDAL's integer mode).  Returns (groups, values)."""
    if k.size == 0:
        return k, v
    order = _lexsort3(pos, v, k)
    ks, vs, ps = k[order], v[order], pos[order]
    start = np.flatnonzero(np.r_[True, (ks[1:] != ks[:-1]) | (vs[1:] != vs[:-1])])
    count = np.diff(np.r_[start, len(ks)])
    last = ps[np.r_[start[1:], len(ks)] - 1]  # pos sorted within a group: its last occurrence
    gk, gv = ks[start], vs[start]
    pick = np.lexsort((last, -count, gk))
    first = pick[np.r_[True, gk[pick][1:] != gk[pick][:-1]]]
    return gk[first], gv[first]


def _lexsort3(pos: np.ndarray, v: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``np.lexsort((pos, v, k))`` for integer keys: one stable argsort of a combined int64
    key when the three ranges fit in it (same order), else ``np.lexsort``."""
    if all(a.dtype.kind in "iub" for a in (pos, v, k)):
        spans = []
        for a in (pos, v, k):
            lo, hi = int(a.min()), int(a.max())
            spans.append((lo, hi - lo + 1))
        (p0, np_), (v0, nv), (k0, _nk) = spans
        if np_ * nv * _nk < 2**62:
            key = k.astype(np.int64) - k0
            key *= nv
            key += v.astype(np.int64) - v0
            key *= np_
            key += pos.astype(np.int64) - p0
            return np.argsort(key, kind="stable")
    return np.lexsort((pos, v, k))


def fuse(parts: list[Resampled], rule: str, nodata, dtype: np.dtype) -> np.ndarray:
    """Combine sources per pixel: ``first``/``last`` valid value, ``min``/``max``/``mean`` of
    the valid values, or ``count`` of valid sources (uint16).  Pixels without a valid value take
    the code (a fill class) of the first source that has one there, else ``nodata``."""
    n = parts[0].values.size if parts else 0
    if len(parts) == 1 and rule != "count":  # values are already nodata outside the source
        return parts[0].values.astype(dtype, copy=False)
    if rule == "count":
        return np.sum([p.valid for p in parts], axis=0, dtype=np.uint16).reshape(n)
    out = np.full(n, nodata, dtype=dtype)
    covered = np.zeros(n, bool)
    for p in parts:  # fill-class codes of the first source with one (not nodata)
        take = p.inside & ~covered & _not_nodata(p.values, nodata)
        out[take] = p.values[take]
        covered |= take
    if len(parts) == 1:
        return out
    valid = np.zeros(n, bool)
    if rule in ("first", "last"):
        for p in parts if rule == "first" else parts[::-1]:
            take = p.valid & ~valid
            out[take] = p.values[take]
            valid |= take
        return out
    stack = np.stack([p.values for p in parts])
    ok = np.stack([p.valid for p in parts])
    anyok = ok.any(axis=0)
    if rule == "mean":
        total = np.where(ok, stack.astype("float64"), 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            res = to_dtype(total / np.maximum(ok.sum(axis=0), 1), dtype)
    else:
        fill = _extreme(stack.dtype, rule)
        masked = np.where(ok, stack, fill)
        res = masked.min(axis=0) if rule == "min" else masked.max(axis=0)
    out[anyok] = res[anyok]
    return out


def _not_nodata(values: np.ndarray, nodata) -> np.ndarray:
    if isinstance(nodata, float) and np.isnan(nodata):
        return ~np.isnan(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    return values != nodata


def _extreme(dtype: np.dtype, rule: str):
    if dtype.kind == "f":
        return np.inf if rule == "min" else -np.inf
    info = np.iinfo(dtype)
    return info.max if rule == "min" else info.min
