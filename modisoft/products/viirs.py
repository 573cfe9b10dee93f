"""VIIRS land products (HDF-EOS5, ``.h5``): VNP13A1/VNP13A2 (16-day VI), VNP15A2H (LAI/FPAR),
VNP09H1/VNP09A1 (8-day surface reflectance).

Sources (``reference/PRODUCTS.md`` §10): VNP13A2 collection 002 is verified from two real
granules (h18v09 2025): dataset names, int16, ``_FillValue`` as a *two-element array*
(``[-15000, -13000]`` for VIs, ``[-4, -1]`` for pixel reliability; both are fill), scale 0.0001
*multiply* (VIIRS stores 0.0001 where MODIS MOD13 stores 10000 meaning divide).  VNP15A2H
(and VJ115A2H, the same product from NOAA-20) follows ``reference/PRODUCTS.md`` §10.2: layers
``Lai``/``Fpar``/``LaiStdDev``/``FparStdDev``/``FparLai_QC``/``FparExtra_QC`` (uint8, scale 0.1
or 0.01, valid 0-100, fill classes 249-255), the QC bit tables of the VIIRS user guide as
transcribed by the Earth Engine catalogue (``NASA_VIIRS_002_VNP15A2H``) and the LP DAAC product
page, and a ``good_lai`` that reads both QC layers (roles ``lai_qa`` and ``lai_qa_extra``); no
real VNP15A2H granule was read here (the tests write synthetic ones in that layout,
``scripts/synth_viirs.py``).  VNP13A1 and VNP09 layouts are **not verified** against real
granules: their entries follow the names documented by Google Earth Engine and the MODIS
counterparts.  For every VIIRS product the reader compares the registry with each file's own
attributes, falling back to the file (with a warning) on any mismatch.
"""

from __future__ import annotations

from modisoft.products.model import Layer, Product, Scaling
from modisoft.products.qa_bits import (
    VNP13_PRESETS,
    VNP13_RELIABILITY,
    VNP13_VI_QUALITY,
    VNP13_WEIGHTS,
    VNP15_FPAREXTRA_QC,
    VNP15_FPARLAI_QC,
    VNP15_PRESETS,
    VNP15_WEIGHTS,
)

_SRC13 = "real VNP13A2 v002 h18v09 2025 granules (PRODUCTS.md §10.1)"
_UNVERIFIED = "not verified against a real granule; GEE band names and MODIS analogue"
_SRC15 = ("PRODUCTS.md §10.2 (LP DAAC vnp15a2hv001 page; GEE NASA_VIIRS_002_VNP15A2H, "
          "transcribing the user guide's tables); not read from a real granule here")


def _vnp13(prefix: str, src: str) -> tuple[Layer, ...]:
    vi = dict(
        dtype="int16",
        units="1",
        scaling=Scaling(0.0001, 0.0),
        valid_range=(-10000, 10000),
        fill_values=(-15000, -13000),
        physical_range=(-1.0, 1.0),
        source=src,
    )
    refl = dict(
        dtype="int16",
        units="1",
        scaling=Scaling(0.0001, 0.0),
        valid_range=(0, 10000),
        fill_values=(-1000,),
        physical_range=(0.0, 1.0),
        source=src,
    )
    ang = dict(
        dtype="int16", units="degree", scaling=Scaling(0.01, 0.0), fill_values=(-20000,), source=src
    )
    bands = ("red", "NIR", "blue", "green", "SWIR1", "SWIR2", "SWIR3")
    return (
        Layer(f"{prefix} NDVI", long_name="normalized difference vegetation index", **vi),
        Layer(f"{prefix} EVI", long_name="enhanced vegetation index", **vi),
        Layer(f"{prefix} EVI2", long_name="two-band enhanced vegetation index", **vi),
        *(
            Layer(f"{prefix} {b} reflectance", long_name=f"surface reflectance, {b}", **refl)
            for b in bands
        ),
        Layer(
            f"{prefix} sun zenith angle",
            long_name="sun zenith angle",
            valid_range=(0, 18000),
            physical_range=(0.0, 180.0),
            **ang,
        ),
        Layer(
            f"{prefix} view zenith angle",
            long_name="view zenith angle",
            valid_range=(0, 18000),
            physical_range=(0.0, 180.0),
            **ang,
        ),
        Layer(
            f"{prefix} relative azimuth angle",
            long_name="relative azimuth angle",
            valid_range=(-18000, 18000),
            physical_range=(-180.0, 180.0),
            **ang,
        ),
        Layer(
            f"{prefix} composite day of the year",
            "int16",
            "class",
            units="day of year",
            long_name="day of the year of the selected observation",
            valid_range=(1, 366),
            fill_values=(-1,),
            source=src,
        ),
        Layer(
            f"{prefix} VI Quality",
            "uint16",
            "qa",
            long_name="VI quality indicators",
            valid_range=(0, 65534),
            fill_values=(65535,),
            bit_fields=VNP13_VI_QUALITY,
            qa_key="vi_quality",
            source=src + "; bit layout: GEE NASA_VIIRS_002_VNP13A1 (VNP13A2 assumed equal)",
        ),
        Layer(
            f"{prefix} pixel reliability",
            "int8",
            "class",
            long_name="pixel reliability",
            valid_range=(0, 11),
            fill_values=(-4, -1),
            bit_fields=VNP13_RELIABILITY,
            qa_key="reliability",
            source=src + "; code meanings 0..11: GEE NASA_VIIRS_002_VNP13A1",
        ),
    )


def _vnp15() -> tuple[Layer, ...]:
    from modisoft.products.modis_lai import LAI_FILL_CLASSES, STDDEV_FILL_CLASSES

    def val(name, scale, units, long_name, classes, upper):
        return Layer(
            name,
            "uint8",
            units=units,
            long_name=long_name,
            scaling=Scaling(scale, 0.0),
            valid_range=(0, 100),
            fill_values=(255,),
            fill_classes=classes,
            physical_range=(0.0, upper),
            source=_SRC15,
        )

    return (
        val(
            "Fpar",
            0.01,
            "1",
            "fraction of photosynthetically active radiation",
            LAI_FILL_CLASSES,
            1.0,
        ),
        val("Lai", 0.1, "m2 m-2", "leaf area index", LAI_FILL_CLASSES, 10.0),
        Layer(
            "FparLai_QC",
            "uint8",
            "qa",
            valid_range=(0, 254),
            fill_values=(255,),
            bit_fields=VNP15_FPARLAI_QC,
            source=_SRC15 + "; bit layout: not MOD15's",
        ),
        Layer(
            "FparExtra_QC",
            "uint8",
            "qa",
            valid_range=(0, 254),
            fill_values=(255,),
            bit_fields=VNP15_FPAREXTRA_QC,
            source=_SRC15,
        ),
        val("FparStdDev", 0.01, "1", "standard deviation of FPAR", STDDEV_FILL_CLASSES, 1.0),
        val("LaiStdDev", 0.1, "m2 m-2", "standard deviation of LAI", STDDEV_FILL_CLASSES, 10.0),
    )


def _vnp09(bands: tuple[str, ...]) -> tuple[Layer, ...]:
    refl = dict(
        dtype="int16",
        units="1",
        scaling=Scaling(0.0001, 0.0),
        valid_range=(-100, 16000),
        fill_values=(-28672,),
        physical_range=(-0.01, 1.6),
        source=_UNVERIFIED,
    )
    return tuple(
        Layer(f"SurfReflect_{b}", long_name=f"surface reflectance {b}", **refl) for b in bands
    )


def _vnp13_roles(prefix: str) -> dict[str, str]:
    """Reflectance roles of the VNP13 layers; "SWIR2" is taken as the 1.6 µm band M10 (not
    verified; PRODUCTS.md §10)."""
    return {r: f"{prefix} {b} reflectance"
            for r, b in (("red", "red"), ("nir", "NIR"), ("swir", "SWIR2"), ("blue", "blue"))}


def _products() -> list[Product]:
    out = []
    for coll in ("001", "002"):
        out.append(
            Product(
                "VNP13A2",
                coll,
                "VIIRS vegetation indices 16-day 1 km",
                _vnp13("1 km 16 days", _SRC13 if coll == "002" else _UNVERIFIED),
                "Suomi NPP",
                16,
                "1km",
                {"VIIRS_Grid_16Day_VI_1km": "1km"},
                _SRC13,
                VNP13_PRESETS,
                (VNP13_WEIGHTS,),
                roles=_vnp13_roles("1 km 16 days"),
            )
        )
        out.append(
            Product(
                "VNP13A1",
                coll,
                "VIIRS vegetation indices 16-day 500 m",
                _vnp13("500 m 16 days", _UNVERIFIED),
                "Suomi NPP",
                16,
                "500m",
                {"VIIRS_Grid_16Day_VI_500m": "500m"},
                _UNVERIFIED,
                VNP13_PRESETS,
                (VNP13_WEIGHTS,),
                roles=_vnp13_roles("500 m 16 days"),
            )
        )
        out.append(
            Product(
                "VNP15A2H",
                coll,
                "VIIRS LAI/FPAR 8-day 500 m",
                _vnp15(),
                "Suomi NPP",
                8,
                "500m",
                {},
                _SRC15,
                VNP15_PRESETS,
                (VNP15_WEIGHTS,),
                roles={"lai": "Lai", "lai_qa": "FparLai_QC", "lai_qa_extra": "FparExtra_QC"},
            )
        )
        out.append(
            Product(
                "VNP09H1",
                coll,
                "VIIRS surface reflectance 8-day 500 m (I bands)",
                _vnp09(("I1", "I2", "I3")),
                "Suomi NPP",
                8,
                "500m",
                {},
                _UNVERIFIED,
                roles={"red": "SurfReflect_I1", "nir": "SurfReflect_I2", "swir": "SurfReflect_I3"},
            )
        )
        out.append(
            Product(
                "VNP09A1",
                coll,
                "VIIRS surface reflectance 8-day 1 km (M bands)",
                _vnp09(tuple(f"M{i}" for i in (1, 2, 3, 4, 5, 7, 8, 10, 11))),
                "Suomi NPP",
                8,
                "1km",
                {},
                _UNVERIFIED,
                roles={
                    "red": "SurfReflect_M5",
                    "nir": "SurfReflect_M7",
                    "swir": "SurfReflect_M10",
                    "blue": "SurfReflect_M3",
                },
            )
        )
    return out + _other_instruments([p for p in out if p.collection == "002"])


def _other_instruments(products: list[Product]) -> list[Product]:
    """VJ1 (NOAA-20) and VJ2 (NOAA-21) counterparts of the collection-2 products: "the same
    product from the other VIIRS instruments" (PRODUCTS.md §10), so the same layers, scales,
    fill classes and QA, under their own short names (not read from a real file here)."""
    import dataclasses

    return [dataclasses.replace(p, name=prefix + p.name[3:], platform=platform,
                                title=p.title + f" ({platform})",
                                source=p.source + f"; {prefix} = {p.name} from {platform} "
                                "(PRODUCTS.md §10)")
            for prefix, platform in (("VJ1", "NOAA-20"), ("VJ2", "NOAA-21"))
            for p in products]


PRODUCTS = _products()
