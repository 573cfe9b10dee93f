"""LACC — Locally Adjusted Cubic-spline Capping (Chen, Deng & Chen 2006), vectorised.

As described in ``reference/ALGORITHMS.md`` §5.1 (after the public BSD-3 re-implementation by
Y. Luo, 2016; the paper text itself was not available here):

* a smoothing cubic spline in Pollock's form: with knot spacings ``h``, the tridiagonal ``M``
  (diagonal ``2(hᵢ + hᵢ₊₁)``, off-diagonal ``hᵢ``) and ``Q`` (column ``(3/hᵢ, −3/hᵢ − 3/hᵢ₊₁,
  3/hᵢ₊₁)``), solve ``(M + μQᵀΓQ) b = Qᵀy`` with ``μ = 2(1 − λ)/(3λ)``, ordinates
  ``d = y − μΓQb``, natural ends (b = 0 at both ends);
* capping: after each fit ``y ← max(y, S(x))`` — cloud contamination biases LAI low;
* local adjustment: ``γᵢ = 1 − (min(|y″ᵢ|, y″max)/y″max)^(1/p)`` from finite differences of the
  fitted ordinates (end knots y′ = y″ = 0; ``y″max = max|y″|`` as ALGORITHMS.md advises), so
  there is less smoothing at green-up, peak and senescence.

Defaults: ``lam = 0.5`` (μ = 2/3), exponent ``p = 2.5``, ``iterations = 5`` (the public code;
the reference suggests 3 — both unconfirmed from the paper, so both are parameters).  Positions
may be uneven (composite days) and are measured in units of the mean observation step (choice:
with positions in days, μ = 2/3 leaves an 8-day spline practically interpolating its points —
the spline is the Green–Silverman smoothing spline with α = 3μ/2 = 1, whose effect scales with
h³ — so capping could not lift cloud drops; in step units the behaviour is the same for 8- and
10-day series).  Observations with weight 0 or NaN
are first filled by linear interpolation; LACC itself is unweighted.
"""

from __future__ import annotations

import numpy as np

from modisoft.timeseries.banded import solve_pentadiagonal
from modisoft.timeseries.fill import interpolate_gaps

__all__ = ["lacc", "smoothing_spline", "evaluate_spline"]


def smoothing_spline(x: np.ndarray, y: np.ndarray, gamma: np.ndarray | None = None,
                     lam: float = 0.5) -> tuple[np.ndarray, ...]:
    """Pollock smoothing cubic spline of each row; returns coefficients ``(a, b, c, d)``.

    ``a, b, c`` are ``(n, t-1)`` per interval, ``d`` is ``(n, t)`` (the smoothed ordinates).
    """
    n, t = y.shape
    x = np.broadcast_to(np.asarray(x, "float64"), (n, t))
    g = np.ones((n, t)) if gamma is None else gamma
    mu = 2.0 * (1.0 - lam) / (3.0 * lam)
    h = np.diff(x, axis=1)
    q0, q2 = 3.0 / h[:, :-1], 3.0 / h[:, 1:]
    q1 = -(q0 + q2)
    # M + mu * Q^T Gamma Q, (t-2) x (t-2) pentadiagonal
    a0 = 2.0 * (h[:, :-1] + h[:, 1:]) + mu * (g[:, :-2] * q0**2 + g[:, 1:-1] * q1**2
                                               + g[:, 2:] * q2**2)
    a1 = h[:, 1:-1] + mu * (g[:, 1:-2] * q1[:, :-1] * q0[:, 1:]
                            + g[:, 2:-1] * q2[:, :-1] * q1[:, 1:])
    a2 = mu * g[:, 2:-2] * q2[:, :-2] * q0[:, 2:]
    rhs = q0 * y[:, :-2] + q1 * y[:, 1:-1] + q2 * y[:, 2:]
    bi = solve_pentadiagonal(a0, a1, a2, rhs)
    qb = np.zeros((n, t))
    qb[:, :-2] += q0 * bi
    qb[:, 1:-1] += q1 * bi
    qb[:, 2:] += q2 * bi
    d = y - mu * g * qb
    b = np.zeros((n, t))
    b[:, 1:-1] = bi
    a = (b[:, 1:] - b[:, :-1]) / (3.0 * h)
    c = (d[:, 1:] - d[:, :-1]) / h - h * (b[:, 1:] + 2.0 * b[:, :-1]) / 3.0
    return a, b[:, :-1], c, d


def evaluate_spline(coef: tuple[np.ndarray, ...], x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Evaluate spline coefficients at positions ``at`` (``(q,)`` or ``(n, q)``), linearly
    extended beyond the end knots."""
    a, b, c, d = coef
    n, t = d.shape
    x = np.broadcast_to(np.asarray(x, "float64"), (n, t))
    at = np.asarray(at, "float64")
    at = np.broadcast_to(at, (n, at.shape[-1]))
    out = np.empty(at.shape)
    for i in range(t - 1):
        lo = at >= x[:, i:i + 1] if i else np.ones(at.shape, bool)
        s = at - x[:, i:i + 1]
        val = ((a[:, i:i + 1] * s + b[:, i:i + 1]) * s + c[:, i:i + 1]) * s + d[:, i:i + 1]
        out = np.where(lo, val, out)
    last = t - 2
    s = x[:, -1:] - x[:, last:last + 1]
    slope_end = (3 * a[:, last:last + 1] * s + 2 * b[:, last:last + 1]) * s + c[:, last:last + 1]
    beyond = at > x[:, -1:]
    out = np.where(beyond, d[:, -1:] + slope_end * (at - x[:, -1:]), out)
    before = at < x[:, :1]
    return np.where(before, d[:, :1] + c[:, :1] * (at - x[:, :1]), out)


def _gamma(d: np.ndarray, x: np.ndarray, p: float) -> np.ndarray:
    n, t = d.shape
    x = np.broadcast_to(x, (n, t))
    h = np.diff(x, axis=1)
    span = h[:, 1:] + h[:, :-1]
    d1 = np.zeros((n, t))
    d1[:, 1:-1] = (d[:, 2:] - d[:, :-2]) / span
    d2 = np.zeros((n, t))
    d2[:, 1:-1] = (d1[:, 2:] - d1[:, :-2]) / span
    ad2 = np.abs(d2)
    dmax = ad2.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 1.0 - (np.minimum(ad2, dmax) / dmax) ** (1.0 / p)
    return np.where(dmax > 0, g, 1.0)


def lacc(y: np.ndarray, w: np.ndarray | None = None, x: np.ndarray | None = None, *,
         lam: float = 0.5, p: float = 2.5, iterations: int = 5,
         at: np.ndarray | None = None) -> np.ndarray:
    """LACC-smooth each row of ``y`` (see the module docstring).

    Parameters
    ----------
    y
        ``(n, t)`` values; NaN or weight 0 marks an unusable observation.
    w
        Optional weights; only ``w > 0`` matters (usable or not).
    x
        Positions in days, ``(t,)`` or ``(n, t)``; default ``8 * arange(t)``.
    lam, p, iterations
        Spline parameter λ (μ = 2(1−λ)/(3λ)), adjustment exponent, capping iterations.
    at
        If given, return the curve at these positions instead of at the knots.

    Returns
    -------
    numpy.ndarray
        ``(n, t)`` (or ``(n, len(at))``); rows without any usable value are NaN.
    """
    y = np.atleast_2d(np.asarray(y, "float64"))
    n, t = y.shape
    x = 8.0 * np.arange(t) if x is None else np.asarray(x, "float64")
    x2 = np.broadcast_to(x, (n, t))
    origin = x2[:, :1]
    step = (x2[:, -1:] - x2[:, :1]) / (t - 1)
    x = (x2 - origin) / step
    if at is not None:
        at = (np.asarray(at, "float64")[None, :] - origin) / step
    valid = np.isfinite(y) if w is None else np.isfinite(y) & (np.asarray(w) > 0)
    yy = interpolate_gaps(y, valid, x)
    ok = np.isfinite(yy).all(axis=1)
    work = np.where(ok[:, None], yy, 0.0)
    coef = smoothing_spline(x, work, None, lam)
    for _ in range(iterations):
        work = np.maximum(work, coef[3])
        coef = smoothing_spline(x, work, _gamma(coef[3], x, p), lam)
    out = coef[3] if at is None else evaluate_spline(coef, x, at)
    out[~ok] = np.nan
    return out
