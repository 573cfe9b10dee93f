"""One long LAI record from several sensors' segments (AVHRR → MODIS → VIIRS).

The segments are LAI stacks ``(time, y, x)`` on one grid and one period scheme.  Ordered by
their first period, each pair of neighbours meets at a *join*; over the overlap period the
user names for a join, a relation is fitted per cover type
(:func:`modisoft.lai.relation.fit_relation`) from the sensor farther from the reference sensor
(the *source*) to the nearer one (the *target*), and applied — chained join after join — to
put every segment on the reference sensor's scale (:func:`~modisoft.lai.relation.
apply_relation`; a pixel whose cover type has no fit, or no cover type, takes the fit pooled
over all pixels).  An AVHRR segment of simple ratio (SR)
instead of LAI is tied to its MODIS neighbour pixel by pixel, the GLOBMAP recipe
(:func:`~modisoft.lai.fit_avhrr_relation`); that tie gives LAI on MODIS's scale.

Where segments overlap in time, the record takes each period from **one** sensor, the first
of ``priority`` that has the period (default :func:`default_priority`: the reference sensor,
then the others from the newest segment to the oldest), and says which in its ``sensor``
coordinate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

import numpy as np

from modisoft.errors import RecordError, RelationError
from modisoft.lai.avhrr import apply_avhrr_relation, fit_avhrr_relation
from modisoft.lai.relation import apply_relation, fit_relation, relation_record

__all__ = ["RECORD_ATTR", "SENSORS", "Join", "Segment", "assemble", "check_period_scheme",
           "check_same_grid", "default_priority", "fit_joins", "join_name", "order_segments",
           "to_reference"]

RECORD_ATTR = "modisoft_record"
"""The root attribute (JSON) of a record's Zarr store: segments, relations, continuity."""

SENSORS = ("AVHRR", "MODIS", "VIIRS")
"""The sensor names a segment may carry."""


@dataclass
class Segment:
    """One sensor's part of the record.

    Attributes
    ----------
    sensor
        ``"AVHRR"``, ``"MODIS"`` or ``"VIIRS"``.
    values
        ``(time, y, x)`` LAI (or AVHRR SR with ``quantity = "sr"``), with ``period_end`` and
        ``period_label`` coordinates as a run writes them.
    quantity
        ``"lai"``, or ``"sr"``: an AVHRR simple-ratio stack to tie to MODIS.
    source
        Where it came from (a store's path), for messages and provenance.
    """

    sensor: str
    values: Any
    quantity: str = "lai"
    source: str = ""

    @property
    def first(self) -> np.datetime64:
        return np.asarray(self.values["time"].values).min()

    @property
    def last(self) -> np.datetime64:
        return np.asarray(self.values["time"].values).max()


@dataclass
class Join:
    """The relation fitted at one join.

    Attributes
    ----------
    name
        ``"<earlier>-<later>"``, e.g. ``"AVHRR-MODIS"``.
    source, target
        The sensor whose values the relation maps, and onto whose scale.
    overlap
        The overlap period (first and last day) the relation is fitted on.
    relation
        The relation (:func:`modisoft.lai.relation.fit_relation`'s Dataset), or the per-pixel
        AVHRR tie (:func:`~modisoft.lai.fit_avhrr_relation`'s) when ``kind`` is
        ``"avhrr_sr"``.
    kind
        ``"relation"`` or ``"avhrr_sr"``.
    applied
        ``False``: fitted and recorded, but left uncorrected (the record keeps the source's
        scale across this join).
    periods
        How many periods both segments have in the overlap.
    """

    name: str
    source: str
    target: str
    overlap: tuple[date, date]
    relation: Any
    kind: str = "relation"
    applied: bool = True
    periods: int = 0
    record: dict[str, Any] = field(default_factory=dict)


def join_name(earlier: str, later: str) -> str:
    """The name of the join between two sensors, earlier first: ``"AVHRR-MODIS"``."""
    return f"{earlier}-{later}"


def order_segments(segments: Sequence[Segment]) -> list[Segment]:
    """The segments in time order (by first, then last period)."""
    return sorted(segments, key=lambda s: (s.first, s.last))


def default_priority(segments: Sequence[Segment], reference: str) -> list[str]:
    """The reference sensor first, then the other segments' sensors from newest to oldest."""
    rest = [s.sensor for s in reversed(order_segments(segments)) if s.sensor != reference]
    return [reference, *rest]


def check_same_grid(grids: Sequence[tuple[str, Any]]) -> Any:
    """The one grid of ``grids`` (``(name, Grid)`` pairs), or :class:`RecordError` naming the
    first two that differ."""
    (name0, g0), *rest = grids
    for name, g in rest:
        if not g0.almost_equals(g):
            raise RecordError(f"{name} is on {g!r}, but {name0} is on {g0!r}: all segments of "
                              "a record (and its cover layer) must be on one grid; run them "
                              "with the same [grid]")
    return g0


def check_period_scheme(kind: str, times: Any, ends: Any, labels: Any, where: str) -> None:
    """That every period of a segment is a period of ``kind``
    (:func:`modisoft.timeseries.periods`), matched by label with the same first and last day
    (the first and last period of a ``beps_d`` run may be cut to the run's days).

    Raises
    ------
    RecordError
        Naming the segment, the period and what the scheme has there.
    """
    from modisoft.errors import TimeSeriesError
    from modisoft.timeseries.periods import periods

    t = np.asarray(times).astype("datetime64[D]")
    e = np.asarray(ends if ends is not None else times).astype("datetime64[D]")
    if t.size == 0:
        raise RecordError(f"{where}: no periods")
    try:
        table = {p.label: p for p in periods(kind, t.min().astype(date), e.max().astype(date))}
    except TimeSeriesError as exc:
        raise RecordError(f"{where}: {exc}") from None
    cut = kind.lower().startswith("beps_d")
    for k, (start, end) in enumerate(zip(t.astype(date), e.astype(date), strict=True)):
        label = str(labels[k]) if labels is not None else None
        p = table.get(label) if label else next(
            (q for q in table.values() if q.start == start), None)
        ok = p is not None and (p.start == start or (cut and k == 0)) and \
            (p.end == end or (cut and k == len(t) - 1) or ends is None)
        if not ok:
            want = f"{p.start} to {p.end}" if p is not None else "no such period"
            raise RecordError(f"{where}: period {label or start} ({start} to {end}) is not a "
                              f"{kind!r} period ({want}); all segments of a record must use "
                              "one period scheme ([record] period)")


def _fit(source: Any, target: Any, strata: Any, *, form: str, season: Any, n_min: int,
         source_sensor: str, target_sensor: str) -> Any:
    try:
        return fit_relation(source, target, strata, form=form, season=season, n_min=n_min,
                            source_sensor=source_sensor, target_sensor=target_sensor)
    except RelationError as exc:
        raise RecordError(f"the relation {source_sensor} -> {target_sensor}: {exc}") from None


def _avhrr_tie_record(tie: Any) -> dict[str, Any]:
    src = np.asarray(tie["fit_source"].values)
    b, a = np.asarray(tie["b"].values), np.asarray(tie["a"].values)
    return {"form": "LAI_MODIS = a + b * SR_AVHRR per pixel (Huber IRLS), cover-type fallback",
            "source_sensor": "AVHRR", "target_sensor": "MODIS",
            "pixels": {"pixel": int((src == 0).sum()), "cover_type_fallback":
                       int((src == 1).sum()), "none": int((src == 2).sum())},
            "median_a": float(np.nanmedian(a)) if np.isfinite(a).any() else None,
            "median_b": float(np.nanmedian(b)) if np.isfinite(b).any() else None,
            **{k: tie.attrs[k] for k in ("n_min", "r2_min", "cover_fits") if k in tie.attrs}}


def _common(a: Any, b: Any, overlap: tuple[date, date]) -> tuple[Any, Any]:
    """Both segments' periods that both have, within the overlap."""
    lo, hi = np.datetime64(overlap[0], "ns"), np.datetime64(overlap[1], "ns")
    ta, tb = np.asarray(a["time"].values), np.asarray(b["time"].values)
    both = np.intersect1d(ta, tb)
    both = both[(both >= lo) & (both <= hi)]
    return a.sel(time=both), b.sel(time=both)


def fit_joins(segments: Sequence[Segment], overlaps: dict[str, tuple[date, date]], *,
              reference: str = "MODIS", cover: Any = None, form: str = "linear",
              season: Any = None, n_min: int = 30, uncorrected: Sequence[str] = (),
              avhrr_n_min: int = 10, avhrr_r2_min: float = 0.5) -> list[Join]:
    """Fit the relation of every join over its overlap period.

    Parameters
    ----------
    segments
        The segments (any order; each sensor once).
    overlaps
        Per join name (:func:`join_name` of time-ordered neighbours), its first and last day.
    reference
        The sensor whose scale the record takes.
    cover
        ``(y, x)`` cover codes on the segments' grid (``None``: one stratum).
    form, season, n_min
        Passed to :func:`modisoft.lai.relation.fit_relation`.
    uncorrected
        Join names whose relation is fitted and recorded but not applied.
    avhrr_n_min, avhrr_r2_min
        A pixel of an AVHRR SR tie keeps its own fit with at least ``avhrr_n_min`` pairs and
        R² ≥ ``avhrr_r2_min`` (else its cover type's, :func:`~modisoft.lai.
        fit_avhrr_relation`'s defaults).

    Returns
    -------
    list of Join
        In time order.

    Raises
    ------
    RecordError
        A join without an overlap name, or with no period both segments have in it.
    """
    segs = order_segments(segments)
    r = [s.sensor for s in segs].index(reference)
    joins = []
    for j, (early, late) in enumerate(pairwise(segs)):
        name = join_name(early.sensor, late.sensor)
        if name not in overlaps:
            raise RecordError(f"join {name}: no overlap period given ([relation.overlap] "
                              f"{name} = [FIRST_DAY, LAST_DAY])")
        src, dst = (early, late) if j < r else (late, early)
        xs, ys = _common(src.values, dst.values, overlaps[name])
        if xs.sizes["time"] == 0:
            raise RecordError(f"join {name}: {early.sensor} and {late.sensor} have no period in "
                              f"common within the overlap {overlaps[name][0]} to "
                              f"{overlaps[name][1]}")
        if src.quantity == "sr":
            rel = fit_avhrr_relation(xs, ys, cover, n_min=avhrr_n_min, r2_min=avhrr_r2_min)
            rec, kind = _avhrr_tie_record(rel), "avhrr_sr"
        else:
            rel = _fit(xs, ys, cover, form=form, season=season, n_min=n_min,
                       source_sensor=src.sensor, target_sensor=dst.sensor)
            rec, kind = relation_record(rel), "relation"
        joins.append(Join(name, src.sensor, dst.sensor, overlaps[name], rel, kind,
                          name not in uncorrected, int(xs.sizes["time"]), rec))
    return joins


def to_reference(segments: Sequence[Segment], joins: Sequence[Join], reference: str,
                 cover: Any = None) -> dict[str, Any]:
    """Every segment's values on the reference sensor's scale: each join's relation between
    the segment and the reference applied in turn, from the segment's side inward (a join
    left uncorrected is skipped).

    Returns
    -------
    dict
        ``{sensor: (time, y, x) float32 LAI}``.
    """
    segs = order_segments(segments)
    names = [s.sensor for s in segs]
    r = names.index(reference)
    out = {}
    for k, seg in enumerate(segs):
        v = seg.values
        steps = list(range(k, r)) if k < r else list(range(k - 1, r - 1, -1))
        for j in steps:
            join = joins[j]
            if join.kind == "avhrr_sr":
                v = apply_avhrr_relation(v, join.relation)
            elif join.applied:
                v = apply_relation(v, join.relation, cover, missing="pooled")
        out[seg.sensor] = v.astype("float32")
    return out


def assemble(series: dict[str, Any], priority: Sequence[str]) -> Any:
    """One ``(time, y, x)`` record from per-sensor stacks: each period from the first sensor
    of ``priority`` that has it; a ``sensor`` coordinate per period says which.

    Parameters
    ----------
    series
        ``{sensor: (time, y, x) DataArray}`` on one grid and period scheme.
    priority
        Sensor names, most preferred first (every key of ``series`` once).

    Returns
    -------
    xarray.DataArray
        ``lai`` with coordinates ``time``, ``period_end``, ``period_label`` (when the inputs
        have them) and ``sensor``.
    """
    import xarray as xr

    taken: dict[np.datetime64, str] = {}
    for sensor in priority:
        for t in np.asarray(series[sensor]["time"].values):
            taken.setdefault(t, sensor)
    times = sorted(taken)
    parts = []
    for sensor in priority:
        mine = [t for t in times if taken[t] == sensor]
        if mine:
            parts.append(series[sensor].sel(time=mine).assign_coords(
                sensor=("time", np.asarray([sensor] * len(mine), dtype=object))))
    out = xr.concat(parts, "time", coords="different", compat="equals",
                    join="exact").sortby("time")
    out.name = "lai"
    out["sensor"].attrs = {"long_name": "sensor each period is taken from"}
    return out
