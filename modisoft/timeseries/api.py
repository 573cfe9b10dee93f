"""xarray/dask edge of the time-series kernels: ``composite``, ``interleave``, ``smooth``,
``gap_days``."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from modisoft.errors import TimeSeriesError
from modisoft.timeseries.composite import composite_kernel
from modisoft.timeseries.gaps import GAP_DAYS_ATTRS, gap_days_kernel
from modisoft.timeseries.lacc import lacc
from modisoft.timeseries.periods import Period, periods
from modisoft.timeseries.savgol import savgol_chen2004
from modisoft.timeseries.whittaker import default_lambda_grid, whittaker_vcurve

__all__ = ["composite", "interleave", "smooth", "gap_days", "acquisition_days", "daily_dates",
           "METHODS"]

METHODS = ("whittaker", "whittaker_asymmetric", "lacc", "savgol")
_EPOCH = np.datetime64("1970-01-01", "D")


def _days(t: Any) -> np.ndarray:
    """datetime64 values → float days since 1970-01-01."""
    return (np.asarray(t).astype("datetime64[D]") - _EPOCH).astype("float64")


def acquisition_days(stack: Any, doy: Any | None = None) -> Any:
    """Per-observation acquisition day (days since 1970) for a ``(time, y, x)`` stack.

    Without ``doy`` the granule date of each time step (its ``time`` coordinate) is used,
    returned as a 1-D ``(time,)`` array that broadcasts against the stack. With a composite
    day-of-year layer (MOD13 ``composite day of the year``, MOD09A1 ``day_of_year``), the
    date is rebuilt from the year of each step, rolling over to the next year when the day of
    year falls before the step's own start (a window that straddles 31 December).
    """
    import xarray as xr

    base = xr.DataArray(_days(stack["time"].values), dims="time", coords={"time": stack.time})
    if doy is None:
        return base  # 1-D: broadcast lazily by the kernels' apply_ufunc (never materialised)
    years = stack["time"].dt.year
    jan1 = xr.DataArray(_days(np.array([f"{y:04d}-01-01" for y in years.values],
                                       dtype="datetime64[D]")), dims="time")
    acq = jan1 + doy.astype("float64") - 1
    year_len = xr.DataArray([366 if calendar.isleap(int(y)) else 365 for y in years.values],
                            dims="time")
    acq = xr.where(acq < base - 1, acq + year_len, acq)
    return acq.where(doy > 0)


def daily_dates(stack: Any) -> np.ndarray:
    """Every day from a stack's first to its last ``time`` (``datetime64[ns]``), e.g. for
    ``smooth(..., at=daily_dates(stack))``."""
    import pandas as pd

    t = stack["time"].values
    return pd.date_range(t.min(), t.max(), freq="D").values.astype("datetime64[ns]")


def interleave(*stacks: Any) -> Any:
    """Merge stacks (e.g. Terra MOD13 and Aqua MYD13) into one series ordered by date."""
    import xarray as xr

    merged = xr.concat(stacks, dim="time")
    return merged.sortby("time")


def composite(stack: Any, period: str = "dekad", reducer: str = "max", *,
              weights: Any | None = None, acq_days: Any | None = None,
              span: tuple[date, date] | None = None) -> Any:
    """Composite a ``(time, y, x)`` stack into periods.

    Parameters
    ----------
    stack
        Physical values with a ``time`` coordinate (granule dates).
    period
        ``"dekad"`` (= ``"beps10"``), ``"pentad"``, ``"month"`` or ``"<N>day"``.
    reducer
        ``"max"``, ``"mean"``, ``"median"`` or ``"qa_best"``.
    weights
        QA weights in [0, 1] on the same dims; 0 = unusable.
    acq_days
        Per-pixel acquisition days (:func:`acquisition_days`); default the granule dates.
    span
        ``(first, last)`` day of the run (see :func:`smooth`); default the stack's first and
        last ``time``.

    Returns
    -------
    xarray.Dataset
        ``<name>`` composite values on a ``time`` axis of period starts (with ``period_end``
        and ``period_label`` coordinates), ``composite_day`` (datetime64, the acquisition date
        each value came from) and ``n_obs`` (usable observations per period).
    """
    import xarray as xr

    stack = stack.sortby("time")
    name = stack.name or "value"
    pers = periods(period, *_span(stack, span))
    bounds = [(float(_days(np.datetime64(p.start))), float(_days(np.datetime64(p.end))))
              for p in pers]
    days = acquisition_days(stack) if acq_days is None else acq_days
    w = xr.ones_like(stack, dtype="float64") if weights is None else weights
    args = [a.chunk({"time": -1}) if a.chunks else a for a in (stack, w, days)]

    def kernel(v, ww, dd):
        shape = v.shape[:-1]
        ww, dd = np.broadcast_to(ww, v.shape), np.broadcast_to(dd, v.shape)
        flat = [np.moveaxis(a, -1, 0).reshape(a.shape[-1], -1) for a in (v, ww, dd)]
        vals, day, cnt = composite_kernel(*flat, bounds, reducer)
        def back(a):
            return np.moveaxis(a.reshape((len(bounds), *shape)), 0, -1)

        return back(vals), back(day), back(cnt)

    vals, day, cnt = xr.apply_ufunc(
        kernel, *args, input_core_dims=[["time"]] * 3, output_core_dims=[["period"]] * 3,
        dask="parallelized", output_dtypes=["float64", "float64", "int32"],
        dask_gufunc_kwargs={"output_sizes": {"period": len(bounds)}})
    starts = np.array([np.datetime64(p.start, "ns") for p in pers])
    coords = {"time": ("period", starts),
              "period_end": ("period", np.array([np.datetime64(p.end, "ns") for p in pers])),
              "period_label": ("period", [p.label for p in pers])}
    ds = xr.Dataset({name: vals.astype("float32"), "composite_day": _to_datetime(day),
                     "n_obs": cnt}).assign_coords(coords)
    ds = ds.swap_dims({"period": "time"}).transpose("time", ...)
    ds.attrs.update(stack.attrs)
    ds.attrs["composite"] = f"{reducer} over {period} periods"
    ds[name].attrs.update(stack.attrs)
    return ds


def gap_days(stack: Any, period: str | Sequence[Period] | Any = "dekad", *,
             weights: Any | None = None, acq_days: Any | None = None,
             span: tuple[date, date] | None = None, dim: str = "time",
             fill: int | None = None) -> Any:
    """Per period and pixel, the days from the period to the nearest good observation: how
    far a smoothed or composited value lies from anything measured.

    A good observation is a finite value with a weight > 0, the ones :func:`smooth` and
    :func:`composite` use. The distance of a period ``[first, last]`` (days, inclusive) to an
    observation on day ``d`` is 0 when ``first <= d <= last``, else
    ``min(|d - first|, |d - last|)``; ``gap_days`` is its minimum over the pixel's good
    observations, NaN where the pixel has none. An observation's day is its acquisition day
    (``acq_days``), by default its ``time``, i.e. the granule's start date: an 8-day
    composite granule (MOD15A2H) dated 2012-04-06 counts as observed on 6 April only,
    although it may hold a value of any day up to 13 April.

    Parameters
    ----------
    stack
        Physical values ``(time, y, x)`` with a ``time`` coordinate; NaN = missing.
    period
        The periods: a kind of :func:`periods` (over ``span``), a list of :class:`Period`,
        or a time-series result (e.g. of :func:`smooth` or :func:`composite`) whose ``dim``
        coordinate holds the period starts and a ``period_end…`` coordinate on ``dim`` the
        last days (without one, each ``dim`` value is a one-day period, e.g. daily output).
    weights
        QA weights on the stack's dims, 0 = not usable (default: every finite value).
    acq_days
        Per-pixel acquisition days (:func:`acquisition_days`); default the ``time`` values.
    span
        ``(first, last)`` day of the run for a period kind (see :func:`smooth`); default the
        stack's first and last ``time``.
    dim
        The periods' dimension in ``period`` (a result) and in the output.
    fill
        ``None``: float32, NaN where a pixel has no good observation; a negative integer:
        int16 with this value there (also its ``_FillValue`` attribute), fractional
        distances rounded up and distances capped at 32767 days.

    Returns
    -------
    xarray.DataArray
        ``gap_days`` ``(dim, y, x)`` with the periods' coordinates (start, ``period_end``,
        ``period_label``) and CF attributes (``units = "d"``,
        ``coverage_content_type = "qualityInformation"``).

    Raises
    ------
    TimeSeriesError
        For an unknown period kind, a kind with no period in the span, a result without
        ``dim``, or a ``fill`` that is not a negative int16.

    Examples
    --------
    >>> res = smooth(lai, "whittaker", weights=w, period="dekad")  # doctest: +SKIP
    >>> gap = gap_days(lai, res, weights=w)  # doctest: +SKIP
    """
    import xarray as xr

    if fill is not None and (isinstance(fill, bool) or not isinstance(fill, int | np.integer)
                             or not -32768 <= fill < 0):
        raise TimeSeriesError(f"gap_days fill {fill!r}: need a negative integer >= -32768 "
                              "(distances are >= 0)")
    stack = stack.sortby("time")
    starts, ends, coords = _period_table(stack, period, span, dim)
    bounds = [(float(a), float(b)) for a, b in zip(_days(starts), _days(ends), strict=True)]
    days = acquisition_days(stack) if acq_days is None else acq_days
    good = np.isfinite(stack) if weights is None else np.isfinite(stack) & (weights > 0)
    args = [a.chunk({"time": -1}) if a.chunks else a for a in (good, days)]

    def kernel(g, dd):
        shape = g.shape[:-1]
        dd = np.broadcast_to(dd, g.shape)
        flat = [np.moveaxis(a, -1, 0).reshape(a.shape[-1], -1) for a in (g, dd)]
        out = gap_days_kernel(*flat, bounds).astype("float32")
        return np.moveaxis(out.reshape((len(bounds), *shape)), 0, -1)

    gap = xr.apply_ufunc(kernel, *args, input_core_dims=[["time"]] * 2,
                         output_core_dims=[["period"]], dask="parallelized",
                         output_dtypes=["float32"],
                         dask_gufunc_kwargs={"output_sizes": {"period": len(bounds)}})
    gap = gap.rename({"period": dim}).assign_coords(coords).transpose(dim, ...)
    if fill is not None:
        gap = np.ceil(gap.clip(max=32767)).fillna(fill).astype("int16")
    gap.attrs = dict(GAP_DAYS_ATTRS) if fill is None else {**GAP_DAYS_ATTRS,
                                                           "_FillValue": int(fill)}
    return gap.rename("gap_days")


def _period_table(stack: Any, period: Any, span: tuple[date, date] | None,
                  dim: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The periods' first days, last days (datetime64[D]) and output coordinates on ``dim``."""
    if isinstance(period, str) or (isinstance(period, Sequence)
                                   and all(isinstance(p, Period) for p in period)):
        pers = periods(period, *_span(stack, span)) if isinstance(period, str) else list(period)
        if not pers:
            raise TimeSeriesError(f"no {period!r} period lies in the span {span}")
        starts = np.array([np.datetime64(p.start, "D") for p in pers])
        ends = np.array([np.datetime64(p.end, "D") for p in pers])
        return starts, ends, {dim: starts.astype("datetime64[ns]"),
                              "period_end": (dim, ends.astype("datetime64[ns]")),
                              "period_label": (dim, np.array([p.label for p in pers], object))}
    if dim not in getattr(period, "dims", ()):
        raise TimeSeriesError(f"gap_days: the periods have no dimension {dim!r}; give a period "
                              "kind, a list of Period or a result with period starts on "
                              f"{dim!r}")
    coords = {k: (dim, np.asarray(v.values)) for k, v in period.coords.items()
              if v.dims == (dim,) and k != dim}
    starts = np.asarray(period[dim].values).astype("datetime64[D]")
    end = next((k for k in coords if str(k).startswith("period_end")), None)
    ends = starts if end is None else coords[end][1].astype("datetime64[D]")
    return starts, ends, {dim: np.asarray(period[dim].values), **coords}


def _to_datetime(day: Any) -> Any:
    def conv(a):
        out = np.full(a.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = np.isfinite(a)
        out[ok] = (np.round(a[ok] * 86400).astype("int64") * 10**9).astype("datetime64[ns]")
        return out

    import xarray as xr

    return xr.apply_ufunc(conv, day, dask="parallelized", output_dtypes=["datetime64[ns]"])


def _hold_ends(z: np.ndarray, xs: np.ndarray, usable: np.ndarray, at: Any) -> np.ndarray:
    """Hold each smoothed series constant before its first and after its last usable
    observation: a fit knows nothing there, and a penalised fit continues its end slope
    linearly (a winter gap at high latitude then runs far below zero)."""
    n, t = usable.shape
    xs = np.broadcast_to(xs, (n, t))
    first = np.argmax(usable, axis=1)
    last = t - 1 - np.argmax(usable[:, ::-1], axis=1)
    rows = np.arange(n)
    if at is None:
        pos = np.arange(t)[None, :]
        z = np.where(pos < first[:, None], z[rows, first][:, None], z)
        return np.where(pos > last[:, None], z[rows, last][:, None], z)
    at = np.asarray(at, "float64")
    x0, x1 = xs[rows, first], xs[rows, last]
    need = np.flatnonzero((at[0] < x0) | (at[-1] > x1))
    if need.size == 0:
        return z
    zn = z[need]
    r = np.arange(need.size)
    held = []
    for xe in (x0[need], x1[need]):  # np.interp(xe, at, row), vectorised over rows
        xc = np.clip(xe, at[0], at[-1])
        j = np.clip(np.searchsorted(at, xc, side="right"), 1, at.size - 1) if at.size > 1 \
            else np.zeros(xc.shape, "intp")
        if at.size > 1:
            lo, hi = zn[r, j - 1], zn[r, j]
            held.append(lo + (hi - lo) / (at[j] - at[j - 1]) * (xc - at[j - 1]))
        else:
            held.append(zn[r, 0])
    zn = np.where(at[None, :] < x0[need][:, None], held[0][:, None], zn)
    z[need] = np.where(at[None, :] > x1[need][:, None], held[1][:, None], zn)
    return z


def _span(stack: Any, span: tuple[date, date] | None) -> tuple[date, date]:
    """The run's first and last day: ``span``, or the stack's first and last ``time``."""
    if span is not None:
        return span[0], span[1]
    t = stack["time"].values.astype("datetime64[D]")
    return t.min().astype(date), t.max().astype(date)


def _cuts(pers: list, day0: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.add.reduceat`` positions over a daily axis from ``day0`` (``n`` days) that sum
    each period, and which of the sums are the periods' (the others are gaps between them)."""
    starts = [int((np.datetime64(p.start) - day0).astype(int)) for p in pers]
    ends = [int((np.datetime64(p.end) - day0).astype(int)) + 1 for p in pers]
    cuts = sorted(set(starts) | {b for b in ends if b < n})
    return np.asarray(cuts), np.asarray([cuts.index(a) for a in starts])


def _on_periods(z: Any, pers: list, dim: str, suffix: str) -> Any:
    """``z`` on ``time_out`` as values of ``pers``: the ``dim`` coordinate (period starts),
    ``period_end<suffix>`` and ``period_label<suffix>``."""
    return z.rename({"time_out": dim}).assign_coords({
        dim: np.array([np.datetime64(p.start, "ns") for p in pers]),
        f"period_end{suffix}": (dim, np.array([np.datetime64(p.end, "ns") for p in pers])),
        f"period_label{suffix}": (dim, np.array([p.label for p in pers], dtype=object))})


def _smooth_kernel(y, w, x, at, method, min_obs, params, clip=None, reduce=None):
    """Smooth many series: ``(..., time)`` → ``(..., out)`` float32, λ, n_obs.

    Only the series with enough observations are evaluated (at ``at`` when given), their ends
    held, clipped to ``clip``, and, with ``reduce = [(cuts, keep, lengths), ...]`` (one per
    period set, see :func:`_cuts`), averaged over each set's periods — so a chunk never holds
    a daily array for pixels that have no series (sea, fill).
    """
    shape = y.shape[:-1]
    t = y.shape[-1]
    yy = y.reshape(-1, t).astype("float64")
    ww = np.ones_like(yy) if w is None else \
        np.broadcast_to(w, y.shape).reshape(-1, t).astype("float64")
    xx = np.broadcast_to(x, y.shape).reshape(-1, t).astype("float64")
    usable = np.isfinite(yy) & (ww > 0)
    n_obs = usable.sum(axis=1)
    enough = n_obs >= min_obs
    lam = np.full(len(yy), np.nan)
    out_t = t if at is None else len(at) if reduce is None else \
        sum(len(r[2]) for r in reduce)
    out = np.full((len(yy), out_t), np.nan, "float32")
    idx = np.flatnonzero(enough)
    for b in range(0, idx.size, _BATCH):  # bounded memory: daily arrays per batch only
        sel = idx[b:b + _BATCH]
        lam[sel], out[sel] = _smooth_batch(yy[sel], ww[sel], xx[sel], usable[sel], at,
                                           method, params, clip, reduce)
    return (out.reshape((*shape, out_t)), lam.reshape(shape),
            n_obs.reshape(shape).astype("int32"))


_BATCH = 4096
"""Series smoothed together inside a kernel: a daily evaluation of a batch is
``_BATCH`` × 366 float64 (12 MB), whatever the chunk size."""


def _smooth_batch(ys, ww, xs, usable, at, method, params, clip, reduce):
    """Smooth one batch of series that all have enough observations: (λ, values)."""
    lam = np.full(len(ys), np.nan)
    ws = np.where(usable, ww, 0.0)
    if method in ("whittaker", "whittaker_asymmetric"):
        p = params.get("p", 0.9) if method == "whittaker_asymmetric" else None
        z, lam = whittaker_vcurve(ys, ws, params.get("llas"), x=xs, p=p)
        if at is not None:
            from modisoft.timeseries.fill import interpolate_at

            z = np.vstack([interpolate_at(z[i:i + 1], xs[i], at) for i in range(len(z))]) \
                if xs.ndim == 2 and not np.all(xs == xs[:1]) else interpolate_at(z, xs[0], at)
    elif method == "lacc":
        z = lacc(ys, ws, xs, at=at, **{k: v for k, v in params.items()
                                       if k in ("lam", "p", "iterations")})
    else:
        z = savgol_chen2004(ys, ws, xs[0], at=at,
                            **{k: v for k, v in params.items() if k == "max_iter"})
    z = _hold_ends(np.asarray(z, "float64"), xs, usable, at)
    if clip is not None:
        np.clip(z, clip[0], clip[1], out=z)
    if reduce is not None:  # per period set: sums between cuts, the periods' segments kept
        z = np.concatenate([np.add.reduceat(z, cuts, axis=-1)[..., keep] / lengths
                            for cuts, keep, lengths in reduce], axis=-1)
    return lam, z


def smooth(stack: Any, method: str = "whittaker", *, weights: Any | None = None,
           acq_days: Any | None = None, at: Any | None = None, min_obs: int | None = None,
           clip: Any = "plausible", period: str | None = None,
           span: tuple[date, date] | None = None, also_period: str | None = None,
           **params: Any) -> Any:
    """Smooth and gap-fill a ``(time, y, x)`` stack, lazily, one dask chunk of pixels at a time
    (the time axis is put in one chunk).

    Parameters
    ----------
    stack
        Physical values with a ``time`` coordinate; NaN = missing.
    method
        ``"whittaker"`` (V-curve λ per pixel), ``"whittaker_asymmetric"`` (upper envelope,
        ``p`` default 0.9), ``"lacc"`` or ``"savgol"`` (Chen et al. 2004).
    weights
        QA weights in [0, 1] on the stack's dims (0 = ignore the observation).
    acq_days
        Per-pixel acquisition days (:func:`acquisition_days`); default the ``time`` values.
    at
        Output dates (datetime64 array), e.g. daily; default the input times.
    min_obs
        Pixels with fewer usable observations are left NaN (default: 20 % of the series,
        at least 4) and counted in ``n_insufficient``.
    period
        Average the daily curve over these periods (:func:`periods` kinds) instead of
        returning values at ``at``.
    span
        ``(first, last)`` day of the run, inclusive: the periods are those overlapping it, and
        the open-ended ``"beps_d"`` periods are cut to it.  Default: the stack's first and
        last ``time``.
    also_period
        A second period kind averaged from the same daily curve: variable
        ``<name>_<kind>`` on the dim ``time_<kind>`` (with ``period_end_<kind>`` and
        ``period_label_<kind>``), e.g. BEPS_D's day table beside monthly means.
    params
        Method parameters: ``llas`` (log10 λ grid), ``p``; ``lam``, ``p``, ``iterations``
        (LACC); ``max_iter`` (SG).

    Returns
    -------
    xarray.Dataset
        ``<name>`` smoothed (float32), ``n_obs`` per pixel, ``lambda`` (Whittaker), and the
        0-d ``n_insufficient``; the method and parameters in ``attrs``.
    """
    import xarray as xr

    if method not in METHODS:
        raise TimeSeriesError(
            f"unknown smoothing method {method!r}; use one of {', '.join(METHODS)}")
    stack = stack.sortby("time")
    name = stack.name or "value"
    t = stack.sizes["time"]
    min_obs = max(4, int(np.ceil(0.2 * t))) if min_obs is None else int(min_obs)
    days = acquisition_days(stack) if acq_days is None else acq_days
    pers, extra, reduce = None, [], None
    if also_period is not None and period is None:
        raise TimeSeriesError("also_period= needs period=")
    if period is not None:
        if at is not None:
            raise TimeSeriesError("give either at= or period=, not both")
        sets = [periods(k, *_span(stack, span)) for k in (period, also_period) if k]
        for k, ps in zip((period, also_period), sets, strict=False):
            if not ps:
                raise TimeSeriesError(f"no {k!r} period lies in the span {span}")
        pers, extra = sets[0], sets[1:]
        at = np.arange(min(np.datetime64(ps[0].start) for ps in sets),
                       max(np.datetime64(ps[-1].end) for ps in sets) + 1)
        reduce = [(*_cuts(ps, at[0], len(at)), np.array([p.days for p in ps], "float64"))
                  for ps in sets]
    at_days = None if at is None else _days(np.asarray(at))
    w = xr.ones_like(stack, dtype="float32") if weights is None else weights
    args = [a.chunk({"time": -1}) if a.chunks else a for a in (stack, w, days)]
    out_dim = "time" if at is None else "time_out"
    if "llas" not in params and method.startswith("whittaker"):
        params["llas"] = default_lambda_grid()

    if clip == "plausible":
        rng = stack.attrs.get("plausible_range")
        clip = None if rng is None else (float(rng[0]), float(rng[1]))
    clip = None if clip is None else (float(clip[0]), float(clip[1]))

    def kernel(y, ww, x):
        return _smooth_kernel(y, ww, x, at_days, method, min_obs, params, clip, reduce)

    z, lam, n_obs = xr.apply_ufunc(
        kernel, *args, input_core_dims=[["time"]] * 3,
        output_core_dims=[[out_dim], [], []], dask="parallelized",
        output_dtypes=["float32", "float64", "int32"], exclude_dims={"time"},
        dask_gufunc_kwargs={"output_sizes": {out_dim: t if at is None else len(at_days)
                                             if pers is None else
                                             sum(len(ps) for ps in (pers, *extra))}})
    also = None
    if pers is not None:
        if extra:
            also = _on_periods(z.isel(time_out=slice(len(pers), None)), extra[0],
                               f"time_{also_period}", f"_{also_period}")
            z = z.isel(time_out=slice(0, len(pers)))
        z = _on_periods(z, pers, "time", "")
    elif at is None:
        z = z.assign_coords(time=stack.time.values)
    else:
        z = z.rename({"time_out": "time"}).assign_coords(time=np.asarray(at, "datetime64[ns]"))
    ds = xr.Dataset({name: z.transpose("time", ...), "n_obs": n_obs,
                     "n_insufficient": (n_obs < min_obs).sum()})
    if also is not None:
        ds[f"{name}_{also_period}"] = also.transpose(f"time_{also_period}", ...)
    if method.startswith("whittaker"):
        ds["lambda"] = lam
    ds.attrs.update(stack.attrs)
    ds.attrs["smoother"] = method
    ds.attrs["smoother_parameters"] = repr({k: (list(v) if isinstance(v, np.ndarray) else v)
                                            for k, v in {**params, "min_obs": min_obs, "clip": clip,
                                                         "ends": "held",
                                                         "period": period}.items()})
    return ds
