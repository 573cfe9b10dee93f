"""Compositing a time stack into periods: maximum value (MVC), mean, median, QA-best — with
the acquisition date each composite value came from (the composite-day layer).

The kernel works on ``(t, n)`` arrays of values, weights and acquisition days (days since
1970-01-01, per pixel when a composite-day layer exists) and a list of period bounds.
"""

from __future__ import annotations

import warnings

import numpy as np

from modisoft.errors import TimeSeriesError

__all__ = ["composite_kernel", "REDUCERS"]

REDUCERS = ("max", "mean", "median", "qa_best")


def composite_kernel(values: np.ndarray, weights: np.ndarray | None, acq_days: np.ndarray,
                     bounds: list[tuple[int, int]], reducer: str = "max"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Composite ``(t, n)`` observations into ``len(bounds)`` periods.

    Parameters
    ----------
    values
        ``(t, n)`` physical values; NaN = no observation.
    weights
        ``(t, n)`` QA weights in [0, 1] (0 = unusable) or ``None`` (all 1 where finite).
    acq_days
        ``(t, n)`` or ``(t, 1)`` acquisition day of each observation (integer days).
    bounds
        ``[(first_day, last_day), ...]`` inclusive, in the same day numbering.
    reducer
        ``"max"`` (maximum-value composite), ``"mean"`` (weighted mean), ``"median"``,
        ``"qa_best"`` (highest weight, ties broken by the highest value).

    Returns
    -------
    (composite, composite_day, n_obs)
        ``(p, n)`` float values (NaN where no usable observation), the acquisition day of the
        chosen observation (for ``mean`` the weighted mean day, for ``median`` the day of the
        median observation, the mean of the two for an even count) as float with NaN, and the
        number of usable observations.
    """
    if reducer not in REDUCERS:
        raise TimeSeriesError(f"unknown reducer {reducer!r}; use one of {', '.join(REDUCERS)}")
    v = np.asarray(values, "float64")
    t, n = v.shape
    w = np.where(np.isfinite(v), 1.0, 0.0) if weights is None else np.where(
        np.isfinite(v), np.asarray(weights, "float64"), 0.0)
    days = np.broadcast_to(np.asarray(acq_days, "float64"), (t, n))
    p = len(bounds)
    out = np.full((p, n), np.nan)
    out_day = np.full((p, n), np.nan)
    count = np.zeros((p, n), dtype="int32")
    for k, (lo, hi) in enumerate(bounds):
        member = (days >= lo) & (days <= hi) & (w > 0)
        count[k] = member.sum(axis=0)
        has = count[k] > 0
        if not has.any():
            continue
        if reducer in ("max", "qa_best"):
            cand = member
            if reducer == "qa_best":  # highest weight first, then the highest value
                wmax = np.where(member, w, -np.inf).max(axis=0)
                cand = member & (w == wmax)
            idx = np.argmax(np.where(cand, v, -np.inf), axis=0)
            cols = np.arange(n)
            out[k] = np.where(has, v[idx, cols], np.nan)
            out_day[k] = np.where(has, days[idx, cols], np.nan)
        elif reducer == "mean":
            ww = np.where(member, w, 0.0)
            tot = ww.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k] = np.where(has, (ww * np.nan_to_num(v)).sum(axis=0) / tot, np.nan)
                out_day[k] = np.where(has, (ww * days).sum(axis=0) / tot, np.nan)
        else:
            masked = np.where(member, v, np.nan)
            order = np.argsort(np.where(member, v, np.inf), axis=0, kind="stable")
            cols = np.arange(n)
            c = count[k]
            lo_i = order[np.maximum((c - 1) // 2, 0), cols]
            hi_i = order[np.maximum(c // 2, 0), cols]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
                out[k] = np.where(has, np.nanmedian(masked, axis=0), np.nan)
                out_day[k] = np.where(has, (days[lo_i, cols] + days[hi_i, cols]) / 2, np.nan)
    return out, out_day, count
