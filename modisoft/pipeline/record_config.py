"""The configuration of a long record (``modisoft record RECORD.toml``), read and checked
whole before anything is computed.

Tables: ``[record]`` (``period``, ``priority``), ``[[segments]]`` (``sensor``, ``store`` or
``config``, ``variable``, ``quantity``), ``[relation]`` (``reference``, ``overlap`` per join,
``cover``, ``cover_variable``, ``season``, ``form``, ``n_min``, ``threshold``,
``uncorrected``) and ``[output]`` (``dir``, ``name``).  Every key is documented in
``docs/how-to/long-record.md``.  :func:`check_record` opens each segment's metadata (or
reads its run configuration) and checks the grids, the period scheme and the joins.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from modisoft.errors import ConfigError, RecordError
from modisoft.lai.record import (
    RECORD_ATTR,
    SENSORS,
    check_period_scheme,
    check_same_grid,
    join_name,
)
from modisoft.pipeline.validate import parse_date, suggest

__all__ = ["RECORD_ATTR", "RecordConfig", "SegmentConfig", "SegmentPlan", "check_record",
           "load_record_config", "open_cover"]

_TABLES = {"record": ("period", "priority"),
           "segments": ("sensor", "store", "config", "variable", "quantity"),
           "relation": ("reference", "overlap", "cover", "cover_variable", "season", "form",
                        "n_min", "threshold", "uncorrected"),
           "output": ("dir", "name")}


@dataclass(frozen=True)
class SegmentConfig:
    """One ``[[segments]]`` entry: a sensor and its store (or the run config that writes it)."""

    sensor: str
    store: str | None = None
    config: str | None = None
    variable: str = "lai"
    quantity: str = "lai"


@dataclass(frozen=True)
class RecordConfig:
    """A checked record configuration (:func:`load_record_config`)."""

    segments: tuple[SegmentConfig, ...]
    overlap: dict[str, tuple[date, date]]
    reference: str = "MODIS"
    period: str | None = None
    priority: tuple[str, ...] = ()
    cover: str | None = None
    cover_variable: str = "cover"
    season: str | None = None
    form: str = "linear"
    n_min: int = 30
    threshold: float = 0.25
    uncorrected: tuple[str, ...] = ()
    out_dir: str = "record_output"
    name: str = "lai_record"
    source: str = ""
    base_dir: str = "."
    data: dict[str, Any] = field(default_factory=dict)

    def resolve(self, p: str) -> Path:
        """A path of the file, relative to the file's folder, made absolute."""
        path = Path(p).expanduser()
        return Path(os.path.abspath(path if path.is_absolute() else Path(self.base_dir) / path))

    @property
    def store(self) -> Path:
        """The record's Zarr store: ``<dir>/<name>.zarr``."""
        return self.resolve(self.out_dir) / f"{self.name}.zarr"


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


def _keys(where: str, table: Any, accepted: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    bad = sorted(set(table) - set(accepted))
    if bad:
        raise ConfigError(f"{where} unknown key(s) {', '.join(bad)}{suggest(bad[0], accepted)}"
                          f"; accepted: {', '.join(accepted)}")
    return table


def _str(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: need a non-empty string, got {value!r}")
    return value


def _sensor(where: str, value: Any) -> str:
    if value not in SENSORS:
        raise ConfigError(f"{where} {value!r}{suggest(value, SENSORS)}; accepted: "
                          f"{', '.join(SENSORS)}")
    return value


def _segment(k: int, t: Any) -> SegmentConfig:
    where = f"[[segments]] #{k + 1}"
    t = _keys(where, t, _TABLES["segments"])
    if "sensor" not in t:
        raise ConfigError(f"{where}: missing the key sensor ({', '.join(SENSORS)})")
    seg = SegmentConfig(**{key: _str(f"{where} {key}", v) for key, v in t.items()})
    _sensor(f"{where} sensor", seg.sensor)
    if (seg.store is None) == (seg.config is None):
        raise ConfigError(f"{where} ({seg.sensor}): give exactly one of store (a Zarr store "
                          "written by 'modisoft run') or config (a run config to run first)")
    if seg.quantity not in ("lai", "sr"):
        raise ConfigError(f"{where} quantity {seg.quantity!r}; accepted: 'lai', or 'sr' (an "
                          "AVHRR simple-ratio stack tied to MODIS pixel by pixel)")
    if seg.quantity == "sr" and seg.sensor != "AVHRR":
        raise ConfigError(f"{where}: quantity 'sr' is for AVHRR segments only")
    return seg


def _relation(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "reference" in r:
        out["reference"] = _sensor("[relation] reference", r["reference"])
    for key in ("cover", "cover_variable", "season", "form"):
        if key in r:
            out[key] = _str(f"[relation] {key}", r[key])
    if out.get("season", "").lower() == "none":
        out["season"] = None
    if "n_min" in r:
        if not isinstance(r["n_min"], int) or isinstance(r["n_min"], bool) or r["n_min"] < 2:
            raise ConfigError(f"[relation] n_min: need an integer ≥ 2, got {r['n_min']!r}")
        out["n_min"] = r["n_min"]
    if "threshold" in r:
        v = r["threshold"]
        if not isinstance(v, int | float) or isinstance(v, bool) or not v > 0:
            raise ConfigError(f"[relation] threshold: need a number > 0 (m2 m-2), got {v!r}")
        out["threshold"] = float(v)
    over = r.get("overlap")
    if not isinstance(over, dict) or not over:
        raise ConfigError("[relation] overlap: need a table of the joins' overlap periods, "
                          'e.g. [relation.overlap] "MODIS-VIIRS" = ["2013-01-01", "2014-12-31"]')
    out["overlap"] = {}
    for name, span in over.items():
        where = f"[relation.overlap] {name}"
        if not isinstance(span, list) or len(span) != 2:
            raise ConfigError(f"{where}: need [FIRST_DAY, LAST_DAY], got {span!r}")
        a, b = parse_date(where, span[0]), parse_date(where, span[1])
        if b < a:
            raise ConfigError(f"{where}: the last day {b} is before the first {a}")
        out["overlap"][str(name)] = (a, b)
    unc = r.get("uncorrected", [])
    if not isinstance(unc, list) or not all(isinstance(x, str) for x in unc):
        raise ConfigError(f"[relation] uncorrected: need a list of join names, got {unc!r}")
    out["uncorrected"] = tuple(unc)
    return out


def load_record_config(path: str | os.PathLike[str]) -> RecordConfig:
    """Read a record configuration and check its tables and keys (:func:`check_record`
    checks the segments themselves).

    Raises
    ------
    ConfigError
        Unreadable TOML, an unknown table or key, a wrong type or value; the message names
        the file, the key and what is accepted.
    """
    path = Path(path)
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such record config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        bad = sorted(set(data) - set(_TABLES))
        if bad:
            raise ConfigError(f"unknown table(s) {', '.join(f'[{t}]' for t in bad)}"
                              f"{suggest(bad[0], _TABLES)}; accepted: [record], [[segments]],"
                              " [relation], [output]")
        segs = data.get("segments")
        if not isinstance(segs, list) or len(segs) < 2:
            raise ConfigError("need at least two [[segments]] (one per sensor)")
        segments = tuple(_segment(k, t) for k, t in enumerate(segs))
        sensors = [s.sensor for s in segments]
        if len(set(sensors)) != len(sensors):
            raise ConfigError(f"[[segments]]: each sensor once, got {', '.join(sensors)}")
        rec = _keys("[record]", data.get("record", {}), _TABLES["record"])
        rel = _relation(_keys("[relation]", data.get("relation", {}), _TABLES["relation"]))
        out = _keys("[output]", data.get("output", {}), _TABLES["output"])
        kw: dict[str, Any] = {**rel}
        if "period" in rec:
            kw["period"] = _str("[record] period", rec["period"])
        if "priority" in rec:
            pri = rec["priority"]
            if not isinstance(pri, list) or sorted(map(str, pri)) != sorted(sensors):
                raise ConfigError(f"[record] priority: need each segment's sensor once "
                                  f"({', '.join(sensors)}), got {pri!r}")
            kw["priority"] = tuple(pri)
        if "dir" in out:
            kw["out_dir"] = _str("[output] dir", out["dir"])
        if "name" in out:
            kw["name"] = _str("[output] name", out["name"])
        cfg = RecordConfig(segments=segments, source=text, base_dir=str(path.resolve().parent),
                           data=data, **kw)
        if cfg.reference not in sensors:
            raise ConfigError(f"[relation] reference {cfg.reference!r} is not the sensor of a "
                              f"segment ({', '.join(sensors)})")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg


def _from_store(cfg: RecordConfig, seg: SegmentConfig) -> SegmentPlan:
    import json

    from modisoft.grids import Grid
    from modisoft.io.stack import open_stack

    p = cfg.resolve(seg.store)
    if not p.exists():
        raise RecordError(f"[[segments]] {seg.sensor} store: no such store {p}")
    try:
        ds = open_stack(p)
    except Exception as exc:  # not a Zarr store / NetCDF file: say which and why
        raise RecordError(f"[[segments]] {seg.sensor} store {p}: cannot be opened ({exc})") \
            from None
    if seg.variable not in ds or ds[seg.variable].dims != ("time", "y", "x"):
        have = [v for v in ds.data_vars if ds[v].dims == ("time", "y", "x")]
        raise RecordError(f"[[segments]] {seg.sensor} store {p}: no (time, y, x) variable "
                          f"{seg.variable!r}; it has {', '.join(have) or 'none'} (set variable)")
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
    return SegmentPlan(seg.sensor, p, seg.variable, seg.quantity, Grid.from_xarray(ds), period,
                       t.min().astype(date), t.max().astype(date))


def _from_run(cfg: RecordConfig, seg: SegmentConfig) -> SegmentPlan:
    from modisoft.pipeline.config import load_config, resolve_grid
    from modisoft.pipeline.limits import planned_dates
    from modisoft.pipeline.metadata import output_quantity
    from modisoft.pipeline.series import output_stores

    run = load_config(cfg.resolve(seg.config))
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
        if lo > min(a.last, b.last) or hi < max(a.first, b.first):
            raise RecordError(f"[relation.overlap] {name} = {lo} to {hi}: outside the years "
                              f"both segments cover ({a.sensor} {a.first} to {a.last}, "
                              f"{b.sensor} {b.first} to {b.last})")
    _check_sr(cfg, plans, names)
    return plans, grid


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
    from modisoft.grids import Grid

    return Grid.from_xarray(open_cover(cfg))


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
