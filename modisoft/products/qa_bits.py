"""QA bit layouts, named predicates and weight schemes, as data.

Bit 0 is the least significant bit; a field with ``start`` s and ``length`` n is
``(word >> s) & (2**n - 1)``.  Sources, per table:

* MOD09A1 state/QC, MOD15 ``FparLai_QC``/``FparExtra_QC``, MOD13 ``VI Quality`` and pixel
  reliability, NOAA CDR AVHRR ``QA``: ``reference/QA.md`` §1-4 (Google Earth Engine catalogue
  and MODIStsp, verified there).
* MOD09GA ``state_1km``/``QC_500m``: QA.md §1.5 presumes the MOD09A1 layout; the GEE template
  ``catalog/MODIS/templates/MODIS_006_MOD09GA.libsonnet`` gives the same bit tables
  (checked for this module).
* MOD11 ``QC_Day``/``QC_Night``: GEE ``MODIS_006_MOD11A1.libsonnet`` (MOD11B2 and MOD11_L2
  assumed equal, not verified).
* MCD43A3 ``BRDF_Albedo_Band_Mandatory_Quality_*``: GEE ``MODIS_006_MCD43A3.libsonnet`` (one bit).
* VIIRS VNP13 ``VI Quality`` and pixel reliability 0..11: GEE ``NASA_VIIRS_002_VNP13A1.jsonnet``
  (VNP13A2 assumed equal).  VNP15 ``FparLai_QC``/``FparExtra_QC``: GEE
  ``NASA_VIIRS_002_VNP15A2H.jsonnet`` -- **not** the MOD15 layout (SCF_QC in bits 0-2, biome in
  bits 4-7; cloud confidence lives in ``FparExtra_QC``).

Presets and weights marked "choice" are engineering decisions documented in
``docs/concepts/qa.md``; they are not taken from a published source.
"""

from __future__ import annotations

from modisoft.products.model import BitField, QAPreset, WeightScheme

YES_NO = {0: "no", 1: "yes"}


def _flag(name: str, bit: int, description: str = "") -> BitField:
    return BitField(name, bit, 1, YES_NO, description)


# --- MOD09 (QA.md §1) -------------------------------------------------------------------------

LAND_WATER = {
    0: "shallow ocean",
    1: "land",
    2: "ocean coastlines and lake shorelines",
    3: "shallow inland water",
    4: "ephemeral water",
    5: "deep inland water",
    6: "continental/moderate ocean",
    7: "deep ocean",
}
LAND_WATER_NAMES = {2: "coastline", 6: "moderate_ocean"}

MOD09_STATE = (
    BitField(
        "cloud_state",
        0,
        2,
        {0: "clear", 1: "cloudy", 2: "mixed", 3: "not set, assumed clear"},
        names={3: "not_set"},
    ),
    _flag("cloud_shadow", 2),
    BitField("land_water", 3, 3, LAND_WATER, names=LAND_WATER_NAMES),
    BitField("aerosol", 6, 2, {0: "climatology", 1: "low", 2: "average", 3: "high"}),
    BitField("cirrus", 8, 2, {0: "none", 1: "small", 2: "average", 3: "high"}),
    _flag("internal_cloud", 10, "internal cloud algorithm flag"),
    _flag("internal_fire", 11, "internal fire algorithm flag"),
    _flag("mod35_snow_ice", 12, "MOD35 snow/ice flag"),
    _flag("adjacent_cloud", 13, "pixel adjacent to cloud"),
    _flag(
        "brdf_or_salt_pan",
        14,
        "conflict (QA.md §1.1): GEE 'BRDF correction performed', MODIStsp v061 'salt pan'; "
        "informational only, never mask on it",
    ),
    _flag("internal_snow", 15, "internal snow mask"),
)
"""MOD09A1 ``sur_refl_state_500m`` / MOD09GA ``state_1km_1`` (uint16)."""

BAND_QUALITY = {
    0: "highest quality",
    7: "noisy detector",
    8: "dead detector, interpolated in L1B",
    9: "solar zenith >= 86 deg",
    10: "solar zenith 85-86 deg",
    11: "missing input",
    12: "internal constant used in place of an atmospheric input",
    13: "correction out of bounds, value clamped",
    14: "L1B data faulty",
    15: "not processed (deep ocean or clouds)",
}
BAND_QUALITY_NAMES = {
    0: "highest",
    8: "dead_detector",
    9: "solar_zenith_ge_86",
    10: "solar_zenith_85_86",
    12: "internal_constant",
    13: "out_of_bounds",
    15: "not_processed",
}

MOD09_QC = (
    BitField(
        "modland_qa",
        0,
        2,
        {
            0: "ideal quality, all bands",
            1: "less than ideal quality, some or all bands",
            2: "not produced because of cloud",
            3: "not produced for other reasons, may be fill (11 overrides 01)",
        },
        names={0: "ideal", 1: "less_than_ideal", 2: "cloud", 3: "not_produced"},
    ),
    *(
        BitField(
            f"b{k}_quality",
            2 + 4 * (k - 1),
            4,
            BAND_QUALITY,
            f"band {k} quality (codes 1-6 not listed in the sources)",
            BAND_QUALITY_NAMES,
        )
        for k in range(1, 8)
    ),
    _flag("atmospheric_correction", 30, "atmospheric correction performed"),
    _flag("adjacency_correction", 31, "adjacency correction performed"),
)
"""MOD09A1 ``sur_refl_qc_500m`` / MOD09GA ``QC_500m_1`` (uint32)."""

_CLEAR_REST = (
    "not cloud_shadow and land_water == land and aerosol != high and cirrus == none"
    " and not internal_cloud and not mod35_snow_ice and not adjacent_cloud"
    " and not internal_snow"
)
MOD09_STATE_PRESETS = (
    QAPreset(
        "clear_land",
        f"cloud_state == clear and {_CLEAR_REST}",
        "clear, no shadow, land, aerosol not high, no cirrus, no internal cloud, no snow "
        "(MOD35 or internal), not adjacent to cloud",
        "QA.md §1.3 state part (choice)",
    ),
    QAPreset(
        "clear_land_not_set",
        f"cloud_state == not_set and {_CLEAR_REST}",
        "as clear_land but cloud state 'not set, assumed clear' (lower confidence)",
        "QA.md §1.3 (choice: keep cloud state 3 as its own class)",
    ),
)
MOD09_QC_PRESETS = (
    QAPreset(
        "good_bands",
        "modland_qa in (ideal, less_than_ideal) and b1_quality == highest"
        " and b2_quality == highest",
        "MODLAND ideal or less than ideal, bands 1 and 2 of highest quality",
        "QA.md §1.3 QC part (choice)",
    ),
)
MOD09_WEIGHTS = WeightScheme(
    "default",
    (("clear_land", 1.0), ("clear_land_not_set", 0.5)),
    0.0,
    "clear land 1.0; clear land with cloud state 'not set, assumed clear' 0.5; else 0",
    "choice (docs/concepts/qa.md)",
)

# --- MOD15 / MCD15 (QA.md §2) -----------------------------------------------------------------

MOD15_FPARLAI_QC = (
    BitField(
        "modland_qc",
        0,
        1,
        {
            0: "good quality (main algorithm, with or without saturation)",
            1: "other quality (back-up algorithm or fill)",
        },
        names={0: "good", 1: "other"},
    ),
    BitField("sensor", 1, 1, {0: "Terra", 1: "Aqua"}),
    BitField(
        "dead_detector",
        2,
        1,
        {
            0: "detectors fine for up to 50% of channels 1, 2",
            1: "dead detectors caused >50% adjacent-detector retrieval",
        },
        names={0: "fine", 1: "dead"},
    ),
    BitField(
        "cloud_state",
        3,
        2,
        {
            0: "significant clouds not present (clear)",
            1: "significant clouds present",
            2: "mixed cloud present",
            3: "cloud state not defined, assumed clear",
        },
        names={0: "clear", 1: "cloudy", 2: "mixed", 3: "not_set"},
    ),
    BitField(
        "scf_qc",
        5,
        3,
        {
            0: "main (RT) method used, best result possible (no saturation)",
            1: "main (RT) method used with saturation",
            2: "main method failed due to bad geometry, empirical algorithm used",
            3: "main method failed for other reasons, empirical algorithm used",
            4: "pixel not produced at all",
        },
        names={
            0: "main",
            1: "main_saturated",
            2: "empirical_geometry",
            3: "empirical_other",
            4: "not_produced",
        },
    ),
)
"""MOD15/MCD15 ``FparLai_QC`` (uint8, fill 255)."""

MOD15_FPAREXTRA_QC = (
    BitField("land_sea", 0, 2, {0: "land", 1: "shore", 2: "freshwater", 3: "ocean"}),
    _flag("snow_ice", 2, "snow/ice detected"),
    _flag("aerosol", 3, "average or high aerosol"),
    _flag("cirrus", 4, "cirrus detected"),
    _flag("internal_cloud", 5, "internal cloud mask"),
    _flag("cloud_shadow", 6),
    _flag("biome_mask", 7, "SCF biome mask: biome in interval <1,4>"),
)
"""MOD15/MCD15 ``FparExtra_QC`` (uint8, fill 255)."""

MOD15_PRESETS = (
    QAPreset(
        "good_lai",
        "scf_qc in (main, main_saturated) and cloud_state == clear",
        "main (RT) algorithm, with or without saturation, and significant clouds not present",
        "QA.md §2.3 (choice); stricter than the literature's FparLai_QC < 64",
    ),
    QAPreset(
        "main_algorithm",
        "scf_qc in (main, main_saturated)",
        "main (RT) algorithm, with or without saturation: the literature's FparLai_QC < 64",
        "QA.md §2.3 (computed equivalence); ALGORITHMS.md §6",
    ),
)
MOD15_WEIGHTS = WeightScheme(
    "default",
    (("good_lai", 1.0), ("main_algorithm", 0.5)),
    0.0,
    "good_lai 1.0; main algorithm under clouds, mixed or undefined cloud state 0.5; "
    "back-up (empirical) algorithm or not produced 0",
    "choice (docs/concepts/qa.md)",
)

# --- MOD13 (QA.md §3) -------------------------------------------------------------------------

MOD13_VI_QUALITY = (
    BitField(
        "modland",
        0,
        2,
        {
            0: "good quality",
            1: "produced, check other QA",
            2: "probably cloudy",
            3: "not produced, for reasons other than clouds",
        },
        names={0: "good", 1: "check_other_qa", 2: "cloudy", 3: "not_produced"},
    ),
    BitField(
        "vi_usefulness",
        2,
        4,
        {
            0: "highest quality",
            1: "lower quality",
            2: "decreasing quality",
            4: "decreasing quality",
            8: "decreasing quality",
            9: "decreasing quality",
            10: "decreasing quality",
            12: "lowest quality",
            13: "not useful",
            14: "L1B data faulty",
            15: "not useful / not processed",
        },
        names={
            0: "highest",
            1: "lower",
            2: "decreasing_2",
            4: "decreasing_4",
            8: "decreasing_8",
            9: "decreasing_9",
            10: "decreasing_10",
            12: "lowest",
            15: "not_processed",
        },
    ),
    BitField("aerosol", 6, 2, {0: "climatology", 1: "low", 2: "intermediate", 3: "high"}),
    _flag("adjacent_cloud", 8, "adjacent cloud detected"),
    _flag("brdf_correction", 9, "atmosphere BRDF correction"),
    _flag("mixed_clouds", 10),
    BitField(
        "land_water",
        11,
        3,
        {**LAND_WATER, 1: "land (nothing else but land)"},
        names={**LAND_WATER_NAMES, 1: "land"},
    ),
    _flag("snow_ice", 14, "possible snow/ice"),
    _flag("shadow", 15, "possible shadow"),
)
"""MOD13/MYD13 ``VI Quality`` (uint16, fill 65535)."""

MOD13_RELIABILITY = (
    BitField(
        "reliability",
        0,
        8,
        {0: "good data", 1: "marginal data", 2: "snow/ice", 3: "cloudy"},
        "pixel reliability (SummaryQA), a class code; C6 allows 0..4, meaning of 4 unknown",
        {0: "good", 1: "marginal", 2: "snow_ice", 3: "cloudy"},
    ),
)
"""MOD13 pixel reliability as a single 8-bit field (int8 read as its uint8 bits)."""

VI_GOOD = QAPreset(
    "vi_good",
    "modland == good and not adjacent_cloud and not mixed_clouds and not snow_ice and not shadow",
    "MODLAND good quality, no adjacent or mixed clouds, no possible snow/ice or shadow",
    "choice (QA.md §3.3 leaves the MOD13 predicate open)",
)
MOD13_PRESETS = (
    VI_GOOD,
    QAPreset("reliability_good", "reliability == good", "pixel reliability 0 (good data)", "GEE"),
    QAPreset(
        "reliability_usable",
        "reliability in (good, marginal)",
        "pixel reliability 0 or 1 (good or marginal data)",
        "choice",
    ),
)
MOD13_WEIGHTS = (
    WeightScheme(
        "default",
        (("reliability == good", 1.0), ("reliability == marginal", 0.5)),
        0.0,
        "pixel reliability: good 1.0, marginal 0.5, snow/ice and cloudy 0",
        "choice (docs/concepts/qa.md)",
    ),
    WeightScheme(
        "vi_quality",
        (("modland == good", 1.0), ("modland == check_other_qa", 0.5)),
        0.0,
        "VI Quality MODLAND: good 1.0, produced but check other QA 0.5, else 0",
        "choice (docs/concepts/qa.md)",
    ),
)

# --- MOD11 (GEE MODIS_006_MOD11A1) ------------------------------------------------------------

MOD11_QC = (
    BitField(
        "mandatory_qa",
        0,
        2,
        {
            0: "LST produced, good quality",
            1: "LST produced, other quality, examine more detailed QA",
            2: "LST not produced due to cloud effects",
            3: "LST not produced primarily due to reasons other than cloud",
        },
        names={0: "good", 1: "other_quality", 2: "cloud", 3: "not_produced"},
    ),
    BitField(
        "data_quality",
        2,
        2,
        {0: "good data quality", 1: "other quality data", 2: "TBD", 3: "TBD"},
        names={0: "good", 1: "other", 2: "tbd_2", 3: "tbd_3"},
    ),
    BitField(
        "emissivity_error",
        4,
        2,
        {
            0: "average emissivity error <= 0.01",
            1: "average emissivity error <= 0.02",
            2: "average emissivity error <= 0.04",
            3: "average emissivity error > 0.04",
        },
        names={0: "le_0_01", 1: "le_0_02", 2: "le_0_04", 3: "gt_0_04"},
    ),
    BitField(
        "lst_error",
        6,
        2,
        {
            0: "average LST error <= 1 K",
            1: "average LST error <= 2 K",
            2: "average LST error <= 3 K",
            3: "average LST error > 3 K",
        },
        names={0: "le_1k", 1: "le_2k", 2: "le_3k", 3: "gt_3k"},
    ),
)
"""MOD11 ``QC_Day`` / ``QC_Night`` (uint8), GEE ``MODIS_006_MOD11A1``."""

MOD11_PRESETS = (
    QAPreset("lst_day_good", "day.mandatory_qa == good", "day LST produced, good quality", "GEE"),
    QAPreset(
        "lst_night_good", "night.mandatory_qa == good", "night LST produced, good quality", "GEE"
    ),
)
MOD11_WEIGHTS = tuple(
    WeightScheme(
        side,
        ((f"{side}.mandatory_qa == good", 1.0), (f"{side}.mandatory_qa == other_quality", 0.5)),
        0.0,
        f"{side} LST: good quality 1.0, other quality 0.5, not produced 0",
        "choice (docs/concepts/qa.md)",
    )
    for side in ("day", "night")
)

# --- MCD43A3 (GEE MODIS_006_MCD43A3) ----------------------------------------------------------

MCD43_MANDATORY = (
    BitField(
        "mandatory_quality",
        0,
        1,
        {
            0: "processed, good quality (full BRDF inversions)",
            1: "processed, see other QA (magnitude BRDF inversions)",
        },
        "only bit 0 is documented (GEE total_bit_count 1)",
        {0: "full_inversion", 1: "magnitude_inversion"},
    ),
)
MCD43_PRESETS = (
    QAPreset(
        "full_inversion",
        "shortwave.mandatory_quality == full_inversion",
        "shortwave albedo from a full BRDF inversion",
        "GEE",
    ),
)
MCD43_WEIGHTS = WeightScheme(
    "default",
    (
        ("shortwave.mandatory_quality == full_inversion", 1.0),
        ("shortwave.mandatory_quality == magnitude_inversion", 0.5),
    ),
    0.0,
    "shortwave mandatory quality: full inversion 1.0, magnitude inversion 0.5",
    "choice (docs/concepts/qa.md)",
)

# --- VIIRS (GEE NASA_VIIRS_002_VNP13A1, NASA_VIIRS_002_VNP15A2H) ------------------------------

VNP13_VI_QUALITY = tuple(
    b
    if b.name not in ("vi_usefulness", "land_water", "aerosol", "brdf_correction")
    else {
        "vi_usefulness": BitField(
            "vi_usefulness",
            2,
            4,
            {
                0: "highest quality",
                1: "lower quality",
                **{k: "decreasing quality" for k in range(2, 12)},
                12: "worst quality",
                13: "quality so low that it is not useful",
                14: "L1B data faulty",
                15: "not useful for any reason / not processed",
            },
            names={
                0: "highest",
                1: "lower",
                **{k: f"decreasing_{k}" for k in range(2, 12)},
                12: "worst",
                13: "not_useful",
                15: "not_processed",
            },
        ),
        "land_water": BitField(
            "land_water",
            11,
            3,
            {},
            "land/water flag; code meanings not given: GEE's VNP13A1 table (0 land & desert, "
            "1 land no desert, 2 inland water, 3 sea water, 5 coastal) conflicts with the real "
            "VNP13A2 h18v09 2025-001 granule, which holds codes 4 and 6 and has code 0 where "
            "MOD13A2 of the same tile and period flags ocean (codes 0 and 6)",
        ),
        "aerosol": BitField("aerosol", 6, 2, {0: "climatology", 1: "low", 2: "average", 3: "high"}),
        "brdf_correction": _flag("brdf_correction", 9, "adjacent BRDF correction performed"),
    }[b.name]
    for b in MOD13_VI_QUALITY
)
"""VNP13 ``VI Quality`` (uint16, fill 65535): the MOD13 bits with VIIRS code meanings."""

VNP13_RELIABILITY = (
    BitField(
        "reliability",
        0,
        8,
        {
            0: "excellent",
            1: "good",
            2: "acceptable",
            3: "marginal",
            4: "pass",
            5: "questionable",
            6: "poor",
            7: "cloud shadow",
            8: "snow/ice",
            9: "cloud",
            10: "estimated",
            11: "LTAVG (taken from database)",
        },
        "VIIRS pixel reliability, a class code (not the MOD13 table)",
        {4: "pass_quality", 8: "snow_ice", 11: "ltavg"},
    ),
)
VNP13_PRESETS = (
    VI_GOOD,
    QAPreset(
        "reliability_good",
        "reliability in (excellent, good, acceptable)",
        "pixel reliability 0-2",
        "choice",
    ),
)
VNP13_WEIGHTS = WeightScheme(
    "default",
    (
        ("reliability in (excellent, good, acceptable)", 1.0),
        ("reliability in (marginal, pass_quality)", 0.5),
    ),
    0.0,
    "pixel reliability: excellent/good/acceptable 1.0, marginal/pass 0.5, else 0 (questionable, "
    "poor, cloud shadow, snow/ice, cloud, estimated, LTAVG)",
    "choice (docs/concepts/qa.md)",
)

VNP15_FPARLAI_QC = (
    BitField(
        "scf_qc",
        0,
        3,
        {
            0: "main (RT) method used, best result possible (no saturation)",
            1: "main (RT) method used with saturation",
            2: "main method failed due to bad geometry, empirical algorithm used",
            3: "main method failed due to problems other than geometry, empirical algorithm used",
            4: "pixel not produced at all",
        },
        names={
            0: "main",
            1: "main_saturated",
            2: "empirical_geometry",
            3: "empirical_other",
            4: "not_produced",
        },
    ),
    BitField(
        "dead_detector",
        3,
        1,
        {0: "both red and NIR detectors fine", 1: "at least one band has a dead detector"},
        names={0: "fine", 1: "dead"},
    ),
    BitField(
        "biome",
        4,
        4,
        {
            0: "water",
            1: "grasses/cereal crops",
            2: "shrubs",
            3: "broadleaf crops",
            4: "savanna",
            5: "evergreen broadleaf forest",
            6: "deciduous broadleaf forest",
            7: "evergreen needleleaf forest",
            8: "deciduous needleleaf forest",
            9: "non-vegetated",
            10: "urban",
            11: "unclassified",
            12: "filled value",
        },
    ),
)
"""VNP15A2H ``FparLai_QC`` (uint8, fill 255): not the MOD15 layout."""

VNP15_FPAREXTRA_QC = (
    BitField(
        "cloud",
        0,
        2,
        {0: "confident clear", 1: "probably clear", 2: "probably cloudy", 3: "confident cloudy"},
        "cloud detection and confidence",
    ),
    _flag("cloud_shadow", 2),
    _flag("thin_cirrus", 3),
    BitField("aerosol", 4, 2, {0: "climatology", 1: "low", 2: "average", 3: "high"}),
    _flag("snow_ice", 6),
)
"""VNP15A2H ``FparExtra_QC`` (uint8, fill 255)."""

VNP15_PRESETS = (
    QAPreset(
        "good_lai",
        "scf_qc == main and cloud in (confident_clear, probably_clear)",
        "main (RT) algorithm without saturation, and confident or probably clear "
        "(FparLai_QC bits 0-2 == 0 and FparExtra_QC bits 0-1 <= 1; needs both QC layers)",
        "choice (issue 23: the VIIRS main algorithm without saturation and low cloud "
        "confidence; bit layout PRODUCTS.md §10.2, GEE NASA_VIIRS_002_VNP15A2H)",
    ),
    QAPreset(
        "main_algorithm",
        "scf_qc in (main, main_saturated)",
        "main (RT) algorithm, with or without saturation",
        "GEE",
    ),
)
VNP15_WEIGHTS = WeightScheme(
    "default",
    (("good_lai", 1.0), ("main_algorithm", 0.5)),
    0.0,
    "good_lai 1.0; main algorithm (saturated, or probably/confident cloudy) 0.5; back-up or "
    "not produced 0",
    "choice (docs/concepts/qa.md)",
)
