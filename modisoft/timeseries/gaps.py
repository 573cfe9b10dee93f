"""How far each output period lies from the nearest good observation: the ``gap_days`` kernel.

A smoothed or gap-filled value in a period far from any good observation is the smoother's
guess (held, interpolated), not a measurement; ``gap_days`` says how far the guess reaches.

Distance of a period ``[first, last]`` (both days inclusive) to an observation on day ``d``:
``0`` when ``first <= d <= last``, else ``min(|d - first|, |d - last|)`` days, i.e.
``max(first - d, d - last, 0)``. A pixel's ``gap_days`` is the minimum over its good
observations; NaN when it has none.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GAP_DAYS_ATTRS", "gap_days_kernel"]

GAP_DAYS_ATTRS = {
    "long_name": "days from the period to the nearest good observation", "units": "d",
    "standard_name": "time_sample_difference_due_to_collocation",
    "coverage_content_type": "qualityInformation",
    "comment": "0 where the period holds a good observation (a value with weight > 0), else "
               "the days from the nearer end of the period to the nearest one; an "
               "observation is dated by its acquisition day (the granule's start date unless "
               "a per-pixel composite day is given)"}
"""The CF/ACDD attributes of a ``gap_days`` variable. CF has no standard name for the time
to the nearest observation; ``time_sample_difference_due_to_collocation`` ("the difference in
time between two events that are collocated") is the nearest: the period's value and the
observation it rests on, at one pixel. ACDD asks every data variable for a standard name."""


def gap_days_kernel(good: np.ndarray, acq_days: np.ndarray,
                    bounds: list[tuple[float, float]]) -> np.ndarray:
    """Days from each period to each series' nearest good observation.

    Parameters
    ----------
    good
        ``(t, n)`` booleans: the observation is good (a value and a weight > 0).
    acq_days
        ``(t, n)`` or ``(t, 1)`` day of each observation (days since 1970-01-01; NaN = none).
    bounds
        ``[(first_day, last_day), ...]`` of the periods, inclusive, in the same numbering.

    Returns
    -------
    numpy.ndarray
        ``(len(bounds), n)`` float64: 0 where the period holds a good observation, else the
        days to the nearest one, NaN where the series has no good observation at all.

    Examples
    --------
    >>> gap_days_kernel(np.array([[True], [False], [True]]), np.array([[3.0], [10.0], [40.0]]),
    ...                 [(0, 9), (10, 19), (20, 29)]).ravel().tolist()
    [0.0, 7.0, 11.0]
    """
    good = np.asarray(good, bool)
    t, n = good.shape
    days = np.broadcast_to(np.asarray(acq_days, "float64"), (t, n))
    ok = good & np.isfinite(days)
    out = np.full((len(bounds), n), np.nan)
    if not ok.any():
        return out
    cols = ok.any(axis=0)
    d = np.where(ok, days, np.nan)[:, cols]
    for k, (lo, hi) in enumerate(bounds):  # max(lo - d, d - hi, 0): 0 inside the period
        dist = np.maximum(np.maximum(lo - d, d - hi), 0.0)
        out[k, cols] = np.nanmin(dist, axis=0)
    return out
