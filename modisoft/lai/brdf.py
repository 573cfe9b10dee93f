"""GLOBCARBON-style angular iteration (Deng et al. 2006 skeleton, ``ALGORITHMS.md`` §2.2).

The reflectance of a canopy depends on the view/sun geometry *and* on its LAI, so the angular
normalisation needs the LAI it is trying to find.  The iteration:

1. LAIe₀ = f⁻¹(SR observed);
2. per band, R(g; L) = f_iso(L) + f_vol(L)·K_vol(g) + f_geo(L)·K_geo(g), where each kernel
   weight is a Chebyshev series of the second kind in x = 2(L − L_lo)/(L_hi − L_lo) − 1;
   ρ_ref = ρ_obs · R(reference; L_k) / R(observed; L_k);
3. LAIe_{k+1} = f⁻¹(SR of the normalised reflectances), until |Δ| < tol.

**No coefficients ship**: the Deng et al. Chebyshev tables are not public.  The user supplies
them (schema ``modisoft.lai.brdf/1``, see ``docs/concepts/lai-retrieval.md``).  The kernels
are the MODIS Ross-Thick and Li-Sparse-Reciprocal kernels (Lucht, Schaaf & Strahler 2000,
IEEE TGRS 38:977, h/b = 2, b/r = 1) — a choice: GLOBCARBON's own kernels (believed to be
hotspot-modified Roujean kernels) are not verified.  Nothing may be called "GLOBCARBON" until
real coefficients are entered.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.lai.curves import Curve, curve_lai
from modisoft.lai.params import LaiParameterError

__all__ = [
    "BrdfTable",
    "chebyshev_u",
    "ross_thick",
    "li_sparse_r",
    "load_brdf_table",
    "iterate_lai",
]

# Li-Sparse-Reciprocal shape parameters of the MODIS BRDF product.
# source: Lucht, Schaaf & Strahler 2000, IEEE TGRS 38:977-998 (h/b = 2, b/r = 1)
LSR_HB, LSR_BR = 2.0, 1.0


def chebyshev_u(coeffs: Sequence[float], x: np.ndarray) -> np.ndarray:
    """Σ c_n U_n(x), U₀ = 1, U₁ = 2x, U_{n+1} = 2x U_n − U_{n−1} (second kind)."""
    x = np.asarray(x, "float64")
    out = np.zeros_like(x)
    u_prev, u = np.zeros_like(x), np.ones_like(x)
    for n, c in enumerate(coeffs):
        if n > 0:
            u_prev, u = u, 2 * x * u - u_prev
        out = out + float(c) * u
    return out


def ross_thick(sza: Any, vza: Any, raz: Any) -> np.ndarray:
    """Ross-Thick volumetric kernel (angles in degrees)."""
    ts, tv, phi = (np.radians(np.asarray(a, "float64")) for a in (sza, vza, raz))
    cos_xi = np.clip(np.cos(ts) * np.cos(tv) + np.sin(ts) * np.sin(tv) * np.cos(phi), -1, 1)
    xi = np.arccos(cos_xi)
    return ((np.pi / 2 - xi) * cos_xi + np.sin(xi)) / (np.cos(ts) + np.cos(tv)) - np.pi / 4


def li_sparse_r(sza: Any, vza: Any, raz: Any) -> np.ndarray:
    """Li-Sparse-Reciprocal geometric kernel (angles in degrees)."""
    ts, tv, phi = (np.radians(np.asarray(a, "float64")) for a in (sza, vza, raz))
    ts, tv = np.arctan(LSR_BR * np.tan(ts)), np.arctan(LSR_BR * np.tan(tv))
    tan_s, tan_v = np.tan(ts), np.tan(tv)
    sec_s, sec_v = 1 / np.cos(ts), 1 / np.cos(tv)
    d = np.sqrt(np.maximum(tan_s**2 + tan_v**2 - 2 * tan_s * tan_v * np.cos(phi), 0.0))
    cos_t = np.clip(
        LSR_HB * np.sqrt(d**2 + (tan_s * tan_v * np.sin(phi)) ** 2) / (sec_s + sec_v), -1, 1
    )
    t = np.arccos(cos_t)
    overlap = (t - np.sin(t) * cos_t) * (sec_s + sec_v) / np.pi
    cos_xi = np.cos(ts) * np.cos(tv) + np.sin(ts) * np.sin(tv) * np.cos(phi)
    return overlap - sec_s - sec_v + 0.5 * (1 + cos_xi) * sec_s * sec_v


@dataclass(frozen=True)
class BrdfTable:
    """User-supplied LAI-dependent kernel weights per cover type and band."""

    lai_range: tuple[float, float]
    reference: Mapping[str, float]
    coefficients: Mapping[tuple[str, str], Mapping[str, tuple[float, ...]]]
    source: str

    def factor(self, cover_type: str, band: str, lai: Any, sza: Any, vza: Any, raz: Any):
        """R(g; L) for one cover type and band."""
        co = self.coefficients.get((cover_type, band))
        if co is None:
            raise LaiParameterError(f"BRDF table: no coefficients for {cover_type}/{band}")
        lo, hi = self.lai_range
        x = np.clip(2 * (np.asarray(lai, "float64") - lo) / (hi - lo) - 1, -1, 1)
        return (
            chebyshev_u(co["f_iso"], x)
            + chebyshev_u(co["f_vol"], x) * ross_thick(sza, vza, raz)
            + chebyshev_u(co["f_geo"], x) * li_sparse_r(sza, vza, raz)
        )


def load_brdf_table(path: str | os.PathLike[str]) -> BrdfTable:
    """Read a user's BRDF coefficient table (schema ``modisoft.lai.brdf/1``)."""
    p = Path(path)
    with open(p, "rb") as fh:
        doc = tomllib.load(fh)
    if doc.get("schema") != "modisoft.lai.brdf/1":
        raise LaiParameterError(f"{p}: schema must be 'modisoft.lai.brdf/1'")
    coeffs = {}
    for i, row in enumerate(doc.get("coefficients", [])):
        where = f"{p}: coefficients #{i + 1}"
        if not str(row.get("source", "")).strip():
            raise LaiParameterError(f"{where}: empty 'source'; every coefficient needs one")
        missing = [k for k in ("cover_type", "band", "f_iso", "f_vol", "f_geo") if k not in row]
        if missing:
            raise LaiParameterError(f"{where}: missing {missing}")
        coeffs[(row["cover_type"], row["band"])] = {
            k: tuple(float(v) for v in row[k]) for k in ("f_iso", "f_vol", "f_geo")
        }
    ref = doc.get("reference", {})
    if set(ref) < {"sza", "vza", "raz"}:
        raise LaiParameterError(f"{p}: [reference] needs sza, vza, raz (degrees)")
    # source: choice, default LAI range of a table without lai_range
    return BrdfTable(
        tuple(doc.get("lai_range", (0.0, 8.0))), ref, coeffs, str(doc.get("source", ""))
    )


def iterate_lai(
    red: Any,
    nir: Any,
    sza: Any,
    vza: Any,
    raz: Any,
    curve: Curve,
    table: BrdfTable,
    *,
    # source: choice, iteration tolerance in LAI units
    tol: float = 1e-4,
    max_iter: int = 30,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kernel: LAIe with angular normalisation for one cover type (``curve.cover_type``).

    Returns ``(laie, iterations, converged)``; the SR curve must be ``curve``'s index.
    """
    red, nir = np.asarray(red, "float64"), np.asarray(nir, "float64")
    ref = table.reference
    ct = curve.cover_type
    with np.errstate(divide="ignore", invalid="ignore"):
        lai = curve_lai(curve, nir / red)[0].astype("float64")
    iters = np.zeros(lai.shape, dtype="int16")
    conv = np.zeros(lai.shape, dtype=bool)
    for _ in range(max_iter):
        norm = {}
        for band, rho in (("red", red), ("nir", nir)):
            r_obs = table.factor(ct, band, lai, sza, vza, raz)
            r_ref = table.factor(ct, band, lai, ref["sza"], ref["vza"], ref["raz"])
            norm[band] = rho * r_ref / r_obs
        with np.errstate(divide="ignore", invalid="ignore"):
            new = curve_lai(curve, norm["nir"] / norm["red"])[0].astype("float64")
        step = np.abs(new - lai)
        active = ~conv
        iters[active] += 1
        lai = np.where(active, new, lai)
        conv |= step < tol
        if conv[np.isfinite(lai)].all():
            break
    return lai.astype("float32"), iters, conv
