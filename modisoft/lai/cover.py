"""Cover types from land cover, and the clumping index Ω per type or per pixel.

* :func:`map_cover` — land-cover codes (MCD12Q1 ``LC_Type1``/``LC_Type3`` or any user raster)
  → cover codes through a mapping table: 1..n cover types, 0 not vegetated (coded, not
  retrieved), 255 fill or unmapped.
* :func:`decode_polder_clumping` — the Chen group's POLDER clumping map: uint8 Ω × 100,
  253 = non-vegetated, 254 = water, 255 = no value (``ALGORITHMS.md`` §3, verified from the
  map's readme).  Ω = DN / 100 for DN ≤ 252 (computed); DN 0 is not a valid Ω.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.lai.params import NOT_VEGETATED, UNMAPPED, CoverMapping

__all__ = ["POLDER_CODES", "map_cover_kernel", "map_cover", "decode_polder_clumping"]

POLDER_CODES = {253: "non_vegetated", 254: "water", 255: "no_value"}
"""Class codes of the POLDER clumping map (readme_POLDER_omega_v2009_03.txt)."""


def map_cover_kernel(lc: np.ndarray, lookup: dict[int, int], fill: tuple[int, ...]) -> np.ndarray:
    """Kernel: land-cover codes → cover codes (uint8) via a lookup; others → 255."""
    lc = np.asarray(lc)
    out = np.full(lc.shape, UNMAPPED, dtype="uint8")
    finite = np.isfinite(lc) if lc.dtype.kind == "f" else np.ones(lc.shape, bool)
    for src, dst in lookup.items():
        out[finite & (lc == src)] = dst
    for f in fill:
        out[finite & (lc == f)] = UNMAPPED
    return out


def map_cover(landcover: Any, mapping: CoverMapping) -> Any:
    """Cover codes for a land-cover ``DataArray`` (lazy), with flag attributes."""
    import xarray as xr

    out = xr.apply_ufunc(
        map_cover_kernel,
        landcover,
        kwargs={"lookup": mapping.lookup(), "fill": mapping.fill},
        dask="parallelized",
        output_dtypes=[np.uint8],
        keep_attrs=False,
    )
    out.name = "cover"
    out.attrs = {
        "long_name": "LAI cover type",
        "flag_values": np.array(
            [NOT_VEGETATED, *range(1, len(mapping.cover_types) + 1), UNMAPPED], dtype="uint8"
        ),
        "flag_meanings": " ".join(["not_vegetated", *mapping.cover_types, "unmapped"]),
        "mapping": mapping.name,
        "mapping_source": mapping.source,
    }
    if "grid_mapping" in landcover.attrs:
        out.attrs["grid_mapping"] = landcover.attrs["grid_mapping"]
    return out


def decode_polder_clumping(dn: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kernel: POLDER clumping DN → (Ω float32, class uint8).

    Ω = DN/100 for 1 ≤ DN ≤ 252 (else NaN); class 0 where Ω is valid, else the stored code
    (253 non-vegetated, 254 water, 255 no value; DN 0 keeps code 0 in Ω = NaN as 'invalid').

    Examples
    --------
    >>> decode_polder_clumping(np.array([65, 100, 253, 255], "uint8"))
    (array([0.65, 1.  ,  nan,  nan], dtype=float32), array([  0,   0, 253, 255], dtype=uint8))
    """
    dn = np.asarray(dn)
    if dn.dtype.kind not in "ui":
        raise TypeError(f"POLDER clumping must be stored integers (uint8), got {dn.dtype}")
    ok = (dn >= 1) & (dn <= 252)
    omega = np.where(ok, dn.astype("float64") / 100.0, np.nan).astype("float32")
    cls = np.where(ok | (dn == 0), 0, dn).astype("uint8")
    return omega, cls
