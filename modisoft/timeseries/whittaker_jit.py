"""Numba kernels behind :mod:`modisoft.timeseries.whittaker`: the Whittaker smoother, its
V-curve λ search and the asymmetric (expectile) variant, about 2 µs per 46-date series on one
core (``benchmarks/smooth_vs_vam.py``).

Layout.  Series are processed in lanes of :data:`LANES` (16): each block of 16 series is
copied into a small time-major scratch array and every step of the recursions loops over the
16 lanes innermost, which LLVM vectorises.  Per λ the symmetric pentadiagonal ``W + λDᵀD`` is
factorised as ``L D Lᵀ`` (unit lower ``L`` with two sub-diagonals ``e``, ``f``; one division
per row, no square root) and solved by forward and back substitution.  The V-curve terms
``Σ (w (y − z))²`` and ``Σ (Δ²z)²`` are accumulated during the back substitution (row ``i``
needs only ``z[i..i+2]``, already known there), so no extra pass is made.  The λ rule is the
one of the earlier numpy code and of modape / vam-whittaker: midpoint of the grid step with
the smallest ``√(Δf² + Δp²) / Δlog10λ`` (non-finite → ∞, first minimum).  The asymmetric loop
runs inside the kernel with the stopping rule of the numpy version: stop when the weights no
longer change, at most 10 re-weightings (per block of 16 series, which gives the same result
per series: a series whose weights have settled keeps its fit).

Degenerate series.  A series with fewer than two positive weights has a singular system
(``DᵀD`` does not penalise straight lines); its output is all NaN and its λ NaN, and it does
not disturb the other series of its block.  Callers set the weight of non-finite values to 0
beforehand (``whittaker._prepare``).

Arithmetic is float64 with ``fastmath=False`` (IEEE semantics, no reassociation) and
``error_model="numpy"`` (a division by zero gives ±inf/NaN instead of raising).

Compilation. The first call in a fresh environment compiles the kernel: about 6 s (measured on
a busy 2-core machine; the benchmark prints the warm-up). ``cache=True`` stores the machine
code so later processes load it in about 0.5 s including ``import numba``: in
``NUMBA_CACHE_DIR`` when set, else in ``__pycache__`` beside this file, else — package
directory read-only — in numba's user cache (``~/.cache/numba`` on Linux). :mod:`numba` is
imported only when a smoother is first called (``whittaker.py`` imports this module lazily),
so ``import modisoft`` stays light.

Threads.  The kernel releases the GIL (``nogil=True``); from 512 series on, and only when
called from the main thread, chunks of lane blocks run on a small thread pool of
``numba.get_num_threads()`` threads (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), four
chunks per thread taken as threads get free.  Calls from other threads (dask workers, which
already run side by side) run serially.  Plain threads rather than ``prange``: no parallel
region is ever launched (so none of the nested or concurrent launch limits of numba's
``workqueue`` layer apply) and the kernel is compiled once, not a second time as a parallel
variant.  Serial and threaded results are identical to the bit.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import get_num_threads, njit

from modisoft.errors import TimeSeriesError

__all__ = ["LANES", "smooth_fixed", "smooth_vcurve"]

LANES = 16
"""Series per lane block (the inner, vectorised loop)."""

MAX_REWEIGHT = 10
"""Re-weightings of the asymmetric variant at most (as in the earlier numpy code)."""

_PARALLEL_MIN = 32 * LANES
"""Fewer series than this are not worth waking the thread pool for."""


# The scratch array of a lane block is flat: ``s[(row * NF + field) * LANES + lane]``, row
# ``i + PAD`` for time step ``i``.  One flat array with compile-time strides (rather than one
# array per quantity, or a 3-D array whose strides LLVM only knows at run time) lets LLVM prove
# that the lane loops do not alias, so it vectorises them without run-time checks.  Indices
# are unsigned (``np.uint64``) so numba emits no negative-index wrap-around, which would hide
# the affine addresses from the vectoriser.  Two zero rows at each end make the band
# recursions branch-free (zero couplings, zero inverse pivots and zero solutions there).
_U = np.uint64
NF = 16
"""Fields per row."""
Y, W, WW, CA, CB, CC, D0, D1, D2, E, F, DINV, Z, FIT, PEN, LAM = (_U(k * LANES)
                                                                  for k in range(NF))
NC = 6
"""Coefficient fields CA .. D2, from the ``(m, NC, t)`` array of :func:`_coefficients`."""
PAD = 2
ROW = _U(NF * LANES)
TOP = _U(PAD * NF * LANES)
"""Offset of the first time step's row (the V-curve sums' totals are there)."""
UL = _U(LANES)

_J = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)


@njit(**_J)
def _load_series(y, w, r0, m, s, ok):
    """Copy rows ``r0 .. r0+m-1`` into the lanes (Y, W and WW); pad with row ``r0``.  A lane
    with fewer than two positive weights gets a harmless dummy (y = 0, w = 1), marked not ok."""
    t = y.shape[1]
    for i in range(t):
        o = _U(i + PAD) * ROW
        for jj in range(LANES):
            r = r0 + jj if jj < m else r0
            j = _U(jj)
            s[o + Y + j] = y[r, i]
            s[o + W + j] = w[r, i]
            s[o + WW + j] = w[r, i]
    for jj in range(LANES):
        j = _U(jj)
        npos = 0
        for i in range(t):
            npos += s[_U(i + PAD) * ROW + W + j] > 0.0
        ok[jj] = npos >= 2
        if npos < 2:
            for i in range(t):
                o = _U(i + PAD) * ROW
                s[o + Y + j] = 0.0
                s[o + W + j] = 1.0
                s[o + WW + j] = 1.0


@njit(**_J)
def _load_coef(c, r0, m, s):
    """Copy the stencils and penalty bands of rows ``r0 .. r0+m-1`` of ``c`` into the lanes."""
    t = c.shape[2]
    for jj in range(LANES):
        r = r0 + jj if jj < m else r0
        for k in range(NC):
            f = CA + _U(k) * UL + _U(jj)
            for i in range(t):
                s[_U(i + PAD) * ROW + f] = c[r, k, i]


@njit(**_J)
def _solve(s, t):
    """``(W + λDᵀD) z = W y`` per lane (λ in row 0's LAM, weights WW) by ``L D Lᵀ``, with
    the V-curve sums ``FIT = Σ (w (y − z))²`` and ``PEN = Σ (Δ²z)²`` (running sums from the
    end; the totals in the first time step's row)."""
    for rr in range(PAD, t + PAD):  # factorisation and forward substitution (u kept in Z)
        o = _U(rr) * ROW
        p = o - ROW
        q = p - ROW
        for j in range(UL):
            lam = s[LAM + j]
            a2 = lam * s[o + D2 + j]
            fi = a2 * s[q + DINV + j]
            g = lam * s[o + D1 + j] - a2 * s[p + E + j]
            ei = g * s[p + DINV + j]
            d = (s[o + WW + j] + lam * s[o + D0 + j]) - ei * g - fi * a2
            s[o + Z + j] = s[o + WW + j] * s[o + Y + j] - ei * s[p + Z + j] - fi * s[q + Z + j]
            s[o + E + j] = ei
            s[o + F + j] = fi
            s[o + DINV + j] = 1.0 / d
    for rr in range(t + PAD - 1, PAD - 1, -1):  # back substitution
        o = _U(rr) * ROW
        p = o + ROW
        q = p + ROW
        for j in range(UL):
            z1 = s[p + Z + j]
            z2 = s[q + Z + j]
            zi = s[o + Z + j] * s[o + DINV + j] - s[p + E + j] * z1 - s[q + F + j] * z2
            dz = s[o + CA + j] * zi + s[o + CB + j] * z1 + s[o + CC + j] * z2
            res = s[o + WW + j] * (s[o + Y + j] - zi)
            s[o + PEN + j] = s[p + PEN + j] + dz * dz
            s[o + FIT + j] = s[p + FIT + j] + res * res
            s[o + Z + j] = zi


@njit(**_J)
def _reweight(s, t, p):
    """Expectile weights from the current fit; True if any weight changed."""
    changed = 0
    for rr in range(PAD, t + PAD):
        o = _U(rr) * ROW
        for j in range(UL):
            wv = s[o + W + j]
            new = wv * p if s[o + Y + j] > s[o + Z + j] else wv * (1.0 - p)
            changed += new != s[o + WW + j]
            s[o + WW + j] = new
    return changed > 0


@njit(**_J)
def _fit(s, t, p, asym):
    """One fit per lane at its λ (row 0's LAM); asymmetric: re-weight until the weights stop
    changing (at most :data:`MAX_REWEIGHT` times).  One call site of :func:`_solve` (each
    inlined copy costs compile time)."""
    if asym:  # the last λ's re-weighting changed WW
        for rr in range(PAD, t + PAD):
            o = _U(rr) * ROW
            for j in range(UL):
                s[o + WW + j] = s[o + W + j]
    done = 0
    while True:
        _solve(s, t)
        if not asym or done == MAX_REWEIGHT or not _reweight(s, t, p):
            return
        done += 1


@njit(**_J)
def _store(s, t, ok, r0, m, out, lam_out):
    for jj in range(m):
        j = _U(jj)
        for i in range(t):
            out[r0 + jj, i] = s[_U(i + PAD) * ROW + Z + j] if ok[jj] else np.nan
        lam_out[r0 + jj] = s[LAM + j] if ok[jj] else np.nan


@njit(**_J)
def _pick(llas, lam_mid, fits, pens, s):
    """λ per lane by the V-curve: the first minimum of the distance per unit log10 λ between
    neighbouring grid points (non-finite → ∞); the midpoint's λ goes to LAM."""
    nk = llas.shape[0]
    for jj in range(LANES):
        best = np.inf
        k_best = 0
        for k in range(nk - 1):
            df = fits[k + 1, jj] - fits[k, jj]
            dp = pens[k + 1, jj] - pens[k, jj]
            v = np.sqrt(df * df + dp * dp) / (llas[k + 1] - llas[k])
            if not np.isfinite(v):
                v = np.inf
            if v < best:
                best = v
                k_best = k
        s[LAM + _U(jj)] = lam_mid[k_best]


@njit(**_J)
def _chunk(b0, b1, y, w, c, lam, llas, lam_grid, lam_mid, p, asym, vcurve, out, lam_out):
    """Lane blocks ``b0 .. b1-1``, one scratch array for them all (the padding rows stay zero;
    a shared stencil row is loaded once).  V-curve: fits at each grid λ (the sums' logs kept),
    then the fit at the chosen λ; fixed λ: that last fit only."""
    n, t = y.shape
    nk = llas.shape[0] if vcurve else 0
    s = np.zeros((t + 2 * PAD) * NF * LANES)
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
        for k in range(nk + 1):
            if k < nk:
                for j in range(UL):
                    s[LAM + j] = lam_grid[k]
            elif vcurve:
                _pick(llas, lam_mid, fits, pens, s)
            else:
                for jj in range(LANES):
                    s[LAM + _U(jj)] = lam[r0 + jj] if jj < m else lam[r0]
            _fit(s, t, p, asym)
            if k < nk:
                for jj in range(LANES):
                    fits[k, jj] = np.log(s[TOP + FIT + _U(jj)])
                    pens[k, jj] = np.log(s[TOP + PEN + _U(jj)])
        _store(s, t, ok, r0, m, out, lam_out)


_POOL: list = [None, 0, 0]
"""The thread pool, its size and the process it belongs to (a forked child makes its own)."""
_POOL_LOCK = threading.Lock()


def _threads(n: int) -> int:
    """Threads for ``n`` series: numba's thread count (``NUMBA_NUM_THREADS``,
    ``numba.set_num_threads``) from 512 series on and on the main thread only, else 1."""
    if n < _PARALLEL_MIN or threading.current_thread() is not threading.main_thread():
        return 1
    return get_num_threads()


def _pool(k: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        if _POOL[1:] != [k, os.getpid()]:
            if _POOL[0] is not None and _POOL[2] == os.getpid():
                _POOL[0].shutdown(wait=False)
            _POOL[:] = [ThreadPoolExecutor(k, thread_name_prefix="whittaker"), k, os.getpid()]
        return _POOL[0]


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
        raise TimeSeriesError("stencils need one row or one row per series")
    lam_grid = np.array([10.0 ** ll for ll in llas])  # as the numpy code: scalar powers
    lam_mid = 10.0 ** ((llas[:-1] + llas[1:]) / 2)
    out = np.empty((n, t))
    lam_out = np.empty(n)
    args = (y, w, c, lam, llas, lam_grid, lam_mid, 0.0 if p is None else float(p),
            p is not None, vcurve, out, lam_out)
    nb = (n + LANES - 1) // LANES
    k = _threads(n)
    if k == 1:
        _chunk(0, nb, *args)
    else:  # the kernel releases the GIL; 4 chunks per thread, taken as threads get free
        cuts = [int(v) for v in np.linspace(0, nb, 4 * k + 1)]
        for f in [_pool(k).submit(_chunk, a, b, *args) for a, b in itertools.pairwise(cuts)
                  if b > a]:
            f.result()
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
        raise TimeSeriesError("the log10 λ grid needs at least two values")
    return _run(y, w, stencils, np.zeros(1), llas, p, True)
