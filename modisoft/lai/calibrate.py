"""Fit index → effective-LAI curves, robustly, per cover type; agreement statistics.

:func:`fit_curve` fits one form to (index, LAIe) pairs with :func:`scipy.optimize.least_squares`
and a robust loss (``soft_l1`` by default), residuals taken in the direction the form is written
(index for ``exponential``, LAIe for the others; :mod:`modisoft.lai.curves`).  :func:`calibrate`
does it per cover type against a reference *true* LAI (e.g. good-QA MOD15A2H): the reference is
turned into LAIe with the cover type's Ω, the curve is fitted, and the fitted curve is scored
in true-LAI space with :func:`agreement` (n, R², RMSE, bias).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from modisoft.errors import CalibrationError
from modisoft.lai.curves import FORMS, Curve, curve_lai
from modisoft.lai.params import LaiParams

__all__ = ["CalibrationError", "agreement", "fit_curve", "calibrate"]


def agreement(pred: Any, ref: Any) -> dict[str, float]:
    """n, R² (coefficient of determination 1 − SSres/SStot), RMSE and bias (mean pred − ref)
    over the pairs where both are finite."""
    p, r = np.asarray(pred, "float64").ravel(), np.asarray(ref, "float64").ravel()
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    n = int(p.size)
    if n == 0:
        return {"n": 0, "r2": float("nan"), "rmse": float("nan"), "bias": float("nan")}
    res = p - r
    sst = float(np.sum((r - r.mean()) ** 2))
    r2 = 1.0 - float(np.sum(res**2)) / sst if sst > 0 else float("nan")
    return {"n": n, "r2": r2, "rmse": float(np.sqrt(np.mean(res**2))), "bias": float(res.mean())}


def _start(form: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Starting values from ordinary least squares on a linearised form."""
    if form == "exponential":  # y = index, x = LAIe
        a = float(np.percentile(y, 99))
        b = max(a - float(np.percentile(y, 1)), 1e-3)
        # source: choice, start 5% above the 99th percentile (starting value only)
        return np.array([a * 1.05, b * 1.05, 0.5])
    if form == "power":  # y = LAIe, x = index: ln y = ln a + b ln x
        ok = (x > 0) & (y > 0)
        b, lna = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
        return np.array([np.exp(lna), max(b, 1e-3)])
    xx = np.log(x) if form == "logarithmic" else x
    b, a = np.polyfit(xx, y, 1)
    return np.array([a, max(b, 1e-3)])


def _model(form: str, p: np.ndarray, x: np.ndarray) -> np.ndarray:
    if form == "exponential":
        return p[0] - p[1] * np.exp(-p[2] * x)
    if form == "logarithmic":
        return p[0] + p[1] * np.log(x)
    if form == "power":
        return p[0] * np.power(x, p[1])
    return p[0] + p[1] * x


def _fit_lut(index: np.ndarray, laie: np.ndarray, lai_max: float, n_knots: int) -> dict:
    """Monotone LUT: median index in LAIe quantile bins, made strictly increasing."""
    edges = np.unique(np.quantile(laie, np.linspace(0, 1, n_knots + 1)))
    which = np.clip(np.searchsorted(edges, laie, side="right") - 1, 0, edges.size - 2)
    xs, ys = [], []
    for k in range(edges.size - 1):
        sel = which == k
        if sel.sum() >= 3:
            xs.append(float(np.median(index[sel])))
            ys.append(float(np.median(laie[sel])))
    xs_a, ys_a = np.array(xs), np.array(ys)
    keep = np.concatenate([[True], (np.diff(np.maximum.accumulate(xs_a)) > 0)])
    keep &= np.concatenate([[True], np.diff(ys_a) > 0])
    xs_a, ys_a = np.maximum.accumulate(xs_a)[keep], ys_a[keep]
    if xs_a.size < 2:
        raise CalibrationError("lut: the pairs do not support a monotone table (≥ 2 knots)")
    return {"index_knots": xs_a.tolist(), "lai_knots": ys_a.tolist()}


def fit_curve(
    index: Any,
    laie: Any,
    form: str = "exponential",
    *,
    cover_type: str = "all",
    index_name: str = "SR",
    # source: choice, default upper end of fitted curves (m2/m2)
    lai_max: float = 8.0,
    loss: str = "soft_l1",
    f_scale: float | None = None,
    weights: Any = None,
    source: str = "fitted by modisoft.lai.calibrate.fit_curve",
    min_pairs: int = 10,
    n_knots: int = 12,
) -> Curve:
    """Fit one curve form to (index, effective LAI) pairs.

    Parameters
    ----------
    index, laie
        Paired samples (any shape; NaN pairs dropped).
    form
        A form of :data:`modisoft.lai.curves.FORMS`.
    loss, f_scale
        :func:`scipy.optimize.least_squares` robust loss and its scale (default: 1.4826 × the
        MAD of the starting residuals).  ``loss="linear"`` is ordinary least squares.
    weights
        Optional per-pair weights ≥ 0 (e.g. QA weights); residuals are scaled by √w.
    min_pairs
        Fewer valid pairs raise :class:`CalibrationError`.

    Returns
    -------
    Curve
        With ``extra`` holding ``n`` and the optimiser status.
    """
    from scipy.optimize import least_squares

    if form not in FORMS:
        raise CalibrationError(f"unknown form {form!r}; forms: {', '.join(FORMS)}")
    x_idx = np.asarray(index, "float64").ravel()
    y_lai = np.asarray(laie, "float64").ravel()
    w = np.ones_like(x_idx) if weights is None else np.asarray(weights, "float64").ravel()
    ok = np.isfinite(x_idx) & np.isfinite(y_lai) & np.isfinite(w) & (w > 0) & (y_lai >= 0)
    if form in ("logarithmic", "power"):
        ok &= x_idx > 0
    x_idx, y_lai, w = x_idx[ok], y_lai[ok], w[ok]
    if x_idx.size < min_pairs:
        raise CalibrationError(
            f"{cover_type}/{index_name}: {x_idx.size} valid pairs, fewer than {min_pairs}"
        )
    extra: dict[str, Any] = {"n": int(x_idx.size)}
    if form == "lut":
        params = _fit_lut(x_idx, y_lai, lai_max, n_knots)
        return Curve(cover_type, index_name.upper(), form, params, lai_max, source, extra)
    x, y = (y_lai, x_idx) if form == "exponential" else (x_idx, y_lai)
    p0 = _start(form, x, y)
    sw = np.sqrt(w)
    if f_scale is None:
        # source: 1/Phi^-1(3/4), MAD-to-sigma consistency for normal errors
        r0 = y - _model(form, p0, x)
        f_scale = max(1.4826 * float(np.median(np.abs(r0 - np.median(r0)))), 1e-6)
    lower = {"exponential": [-np.inf, 1e-9, 1e-9], "power": [1e-12, 1e-9]}.get(
        form, [-np.inf, 1e-12]
    )
    res = least_squares(
        lambda p: sw * (y - _model(form, p, x)),
        p0,
        loss=loss,
        f_scale=f_scale,
        bounds=(lower, np.inf),
        x_scale="jac",
        max_nfev=2000,
    )
    if not res.success:
        raise CalibrationError(f"{cover_type}/{index_name}: fit did not converge ({res.message})")
    names = FORMS[form]
    params = {k: float(v) for k, v in zip(names, res.x, strict=True)}
    extra.update(loss=loss, f_scale=float(f_scale))
    return Curve(cover_type, index_name.upper(), form, params, lai_max, source, extra)


def calibrate(
    index: Any,
    reference_lai: Any,
    cover: Any,
    params: LaiParams,
    *,
    index_name: str = "SR",
    forms: Mapping[str, str] | str = "exponential",
    weights: Any = None,
    lai_max: float | None = None,
    loss: str = "soft_l1",
    min_pairs: int = 30,
    source: str = "modisoft lai calibrate",
) -> tuple[list[Curve], dict[str, dict[str, float]]]:
    """Fit one curve per cover type against a reference true LAI on the same grid and dates.

    Parameters
    ----------
    index
        The index (``(time, y, x)`` or any shape), NaN where invalid.
    reference_lai
        Reference **true** LAI, same shape (NaN where not good QA).
    cover
        Cover codes (1..n as in ``params.mapping``; broadcast against ``index``).
    params
        Supplies Ω per cover type (LAIe_ref = LAI_ref × Ω) and the cover-type names; an
        existing curve's ``lai_max`` and form are reused unless overridden.
    forms
        One form for all types, or a mapping cover type → form.
    weights
        Optional per-pair weights (QA weights).

    Returns
    -------
    curves, stats
        The fitted curves (types with fewer than ``min_pairs`` pairs are skipped and reported
        in ``stats`` with ``n`` and ``skipped``), and per type the true-LAI agreement of the
        fitted curve with the reference: ``n``, ``r2``, ``rmse``, ``bias``.
    """
    idx = np.asarray(index, "float64")
    ref = np.asarray(reference_lai, "float64")
    if idx.shape != ref.shape:
        raise CalibrationError(f"index shape {idx.shape} != reference shape {ref.shape}")
    cov = np.broadcast_to(np.asarray(cover), idx.shape)
    w = None if weights is None else np.broadcast_to(np.asarray(weights, "float64"), idx.shape)
    curves, stats = [], {}
    for code, ct in enumerate(params.mapping.cover_types, start=1):
        sel = (cov == code) & np.isfinite(idx) & np.isfinite(ref)
        if w is not None:
            sel &= w > 0
        omega = params.omega.get(ct)
        if omega is None:
            raise CalibrationError(f"no clumping index for cover type {ct!r} in the parameters")
        n = int(sel.sum())
        if n < min_pairs:
            stats[ct] = {"n": n, "skipped": f"fewer than {min_pairs} pairs"}
            continue
        old = params.curve(ct, index_name)
        form = (
            forms if isinstance(forms, str) else forms.get(ct, old.form if old else "exponential")
        )
        # source: choice, default lai_max when no curve exists yet
        lmax = lai_max if lai_max is not None else (old.lai_max if old else 8.0)
        c = fit_curve(
            idx[sel],
            ref[sel] * omega,
            form,
            cover_type=ct,
            index_name=index_name,
            lai_max=lmax,
            loss=loss,
            weights=None if w is None else w[sel],
            source=f"{source}: robust fit ({loss}) to reference LAI x Omega={omega}",
            min_pairs=min_pairs,
        )
        laie, _ = curve_lai(c, idx[sel])
        st = agreement(laie / omega, ref[sel])
        curves.append(
            Curve(
                c.cover_type,
                c.index,
                c.form,
                c.params,
                c.lai_max,
                c.source,
                {**c.extra, **st, "omega": omega},
            )
        )
        stats[ct] = st
    return curves, stats
