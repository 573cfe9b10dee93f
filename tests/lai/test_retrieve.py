"""Retrieval on synthetic truth: reflectances simulated from known curves, clumping and cover.

The synthetic curves below are test inputs (SR = a − b·exp(−c·LAIe) with made-up a, b, c per
type), not science: they only have to be monotone so the truth is recoverable.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from modisoft.lai import Curve, default_params, retrieve_lai
from modisoft.lai.cover import decode_polder_clumping, map_cover_kernel
from modisoft.lai.params import LaiParameterError, load_cover_mapping
from modisoft.lai.retrieve import RetrievalError

SYN = {"conifer": (12.0, 11.0, 0.35), "deciduous": (18.0, 17.0, 0.45), "grass": (14.0, 13.0, 0.6)}


def _syn_params():
    base = default_params()
    curves = [
        Curve(ct, "SR", "exponential", {"a": a, "b": b, "c": c}, 8.0, "synthetic test curve")
        for ct, (a, b, c) in SYN.items()
    ]
    return type(base)(tuple(curves), base.omega, base.mapping, "<synthetic>")


def _scene(rng, shape=(40, 50)):
    """IGBP codes, POLDER clumping DN, true LAI and the reflectances they imply."""
    igbp = rng.choice([1, 4, 10, 17, 13], size=shape)  # conifer, deciduous, grass, water, urban
    omega_dn = rng.integers(40, 96, size=shape).astype("uint8")
    omega_dn[0, :5] = 253  # non-vegetated code in the clumping map
    lai = rng.uniform(0.2, 5.0, size=shape)
    red = rng.uniform(0.02, 0.1, size=shape)
    types = {1: "conifer", 4: "deciduous", 10: "grass"}
    nir = np.full(shape, 0.3)
    for code, ct in types.items():
        a, b, c = SYN[ct]
        sel = igbp == code
        laie = lai[sel] * omega_dn[sel] / 100.0
        nir[sel] = (a - b * np.exp(-c * laie)) * red[sel]  # forward model, written out here
    return igbp, omega_dn, lai, red, nir


def _ds(red, nir):
    return xr.Dataset({"sur_refl_b01": (("y", "x"), red), "sur_refl_b02": (("y", "x"), nir)})


def test_synthetic_truth_recovered_with_pixel_clumping():
    rng = np.random.default_rng(42)
    igbp, dn, lai, red, nir = _scene(rng)
    out = retrieve_lai(
        _ds(red, nir),
        xr.DataArray(igbp, dims=("y", "x")),
        _syn_params(),
        clumping=xr.DataArray(dn, dims=("y", "x")),
        return_dataset=True,
    )
    veg = np.isin(igbp, [1, 4, 10]) & (dn <= 252)
    got = out.lai.values
    # tolerance: noise-free inputs, float32 arithmetic → 1e-3 LAI units
    np.testing.assert_allclose(got[veg], lai[veg], atol=1e-3)
    flag = out.lai_flag.values
    assert (flag[np.isin(igbp, [13, 17])] == 10).all()  # urban, water: coded, not retrieved
    assert (flag[veg] == 0).all()
    assert (flag[~np.isin(igbp, [13, 17]) & (dn > 252)] == 13).all()
    assert np.isnan(got[flag >= 10]).all()
    np.testing.assert_allclose(out.lai_effective.values[veg], (lai * dn / 100.0)[veg], atol=1e-3)


def test_synthetic_truth_with_noise_and_type_omega():
    rng = np.random.default_rng(7)
    igbp, _, lai, red, nir = _scene(rng)
    p = _syn_params()
    # redo NIR with the per-type Omega of the shipped table (BEPS_D values)
    for code, ct in {1: "conifer", 4: "deciduous", 10: "grass"}.items():
        a, b, c = SYN[ct]
        sel = igbp == code
        nir[sel] = (a - b * np.exp(-c * lai[sel] * p.omega[ct])) * red[sel]
    noisy = nir * (1 + rng.normal(0, 0.01, nir.shape))
    got = retrieve_lai(_ds(red, noisy), xr.DataArray(igbp, dims=("y", "x")), p).values
    veg = np.isin(igbp, [1, 4, 10])
    err = np.abs(got[veg] - lai[veg])
    # stated tolerance for 1 % NIR noise: median error < 0.1, 95th percentile < 0.6 LAI
    assert np.median(err) < 0.1 and np.percentile(err, 95) < 0.6


def test_saturation_and_soil_flags():
    p = _syn_params()
    a, b, _ = SYN["grass"]
    red = np.array([[0.05, 0.05, 0.05]])
    nir = red * np.array([[a + 1, a - b - 0.5, 5.0]])
    out = retrieve_lai(
        _ds(red, nir), xr.DataArray(np.full((1, 3), 10), dims=("y", "x")), p, return_dataset=True
    )
    assert out.lai_flag.values.tolist() == [[1, 2, 0]]
    assert out.lai_effective.values[0, 0] == 8.0 and out.lai_effective.values[0, 1] == 0.0


def test_polder_decoding():
    om, cls = decode_polder_clumping(np.array([1, 50, 252, 253, 254, 255, 0], "uint8"))
    np.testing.assert_allclose(om[:3], [0.01, 0.5, 2.52], rtol=1e-6)
    assert np.isnan(om[3:]).all()
    assert cls.tolist() == [0, 0, 0, 253, 254, 255, 0]


def test_mcd12q1_mappings():
    m1 = load_cover_mapping("LC_Type1")
    lk = m1.lookup()
    codes = map_cover_kernel(np.array([1, 3, 4, 5, 12, 14, 17, 13, 255, 200]), lk, m1.fill)
    names = ["not_vegetated", *m1.cover_types]
    got = [names[c] if c != 255 else "unmapped" for c in codes]
    assert got == [
        "conifer",
        "conifer",
        "deciduous",
        "mixed",
        "crop",
        "crop",
        "not_vegetated",
        "not_vegetated",
        "unmapped",
        "unmapped",
    ]
    m3 = load_cover_mapping("LC_Type3")
    c3 = map_cover_kernel(np.array([0, 7, 6, 3, 9]), m3.lookup(), m3.fill)
    assert [names[c] for c in c3] == [
        "not_vegetated",
        "conifer",
        "deciduous",
        "crop",
        "not_vegetated",
    ]
    with pytest.raises(LaiParameterError, match="no mapping"):
        load_cover_mapping("LC_Type9")


def test_real_mcd12q1_layer_maps(tmp_path):
    from conftest import sample

    from modisoft import open_granule
    from modisoft.lai import map_cover

    ds = open_granule(sample("MCD12Q1.A2020001.h24v07.061.2022172012059.hdf"), ["LC_Type1"])
    lc = ds["LC_Type1"].isel(y=slice(0, 200), x=slice(0, 200))
    cov = map_cover(lc, load_cover_mapping("LC_Type1")).values
    raw = lc.values
    assert (cov[raw == 17] == 0).all() and (cov[raw == 12] == 7).all()
    assert set(np.unique(cov)) <= {0, 1, 2, 3, 4, 5, 6, 7, 255}


def test_grid_mismatch_and_missing_curves_raise():
    p = _syn_params()
    red = np.full((3, 3), 0.05)
    with pytest.raises(RetrievalError, match="another grid"):
        retrieve_lai(_ds(red, red * 5), xr.DataArray(np.ones((4, 3)), dims=("y", "x")), p)
    with pytest.raises(RetrievalError, match="no RSR curves"):
        retrieve_lai(
            _ds(red, red * 5), xr.DataArray(np.ones((3, 3)), dims=("y", "x")), p, index="RSR"
        )


def test_default_rsr_uses_the_curves_swir_bounds():
    p = default_params()
    c = p.curve("conifer", "RSR")
    ds = _ds(np.full((2, 2), 0.04), np.full((2, 2), 0.3)).assign(
        sur_refl_b06=(("y", "x"), np.full((2, 2), 0.15))
    )
    out = retrieve_lai(
        ds, xr.DataArray(np.ones((2, 2)), dims=("y", "x")), p, index="RSR", return_dataset=True
    )
    assert out.RSR.attrs["swir_mode"] == "fixed"
    assert out.RSR.attrs["swir_min"] == c.extra["swir_min"]
    want = 7.5 * (c.extra["swir_max"] - 0.15) / (c.extra["swir_max"] - c.extra["swir_min"])
    np.testing.assert_allclose(out.RSR.values, want, rtol=1e-5)
