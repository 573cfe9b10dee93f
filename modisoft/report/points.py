"""Time series at a few pixels: what went in (the granules' observations and their QA weights),
the curve the run smoothed them into, and the periods it wrote.

The observations are read again from the granules, the source pixel under the output pixel's
centre (what ``resampling = "nearest"`` uses; an area method averages more), decoded, with the
weight the run gives them (:func:`modisoft.pipeline.qa.observation_weights`: the QA rule and
the ``[steps] weights`` scheme).  They are then smoothed (or composited) again with the run's
method and parameters (:func:`modisoft.timeseries.smooth`), and the periods this gives are
compared with the ones the Zarr store holds: a check, independent of the run's own mosaic and
stage, that the store holds what its inputs say.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from modisoft.errors import ModisoftError, PointOutsideGridError

__all__ = ["PixelSeries", "pixel_series", "representative_pixels"]


@dataclass
class PixelSeries:
    """One pixel's series, as drawn in the report.

    ``obs_*``: per run date, the decoded observation (NaN: none or a fill class, named in
    ``obs_class``) and its weight; ``curve_*``: the daily smoothed curve (empty without a
    smoother); ``period_*``: the periods the store holds; ``recomputed``: the periods
    computed again from the observations (``None`` when not computed).
    """

    label: str
    row: int
    col: int
    lon: float
    lat: float
    tile: str = ""
    obs_dates: Any = None
    obs_values: Any = None
    obs_weights: Any = None
    obs_class: Any = None
    curve_dates: Any = None
    curve_values: Any = None
    period_start: Any = None
    period_end: Any = None
    period_values: Any = None
    recomputed: Any = None
    note: str = ""

    @property
    def max_difference(self) -> float | None:
        """The largest absolute difference between the recomputed and the stored periods
        (where both have a value); ``None`` when not recomputed, NaN when no period has
        both."""
        if self.recomputed is None:
            return None
        a, b = np.asarray(self.recomputed, "float64"), np.asarray(self.period_values, "float64")
        both = np.isfinite(a) & np.isfinite(b)
        return float(np.abs(a - b)[both].max()) if both.any() else float("nan")

    @property
    def same_gaps(self) -> bool:
        """Whether the recomputed and stored periods lack a value at the same periods."""
        if self.recomputed is None:
            return True
        return bool(np.array_equal(np.isfinite(self.recomputed), np.isfinite(self.period_values)))


def representative_pixels(mean: np.ndarray) -> list[tuple[str, int, int]]:
    """The pixels of highest, median and lowest non-zero mean: ``(label, row, col)``.

    Examples
    --------
    >>> representative_pixels(np.array([[0.0, 1.0], [np.nan, 3.0]]))
    [('highest mean', 1, 1), ('median mean', 0, 1)]
    """
    m = np.asarray(mean, "float64")
    ok = np.isfinite(m) & (m > 0)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return []
    order = idx[np.argsort(m.ravel()[idx], kind="stable")]
    picks = [("highest mean", order[-1]), ("median mean", order[(order.size - 1) // 2]),
             ("lowest non-zero mean", order[0])]
    out, seen = [], set()
    for label, i in picks:
        if int(i) not in seen:
            seen.add(int(i))
            r, c = np.unravel_index(int(i), m.shape)
            out.append((label, int(r), int(c)))
    return out


def pixel_series(rec: Any, pixels: list[tuple[str, int, int]]) -> list[PixelSeries]:
    """The series of ``pixels`` (``(label, row, col)`` on the output grid) of the run
    ``rec`` (:class:`~modisoft.report.record.RunRecord`).

    The store's periods always; for a run of an LAI product also the observations (from the
    granules that were verified readable and are still there) and, recomputed from them,
    the smoothed curve and the periods.
    """
    ds, grid, name = rec.dataset, rec.grid, rec.variable
    sel_r = [r for _, r, _ in pixels]
    sel_c = [c for _, _, c in pixels]
    import xarray as xr

    stored = ds[name].isel(y=xr.DataArray(sel_r, dims="p"), x=xr.DataArray(sel_c, dims="p"))
    stored = np.asarray(stored.transpose("p", "time").values, "float64")
    starts = np.asarray(ds["time"].values).astype("datetime64[D]")
    ends = np.asarray(ds["period_end"].values).astype("datetime64[D]") \
        if "period_end" in ds.coords else starts
    xs, ys = grid.x_coords(), grid.y_coords()
    from pyproj import Transformer

    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    out = []
    for k, (label, r, c) in enumerate(pixels):
        lon, lat = to_ll.transform(float(xs[c]), float(ys[r]))
        out.append(PixelSeries(label, r, c, float(lon), float(lat), period_start=starts,
                               period_end=ends, period_values=stored[k]))
    series = rec.summary.get("series", {})
    if series.get("lai") == "product" and series.get("dates"):
        _observations(rec, out, [(float(xs[p.col]), float(ys[p.row])) for p in out])
        found = [p for p in out if p.obs_values is not None]
        if found:
            _recompute(rec, found, name)
    return out


def _granules_by_tile(rec: Any) -> dict[str, list[tuple[str, str]]]:
    """Per tile, ``(ISO date, path)`` of the granules verified readable (still there)."""
    from modisoft.catalog import parse_filename
    from modisoft.errors import GranuleReadError

    by_tile: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, v in rec.verified.items():
        if not v.get("ok") or not os.path.exists(path):
            continue
        try:
            g = parse_filename(path)
        except (GranuleReadError, ValueError):
            continue
        if g.tile_id and g.start_date:
            by_tile[g.tile_id].append((g.start_date.isoformat(), path))
    return {t: sorted(v) for t, v in sorted(by_tile.items())}


def _observations(rec: Any, pts: list[PixelSeries], xy: list[tuple[float, float]]) -> None:
    """Fill ``obs_*`` of ``pts`` from the granules (see the module's docstring)."""
    from modisoft.grids import Grid
    from modisoft.io.granule import open_granule
    from modisoft.plot import pixel_of_points

    series, steps = rec.summary["series"], rec.config.get("steps", {})
    product = rec.config.get("inputs", {}).get("product", "")
    layers = [series["value_layer"], *series.get("qa_layers", [])]
    dates = series["dates"]
    where = {d: i for i, d in enumerate(dates)}
    crs = rec.grid.crs
    for p in pts:
        p.obs_dates = np.array(dates, "datetime64[D]")
        p.obs_values = np.full(len(dates), np.nan)
        p.obs_weights = np.zeros(len(dates))
        p.obs_class = np.full(len(dates), "", object)
    todo = set(range(len(pts)))
    for tile, granules in _granules_by_tile(rec).items():
        if not todo:
            break
        try:
            first = open_granule(granules[0][1], layers)
        except (ModisoftError, OSError):
            continue
        tgrid = Grid.from_xarray(first[layers[0]])
        inside = {}
        for k in sorted(todo):
            try:
                inside[k] = pixel_of_points(tgrid, [xy[k]], crs=crs)[0]
            except PointOutsideGridError:
                continue
        if not inside:
            continue
        todo -= set(inside)
        for k in inside:
            pts[k].tile = tile
        for day, path in granules:
            if day not in where:
                continue
            try:
                ds = first if path == granules[0][1] else open_granule(path, layers)
                found = _read_pixels(ds, layers, list(inside.values()), steps, product)
            except (ModisoftError, OSError, ValueError) as exc:
                for k in inside:
                    pts[k].note = f"{os.path.basename(path)}: {exc}"
                continue
            for (k, _), (value, weight, cls) in zip(inside.items(), found, strict=True):
                i = where[day]
                pts[k].obs_values[i], pts[k].obs_weights[i], pts[k].obs_class[i] = \
                    value, weight, cls
    for k in todo:
        pts[k].obs_values = None
        pts[k].note = "no verified granule holds this pixel any more"


def _read_pixels(ds: Any, layers: list[str], rc: list[tuple[int, int]],
                 steps: dict[str, Any], product: str) -> list[tuple[float, float, str]]:
    """``(value, weight, fill class name)`` at ``rc`` of one granule, as the run sees them
    (``product``: the run's ``[inputs] product``)."""
    import xarray as xr

    from modisoft.decode import decode_values, layer_of
    from modisoft.qa import qa_mask, qa_weights

    tag = ds.attrs.get("registry_product")
    pick = ds[layers].isel(y=xr.DataArray([r for r, _ in rc], dims="p"),
                           x=xr.DataArray([c for _, c in rc], dims="p")).compute()
    raw = pick[layers[0]]
    layer = layer_of(raw, tag)
    values = decode_values(np.asarray(raw.values), layer).astype("float64")
    names = {c.code: c.name for c in layer.fill_classes}
    classes = ["" if np.isfinite(v) else names.get(int(s), "no value")
               for v, s in zip(values, np.asarray(raw.values), strict=True)]
    w = np.isfinite(values).astype("float64")
    rule, scheme = steps.get("qa_rule", "none"), steps.get("weights")
    if len(layers) > 1:
        qa = pick[layers[1:]]
        if scheme:
            w = w * np.asarray(qa_weights(qa, product=product, scheme=scheme).values, "float64")
        if rule != "none":
            w = np.where(np.asarray(qa_mask(qa, rule, product=tag or product).values), w, 0.0)
    return list(zip(values.tolist(), w.tolist(), classes, strict=True))


def _recompute(rec: Any, pts: list[PixelSeries], name: str) -> None:
    """The daily curves and the periods of ``pts``' observations, as the run computed them
    (one call for all the pixels: a ``(time, 1, pixel)`` stack)."""
    import xarray as xr

    from modisoft.errors import TimeSeriesError
    from modisoft.timeseries import composite, smooth

    steps, series = rec.config.get("steps", {}), rec.summary["series"]
    t = pts[0].obs_dates.astype("datetime64[ns]")
    w = np.stack([p.obs_weights for p in pts], axis=-1)[:, None, :]
    v = np.where(w > 0, np.stack([p.obs_values for p in pts], axis=-1)[:, None, :], np.nan)
    dims = ("time", "y", "x")
    stack = xr.DataArray(v.astype("float32"), dims=dims, coords={"time": t}, name=name)
    weights = xr.DataArray(w.astype("float32"), dims=dims, coords={"time": t})
    span = tuple(date.fromisoformat(s) for s in series["span"]) if series.get("span") else None
    method = steps.get("smoother", "none")
    first, last = pts[0].period_start[0], pts[0].period_end[-1]
    try:
        if method == "none":
            res = composite(stack, steps.get("period"), steps.get("reducer", "max"),
                            weights=weights, span=span)
        else:
            params = steps.get("smoother_params") or {}
            res = smooth(stack, method, weights=weights, min_obs=steps.get("min_obs"),
                         period=steps.get("period"), span=span,
                         also_period=series.get("also_period"), **params)
            at = np.arange(first, last + 1).astype("datetime64[ns]")
            daily = np.asarray(smooth(stack, method, weights=weights, min_obs=steps.get(
                "min_obs"), at=at, **params)[name].transpose("time", "y", "x").values)
            for k, p in enumerate(pts):
                p.curve_dates, p.curve_values = at.astype("datetime64[D]"), daily[:, 0, k]
    except (TimeSeriesError, ValueError) as exc:
        for p in pts:
            p.note = f"not recomputed: {exc}"
        return
    got = np.asarray(res[name].transpose("time", "y", "x").values, "float64")
    if got.shape[0] == len(pts[0].period_values):
        for k, p in enumerate(pts):
            p.recomputed = got[:, 0, k]
