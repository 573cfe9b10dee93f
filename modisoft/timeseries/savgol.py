"""Savitzky–Golay upper-envelope reconstruction of Chen, Jönsson, Tamura, Gu, Matsushita &
Eklundh (2004), vectorised over many series (``reference/ALGORITHMS.md`` §5.3):

1. interpolate unusable observations linearly → N⁰;
2. long-term trend: SG with half-window m ∈ {4..7} and degree d ∈ {2, 3, 4}, per series the
   (m, d) with least Σ(Nᵗʳ − N⁰)²;
3. weights Wᵢ = 1 where N⁰ᵢ ≥ Nᵗʳᵢ, else 1 − dᵢ/d_max;
4. N¹ = N⁰ where N⁰ ≥ Nᵗʳ, else Nᵗʳ;
5. refit with SG (m = 4, d = 6);
6. fitting-effect index Fₖ = Σ |Nᵏ⁺¹ − N⁰| Wᵢ; repeat with max(N⁰, Nᵏ⁺¹) while Fₖ decreases,
   keeping the series with the least F (a cap of ``max_iter`` iterations).

SG filtering works on the observation index (positions assumed even, as in the paper's 10-day
data); ``scipy.signal.savgol_filter`` with ``mode="interp"`` fits the edge windows.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

from modisoft.timeseries.fill import interpolate_at, interpolate_gaps

__all__ = ["savgol_chen2004"]


def savgol_chen2004(y: np.ndarray, w: np.ndarray | None = None, x: np.ndarray | None = None,
                    *, max_iter: int = 10, trend_windows=(4, 5, 6, 7), trend_degrees=(2, 3, 4),
                    refit=(4, 6), at: np.ndarray | None = None) -> np.ndarray:
    """Chen et al. (2004) reconstruction of each row of ``y``; see the module docstring."""
    y = np.atleast_2d(np.asarray(y, "float64"))
    n, t = y.shape
    x = np.arange(t, dtype="float64") if x is None else np.asarray(x, "float64")
    valid = np.isfinite(y) if w is None else np.isfinite(y) & (np.asarray(w) > 0)
    n0 = interpolate_gaps(y, valid, x)
    ok = np.isfinite(n0).all(axis=1)
    n0 = np.where(ok[:, None], n0, 0.0)
    best_err = np.full(n, np.inf)
    trend = np.zeros_like(n0)
    for m in trend_windows:
        if 2 * m + 1 > t:
            continue
        for d in trend_degrees:
            f = savgol_filter(n0, 2 * m + 1, d, axis=1, mode="interp")
            err = np.sum((f - n0) ** 2, axis=1)
            better = err < best_err
            trend[better] = f[better]
            best_err[better] = err[better]
    above = n0 >= trend
    dist = np.abs(n0 - trend)
    dmax = dist.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(above, 1.0, 1.0 - np.where(dmax > 0, dist / dmax, 0.0))
    cur = np.where(above, n0, trend)
    win = min(2 * refit[0] + 1, t if t % 2 else t - 1)
    best = cur.copy()
    best_f = np.full(n, np.inf)
    active = np.ones(n, bool)
    for _ in range(max_iter):
        nxt = savgol_filter(cur, win, min(refit[1], win - 1), axis=1, mode="interp")
        f = np.sum(np.abs(nxt - n0) * weight, axis=1)
        improved = active & (f < best_f)
        best[improved] = nxt[improved]
        best_f[improved] = f[improved]
        active = improved
        if not active.any():
            break
        cur = np.where(active[:, None], np.maximum(n0, nxt), cur)
    out = best if at is None else interpolate_at(best, x, at)
    out[~ok] = np.nan
    return out
