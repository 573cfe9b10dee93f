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


# Fields of the per-block scratch array ``s[row, field, lane]``.  One array (rather than one per
# quantity) lets LLVM prove that the lane loops do not alias, so it vectorises them.  Row
# ``i + 2`` holds time step ``i``; two zero rows on each side make the band recursions
# branch-free (zero couplings, zero pivots' inverses and zero solutions in the padding).
Y, W, WW, CA, CB, CC, D0, D1, D2, E, F, DINV, Z, FIT, PEN, LAM = range(16)
NF = 16
NC = 6
"""Coefficient fields CA .. D2, from the ``(m, NC, t)`` array of :func:`_coefficients`."""
PAD = 2

_J = dict(cache=True, fastmath=False, error_model="numpy")


@njit(**_J)
def _load_series(y, w, r0, m, s, ok):
    """Copy rows ``r0 .. r0+m-1`` into the lanes (Y, W and WW); pad with row ``r0``.  A lane
    with fewer than two positive weights gets a harmless dummy (y = 0, w = 1), marked not ok."""
    t = y.shape[1]
    for j in range(LANES):
        r = r0 + j if j < m else r0
        npos = 0
        for i in range(t):
            npos += w[r, i] > 0.0
        ok[j] = npos >= 2
        for i in range(t):
            s[i + PAD, Y, j] = y[r, i] if ok[j] else 0.0
            s[i + PAD, W, j] = w[r, i] if ok[j] else 1.0
            s[i + PAD, WW, j] = s[i + PAD, W, j]


@njit(**_J)
def _load_coef(c, r0, m, s):
    """Copy the stencils and penalty bands of rows ``r0 .. r0+m-1`` of ``c`` into the lanes."""
    t = c.shape[2]
    for j in range(LANES):
        r = r0 + j if j < m else r0
        for k in range(NC):
            for i in range(t):
                s[i + PAD, CA + k, j] = c[r, k, i]


@njit(**_J)
def _solve(s, t):
    """``(W + λDᵀD) z = W y`` per lane (λ in ``s[0, LAM]``, weights WW) by ``L D Lᵀ``, with
    the V-curve sums ``FIT = Σ (w (y − z))²`` and ``PEN = Σ (Δ²z)²`` (running sums from the
    end; totals in row ``PAD``)."""
    for r in range(PAD, t + PAD):  # factorisation and forward substitution (u kept in Z)
        for j in range(LANES):
            lam = s[0, LAM, j]
            a2 = lam * s[r, D2, j]
            fi = a2 * s[r - 2, DINV, j]
            g = lam * s[r, D1, j] - a2 * s[r - 1, E, j]
            ei = g * s[r - 1, DINV, j]
            d = (s[r, WW, j] + lam * s[r, D0, j]) - ei * g - fi * a2
            s[r, Z, j] = s[r, WW, j] * s[r, Y, j] - ei * s[r - 1, Z, j] - fi * s[r - 2, Z, j]
            s[r, E, j] = ei
            s[r, F, j] = fi
            s[r, DINV, j] = 1.0 / d
    for r in range(t + PAD - 1, PAD - 1, -1):  # back substitution
        for j in range(LANES):
            z1 = s[r + 1, Z, j]
            z2 = s[r + 2, Z, j]
            zi = s[r, Z, j] * s[r, DINV, j] - s[r + 1, E, j] * z1 - s[r + 2, F, j] * z2
            dz = s[r, CA, j] * zi + s[r, CB, j] * z1 + s[r, CC, j] * z2
            res = s[r, WW, j] * (s[r, Y, j] - zi)
            s[r, PEN, j] = s[r + 1, PEN, j] + dz * dz
            s[r, FIT, j] = s[r + 1, FIT, j] + res * res
            s[r, Z, j] = zi


@njit(**_J)
def _reweight(s, t, p):
    """Expectile weights from the current fit; True if any weight changed."""
    changed = 0
    for r in range(PAD, t + PAD):
        for j in range(LANES):
            w = s[r, W, j]
            new = w * p if s[r, Y, j] > s[r, Z, j] else w * (1.0 - p)
            changed += new != s[r, WW, j]
            s[r, WW, j] = new
    return changed > 0


@njit(**_J)
def _fit(s, t, p, asym):
    """One fit per lane at its λ ``s[0, LAM]``; asymmetric: re-weight until the weights stop
    changing (at most :data:`MAX_REWEIGHT` times)."""
    if asym:  # the last λ's re-weighting changed WW
        for r in range(PAD, t + PAD):
            for j in range(LANES):
                s[r, WW, j] = s[r, W, j]
    _solve(s, t)
    if asym:
        for _ in range(MAX_REWEIGHT):
            if not _reweight(s, t, p):
                break
            _solve(s, t)


@njit(**_J)
def _store(s, t, ok, r0, m, out, lam_out):
    for j in range(m):
        for i in range(t):
            out[r0 + j, i] = s[i + PAD, Z, j] if ok[j] else np.nan
        lam_out[r0 + j] = s[0, LAM, j] if ok[j] else np.nan


@njit(**_J)
def _vcurve(s, t, llas, lam_grid, lam_mid, p, asym, fits, pens):
    """λ per lane by the V-curve: fits over the grid, then the first minimum of the distance
    per unit log10 λ between neighbouring grid points; the midpoint's λ goes to ``s[0, LAM]``."""
    nk = llas.shape[0]
    for k in range(nk):
        for j in range(LANES):
            s[0, LAM, j] = lam_grid[k]
        _fit(s, t, p, asym)
        for j in range(LANES):
            fits[k, j] = np.log(s[PAD, FIT, j])
            pens[k, j] = np.log(s[PAD, PEN, j])
    for j in range(LANES):
        best = np.inf
        k_best = 0
        for k in range(nk - 1):
            df = fits[k + 1, j] - fits[k, j]
            dp = pens[k + 1, j] - pens[k, j]
            v = np.sqrt(df * df + dp * dp) / (llas[k + 1] - llas[k])
            if not np.isfinite(v):
                v = np.inf
            if v < best:
                best = v
                k_best = k
        s[0, LAM, j] = lam_mid[k_best]


@njit(**_J)
def _chunk(b0, b1, y, w, c, lam, llas, lam_grid, lam_mid, p, asym, vcurve, out, lam_out):
    """Lane blocks ``b0 .. b1-1``, one scratch array for them all (the padding rows stay zero;
    a shared stencil row is loaded once)."""
    n, t = y.shape
    s = np.zeros((t + 2 * PAD, NF, LANES))
    ok = np.empty(LANES, np.bool_)
    fits, pens = np.empty((llas.shape[0], LANES)), np.empty((llas.shape[0], LANES))
    shared = c.shape[0] == 1
    if shared:
        _load_coef(c, 0, 1, s)
    for b in range(b0, b1):
        r0 = b * LANES
        m = min(LANES, n - r0)
        _load_series(y, w, r0, m, s, ok)
        if not shared:
            _load_coef(c, r0, m, s)
        if vcurve:
            _vcurve(s, t, llas, lam_grid, lam_mid, p, asym, fits, pens)
        else:
            for j in range(LANES):
                s[0, LAM, j] = lam[r0 + j] if j < m else lam[r0]
        _fit(s, t, p, asym)
        _store(s, t, ok, r0, m, out, lam_out)


@njit(**_J, parallel=True)
def _run_par(nchunks, y, w, c, lam, llas, lam_grid, lam_mid, p, asym, vcurve, out, lam_out):
    nb = (y.shape[0] + LANES - 1) // LANES
    for q in prange(nchunks):
        _chunk(q * nb // nchunks, (q + 1) * nb // nchunks, y, w, c, lam, llas, lam_grid,
               lam_mid, p, asym, vcurve, out, lam_out)


@njit(**_J)
def _run_ser(nchunks, y, w, c, lam, llas, lam_grid, lam_mid, p, asym, vcurve, out, lam_out):
    nb = (y.shape[0] + LANES - 1) // LANES
    _chunk(0, nb, y, w, c, lam, llas, lam_grid, lam_mid, p, asym, vcurve, out, lam_out)


def _parallel(n: int) -> bool:
    return (n >= _PARALLEL_MIN and get_num_threads() > 1
            and threading.current_thread() is threading.main_thread())


def _coefficients(stencils: tuple[np.ndarray, ...], t: int) -> np.ndarray:
    """``(m, NC, t)``: stencils ``cA, cB, cC`` (the one starting at step i in column i) and the
    bands of ``DᵀD`` in lower form: diagonal, (i, i−1) and (i, i−2) in column i, summed in
    the order of the earlier numpy code so the values are the same to the bit."""
    ca, cb, cc = (np.ascontiguousarray(a, "float64") for a in stencils)
    m = ca.shape[0]
    c = np.zeros((m, NC, t))
    c[:, 0, :t - 2], c[:, 1, :t - 2], c[:, 2, :t - 2] = ca, cb, cc
    d0 = c[:, 3]
    d0[:, :t - 2] += ca * ca
    d0[:, 1:t - 1] += cb * cb
    d0[:, 2:] += cc * cc
    d1 = np.zeros((m, max(t - 1, 0)))
    d1[:, :t - 2] += ca * cb
    d1[:, 1:] += cb * cc
    c[:, 4, 1:] = d1
    c[:, 5, 2:] = ca * cc
    return c


def _run(y, w, stencils, lam, llas, p, vcurve):
    y = np.ascontiguousarray(y, "float64")
    w = np.ascontiguousarray(w, "float64")
    n, t = y.shape
    c = _coefficients(stencils, t)
    if c.shape[0] not in (1, n):
        raise ValueError("stencils need one row or one row per series")
    lam_grid = np.array([10.0 ** ll for ll in llas])  # as the numpy code: scalar powers
    lam_mid = 10.0 ** ((llas[:-1] + llas[1:]) / 2)
    out = np.empty((n, t))
    lam_out = np.empty(n)
    nb = (n + LANES - 1) // LANES
    par = _parallel(n)
    run = _run_par if par else _run_ser
    run(min(nb, 4 * get_num_threads()) if par else 1, y, w, c, lam, llas, lam_grid, lam_mid,
        0.0 if p is None else float(p), p is not None, vcurve, out, lam_out)
    return out, lam_out


def smooth_fixed(y: np.ndarray, w: np.ndarray, stencils: tuple[np.ndarray, ...],
                 lam: np.ndarray, p: float | None = None) -> np.ndarray:
    """Whittaker fit of each row of ``y`` ``(n, t)`` at ``lam`` ``(n,)``; ``p``: asymmetric.

    ``w`` must be 0 where ``y`` is not finite; ``stencils`` are ``(cA, cB, cC)`` of shape
    ``(1, t-2)`` (shared) or ``(n, t-2)``.  Rows with fewer than two positive weights are NaN.
    """
    lam = np.ascontiguousarray(np.broadcast_to(np.asarray(lam, "float64"), (len(y),)))
    return _run(y, w, stencils, lam, np.zeros(2), p, False)[0]


def smooth_vcurve(y: np.ndarray, w: np.ndarray, stencils: tuple[np.ndarray, ...],
                  llas: np.ndarray, p: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """V-curve Whittaker of each row over the log10 λ grid ``llas``: ``(z, lam)``.

    Same conventions as :func:`smooth_fixed`; degenerate rows get NaN values and NaN λ.
    """
    llas = np.ascontiguousarray(llas, "float64")
    if llas.ndim != 1 or llas.size < 2:
        raise ValueError("the log10 λ grid needs at least two values")
    return _run(y, w, stencils, np.zeros(1), llas, p, True)
