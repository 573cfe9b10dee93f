"""The report's figures and statistics of a run's store, read one band of rows at a time, so
the report of a large grid never holds the grid: the representative pixels, the observed
share's distribution and the ``gap_days`` statistics are exact (counts of the distinct
values, not the values), the median-mean pixel is the median of a regular sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["BAND_BYTES", "gap_stats", "observed_counts", "percentile_of", "picks", "row_bands"]

BAND_BYTES = 16 * 2**20
"""The most one band holds (float64 bytes, all its periods; the statistics of a band take a
few times that)."""

SAMPLE = 800
"""The median-mean pixel is the median over at most ``SAMPLE x SAMPLE`` evenly spaced
pixels (all of them on a grid no larger)."""


def row_bands(shape: tuple[int, ...], limit: int | None = None) -> list[tuple[int, int]]:
    """``(r0, r1)`` bands of rows of an array of ``shape`` (``(..., y, x)``) of at most
    ``limit`` float64 bytes each (default :data:`BAND_BYTES`; at least one row)."""
    limit = BAND_BYTES if limit is None else limit
    per_row = 8 * math.prod(shape[:-2]) * shape[-1]
    step = max(1, limit // max(1, per_row))
    return [(r, min(r + step, shape[-2])) for r in range(0, shape[-2], step)]


def picks(mean: Any) -> list[tuple[str, int, int]]:
    """The pixels of highest, median and lowest non-zero ``mean`` (lazy ``(y, x)``):
    ``(label, row, col)``, as :func:`~modisoft.report.points.representative_pixels` picks
    them, the median from a regular sample of at most :data:`SAMPLE` per side."""
    h, w = mean.shape
    step = max(1, math.ceil(max(h, w) / SAMPLE))
    hi = lo = None  # (value, flat index)
    values: list[np.ndarray] = []  # the sample's values and flat indices, band by band
    where: list[np.ndarray] = []
    for r0, r1 in row_bands(mean.shape):
        m = np.asarray(mean[r0:r1].values, "float64")
        ok = np.isfinite(m) & (m > 0)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            continue
        vals = m.ravel()[idx]
        top = idx[np.flatnonzero(vals == vals.max())[-1]]  # the last of equals, as argsort
        low = idx[np.argmin(vals)]
        if hi is None or m.flat[top] >= hi[0]:
            hi = (float(m.flat[top]), r0 * w + int(top))
        if lo is None or m.flat[low] < lo[0]:
            lo = (float(m.flat[low]), r0 * w + int(low))
        rows = np.arange(r0, r1)
        rows = rows[rows % step == 0] - r0
        sub = m[rows][:, ::step]
        sub_ok = np.isfinite(sub) & (sub > 0)
        rr, cc = np.nonzero(sub_ok)
        values.append(sub[sub_ok])
        where.append((r0 + rows[rr]).astype(np.int64) * w + cc.astype(np.int64) * step)
    if hi is None:
        return []
    mid = hi
    if values:
        v, i = np.concatenate(values), np.concatenate(where)
        if v.size:  # stable: equal values keep their order, as representative_pixels
            k = np.argsort(v, kind="stable")[(v.size - 1) // 2]
            mid = (float(v[k]), int(i[k]))
    out, seen = [], set()
    for label, (_v, i) in (("highest mean", hi), ("median mean", mid),
                           ("lowest non-zero mean", lo)):
        if i not in seen:
            seen.add(i)
            out.append((label, i // w, i % w))
    return out


def observed_counts(n_obs: Any, mean: Any) -> np.ndarray:
    """``counts[n]``: how many pixels with a mean have ``n`` observations (``n_obs``)."""
    counts = np.zeros(1, np.int64)
    for r0, r1 in row_bands(mean.shape):
        has = np.isfinite(np.asarray(mean[r0:r1].values))
        n = np.asarray(n_obs[r0:r1].values)[has].astype(np.int64).ravel()
        got = np.bincount(n[n >= 0])
        if got.size > counts.size:
            counts = np.pad(counts, (0, got.size - counts.size))
        counts[:got.size] += got
    return counts


def percentile_of(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (numpy's linear method) of the sample holding each of the
    sorted ``values`` ``counts`` times; NaN for an empty sample."""
    n = int(counts.sum())
    if n == 0:
        return math.nan
    pos = q / 100 * (n - 1)
    ends = np.cumsum(counts)
    lo = values[np.searchsorted(ends, math.floor(pos), side="right")]
    hi = values[np.searchsorted(ends, math.ceil(pos), side="right")]
    return float(lo + (hi - lo) * (pos - math.floor(pos)))


def gap_stats(gap: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per period, the mean and 90th percentile of ``gap`` (lazy ``(time, y, x)``) over the
    pixels with a value (negative: no value)."""
    nt = gap.sizes["time"]
    seen: list[dict[float, int]] = [{} for _ in range(nt)]
    for r0, r1 in row_bands(gap.shape):
        g = np.asarray(gap[:, r0:r1].values)
        for k in range(nt):
            gk = g[k]
            v, c = np.unique(gk[gk >= 0], return_counts=True)
            for x, n in zip(v.tolist(), c.tolist(), strict=True):
                seen[k][x] = seen[k].get(x, 0) + n
    mean, p90 = np.full(nt, np.nan), np.full(nt, np.nan)
    for k, d in enumerate(seen):
        if d:
            vals = np.array(sorted(d), "float64")
            counts = np.array([d[x] for x in sorted(d)], np.int64)
            mean[k] = float((vals * counts).sum() / counts.sum())
            p90[k] = percentile_of(vals, counts, 90)
    return mean, p90
