"""Spectral indices from surface reflectance: SR, NDVI, RSR, MSR, EVI.

Kernels are pure numpy (float in, float32 out); :func:`spectral_index` wraps them for the
``Dataset`` objects that :func:`modisoft.open_granule` + :func:`modisoft.decode` deliver and
finds the red / NIR / SWIR / blue layers by name (MOD09A1/MYD09A1, MOD09GA, MOD13 A1/A2/Q1,
VIIRS VNP09A1/VNP09H1/VNP13, AVHRR CDR AVH09C1, the GAC L1C FDR swath).

Definitions (``reference/ALGORITHMS.md`` §1):

* ``SR = ρNIR / ρred``; ``NDVI = (ρNIR − ρred) / (ρNIR + ρred)``.
* ``RSR = SR · (SWIRmax − ρSWIR) / (SWIRmax − SWIRmin)`` (Brown et al. 2000), clipped at 0;
  SWIRmin/SWIRmax fixed or the scene's percentiles, always recorded in the output attributes.
* ``MSR = (SR − 1) / (√SR + 1)`` (Chen 1996).
* ``EVI = G (ρNIR − ρred) / (ρNIR + C1 ρred − C2 ρblue + L)`` with the MODIS coefficients.

Invalid input is explicit, never silent: a NaN (fill) in any band, a **negative** reflectance in
any band used, or a zero denominator give NaN.  :func:`invalid_reason` says which rule fired.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from modisoft.errors import SpectralIndexError

__all__ = [
    "INDEX_BANDS",
    "INDICES",
    "SpectralIndexError",
    "sr",
    "ndvi",
    "msr",
    "evi",
    "rsr",
    "swir_bounds",
    "invalid_reason",
    "find_bands",
    "spectral_index",
]

INDICES = ("SR", "NDVI", "RSR", "MSR", "EVI")

# MODIS EVI coefficients: G = 2.5, C1 = 6, C2 = 7.5, L = 1.
# source: Huete et al. 2002, RSE 83:195-213 (MODIS VI algorithm; MOD13 ATBD)
EVI_G, EVI_C1, EVI_C2, EVI_L = 2.5, 6.0, 7.5, 1.0

# Invalid-reason codes of :func:`invalid_reason` (0 = valid).
REASONS = {
    0: "valid",
    1: "fill (NaN) in an input band",
    2: "negative reflectance",
    3: "zero denominator",
}


def _f64(*arrays: Any) -> list[np.ndarray]:
    return [np.asarray(a, dtype="float64") for a in arrays]


def _bad(*arrays: np.ndarray) -> np.ndarray:
    bad = np.zeros(np.broadcast(*arrays).shape, dtype=bool)
    for a in arrays:
        bad |= ~np.isfinite(a) | (a < 0)
    return bad


def _ratio(num: np.ndarray, den: np.ndarray, bad: np.ndarray) -> np.ndarray:
    bad = bad | (den == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / np.where(bad, 1.0, den)
    return np.where(bad, np.nan, out).astype("float32")


def sr(red: Any, nir: Any) -> np.ndarray:
    """Kernel: simple ratio ρNIR/ρred; NaN for fill, negative input or ρred = 0.

    Examples
    --------
    >>> sr([0.05, 0.0, -0.01], [0.40, 0.3, 0.3])
    array([ 8., nan, nan], dtype=float32)
    """
    red, nir = _f64(red, nir)
    return _ratio(nir, red, _bad(red, nir))


def ndvi(red: Any, nir: Any) -> np.ndarray:
    """Kernel: (ρNIR − ρred)/(ρNIR + ρred); NaN for fill, negative input or a zero sum."""
    red, nir = _f64(red, nir)
    return _ratio(nir - red, nir + red, _bad(red, nir))


def msr(red: Any, nir: Any) -> np.ndarray:
    """Kernel: modified simple ratio (SR − 1)/(√SR + 1); NaN where SR is."""
    s = sr(red, nir).astype("float64")
    return ((s - 1.0) / (np.sqrt(s) + 1.0)).astype("float32")


def evi(red: Any, nir: Any, blue: Any) -> np.ndarray:
    """Kernel: MODIS EVI; NaN for fill, negative input or a zero denominator."""
    red, nir, blue = _f64(red, nir, blue)
    den = nir + EVI_C1 * red - EVI_C2 * blue + EVI_L
    return _ratio(EVI_G * (nir - red), den, _bad(red, nir, blue))


def swir_bounds(swir: Any, percentiles: tuple[float, float]) -> tuple[float, float]:
    """SWIRmin/SWIRmax as percentiles of the scene's valid (finite, ≥ 0) SWIR reflectances.

    Raises
    ------
    SpectralIndexError
        When the scene holds no valid SWIR value or the two percentiles coincide.
    """
    s = np.asarray(swir, dtype="float64")
    s = s[np.isfinite(s) & (s >= 0)]
    if s.size == 0:
        raise SpectralIndexError(
            "RSR: no valid SWIR reflectance in the scene to take percentiles of"
        )
    lo, hi = (float(v) for v in np.percentile(s, percentiles))
    if not hi > lo:
        raise SpectralIndexError(
            f"RSR: SWIR percentiles {percentiles} coincide ({lo}); pass fixed bounds"
        )
    return lo, hi


def rsr(
    red: Any, nir: Any, swir: Any, swir_min: float, swir_max: float, *, clip_swir: bool = False
) -> np.ndarray:
    """Kernel: reduced simple ratio SR·(SWIRmax − ρSWIR)/(SWIRmax − SWIRmin), clipped at 0.

    ``clip_swir`` first clips ρSWIR to [SWIRmin, SWIRmax] (so the factor stays in [0, 1]);
    without it ρSWIR < SWIRmin gives a factor above 1 (``ALGORITHMS.md`` §1).
    """
    if not swir_max > swir_min:
        raise SpectralIndexError(f"RSR: SWIRmax ({swir_max}) must exceed SWIRmin ({swir_min})")
    red, nir, swir = _f64(red, nir, swir)
    s = sr(red, nir).astype("float64")
    sw = np.clip(swir, swir_min, swir_max) if clip_swir else swir
    factor = (swir_max - sw) / (swir_max - swir_min)
    bad = _bad(swir)
    out = np.where(bad, np.nan, np.maximum(s * factor, 0.0))
    return out.astype("float32")


def invalid_reason(*bands: Any, denominator: Any = None) -> np.ndarray:
    """Kernel: why an index is NaN: 0 valid, 1 fill, 2 negative reflectance, 3 zero denominator."""
    arrs = _f64(*bands)
    shape = np.broadcast(*arrs).shape
    out = np.zeros(shape, dtype="uint8")
    if denominator is not None:
        out[np.broadcast_to(np.asarray(denominator) == 0, shape)] = 3
    for code, test in ((2, lambda a: a < 0), (1, lambda a: ~np.isfinite(a))):
        for a in arrs:
            with np.errstate(invalid="ignore"):
                out[np.broadcast_to(test(a), shape)] = code
    return out


# --- band discovery ---------------------------------------------------------------------------

# Layer-name patterns per band role.  MOD13's "MIR" layer is MODIS band 7 (2.1 µm), not the
# 1.6 µm SWIR of the RSR, so it is never picked automatically (pass bands={"swir": ...}).
# VNP13's "SWIR2" is taken as the 1.6 µm band M10 (not verified; PRODUCTS.md §10).
_PATTERNS: dict[str, tuple[str, ...]] = {
    "red": (
        r"sur_refl_b01(_1)?",
        r".* red reflectance",
        r"SREFL_CH1",
        r"reflectance_channel_1",
        r"SurfReflect_I1",
        r"SurfReflect_M5",
    ),
    "nir": (
        r"sur_refl_b02(_1)?",
        r".* NIR reflectance",
        r"SREFL_CH2",
        r"reflectance_channel_2",
        r"SurfReflect_I2",
        r"SurfReflect_M7",
    ),
    "swir": (r"sur_refl_b06(_1)?", r"SurfReflect_I3", r"SurfReflect_M10", r".* SWIR2 reflectance"),
    "blue": (r"sur_refl_b03(_1)?", r".* blue reflectance", r"SurfReflect_M3"),
}


def find_bands(ds: Any, bands: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variable names of the red, NIR, SWIR and blue layers found in ``ds`` (by name).

    ``bands`` overrides or adds roles explicitly (``{"swir": "sur_refl_b07"}``).
    """
    names = [str(v) for v in ds.data_vars]
    out: dict[str, str] = {}
    for role, pats in _PATTERNS.items():
        for pat in pats:
            hit = [n for n in names if re.fullmatch(pat, n)]
            if hit:
                out[role] = hit[0]
                break
    for role, name in (bands or {}).items():
        if name not in names:
            raise SpectralIndexError(
                f"band {role!r}: no layer {name!r} in the dataset; layers: {', '.join(names)}"
            )
        out[role] = name
    return out


def _as_fraction(da: Any) -> Any:
    """Reflectance as a fraction: layers whose ``units`` are ``%`` (GAC L1C FDR) / 100."""
    if str(da.attrs.get("units", "")).strip() == "%":
        out = da / 100.0
        out.attrs = {**da.attrs, "units": "1"}
        return out
    return da


INDEX_BANDS = {
    "SR": ("red", "nir"),
    "NDVI": ("red", "nir"),
    "MSR": ("red", "nir"),
    "EVI": ("red", "nir", "blue"),
    "RSR": ("red", "nir", "swir"),
}
"""The reflectance roles (``red``, ``nir``, ``swir``, ``blue``) each index reads, in order."""


def spectral_index(
    ds: Any,
    index: str = "SR",
    *,
    bands: Mapping[str, str] | None = None,
    swir_min: float | None = None,
    swir_max: float | None = None,
    # source: ALGORITHMS.md §1, 1%/99% histogram cut-offs
    swir_percentiles: tuple[float, float] = (1.0, 99.0),
    clip_swir: bool = False,
) -> Any:
    """A spectral index from a decoded reflectance ``Dataset``, lazily where it can be.

    Parameters
    ----------
    ds
        Decoded reflectances (``modisoft.decode(open_granule(...))``), or any ``Dataset`` with
        reflectance layers as fractions (``%`` layers are divided by 100).
    index
        One of ``SR``, ``NDVI``, ``RSR``, ``MSR``, ``EVI``.
    bands
        Explicit layer names per role (``red``, ``nir``, ``swir``, ``blue``).
    swir_min, swir_max
        Fixed RSR bounds.  When both are ``None`` the scene's ``swir_percentiles`` are used
        (this computes the SWIR layer once).  The mode and values go into the attributes.
    clip_swir
        Clip ρSWIR to [SWIRmin, SWIRmax] before forming the RSR factor.

    Returns
    -------
    xarray.DataArray
        float32 index named after it, NaN where any band is fill or negative or the
        denominator is zero; attributes record the bands used and the RSR bounds.

    Raises
    ------
    SpectralIndexError
        For an unknown index, a missing band, or unusable SWIR bounds.

    Examples
    --------
    >>> ds = decode(open_granule("MOD09A1.A2017193.h18v04.006.2017202035302.hdf"))  # doctest: +SKIP
    >>> rsr = spectral_index(ds, "RSR")  # doctest: +SKIP
    >>> rsr.attrs["swir_mode"], rsr.attrs["swir_min"]  # doctest: +SKIP
    """
    import xarray as xr

    key = index.upper()
    if key not in INDEX_BANDS:
        raise SpectralIndexError(f"unknown index {index!r}; accepted: {', '.join(INDICES)}")
    found = find_bands(ds, bands)
    missing = [r for r in INDEX_BANDS[key] if r not in found]
    if missing:
        raise SpectralIndexError(
            f"{key} needs the {', '.join(missing)} band(s); none found among "
            f"{', '.join(map(str, ds.data_vars))} (pass bands={{'{missing[0]}': NAME}})"
        )
    arrs = [_as_fraction(ds[found[r]]) for r in INDEX_BANDS[key]]
    attrs: dict[str, Any] = {
        "long_name": {
            "SR": "simple ratio",
            "NDVI": "normalized difference vegetation index",
            "RSR": "reduced simple ratio",
            "MSR": "modified simple ratio",
            "EVI": "enhanced vegetation index",
        }[key],
        "units": "1",
        "index": key,
        "bands": "; ".join(f"{r}={found[r]}" for r in INDEX_BANDS[key]),
        "invalid_rule": "NaN where a band is fill/NaN or negative, or the denominator is 0",
    }
    kwargs: dict[str, Any] = {}
    func = {"SR": sr, "NDVI": ndvi, "MSR": msr, "EVI": evi, "RSR": rsr}[key]
    if key == "RSR":
        if (swir_min is None) != (swir_max is None):
            raise SpectralIndexError(
                "RSR: pass both swir_min and swir_max, or neither (percentiles)"
            )
        if swir_min is None:
            lo, hi = swir_bounds(arrs[2].values, swir_percentiles)
            attrs["swir_mode"] = "scene_percentiles"
            attrs["swir_percentiles"] = np.array(swir_percentiles, dtype="float64")
        else:
            lo, hi = float(swir_min), float(swir_max)
            attrs["swir_mode"] = "fixed"
        attrs.update(swir_min=lo, swir_max=hi, clip_swir=int(clip_swir))
        kwargs = {"swir_min": lo, "swir_max": hi, "clip_swir": clip_swir}
    if key == "EVI":
        attrs["evi_coefficients"] = f"G={EVI_G} C1={EVI_C1} C2={EVI_C2} L={EVI_L} (Huete 2002)"
    out = xr.apply_ufunc(
        func,
        *arrs,
        kwargs=kwargs,
        dask="parallelized",
        output_dtypes=[np.float32],
        keep_attrs=False,
    )
    gm = arrs[0].attrs.get("grid_mapping")
    if gm:
        attrs["grid_mapping"] = gm
    out.attrs = attrs
    out.name = key
    return out
