"""AVHRR LAI tied to MODIS, pixel by pixel (the GLOBMAP recipe, Liu, Liu & Chen 2012).

Over an overlap period, each pixel's relation LAI_MODIS = a + b·SR_AVHRR is fitted robustly
(Huber M-estimator by iteratively reweighted least squares, tuning constant k = 1.345, the
value giving 95 % efficiency under normal errors — Huber 1964 / Holland & Welsch 1977).  A pixel
keeps its own fit when it has at least ``n_min`` pairs and R² ≥ ``r2_min``; otherwise it falls
back to the fit pooled over all pixels of its cover type; otherwise it has no relation.  The
relation is then applied to AVHRR-only periods.  Per-pixel ``n``, ``r2``, ``rmse`` and
``fit_source`` are the quality layers.  The robust line (:func:`huber_line_fit`) and the
cover-type pooled fit (:func:`~modisoft.lai.relation.stratum_line_fits`) are those of
:mod:`modisoft.lai.relation`, the one implementation of inter-sensor relations.

What GLOBMAP itself did is only partly public (``ALGORITHMS.md`` §4.1): the linear form, the
Huber loss, ``n_min``, ``r2_min`` and the cover-type fallback are choices, all parameters here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.errors import AvhrrFitError
from modisoft.lai.relation import HUBER_K, huber_line_fit, stratum_line_fits

__all__ = [
    "FIT_SOURCE",
    "AvhrrFitError",
    "huber_line_fit",
    "fit_avhrr_relation",
    "apply_avhrr_relation",
]

FIT_SOURCE = {0: "pixel", 1: "cover_type_fallback", 2: "none"}


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
        codes = np.unique(cv[~ok])
        codes = codes[np.isfinite(codes)] if codes.dtype.kind == "f" else codes  # NaN: none
        cov_tab = stratum_line_fits(x.reshape(t, -1), y.reshape(t, -1), cv, codes, k=k)
        for code, fit in cov_tab.items():
            if fit["n"] >= n_min and np.isfinite(fit["b"]):
                use = (cv == code) & ~ok
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
