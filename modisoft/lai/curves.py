"""Index ↔ effective-LAI curves: a few parametric forms and a monotone lookup table.

Every form is monotone increasing in LAIe over ``[0, lai_max]`` and has a closed-form inverse,
so retrieval (index → LAIe) and simulation (LAIe → index) are both exact.  The forms and the
direction in which each is written (the direction its residuals are minimised in by
:mod:`modisoft.lai.calibrate`):

=============  ==========================================  =====================================
form           definition                                  parameters (constraints)
=============  ==========================================  =====================================
exponential    index = a − b·exp(−c·LAIe)                  a, b > 0, c > 0 (saturating)
logarithmic    LAIe = a + b·ln(index)                      a, b > 0
power          LAIe = a·index^b                            a > 0, b > 0
linear         LAIe = a + b·index                          a, b > 0
lut            piecewise linear through (index_k, lai_k)   both strictly increasing
=============  ==========================================  =====================================

The saturating exponential is the semi-empirical form of Baret & Guyot (1991) for vegetation
indices; logarithmic, power and linear LAI–index regressions are the common empirical forms of
the LAI literature (e.g. Chen & Cihlar 1996).  No coefficient lives here: every curve comes
from a parameter table (:mod:`modisoft.lai.params`) with its ``source``.

Retrieval outside the curve's range is explicit (:data:`FLAG`): an index at or above the value
for ``lai_max`` gives ``lai_max`` and flag ``saturated``; an index at or below the value for
LAIe = 0 gives 0 and flag ``below_soil``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modisoft.errors import CurveError

__all__ = ["FORMS", "FLAG", "Curve", "CurveError", "curve_lai", "curve_index"]

FORMS = {
    "exponential": ("a", "b", "c"),
    "logarithmic": ("a", "b"),
    "power": ("a", "b"),
    "linear": ("a", "b"),
    "lut": (),
}

FLAG = {"retrieved": 0, "saturated": 1, "below_soil": 2}
"""Per-pixel outcome of :func:`curve_lai` (0 = inside the curve's range)."""


@dataclass(frozen=True)
class Curve:
    """One index → effective-LAI relation for one cover type.

    Parameters
    ----------
    cover_type
        Cover-type name (``conifer``, ``grass``, …).
    index
        The index the curve takes (``SR``, ``RSR``, ``NDVI``, ``MSR``, ``EVI``).
    form
        One of :data:`FORMS`.
    params
        Form parameters (``a``, ``b``, ``c``); for ``lut`` the knots ``index_knots`` and
        ``lai_knots``.
    lai_max
        Upper end of the curve's LAIe range (saturation value), m² m⁻².
    source
        Where the coefficients come from (required, never empty).
    extra
        Anything else the table carried (fit statistics, SWIR bounds …), kept for provenance.
    """

    cover_type: str
    index: str
    form: str
    params: Mapping[str, Any]
    lai_max: float
    source: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"curve {self.cover_type}/{self.index}"
        if self.form not in FORMS:
            raise CurveError(f"{where}: unknown form {self.form!r}; forms: {', '.join(FORMS)}")
        if not str(self.source).strip():
            raise CurveError(f"{where}: empty 'source'; every coefficient needs one")
        if not self.lai_max > 0:
            raise CurveError(f"{where}: lai_max must be > 0, got {self.lai_max}")
        missing = [k for k in FORMS[self.form] if k not in self.params]
        if missing:
            raise CurveError(f"{where}: form {self.form!r} needs parameter(s) {missing}")
        p = {k: float(self.params[k]) for k in FORMS[self.form]}
        if self.form == "lut":
            xi = np.asarray(self.params.get("index_knots", ()), dtype="float64")
            yi = np.asarray(self.params.get("lai_knots", ()), dtype="float64")
            if xi.size < 2 or xi.shape != yi.shape:
                raise CurveError(f"{where}: lut needs ≥ 2 index_knots and as many lai_knots")
            if np.any(np.diff(xi) <= 0) or np.any(np.diff(yi) <= 0):
                raise CurveError(f"{where}: lut knots must be strictly increasing (monotone)")
        elif self.form == "exponential":
            if not (p["b"] > 0 and p["c"] > 0):
                raise CurveError(f"{where}: exponential needs b > 0 and c > 0, got {p}")
        elif self.form in ("logarithmic", "linear"):
            if not p["b"] > 0:
                raise CurveError(f"{where}: {self.form} needs b > 0, got {p}")
        elif self.form == "power" and not (p["a"] > 0 and p["b"] > 0):
            raise CurveError(f"{where}: power needs a > 0 and b > 0, got {p}")

    def p(self, name: str) -> float:
        return float(self.params[name])


def _index_at(curve: Curve, lai: np.ndarray) -> np.ndarray:
    f = curve.form
    if f == "exponential":
        return curve.p("a") - curve.p("b") * np.exp(-curve.p("c") * lai)
    if f == "logarithmic":
        return np.exp((lai - curve.p("a")) / curve.p("b"))
    if f == "power":
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.maximum(lai, 0.0) / curve.p("a")) ** (1.0 / curve.p("b"))
    if f == "linear":
        return (lai - curve.p("a")) / curve.p("b")
    xi = np.asarray(curve.params["index_knots"], "float64")
    yi = np.asarray(curve.params["lai_knots"], "float64")
    return np.interp(lai, yi, xi)


def _lai_at(curve: Curve, idx: np.ndarray) -> np.ndarray:
    f = curve.form
    with np.errstate(divide="ignore", invalid="ignore"):
        if f == "exponential":
            return -np.log((curve.p("a") - idx) / curve.p("b")) / curve.p("c")
        if f == "logarithmic":
            return curve.p("a") + curve.p("b") * np.log(idx)
        if f == "power":
            return curve.p("a") * np.power(idx, curve.p("b"))
        if f == "linear":
            return curve.p("a") + curve.p("b") * idx
    xi = np.asarray(curve.params["index_knots"], "float64")
    yi = np.asarray(curve.params["lai_knots"], "float64")
    return np.interp(idx, xi, yi)


def curve_index(curve: Curve, lai: Any) -> np.ndarray:
    """Kernel: the index a canopy of effective LAI ``lai`` has on this curve (float64)."""
    lai = np.clip(np.asarray(lai, dtype="float64"), 0.0, curve.lai_max)
    return _index_at(curve, lai)


def curve_lai(curve: Curve, index: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kernel: effective LAI from the index, and a per-pixel :data:`FLAG` code.

    NaN index → NaN LAIe (flag 0: the caller records why the index is NaN).

    Examples
    --------
    >>> c = Curve("grass", "SR", "linear", {"a": 0.0, "b": 0.5}, 6.0, "example")
    >>> curve_lai(c, [2.0, 20.0, -1.0])
    (array([1., 6., 0.], dtype=float32), array([0, 1, 2], dtype=uint8))
    """
    idx = np.asarray(index, dtype="float64")
    lo = float(_index_at(curve, np.array(0.0)))
    hi = float(_index_at(curve, np.array(curve.lai_max)))
    lai = _lai_at(curve, np.clip(idx, lo, hi))
    lai = np.clip(lai, 0.0, curve.lai_max)
    flag = np.zeros(idx.shape, dtype="uint8")
    sat = idx >= hi
    low = idx <= lo
    lai = np.where(sat, curve.lai_max, np.where(low, 0.0, lai))
    flag[sat] = FLAG["saturated"]
    flag[low & ~sat] = FLAG["below_soil"]
    return lai.astype("float32"), flag
