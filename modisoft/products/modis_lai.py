"""MODIS LAI/FPAR products: MOD15A2/MYD15A2/MCD15A2 (C5, 1 km) and MOD15A2H/MYD15A2H/MCD15A2H
and MCD15A3H (C6 and C6.1, 500 m).

Sources (``reference/PRODUCTS.md`` §2): dtypes, fills, scales and valid ranges verified from
real MCD15A2 C5 (h17v03/h18v03 2012), MCD15A2H C6 (h18v05 2016-201) and MCD15A3H C6
(h17v03 2018-273) granules; they agree with Google Earth Engine's catalogue and MODIStsp.  The
fill-class legend is the file attribute ``MOD15A2_FILLVALUE_DOC`` as printed from a real
MCD15A3H granule and agrees with MODIStsp's nodata ranges (249:255; 248:255 on StdDev).
Terra-only and Aqua-only C5 layouts (MOD15A2, MYD15A2) are assumed equal to MCD15A2 (not
verified); C6.1 layouts are assumed equal to C6 (GEE documents identical bands; not verified
against a real C6.1 file).
"""

from __future__ import annotations

from modisoft.products.model import FillClass, Layer, Product, Scaling
from modisoft.products.qa_bits import (
    MOD15_FPAREXTRA_QC,
    MOD15_FPARLAI_QC,
    MOD15_PRESETS,
    MOD15_WEIGHTS,
)

_SRC = "real MCD15A2/MCD15A2H/MCD15A3H files; GEE; MODIStsp (reference/PRODUCTS.md §2)"
_LEGEND_SRC = "MOD15A2_FILLVALUE_DOC attribute of a real MCD15A3H granule (PRODUCTS.md §2.3)"

# 250-254 are land cover the algorithm does not retrieve (not vegetated, per the legend);
# 249 (unclassified) and 255 (fill) say nothing about vegetation.
LAI_FILL_CLASSES = (
    FillClass(249, "unclassified", "land cover assigned as unclassified or not able to determine"),
    FillClass(250, "urban", "land cover assigned as urban/built-up", True),
    FillClass(
        251, "wetland", "land cover assigned as permanent wetlands/inundated marshland", True
    ),
    FillClass(252, "snow_ice", "land cover assigned as perennial snow, ice", True),
    FillClass(
        253,
        "barren",
        "land cover assigned as barren, sparse vegetation (rock, tundra, desert)",
        True,
    ),
    FillClass(254, "water", "land cover assigned as perennial salt or inland fresh water", True),
    FillClass(255, "fill", "_FillValue: surface reflectance or land cover input was fill"),
)
"""Fill classes of the MOD15 LAI/FPAR value layers (stored 249-255)."""

STDDEV_FILL_CLASSES = (
    FillClass(
        248, "no_stddev", "no standard deviation available, pixel produced by the back-up method"
    ),
    *LAI_FILL_CLASSES,
)
"""Fill classes of the MOD15 StdDev layers: 248 plus the LAI legend."""


def _value(
    name: str,
    scale: float,
    units: str,
    long_name: str,
    classes=LAI_FILL_CLASSES,
    upper: float = 10.0,
) -> Layer:
    return Layer(
        name=name,
        dtype="uint8",
        kind="value",
        units=units,
        long_name=long_name,
        scaling=Scaling(scale, 0.0, "hdfeos"),
        valid_range=(0, 100),
        fill_values=(255,),
        fill_classes=classes,
        physical_range=(0.0, upper),
        source=f"{_SRC}; classes: {_LEGEND_SRC}",
    )


def _qa(name: str, long_name: str, bit_fields) -> Layer:
    return Layer(
        name=name,
        dtype="uint8",
        kind="qa",
        long_name=long_name,
        valid_range=(0, 254),
        fill_values=(255,),
        bit_fields=bit_fields,
        source=_SRC + "; bit layout: reference/QA.md §2",
    )


def _layers(res: str) -> tuple[Layer, ...]:
    return (
        _value(
            f"Fpar_{res}", 0.01, "1", "fraction of photosynthetically active radiation", upper=1.0
        ),
        _value(f"Lai_{res}", 0.1, "m2 m-2", "leaf area index (one-sided)"),
        _qa("FparLai_QC", "quality control of LAI and FPAR", MOD15_FPARLAI_QC),
        _qa("FparExtra_QC", "extra quality control of LAI and FPAR", MOD15_FPAREXTRA_QC),
        _value(
            f"FparStdDev_{res}", 0.01, "1", "standard deviation of FPAR", STDDEV_FILL_CLASSES, 1.0
        ),
        _value(f"LaiStdDev_{res}", 0.1, "m2 m-2", "standard deviation of LAI", STDDEV_FILL_CLASSES),
    )


_PLATFORM = {"MOD": "Terra", "MYD": "Aqua", "MCD": "Terra+Aqua"}


def _roles(res: str) -> dict[str, str]:
    """The LAI layer and its QA word (MOD15 ATBD / user guide: ``FparLai_QC`` qualifies
    ``Lai_<res>``; reference/QA.md §2)."""
    return {"lai": f"Lai_{res}", "lai_qa": "FparLai_QC"}


def _products() -> list[Product]:
    out = []
    for sat in ("MOD", "MYD", "MCD"):
        out.append(
            Product(
                name=f"{sat}15A2",
                collection="005",
                platform=_PLATFORM[sat],
                period_days=8,
                resolution="1km",
                title=f"{_PLATFORM[sat]} LAI/FPAR 8-day 1 km (Collection 5)",
                layers=_layers("1km"),
                grids={"MOD_Grid_MOD15A2": "1km"},
                source=_SRC,
                qa_presets=MOD15_PRESETS,
                qa_weights=(MOD15_WEIGHTS,),
                roles=_roles("1km"),
            )
        )
    for coll in ("006", "061"):
        for sat in ("MOD", "MYD", "MCD"):
            out.append(
                Product(
                    name=f"{sat}15A2H",
                    collection=coll,
                    platform=_PLATFORM[sat],
                    period_days=8,
                    resolution="500m",
                    title=f"{_PLATFORM[sat]} LAI/FPAR 8-day 500 m",
                    layers=_layers("500m"),
                    grids={"MOD_Grid_MOD15A2H": "500m"},
                    source=_SRC,
                    qa_presets=MOD15_PRESETS,
                    qa_weights=(MOD15_WEIGHTS,),
                    roles=_roles("500m"),
                )
            )
        out.append(
            Product(
                name="MCD15A3H",
                collection=coll,
                platform="Terra+Aqua",
                period_days=4,
                resolution="500m",
                title="Terra+Aqua LAI/FPAR 4-day 500 m",
                layers=_layers("500m"),
                grids={"MOD_Grid_MCD15A3H": "500m"},
                source=_SRC,
                qa_presets=MOD15_PRESETS,
                qa_weights=(MOD15_WEIGHTS,),
                roles=_roles("500m"),
            )
        )
    return out


PRODUCTS = _products()
