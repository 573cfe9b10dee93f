"""Smoothing kernels against independent formulas: dense Whittaker solves, a brute-force
V-curve, scipy's smoothing spline, polynomial invariance of Savitzky–Golay, and synthetic
seasonal curves with known truth and low-biased cloud drops."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import make_smoothing_spline

from modisoft.timeseries import lacc, savgol_chen2004, whittaker, whittaker_vcurve
from modisoft.timeseries.lacc import smoothing_spline

RNG = np.random.default_rng(2012)


def dense_whittaker(y, w, lam, x=None):
    """(W + λ DᵀD) z = W y with a dense D built here (divided differences for uneven x)."""
    t = len(y)
    d = np.zeros((t - 2, t))
    if x is None:
        for i in range(t - 2):
            d[i, i:i + 3] = [1.0, -2.0, 1.0]
    else:
        h = np.diff(x)
        s = ((x[-1] - x[0]) / (t - 1)) ** 2
        for i in range(t - 2):
            h1, h2 = h[i], h[i + 1]
            d[i, i:i + 3] = s * np.array([2 / (h1 * (h1 + h2)), -2 / (h1 * h2),
                                          2 / (h2 * (h1 + h2))])
    return np.linalg.solve(np.diag(w) + lam * d.T @ d, w * y), d


@pytest.mark.parametrize("uneven", [False, True])
def test_whittaker_equals_dense_solve(uneven):
    n, t = 30, 46
    y = RNG.normal(size=(n, t))
    w = RNG.uniform(0, 1, size=(n, t)) * (RNG.random((n, t)) > 0.2)
    lam = 10 ** RNG.uniform(-2, 3, n)
    x = np.cumsum(RNG.integers(5, 12, t)).astype(float) if uneven else None
    z = whittaker(y, w, lam, x=x)
    for i in range(n):
        want, _ = dense_whittaker(y[i], w[i], lam[i], x)
        np.testing.assert_allclose(z[i], want, rtol=0, atol=1e-8 * max(1, np.abs(want).max()))


def test_vcurve_picks_the_brute_force_lambda():
    n, t = 40, 46
    xs = np.arange(t)
    y = np.sin(2 * np.pi * xs / 46)[None] + RNG.normal(0, 0.3, (n, t))
    w = (RNG.random((n, t)) > 0.15).astype(float)
    llas = np.round(np.arange(-2, 3.0001, 0.2), 10)
    z, lam = whittaker_vcurve(y, w, llas)
    for i in range(n):
        f, p = [], []
        for ll in llas:
            zz, d = dense_whittaker(y[i], w[i], 10.0 ** ll)
            f.append(np.log(np.sum((w[i] * (y[i] - zz)) ** 2)))
            p.append(np.log(np.sum((d @ zz) ** 2)))
        v = np.hypot(np.diff(f), np.diff(p)) / np.diff(llas)
        k = int(np.argmin(v))
        assert lam[i] == pytest.approx(10 ** ((llas[k] + llas[k + 1]) / 2), rel=1e-12)
        want, _ = dense_whittaker(y[i], w[i], lam[i])
        np.testing.assert_allclose(z[i], want, atol=1e-8)


def test_lacc_spline_is_the_green_silverman_smoothing_spline():
    """Pollock's form with μ = 2(1−λ)/(3λ) equals the smoothing spline with α = 3μ/2 (scipy)."""
    x = np.sort(RNG.uniform(0, 30, 20))
    y = np.sin(x / 4) + RNG.normal(0, 0.2, 20)
    for lam in (0.5, 0.3, 0.8):
        d = smoothing_spline(x, y[None], None, lam)[3][0]
        alpha = 1.5 * 2 * (1 - lam) / (3 * lam)
        np.testing.assert_allclose(d, make_smoothing_spline(x, y, lam=alpha)(x), atol=1e-9)


def test_savgol_keeps_low_order_polynomials():
    x = np.arange(46.0)
    y = (0.5 + 0.1 * x - 0.002 * x**2)[None]
    np.testing.assert_allclose(savgol_chen2004(y, None, x), y, atol=1e-9)


def _seasons(n=400, drop_rate=0.2, seed=7):
    rng = np.random.default_rng(seed)
    t = 46
    x = 8.0 * np.arange(t) + 4  # days of 8-day composites
    peak = rng.uniform(150, 250, (n, 1))
    amp = rng.uniform(1.5, 4.0, (n, 1))
    truth = 0.4 + amp * np.exp(-(((x - peak) / 55) ** 2))
    y = truth + rng.normal(0, 0.05, (n, t))
    drop = rng.random((n, t)) < drop_rate
    depth = rng.uniform(0.5, 2.0, (n, t))
    y = np.where(drop, y - depth * amp / 3, y)
    return x, truth, y, drop, depth * amp / 3


SMOOTHERS = {
    "whittaker": lambda y, w, x: whittaker_vcurve(y, w, x=x)[0],
    "whittaker_asymmetric": lambda y, w, x: whittaker_vcurve(y, w, x=x, p=0.9)[0],
    "lacc": lambda y, w, x: lacc(y, w, x),
    "savgol": lambda y, w, x: savgol_chen2004(y, w, x),
}


@pytest.mark.parametrize("name", SMOOTHERS)
def test_recovers_truth_when_weights_flag_the_clouds(name):
    x, truth, y, drop, _ = _seasons()
    z = SMOOTHERS[name](y, (~drop).astype(float), x)
    rmse = np.sqrt(np.mean((z - truth) ** 2))
    print(f"{name}: RMSE {rmse:.4f} against the truth (LAI 0.4-4.4) with QA weights")
    assert rmse < 0.08


@pytest.mark.parametrize("name", ["lacc", "savgol", "whittaker_asymmetric"])
def test_upper_envelope_without_weights(name):
    """No QA at all: the envelope smoothers must not follow the cloud drops down."""
    x, truth, y, drop, depth = _seasons()
    z = SMOOTHERS[name](y, None, x)
    sym = SMOOTHERS["whittaker"](y, None, x)
    kept = -np.mean((z - truth)[drop]) / np.mean(depth[drop])
    sym_kept = -np.mean((sym - truth)[drop]) / np.mean(depth[drop])
    print(f"{name}: residual at cloud drops {kept:.1%} of the drop depth "
          f"(symmetric Whittaker {sym_kept:.1%})")
    assert kept < 0.35
    assert kept < sym_kept - 0.05  # clearly above what a symmetric smoother keeps
    assert np.mean(z - truth) > -0.12


@pytest.mark.parametrize("name", SMOOTHERS)
def test_zero_weights_are_ignored(name):
    x, _truth, y, drop, _ = _seasons(n=50)
    w = (~drop).astype(float)
    wild = np.where(drop, RNG.uniform(-50, 50, y.shape), y)
    np.testing.assert_allclose(SMOOTHERS[name](y, w, x), SMOOTHERS[name](wild, w, x),
                               rtol=0, atol=1e-9)
    nan = np.where(drop, np.nan, y)
    np.testing.assert_allclose(SMOOTHERS[name](nan, None, x), SMOOTHERS[name](y, w, x),
                               rtol=0, atol=1e-9)


def test_daily_output_passes_through_the_knots():
    x, _truth, y, _drop, _ = _seasons(n=5)
    days = np.arange(1, 366)
    at_knots = lacc(y, None, x)
    daily = lacc(y, None, x, at=days)
    np.testing.assert_allclose(daily[:, 3::8][:, :46], at_knots, atol=1e-9)
    sg = savgol_chen2004(y, None, x, at=days)
    np.testing.assert_allclose(sg[:, 3::8][:, :46], savgol_chen2004(y, None, x), atol=1e-9)
