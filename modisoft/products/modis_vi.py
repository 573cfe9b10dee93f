"""MODIS vegetation indices: MOD13A1/A2/Q1 and MYD13A1/A2/Q1 (16-day; 500 m, 1 km, 250 m),
Collections 6 and 6.1.

Sources (``reference/PRODUCTS.md`` §5): real MOD13A2/MYD13A2 C6.1 granules (h18v09, 2025) and a
C6 subset (2016-145); GEE and MODIStsp agree on fills and ranges.  The files store
``scale_factor = 10000`` (VIs, reflectances) and ``100`` (angles) meaning *divide*: multiplying
by the stored value is the bug of rspatial/terra#1354.  The A1 (``500m 16 days ...``) and Q1
(``250m 16 days ...``) SDS names follow the product naming and were not read from real files
(not verified).  Pixel reliability: 0 good, 1 marginal, 2 snow/ice, 3 cloudy (GEE); the C6
subset allows 0..4, the meaning of 4 is unknown.
"""

from __future__ import annotations

from modisoft.products.model import Layer, Product, Scaling
from modisoft.products.qa_bits import (
    MOD13_PRESETS,
    MOD13_RELIABILITY,
    MOD13_VI_QUALITY,
    MOD13_WEIGHTS,
)

_SRC = "real MOD13A2/MYD13A2 C6.1 h18v09 2025 and a C6 subset; GEE; MODIStsp (PRODUCTS.md §5)"

RELIABILITY = {0: "good data", 1: "marginal data", 2: "snow/ice", 3: "cloudy"}
"""MOD13 pixel reliability (SummaryQA) codes (verified, GEE)."""

_PREFIX = {"A1": "500m 16 days", "A2": "1 km 16 days", "Q1": "250m 16 days"}
_RES = {"A1": "500m", "A2": "1km", "Q1": "250m"}
_GRID = {
    "A1": "MODIS_Grid_16DAY_500m_VI",
    "A2": "MODIS_Grid_16DAY_1km_VI",
    "Q1": "MODIS_Grid_16DAY_250m_500m_VI",
}


def _layers(kind: str, collection: str) -> tuple[Layer, ...]:
    p = _PREFIX[kind]
    src = _SRC if kind == "A2" else _SRC + "; SDS names by analogy with A2 (not verified)"
    vi = dict(
        dtype="int16",
        units="1",
        scaling=Scaling(10000.0, 0.0, "divide"),
        valid_range=(-2000, 10000),
        fill_values=(-3000,),
        physical_range=(-0.2, 1.0),
        source=src,
    )
    refl = dict(
        dtype="int16",
        units="1",
        scaling=Scaling(10000.0, 0.0, "divide"),
        valid_range=(0, 10000),
        fill_values=(-1000,),
        physical_range=(0.0, 1.0),
        source=src,
    )
    ang = dict(dtype="int16", units="degree", scaling=Scaling(100.0, 0.0, "divide"), source=src)
    rel_max = 3 if collection == "061" else 4
    return (
        Layer(f"{p} NDVI", long_name="normalized difference vegetation index", **vi),
        Layer(f"{p} EVI", long_name="enhanced vegetation index", **vi),
        Layer(
            f"{p} VI Quality",
            "uint16",
            "qa",
            long_name="VI quality indicators",
            valid_range=(0, 65534),
            fill_values=(65535,),
            bit_fields=MOD13_VI_QUALITY,
            qa_key="vi_quality",
            source=src + "; bit layout: reference/QA.md §3",
        ),
        Layer(f"{p} red reflectance", long_name="surface reflectance, band 1 (red)", **refl),
        Layer(f"{p} NIR reflectance", long_name="surface reflectance, band 2 (NIR)", **refl),
        Layer(f"{p} blue reflectance", long_name="surface reflectance, band 3 (blue)", **refl),
        Layer(f"{p} MIR reflectance", long_name="surface reflectance, band 7 (MIR)", **refl),
        Layer(
            f"{p} view zenith angle",
            long_name="view zenith angle",
            valid_range=(0, 18000),
            fill_values=(-10000,),
            physical_range=(0.0, 180.0),
            **ang,
        ),
        Layer(
            f"{p} sun zenith angle",
            long_name="sun zenith angle",
            valid_range=(0, 18000),
            fill_values=(-10000,),
            physical_range=(0.0, 180.0),
            **ang,
        ),
        Layer(
            f"{p} relative azimuth angle",
            long_name="relative azimuth angle",
            valid_range=(-18000, 18000),
            fill_values=(-4000,),
            physical_range=(-180.0, 180.0),
            **ang,
        ),
        Layer(
            f"{p} composite day of the year",
            "int16",
            "class",
            units="day of year",
            long_name="day of the year of the selected observation",
            valid_range=(1, 366),
            fill_values=(-1,),
            source=src,
        ),
        Layer(
            f"{p} pixel reliability",
            "int8",
            "class",
            long_name="quality reliability of VI",
            valid_range=(0, rel_max),
            fill_values=(-1,),
            class_values=RELIABILITY,
            bit_fields=MOD13_RELIABILITY,
            qa_key="reliability",
            source=src,
        ),
    )


_BAND_ROLES = {"red": "red", "nir": "NIR", "blue": "blue"}
"""Reflectance roles of the MOD13 layers.  The "MIR" layer is MODIS band 7 (2.1 µm), not the
1.6 µm SWIR of the RSR, so it plays no role (MOD13 C6 user guide, Didan et al. 2015)."""


def _products() -> list[Product]:
    out = []
    for coll in ("006", "061"):
        for sat, plat in (("MOD", "Terra"), ("MYD", "Aqua")):
            for kind in ("A1", "A2", "Q1"):
                out.append(
                    Product(
                        name=f"{sat}13{kind}",
                        collection=coll,
                        platform=plat,
                        period_days=16,
                        resolution=_RES[kind],
                        title=f"{plat} vegetation indices 16-day {_RES[kind]}",
                        layers=_layers(kind, coll),
                        grids={_GRID[kind]: _RES[kind]},
                        source=_SRC,
                        qa_presets=MOD13_PRESETS,
                        qa_weights=MOD13_WEIGHTS,
                        roles={
                            role: f"{_PREFIX[kind]} {band} reflectance"
                            for role, band in _BAND_ROLES.items()
                        },
                        # Aqua's 16-day periods are phased 8 days after Terra's (day 9, 25, ...;
                        # MOD13 C6 user guide, Didan et al. 2015, §2)
                        date_offset_days=8 if sat == "MYD" else 0,
                    )
                )
    return out


PRODUCTS = _products()
