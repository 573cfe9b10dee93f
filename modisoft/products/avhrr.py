"""AVHRR products: NOAA Climate Data Record AVH09C1 (surface reflectance), AVH13C1 (NDVI),
AVH15C1 (LAI/FAPAR) on the 0.05° geographic grid (netCDF4 CDR V4/V5 and the older LTDR
HDF-EOS2 files), GIMMS NDVI3g (v0 binary flags, v1 ``.nc4``), and the EUMETSAT AVHRR GAC L1C FDR
swath.

Sources and status:

* CDR scales — SREFL 0.0001, BT 0.1 K, angles 0.01°, TIMEOFDAY 0.01 h (AVH09C1, AVH13C1),
  NDVI 0.0001, LAI 0.001, FAPAR 0.001 (AVH15C1): **verified**, Google Earth Engine catalogue
  (``NOAA_CDR_AVHRR_SR_V5``, ``_NDVI_V5``, ``_LAI_FAPAR_V5``).  QA layouts: QA.md §4 (AVH09C1/
  AVH13C1, 16 bit) and GEE (AVH15C1, 8 bit).  The fill value -9999 and the int16 storage are
  **not verified** (PRODUCTS.md §11 "commonly -9999"); the reader checks them against each
  file's own attributes and follows the file on a mismatch.
* CDR grid: 0.05° global, 7200 × 3600 (GEE).  GEE notes that the files' latitude and longitude
  values are offset from the cell centres by up to 0.002° and 0.02°: modisoft georeferences
  these files on the exact 0.05° grid and checks the file's coordinates within that tolerance.
* LTDR HDF4 files are HDF-EOS2 grids named ``Grid`` with the same SDS names (public code that
  reads ``HDF4_EOS:EOS_GRID:"…":Grid:SREFL_CH1``); their earlier QA layouts are not verified.
* GIMMS NDVI3g.v1 ``.nc4``: ``ndvi`` int16 divided by 10000 with fills -32768 and -3000;
  ``percentile`` whose ``floor(value / 2000)`` is the quality flag, 0 = good (the R package
  ``gimms``, ``qualityControl`` documentation; not verified against NASA documentation).
* GAC L1C FDR: every number verified from the real NOAA-6 1981-03-30 file (PRODUCTS.md §12);
  CF unpacking; reflectances in percent (the file's ``units = "%"``).
"""

from __future__ import annotations

from modisoft.products.model import BitField, Layer, Product, QAPreset, Scaling, WeightScheme
from modisoft.products.qa_bits import (
    MOD11_PRESETS,
    MOD11_QC,
    MOD11_WEIGHTS,
)

# --- NOAA CDR AVHRR (QA.md §4) ----------------------------------------------------------------

AVHRR_CDR_PRESETS = (
    QAPreset(
        "clear_land",
        "not cloudy and not cloud_shadow and not water and not night and not ch1_invalid"
        " and not ch2_invalid and not brdf_invalid",
        "no cloud, shadow, water or night; channels 1, 2 and the BRDF correction valid",
        "choice (the candidate bits 1, 2, 3, 6, 8, 9, 14 suggested in QA.md §4)",
    ),
)
AVHRR_CDR_WEIGHTS = WeightScheme(
    "default", (("clear_land", 1.0),), 0.0, "clear_land 1.0, else 0", "choice"
)
AVHRR_LAI_PRESETS = (
    QAPreset("lai_ok", "quality == ok", "AVH15C1 quality bits 0-1 = 0 (ok)", "GEE"),
)
AVHRR_LAI_WEIGHTS = WeightScheme("default", (("lai_ok", 1.0),), 0.0, "ok 1.0, else 0", "choice")

_GEE = "GEE catalogue NOAA_CDR_AVHRR_*_V5 (scales verified); fill -9999 and dtype not verified"

CDR_QA_16 = tuple(
    BitField(name, bit, 1, {0: "no", 1: "yes"})
    for bit, name in enumerate(
        (
            "unused",
            "cloudy",
            "cloud_shadow",
            "water",
            "sunglint",
            "dense_dark_vegetation",
            "night",
            "channels_1_5_valid",
            "ch1_invalid",
            "ch2_invalid",
            "ch3_invalid",
            "ch4_invalid",
            "ch5_invalid",
            "rho3_invalid",
            "brdf_invalid",
            "polar",
        )
    )
)
"""AVH09C1/AVH13C1 16-bit QA (QA.md §4, verified from GEE)."""

CDR_QA_LAI = (
    BitField(
        "quality", 0, 2, {0: "ok", 1: "input cloudy", 2: "invalid input", 3: "output out of range"}
    ),
    BitField(
        "associated_class",
        2,
        3,
        {
            1: "needleleaf forest",
            2: "broadleaf forest",
            4: "grassland, croplands, non vegetated",
            5: "evergreen broadleaf forest",
            6: "water",
        },
    ),
    BitField("brdf_corrected", 5, 1, {0: "no", 1: "yes"}),
    BitField(
        "polygon_test", 6, 2, {0: "in polygon", 1: "not in polygon", 2: "not tested (water/cloudy)"}
    ),
)
"""AVH15C1 8-bit QA (verified, GEE ``NOAA_CDR_AVHRR_LAI_FAPAR_V5``)."""


def _cdr(name: str, scale: float, units: str, long_name: str, rng: tuple[float, float]) -> Layer:
    return Layer(
        name,
        "int16",
        units=units,
        long_name=long_name,
        scaling=Scaling(scale, 0.0, "cf"),
        fill_values=(-9999,),
        physical_range=rng,
        source=_GEE,
    )


def _tod() -> Layer:
    return _cdr(
        "TIMEOFDAY", 0.01, "hour", "hours since start of day (known +24 h error)", (0.0, 48.0)
    )


def _avh09() -> tuple[Layer, ...]:
    return (
        _cdr("SREFL_CH1", 0.0001, "1", "surface reflectance, channel 1 (640 nm)", (-0.01, 1.6)),
        _cdr("SREFL_CH2", 0.0001, "1", "surface reflectance, channel 2 (860 nm)", (-0.01, 1.6)),
        _cdr("BT_CH3", 0.1, "K", "brightness temperature, channel 3", (150.0, 400.0)),
        _cdr("BT_CH4", 0.1, "K", "brightness temperature, channel 4", (150.0, 400.0)),
        _cdr("BT_CH5", 0.1, "K", "brightness temperature, channel 5", (150.0, 400.0)),
        _cdr("SZEN", 0.01, "degree", "solar zenith angle", (0.0, 180.0)),
        _cdr("VZEN", 0.01, "degree", "view zenith angle", (0.0, 180.0)),
        _cdr("RELAZ", 0.01, "degree", "relative azimuth angle", (-180.0, 360.0)),
        _tod(),
        Layer(
            "QA",
            "int16",
            "qa",
            long_name="quality control bit flags",
            bit_fields=CDR_QA_16,
            source="QA.md §4 (GEE, verified); dtype not verified",
        ),
    )


def _avh13() -> tuple[Layer, ...]:
    return (
        _cdr("NDVI", 0.0001, "1", "normalized difference vegetation index", (-1.0, 1.0)),
        _tod(),
        Layer(
            "QA",
            "int16",
            "qa",
            long_name="quality control bit flags",
            bit_fields=CDR_QA_16,
            source="QA.md §4 (GEE, verified); dtype not verified",
        ),
    )


def _avh15() -> tuple[Layer, ...]:
    return (
        _cdr("LAI", 0.001, "m2 m-2", "leaf area index", (0.0, 10.0)),
        _cdr("FAPAR", 0.001, "1", "fraction of absorbed PAR", (0.0, 1.0)),
        Layer(
            "QA",
            "int16",
            "qa",
            long_name="quality control bit flags",
            bit_fields=CDR_QA_LAI,
            source="GEE NOAA_CDR_AVHRR_LAI_FAPAR_V5 (verified); dtype not verified",
        ),
    )


_GIMMS_SRC = "R package gimms (qualityControl docs): ndvi/1e4, fills -32768/-3000; not verified"
GIMMS_V1_FLAG = {0: "good", 1: "flag 1 (see GIMMS documentation)", 2: "flag 2", 3: "flag 3"}


def _gimms_v1() -> tuple[Layer, ...]:
    return (
        Layer(
            "ndvi",
            "int16",
            units="1",
            long_name="GIMMS NDVI3g",
            scaling=Scaling(10000.0, 0.0, "divide"),
            fill_values=(-32768, -3000),
            valid_range=(-10000, 10000),
            physical_range=(-1.0, 1.0),
            source=_GIMMS_SRC,
        ),
        Layer(
            "percentile",
            "int16",
            "qa",
            long_name="percentile and quality flag (flag = floor(percentile / 2000), 0 = good)",
            fill_values=(-32768,),
            bit_fields=(),
            source=_GIMMS_SRC,
        ),
    )


_FDR = "real AVHRR GAC L1C FDR NOAA-6 1981-03-30 file (PRODUCTS.md §12), CF unpacking"


def _gac_fdr() -> tuple[Layer, ...]:
    def v(name, scale, offset, units, rng, long_name):
        return Layer(
            name,
            "int16",
            units=units,
            long_name=long_name,
            scaling=Scaling(scale, offset, "cf"),
            fill_values=(-32767,),
            physical_range=rng,
            source=_FDR,
        )

    return (
        v("reflectance_channel_1", 0.01, 0.0, "%", (0.0, 150.0), "TOA reflectance, channel 1"),
        v("reflectance_channel_2", 0.01, 0.0, "%", (0.0, 150.0), "TOA reflectance, channel 2"),
        v(
            "brightness_temperature_channel_3",
            0.01,
            273.15,
            "K",
            (150.0, 400.0),
            "TOA brightness temperature, channel 3",
        ),
        v(
            "brightness_temperature_channel_4",
            0.01,
            273.15,
            "K",
            (150.0, 400.0),
            "TOA brightness temperature, channel 4",
        ),
        v(
            "brightness_temperature_channel_5",
            0.01,
            273.15,
            "K",
            (150.0, 400.0),
            "TOA brightness temperature, channel 5",
        ),
        v("solar_zenith_angle", 0.01, 0.0, "degree", (0.0, 180.0), "solar zenith angle"),
        v("sensor_zenith_angle", 0.01, 0.0, "degree", (0.0, 90.0), "sensor zenith angle"),
        v("solar_azimuth_angle", 0.01, 0.0, "degree", (-180.0, 360.0), "solar azimuth angle"),
        v("sensor_azimuth_angle", 0.01, 0.0, "degree", (-180.0, 360.0), "sensor azimuth angle"),
        v(
            "sun_sensor_azimuth_difference_angle",
            0.01,
            0.0,
            "degree",
            (-360.0, 360.0),
            "sun-sensor azimuth difference",
        ),
        Layer(
            "qual_flags",
            "int16",
            "qa",
            long_name="scanline quality flags (7 per line)",
            fill_values=(-32767,),
            source=_FDR,
        ),
    )


_MOD11_L2 = "assumed as MOD11A1 (PRODUCTS.md §6); not verified against a real L2 granule"


def _mod11_l2() -> tuple[Layer, ...]:
    return (
        Layer(
            "LST",
            "uint16",
            units="K",
            long_name="land surface temperature",
            scaling=Scaling(0.02, 0.0, "cf"),
            valid_range=(7500, 65535),
            fill_values=(0,),
            physical_range=(150.0, 1310.7),
            source=_MOD11_L2,
        ),
        Layer(
            "QC",
            "uint8",
            "qa",
            long_name="quality control for LST",
            bit_fields=MOD11_QC,
            qa_key="day",
            source=_MOD11_L2 + "; bit layout assumed as MOD11A1 QC_Day (GEE)",
        ),
    )


def _products() -> list[Product]:
    out = []
    for coll in ("004", "005"):
        out += [
            Product(
                "AVH09C1",
                coll,
                "AVHRR CDR surface reflectance daily 0.05°",
                _avh09(),
                "NOAA POES",
                1,
                "0.05deg",
                {"Grid": "0.05deg"},
                _GEE,
                AVHRR_CDR_PRESETS,
                (AVHRR_CDR_WEIGHTS,),
                roles={"red": "SREFL_CH1", "nir": "SREFL_CH2"},  # channels 1, 2 (0.63, 0.86 µm)
            ),
            Product(
                "AVH13C1",
                coll,
                "AVHRR CDR NDVI daily 0.05°",
                _avh13(),
                "NOAA POES",
                1,
                "0.05deg",
                {"Grid": "0.05deg"},
                _GEE,
                AVHRR_CDR_PRESETS,
                (AVHRR_CDR_WEIGHTS,),
            ),
            Product(
                "AVH15C1",
                coll,
                "AVHRR CDR LAI/FAPAR daily 0.05°",
                _avh15(),
                "NOAA POES",
                1,
                "0.05deg",
                {"Grid": "0.05deg"},
                _GEE,
                AVHRR_LAI_PRESETS,
                (AVHRR_LAI_WEIGHTS,),
                roles={"lai": "LAI"},
            ),
        ]
    out.append(
        Product(
            "GIMMS_NDVI3G",
            "v1",
            "GIMMS NDVI3g.v1 half-monthly 1/12°",
            _gimms_v1(),
            "NOAA POES",
            15,
            "1/12deg",
            {},
            _GIMMS_SRC,
        )
    )
    out.append(
        Product(
            "AVHRR_GAC_L1C_FDR",
            "0100",
            "EUMETSAT AVHRR GAC L1C FDR swath",
            _gac_fdr(),
            "NOAA POES / MetOp",
            None,
            "1050m",
            {},
            _FDR,
            roles={"red": "reflectance_channel_1", "nir": "reflectance_channel_2"},
        )
    )
    for sat in ("MOD", "MYD"):
        for coll in ("006", "061"):
            out.append(
                Product(
                    f"{sat}11_L2",
                    coll,
                    "MODIS LST 5-minute swath 1 km",
                    _mod11_l2(),
                    "Terra" if sat == "MOD" else "Aqua",
                    None,
                    "1km",
                    {},
                    _MOD11_L2,
                    MOD11_PRESETS[:1],
                    MOD11_WEIGHTS[:1],
                )
            )
    return out


PRODUCTS = _products()
