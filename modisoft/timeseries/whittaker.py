"""Whittaker smoother (Eilers 2003), second-order differences, weights, λ by the V-curve, and
the asymmetric (upper-envelope) variant — pure numpy kernels over many series at once.

Definitions (``reference/ALGORITHMS.md`` §5.2): minimise ``Σ wᵢ(yᵢ − zᵢ)² + λ Σ (Δ²z)ᵢ²``, i.e.
solve ``(W + λDᵀD) z = W y``.  The V-curve (Frasso & Eilers) evaluates, on a grid of log10 λ,
``f = log Σ (w (y − z))²`` and ``p = log Σ (Δ²z)²`` and picks the midpoint of the grid step where
``√(Δf² + Δp²) / Δlog10λ`` is smallest — the same rule as modape / vam-whittaker, so the two
agree to rounding (``benchmarks/smooth_vs_vam.py``).  With uneven observation positions the
differences become second divided differences scaled by the squared mean step, which equals the
plain ``[1, −2, 1]`` stencil for even spacing.
"""

from __future__ import annotations

import numpy as np

from modisoft.errors import TimeSeriesError
from modisoft.timeseries.banded import solve_pentadiagonal_tm

__all__ = ["difference_stencils", "whittaker", "whittaker_vcurve", "whittaker_asymmetric",
           "default_lambda_grid"]


_BLOCK = 2048


def default_lambda_grid(y: np.ndarray | None = None) -> np.ndarray:
    """log10 λ grid: [−2, 1] step 0.2 (the modape default for series with lag-1
    autocorrelation > 0.5, the usual case for LAI/NDVI), inclusive."""
    return np.round(np.arange(-2.0, 1.0 + 1e-9, 0.2), 10)


def difference_stencils(x: np.ndarray | None, n: int, t: int) -> tuple[np.ndarray, ...]:
    """Second-difference stencil coefficients ``(cA, cB, cC)``, each ``(n, t-2)``."""
    if x is None:
        ones = np.ones((n, t - 2))
        return ones, -2 * ones, ones.copy()
    x = np.broadcast_to(np.asarray(x, "float64"), (n, t))
    h = np.diff(x, axis=1)
    if np.any(h <= 0):
        raise TimeSeriesError("observation positions must be strictly increasing along time")
    h1, h2 = h[:, :-1], h[:, 1:]
    scale = ((x[:, -1] - x[:, 0]) / (t - 1))[:, None] ** 2
    return (2 * scale / (h1 * (h1 + h2)), -2 * scale / (h1 * h2), 2 * scale / (h2 * (h1 + h2)))


def _penalty_bands(st: tuple[np.ndarray, ...], t: int) -> tuple[np.ndarray, ...]:
    ca, cb, cc = st
    n = ca.shape[0]
    d0 = np.zeros((n, t))
    d1 = np.zeros((n, t - 1))
    d2 = ca * cc
    d0[:, :-2] += ca * ca
    d0[:, 1:-1] += cb * cb
    d0[:, 2:] += cc * cc
    d1[:, :-1] += ca * cb
    d1[:, 1:] += cb * cc
    return d0, d1, d2


def _prepare(y: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.atleast_2d(np.asarray(y, "float64"))
    w = np.ones_like(y) if w is None else np.atleast_2d(np.asarray(w, "float64")).copy()
    bad = ~np.isfinite(y)
    w[bad] = 0.0
    return np.where(bad, 0.0, y), np.clip(w, 0.0, None)


def _solve(y, w, lam, bands):
    """Solve (W + λDᵀD) z = W y for row-major (n, t) inputs; bands are time-major."""
    return _solve_tm(np.ascontiguousarray(y.T), np.ascontiguousarray(w.T), lam, bands).T


def _solve_tm(yt, wt, lam, bands):
    d0, d1, d2 = bands
    lam = np.asarray(lam, "float64")
    return solve_pentadiagonal_tm(wt + lam * d0, lam * d1, lam * d2, wt * yt)


def _bands_tm(st, t):
    return tuple(np.ascontiguousarray(b.T) for b in _penalty_bands(st, t))


def whittaker(y: np.ndarray, w: np.ndarray | None = None, lam: float | np.ndarray = 10.0, *,
              x: np.ndarray | None = None) -> np.ndarray:
    """Whittaker-smooth each row of ``y`` with weights ``w`` and smoothing ``lam`` (scalar or
    one per row).  NaN observations get weight 0 (the smoother interpolates them).

    Examples
    --------
    >>> z = whittaker(np.array([[1.0, 2.0, 3.0, 4.0]]), lam=100.0)
    >>> np.allclose(z, [[1, 2, 3, 4]])  # a straight line is not penalised
    True
    """
    y, w = _prepare(y, w)
    t = y.shape[1]
    lam = np.broadcast_to(np.asarray(lam, "float64"), (y.shape[0],))
    return _solve(y, w, lam, _bands_tm(difference_stencils(x, y.shape[0], t), t))


def _vcurve_terms(yt, wt, zt, st_tm):
    ca, cb, cc = st_tm
    dz = ca * zt[:-2] + cb * zt[1:-1] + cc * zt[2:]
    with np.errstate(divide="ignore"):
        return np.log(np.sum((wt * (yt - zt)) ** 2, axis=0)), np.log(np.sum(dz ** 2, axis=0))


def _asym_fit(yt, wt, lam, bands, p, max_iter=10):
    ww = wt.copy()
    z = _solve_tm(yt, ww, lam, bands)
    for _ in range(max_iter):
        new = np.where(yt > z, wt * p, wt * (1 - p))
        if np.array_equal(new, ww):
            break
        ww = new
        z = _solve_tm(yt, ww, lam, bands)
    return z, ww


def whittaker_vcurve(y: np.ndarray, w: np.ndarray | None = None,
                     llas: np.ndarray | None = None, *, x: np.ndarray | None = None,
                     p: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Whittaker with λ chosen per series by the V-curve.

    Parameters
    ----------
    y, w
        ``(n, t)`` values and weights (NaN values get weight 0).
    llas
        Grid of log10 λ (default :func:`default_lambda_grid`).
    x
        Observation positions (days), ``(t,)`` or ``(n, t)``, for uneven spacing.
    p
        If given, the asymmetric (upper-envelope) variant with this expectile (e.g. 0.9):
        weights ``w·p`` above the fit and ``w·(1−p)`` below, re-weighted up to 10 times.

    Returns
    -------
    (z, lam)
        Smoothed series ``(n, t)`` and the chosen λ per series ``(n,)``.
    """
    y, w = _prepare(y, w)
    n, t = y.shape
    if n > _BLOCK:  # cache-sized blocks of series: the recursion is memory-bound
        xs = None if x is None else np.broadcast_to(np.asarray(x, "float64"), (n, t))
        parts = [whittaker_vcurve(y[i:i + _BLOCK], w[i:i + _BLOCK], llas,
                                  x=None if xs is None else xs[i:i + _BLOCK], p=p)
                 for i in range(0, n, _BLOCK)]
        return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])
    llas = default_lambda_grid() if llas is None else np.asarray(llas, "float64")
    st = difference_stencils(x, n, t)
    st_tm = tuple(np.ascontiguousarray(c.T) for c in st)
    bands = _bands_tm(st, t)
    yt, wt = np.ascontiguousarray(y.T), np.ascontiguousarray(w.T)
    fits = np.empty((len(llas), n))
    pens = np.empty((len(llas), n))
    for k, ll in enumerate(llas):
        if p is None:
            zt = _solve_tm(yt, wt, 10.0 ** ll, bands)
            fits[k], pens[k] = _vcurve_terms(yt, wt, zt, st_tm)
        else:
            zt, ww = _asym_fit(yt, wt, 10.0 ** ll, bands, p)
            fits[k], pens[k] = _vcurve_terms(yt, ww, zt, st_tm)
    v = np.sqrt(np.diff(fits, axis=0) ** 2 + np.diff(pens, axis=0) ** 2) / np.diff(llas)[:, None]
    v = np.where(np.isfinite(v), v, np.inf)
    k = np.argmin(v, axis=0)
    lam = 10.0 ** ((llas[k] + llas[k + 1]) / 2)
    zt = _solve_tm(yt, wt, lam, bands) if p is None else _asym_fit(yt, wt, lam, bands, p)[0]
    return zt.T, lam


def whittaker_asymmetric(y: np.ndarray, w: np.ndarray | None = None, lam: float = 10.0,
                         p: float = 0.9, *, x: np.ndarray | None = None) -> np.ndarray:
    """The asymmetric (expectile, upper-envelope) Whittaker smoother at a fixed λ."""
    y, w = _prepare(y, w)
    t = y.shape[1]
    bands = _bands_tm(difference_stencils(x, y.shape[0], t), t)
    lam = np.broadcast_to(np.asarray(lam, "float64"), (y.shape[0],))
    return _asym_fit(np.ascontiguousarray(y.T), np.ascontiguousarray(w.T), lam, bands, p)[0].T
