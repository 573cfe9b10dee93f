"""decode kernels against the documented formulas (PRODUCTS.md §1), and the xarray wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sample

import modisoft
from modisoft import decode, decode_values, fill_class_codes, open_granule
from modisoft.products import Layer, Scaling, get_product


@pytest.mark.parametrize(
    "convention, scale, offset, stored, expected",
    [
        ("hdfeos", 0.5, 2.0, [2, 4, 10], [0.0, 1.0, 4.0]),  # (x - off) * scale
        ("cf", 0.5, 2.0, [2, 4, 10], [3.0, 4.0, 7.0]),  # x * scale + off
        ("divide", 10000.0, 0.0, [-2000, 5000, 10000], [-0.2, 0.5, 1.0]),  # x / scale
    ],
)
def test_conventions(convention, scale, offset, stored, expected):
    layer = Layer(
        "v",
        "int16",
        units="1",
        scaling=Scaling(scale, offset, convention),
        physical_range=(-10, 10),
    )
    got = decode_values(np.array(stored, "int16"), layer)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array(expected, "float64").astype("float32"))


def test_fills_classes_and_range_become_nan():
    lai = get_product("MCD15A2", "005").layer("Lai_1km")
    raw = np.array([0, 1, 99, 100, 101, 248, 249, 250, 251, 252, 253, 254, 255], "uint8")
    got = decode_values(raw, lai)
    want = np.array([0.0, 0.1, 9.9, 10.0] + [np.nan] * 9, "float64").astype("float32")
    np.testing.assert_array_equal(got, want)
    cls = fill_class_codes(raw, lai)
    np.testing.assert_array_equal(cls, [0, 0, 0, 0, 101, 248, 249, 250, 251, 252, 253, 254, 255])
    assert cls.dtype == np.uint8


def test_mod11_fill_zero_is_a_real_fill():
    lst = get_product("MOD11A1", "006").layer("LST_Day_1km")
    np.testing.assert_array_equal(
        decode_values(np.array([0, 7500, 15000], "uint16"), lst),
        np.array([np.nan, 150.0, 300.0], "float32"),
    )
    angle = get_product("MOD11A1", "006").layer("Day_view_angl")
    np.testing.assert_array_equal(
        decode_values(np.array([0, 65, 130, 131, 255], "uint8"), angle),
        np.array([-65, 0, 65, np.nan, np.nan], "float32"),
    )


def test_mod09a1_zero_azimuth_survives():
    raz = get_product("MOD09A1", "006").layer("sur_refl_raz")
    np.testing.assert_array_equal(
        decode_values(np.array([0, -18000, 18000], "int16"), raz),
        np.array([0.0, -180.0, 180.0], "float32"),
    )


def test_dataset_decode_on_a_real_lai_tile():
    ds = open_granule(sample("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf"), chunks=800)
    raw = ds.Lai_500m.values
    dec = decode(ds)
    assert dec.Lai_500m.dtype == np.float32 and dec.FparLai_QC.dtype == np.uint8
    np.testing.assert_array_equal(dec.FparLai_QC.values, ds.FparLai_QC.values)
    valid = raw <= 100
    expected = np.where(valid, raw.astype("float64") * 0.1, np.nan).astype("float32")
    np.testing.assert_array_equal(dec.Lai_500m.values, expected)
    cls = dec.Lai_500m_class.values
    for code in range(249, 256):
        assert np.count_nonzero(cls == code) == np.count_nonzero(raw == code)
    assert np.count_nonzero(cls == 0) == np.count_nonzero(valid)
    assert dec.Lai_500m_class.attrs["flag_meanings"].split()[-2:] == ["water", "fill"]
    assert "LaiStdDev_500m_class" in dec and "FparLai_QC_class" not in dec
    assert modisoft.Grid.from_xarray(dec.Lai_500m) == modisoft.Grid.from_xarray(ds.Lai_500m)
    assert dec.Lai_500m.attrs["units"] == "m2 m-2"
    assert "FparLai_QC" in decode(ds, keep_classes=False)
    assert "Lai_500m_class" not in decode(ds, keep_classes=False)


def test_decode_dataarray_is_lazy():
    ds = open_granule(sample("MOD13A2.A2025001.h18v09.061.2025022080611.hdf"), "1 km 16 days NDVI")
    da = ds["1 km 16 days NDVI"]
    out = decode(ds)["1 km 16 days NDVI"]
    assert out.chunks is not None
    raw = da.values.astype("float64")
    want = np.where((raw != -3000) & (raw >= -2000) & (raw <= 10000), raw / 10000.0, np.nan)
    np.testing.assert_array_equal(out.values, want.astype("float32"))


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_plausibility_count_of_one_byte_layers_equals_a_count_value_by_value(dtype):
    # the compiled byte histogram counts a signed layer by its bytes: entry b is the value
    # whose byte is b (a strided array is counted as its values)
    import dataclasses

    from modisoft.decode import check_plausible
    from modisoft.products import get_product

    layer = dataclasses.replace(get_product("MCD15A2H", "061").layer("Lai_500m"),
                                valid_range=(-50, 50) if dtype == "int8" else (0, 100))
    raw = np.random.default_rng(4).integers(0, 256, (400, 90)).astype("uint8").view(dtype)
    raw = raw[:, ::2]
    v = raw.astype(np.int64)
    lo, hi = layer.valid_range
    want = int((((v < lo) | (v > hi)) & ~np.isin(v, list(layer.nodata_codes))).sum())
    assert want > 1000
    assert check_plausible(raw, layer, path="x.hdf", max_fraction=1.0) == want
