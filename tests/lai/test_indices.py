"""Spectral indices: formulas written out here, invalid input explicit, real band discovery."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import sample

from modisoft.lai import indices as ix


def test_sr_ndvi_msr_evi_against_the_formulas():
    red = np.array([0.05, 0.08, 0.03])
    nir = np.array([0.40, 0.30, 0.45])
    blue = np.array([0.02, 0.04, 0.01])
    s = nir / red
    np.testing.assert_allclose(ix.sr(red, nir), s, rtol=1e-6)
    np.testing.assert_allclose(ix.ndvi(red, nir), (nir - red) / (nir + red), rtol=1e-6)
    np.testing.assert_allclose(ix.msr(red, nir), (s - 1) / (np.sqrt(s) + 1), rtol=1e-6)
    # Huete et al. 2002: G = 2.5, C1 = 6, C2 = 7.5, L = 1
    np.testing.assert_allclose(
        ix.evi(red, nir, blue), 2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1), rtol=1e-6
    )
    # SR from NDVI: (1 + NDVI) / (1 - NDVI) (ALGORITHMS.md §1, computed)
    n = ix.ndvi(red, nir).astype("float64")
    np.testing.assert_allclose((1 + n) / (1 - n), s, rtol=1e-5)


def test_rsr_formula_and_clip():
    red, nir, sw = np.array([0.05, 0.05]), np.array([0.4, 0.4]), np.array([0.10, 0.02])
    lo, hi = 0.05, 0.35
    want = (0.4 / 0.05) * (hi - sw) / (hi - lo)
    np.testing.assert_allclose(ix.rsr(red, nir, sw, lo, hi), want, rtol=1e-6)
    assert want[1] > 8  # SWIR below SWIRmin: factor > 1 without clipping
    np.testing.assert_allclose(ix.rsr(red, nir, sw, lo, hi, clip_swir=True)[1], 8.0, rtol=1e-6)
    assert ix.rsr([0.05], [0.4], [0.5], lo, hi)[0] == 0  # clipped at 0, never negative
    with pytest.raises(ix.SpectralIndexError):
        ix.rsr(red, nir, sw, 0.3, 0.3)


def test_invalid_inputs_are_nan_with_a_reason():
    red = np.array([0.0, -0.01, np.nan, 0.05, 0.0])
    nir = np.array([0.3, 0.3, 0.3, 0.3, 0.0])
    out = ix.sr(red, nir)
    assert np.isnan(out[[0, 1, 2, 4]]).all() and out[3] == pytest.approx(6.0)
    assert np.isnan(ix.ndvi(red, nir)[[1, 2, 4]]).all()
    assert ix.ndvi(red, nir)[0] == pytest.approx(1.0)  # red 0 is fine for NDVI
    why = ix.invalid_reason(red, nir, denominator=red)
    assert why.tolist() == [3, 2, 1, 0, 3]


def test_scene_percentiles_recorded_in_attrs():
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.05, 0.4, (20, 20))
    ds = xr.Dataset(
        {
            n: (("y", "x"), v)
            for n, v in (
                ("sur_refl_b01", np.full((20, 20), 0.05)),
                ("sur_refl_b02", np.full((20, 20), 0.3)),
                ("sur_refl_b06", sw),
            )
        }
    )
    out = ix.spectral_index(ds, "RSR")
    lo, hi = np.percentile(sw, [1, 99])
    assert out.attrs["swir_mode"] == "scene_percentiles"
    assert out.attrs["swir_min"] == pytest.approx(lo) and out.attrs["swir_max"] == pytest.approx(hi)
    fixed = ix.spectral_index(ds, "RSR", swir_min=0.1, swir_max=0.3)
    assert fixed.attrs["swir_mode"] == "fixed" and fixed.attrs["swir_min"] == 0.1
    with pytest.raises(ix.SpectralIndexError, match="swir_min and swir_max"):
        ix.spectral_index(ds, "RSR", swir_min=0.1)
    with pytest.raises(ix.SpectralIndexError, match="unknown index"):
        ix.spectral_index(ds, "FOO")


def test_real_mod09a1_bands_and_index():
    from modisoft import decode, open_granule

    p = sample("MOD09A1.A2017193.h18v04.006.2017202035302.hdf")
    ds = decode(open_granule(p))
    assert ix.find_bands(ds) == {
        "red": "sur_refl_b01",
        "nir": "sur_refl_b02",
        "swir": "sur_refl_b06",
        "blue": "sur_refl_b03",
    }
    out = ix.spectral_index(ds, "SR").values
    from pyhdf.SD import SD  # independent read of the raw integers

    f = SD(str(p))
    r = f.select("sur_refl_b01")[:].astype("float64")
    n = f.select("sur_refl_b02")[:].astype("float64")
    ok = (r > 0) & (n >= 0) & (r != -28672) & (n != -28672)
    np.testing.assert_allclose(out[ok], n[ok] / r[ok], rtol=1e-5)
    assert np.isnan(out[~ok]).all()


def test_percent_reflectance_is_converted():
    ds = xr.Dataset(
        {
            "reflectance_channel_1": ("x", [5.0, 10.0]),
            "reflectance_channel_2": ("x", [30.0, 40.0]),
            "blue_dummy": ("x", [1.0, 1.0]),
        }
    )
    for v in ("reflectance_channel_1", "reflectance_channel_2"):
        ds[v].attrs["units"] = "%"
    np.testing.assert_allclose(ix.spectral_index(ds, "SR").values, [6.0, 4.0], rtol=1e-6)
    # EVI is not ratio-invariant: the % → fraction conversion must have happened
    ds2 = ds.rename({"blue_dummy": "sur_refl_b03"})
    got = ix.spectral_index(ds2, "EVI").values
    red, nir, blue = np.array([0.05, 0.1]), np.array([0.3, 0.4]), np.array([1.0, 1.0])
    np.testing.assert_allclose(got, 2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1), rtol=1e-5)
