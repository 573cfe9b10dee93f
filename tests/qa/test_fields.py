"""QA bit fields: registry layouts against the documented tables, test vectors built from the
documented bit patterns (every field at its edges, every value), the worked examples of
``reference/QA.md``, and real files' words against a plain shift/mask decoder written here.

The layouts below are transcribed by hand from ``reference/QA.md`` (§1-4) and the Google Earth
Engine catalogue entries cited in ``modisoft/products/qa_bits.py``, as (field, first bit, last
bit) -- an independent statement of the layout, not read from the registry.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import xarray as xr
from conftest import sample
from pyhdf.SD import SD

from modisoft import open_granule
from modisoft.products import get_product
from modisoft.qa import decode_qa, decode_words, extract_field, fill_code

MOD09_STATE = [
    ("cloud_state", 0, 1),
    ("cloud_shadow", 2, 2),
    ("land_water", 3, 5),
    ("aerosol", 6, 7),
    ("cirrus", 8, 9),
    ("internal_cloud", 10, 10),
    ("internal_fire", 11, 11),
    ("mod35_snow_ice", 12, 12),
    ("adjacent_cloud", 13, 13),
    ("brdf_or_salt_pan", 14, 14),
    ("internal_snow", 15, 15),
]
MOD09_QC = [
    ("modland_qa", 0, 1),
    *[(f"b{k}_quality", 2 + 4 * (k - 1), 5 + 4 * (k - 1)) for k in range(1, 8)],
    ("atmospheric_correction", 30, 30),
    ("adjacency_correction", 31, 31),
]
MOD15_QC = [
    ("modland_qc", 0, 0),
    ("sensor", 1, 1),
    ("dead_detector", 2, 2),
    ("cloud_state", 3, 4),
    ("scf_qc", 5, 7),
]
MOD15_EXTRA = [
    ("land_sea", 0, 1),
    ("snow_ice", 2, 2),
    ("aerosol", 3, 3),
    ("cirrus", 4, 4),
    ("internal_cloud", 5, 5),
    ("cloud_shadow", 6, 6),
    ("biome_mask", 7, 7),
]
MOD13_VIQ = [
    ("modland", 0, 1),
    ("vi_usefulness", 2, 5),
    ("aerosol", 6, 7),
    ("adjacent_cloud", 8, 8),
    ("brdf_correction", 9, 9),
    ("mixed_clouds", 10, 10),
    ("land_water", 11, 13),
    ("snow_ice", 14, 14),
    ("shadow", 15, 15),
]
RELIABILITY = [("reliability", 0, 7)]
MOD11_QC = [
    ("mandatory_qa", 0, 1),
    ("data_quality", 2, 3),
    ("emissivity_error", 4, 5),
    ("lst_error", 6, 7),
]
MCD43_QA = [("mandatory_quality", 0, 0)]
VNP15_QC = [("scf_qc", 0, 2), ("dead_detector", 3, 3), ("biome", 4, 7)]
VNP15_EXTRA = [
    ("cloud", 0, 1),
    ("cloud_shadow", 2, 2),
    ("thin_cirrus", 3, 3),
    ("aerosol", 4, 5),
    ("snow_ice", 6, 6),
]
AVHRR_CDR = [
    (n, i, i)
    for i, n in enumerate(
        [
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
        ]
    )
]
AVHRR_LAI = [
    ("quality", 0, 1),
    ("associated_class", 2, 4),
    ("brdf_corrected", 5, 5),
    ("polygon_test", 6, 7),
]

# (product, collection, layer, documented layout, word dtype, fill words)
CASES = [
    ("MOD09A1", "061", "sur_refl_state_500m", MOD09_STATE, "uint16", [65535]),
    ("MOD09A1", "006", "sur_refl_qc_500m", MOD09_QC, "uint32", [4294967295]),
    ("MYD09A1", "061", "sur_refl_qc_500m", MOD09_QC, "uint32", [4294967295]),
    ("MOD09GA", "006", "state_1km_1", MOD09_STATE, "uint16", [65535]),
    ("MOD09GA", "061", "QC_500m_1", MOD09_QC, "uint32", [787410671]),
    ("MCD15A2", "005", "FparLai_QC", MOD15_QC, "uint8", [255]),
    ("MCD15A2", "005", "FparExtra_QC", MOD15_EXTRA, "uint8", [255]),
    ("MOD15A2H", "061", "FparLai_QC", MOD15_QC, "uint8", [255]),
    ("MCD15A3H", "006", "FparExtra_QC", MOD15_EXTRA, "uint8", [255]),
    ("MOD13A2", "061", "1 km 16 days VI Quality", MOD13_VIQ, "uint16", [65535]),
    ("MOD13Q1", "006", "250m 16 days VI Quality", MOD13_VIQ, "uint16", [65535]),
    ("MYD13A1", "061", "500m 16 days pixel reliability", RELIABILITY, "int8", [-1]),
    ("MOD11A1", "061", "QC_Day", MOD11_QC, "uint8", []),
    ("MOD11A1", "006", "QC_Night", MOD11_QC, "uint8", []),
    ("MOD11B2", "006", "QC_Day", MOD11_QC, "uint8", []),
    ("MCD43A3", "006", "BRDF_Albedo_Band_Mandatory_Quality_shortwave", MCD43_QA, "uint8", [255]),
    ("MCD43A3", "061", "BRDF_Albedo_Band_Mandatory_Quality_Band1", MCD43_QA, "uint8", [255]),
    ("VNP13A2", "002", "1 km 16 days VI Quality", MOD13_VIQ, "uint16", [65535]),
    ("VNP13A1", "002", "500 m 16 days pixel reliability", RELIABILITY, "int8", [-4, -1]),
    ("VNP15A2H", "002", "FparLai_QC", VNP15_QC, "uint8", [255]),
    ("VNP15A2H", "001", "FparExtra_QC", VNP15_EXTRA, "uint8", [255]),
    ("AVH09C1", "005", "QA", AVHRR_CDR, "int16", []),
    ("AVH13C1", "004", "QA", AVHRR_CDR, "int16", []),
    ("AVH15C1", "005", "QA", AVHRR_LAI, "int16", []),
]
IDS = [f"{p}.{c}:{lyr}" for p, c, lyr, *_ in CASES]


def plain(word: int, first: int, last: int, bits: int) -> int:
    """The independent decoder: one Python int, bit 0 = least significant."""
    word &= (1 << bits) - 1  # two's complement → unsigned, as the word's bits
    return (word >> first) & ((1 << (last - first + 1)) - 1)


def vectors(layout, dtype: str) -> list[int]:
    """Words from the documented bit patterns: each field at every value, with all other
    bits 0 and with all other bits 1 (every field at its edges)."""
    bits = np.dtype(dtype).itemsize * 8
    full = (1 << bits) - 1
    out = []
    for _, first, last in layout:
        width = last - first + 1
        mask = ((1 << width) - 1) << first
        for v in range(1 << width):
            out += [v << first, (full & ~mask) | (v << first)]
    return out


def to_dtype(words: list[int], dtype: str) -> np.ndarray:
    bits = np.dtype(dtype).itemsize * 8
    return np.array(words, dtype=f"uint{bits}").view(dtype)


@pytest.mark.parametrize(("prod", "coll", "name", "layout", "dtype", "fills"), CASES, ids=IDS)
def test_registry_layout_matches_documentation(prod, coll, name, layout, dtype, fills):
    layer = get_product(prod, coll).layer(name)
    got = [(b.name, b.start, b.start + b.length - 1) for b in layer.bit_fields]
    assert got == layout
    assert layer.dtype == dtype
    assert list(layer.fill_values) == fills


@pytest.mark.parametrize(("prod", "coll", "name", "layout", "dtype", "fills"), CASES, ids=IDS)
def test_documented_patterns_decode(prod, coll, name, layout, dtype, fills):
    bits = np.dtype(dtype).itemsize * 8
    words = vectors(layout, dtype)
    arr = to_dtype(words, dtype)
    raw = xr.DataArray(arr.reshape(1, -1), dims=("y", "x"), attrs={"layer": name})
    ds = decode_qa(raw, product=f"{prod}.{coll}").compute()
    is_fill = np.isin(arr, np.array(fills, dtype=dtype)) if fills else np.zeros(arr.shape, bool)
    for fname, first, last in layout:
        want = np.array([plain(w, first, last, bits) for w in words])
        got = ds[fname].values[0]
        assert got.dtype.kind == "u" and got.dtype.itemsize <= 2
        np.testing.assert_array_equal(got[~is_fill], want[~is_fill], err_msg=fname)
        assert np.all(got[is_fill] == np.iinfo(got.dtype).max), fname
        # every value of the field was produced (the vectors hit every code)
        assert set(want[~is_fill].tolist()) >= set(range(1 << (last - first + 1))) - {
            plain(f, first, last, bits) for f in fills
        }


def test_fill_words_decode_to_fill_not_bits():
    # QA.md rule 1: 255 decoded naively gives SCF_QC = 7
    out = extract_field(np.array([255, 0x61], "uint8"), 5, 3, fill_values=[255])
    assert out.tolist() == [255, 3]
    out = extract_field(np.array([787410671, 0], "uint32"), 0, 2, fill_values=[787410671])
    assert out.tolist() == [255, 0]


def test_signed_words_do_not_sign_extend():
    # QA.md rule 2: int16 -32768 (bit 15 set) must give polar = 1 and cloudy = 0
    w = np.array([-32768, -1, 2], "int16")
    assert extract_field(w, 15, 1).tolist() == [1, 1, 0]
    assert extract_field(w, 1, 1).tolist() == [0, 1, 1]
    assert extract_field(w, 8, 8).tolist() == [128, 255, 0]


def test_field_outside_word_is_rejected():
    with pytest.raises(ValueError, match="do not fit"):
        extract_field(np.zeros(3, "uint8"), 6, 3)
    with pytest.raises(TypeError, match="integers"):
        extract_field(np.zeros(3, "float32"), 0, 1)


def test_fill_codes_and_dtypes():
    assert fill_code(1) == fill_code(7) == 255
    assert fill_code(8) == 65535
    assert extract_field(np.array([3], "uint32"), 0, 16).dtype == np.uint32


# --- QA.md worked examples (§1.4, §2.4) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "want"),
    [
        (8, {"cloud_state": 0, "land_water": 1, "aerosol": 0}),
        (72, {"cloud_state": 0, "land_water": 1, "aerosol": 1}),
        (200, {"cloud_state": 0, "land_water": 1, "aerosol": 3}),
        (73, {"cloud_state": 1, "land_water": 1, "aerosol": 1}),
        (11, {"cloud_state": 3, "land_water": 1}),
        (8200, {"cloud_state": 0, "land_water": 1, "adjacent_cloud": 1}),
    ],
)
def test_mod09_state_worked_examples(word, want):
    fields = get_product("MOD09A1", "061").layer("sur_refl_state_500m").bit_fields
    got = decode_words(np.array([word], "uint16"), [(b.name, b.start, b.length) for b in fields])
    for k, v in want.items():
        assert got[k][0] == v, k


def test_mod09_qc_worked_examples():
    fields = get_product("MOD09A1", "061").layer("sur_refl_qc_500m").bit_fields
    spec = [(b.name, b.start, b.length) for b in fields]
    got = decode_words(np.array([0xC0000000, 0xC00000C0], "uint32"), spec)
    assert got["modland_qa"].tolist() == [0, 0]
    assert got["atmospheric_correction"].tolist() == [1, 1]
    assert got["adjacency_correction"].tolist() == [1, 1]
    assert got["b2_quality"].tolist() == [0, 3]
    assert all(got[f"b{k}_quality"].tolist() == [0, 0] for k in (1, 3, 4, 5, 6, 7))


def test_mod15_worked_examples():
    fields = get_product("MCD15A2H", "061").layer("FparLai_QC").bit_fields
    spec = [(b.name, b.start, b.length) for b in fields]
    got = decode_words(np.array([0, 2, 32, 8, 64, 97, 128, 255], "uint8"), spec, [255])
    assert got["sensor"].tolist() == [0, 1, 0, 0, 0, 0, 0, 255]
    assert got["scf_qc"].tolist() == [0, 0, 1, 0, 2, 3, 4, 255]
    assert got["cloud_state"].tolist() == [0, 0, 0, 1, 0, 0, 0, 255]
    assert got["modland_qc"].tolist() == [0, 0, 0, 0, 0, 1, 0, 255]


# --- real files: the library's decode vs a plain decoder on pyhdf/h5py-read words ----------------

REAL = [
    ("MOD09A1.A2017193.h18v04.006.2017202035302.hdf", ["sur_refl_state_500m", "sur_refl_qc_500m"]),
    ("MOD09GA.A2008296.h14v17.006.2015181011753.hdf", ["state_1km_1", "QC_500m_1"]),
    ("MCD15A2.A2012185.h17v03.005.2012208181105.hdf", ["FparLai_QC", "FparExtra_QC"]),
    ("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf", ["FparLai_QC", "FparExtra_QC"]),
    ("MCD15A3H.A2018273.h17v03.006.2018278143630.hdf", ["FparLai_QC", "FparExtra_QC"]),
    (
        "MOD13A2.A2025001.h18v09.061.2025022080611.hdf",
        ["1 km 16 days VI Quality", "1 km 16 days pixel reliability"],
    ),
    ("MYD13A2.A2025009.h18v09.061.2025030154035.hdf", ["1 km 16 days VI Quality"]),
    ("MOD11A1.hdf", ["QC_Day", "QC_Night"]),
    ("MOD11B2.A2017001.h14v04.006.2017013155631.hdf", ["QC_Day", "QC_Night"]),
    (
        "MCD43A3.A2017199.h15v07.006.2017208032853.hdf",
        [
            "BRDF_Albedo_Band_Mandatory_Quality_Band2",
            "BRDF_Albedo_Band_Mandatory_Quality_shortwave",
        ],
    ),
]
LAYOUT_OF = {
    "sur_refl_state_500m": MOD09_STATE,
    "state_1km_1": MOD09_STATE,
    "sur_refl_qc_500m": MOD09_QC,
    "QC_500m_1": MOD09_QC,
    "FparLai_QC": MOD15_QC,
    "FparExtra_QC": MOD15_EXTRA,
    "1 km 16 days VI Quality": MOD13_VIQ,
    "1 km 16 days pixel reliability": RELIABILITY,
    "QC_Day": MOD11_QC,
    "QC_Night": MOD11_QC,
}
FILLS = {"uint8": 255, "uint16": 65535, "uint32": 4294967295}


def plain_fields(words: np.ndarray, layout, fills) -> dict[str, np.ndarray]:
    """Vectorised plain shifts and masks on the unsigned bits, fill → dtype max."""
    bits = words.dtype.itemsize * 8
    u = words.astype(np.int64) & ((1 << bits) - 1)
    is_fill = np.isin(words, fills)
    out = {}
    for name, first, last in layout:
        v = (u >> first) & ((1 << (last - first + 1)) - 1)
        out[name] = np.where(is_fill, 255 if last - first < 7 else 65535, v)
    return out


@pytest.mark.parametrize(("fname", "layers"), REAL, ids=[r[0][:22] for r in REAL])
def test_real_words_decode_like_plain_decoder(fname, layers):
    path = sample(fname)
    sd = SD(str(path))
    ds = open_granule(path, layers)
    for name in layers:
        sds = sd.select(name)
        words = sds[:]
        fills = list(np.atleast_1d(sds.attributes().get("_FillValue", [])))
        if fname.startswith("MOD11B2"):
            fills = []  # documented deviation: 0 is the 'good quality' code, not fill
        layout = LAYOUT_OF.get(name, MCD43_QA)
        want = plain_fields(words, layout, fills)
        got = decode_qa(ds[name], product=ds.attrs["registry_product"]).compute()
        for f, *_ in layout:
            np.testing.assert_array_equal(got[f].values, want[f], err_msg=f"{name}.{f}")
    sd.end()


def test_real_viirs_words_decode_like_plain_decoder():
    path = sample("VNP13A2.A2025001.h18v09.002.2025017085341.h5")
    base = "HDFEOS/GRIDS/VIIRS_Grid_16Day_VI_1km/Data Fields/"
    ds = open_granule(path)
    with h5py.File(path) as f:
        for name, layout in (
            ("1 km 16 days VI Quality", MOD13_VIQ),
            ("1 km 16 days pixel reliability", RELIABILITY),
        ):
            dset = f[base + name]
            words = dset[()]
            fills = list(np.atleast_1d(dset.attrs.get("_FillValue", [])))
            want = plain_fields(words, layout, fills)
            got = decode_qa(ds, name).compute()
            for fld, *_ in layout:
                np.testing.assert_array_equal(got[fld].values, want[fld], err_msg=fld)
    # GEE's VIIRS land/water table names codes 0, 1, 2, 3, 5 only; the real file holds others,
    # so the registry leaves the codes unnamed rather than guess (qa_bits.VNP13_VI_QUALITY)
    lw = decode_qa(ds, "1 km 16 days VI Quality").land_water.values
    assert not set(np.unique(lw[lw != 255]).tolist()) <= {0, 1, 2, 3, 5}
    viq = get_product("VNP13A2", "002").layer("1 km 16 days VI Quality")
    assert next(b for b in viq.bit_fields if b.name == "land_water").labels == {}


def test_decode_is_lazy_and_keeps_coordinates():
    path = sample("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf")
    ds = open_granule(path, ["FparLai_QC"], chunks=600)
    out = decode_qa(ds, "FparLai_QC")
    assert out.scf_qc.chunks is not None and out.scf_qc.data.npartitions == 16
    assert out.scf_qc.attrs["grid_mapping"] == "spatial_ref"
    np.testing.assert_array_equal(out.x.values, ds.x.values)
    assert out.scf_qc.attrs["flag_meanings"].split()[:2] == ["main", "main_saturated"]
