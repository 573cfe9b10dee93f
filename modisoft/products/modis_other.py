"""Other MODIS land products: MOD11A1/MYD11A1 and MOD11B2/MYD11B2 (land surface temperature),
MCD43A3 (albedo), MCD12Q1 (land cover).

Sources: ``reference/PRODUCTS.md`` §6 (MOD11, from a real MOD11A1 h14v09 2019-305 and a real
MOD11B2 h14v04 2017-001), §7 (MCD43A3, a real h15v07 2017-199 file), §9 (MCD12Q1 legends, GEE;
dtype and valid ranges read from the real MCD12Q1 C6.1 h24v07/h26v07 2020 files).

MOD11 stores non-zero ``add_offset`` on the view-angle (-65) and emissivity (0.49) layers; only
the CF form ``stored * scale + offset`` gives physical values (view angle -65..65°, emissivity
0.492..1.0), so these HDF4 layers are declared ``cf`` (computed, PRODUCTS.md §1; not verified
against the MOD11 user guide).  LST ``_FillValue = 0`` is a real fill (pyModis's
``if fill_value:`` bug).  MOD11A1 ``QC_Day``/``QC_Night`` carry no ``_FillValue``.
"""

from __future__ import annotations

from modisoft.products.model import Layer, Product, Scaling
from modisoft.products.qa_bits import (
    MCD43_MANDATORY,
    MCD43_PRESETS,
    MCD43_WEIGHTS,
    MOD11_PRESETS,
    MOD11_QC,
    MOD11_WEIGHTS,
)

_SRC11 = "real MOD11A1 h14v09 2019-305 and MOD11B2 h14v04 2017-001 (PRODUCTS.md §6)"
_SRC43 = "real MCD43A3 C6 h15v07 2017-199 (PRODUCTS.md §7)"
_QC_FILL_NOTE = (
    "the file's _FillValue 0 is also the 'good quality' QC code: in the real MOD11B2 h14v04 "
    "2017-001 granule 564 pixels with QC_Day 0 carry a valid LST; not treated as fill"
)
_SRC12 = "GEE legends (PRODUCTS.md §9); dtype/valid ranges from real MCD12Q1 C6.1 2020 files"


def _lst(name: str) -> Layer:
    return Layer(
        name,
        "uint16",
        units="K",
        long_name="land surface temperature",
        scaling=Scaling(0.02, 0.0, "cf"),
        valid_range=(7500, 65535),
        fill_values=(0,),
        physical_range=(150.0, 1310.7),
        source=_SRC11,
    )


def _mod11_common(
    qc_fill: tuple[int, ...], emis: tuple[str, ...], qc_deviations: dict[str, str] | None = None
) -> list[Layer]:
    qc = dict(
        dtype="uint8",
        kind="qa",
        valid_range=(0, 255),
        fill_values=qc_fill,
        bit_fields=MOD11_QC,
        deviations=qc_deviations or {},
        source=_SRC11 + "; bit layout: GEE MODIS_006_MOD11A1",
    )
    time = dict(
        dtype="uint8",
        units="hour",
        scaling=Scaling(0.1, 0.0, "cf"),
        valid_range=(0, 240),
        fill_values=(255,),
        physical_range=(0.0, 24.0),
        source=_SRC11,
    )
    angle = dict(
        dtype="uint8",
        units="degree",
        scaling=Scaling(1.0, -65.0, "cf"),
        valid_range=(0, 130),
        fill_values=(255,),
        physical_range=(-65.0, 65.0),
        source=_SRC11 + "; CF form (PRODUCTS.md §1, computed)",
    )
    out = [
        Layer("QC_Day", long_name="quality control for daytime LST", qa_key="day", **qc),
        Layer("Day_view_time", long_name="local time of day observation", **time),
        Layer("Day_view_angl", long_name="view zenith angle of day observation", **angle),
        Layer("QC_Night", long_name="quality control for nighttime LST", qa_key="night", **qc),
        Layer("Night_view_time", long_name="local time of night observation", **time),
        Layer("Night_view_angl", long_name="view zenith angle of night observation", **angle),
    ]
    for band in emis:
        out.append(
            Layer(
                f"Emis_{band}",
                "uint8",
                units="1",
                long_name=f"band {band} emissivity",
                scaling=Scaling(0.002, 0.49, "cf"),
                valid_range=(1, 255),
                fill_values=(0,),
                physical_range=(0.49, 1.0),
                source=_SRC11 + "; CF form (PRODUCTS.md §1, computed)",
            )
        )
    return out


def _mod11a1() -> tuple[Layer, ...]:
    c = _mod11_common((), ("31", "32"))
    cov = dict(
        dtype="uint16",
        units="1",
        scaling=Scaling(0.0005, 0.0, "cf"),
        valid_range=(1, 65535),
        fill_values=(0,),
        physical_range=(0.0, 32.77),
        source=_SRC11,
    )
    return (
        _lst("LST_Day_1km"),
        c[0],
        c[1],
        c[2],
        _lst("LST_Night_1km"),
        c[3],
        c[4],
        c[5],
        *c[6:],
        Layer("Clear_day_cov", long_name="day clear-sky coverage", **cov),
        Layer("Clear_night_cov", long_name="night clear-sky coverage", **cov),
    )


def _mod11b2() -> tuple[Layer, ...]:
    c = _mod11_common((), ("20", "22", "23", "29", "31", "32"), {"_FillValue": _QC_FILL_NOTE})
    cnt = dict(dtype="uint8", kind="class", valid_range=(0, 255), fill_values=(0,), source=_SRC11)
    return (
        _lst("LST_Day_6km"),
        c[0],
        c[1],
        c[2],
        _lst("LST_Night_6km"),
        c[3],
        c[4],
        c[5],
        *c[6:],
        _lst("LST_Day_6km_Aggregated_from_1km"),
        _lst("LST_Night_6km_Aggregated_from_1km"),
        Layer("Clear_sky_days", long_name="days in clear-sky conditions (bit flags)", **cnt),
        Layer("Clear_sky_nights", long_name="nights in clear-sky conditions (bit flags)", **cnt),
        Layer(
            "Percent_land_in_grid",
            "uint8",
            "class",
            units="percent",
            long_name="percentage of land in grid",
            valid_range=(1, 100),
            fill_values=(0,),
            source=_SRC11,
        ),
    )


def _mcd43a3() -> tuple[Layer, ...]:
    bands = [f"Band{i}" for i in range(1, 8)] + ["vis", "nir", "shortwave"]
    qa = [
        Layer(
            f"BRDF_Albedo_Band_Mandatory_Quality_{b}",
            "uint8",
            "qa",
            long_name=f"BRDF/albedo mandatory quality, {b}",
            valid_range=(0, 254),
            fill_values=(255,),
            bit_fields=MCD43_MANDATORY,
            qa_key=b.lower(),
            source=_SRC43 + "; bit 0 meaning: GEE MODIS_006_MCD43A3",
        )
        for b in bands
    ]
    alb = dict(
        dtype="int16",
        units="1",
        scaling=Scaling(0.001, 0.0),
        valid_range=(0, 32767),
        fill_values=(32767,),
        physical_range=(0.0, 32.766),
        source=_SRC43,
    )
    bsa = [Layer(f"Albedo_BSA_{b}", long_name=f"black-sky albedo, {b}", **alb) for b in bands]
    wsa = [Layer(f"Albedo_WSA_{b}", long_name=f"white-sky albedo, {b}", **alb) for b in bands]
    return (*qa, *bsa, *wsa)


IGBP = {
    1: "Evergreen Needleleaf Forests",
    2: "Evergreen Broadleaf Forests",
    3: "Deciduous Needleleaf Forests",
    4: "Deciduous Broadleaf Forests",
    5: "Mixed Forests",
    6: "Closed Shrublands",
    7: "Open Shrublands",
    8: "Woody Savannas",
    9: "Savannas",
    10: "Grasslands",
    11: "Permanent Wetlands",
    12: "Croplands",
    13: "Urban and Built-up",
    14: "Cropland/Natural Vegetation Mosaics",
    15: "Permanent Snow and Ice",
    16: "Barren",
    17: "Water Bodies",
}
"""MCD12Q1 LC_Type1 (IGBP) legend (verified, GEE)."""
UMD = {
    0: "Water",
    **{k: IGBP[k] for k in range(1, 13)},
    13: "Urban and Built-up",
    14: "Cropland/Natural Vegetation Mosaics",
    15: "Non-Vegetated Lands",
}
LAI_BIOME = {
    0: "Water",
    1: "Grasslands (incl. cereal croplands)",
    2: "Shrublands",
    3: "Broadleaf Croplands",
    4: "Savannas",
    5: "Evergreen Broadleaf Forests",
    6: "Deciduous Broadleaf Forests",
    7: "Evergreen Needleleaf Forests",
    8: "Deciduous Needleleaf Forests",
    9: "Non-Vegetated",
    10: "Urban",
}
"""MCD12Q1 LC_Type3 (LAI biome = the MOD15 biome map) legend (verified, GEE)."""
BGC = {
    0: "Water",
    1: "Evergreen Needleleaf Vegetation",
    2: "Evergreen Broadleaf Vegetation",
    3: "Deciduous Needleleaf Vegetation",
    4: "Deciduous Broadleaf Vegetation",
    5: "Annual Broadleaf Vegetation",
    6: "Annual Grass Vegetation",
    7: "Non-Vegetated",
    8: "Urban",
}
PFT = {
    0: "Water",
    1: "Evergreen Needleleaf Trees",
    2: "Evergreen Broadleaf Trees",
    3: "Deciduous Needleleaf Trees",
    4: "Deciduous Broadleaf Trees",
    5: "Shrub",
    6: "Grass",
    7: "Cereal Croplands",
    8: "Broadleaf Croplands",
    9: "Urban",
    10: "Permanent Snow and Ice",
    11: "Non-Vegetated",
}


def _mcd12q1() -> tuple[Layer, ...]:
    def cls(name, vr, legend=None, long_name=""):
        return Layer(
            name,
            "uint8",
            "class",
            long_name=long_name,
            valid_range=vr,
            fill_values=(255,),
            class_values=legend or {},
            source=_SRC12,
        )

    def pct(name, long_name):
        return Layer(
            name,
            "uint8",
            "value",
            units="percent",
            long_name=long_name,
            valid_range=(0, 100),
            fill_values=(255,),
            physical_range=(0.0, 100.0),
            source=_SRC12,
        )

    return (
        cls("LC_Type1", (1, 17), IGBP, "land cover type 1: IGBP"),
        cls("LC_Type2", (0, 15), UMD, "land cover type 2: UMD"),
        cls("LC_Type3", (0, 10), LAI_BIOME, "land cover type 3: LAI biome"),
        cls("LC_Type4", (0, 8), BGC, "land cover type 4: BIOME-BGC"),
        cls("LC_Type5", (0, 11), PFT, "land cover type 5: plant functional types"),
        pct("LC_Prop1_Assessment", "LCCS1 land cover layer confidence"),
        pct("LC_Prop2_Assessment", "LCCS2 land use layer confidence"),
        pct("LC_Prop3_Assessment", "LCCS3 surface hydrology layer confidence"),
        cls("LC_Prop1", (1, 43), None, "FAO-LCCS1 land cover (legend not in reference)"),
        cls("LC_Prop2", (1, 40), None, "FAO-LCCS2 land use (legend not in reference)"),
        cls("LC_Prop3", (1, 51), None, "FAO-LCCS3 surface hydrology (legend not in reference)"),
        cls("QC", (0, 10), None, "product quality flags"),
        cls("LW", (1, 2), {1: "water", 2: "land"}, "binary land (2) / water (1) mask"),
    )


def _products() -> list[Product]:
    out = []
    for coll in ("006", "061"):
        for sat, plat in (("MOD", "Terra"), ("MYD", "Aqua")):
            out.append(
                Product(
                    f"{sat}11A1",
                    coll,
                    f"{plat} land surface temperature daily 1 km",
                    _mod11a1(),
                    plat,
                    1,
                    "1km",
                    {"MODIS_Grid_Daily_1km_LST": "1km"},
                    _SRC11,
                    MOD11_PRESETS,
                    MOD11_WEIGHTS,
                )
            )
            out.append(
                Product(
                    f"{sat}11B2",
                    coll,
                    f"{plat} land surface temperature 8-day 6 km",
                    _mod11b2(),
                    plat,
                    8,
                    "6km",
                    {"MODIS_Grid_8Day_6km_LST": "6km"},
                    _SRC11,
                    MOD11_PRESETS,
                    MOD11_WEIGHTS,
                )
            )
        out.append(
            Product(
                "MCD43A3",
                coll,
                "Terra+Aqua albedo daily 500 m",
                _mcd43a3(),
                "Terra+Aqua",
                1,
                "500m",
                {"MOD_Grid_BRDF": "500m"},
                _SRC43,
                MCD43_PRESETS,
                (MCD43_WEIGHTS,),
            )
        )
        out.append(
            Product(
                "MCD12Q1",
                coll,
                "Terra+Aqua land cover type yearly 500 m",
                _mcd12q1(),
                "Terra+Aqua",
                365,
                "500m",
                {"MCD12Q1": "500m"},
                _SRC12,
            )
        )
    return out


PRODUCTS = _products()
