"""Calibration recovers known curve parameters; statistics match formulas written here."""

from __future__ import annotations

import numpy as np
import pytest

from modisoft.lai import Curve, agreement, calibrate, default_params, fit_curve, load_curves
from modisoft.lai.calibrate import CalibrationError
from modisoft.lai.params import write_curves


def test_agreement_formulas():
    p = np.array([1.0, 2.0, 3.5, np.nan])
    r = np.array([1.5, 2.0, 3.0, 2.0])
    st = agreement(p, r)
    pp, rr = p[:3], r[:3]
    assert st["n"] == 3
    assert st["rmse"] == pytest.approx(np.sqrt(np.mean((pp - rr) ** 2)))
    assert st["bias"] == pytest.approx(np.mean(pp - rr))
    assert st["r2"] == pytest.approx(1 - np.sum((pp - rr) ** 2) / np.sum((rr - rr.mean()) ** 2))


@pytest.mark.parametrize(
    ("form", "true"),
    [
        ("exponential", {"a": 16.0, "b": 15.0, "c": 0.4}),
        ("logarithmic", {"a": -0.5, "b": 2.0}),
        ("power", {"a": 0.3, "b": 1.2}),
        ("linear", {"a": -0.4, "b": 0.35}),
    ],
)
def test_fit_recovers_parameters_despite_outliers(form, true):
    rng = np.random.default_rng(1)
    c_true = Curve("grass", "SR", form, true, 8.0, "synthetic")
    from modisoft.lai import curve_index

    laie = rng.uniform(0.1, 6.0, 2000)
    idx = curve_index(c_true, laie)
    if form == "exponential":
        idx = idx + rng.normal(0, 0.2, idx.size)
    else:
        laie = laie + rng.normal(0, 0.05, laie.size)
    bad = rng.choice(idx.size, 100, replace=False)  # 5 % gross outliers (cloud-like), in the
    if form == "exponential":  # direction the residuals of the form are taken in
        idx[bad] *= 0.3
    else:
        laie[bad] *= 0.3
    c = fit_curve(idx, laie, form)
    for k, v in true.items():
        assert c.params[k] == pytest.approx(v, rel=0.05, abs=0.05), (k, c.params)
    ols = fit_curve(idx, laie, form, loss="linear")
    err_robust = sum(abs(c.params[k] - v) for k, v in true.items())
    err_ols = sum(abs(ols.params[k] - v) for k, v in true.items())
    assert err_robust < err_ols  # the robust loss is what makes the difference


def test_lut_fit_is_monotone():
    rng = np.random.default_rng(2)
    laie = rng.uniform(0, 6, 3000)
    idx = 15 - 14 * np.exp(-0.5 * laie) + rng.normal(0, 0.3, laie.size)
    c = fit_curve(idx, laie, "lut")
    assert np.all(np.diff(c.params["index_knots"]) > 0)
    assert np.all(np.diff(c.params["lai_knots"]) > 0)


def test_calibrate_per_cover_type_and_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    p = default_params()
    truth = {"conifer": (12.0, 11.0, 0.35), "grass": (15.0, 14.0, 0.55)}
    cover = rng.choice([1, 6, 0], size=(30, 40))  # conifer, grass, not vegetated
    lai = rng.uniform(0.2, 6, size=(5, 30, 40))
    idx = np.full(lai.shape, np.nan)
    for code, ct in ((1, "conifer"), (6, "grass")):
        a, b, c = truth[ct]
        sel = np.broadcast_to(cover == code, lai.shape)
        idx[sel] = a - b * np.exp(-c * lai[sel] * p.omega[ct]) + rng.normal(0, 0.1, sel.sum())
    curves, stats = calibrate(idx, lai, cover, p, forms="exponential")
    got = {c.cover_type: c for c in curves}
    assert set(got) == {"conifer", "grass"}
    for ct, (a, _b, c) in truth.items():
        assert got[ct].params["a"] == pytest.approx(a, rel=0.03)
        assert got[ct].params["c"] == pytest.approx(c, rel=0.05)
        assert stats[ct]["n"] == int((cover == (1 if ct == "conifer" else 6)).sum()) * 5
        assert stats[ct]["rmse"] < 0.5 and stats[ct]["r2"] > 0.9
    assert stats["deciduous"]["n"] == 0 and "skipped" in stats["deciduous"]
    out = write_curves(curves, tmp_path / "cal.toml", header={"source": "test"})
    back = {c.cover_type: c for c in load_curves(out)}
    assert back["grass"].params == got["grass"].params
    assert back["grass"].extra["rmse"] == pytest.approx(stats["grass"]["rmse"])


def test_too_few_pairs_raise():
    with pytest.raises(CalibrationError, match="fewer than"):
        fit_curve([1.0, 2.0], [0.5, 1.0], "linear")
