"""The numba Whittaker kernels against oracles written here: dense ``numpy.linalg.solve`` of
``(W + λDᵀD) z = W y`` (even and uneven x), a brute-force V-curve over the grid, a dense
re-weighting loop for the asymmetric variant, and vam-whittaker's ``ws2doptv`` on real LAI
series (skipped without vam).  Series counts are not multiples of the 16 lanes on purpose."""

from __future__ import annotations

import array
import threading

import numpy as np
import pytest

from modisoft.timeseries import whittaker, whittaker_asymmetric, whittaker_vcurve

RNG = np.random.default_rng(22)
GRID = np.round(np.arange(-2.0, 1.0 + 1e-9, 0.2), 10)


def dense_d(t, x=None):
    """Second-difference matrix; for uneven x second divided differences × mean step²."""
    d = np.zeros((t - 2, t))
    for i in range(t - 2):
        if x is None:
            d[i, i:i + 3] = [1.0, -2.0, 1.0]
        else:
            h1, h2 = x[i + 1] - x[i], x[i + 2] - x[i + 1]
            s = ((x[-1] - x[0]) / (t - 1)) ** 2
            d[i, i:i + 3] = [2 * s / (h1 * (h1 + h2)), -2 * s / (h1 * h2),
                             2 * s / (h2 * (h1 + h2))]
    return d


def dense_solve(y, w, lam, d):
    return np.linalg.solve(np.diag(w) + lam * d.T @ d, w * y)


def dense_asym(y, w, lam, d, p):
    """Expectile loop: weights w·p above the fit, w·(1−p) below, until unchanged (≤ 10)."""
    ww = w.copy()
    z = dense_solve(y, ww, lam, d)
    for _ in range(10):
        new = np.where(y > z, w * p, w * (1 - p))
        if np.array_equal(new, ww):
            break
        ww = new
        z = dense_solve(y, ww, lam, d)
    return z, ww


def brute_vcurve(y, w, llas, d, p=None):
    """λ by the V-curve: dense fits over the grid, then the smallest distance per log10 step."""
    f, q = [], []
    for ll in llas:
        if p is None:
            z, ww = dense_solve(y, w, 10.0 ** ll, d), w
        else:
            z, ww = dense_asym(y, w, 10.0 ** ll, d, p)
        with np.errstate(divide="ignore"):
            f.append(np.log(np.sum((ww * (y - z)) ** 2)))
            q.append(np.log(np.sum((d @ z) ** 2)))
    best, k_best = np.inf, 0
    for k in range(len(llas) - 1):
        v = np.hypot(f[k + 1] - f[k], q[k + 1] - q[k]) / (llas[k + 1] - llas[k])
        if np.isfinite(v) and v < best:
            best, k_best = v, k
    return 10.0 ** ((llas[k_best] + llas[k_best + 1]) / 2)


def noisy(n, t=46):
    y = np.sin(2 * np.pi * np.arange(t) / t)[None] * RNG.uniform(0.5, 3, (n, 1))
    y = y + RNG.normal(0, 0.3, (n, t))
    w = RNG.uniform(0.2, 1, (n, t)) * (RNG.random((n, t)) > 0.25)
    return y, w


def uneven_x(t=46):
    return np.cumsum(RNG.integers(4, 13, t)).astype(float)


@pytest.mark.parametrize("layout", ["even", "shared x", "x per series"])
def test_fixed_lambda_equals_the_dense_solve(layout):
    n, t = 37, 46
    y, w = noisy(n, t)
    lam = 10 ** RNG.uniform(-2, 3, n)
    xs = {"even": None, "shared x": uneven_x(t),
          "x per series": np.vstack([uneven_x(t) for _ in range(n)])}[layout]
    z = whittaker(y, w, lam, x=xs)
    for i in range(n):
        xi = None if xs is None else xs if xs.ndim == 1 else xs[i]
        want = dense_solve(y[i], w[i], lam[i], dense_d(t, xi))
        np.testing.assert_allclose(z[i], want, rtol=0, atol=1e-9 * max(1, np.abs(want).max()))


@pytest.mark.parametrize("uneven", [False, True])
def test_vcurve_lambda_is_the_brute_force_one(uneven):
    n, t = 21, 46
    y, w = noisy(n, t)
    x = uneven_x(t) if uneven else None
    d = dense_d(t, x)
    llas = np.round(np.arange(-1.5, 2.5001, 0.25), 10)
    z, lam = whittaker_vcurve(y, w, llas, x=x)
    for i in range(n):
        want_lam = brute_vcurve(y[i], w[i], llas, d)
        assert lam[i] == pytest.approx(want_lam, rel=1e-12)
        np.testing.assert_allclose(z[i], dense_solve(y[i], w[i], want_lam, d), atol=1e-9)


def test_asymmetric_equals_the_dense_reweighting_loop():
    n, t = 19, 46
    y, w = noisy(n, t)
    y[:, ::5] -= 1.5  # cloud drops
    d = dense_d(t)
    z = whittaker_asymmetric(y, w, lam=5.0, p=0.9)
    for i in range(n):
        np.testing.assert_allclose(z[i], dense_asym(y[i], w[i], 5.0, d, 0.9)[0], atol=1e-9)
    zv, lam = whittaker_vcurve(y[:8], w[:8], GRID, p=0.85)
    for i in range(8):
        want_lam = brute_vcurve(y[i], w[i], GRID, d, p=0.85)
        assert lam[i] == pytest.approx(want_lam, rel=1e-12)
        np.testing.assert_allclose(zv[i], dense_asym(y[i], w[i], want_lam, d, 0.85)[0],
                                   atol=1e-9)


def test_degenerate_series_are_nan_and_leave_their_neighbours_alone():
    n, t = 20, 46
    y, w = noisy(n, t)
    w[3] = 0.0  # no weight at all
    w[7] = 0.0
    w[7, 10] = 1.0  # a single positive weight: singular system, no V-curve
    w[11] = 0.0
    w[11, [4, 30]] = 1.0  # two weights: the straight line through them
    z, lam = whittaker_vcurve(y, w)
    assert np.isnan(z[[3, 7]]).all() and np.isnan(lam[[3, 7]]).all()
    assert np.isnan(whittaker(y, w, 10.0)[[3, 7]]).all()
    assert np.isnan(whittaker_asymmetric(y, w, 10.0)[[3, 7]]).all()
    line = y[11, 4] + (y[11, 30] - y[11, 4]) * (np.arange(t) - 4) / 26
    np.testing.assert_allclose(z[11], line, atol=1e-8)
    ok = np.setdiff1d(np.arange(n), [3, 7, 11])
    assert np.isfinite(z[ok]).all() and np.isfinite(lam[ok]).all()
    z_alone, lam_alone = whittaker_vcurve(y[ok], w[ok])
    np.testing.assert_array_equal(z[ok], z_alone)
    np.testing.assert_array_equal(lam[ok], lam_alone)


def test_nan_values_count_as_weight_zero():
    y, w = noisy(9)
    gaps = RNG.random(y.shape) < 0.2
    z_nan, lam_nan = whittaker_vcurve(np.where(gaps, np.nan, y), w)
    z_w0, lam_w0 = whittaker_vcurve(np.where(gaps, 123.0, y), np.where(gaps, 0.0, w))
    np.testing.assert_array_equal(lam_nan, lam_w0)
    np.testing.assert_array_equal(z_nan, z_w0)


def test_threads_and_serial_give_the_same_bits():
    """The main thread runs lane blocks in parallel (from 512 series, with more than one numba
    thread), other threads serially: same result."""
    y, w = noisy(600)
    x = uneven_x()
    z_main, lam_main = whittaker_vcurve(y, w, x=x)
    got = {}
    worker = threading.Thread(target=lambda: got.update(r=whittaker_vcurve(y, w, x=x)))
    worker.start()
    worker.join()
    np.testing.assert_array_equal(got["r"][0], z_main)
    np.testing.assert_array_equal(got["r"][1], lam_main)


def test_agrees_with_vam_whittaker_on_real_lai():
    vam = pytest.importorskip("vam.whittaker")
    from conftest import sample

    xr = pytest.importorskip("xarray")
    src = xr.open_dataset(sample("arcachon_MOD15A2H_Lai500m_MCD12Q1_LCType1_2004_81x81.nc"))
    raw = src.Lai_500m.values.reshape(46, -1).T.astype("float64")
    good = raw <= 100  # 249-255 are fill classes
    keep = np.flatnonzero(good.sum(axis=1) >= 10)
    pick = np.sort(np.random.default_rng(0).choice(keep, 400, replace=False))
    y = np.where(good, raw * 0.1, 0.0)[pick]
    w = good[pick].astype("float64")
    w[::3] *= RNG.random((len(w[::3]), 46)) > 0.3  # also series with gaps
    z, lam = whittaker_vcurve(y, w, GRID)
    ll = array.array("d", GRID)
    for i in range(len(y)):
        zv, lv = vam.ws2doptv(y[i], w[i], ll)
        assert lam[i] == pytest.approx(lv, rel=1e-9)
        np.testing.assert_allclose(z[i], np.asarray(zv), rtol=0, atol=1e-8)
