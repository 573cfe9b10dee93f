"""AVHRR LAI tied to MODIS: known per-pixel relations recovered; fallback when pairs are few."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from modisoft.lai import apply_avhrr_relation, fit_avhrr_relation
from modisoft.lai.avhrr import huber_line_fit


def _series(rng, t=40, ny=6, nx=7):
    a = rng.uniform(-0.5, 0.5, (ny, nx))
    b = rng.uniform(0.2, 0.6, (ny, nx))
    sr = rng.uniform(1.5, 12, (t, ny, nx))
    lai = a + b * sr + rng.normal(0, 0.05, sr.shape)
    return a, b, sr, lai


def test_pixel_relations_recovered_robustly():
    rng = np.random.default_rng(0)
    a, b, sr, lai = _series(rng)
    lai[::10] += 3.0  # 10 % cloud-like outliers on every pixel
    rel = fit_avhrr_relation(
        xr.DataArray(sr, dims=("time", "y", "x")), xr.DataArray(lai, dims=("time", "y", "x"))
    )
    np.testing.assert_allclose(rel.b.values, b, atol=0.02)
    np.testing.assert_allclose(rel.a.values, a, atol=0.15)
    assert (rel.fit_source.values == 0).all() and (rel.n.values == 40).all()
    # quality layers agree with formulas over the pairs
    k = (2, 3)
    pred = rel.a.values[k] + rel.b.values[k] * sr[:, k[0], k[1]]
    res = lai[:, k[0], k[1]] - pred
    assert rel.rmse.values[k] == pytest.approx(np.sqrt(np.mean(res**2)), rel=1e-4)


def test_fallback_when_pairs_are_few():
    rng = np.random.default_rng(1)
    t, ny, nx = 30, 4, 5
    sr = rng.uniform(2, 10, (t, ny, nx))
    lai = 0.2 + 0.4 * sr + rng.normal(0, 0.05, sr.shape)  # one relation for the cover type
    cover = np.ones((ny, nx), "uint8")
    cover[3] = 2
    lai[:, 3, :] = 1.0 + 0.1 * sr[:, 3, :]
    lai[5:, 0, 0] = np.nan  # pixel (0, 0): only 5 pairs
    lai[:, 3, 4] = np.nan  # pixel (3, 4): no pairs; its cover type has pairs elsewhere
    rel = fit_avhrr_relation(sr, lai, cover, n_min=10, r2_min=0.5)
    assert rel.n.values[0, 0] == 5 and rel.fit_source.values[0, 0] == 1
    assert rel.b.values[0, 0] == pytest.approx(0.4, abs=0.01)  # cover-type 1 relation
    assert rel.fit_source.values[3, 4] == 1
    assert rel.b.values[3, 4] == pytest.approx(0.1, abs=0.01)  # cover-type 2 relation
    assert (rel.fit_source.values[1:3] == 0).all()
    none = fit_avhrr_relation(sr, np.where(np.arange(t)[:, None, None] < 3, lai, np.nan), None)
    assert (none.fit_source.values == 2).all() and np.isnan(none.a.values).all()


def test_apply_to_avhrr_only_period():
    rng = np.random.default_rng(2)
    a, b, sr, lai = _series(rng, t=20)
    rel = fit_avhrr_relation(sr, lai)
    old = rng.uniform(1.5, 12, (5, *a.shape))
    got = apply_avhrr_relation(xr.DataArray(old, dims=("time", "y", "x")), rel).values
    np.testing.assert_allclose(got, np.maximum(a + b * old, 0), atol=0.1)


def test_huber_line_matches_ols_without_outliers():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, 200)
    y = 1.0 + 2.0 * x + rng.normal(0, 0.5, 200)
    f = huber_line_fit(x, y)
    b, a = np.polyfit(x, y, 1)
    assert f["b"][0] == pytest.approx(b, abs=0.02) and f["a"][0] == pytest.approx(a, abs=0.1)
