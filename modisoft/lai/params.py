"""Parameter tables of the LAI retrieval: data files, never constants in code.

Three TOML tables (schemas in ``docs/concepts/lai-retrieval.md``), each row with a non-empty
``source``:

* **curves** (``modisoft.lai.curves/1``): ``[[curve]]`` rows ``cover_type``, ``index``,
  ``form``, ``lai_max``, ``params = {…}``, ``source`` (+ optional ``swir_min``/``swir_max``
  for RSR curves and fit statistics ``n``, ``r2``, ``rmse``, ``bias``).
* **clumping** (``modisoft.lai.clumping/1``): ``[[omega]]`` rows ``cover_type``, ``omega``,
  ``source``.
* **land cover** (``modisoft.lai.landcover/1``): ``cover_types`` (ordered: code 1, 2, …),
  ``[[mapping]]`` per land-cover layer with ``name``, ``source``, ``fill`` codes and
  ``classes = {"<code>" = "<cover type>" | "not_vegetated"}``.

The shipped defaults live in ``modisoft/lai/data/``; a user table of the same schema replaces
them.  :func:`write_curves` writes a curve table (used by the derivation script and
``modisoft lai calibrate``).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from modisoft.errors import LaiParameterError
from modisoft.lai.curves import Curve, CurveError
from modisoft.write._common import atomic_path

__all__ = [
    "LaiParameterError",
    "LaiParams",
    "CoverMapping",
    "NOT_VEGETATED",
    "UNMAPPED",
    "data_path",
    "load_curves",
    "load_clumping",
    "load_cover_mapping",
    "default_params",
    "write_curves",
]

NOT_VEGETATED = 0
"""Cover code of classes that are coded, not retrieved (water, urban, barren, snow …)."""
UNMAPPED = 255
"""Cover code of land-cover fill and of classes missing from the mapping."""

DEFAULT_CURVES = "default_curves.toml"
DEFAULT_CLUMPING = "clumping_by_cover.toml"
DEFAULT_LANDCOVER = "landcover_mcd12q1.toml"


def data_path(name: str) -> Path:
    """Path of a data file shipped in ``modisoft/lai/data``."""
    return Path(str(resources.files("modisoft.lai") / "data" / name))


def _read(path: str | os.PathLike[str], schema: str) -> dict[str, Any]:
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise LaiParameterError(f"{p}: parameter file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise LaiParameterError(f"{p}: not valid TOML ({exc})") from None
    if doc.get("schema") != schema:
        raise LaiParameterError(
            f"{p}: schema is {doc.get('schema')!r}, expected {schema!r} (see the schema in "
            "docs/concepts/lai-retrieval.md)"
        )
    return doc


def _need(row: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in row:
        raise LaiParameterError(f"{where}: missing field {key!r}")
    val = row[key]
    if key == "source" and not str(val).strip():
        raise LaiParameterError(f"{where}: empty 'source'; every coefficient needs one")
    return val


def load_curves(path: str | os.PathLike[str] | None = None) -> list[Curve]:
    """The curve rows of a curve table (default: the shipped model-derived table)."""
    p = Path(path) if path is not None else data_path(DEFAULT_CURVES)
    doc = _read(p, "modisoft.lai.curves/1")
    rows = doc.get("curve", [])
    if not rows:
        raise LaiParameterError(f"{p}: no [[curve]] rows")
    out, seen = [], set()
    for i, row in enumerate(rows):
        where = f"{p}: curve #{i + 1}"
        key = (_need(row, "cover_type", where), str(_need(row, "index", where)).upper())
        if key in seen:
            raise LaiParameterError(f"{where}: a second curve for {key[0]}/{key[1]}")
        seen.add(key)
        extra = {
            k: v
            for k, v in row.items()
            if k not in ("cover_type", "index", "form", "params", "lai_max", "source")
        }
        try:
            out.append(
                Curve(
                    key[0],
                    key[1],
                    _need(row, "form", where),
                    dict(_need(row, "params", where)),
                    float(_need(row, "lai_max", where)),
                    str(_need(row, "source", where)),
                    extra,
                )
            )
        except CurveError as exc:
            raise LaiParameterError(f"{where}: {exc}") from None
    return out


def load_clumping(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Ω per cover type from a clumping table (default: the BEPS_D values)."""
    p = Path(path) if path is not None else data_path(DEFAULT_CLUMPING)
    doc = _read(p, "modisoft.lai.clumping/1")
    out = {}
    for i, row in enumerate(doc.get("omega", [])):
        where = f"{p}: omega #{i + 1}"
        _need(row, "source", where)
        om = float(_need(row, "omega", where))
        if not 0 < om <= 1:
            raise LaiParameterError(f"{where}: omega must be in (0, 1], got {om}")
        out[str(_need(row, "cover_type", where))] = om
    return out


@dataclass(frozen=True)
class CoverMapping:
    """Land-cover codes → cover-type codes (1..n, :data:`NOT_VEGETATED`, :data:`UNMAPPED`)."""

    name: str
    cover_types: tuple[str, ...]
    classes: Mapping[int, str]
    fill: tuple[int, ...]
    source: str

    def code_of(self, cover_type: str) -> int:
        if cover_type == "not_vegetated":
            return NOT_VEGETATED
        return self.cover_types.index(cover_type) + 1

    def lookup(self) -> dict[int, int]:
        """Land-cover code → cover code (codes not listed map to :data:`UNMAPPED`)."""
        return {k: self.code_of(v) for k, v in self.classes.items()}


def load_cover_mapping(
    name: str = "LC_Type1", path: str | os.PathLike[str] | None = None
) -> CoverMapping:
    """A land-cover mapping (default file: MCD12Q1 ``LC_Type1`` and ``LC_Type3``)."""
    p = Path(path) if path is not None else data_path(DEFAULT_LANDCOVER)
    doc = _read(p, "modisoft.lai.landcover/1")
    types = tuple(_need(doc, "cover_types", str(p)))
    maps = {m.get("name"): m for m in doc.get("mapping", [])}
    if name not in maps:
        raise LaiParameterError(f"{p}: no mapping {name!r}; mappings: {', '.join(map(str, maps))}")
    m = maps[name]
    where = f"{p}: mapping {name!r}"
    classes = {}
    for code, ct in dict(_need(m, "classes", where)).items():
        if ct != "not_vegetated" and ct not in types:
            raise LaiParameterError(
                f"{where}: class {code} maps to unknown cover type {ct!r}; cover types: "
                f"{', '.join(types)} or 'not_vegetated'"
            )
        classes[int(code)] = ct
    return CoverMapping(
        name,
        types,
        classes,
        tuple(int(v) for v in m.get("fill", ())),
        str(_need(m, "source", where)),
    )


@dataclass(frozen=True)
class LaiParams:
    """Everything a retrieval needs besides the data: curves, Ω per type, the cover mapping."""

    curves: tuple[Curve, ...]
    omega: Mapping[str, float]
    mapping: CoverMapping
    curves_path: str = ""

    def curve(self, cover_type: str, index: str) -> Curve | None:
        for c in self.curves:
            if c.cover_type == cover_type and c.index == index.upper():
                return c
        return None


def default_params(
    curves: str | os.PathLike[str] | Sequence[Curve] | None = None,
    *,
    clumping: str | os.PathLike[str] | Mapping[str, float] | None = None,
    mapping: str | CoverMapping = "LC_Type1",
    mapping_path: str | os.PathLike[str] | None = None,
) -> LaiParams:
    """Parameters from files (or objects); ``None`` anywhere means the shipped default."""
    if curves is None or isinstance(curves, (str, os.PathLike)):
        path = str(curves) if curves is not None else str(data_path(DEFAULT_CURVES))
        cs = tuple(load_curves(path))
    else:
        cs, path = tuple(curves), "<objects>"
    om = dict(clumping) if isinstance(clumping, Mapping) else load_clumping(clumping)
    mp = mapping if isinstance(mapping, CoverMapping) else load_cover_mapping(mapping, mapping_path)
    return LaiParams(cs, om, mp, path)


# --- writing ----------------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise LaiParameterError(f"cannot write non-finite number {v} to TOML")
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, Iterable):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if hasattr(v, "item"):  # numpy scalar
        return _toml_value(v.item())
    raise LaiParameterError(f"cannot write {type(v).__name__} to TOML")


def write_curves(
    curves: Sequence[Curve],
    path: str | os.PathLike[str],
    *,
    header: Mapping[str, Any] | None = None,
    comment: str = "",
) -> Path:
    """Write a curve table (schema ``modisoft.lai.curves/1``) that :func:`load_curves` reads."""
    lines = [f"# {c}" for c in comment.splitlines()] if comment else []
    lines.append(f"schema = {_toml_value('modisoft.lai.curves/1')}")
    for k, v in (header or {}).items():
        if not isinstance(v, Mapping):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in (header or {}).items():
        if isinstance(v, Mapping):
            lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for c in curves:
        lines += [
            "",
            "[[curve]]",
            f"cover_type = {_toml_value(c.cover_type)}",
            f"index = {_toml_value(c.index)}",
            f"form = {_toml_value(c.form)}",
            f"lai_max = {_toml_value(float(c.lai_max))}",
            f"params = {_toml_value(dict(c.params))}",
            f"source = {_toml_value(c.source)}",
        ]
        lines += [f"{k} = {_toml_value(v)}" for k, v in c.extra.items()]
    p = Path(path)
    with atomic_path(p) as tmp:  # appears only once complete and read back
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        load_curves(tmp)  # what we write must read back
    return p
