"""The record's segments checked before anything is computed: each segment's store opened
for its metadata only (or its run configuration read), one grid (the cover layer's too), one
period scheme, the joins of ``[relation.overlap]`` exactly the neighbouring segments', each
overlap inside both segments' years, an AVHRR SR segment next to MODIS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import GridError, RecordError
from modisoft.lai.record import check_period_scheme, check_same_grid, join_name
from modisoft.pipeline.record_config import RecordConfig, SegmentConfig

__all__ = ["SegmentPlan", "check_record", "open_cover"]


@dataclass
class SegmentPlan:
    """A segment as :func:`check_record` found it: its store, grid, period scheme and span
    (``run`` set: the run configuration to run first)."""

    sensor: str
    store: Path
    variable: str
    quantity: str
    grid: Any
    period: str | None
    first: date
    last: date
    run: Any = None
    times: Any = None


def _from_store(cfg: RecordConfig, seg: SegmentConfig) -> SegmentPlan:
    import json

    from modisoft.io.stack import open_stack
    from modisoft.write.zarr_store import STATUS_ATTR

    p = cfg.resolve(seg.store)
    if not p.exists():
        raise RecordError(f"[[segments]] {seg.sensor} store: no such store {p}")
    try:
        ds = open_stack(p)
    except Exception as exc:  # not a Zarr store / NetCDF file: say which and why
        raise RecordError(f"[[segments]] {seg.sensor} store {p}: cannot be opened ({exc})") \
            from None
    if ds.attrs.get(STATUS_ATTR) == "incomplete":  # a run died writing it, or is writing
        raise RecordError(f"[[segments]] {seg.sensor} store {p}: incomplete (its run was "
                          "interrupted or is still writing); rerun its 'modisoft run' to finish "
                          "it, or give the run's config as the segment's config")
    if seg.variable not in ds or ds[seg.variable].dims != ("time", "y", "x"):
        have = [v for v in ds.data_vars if ds[v].dims == ("time", "y", "x")]
        raise RecordError(f"[[segments]] {seg.sensor} store {p}: no (time, y, x) variable "
                          f"{seg.variable!r}; it has {', '.join(have) or 'none'} (set variable)")
    std = ds[seg.variable].attrs.get("standard_name")
    if seg.quantity == "lai" and std is not None and std != "leaf_area_index":
        raise RecordError(f"[[segments]] {seg.sensor} store {p}: variable {seg.variable!r} holds "
                          f"{std} (units {ds[seg.variable].attrs.get('units', '?')}), not "
                          "leaf_area_index; a record joins LAI (or AVHRR simple ratio with "
                          "quantity = 'sr')")
    try:
        period = json.loads(ds.attrs.get("modisoft_provenance", "{}")).get(
            "config", {}).get("steps", {}).get("period")
    except (ValueError, AttributeError):
        period = None
    t = ds["time"].values.astype("datetime64[D]")
    ends = ds["period_end"].values if "period_end" in ds.coords else None
    labels = ds["period_label"].values if "period_label" in ds.coords else None
    kind = period or cfg.period
    if kind is None:
        raise RecordError(f"[[segments]] {seg.sensor} store {p}: its provenance does not say "
                          "its period scheme; give it as [record] period")
    check_period_scheme(kind, t, ends, labels, f"[[segments]] {seg.sensor} store {p}")
    return SegmentPlan(seg.sensor, p, seg.variable, seg.quantity,
                       _grid(ds, f"[[segments]] {seg.sensor} store {p}"), period,
                       t.min().astype(date), t.max().astype(date), times=t)


def _grid(ds: Any, where: str) -> Any:
    """The grid of a store or layer, or :class:`RecordError` naming it."""
    from modisoft.grids import Grid

    try:
        return Grid.from_xarray(ds)
    except GridError as exc:
        raise RecordError(f"{where}: {exc}; accepted: a store written by 'modisoft run' (or "
                          "any layer with its grid mapping, e.g. a GeoTIFF) on the record's "
                          "grid") from None


def _from_run(cfg: RecordConfig, seg: SegmentConfig) -> SegmentPlan:
    from modisoft.pipeline.config import load_config, resolve_grid
    from modisoft.pipeline.limits import planned_dates
    from modisoft.pipeline.metadata import output_quantity
    from modisoft.pipeline.series import output_stores

    run = load_config(cfg.resolve(seg.config))
    q = output_quantity(run)
    if seg.quantity == "lai" and not q.is_lai:
        raise RecordError(f"[[segments]] {seg.sensor} config {cfg.resolve(seg.config)}: the run "
                          f"writes {q.name} ({q.long_name}), not leaf area index; a record "
                          "joins LAI (give an LAI layer as [inputs] layer, or retrieve LAI)")
    days = planned_dates(run)
    if not days:
        raise RecordError(f"[[segments]] {seg.sensor} config {seg.config}: give [inputs] "
                          "start and end (or years), so the record can order its segments")
    return SegmentPlan(seg.sensor, output_stores(run)["lai"], output_quantity(run).name,
                       seg.quantity, resolve_grid(run), run.steps.period, min(days),
                       max(days), run)


def check_record(cfg: RecordConfig) -> tuple[list[SegmentPlan], Any]:
    """Open every segment's metadata (or read its run config) and check the record: one grid
    (the cover layer's too), one period scheme, the joins named in ``[relation.overlap]``
    exactly the neighbouring segments' (in time order), overlaps inside both segments' spans,
    an AVHRR SR segment next to MODIS.  Reads no pixel.

    Returns
    -------
    (list of SegmentPlan, Grid)
        The segments in time order, and the record's grid.

    Raises
    ------
    RecordError, ConfigError
        The first problem found, naming the segment, the key and the value.
    """
    try:
        return _check(cfg)
    except RecordError as exc:
        raise RecordError(f"{cfg.path}: {exc}" if cfg.path else str(exc)) from None


def _check(cfg: RecordConfig) -> tuple[list[SegmentPlan], Any]:
    plans = [(_from_store if s.store else _from_run)(cfg, s) for s in cfg.segments]
    plans.sort(key=lambda p: (p.first, p.last))
    grids = [(f"segment {p.sensor} ({p.store})", p.grid) for p in plans]
    if cfg.cover:
        grids.append((f"[relation] cover {cfg.cover}", _cover_grid(cfg)))
    grid = check_same_grid(grids)
    kinds = {p.period or cfg.period for p in plans} - {None}
    if cfg.period is not None:
        kinds.add(cfg.period)
    if len({k.lower() for k in kinds}) > 1:
        raise RecordError("segments on different period schemes: " + ", ".join(
            f"{p.sensor} {p.period or cfg.period!r}" for p in plans)
            + (f", [record] period {cfg.period!r}" if cfg.period else "")
            + "; a record needs one ([steps] period of every run)")
    names = [join_name(a.sensor, b.sensor) for a, b in pairwise(plans)]
    if sorted(cfg.overlap) != sorted(names):
        raise RecordError(f"[relation.overlap] names the joins {', '.join(cfg.overlap)}; the "
                          f"segments in time order make the joins {', '.join(names)}")
    bad = sorted(set(cfg.uncorrected) - set(names))
    if bad:
        raise RecordError(f"[relation] uncorrected: no join {', '.join(bad)}; the joins are "
                          f"{', '.join(names)}")
    for (a, b), name in zip(pairwise(plans), names, strict=True):
        lo, hi = cfg.overlap[name]
        if a.last < b.first:
            raise RecordError(f"join {name}: {a.sensor} ({a.first} to {a.last}) and {b.sensor} "
                              f"({b.first} to {b.last}) do not overlap in time; a join needs "
                              "periods both segments have, to fit its relation on")
        if lo > min(a.last, b.last) or hi < max(a.first, b.first):
            raise RecordError(f"[relation.overlap] {name} = {lo} to {hi}: outside the years "
                              f"both segments cover ({a.sensor} {a.first} to {a.last}, "
                              f"{b.sensor} {b.first} to {b.last})")
        if a.times is not None and b.times is not None:  # both stores: their periods known
            both = np.intersect1d(a.times, b.times)
            if not ((both >= np.datetime64(lo)) & (both <= np.datetime64(hi))).any():
                raise RecordError(f"[relation.overlap] {name} = {lo} to {hi}: {a.sensor} and "
                                  f"{b.sensor} have no period in common in it ({both.size} in "
                                  "all); choose an overlap where both segments have periods")
            n = int(((both >= np.datetime64(lo)) & (both <= np.datetime64(hi))).sum())
            _check_fit_memory(name, lo, hi, n, grid)
    _check_sr(cfg, plans, names)
    return plans, grid


#: Bytes per pixel and period of an overlap while its relation is fitted: both sensors'
#: values as float64, their copies at the valid pairs, the pairs' cover and season codes.
FIT_BYTES_PER_VALUE = 56


def _check_fit_memory(name: str, lo: Any, hi: Any, periods: int, grid: Any) -> None:
    """Refuse, before any work, a join whose overlap does not fit in this machine's available
    memory while its relation is fitted (the fit reads the whole overlap at once)."""
    from modisoft.pipeline.limits import available_memory, fmt_bytes

    need = FIT_BYTES_PER_VALUE * periods * int(np.prod(grid.shape))
    have = available_memory()
    if have is not None and need > have:
        raise RecordError(
            f"[relation.overlap] {name} = {lo} to {hi}: {periods} periods on the "
            f"{grid.shape[0]} x {grid.shape[1]} grid need about {fmt_bytes(need)} to fit the "
            f"relation, more than the {fmt_bytes(have)} of memory available; choose a shorter "
            "overlap (a year is usually enough) or a coarser grid")


def _check_sr(cfg: RecordConfig, plans: list[SegmentPlan], names: list[str]) -> None:
    order = [p.sensor for p in plans]
    for k, p in enumerate(plans):
        if p.quantity != "sr":
            continue
        near = order[k + 1] if k == 0 else order[k - 1] if k == len(order) - 1 else None
        if near != "MODIS" or cfg.reference == "AVHRR":
            raise RecordError("[[segments]] AVHRR quantity 'sr': the SR segment is tied to "
                              "MODIS, so it must be the first or last segment, next to the "
                              "MODIS segment, and the reference sensor must not be AVHRR")
        tie = names[0] if k == 0 else names[-1]
        if tie in cfg.uncorrected:
            raise RecordError(f"[relation] uncorrected: {tie} ties AVHRR SR to MODIS and "
                              "cannot be left uncorrected (SR is not LAI)")


def _cover_grid(cfg: RecordConfig) -> Any:
    return _grid(open_cover(cfg), f"[relation] cover {cfg.resolve(cfg.cover)}")


def open_cover(cfg: RecordConfig) -> Any:
    """The ``[relation] cover`` layer as ``(y, x)`` codes (a GeoTIFF, or a NetCDF/Zarr stack
    with ``cover_variable``)."""
    from modisoft.io.stack import open_geotiff, open_stack

    p = cfg.resolve(cfg.cover)
    if not p.exists():
        raise RecordError(f"[relation] cover: no such file {p}")
    if p.suffix.lower() in (".tif", ".tiff"):
        ds = open_geotiff(p)
        da = ds[next(iter(ds.data_vars))]
    else:
        ds = open_stack(p)
        if cfg.cover_variable not in ds:
            raise RecordError(f"[relation] cover {p}: no variable {cfg.cover_variable!r} "
                              f"(it has {', '.join(map(str, ds.data_vars))}; set cover_variable)")
        da = ds[cfg.cover_variable]
    if da.dims != ("y", "x"):
        raise RecordError(f"[relation] cover {p}: need one (y, x) layer, got dims {da.dims}")
    return da
