"""Kernels of :mod:`modisoft.lai.relation`: pure numpy, no xarray.

The robust line (Huber M-estimator by iteratively reweighted least squares) for many series at
once, one line per stratum, the season of a date, one relation fitted to pairs with its
statistics, and a relation applied to values by (cover, season).  The AVHRR → MODIS tie
(:mod:`modisoft.lai.avhrr`) and the VIIRS ↔ MODIS relations use these same functions.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from modisoft.errors import CalibrationError, RelationError

__all__ = [
    "HUBER_K",
    "RELATION_FORMS",
    "SEASONS",
    "apply_kernel",
    "fit_pairs",
    "group_indices",
    "huber_line_fit",
    "relation_values",
    "season_index",
    "stratum_line_fits",
]

HUBER_K = 1.345  # source: Huber tuning constant for 95% efficiency (Holland & Welsch 1977)
MAD_TO_SIGMA = 1.4826  # source: 1/Phi^-1(3/4), consistency of the MAD for normal errors

SEASONS = {
    "month": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "djf": ("DJF", "MAM", "JJA", "SON"),  # meteorological seasons
}
"""Season schemes and their labels (by calendar month of each date's ``time``)."""
RELATION_FORMS = {
    "linear": ("a", "b"),
    "power": ("a", "b"),
    "logarithmic": ("a", "b"),
    "exponential": ("a", "b", "c"),
}
"""Forms :func:`~modisoft.lai.relation.fit_relation` fits, and their parameters."""


def huber_line_fit(
    x: np.ndarray, y: np.ndarray, *, k: float = HUBER_K, max_iter: int = 30, tol: float = 1e-8
) -> dict[str, np.ndarray]:
    """Kernel: robust line y = a + b·x for many series at once (columns of ``(t, p)`` arrays).

    NaN pairs are ignored.  Returns per column ``a``, ``b``, ``n`` (valid pairs), ``r2``
    (1 − SSres/SStot weighted by the final Huber weights, so a few outliers do not hide a good
    relation) and ``rmse`` (unweighted, over all valid pairs).

    Examples
    --------
    >>> f = huber_line_fit(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.0, 5.0, 7.0]))
    >>> float(f["a"][0]), float(f["b"][0])
    (1.0, 2.0)
    """
    x = np.asarray(x, "float64")
    y = np.asarray(y, "float64")
    if x.ndim == 1:
        x, y = x[:, None], y[:, None]
    valid = np.isfinite(x) & np.isfinite(y)
    xv, yv = np.where(valid, x, 0.0), np.where(valid, y, 0.0)
    w = valid.astype("float64")
    a = b = np.zeros(x.shape[1])
    for _ in range(max_iter):
        sw, sx, sy = w.sum(0), (w * xv).sum(0), (w * yv).sum(0)
        sxx, sxy = (w * xv * xv).sum(0), (w * xv * yv).sum(0)
        den = sw * sxx - sx * sx
        with np.errstate(divide="ignore", invalid="ignore"):
            b_new = np.where(den > 0, (sw * sxy - sx * sy) / den, np.nan)
            a_new = np.where(sw > 0, (sy - b_new * sx) / sw, np.nan)
        r = np.where(valid, yv - (a_new + b_new * xv), np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no pairs
            s = MAD_TO_SIGMA * np.nanmedian(np.abs(r), axis=0)
        s = np.where(np.isfinite(s) & (s > 0), s, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(valid, np.minimum(1.0, k * s / np.abs(np.nan_to_num(r))), 0.0)
        done = (
            np.nanmax(
                np.abs(np.nan_to_num(a_new - a)) + np.abs(np.nan_to_num(b_new - b)), initial=0.0
            )
            < tol
        )
        a, b = a_new, b_new
        if done:
            break
    n = valid.sum(0)
    pred = a + b * xv
    res = np.where(valid, yv - pred, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (w * yv).sum(0) / w.sum(0)
        sst = (w * (yv - mean) ** 2).sum(0)
        r2 = np.where(sst > 0, 1.0 - (w * res**2).sum(0) / sst, np.nan)
        rmse = np.sqrt((res**2).sum(0) / n)
    return {"a": a, "b": b, "n": n, "r2": r2, "rmse": rmse}


def group_indices(labels: np.ndarray, codes: Any) -> dict[Any, np.ndarray]:
    """Indices of ``labels`` (1-D) equal to each code (one sort, not one scan per code)."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    out = {}
    for code in codes:
        lo = np.searchsorted(sorted_labels, code, side="left")
        hi = np.searchsorted(sorted_labels, code, side="right")
        out[code] = order[lo:hi]
    return out


def stratum_line_fits(
    x: np.ndarray, y: np.ndarray, labels: np.ndarray, codes: Any, *, k: float = HUBER_K
) -> dict[int, dict[str, float]]:
    """Kernel: one robust line (:func:`huber_line_fit`) per stratum, pooled over its pixels
    and dates.

    ``x``, ``y`` are ``(t, p)`` (or ``(p,)``) pairs, ``labels`` the ``(p,)`` stratum code of
    each pixel; a code without valid pairs gets ``n = 0`` and NaN parameters.
    """
    x, y = np.asarray(x, "float64"), np.asarray(y, "float64")
    lab = np.broadcast_to(np.asarray(labels), x.shape)
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys, ls = x[ok], y[ok], lab[ok]
    return {
        int(code): {key: float(v[0]) for key, v in huber_line_fit(xs[i], ys[i], k=k).items()}
        for code, i in group_indices(ls, codes).items()
    }


def season_index(times: Any, season: str | None) -> np.ndarray:
    """Kernel: 1-based season of each date (``month``: 1..12; ``djf``: 1 DJF .. 4 SON);
    all zeros for ``season=None``."""
    t = np.asarray(times)
    if season is None:
        return np.zeros(t.shape, "int64")
    if not np.issubdtype(t.dtype, np.datetime64):
        raise RelationError(
            f"season={season!r} needs a datetime 'time' coordinate; got dtype {t.dtype}"
        )
    month = t.astype("datetime64[M]").astype("int64") % 12 + 1
    return month if season == "month" else (month % 12) // 3 + 1


def _curve(form: str, params: dict[str, float], upper: float) -> Any:
    from modisoft.lai.curves import Curve

    return Curve("relation", "SOURCE", form, params, upper, "modisoft.lai.relation")


def relation_values(form: str, p: dict[str, float], x: np.ndarray, direction: str) -> np.ndarray:
    """The relation (``direction="forward"``: source → target) or its inverse, on values."""
    from modisoft.lai.curves import curve_index, curve_lai

    if not all(np.isfinite(p[k]) for k in RELATION_FORMS[form]):
        return np.full(x.shape, np.nan)
    if form == "linear":
        return p["a"] + p["b"] * x
    c = _curve(form, {k: p[k] for k in RELATION_FORMS[form]}, p["upper"])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = curve_lai(c, x)[0].astype("float64") if direction == "forward" else curve_index(c, x)
    bad = ~np.isfinite(x) | (form in ("power", "logarithmic") and direction == "forward") & (x <= 0)
    return np.where(bad, np.nan, out)


def fit_pairs(xs: np.ndarray, ys: np.ndarray, form: str, n_min: int, k: float) -> dict:
    """Parameters and statistics of one relation fitted to 1-D pairs (all finite)."""
    from modisoft.lai.calibrate import agreement, fit_curve

    n = int(xs.size)
    out: dict[str, float] = dict.fromkeys(RELATION_FORMS[form], np.nan) | {
        "upper": np.nan, "r2": np.nan, "rmse": np.nan, "bias_after": np.nan,
    }
    out |= {"n": n, "bias": float(np.mean(ys - xs)) if n else np.nan,
            "sd_source": float(np.std(xs)) if n else np.nan,
            "sd_target": float(np.std(ys)) if n else np.nan}
    if n < max(n_min, 3):
        return out
    if form == "linear":
        f = huber_line_fit(xs, ys, k=k)
        out |= {"a": float(f["a"][0]), "b": float(f["b"][0])}
    else:
        try:
            c = fit_curve(xs, ys, form, lai_max=float(ys.max()), loss="huber", min_pairs=3)
        except (CalibrationError, ValueError) as exc:
            warnings.warn(f"relation {form}: no fit on {n} pairs ({exc})", stacklevel=3)
            return out
        out |= dict(c.params) | {"upper": float(ys.max())}
    pred = relation_values(form, out, xs, "forward")
    st = agreement(pred, ys)
    out |= {"r2": st["r2"], "rmse": st["rmse"], "bias_after": -st["bias"]}
    return out


def apply_kernel(x: np.ndarray, ci: np.ndarray, si: np.ndarray, *, resolved: np.ndarray,
                  params: list[list[dict]], form: str, direction: str) -> np.ndarray:
    """Kernel: each value through the fit its (cover row, season) resolves to."""
    x = np.asarray(x, "float64")
    ci, si = np.broadcast_to(ci, x.shape), np.broadcast_to(si, x.shape)
    key = ci * resolved.shape[1] + si
    out = np.full(x.shape, np.nan)
    for kk in np.unique(key):
        m = key == kk
        c, s = resolved.reshape(-1, 2)[kk]
        if c == -2:
            out[m] = x[m]
        elif c >= 0:
            out[m] = relation_values(form, params[c][s], x[m], direction)
    return out.astype("float32")
