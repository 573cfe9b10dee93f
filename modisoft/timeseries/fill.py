"""Gap filling shared by the smoothers: linear interpolation along time, vectorised."""

from __future__ import annotations

import numpy as np

__all__ = ["interpolate_gaps", "interpolate_at"]


def interpolate_gaps(y: np.ndarray, valid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Replace invalid entries of each row by linear interpolation between the nearest valid
    neighbours (positions ``x``), constant beyond the first/last valid value.  Rows with no
    valid value stay NaN."""
    n, t = y.shape
    x = np.broadcast_to(np.asarray(x, "float64"), (n, t))
    idx = np.broadcast_to(np.arange(t), (n, t))
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(valid, idx, t)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(n)[:, None]
    p = np.clip(prev, 0, t - 1)
    q = np.clip(nxt, 0, t - 1)
    yp, yq = y[rows, p], y[rows, q]
    xp, xq = x[rows, p], x[rows, q]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(xq > xp, (x - xp) / (xq - xp), 0.0)
    out = yp + frac * (yq - yp)
    out = np.where(prev < 0, yq, out)
    out = np.where(nxt >= t, yp, out)
    out = np.where(valid, y, out)
    none = ~valid.any(axis=1)
    out[none] = np.nan
    return out


def interpolate_at(z: np.ndarray, x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of ``z`` (positions ``x``) at the positions ``at``."""
    n, t = z.shape
    at = np.asarray(at, "float64")
    x1d = np.asarray(x, "float64")
    if x1d.ndim == 1 and t >= 2 and np.all(np.diff(x1d) > 0) and not np.isnan(at).any():
        return _interpolate_shared(z, x1d, at)
    x = np.broadcast_to(np.asarray(x, "float64"), (n, t))
    out = np.full((n, len(at)), np.nan)
    for i in range(t - 1):
        x0, x1 = x[:, i:i + 1], x[:, i + 1:i + 2]
        inside = (at >= x0) & ((at < x1) | ((i == t - 2) & (at <= x1)))
        with np.errstate(invalid="ignore", divide="ignore"):
            val = z[:, i:i + 1] + (at - x0) / (x1 - x0) * (z[:, i + 1:i + 2] - z[:, i:i + 1])
        out = np.where(inside, val, out)
    out = np.where(at < x[:, :1], z[:, :1], out)
    return np.where(at > x[:, -1:], z[:, -1:], out)


def _interpolate_shared(z: np.ndarray, x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """:func:`interpolate_at` for positions ``x`` shared by all rows and strictly increasing:
    one segment lookup per output position instead of a pass per segment (same formula, so
    the same bits)."""
    t = len(x)
    i = np.clip(np.searchsorted(x, at, side="right") - 1, 0, t - 2)
    x0, x1 = x[i], x[i + 1]
    z0, z1 = z[:, i], z[:, i + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = z0 + (at - x0) / (x1 - x0) * (z1 - z0)
    out = np.where(at < x[0], z[:, :1], out)
    return np.where(at > x[-1], z[:, -1:], out)
