"""The continuity check of a long record at each join between two sensors.

At a join, the *boundary* is the first period the record takes from the later sensor.  The
check compares, per cover type (and over all pixels), the record's LAI in the year before the
boundary (periods starting in ``[boundary − 1 year, boundary)``) with the year after
(``[boundary, boundary + 1 year)``): the number of pixel-periods with a value, their mean and
their distribution (the 10th, 25th, 50th, 75th and 90th percentiles).  The *jump* is the mean
after minus the mean before; a row is flagged when ``|jump|`` exceeds the threshold.

Comparing whole years keeps the seasons balanced.  The record is read one period at a time,
and the percentiles come from a histogram of 0.01 m² m⁻² bins from 0 to 15 (values outside
go to the end bins), so memory does not grow with the grid or the record's length and the
percentiles are exact to one bin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BIN_WIDTH", "QUANTILES", "continuity_check", "continuity_table", "join_boundary"]

# source: a choice, the LAI products' own step (MCD15 stores LAI in steps of 0.1 m2/m2)
BIN_WIDTH = 0.01
"""Width (m² m⁻²) of the histogram bins the percentiles are read from."""
# source: a choice above every LAI product's valid range (MCD15 valid_max 10.0)
_TOP = 15.0
# source: a choice, the deciles and quartiles of the window's distribution
QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
"""The percentiles of each window's distribution."""


def join_boundary(sensors: Sequence[str], later: str) -> int | None:
    """The index of the first period taken from ``later`` (``None``: no such period)."""
    hits = [k for k, s in enumerate(sensors) if str(s) == later]
    return hits[0] if hits else None


def _years_around(t0: np.datetime64) -> tuple[np.datetime64, np.datetime64]:
    import pandas as pd

    ts = pd.Timestamp(t0)
    return (np.datetime64(ts - pd.DateOffset(years=1), "ns"),
            np.datetime64(ts + pd.DateOffset(years=1), "ns"))


class _Window:
    """Histogram and sums per stratum over the periods of one window."""

    def __init__(self, strata: int) -> None:
        self.nbins = round(_TOP / BIN_WIDTH)
        self.hist = np.zeros((strata + 1, self.nbins), "int64")  # last row: all strata
        self.total = np.zeros(strata + 1)
        self.periods: list[str] = []

    def add(self, values: np.ndarray, index: np.ndarray) -> None:
        ok = np.isfinite(values) & (index >= 0)
        v, i = values[ok].astype("float64"), index[ok]
        b = np.clip(np.floor(v / BIN_WIDTH), 0, self.nbins - 1).astype("int64")
        s = self.hist.shape[0] - 1
        self.hist[:s] += np.bincount(i * self.nbins + b, minlength=s * self.nbins).reshape(
            s, self.nbins)
        self.total[:s] += np.bincount(i, weights=v, minlength=s)
        self.hist[s] += np.bincount(b, minlength=self.nbins)
        self.total[s] += v.sum()

    def stats(self, k: int) -> dict[str, Any]:
        h = self.hist[k]
        n = int(h.sum())
        if n == 0:
            return {"n": 0, "mean": None, **{f"p{round(q * 100)}": None for q in QUANTILES}}
        cum = np.cumsum(h)
        out: dict[str, Any] = {"n": n, "mean": float(self.total[k] / n)}
        for q in QUANTILES:
            b = int(np.searchsorted(cum, q * n))
            out[f"p{round(q * 100)}"] = round((b + 0.5) * BIN_WIDTH, 4)  # the bin's centre
        return out


def continuity_check(record: Any, joins: Sequence[tuple[str, str]], *, cover: Any = None,
                     threshold: float = 0.25,  # source: a choice; [relation] threshold
                     ) -> list[dict[str, Any]]:
    """The continuity table of a record: per join and cover type, the year before against
    the year after the boundary.

    Parameters
    ----------
    record
        ``(time, y, x)`` LAI with a ``sensor`` coordinate (:func:`modisoft.lai.record.
        assemble`).
    joins
        ``(join name, later sensor)`` of each join, in time order.
    cover
        ``(y, x)`` cover codes on the record's grid (NaN: no cover type; ``None``: only the
        row over all pixels).
    threshold
        A row is flagged when ``|mean after − mean before|`` exceeds it (m² m⁻²).

    Returns
    -------
    list of dict
        One row per join and cover type, then the join's row ``cover = "all"``: ``join``,
        ``boundary`` (ISO day), ``before`` and ``after`` (``{"first", "last", "periods",
        "n", "mean", "p10" … "p90"}``, first and last the periods' start days), ``jump``
        (``None`` when a window has no value) and ``flag``.

    Examples
    --------
    >>> rows = continuity_check(record, [("MODIS-VIIRS", "VIIRS")])  # doctest: +SKIP
    >>> print(continuity_table(rows))  # doctest: +SKIP
    """
    sensors = [str(s) for s in np.asarray(record["sensor"].values)]
    times = np.asarray(record["time"].values, "datetime64[ns]")
    if cover is None:
        codes, index = [], np.zeros(record.shape[-2:], "int64")
        strata = 1
    else:
        c = np.asarray(getattr(cover, "values", cover), "float64")
        codes = [float(x) for x in np.unique(c[np.isfinite(c)])]
        # source: no value, a sentinel below every cover code (NaN is masked out here)
        index = np.where(np.isfinite(c), np.searchsorted(codes, np.nan_to_num(c, nan=-1e30)),
                         -1).astype("int64")
        strata = len(codes)
    rows = []
    for name, later in joins:
        k0 = join_boundary(sensors, later)
        if k0 is None:
            rows.append({"join": name, "boundary": None, "cover": "all", "before": {},
                         "after": {}, "jump": None, "flag": False,
                         "note": f"the record takes no period from {later}"})
            continue
        lo, hi = _years_around(times[k0])
        windows = {"before": (lo <= times) & (times < times[k0]),
                   "after": (times[k0] <= times) & (times < hi)}
        acc = {}
        for side, sel in windows.items():
            acc[side] = w = _Window(strata)
            for k in np.flatnonzero(sel):
                plane = np.asarray(record.isel(time=int(k)).transpose("y", "x").values)
                w.add(plane, index)
                w.periods.append(str(times[k].astype("datetime64[D]")))
        labels: list[Any] = [*codes, "all"] if cover is not None else ["all"]
        ks = [*range(strata), strata] if cover is not None else [strata]
        for label, k in zip(labels, ks, strict=True):
            row = {"join": name, "boundary": str(times[k0].astype("datetime64[D]")),
                   "cover": int(label) if isinstance(label, float) and label.is_integer()
                   else label}
            for side, w in acc.items():
                row[side] = {"first": w.periods[0] if w.periods else None,
                             "last": w.periods[-1] if w.periods else None,
                             "periods": len(w.periods), **w.stats(k)}
            mb, ma = row["before"]["mean"], row["after"]["mean"]
            row["jump"] = None if mb is None or ma is None else float(ma - mb)
            row["flag"] = bool(row["jump"] is not None and abs(row["jump"]) > threshold)
            rows.append(row)
    return rows


def continuity_table(rows: Sequence[dict[str, Any]], threshold: float | None = None) -> str:
    """The continuity rows as a plain-text table (what ``modisoft record`` prints).

    Columns: join, boundary, cover type, then for the year before and the year after the
    pixel-periods ``n``, the ``mean`` and the 10th/50th/90th percentiles, the ``jump`` of
    the mean and ``FLAG`` where it exceeds the threshold.
    """
    def f(x: Any) -> str:
        return "-" if x is None else f"{x:.2f}"

    head = ["join", "boundary", "cover", "n_before", "mean", "p10", "p50", "p90",
            "n_after", "mean", "p10", "p50", "p90", "jump", "flag"]
    body = []
    for r in rows:
        b, a = r.get("before") or {}, r.get("after") or {}
        body.append([r["join"], r["boundary"] or "-", str(r["cover"]),
                     str(b.get("n", 0)), f(b.get("mean")), f(b.get("p10")), f(b.get("p50")),
                     f(b.get("p90")), str(a.get("n", 0)), f(a.get("mean")), f(a.get("p10")),
                     f(a.get("p50")), f(a.get("p90")),
                     "-" if r["jump"] is None else f"{r['jump']:+.2f}",
                     "FLAG" if r["flag"] else ""])
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in body]
    if threshold is not None:
        lines.append(f"(before: the year before the boundary, after: the year from it; "
                     f"FLAG: |jump of the mean| > {threshold:g} m2 m-2)")
    return "\n".join(lines)
