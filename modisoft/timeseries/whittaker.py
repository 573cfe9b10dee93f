"""Whittaker smoother (Eilers 2003), second-order differences, weights, λ by the V-curve, and
the asymmetric (upper-envelope) variant, over many series at once (numba kernels in
:mod:`modisoft.timeseries.whittaker_jit`, a few µs per 46-date series).

Definitions (``reference/ALGORITHMS.md`` §5.2): minimise ``Σ wᵢ(yᵢ − zᵢ)² + λ Σ (Δ²z)ᵢ²``, i.e.
solve ``(W + λDᵀD) z = W y``.  The V-curve (Frasso & Eilers) evaluates, on a grid of log10 λ,
``f = log Σ (w (y − z))²`` and ``p = log Σ (Δ²z)²`` and picks the midpoint of the grid step where
``√(Δf² + Δp²) / Δlog10λ`` is smallest — the same rule as modape / vam-whittaker, so the two
agree to rounding (``benchmarks/smooth_vs_vam.py``).  With uneven observation positions the
differences become second divided differences scaled by the squared mean step, which equals the
plain ``[1, −2, 1]`` stencil for even spacing.

Degenerate series: NaN values get weight 0; a series with fewer than two positive weights (all
weights zero, or a single one) has a singular system — straight lines are not penalised — and
no defined V-curve, so its smoothed values are all NaN (and its λ NaN in
:func:`whittaker_vcurve`).  The first call compiles the kernels (or loads them from numba's
cache), see :mod:`modisoft.timeseries.whittaker_jit`.
"""

from __future__ import annotations

import numpy as np

from modisoft.errors import TimeSeriesError

__all__ = ["difference_stencils", "whittaker", "whittaker_vcurve", "whittaker_asymmetric",
           "default_lambda_grid"]


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


def _prepare(y: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.atleast_2d(np.asarray(y, "float64"))
    w = np.ones_like(y) if w is None else np.atleast_2d(np.asarray(w, "float64")).copy()
    bad = ~np.isfinite(y)
    w[bad] = 0.0
    return np.where(bad, 0.0, y), np.clip(w, 0.0, None)


def _stencils(x: np.ndarray | None, n: int, t: int) -> tuple[np.ndarray, ...]:
    """Stencils for the kernels: one shared row when ``x`` is ``None`` or ``(t,)``."""
    if x is None or np.ndim(x) == 1:
        return difference_stencils(x, 1, t)
    return difference_stencils(x, n, t)


def _kernels():
    """The numba kernels, imported on first use (importing numba costs ~0.5 s)."""
    from modisoft.timeseries import whittaker_jit

    return whittaker_jit


def whittaker(y: np.ndarray, w: np.ndarray | None = None, lam: float | np.ndarray = 10.0, *,
              x: np.ndarray | None = None) -> np.ndarray:
    """Whittaker-smooth each row of ``y`` with weights ``w`` and smoothing ``lam`` (scalar or
    one per row).  NaN observations get weight 0 (the smoother interpolates them); rows with
    fewer than two positive weights come back all NaN.

    Examples
    --------
    >>> z = whittaker(np.array([[1.0, 2.0, 3.0, 4.0]]), lam=100.0)
    >>> np.allclose(z, [[1, 2, 3, 4]])  # a straight line is not penalised
    True
    """
    y, w = _prepare(y, w)
    n, t = y.shape
    lam = np.broadcast_to(np.asarray(lam, "float64"), (n,))
    return _kernels().smooth_fixed(y, w, _stencils(x, n, t), lam)


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
        Smoothed series ``(n, t)`` and the chosen λ per series ``(n,)``.  A series with fewer
        than two positive weights (all zero, or a single one) has no V-curve: its values and
        its λ are NaN.

    Examples
    --------
    >>> days = np.arange(46.0)
    >>> y = np.vstack([np.sin(days / 7), np.zeros(46)])
    >>> w = np.vstack([np.ones(46), np.eye(1, 46)[0]])  # the second: a single weight
    >>> z, lam = whittaker_vcurve(y, w)
    >>> bool(np.isfinite(lam[0])), bool(np.isnan(lam[1])), bool(np.isnan(z[1]).all())
    (True, True, True)
    """
    y, w = _prepare(y, w)
    n, t = y.shape
    llas = default_lambda_grid() if llas is None else np.asarray(llas, "float64")
    return _kernels().smooth_vcurve(y, w, _stencils(x, n, t), llas, p)


def whittaker_asymmetric(y: np.ndarray, w: np.ndarray | None = None, lam: float = 10.0,
                         p: float = 0.9, *, x: np.ndarray | None = None) -> np.ndarray:
    """The asymmetric (expectile, upper-envelope) Whittaker smoother at a fixed λ: weights
    ``w·p`` above the fit and ``w·(1−p)`` below, re-weighted until they no longer change (at
    most 10 times).  Rows with fewer than two positive weights come back all NaN."""
    y, w = _prepare(y, w)
    n, t = y.shape
    lam = np.broadcast_to(np.asarray(lam, "float64"), (n,))
    return _kernels().smooth_fixed(y, w, _stencils(x, n, t), lam, p)
