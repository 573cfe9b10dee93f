"""The report's figures and statistics of a run's store, read in windows of whole chunks
(:func:`chunk_windows`), so the report of a large grid never holds the grid and reads each
chunk of the store once per pass: :func:`scan` computes the annual maps, every period's
thumbnail, the observed share map, the representative pixels and the observed counts in one
pass, :func:`gap_scan` the ``gap_days`` statistics and map in another.  The representative
pixels, the observed share's distribution and the ``gap_days`` statistics are exact (counts of
the distinct values, not the values; ties broken by row-major order whatever the windows'),
the median-mean pixel is the median of a regular sample, and the decimated maps are
:func:`~modisoft.plot.decimated`'s values.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

__all__ = ["BAND_BYTES", "chunk_windows", "gap_scan", "gap_stats",
           "percentile_of", "picks", "row_bands", "scan"]

BAND_BYTES = 16 * 2**20
"""The most one window holds (float64 bytes, all its periods; at least one chunk; the
statistics of a window take a few times that)."""

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


def _edges(sizes: Any, n: int) -> list[int]:
    return [0, *np.cumsum(sizes).tolist()] if sizes is not None else [0, n]


def chunk_windows(da: Any, limit: int | None = None) -> list[tuple[slice, slice]]:
    """Windows ``(rows, cols)`` of whole chunks of a lazy array (``(..., y, x)``), row-major:
    one chunk row at a time, as many of its chunks as hold at most ``limit`` float64 bytes over
    the leading dimensions (default :data:`BAND_BYTES`; at least one chunk), so each chunk of
    the store is read once.  An array without chunks: :func:`row_bands`."""
    limit = BAND_BYTES if limit is None else limit
    h, w = da.shape[-2:]
    if getattr(da, "chunks", None) is None:
        return [(slice(r0, r1), slice(0, w)) for r0, r1 in row_bands(da.shape, limit)]
    ye, xe = _edges(da.chunks[-2], h), _edges(da.chunks[-1], w)
    per_col = 8 * math.prod(da.shape[:-2]) * max(np.diff(ye))  # the same columns every row
    cols, c0 = [], 0
    for i in range(1, len(xe)):
        if i == len(xe) - 1 or (xe[i + 1] - xe[c0]) * per_col > limit:
            cols.append(slice(xe[c0], xe[i]))
            c0 = i
    return [(slice(y0, y1), c) for y0, y1 in itertools.pairwise(ye) for c in cols]


class _Picker:
    """The pixels :func:`picks` returns, from windows of the mean in any order: the highest
    (the last of equals in row-major order), the lowest non-zero (the first of equals) and the
    sample for the median, ordered row-major at the end."""

    def __init__(self, shape: tuple[int, int]):
        self.h, self.w = shape
        self.step = max(1, math.ceil(max(shape) / SAMPLE))
        self.hi: tuple[float, int] | None = None  # (value, flat index)
        self.lo: tuple[float, int] | None = None
        self.values: list[np.ndarray] = []
        self.where: list[np.ndarray] = []

    def add(self, m: np.ndarray, r0: int, c0: int) -> None:
        rr, cc = np.nonzero(np.isfinite(m) & (m > 0))
        if rr.size == 0:
            return
        vals = m[rr, cc]
        rr, cc = rr + r0, cc + c0
        flat = rr.astype(np.int64) * self.w + cc
        top, low = float(vals.max()), float(vals.min())
        i_top, i_low = int(flat[vals == top].max()), int(flat[vals == low].min())
        if self.hi is None or (top, i_top) > self.hi:
            self.hi = (top, i_top)
        if self.lo is None or (low, i_low) < self.lo:
            self.lo = (low, i_low)
        sel = (rr % self.step == 0) & (cc % self.step == 0)
        self.values.append(vals[sel])
        self.where.append(flat[sel])

    def result(self) -> list[tuple[str, int, int]]:
        if self.hi is None or self.lo is None:
            return []
        mid = self.hi
        v, i = np.concatenate(self.values), np.concatenate(self.where)
        if v.size:  # row-major, then stable: equal values keep their order, as
            order = np.argsort(i)  # representative_pixels
            v, i = v[order], i[order]
            k = np.argsort(v, kind="stable")[(v.size - 1) // 2]
            mid = (float(v[k]), int(i[k]))
        out, seen = [], set()
        for label, (_v, j) in (("highest mean", self.hi), ("median mean", mid),
                               ("lowest non-zero mean", self.lo)):
            if j not in seen:
                seen.add(j)
                out.append((label, j // self.w, j % self.w))
        return out


def _add_counts(counts: np.ndarray, n: np.ndarray) -> np.ndarray:
    got = np.bincount(n[n >= 0])
    if got.size > counts.size:
        counts = np.pad(counts, (0, got.size - counts.size))
    counts[:got.size] += got
    return counts


def picks(mean: Any) -> list[tuple[str, int, int]]:
    """The pixels of highest, median and lowest non-zero ``mean`` (lazy ``(y, x)``):
    ``(label, row, col)``, as :func:`~modisoft.report.points.representative_pixels` picks
    them (ties: the last highest and the first lowest in row-major order), the median from a
    regular sample of at most :data:`SAMPLE` per side (the sample row-major, sorted stably).
    The report takes them from :func:`scan`, with its maps, in the same pass."""
    picker = _Picker(mean.shape)
    for rs, cs in chunk_windows(mean):
        picker.add(np.asarray(mean[rs, cs].values, "float64"), rs.start, cs.start)
    return picker.result()


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
    mean, p90, _ = gap_scan(gap)
    return mean, p90


def gap_scan(gap: Any, longest: Any = None, max_size: int = 1
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`gap_stats` and, with ``longest`` (lazy ``(y, x)``, from ``gap``), ``longest``
    decimated as :func:`~modisoft.plot.decimated` ``(longest, max_size, "mean", "float64")``
    does, in one pass over the store's chunks."""
    import dask

    nt = gap.sizes["time"]
    seen: list[dict[float, int]] = [{} for _ in range(nt)]
    dec = _Decimator(gap.shape[-2:], max_size, "float64") if longest is not None else None
    for rs, cs in chunk_windows(gap):  # counts: any order of the windows
        if dec is None:
            g = np.asarray(gap[:, rs, cs].values)
        else:
            g, most = dask.compute(gap[:, rs, cs].data, longest[rs, cs].data)
            g = np.asarray(g)
            dec.add(np.asarray(most)[None], rs, cs)
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
    return mean, p90, dec.result()[0] if dec is not None else None

class _Decimator:
    """A stack of maps (``(n, y, x)``) decimated as :func:`~modisoft.plot.decimated`
    ``(map, max_size, "mean", dtype)`` does each, the same values, from windows of whole chunks
    given row-major: each window's complete blocks of rows are summed per column (the rows of a
    block cut by a chunk row's end carried to the next row of windows) and the blocks' columns
    summed once a row of windows spans the grid."""

    def __init__(self, shape: tuple[int, int], max_size: int, dtype: str):
        from modisoft.plot import block_edges

        (h, w), self.dtype = shape, dtype
        self.factor = math.ceil(max(h, w) / max_size)
        self.re_, self.ce = block_edges(h, self.factor), block_edges(w, self.factor)
        self.w, self.start = w, 0  # the first row not yet summed (a block edge)
        self.parts: list[np.ndarray] = []
        self.carry: dict[int, np.ndarray] = {}  # an unfinished block's rows, per column
        self.row: list[tuple[np.ndarray, np.ndarray]] = []  # this row of windows' sums

    def add(self, a: np.ndarray, rs: slice, cs: slice) -> None:
        a = np.asarray(a, self.dtype)
        if self.factor == 1:  # no decimation: the values
            self.row.append((a, a))
        else:
            if cs.start in self.carry:
                a = np.concatenate([self.carry.pop(cs.start), a], axis=1)
            edges = self.re_[(self.re_ >= self.start) & (self.re_ <= rs.stop)] - self.start
            done = int(edges[-1]) if edges.size else 0
            self.carry[cs.start] = a[:, done:]
            if edges.size > 1:
                ok = np.isfinite(a[:, :done])
                filled = np.where(ok, a[:, :done], 0).astype("float64")
                self.row.append((np.add.reduceat(filled, edges[:-1], axis=1),
                                 np.add.reduceat(ok.astype(np.int64), edges[:-1], axis=1)))
        if cs.stop == self.w:  # the row of windows is complete: its blocks' columns
            if self.row and self.factor == 1:
                self.parts.append(np.concatenate([t[0] for t in self.row], axis=2))
            elif self.row:
                sums, counts = (np.add.reduceat(np.concatenate([t[j] for t in self.row], 2),
                                                self.ce[:-1], axis=2) for j in (0, 1))
                with np.errstate(invalid="ignore", divide="ignore"):
                    self.parts.append(np.where(counts > 0, sums / counts, np.nan)
                                      .astype("float32"))
                self.start += done
            self.row = []

    def result(self) -> np.ndarray:
        return np.concatenate(self.parts, axis=1)


def scan(v: Any, maps: dict[str, tuple[Any, int, str]], n_obs: Any = None
         ) -> dict[str, Any]:
    """One pass over the store's chunks for the report: ``"periods"`` (each period of ``v``,
    lazy ``(time, y, x)``, decimated to ``maps["periods"]``'s size), each other lazy ``(y, x)``
    map of ``maps`` (name: ``(map, max_size, dtype)``) decimated as
    :func:`~modisoft.plot.decimated` does, ``"pixels"`` (:func:`picks` of ``maps["mean"]``)
    and, with ``n_obs``, ``"counts"`` (``counts[n]``: the pixels with a mean and ``n``
    observations).  Each window of the maps is computed once from one read of its chunks, all
    the maps' windows together."""
    import dask

    names = list(maps)
    decs = {k: _Decimator(v.shape[-2:], size, dtype) for k, (_m, size, dtype) in maps.items()}
    picker = _Picker(v.shape[-2:])
    counts = np.zeros(1, np.int64) if n_obs is not None else None
    for rs, cs in chunk_windows(v):
        lazy = [v[:, rs, cs].data if k == "periods" else maps[k][0][rs, cs].data
                for k in names] + ([n_obs[rs, cs].data] if n_obs is not None else [])
        got = dict(zip([*names, "n_obs"], dask.compute(*lazy), strict=False))
        if counts is not None:
            n = np.asarray(got["n_obs"])[np.isfinite(got["mean"])]
            counts = _add_counts(counts, n.astype(np.int64).ravel())
        picker.add(np.asarray(got["mean"], "float64"), rs.start, cs.start)
        for k in names:
            a = np.asarray(got[k])
            decs[k].add(a if k == "periods" else a[None], rs, cs)
    out: dict[str, Any] = {k: d.result() if k == "periods" else d.result()[0]
                           for k, d in decs.items()}
    out.update(pixels=picker.result(), counts=counts)
    return out
