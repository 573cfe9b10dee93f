"""Numba kernels behind the area methods of :mod:`modisoft.warp.kernels`: one loop per
destination pixel over its source box, instead of one vectorised numpy pass per offset
``(dy, dx)`` over every pixel (which gathers the window ``hy × hx`` times, at about three
``take``\\ s per offset).

The results are identical to the bit to the numpy forms (``kernels._average_np``,
``kernels._offset_mode_np``), which stay as the reference the tests hold these kernels to:

* :func:`average_sums` adds each valid source pixel's ``wy * wx * value`` and ``wy * wx`` in
  row-major scan order of the pixel's box, exactly the order of the numpy form (which also
  adds ``+0.0`` for the invalid ones: a no-op, since the sums start at ``+0.0``); the edge
  weights are GDAL's, ``1 - (y0 - r0)`` for the first row and ``1 - (r1 - y1)`` for the last
  (likewise for columns), 1 inside;
* :func:`offset_mode` counts the codes of a pixel's box in a small scratch table: the most
  frequent wins, ties go to the code whose last occurrence comes first in scan order (GDAL's
  integer mode).

Arithmetic is float64 with ``fastmath=False`` (no reassociation, no contraction into FMAs).
``cache=True`` keeps the machine code between processes, ``nogil=True`` lets dask threads run
them side by side. :mod:`numba` is imported only when an area method first runs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["average_sums", "offset_any", "offset_mode", "place"]

_J = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)


@njit(**_J)
def _edge(d, n, lo, hi, i0, i1):
    """GDAL's weight of the ``d``-th of ``n`` source pixels along one axis (as
    ``kernels._edge_weights``)."""
    if d == 0:
        if n > 1:
            return 1.0 - (lo - i0)
        return 1.0
    if n - 1 == d:
        return 1.0 - (i1 - hi)
    return 1.0


@njit(**_J)
def average_sums(win, ok, pres, r0, r1, c0, c1, y0, y1, x0, x1):
    """Per destination pixel: ``(num, den, anyok, inside)`` of the area-weighted average.

    Parameters
    ----------
    win, ok
        The source window (2-D, strided or not: read in place) and where it holds a valid
        value (present, not a fill).
    pres
        The mask of source pixels that exist, or an empty ``(0, 0)`` array: all exist.
    r0, r1, c0, c1, y0, y1, x0, x1
        The plan window's boxes and their fractional edges (``PlanWindow.arrays``).
    """
    m = r0.shape[0]
    num = np.zeros(m)
    den = np.zeros(m)
    anyok = np.zeros(m, np.bool_)
    inside = np.zeros(m, np.bool_)
    has_pres = pres.shape[0] > 0
    for i in range(m):
        ny = r1[i] - r0[i]
        nx = c1[i] - c0[i]
        fr0 = np.float64(r0[i])
        fr1 = np.float64(r1[i])
        fc0 = np.float64(c0[i])
        fc1 = np.float64(c1[i])
        s = 0.0
        t = 0.0
        got = False
        ins = (ny > 0) and (nx > 0) and not has_pres
        for dy in range(ny):
            wy = _edge(dy, ny, y0[i], y1[i], fr0, fr1)
            r = r0[i] + dy
            for dx in range(nx):
                c = c0[i] + dx
                if has_pres and pres[r, c]:
                    ins = True
                if ok[r, c]:
                    wk = wy * _edge(dx, nx, x0[i], x1[i], fc0, fc1)
                    s += wk * np.float64(win[r, c])
                    t += wk
                    got = True
        num[i] = s
        den[i] = t
        anyok[i] = got
        inside[i] = ins
    return num, den, anyok, inside


@njit(**_J)
def place(dst, has, res, inside, values, valid, ins):
    """Write a window's results into its output chunk (``kernels._place``): ``values`` and
    ``valid`` at ``dst[has]``, ``ins`` at ``dst[inside]``; returns the positions inside the
    source without a value (ascending), whose fill class the caller settles."""
    n = 0
    for i in range(dst.shape[0]):
        d = dst[i]
        if has[i]:
            values[d] = res[i]
            valid[d] = True
        if inside[i]:
            ins[d] = True
            if not has[i]:
                n += 1
    need = np.empty(n, np.intp)
    j = 0
    for i in range(dst.shape[0]):
        if inside[i] and not has[i]:
            need[j] = i
            j += 1
    return need


@njit(**_J)
def offset_mode(winf, counted, sub, r0, c0, ny, nx, width, init):
    """Per destination pixel ``sub``: (whether any source pixel of its box is ``counted``,
    the most frequent counted code, ties to the one whose last occurrence comes first in
    scan order; ``init`` where none is counted)."""
    ms = sub.shape[0]
    got = np.zeros(ms, np.bool_)
    code = np.full(ms, init, winf.dtype)
    cap = 1
    for j in range(ms):
        k = sub[j]
        cap = max(cap, ny[k] * nx[k])
    codes = np.empty(cap, winf.dtype)
    count = np.zeros(cap, np.int64)
    last = np.zeros(cap, np.int64)
    for j in range(ms):
        k = sub[j]
        u = 0
        for dy in range(ny[k]):
            base = (r0[k] + dy) * width + c0[k]
            for dx in range(nx[k]):
                flat = base + dx
                if not counted[flat]:
                    continue
                v = winf[flat]
                q = 0
                while q < u and codes[q] != v:
                    q += 1
                if q == u:
                    codes[u] = v
                    count[u] = 0
                    u += 1
                count[q] += 1
                last[q] = dy * nx[k] + dx
        if u == 0:
            continue
        best = 0
        for q in range(1, u):
            if count[q] > count[best] or (count[q] == count[best] and last[q] < last[best]):
                best = q
        got[j] = True
        code[j] = codes[best]
    return got, code


@njit(**_J)
def offset_any(flagf, r0, c0, ny, nx, width):
    """Per destination pixel: whether any source pixel of its box is set in ``flagf``."""
    m = r0.shape[0]
    out = np.zeros(m, np.bool_)
    for i in range(m):
        for dy in range(ny[i]):
            base = (r0[i] + dy) * width + c0[i]
            for dx in range(nx[i]):
                if flagf[base + dx]:
                    out[i] = True
                    break
            if out[i]:
                break
    return out
