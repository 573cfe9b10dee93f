"""The report's statistics read band by band (modisoft/report/windows.py) equal numpy's on the
whole array: the representative pixels, the percentiles from counts, the gap_days means and
90th percentiles; and a map decimated band by band, or with the other maps in one pass of
chunk windows, equals the whole array's decimation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import modisoft.plot
import modisoft.report.windows as windows
from modisoft.plot import decimate, decimated
from modisoft.report.points import representative_pixels


@pytest.fixture(autouse=True)
def small_bands(monkeypatch):
    monkeypatch.setattr(windows, "BAND_BYTES", 8 * 3 * 70 * 5)  # 5 rows of 3 x 70
    monkeypatch.setattr(modisoft.plot, "WINDOW_BYTES", 8 * 70 * 6)


def _field(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.random((90, 70)).astype("float32")
    m[m < 0.2] = np.nan
    m[3, 4] = 0
    m[10, 10] = m[20, 20] = 2.0  # a tie for the highest: the later one, as argsort
    return m


def test_the_pixels_picked_band_by_band_are_the_whole_arrays():
    m = _field()
    assert windows.picks(xr.DataArray(m, dims=("y", "x")).chunk(16)) == \
        representative_pixels(m)


def test_percentiles_from_counts_equal_numpys():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 40, 1001).astype("float64")
    vals, counts = np.unique(x, return_counts=True)
    for q in (0, 10, 50, 90, 100):
        assert windows.percentile_of(vals, counts, q) == pytest.approx(np.percentile(x, q))


def test_gap_stats_equal_numpy_per_period():
    rng = np.random.default_rng(7)
    gap = rng.integers(-1, 40, size=(3, 90, 70)).astype("int16")
    got_mean, got_p90 = windows.gap_stats(xr.DataArray(gap, dims=("time", "y", "x")).chunk(
        {"y": 16, "x": 16}))
    for k in range(3):
        g = gap[k][gap[k] >= 0].astype("float64")
        assert got_mean[k] == pytest.approx(g.mean())
        assert got_p90[k] == pytest.approx(np.percentile(g, 90))


@pytest.mark.parametrize("how", ["mean", "nearest"])
@pytest.mark.parametrize("max_size", [20, 33, 100])
def test_a_map_decimated_band_by_band_is_the_whole_arrays(how, max_size):
    m = _field(5)
    got, _ = decimated(xr.DataArray(m, dims=("y", "x")).chunk(16), max_size, how)
    np.testing.assert_array_equal(got, decimate(m, max_size, how))
    assert got.dtype == decimate(m, max_size, how).dtype


@pytest.mark.parametrize("limit", [8 * 3 * 16 * 16, 16 * 2**20])  # one chunk; many
def test_one_pass_of_chunk_windows_equals_the_whole_arrays(monkeypatch, limit):
    """scan(): the maps decimated, the pixels picked and the observed counts from windows of
    whole chunks (a block of rows cut by a chunk's edge carried over) equal the decimation of
    the whole arrays, representative_pixels and numpy's bincount of the whole arrays."""
    monkeypatch.setattr(windows, "BAND_BYTES", limit)
    rng = np.random.default_rng(11)
    v = rng.random((3, 90, 70)).astype("float32") * 4
    v[v < 0.5] = np.nan
    v[:, 30, 40] = v[:, 60, 10] = 50.0  # a tie for the highest mean: the later one
    n = rng.integers(0, 9, (90, 70))
    lazy = xr.DataArray(v, dims=("time", "y", "x")).chunk({"time": -1, "y": 16, "x": 16})
    mean, top = lazy.mean("time"), lazy.max("time")
    share = (100.0 * xr.DataArray(n, dims=("y", "x")).chunk(16) / 7).where(mean.notnull())
    with warnings.catch_warnings():  # all-NaN pixels
        warnings.simplefilter("ignore", RuntimeWarning)
        m_np, top_np = np.nanmean(v, axis=0), np.nanmax(v, axis=0)
    share_np = np.where(np.isfinite(m_np), 100.0 * n / 7, np.nan)
    got = windows.scan(lazy, {"mean": (mean, 33, "float32"), "top": (top, 20, "float32"),
                              "periods": (lazy, 17, "float32"),
                              "share": (share, 25, "float64")},
                       xr.DataArray(n, dims=("y", "x")).chunk(16))
    np.testing.assert_allclose(got["mean"], decimate(m_np, 33), rtol=1e-6)
    np.testing.assert_array_equal(got["top"], decimate(top_np, 20))
    np.testing.assert_array_equal(got["share"], decimate(share_np, 25))
    for k in range(3):
        np.testing.assert_array_equal(got["periods"][k], decimate(v[k], 17))
    assert got["pixels"] == representative_pixels(m_np.astype("float32"))
    np.testing.assert_array_equal(got["counts"], np.bincount(n[np.isfinite(m_np)]))
