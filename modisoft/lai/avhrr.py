"""AVHRR LAI tied to MODIS, pixel by pixel (the GLOBMAP recipe, Liu, Liu & Chen 2012).

Over an overlap period, each pixel's relation LAI_MODIS = a + b·SR_AVHRR is fitted robustly
(Huber M-estimator by iteratively reweighted least squares, tuning constant k = 1.345, the
value giving 95 % efficiency under normal errors — Huber 1964 / Holland & Welsch 1977).  A pixel
keeps its own fit when it has at least ``n_min`` pairs and R² ≥ ``r2_min``; otherwise it falls
back to the fit pooled over all pixels of its cover type; otherwise it has no relation.  The
relation is then applied to AVHRR-only periods.  Per-pixel ``n``, ``r2``, ``rmse`` and
``fit_source`` are the quality layers.

What GLOBMAP itself did is only partly public (``ALGORITHMS.md`` §4.1): the linear form, the
Huber loss, ``n_min``, ``r2_min`` and the cover-type fallback are choices, all parameters here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from modisoft.errors import AvhrrFitError

__all__ = [
    "FIT_SOURCE",
    "AvhrrFitError",
    "huber_line_fit",
    "fit_avhrr_relation",
    "apply_avhrr_relation",
]

HUBER_K = 1.345  # source: Huber tuning constant for 95% efficiency (Holland & Welsch 1977)
MAD_TO_SIGMA = 1.4826  # source: 1/Phi^-1(3/4), consistency of the MAD for normal errors

FIT_SOURCE = {0: "pixel", 1: "cover_type_fallback", 2: "none"}


def huber_line_fit(
    x: np.ndarray, y: np.ndarray, *, k: float = HUBER_K, max_iter: int = 30, tol: float = 1e-8
) -> dict[str, np.ndarray]:
    """Kernel: robust line y = a + b·x for many series at once (columns of ``(t, p)`` arrays).

    NaN pairs are ignored.  Returns per column ``a``, ``b``, ``n`` (valid pairs), ``r2``
    (1 − SSres/SStot weighted by the final Huber weights, so a few outliers do not hide a good
    relation) and ``rmse`` (unweighted, over all valid pairs).
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


def _values(obj: Any) -> np.ndarray:
    return np.asarray(obj.values if hasattr(obj, "values") else obj, dtype="float64")


def fit_avhrr_relation(
    sr_avhrr: Any,
    lai_modis: Any,
    cover: Any = None,
    *,
    n_min: int = 10,
    r2_min: float = 0.5,
    k: float = HUBER_K,
) -> Any:
    """Fit LAI_MODIS = a + b·SR_AVHRR per pixel over the overlap period.

    Parameters
    ----------
    sr_avhrr, lai_modis
        ``(time, y, x)`` on the same grid and dates, NaN where not good QA.
    cover
        ``(y, x)`` cover codes for the fallback (``None``: no fallback).
    n_min, r2_min
        A pixel keeps its own fit only with ≥ ``n_min`` pairs and R² ≥ ``r2_min`` (choices).

    Returns
    -------
    xarray.Dataset
        ``a``, ``b`` (float32), ``n`` (int32 pairs), ``r2``, ``rmse`` (float32, of the fit in
        use: the pixel's or the cover type's), ``fit_source`` (uint8, :data:`FIT_SOURCE`).
    """
    import xarray as xr

    x, y = _values(sr_avhrr), _values(lai_modis)
    if x.shape != y.shape or x.ndim != 3:
        raise AvhrrFitError(f"SR {x.shape} and LAI {y.shape} must both be (time, y, x) and equal")
    t, ny, nx = x.shape
    px = huber_line_fit(x.reshape(t, -1), y.reshape(t, -1), k=k)
    ok = (px["n"] >= n_min) & (px["r2"] >= r2_min) & np.isfinite(px["b"])
    src = np.where(ok, 0, 2).astype("uint8")
    out = {key: np.where(ok, px[key], np.nan) for key in ("a", "b", "r2", "rmse")}
    n = px["n"].astype("int32")
    cov_tab: dict[int, dict[str, float]] = {}
    if cover is not None:
        cv = np.asarray(cover.values if hasattr(cover, "values") else cover).reshape(-1)
        for code in np.unique(cv[~ok]):
            if not np.isfinite(code):  # no cover type (NaN): no fallback
                continue
            members = cv == code
            xs, ys = x.reshape(t, -1)[:, members].ravel(), y.reshape(t, -1)[:, members].ravel()
            f = huber_line_fit(xs, ys, k=k)
            fit = {kk: float(v[0]) for kk, v in f.items()}
            cov_tab[int(code)] = fit
            if fit["n"] >= n_min and np.isfinite(fit["b"]):
                use = members & ~ok
                for key in ("a", "b", "r2", "rmse"):
                    out[key][use] = fit[key]
                src[use] = 1
    coords = {
        d: sr_avhrr.coords[d]
        for d in ("y", "x")
        if hasattr(sr_avhrr, "coords") and d in sr_avhrr.coords
    }
    shape2 = (ny, nx)
    ds = xr.Dataset(
        {key: (("y", "x"), out[key].reshape(shape2).astype("float32")) for key in out}
        | {"n": (("y", "x"), n.reshape(shape2)), "fit_source": (("y", "x"), src.reshape(shape2))},
        coords=coords,
        attrs={
            "relation": "LAI = a + b * SR_AVHRR (Huber IRLS)",
            "huber_k": k,
            "n_min": n_min,
            "r2_min": r2_min,
            "fit_source_meanings": str(FIT_SOURCE),
            "cover_fits": str(cov_tab),
        },
    )
    ds["n"].attrs["long_name"] = "good pairs in the overlap period (pixel)"
    return ds


def apply_avhrr_relation(sr_avhrr: Any, relation: Any) -> Any:
    """AVHRR LAI = a + b·SR with each pixel's relation; clipped at 0; NaN without relation."""
    lai = relation["a"] + relation["b"] * sr_avhrr
    lai = lai.transpose(*sr_avhrr.dims).clip(min=0.0).astype("float32")
    lai.name = "lai"
    lai.attrs = {
        "long_name": "leaf area index from AVHRR SR tied to MODIS",
        "units": "m2 m-2",
        "relation": relation.attrs.get("relation", ""),
    }
    return lai
