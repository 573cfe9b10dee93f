"""MODIS surface reflectance: MOD09A1/MYD09A1 (8-day, 500 m) and MOD09GA/MYD09GA (daily,
1 km + 500 m), Collections 6 and 6.1.

Sources (``reference/PRODUCTS.md`` §3-4): a real MOD09A1 C6 spatial subset (h18v04 2017-193)
and a real MOD09GA C6 granule (h14v17 2008-296); GEE and MODIStsp agree unless noted.  Aqua
(MYD) layouts are assumed equal to Terra's and C6.1 to C6 (not verified against real files).

Quirks recorded here rather than guessed at run time:

* MOD09A1 stores ``scale_factor = 0.0001`` (multiply); MOD09GA stores ``10000.0`` on the
  ``sur_refl_b0x_1`` layers, meaning *divide*.  Both verified from real files.
* MOD09GA ``Range_1`` stores ``scale_factor = 25.0`` which only makes sense multiplied
  (675-1638 km slant range for a 705 km orbit; computed, PRODUCTS.md §1).
* MOD09A1 angle layers store ``_FillValue = 0`` although 0 is a legitimate angle (nadir view,
  azimuth 0).  The registry does not treat 0 as fill there: validity comes from the
  reflectance fill and the state word (choice, PRODUCTS.md §3).
* MOD09GA ``QC_500m_1`` has ``_FillValue = 787410671``, not 2**32 - 1 (verified).
* MOD09GA compact 1-D ``*_c`` datasets and row counters are not grid layers and are not
  registered (choice, PRODUCTS.md §4).
"""

from __future__ import annotations

from modisoft.products.model import Layer, Product, QAPreset, Scaling
from modisoft.products.qa_bits import (
    MOD09_QC,
    MOD09_QC_PRESETS,
    MOD09_STATE,
    MOD09_STATE_PRESETS,
    MOD09_WEIGHTS,
)

_SRC_A1 = "real MOD09A1 C6 subset h18v04 2017-193; GEE; MODIStsp (reference/PRODUCTS.md §3)"
_SRC_GA = "real MOD09GA C6 h14v17 2008-296 (reference/PRODUCTS.md §4)"
_ANGLE_FILL_NOTE = (
    "the file's _FillValue 0 is a legitimate angle (nadir view, zero azimuth): not masked; "
    "validity comes from the reflectance fill and the state word (PRODUCTS.md §3, choice)"
)
BANDS_NM = {
    1: "620-670",
    2: "841-876",
    3: "459-479",
    4: "545-565",
    5: "1230-1250",
    6: "1628-1652",
    7: "2105-2155",
}


def _refl(name: str, band: int, scaling: Scaling, src: str) -> Layer:
    return Layer(
        name=name,
        dtype="int16",
        units="1",
        scaling=scaling,
        valid_range=(-100, 16000),
        fill_values=(-28672,),
        physical_range=(-0.01, 1.6),
        source=src,
        long_name=f"surface reflectance, band {band} ({BANDS_NM[band]} nm)",
    )


def _mod09a1_layers() -> tuple[Layer, ...]:
    angle = dict(
        dtype="int16",
        units="degree",
        scaling=Scaling(0.01, 0.0),
        source=_SRC_A1,
        deviations={"_FillValue": _ANGLE_FILL_NOTE},
    )
    return (
        *(_refl(f"sur_refl_b{b:02d}", b, Scaling(0.0001, 0.0), _SRC_A1) for b in range(1, 8)),
        Layer(
            "sur_refl_qc_500m",
            "uint32",
            "qa",
            long_name="500 m reflectance band quality",
            valid_range=(0, 4294966531),
            fill_values=(4294967295,),
            bit_fields=MOD09_QC,
            qa_key="qc",
            source=_SRC_A1 + "; bit layout: reference/QA.md §1.2",
        ),
        Layer(
            "sur_refl_szen",
            long_name="solar zenith angle",
            valid_range=(0, 18000),
            physical_range=(0.0, 180.0),
            **angle,
        ),
        Layer(
            "sur_refl_vzen",
            long_name="view zenith angle",
            valid_range=(0, 18000),
            physical_range=(0.0, 180.0),
            **angle,
        ),
        Layer(
            "sur_refl_raz",
            long_name="relative azimuth angle",
            valid_range=(-18000, 18000),
            physical_range=(-180.0, 180.0),
            **angle,
        ),
        Layer(
            "sur_refl_state_500m",
            "uint16",
            "qa",
            long_name="500 m state flags",
            valid_range=(0, 57343),
            fill_values=(65535,),
            bit_fields=MOD09_STATE,
            qa_key="state",
            source=_SRC_A1 + "; bit layout: reference/QA.md §1.1",
        ),
        Layer(
            "sur_refl_day_of_year",
            "uint16",
            "class",
            units="day of year",
            long_name="julian day of the observation",
            valid_range=(1, 366),
            fill_values=(65535,),
            source=_SRC_A1,
        ),
    )


def _mod09ga_layers() -> tuple[Layer, ...]:
    ang = dict(
        dtype="int16",
        units="degree",
        scaling=Scaling(0.01, 0.0),
        fill_values=(-32767,),
        source=_SRC_GA,
    )
    zen = dict(valid_range=(0, 18000), physical_range=(0.0, 180.0), **ang)
    azi = dict(valid_range=(-18000, 18000), physical_range=(-180.0, 180.0), **ang)
    count = dict(
        dtype="int8", kind="class", valid_range=(0, 127), fill_values=(-1,), source=_SRC_GA
    )
    return (
        Layer("num_observations_1km", long_name="number of observations, 1 km", **count),
        Layer(
            "state_1km_1",
            "uint16",
            "qa",
            long_name="1 km reflectance data state QA",
            valid_range=(0, 57335),
            fill_values=(65535,),
            bit_fields=MOD09_STATE,
            qa_key="state",
            source=_SRC_GA + "; bit layout: QA.md §1.5, GEE MODIS_006_MOD09GA",
        ),
        Layer("SensorZenith_1", long_name="sensor zenith angle", **zen),
        Layer("SensorAzimuth_1", long_name="sensor azimuth angle", **azi),
        Layer(
            "Range_1",
            "uint16",
            units="m",
            long_name="pixel to sensor range",
            scaling=Scaling(25.0, 0.0, "hdfeos"),
            valid_range=(27000, 65535),
            fill_values=(0,),
            physical_range=(675000.0, 1638375.0),
            source=_SRC_GA + "; multiply, computed from orbit geometry (PRODUCTS.md §1)",
        ),
        Layer("SolarZenith_1", long_name="solar zenith angle", **zen),
        Layer("SolarAzimuth_1", long_name="solar azimuth angle", **azi),
        Layer(
            "gflags_1",
            "uint8",
            "qa",
            long_name="geolocation flags",
            valid_range=(0, 248),
            fill_values=(255,),
            source=_SRC_GA,
        ),
        Layer(
            "orbit_pnt_1",
            "int8",
            "class",
            long_name="orbit pointer",
            valid_range=(0, 15),
            fill_values=(-1,),
            source=_SRC_GA,
        ),
        Layer(
            "granule_pnt_1",
            "uint8",
            "class",
            long_name="granule pointer",
            valid_range=(0, 254),
            fill_values=(255,),
            source=_SRC_GA,
        ),
        Layer("num_observations_500m", long_name="number of observations, 500 m", **count),
        *(
            _refl(f"sur_refl_b{b:02d}_1", b, Scaling(10000.0, 0.0, "divide"), _SRC_GA)
            for b in range(1, 8)
        ),
        Layer(
            "QC_500m_1",
            "uint32",
            "qa",
            long_name="500 m reflectance band quality",
            valid_range=(0, 4294966019),
            fill_values=(787410671,),
            bit_fields=MOD09_QC,
            qa_key="qc",
            source=_SRC_GA + "; bit layout: QA.md §1.5, GEE MODIS_006_MOD09GA",
        ),
        Layer(
            "obscov_500m_1",
            "int8",
            units="1",
            long_name="observation coverage",
            scaling=Scaling(0.009999999776482582, 0.0),
            valid_range=(0, 100),
            fill_values=(-1,),
            physical_range=(0.0, 1.0),
            source=_SRC_GA,
        ),
        Layer(
            "iobs_res_1",
            "uint8",
            "class",
            long_name="observation number in coarser grid",
            valid_range=(0, 254),
            fill_values=(255,),
            source=_SRC_GA,
        ),
    )


_BAND_ROLES = {"red": 1, "nir": 2, "swir": 6, "blue": 3}
"""MODIS band of each reflectance role (:data:`BANDS_NM`: band 6, 1628-1652 nm, is the 1.6 µm
SWIR of the RSR; MOD09 user guide, Vermote et al., table 1)."""


def _products() -> list[Product]:
    out = []
    for coll in ("006", "061"):
        for sat, plat in (("MOD", "Terra"), ("MYD", "Aqua")):
            out.append(
                Product(
                    name=f"{sat}09A1",
                    collection=coll,
                    platform=plat,
                    period_days=8,
                    resolution="500m",
                    title=f"{plat} surface reflectance 8-day 500 m",
                    layers=_mod09a1_layers(),
                    grids={"MOD_Grid_500m_Surface_Reflectance": "500m"},
                    source=_SRC_A1,
                    qa_presets=(
                        *MOD09_STATE_PRESETS,
                        *MOD09_QC_PRESETS,
                        QAPreset(
                            "clear_land_qc",
                            "clear_land and good_bands",
                            "clear_land on the state word and good_bands on the QC word",
                            "QA.md §1.3 (choice)",
                        ),
                    ),
                    qa_weights=(MOD09_WEIGHTS,),
                    roles={r: f"sur_refl_b{b:02d}" for r, b in _BAND_ROLES.items()},
                )
            )
            out.append(
                Product(
                    name=f"{sat}09GA",
                    collection=coll,
                    platform=plat,
                    period_days=1,
                    resolution="500m",
                    title=f"{plat} surface reflectance daily 1 km and 500 m",
                    layers=_mod09ga_layers(),
                    grids={"MODIS_Grid_1km_2D": "1km", "MODIS_Grid_500m_2D": "500m"},
                    source=_SRC_GA,
                    qa_presets=(*MOD09_STATE_PRESETS, *MOD09_QC_PRESETS),
                    qa_weights=(MOD09_WEIGHTS,),
                    roles={r: f"sur_refl_b{b:02d}_1" for r, b in _BAND_ROLES.items()},
                )
            )
    return out


PRODUCTS = _products()
