"""The configuration of a long record (``modisoft record RECORD.toml``), read and checked
whole before anything is computed.

Tables: ``[record]`` (``period``, ``priority``), ``[[segments]]`` (``sensor``, ``store`` or
``config``, ``variable``, ``quantity``), ``[relation]`` (``reference``, ``overlap`` per join,
``cover``, ``cover_variable``, ``season``, ``form``, ``n_min``, ``threshold``,
``uncorrected``) and ``[output]`` (``dir``, ``name``).  Every key is documented in
``docs/how-to/long-record.md``.  :func:`modisoft.pipeline.record_check.check_record` then
opens each segment's metadata (or reads its run configuration) and checks the grids, the
period scheme and the joins.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from modisoft.errors import ConfigError
from modisoft.lai.record import RECORD_ATTR, SENSORS
from modisoft.lai.relation import RELATION_FORMS, SEASONS
from modisoft.pipeline.validate import PERIODS, parse_date, suggest

__all__ = ["RECORD_ATTR", "RecordConfig", "SegmentConfig", "load_record_config"]

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
    path: str = ""
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


def _file_name(where: str, value: Any) -> str:
    """A name used in a file name: never a path (the rule of a run's ``[output] name``)."""
    name = _str(where, value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name) or ".." in name:
        raise ConfigError(f"{where} {name!r}: need a file name of letters, digits, '.', '_' "
                          "and '-' (starting with a letter or digit, no '..', at most 100 "
                          "characters), not a path; the folder is [output] dir")
    return name


def _period(value: Any) -> str:
    """``[record] period``: a period scheme, as a run's ``[steps] period``."""
    kind = _str("[record] period", value)
    m = re.fullmatch(rf"{'|'.join(PERIODS)}|(\d+)day", kind.lower())
    if not m or (m[1] is not None and int(m[1]) < 1):
        raise ConfigError(f"[record] period {kind!r}{suggest(kind, PERIODS)}; accepted: "
                          f"{', '.join(PERIODS)} or '<N>day' (N >= 1): the segments' runs' "
                          "[steps] period")
    return kind


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
    if seg.config is not None and "variable" in t:
        raise ConfigError(f"{where} ({seg.sensor}) variable {seg.variable!r}: only with store; "
                          "a config segment's run names its own variable")
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
    if str(out.get("season", "")).lower() == "none":
        out["season"] = None
    if out.get("season") is not None and out["season"] not in SEASONS:
        raise ConfigError(f"[relation] season {out['season']!r}{suggest(out['season'], SEASONS)}"
                          f"; accepted: 'none', {', '.join(map(repr, SEASONS))}")
    if "form" in out and out["form"] not in RELATION_FORMS:
        raise ConfigError(f"[relation] form {out['form']!r}{suggest(out['form'], RELATION_FORMS)}"
                          f"; accepted: {', '.join(RELATION_FORMS)}")
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

    Examples
    --------
    >>> cfg = load_record_config("record_example/record.toml")  # doctest: +SKIP
    >>> cfg.store  # doctest: +SKIP
    PosixPath('.../record_example/record_output/lai_record.zarr')
    """
    path = Path(path)
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such record config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text (UTF-8) TOML file ({exc.reason} at byte "
                          f"{exc.start})") from None
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
            kw["period"] = _period(rec["period"])
        if "priority" in rec:
            pri = rec["priority"]
            if not isinstance(pri, list) or sorted(map(str, pri)) != sorted(sensors):
                raise ConfigError(f"[record] priority: need each segment's sensor once "
                                  f"({', '.join(sensors)}), got {pri!r}")
            kw["priority"] = tuple(pri)
        if "dir" in out:
            kw["out_dir"] = _str("[output] dir", out["dir"])
        if "name" in out:
            kw["name"] = _file_name("[output] name", out["name"])
        if "cover_variable" in kw and Path(str(kw.get("cover", ""))).suffix.lower() in (
                ".tif", ".tiff"):
            raise ConfigError(f"[relation] cover_variable {kw['cover_variable']!r}: only with a "
                              f"NetCDF or Zarr cover; {kw['cover']} is a GeoTIFF (one layer)")
        cfg = RecordConfig(segments=segments, source=text, path=str(path),
                           base_dir=str(path.resolve().parent), data=data, **kw)
        if cfg.reference not in sensors:
            raise ConfigError(f"[relation] reference {cfg.reference!r} is not the sensor of a "
                              f"segment ({', '.join(sensors)})")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg
