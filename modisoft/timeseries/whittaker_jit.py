"""Numba kernels behind :mod:`modisoft.timeseries.whittaker`: the Whittaker smoother, its
V-curve λ search and the asymmetric (expectile) variant, a few µs per 46-date series.

Layout.  Series are processed in lanes of :data:`LANES` (16): each block of 16 series is
copied into small time-major arrays ``(t, 16)`` and every step of the recursions loops over
the 16 lanes innermost, which LLVM vectorises.  Per λ the symmetric pentadiagonal
``W + λDᵀD`` is factorised as ``L D Lᵀ`` (unit lower ``L`` with two sub-diagonals ``e``, ``f``;
one division per row, no square root) and solved by forward and back substitution.  The
V-curve terms ``Σ (w (y − z))²`` and ``Σ (Δ²z)²`` are accumulated during the back substitution
(row ``i`` needs only ``z[i..i+2]``, already known there), so no extra pass is made.  The λ rule
is the one of the earlier numpy code and of modape / vam-whittaker: midpoint of the grid step
with the smallest ``√(Δf² + Δp²) / Δlog10λ`` (non-finite → ∞, first minimum).  The asymmetric
loop runs inside the kernel with the stopping rule of the numpy version: stop when the weights
no longer change, at most 10 re-weightings.

Degenerate series.  A series with fewer than two positive weights has a singular system
(``DᵀD`` does not penalise straight lines); its output is all NaN and its λ NaN.  Callers set
the weight of non-finite values to 0 beforehand.

Arithmetic is float64 with ``fastmath=False`` (IEEE semantics, no reassociation).

Compilation.  The first call in a fresh environment compiles the kernels (a few seconds,
``benchmarks/smooth_vs_vam.py`` prints the figure); ``cache=True`` stores the machine code
next to this file in ``__pycache__`` and later processes load it in well under a second.  If
the package directory is read-only, numba falls back to its user cache (``~/.cache/numba``,
or ``NUMBA_CACHE_DIR`` when set).  :mod:`numba` is imported only when a smoother is first
called (``whittaker.py`` imports this module lazily), so ``import modisoft`` stays light.

Threads.  Blocks of lanes run in parallel (``prange``, numba's threading layer, at most
``numba.get_num_threads()``) only when the call comes from the main thread; calls from other
threads (dask workers, which already run blocks side by side) use the serial kernel, which
also keeps numba's ``workqueue`` layer away from concurrent launches.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import get_num_threads, njit, prange

__all__ = ["LANES", "smooth_fixed", "smooth_vcurve"]

LANES = 16
"""Series per lane block (the inner, vectorised loop)."""

MAX_REWEIGHT = 10
"""Re-weightings of the asymmetric variant at most (as ``whittaker._asym_fit`` had)."""

_PARALLEL_MIN = 8 * LANES
"""Fewer series than this are not worth waking the thread pool for."""


@njit(cache=True, fastmath=False)
def _load(y, w, ca, cb, cc, r0, m, yl, wl, cal, cbl, ccl, ok):
    """Copy rows ``r0 .. r0+m-1`` into the lanes; pad with row ``r0``.  A lane with fewer than
    two positive weights is replaced by a harmless dummy (y = 0, w = 1) and marked not ok."""
    t = y.shape[1]
    for j in range(LANES):
        r = r0 + j if j < m else r0
        rs = 0 if ca.shape[0] == 1 else r
        npos = 0
        for i in range(t):
            if w[r, i] > 0.0:
                npos += 1
        ok[j] = npos >= 2
        for i in range(t):
            if ok[j]:
                yl[i, j] = y[r, i]
                wl[i, j] = w[r, i]
            else:
                yl[i, j] = 0.0
                wl[i, j] = 1.0
        for i in range(t - 2):
            cal[i, j] = ca[rs, i]
            cbl[i, j] = cb[rs, i]
            ccl[i, j] = cc[rs, i]


@njit(cache=True, fastmath=False)
def _bands(cal, cbl, ccl, d0, d1, d2):
    """Bands of ``DᵀD``: diagonal ``d0 (t)``, first ``d1 (t-1)`` and second ``d2 (t-2)``."""
    t = d0.shape[0]
    for i in range(t):
        for j in range(LANES):
            d0[i, j] = 0.0
    for i in range(t - 1):
        for j in range(LANES):
            d1[i, j] = 0.0
    for i in range(t - 2):
        for j in range(LANES):
            a, b, c = cal[i, j], cbl[i, j], ccl[i, j]
            d0[i, j] += a * a
            d0[i + 1, j] += b * b
            d0[i + 2, j] += c * c
            d1[i, j] += a * b
            d1[i + 1, j] += b * c
            d2[i, j] = a * c


@njit(cache=True, fastmath=False)
def _solve(yl, wl, lam, d0, d1, d2, cal, cbl, ccl, e, f, dinv, z, fit, pen):
    """``(W + λDᵀD) z = W y`` per lane (LDLᵀ), with the V-curve sums ``fit = Σ (w (y − z))²``
    and ``pen = Σ (Δ²z)²`` taken during the back substitution."""
    t = yl.shape[0]
    for i in range(t):  # factorisation and forward substitution, u stored in z
        for j in range(LANES):
            lj = lam[j]
            wij = wl[i, j]
            d = wij + lj * d0[i, j]
            u = wij * yl[i, j]
            if i >= 2:
                a2 = lj * d2[i - 2, j]
                fi = a2 * dinv[i - 2, j]
                g = lj * d1[i - 1, j] - a2 * e[i - 1, j]
                ei = g * dinv[i - 1, j]
                d = d - ei * g - fi * a2
                u = u - ei * z[i - 1, j] - fi * z[i - 2, j]
                e[i, j] = ei
                f[i, j] = fi
            elif i == 1:
                g = lj * d1[0, j]
                ei = g * dinv[0, j]
                d = d - ei * g
                u = u - ei * z[0, j]
                e[1, j] = ei
            dinv[i, j] = 1.0 / d
            z[i, j] = u
    for j in range(LANES):
        fit[j] = 0.0
        pen[j] = 0.0
    for i in range(t - 1, -1, -1):  # back substitution
        for j in range(LANES):
            zi = z[i, j] * dinv[i, j]
            if i + 2 < t:
                zi = zi - e[i + 1, j] * z[i + 1, j] - f[i + 2, j] * z[i + 2, j]
                dz = cal[i, j] * zi + cbl[i, j] * z[i + 1, j] + ccl[i, j] * z[i + 2, j]
                pen[j] += dz * dz
            elif i + 1 < t:
                zi = zi - e[i + 1, j] * z[i + 1, j]
            z[i, j] = zi
            r = wl[i, j] * (yl[i, j] - zi)
            fit[j] += r * r


@njit(cache=True, fastmath=False)
def _fit(yl, wl, ww, lam, p, asym, d0, d1, d2, cal, cbl, ccl, e, f, dinv, z, fit, pen):
    """One fit per lane at ``lam``; asymmetric: re-weight ``ww`` until it stops changing."""
    t = yl.shape[0]
    for i in range(t):
        for j in range(LANES):
            ww[i, j] = wl[i, j]
    _solve(yl, ww, lam, d0, d1, d2, cal, cbl, ccl, e, f, dinv, z, fit, pen)
    if not asym:
        return
    for _ in range(MAX_REWEIGHT):
        changed = False
        for i in range(t):
            for j in range(LANES):
                new = wl[i, j] * p if yl[i, j] > z[i, j] else wl[i, j] * (1.0 - p)
                if new != ww[i, j]:
                    changed = True
                ww[i, j] = new
        if not changed:
            return
        _solve(yl, ww, lam, d0, d1, d2, cal, cbl, ccl, e, f, dinv, z, fit, pen)


@njit(cache=True, fastmath=False)
def _store(z, ok, r0, m, out):
    t = z.shape[0]
    for j in range(m):
        for i in range(t):
            out[r0 + j, i] = z[i, j] if ok[j] else np.nan


@njit(cache=True, fastmath=False)
def _lanes(rows):
    return np.zeros((max(rows, 0), LANES))


@njit(cache=True, fastmath=False)
def _fixed_block(b, y, w, ca, cb, cc, lam, p, asym, out):
    n, t = y.shape
    r0 = b * LANES
    m = min(LANES, n - r0)
    yl, wl, ww, z = _lanes(t), _lanes(t), _lanes(t), _lanes(t)
    cal, cbl, ccl, d2 = _lanes(t - 2), _lanes(t - 2), _lanes(t - 2), _lanes(t - 2)
    d0, d1, e, f, dinv = _lanes(t), _lanes(t - 1), _lanes(t), _lanes(t), _lanes(t)
    ok = np.empty(LANES, np.bool_)
    lam_l = np.empty(LANES)
    fit, pen = np.empty(LANES), np.empty(LANES)
    _load(y, w, ca, cb, cc, r0, m, yl, wl, cal, cbl, ccl, ok)
    _bands(cal, cbl, ccl, d0, d1, d2)
    for j in range(LANES):
        lam_l[j] = lam[r0 + j] if j < m else lam[r0]
    _fit(yl, wl, ww, lam_l, p, asym, d0, d1, d2, cal, cbl, ccl, e, f, dinv, z, fit, pen)
    _store(z, ok, r0, m, out)


@njit(cache=True, fastmath=False)
def _vcurve_block(b, y, w, ca, cb, cc, llas, lam_grid, lam_mid, p, asym, out, lam_out):
    n, t = y.shape
    r0 = b * LANES
    m = min(LANES, n - r0)
    nk = llas.shape[0]
    yl, wl, ww, z = _lanes(t), _lanes(t), _lanes(t), _lanes(t)
    cal, cbl, ccl, d2 = _lanes(t - 2), _lanes(t - 2), _lanes(t - 2), _lanes(t - 2)
    d0, d1, e, f, dinv = _lanes(t), _lanes(t - 1), _lanes(t), _lanes(t), _lanes(t)
    ok = np.empty(LANES, np.bool_)
    lam_l = np.empty(LANES)
    fit, pen = np.empty(LANES), np.empty(LANES)
    fits, pens = np.empty((nk, LANES)), np.empty((nk, LANES))
    kbest = np.zeros(LANES, np.int64)
    _load(y, w, ca, cb, cc, r0, m, yl, wl, cal, cbl, ccl, ok)
    _bands(cal, cbl, ccl, d0, d1, d2)
    for k in range(nk):
        for j in range(LANES):
            lam_l[j] = lam_grid[k]
        _fit(yl, wl, ww, lam_l, p, asym, d0, d1, d2, cal, cbl, ccl, e, f, dinv, z, fit, pen)
        for j in range(LANES):
            fits[k, j] = np.log(fit[j])
            pens[k, j] = np.log(pen[j])
    for j in range(LANES):  # V-curve: first minimum of the distance per unit log10 λ
        best = np.inf
        for k in range(nk - 1):
            df = fits[k + 1, j] - fits[k, j]
            dp = pens[k + 1, j] - pens[k, j]
            v = np.sqrt(df * df + dp * dp) / (llas[k + 1] - llas[k])
            if not np.isfinite(v):
                v = np.inf
            if v < best:
                best = v
                kbest[j] = k
        lam_l[j] = lam_mid[kbest[j]]
    _fit(yl, wl, ww, lam_l, p, asym, d0, d1, d2, cal, cbl, ccl, e, f, dinv, z, fit, pen)
    _store(z, ok, r0, m, out)
    for j in range(m):
        lam_out[r0 + j] = lam_l[j] if ok[j] else np.nan


@njit(cache=True, fastmath=False, parallel=True)
def _fixed_par(y, w, ca, cb, cc, lam, p, asym, out):
    for b in prange((y.shape[0] + LANES - 1) // LANES):
        _fixed_block(b, y, w, ca, cb, cc, lam, p, asym, out)


@njit(cache=True, fastmath=False)
def _fixed_ser(y, w, ca, cb, cc, lam, p, asym, out):
    for b in range((y.shape[0] + LANES - 1) // LANES):
        _fixed_block(b, y, w, ca, cb, cc, lam, p, asym, out)


@njit(cache=True, fastmath=False, parallel=True)
def _vcurve_par(y, w, ca, cb, cc, llas, lam_grid, lam_mid, p, asym, out, lam_out):
    for b in prange((y.shape[0] + LANES - 1) // LANES):
        _vcurve_block(b, y, w, ca, cb, cc, llas, lam_grid, lam_mid, p, asym, out, lam_out)


@njit(cache=True, fastmath=False)
def _vcurve_ser(y, w, ca, cb, cc, llas, lam_grid, lam_mid, p, asym, out, lam_out):
    for b in range((y.shape[0] + LANES - 1) // LANES):
        _vcurve_block(b, y, w, ca, cb, cc, llas, lam_grid, lam_mid, p, asym, out, lam_out)


def _parallel(n: int) -> bool:
    return (n >= _PARALLEL_MIN and get_num_threads() > 1
            and threading.current_thread() is threading.main_thread())


def _args(y, w, stencils):
    c = [np.ascontiguousarray(a, "float64") for a in (y, w, *stencils)]
    if c[2].shape[0] not in (1, c[0].shape[0]):
        raise ValueError("stencils need one row or one row per series")
    return c


def smooth_fixed(y: np.ndarray, w: np.ndarray, stencils: tuple[np.ndarray, ...],
                 lam: np.ndarray, p: float | None = None) -> np.ndarray:
    """Whittaker fit of each row of ``y`` ``(n, t)`` at ``lam`` ``(n,)``; ``p``: asymmetric.

    ``w`` must be 0 where ``y`` is not finite; ``stencils`` are ``(cA, cB, cC)`` of shape
    ``(1, t-2)`` (shared) or ``(n, t-2)``.  Rows with fewer than two positive weights are NaN.
    """
    y, w, ca, cb, cc = _args(y, w, stencils)
    lam = np.ascontiguousarray(np.broadcast_to(np.asarray(lam, "float64"), (y.shape[0],)))
    out = np.empty(y.shape)
    run = _fixed_par if _parallel(y.shape[0]) else _fixed_ser
    run(y, w, ca, cb, cc, lam, 0.0 if p is None else float(p), p is not None, out)
    return out


def smooth_vcurve(y: np.ndarray, w: np.ndarray, stencils: tuple[np.ndarray, ...],
                  llas: np.ndarray, p: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """V-curve Whittaker of each row over the log10 λ grid ``llas``: ``(z, lam)``.

    Same conventions as :func:`smooth_fixed`; degenerate rows get NaN values and NaN λ.
    """
    y, w, ca, cb, cc = _args(y, w, stencils)
    llas = np.ascontiguousarray(llas, "float64")
    if llas.ndim != 1 or llas.size < 2:
        raise ValueError("the log10 λ grid needs at least two values")
    lam_grid = np.array([10.0 ** ll for ll in llas])  # as the numpy code: scalar powers
    lam_mid = 10.0 ** ((llas[:-1] + llas[1:]) / 2)
    out = np.empty(y.shape)
    lam = np.empty(y.shape[0])
    run = _vcurve_par if _parallel(y.shape[0]) else _vcurve_ser
    run(y, w, ca, cb, cc, llas, lam_grid, lam_mid, 0.0 if p is None else float(p),
        p is not None, out, lam)
    return out, lam
