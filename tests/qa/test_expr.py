"""QA predicates, presets, masks, weights and their errors, on words built in the test from the
documented bit positions (``reference/QA.md``; bit 0 = least significant)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from modisoft.products import WeightScheme, all_products
from modisoft.qa import (
    MissingQALayerError,
    QAError,
    QAExpressionError,
    UnknownQAFieldError,
    UnknownQAValueError,
    field,
    parse,
    qa_mask,
    qa_weights,
    where,
)


def raw(values, dtype, layer, dims=("y", "x")):
    a = np.array(values, dtype=dtype)
    return xr.DataArray(a.reshape(1, -1) if a.ndim == 1 else a, dims=dims, attrs={"layer": layer})


def mod15(qc, extra=None):
    ds = xr.Dataset({"FparLai_QC": raw(qc, "uint8", "FparLai_QC")})
    if extra is not None:
        ds["FparExtra_QC"] = raw(extra, "uint8", "FparExtra_QC")
    ds.attrs["registry_product"] = "MCD15A2H.061"
    return ds


def mod15_word(scf, cloud, sensor=0, modland=0, dead=0):
    return (scf << 5) | (cloud << 3) | (dead << 2) | (sensor << 1) | modland


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "cloud_state == clear and not snow_ice",
        "scf_qc in (main, main_saturated) and cloud_state == 0",
        "(aerosol <= low or cirrus == none) and not (state.cloud_state != cloudy)",
        "reliability not in (2, 3)",
    ],
)
def test_expression_round_trips(text):
    p = parse(text)
    assert parse(str(p)) == p


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("cloud_state ==", "does not parse"),
        ("cloud_state + 1", "not supported"),
        ("0 == cloud_state", "must be a field"),
        ("0 <= scf_qc <= 1", "chained"),
        ("scf_qc in main", "needs a list"),
        ("scf_qc == f(1)", "is not a value"),
        ("", "empty"),
        ("a.b.c == 1", "must be a field name"),
    ],
)
def test_bad_syntax_is_a_clear_error(text, msg):
    with pytest.raises(QAExpressionError, match=msg):
        parse(text)


def test_python_building_equals_parsed_text():
    p = (field("cloud_state") == "clear") & ~field("snow_ice")
    assert str(p) == "cloud_state == clear and not snow_ice"
    q = field("scf_qc").isin(["main", 1]) | (field("FparExtra_QC.aerosol") >= 1)
    assert str(q) == "scf_qc in (main, 1) or FparExtra_QC.aerosol >= 1"
    assert (
        str(~(q & "good_lai")) == "not ((scf_qc in (main, 1) or FparExtra_QC.aerosol >= 1) "
        "and good_lai)"
    )
    with pytest.raises(QAExpressionError):
        field("cloud_state") == 1.5  # noqa: B015
    with pytest.raises(UnknownQAValueError):
        field("cloud_state") == -1  # noqa: B015


# --- MOD15 presets on every FparLai_QC word ------------------------------------------------------

ALL_WORDS = np.arange(256, dtype="uint8")


def test_good_lai_on_all_256_words_matches_qa_md_formula():
    q = ALL_WORDS.astype(int)
    want = (q != 255) & ((q >> 5) <= 1) & (((q >> 3) & 3) == 0)
    got = qa_mask(mod15(ALL_WORDS), "good_lai").values[0]
    np.testing.assert_array_equal(got, want)
    assert got.sum() == 2 * 2 * 2 * 2  # SCF 0/1 x cloud 0 x free bits 0, 1, 2 → 16 words
    lit = (q != 255) & (q < 64)
    np.testing.assert_array_equal(qa_mask(mod15(ALL_WORDS), "main_algorithm").values[0], lit)


def test_qa_md_worked_examples_for_good_lai():
    words = [0, 2, 32, 8, 64, 97, 128, 255]
    got = qa_mask(mod15(words), "good_lai").values[0].tolist()
    assert got == [True, True, True, False, False, False, False, False]
    lit = qa_mask(mod15(words), "FparLai_QC.scf_qc <= 1").values[0].tolist()
    assert lit == [True, True, True, True, False, False, False, False]  # "QC < 64" column


def test_expression_in_python_and_text_agree_and_reference_presets():
    ds = mod15(ALL_WORDS, ALL_WORDS)
    a = qa_mask(ds, "good_lai and not snow_ice and land_sea == land").values
    b = qa_mask(
        ds,
        field("scf_qc").isin([0, 1])
        & (field("cloud_state") == 0)
        & ~field("snow_ice")
        & (field("land_sea") == "land"),
    ).values
    np.testing.assert_array_equal(a, b)
    q = ALL_WORDS.astype(int)
    want = (q != 255) & (q < 64) & (((q >> 3) & 3) == 0) & (((q >> 2) & 1) == 0) & ((q & 3) == 0)
    np.testing.assert_array_equal(a[0], want)


def test_predicate_false_where_any_layer_read_is_fill():
    ds = mod15([0, 0, 255], [0, 255, 0])
    assert qa_mask(ds, "good_lai and not snow_ice").values[0].tolist() == [True, False, False]
    # a negated condition must not pass on fill either
    assert qa_mask(ds, "cloud_state != cloudy").values[0].tolist() == [True, True, False]


# --- MOD09 clear_land (QA.md §1.3, §1.4) ---------------------------------------------------------


def test_mod09_clear_land_worked_examples():
    state = [8, 72, 200, 73, 11, 8200, 65535]
    qc = [0xC0000000, 0xC0000000, 0xC0000000, 0xC0000000, 0xC0000000, 0xC00000C0, 0xC0000000]
    ds = xr.Dataset(
        {
            "sur_refl_state_500m": raw(state, "uint16", "sur_refl_state_500m"),
            "sur_refl_qc_500m": raw(qc, "uint32", "sur_refl_qc_500m"),
        },
        attrs={"registry_product": "MOD09A1.061"},
    )
    assert qa_mask(ds, "clear_land").values[0].tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert qa_mask(ds, "clear_land_not_set").values[0].tolist() == [0, 0, 0, 0, 1, 0, 0]
    # qc 0xC00000C0: band 2 quality 3 fails good_bands
    assert qa_mask(ds, "good_bands").values[0].tolist() == [1, 1, 1, 1, 1, 0, 1]
    assert qa_mask(ds, "clear_land_qc").values[0].tolist() == [1, 1, 0, 0, 0, 0, 0]
    w = qa_weights(ds).values[0].tolist()
    assert w == [1.0, 1.0, 0.0, 0.0, 0.5, 0.0, 0.0]


def test_mod09_state_clear_land_every_condition_independently():
    base = 1 << 3  # clear, land
    flips = {
        2: 1 << 2,
        6: 3 << 6,
        8: 1 << 8,
        10: 1 << 10,
        12: 1 << 12,
        13: 1 << 13,
        15: 1 << 15,
        3: 0,
    }  # 3: land/water 0 (shallow ocean)
    words = [base] + [(base | v) if b != 3 else 0 for b, v in flips.items()]
    words += [base | (1 << 11), base | (1 << 14), base | (2 << 6)]  # fire, bit 14, aerosol avg
    ds = xr.Dataset({"s": raw(words, "uint16", "sur_refl_state_500m")})
    got = qa_mask(ds, "clear_land", product="MOD09A1").values[0].tolist()
    assert got == [True] + [False] * len(flips) + [True, True, True]


# --- MOD13 / VIIRS / MOD11 / MCD43 / AVHRR -------------------------------------------------------


def test_mod13_reliability_weights_and_vi_good():
    rel = raw([0, 1, 2, 3, -1], "int8", "1 km 16 days pixel reliability")
    w = qa_weights(rel, product="MOD13A2.061").values[0].tolist()
    assert w == [1.0, 0.5, 0.0, 0.0, 0.0]
    # VI Quality: modland bits 0-1, adjacent 8, mixed 10, snow 14, shadow 15
    viq = [0, 1, 1 << 8, 1 << 10, 1 << 14, 1 << 15, 2 << 11, 65535]
    m = qa_mask(raw(viq, "uint16", "1 km 16 days VI Quality"), "vi_good", product="MOD13A2")
    assert m.values[0].tolist() == [True, False, False, False, False, False, True, False]
    w2 = qa_weights(
        raw(viq, "uint16", "1 km 16 days VI Quality"), product="MOD13A2", scheme="vi_quality"
    )
    assert w2.values[0].tolist() == [1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_viirs_lai_uses_the_viirs_layout_not_mod15():
    # VNP15: SCF_QC bits 0-2, cloud confidence in FparExtra_QC bits 0-1
    ds = xr.Dataset(
        {
            "FparLai_QC": raw([0, 1, 2, 0x10, 0x20], "uint8", "FparLai_QC"),
            "FparExtra_QC": raw([0, 0, 0, 1, 0], "uint8", "FparExtra_QC"),
        },
        attrs={"registry_product": "VNP15A2H.002"},
    )
    # good_lai (issue 23): the main algorithm without saturation (SCF_QC 0) and confident or
    # probably clear: 0 clear -> yes; 1 saturated -> no; 2 back-up -> no; 0x10 (SCF_QC 0,
    # biome 1) probably clear -> yes; 0x20 (SCF_QC 0, biome 2) clear -> yes
    assert qa_mask(ds, "good_lai").values[0].tolist() == [True, False, False, True, True]
    # the same words read with the MOD15 layout would say cloud_state/scf_qc from other bits
    bare = ds.copy()
    bare.attrs = {}
    with pytest.raises(QAError, match="different QA layouts"):
        qa_mask(bare, "scf_qc == 0")


def test_mod11_fields_need_their_layer_key():
    ds = xr.Dataset(
        {
            "QC_Day": raw([0, 1, 2, 3], "uint8", "QC_Day"),
            "QC_Night": raw([3, 0, 0, 0], "uint8", "QC_Night"),
        },
        attrs={"registry_product": "MOD11A1.061"},
    )
    with pytest.raises(UnknownQAFieldError, match=r"ambiguous.*day.mandatory_qa"):
        qa_mask(ds, "mandatory_qa == good")
    assert qa_mask(ds, "day.mandatory_qa == good").values[0].tolist() == [1, 0, 0, 0]
    assert qa_mask(ds, "QC_Night.mandatory_qa == good").values[0].tolist() == [0, 1, 1, 1]
    assert qa_weights(ds, scheme="night").values[0].tolist() == [0.0, 1.0, 1.0, 1.0]


def test_avhrr_signed_qa_word_and_custom_weights():
    # int16 words: bit 15 (polar) set makes them negative
    words = np.array([0, 1 << 1, 1 << 15, (1 << 3) | (1 << 15)], dtype="uint16").view("int16")
    da = raw(words, "int16", "QA")
    assert qa_mask(da, "clear_land", product="AVH09C1").values[0].tolist() == [1, 0, 1, 0]
    assert qa_mask(da, "polar", product="AVH13C1").values[0].tolist() == [0, 0, 1, 1]
    w = qa_weights(
        da, product="AVH09C1", scheme={"clear_land and not polar": 1.0, "clear_land": 0.3}
    )
    assert w.values[0].tolist() == pytest.approx([1.0, 0.0, 0.3, 0.0])


def test_weights_first_match_wins_default_and_fill():
    sch = WeightScheme("t", (("cloud_state == clear", 0.9), ("scf_qc <= 1", 0.4)), 0.1)
    words = [mod15_word(0, 0), mod15_word(1, 2), mod15_word(3, 0), mod15_word(3, 1), 255]
    w = qa_weights(mod15(words), scheme=sch)
    assert w.dtype == np.float32 and w.name == "qa_weight"
    assert w.values[0].tolist() == pytest.approx([0.9, 0.4, 0.9, 0.1, 0.0])
    assert "fill -> 0" in w.attrs["qa_rules"]
    with pytest.raises(ValueError, match="outside"):
        WeightScheme("bad", (("x", 1.5),))


def test_every_registered_preset_and_scheme_resolves():
    """Each preset/weight expression names real fields, values and presets of its product."""
    for p in all_products():
        if not p.qa_layers:
            continue
        ds = xr.Dataset({lyr.name: raw([0, 1], lyr.dtype, lyr.name) for lyr in p.qa_layers})
        for q in p.qa_presets:
            qa_mask(ds, q.name, product=p).values  # noqa: B018 - raises on a bad name
        for s in p.qa_weights:
            w = qa_weights(ds, product=p, scheme=s.name).values
            assert ((w >= 0) & (w <= 1)).all()


# --- errors --------------------------------------------------------------------------------------


def test_unknown_field_value_and_preset_errors_name_the_accepted_ones():
    ds = mod15([0])
    with pytest.raises(UnknownQAFieldError, match=r"fields: modland_qc, sensor.*presets: good_lai"):
        qa_mask(ds, "cloud == clear")
    with pytest.raises(UnknownQAValueError, match=r"accepted: clear \(0\), cloudy \(1\)"):
        qa_mask(ds, "cloud_state == sunny")
    with pytest.raises(UnknownQAValueError, match=r"codes 0..7"):
        qa_mask(ds, "scf_qc == 8")
    with pytest.raises(UnknownQAFieldError, match=r"vi_good' is a preset of MOD13A1"):
        qa_mask(ds, "vi_good")
    with pytest.raises(UnknownQAFieldError, match=r"no QA layer 'state'.*FparLai_QC"):
        qa_mask(ds, "state.cloud_state == 0")
    with pytest.raises(UnknownQAFieldError, match=r"weight scheme 'fancy'; schemes: default"):
        qa_weights(ds, scheme="fancy")
    assert isinstance(UnknownQAFieldError("x"), KeyError) and str(UnknownQAFieldError("x")) == "x"


def test_missing_layer_and_product_without_qa():
    with pytest.raises(MissingQALayerError, match=r"'FparExtra_QC', which is not in the data"):
        qa_mask(mod15([0]), "not snow_ice")
    lc = xr.Dataset(
        {"LC_Type1": raw([1], "uint8", "LC_Type1")}, attrs={"registry_product": "MCD12Q1.061"}
    )
    with pytest.raises(MissingQALayerError, match=r"MCD12Q1.061 has no QA layer.*products with"):
        qa_mask(lc, "good_lai")
    with pytest.raises(MissingQALayerError, match="not registered"):
        qa_mask(mod15([0]), "good_lai", product="NOPE99")


def test_layers_on_different_grids_are_refused():
    ds = xr.Dataset(
        {
            "state_1km_1": raw([8], "uint16", "state_1km_1", ("y_1km", "x_1km")),
            "QC_500m_1": raw([0, 0], "uint32", "QC_500m_1", ("y_500m", "x_500m")),
        },
        attrs={"registry_product": "MOD09GA.061"},
    )
    assert qa_mask(ds, "clear_land").values.tolist() == [[True]]
    with pytest.raises(QAError, match="different grids"):
        qa_mask(ds, "clear_land and good_bands")


def test_where_masks_values_and_keeps_qa_layers():
    words = [mod15_word(0, 0), mod15_word(0, 1), 255]
    ds = mod15(words)
    ds["Lai_500m"] = xr.DataArray(np.array([[1.5, 2.5, np.nan]], "float32"), dims=("y", "x"))
    out = where(ds, "good_lai")
    np.testing.assert_array_equal(out.Lai_500m.values[0], [1.5, np.nan, np.nan])
    np.testing.assert_array_equal(out.FparLai_QC.values, ds.FparLai_QC.values)
    lai = where(ds.Lai_500m, "good_lai", qa=ds)
    np.testing.assert_array_equal(lai.values[0], [1.5, np.nan, np.nan])


def test_masks_and_weights_stay_lazy_on_dask():
    ds = mod15(np.tile(ALL_WORDS, (4, 1))).chunk({"y": 2})
    m = qa_mask(ds, "good_lai")
    w = qa_weights(ds)
    assert m.chunks is not None and w.chunks is not None
    assert m.sum().compute() == 4 * 16
