"""The report's statistics read band by band (modisoft/report/windows.py) equal numpy's on the
whole array: the representative pixels, the percentiles from counts, the gap_days means and
90th percentiles; and a map decimated band by band equals the whole array's decimation."""

from __future__ import annotations

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
