"""smooth() over real data (MCD15A2 h17v03, all 46 dates of 2012) and the `modisoft smooth`
command: every land pixel with enough good observations gets a series; the rest are NaN and
counted."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from conftest import SAMPLE_DIR

from modisoft import decode, open_granule
from modisoft.cli import main
from modisoft.timeseries import smooth

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("timeseries/test_api")

WIN = {"y": slice(480, 600), "x": slice(600, 720)}  # coast: land and sea (Ireland)


def good_lai_weights(qc: np.ndarray) -> np.ndarray:
    """QA.md §2.3, written out here: SCF_QC (bits 5-7) in {0, 1} and cloud state (bits 3-4) 0;
    fill 255 first."""
    qc = qc.astype(np.uint8)
    return ((qc != 255) & ((qc >> 5) <= 1) & (((qc >> 3) & 3) == 0)).astype("float32")


@pytest.fixture(scope="module")
def lai_2012():
    files = sorted(SAMPLE_DIR.glob("MCD15A2.A2012*.h17v03.005.*.hdf"))
    if len(files) != 46:
        pytest.skip("the 46 MCD15A2 h17v03 2012 files are not present")
    lai, qc = [], []
    for f in files:
        ds = open_granule(f, ["Lai_1km", "FparLai_QC"], chunks=240).isel(WIN)
        t = np.datetime64(ds.attrs["start_date"], "ns")
        dec = decode(ds)
        lai.append(dec.Lai_1km.expand_dims(time=[t]))
        qc.append(ds.FparLai_QC.expand_dims(time=[t]))
    return (xr.concat(lai, "time").rename("lai").compute().chunk({"y": 60, "x": 60}),
            xr.concat(qc, "time").compute().chunk({"y": 60, "x": 60}))


@pytest.mark.parametrize("method", ["whittaker", "lacc", "savgol"])
def test_every_land_pixel_with_enough_observations_is_smoothed(lai_2012, method):
    lai, qc = lai_2012
    w = xr.apply_ufunc(good_lai_weights, qc, dask="parallelized", output_dtypes=["float32"])
    res = smooth(lai, method, weights=w, min_obs=8)
    assert res.lai.chunks is not None  # lazy until computed
    res = res.compute()
    usable = (np.isfinite(lai.values) & (w.values > 0)).sum(axis=0)
    enough = usable >= 8
    assert 0 < enough.sum() < enough.size  # the window holds both kinds of pixel
    out = res.lai.values
    assert np.isfinite(out[:, enough]).all()
    assert np.isnan(out[:, ~enough]).all()
    assert int(res.n_insufficient) == int((~enough).sum())
    np.testing.assert_array_equal(res.n_obs.values, usable)
    assert np.nanmin(out) >= 0 and np.nanmax(out) <= 10  # clipped to LAI's plausible range
    print(f"{method}: {int(enough.sum())} pixels smoothed, {int(res.n_insufficient)} NaN")


@pytest.mark.parametrize("method", ["whittaker", "lacc", "savgol"])
def test_ends_are_held_not_extrapolated(lai_2012, method):
    """Unclipped, before the first and after the last usable observation each series is
    constant at its fitted end value (high-latitude winters have no good LAI; a penalised fit
    would otherwise continue its end slope to −25), and the interior stays near the data."""
    lai, qc = lai_2012
    w = xr.apply_ufunc(good_lai_weights, qc, dask="parallelized", output_dtypes=["float32"])
    res = smooth(lai, method, weights=w, min_obs=8, clip=None).compute()
    out, vals = res.lai.values, lai.values
    usable = np.isfinite(vals) & (w.values > 0)
    checked = 0
    for iy, ix in zip(*np.nonzero(usable.sum(axis=0) >= 8), strict=True):
        idx = np.flatnonzero(usable[:, iy, ix])
        s = out[:, iy, ix]
        assert np.all(s[: idx[0]] == s[idx[0]]) and np.all(s[idx[-1]:] == s[idx[-1]])
        obs = vals[idx, iy, ix]
        assert obs.min() - 2.5 < s.min() and s.max() < obs.max() + 2.5, (iy, ix)
        checked += 1
    assert checked > 1000
    print(f"{method}: unclipped range [{np.nanmin(out):.2f}, {np.nanmax(out):.2f}]")


def test_daily_output_and_parameters_recorded(lai_2012):
    lai, qc = lai_2012
    w = xr.apply_ufunc(good_lai_weights, qc, dask="parallelized", output_dtypes=["float32"])
    days = np.arange("2012-01-05", "2012-12-27", dtype="datetime64[D]")
    sub = {"y": slice(100, 120), "x": slice(40, 60)}  # land, enough good observations
    res = smooth(lai.isel(sub), "whittaker_asymmetric", weights=w.isel(sub), at=days, p=0.85)
    assert res.sizes["time"] == len(days)
    assert "'p': 0.85" in res.attrs["smoother_parameters"]
    assert res.attrs["smoother"] == "whittaker_asymmetric"
    lam = res["lambda"].values
    assert np.isfinite(lam).sum() > 100
    out = res.lai.values
    assert np.isfinite(out[:, np.isfinite(lam)]).all()
    # daily values between two 8-day dates lie between the values at those dates
    on8 = smooth(lai.isel(sub), "whittaker_asymmetric", weights=w.isel(sub), p=0.85).lai.values
    t8 = ((lai.time.values.astype("datetime64[D]") - days[0]).astype(int))
    i = int(np.searchsorted(t8, 100))
    a, b = on8[i - 1], on8[i]
    mid = out[t8[i - 1] + 3]
    ok = np.isfinite(a)
    lo, hi = np.minimum(a, b)[ok] - 1e-5, np.maximum(a, b)[ok] + 1e-5
    assert np.all((mid[ok] >= lo) & (mid[ok] <= hi))


def test_unknown_method_is_refused(lai_2012):
    with pytest.raises(ValueError, match="unknown smoothing method 'loess'"):
        smooth(lai_2012[0], "loess")


def test_cli_smooth_over_a_netcdf_stack(lai_2012, tmp_path):
    lai, qc = lai_2012
    w = xr.apply_ufunc(good_lai_weights, qc, dask="parallelized", output_dtypes=["float32"])
    src = tmp_path / "stack.zarr"
    xr.Dataset({"lai": lai, "w": w}).drop_vars("spatial_ref").compute().to_zarr(src)
    out = tmp_path / "smoothed.nc"
    result = CliRunner().invoke(main, ["smooth", str(src), "--var", "lai", "--weights", "w",
                                       "--method", "lacc", "--min-obs", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "left NaN" in result.output
    assert "smooth (" in result.output and "100%" in result.output  # the bands' progress bar
    quiet = CliRunner().invoke(main, ["smooth", str(src), "--var", "lai", "--method", "lacc",
                                      "--out", str(tmp_path / "q.nc"), "-q"])
    assert quiet.exit_code == 0 and "smooth (" not in quiet.output
    back = xr.open_dataset(out, engine="h5netcdf")
    assert back.lai.shape == lai.shape and back.attrs["smoother"] == "lacc"
    bad = CliRunner().invoke(main, ["smooth", str(src), "--var", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "no variable 'nope'" in bad.output


def test_period_output_is_the_mean_of_the_daily_curve(lai_2012):
    """smooth(period="beps10") = the daily curve averaged over each BEPS period (days 1-10,
    11-20, 21-end of month), computed here from the daily output with plain numpy."""
    lai, qc = lai_2012
    w = xr.apply_ufunc(good_lai_weights, qc, dask="parallelized", output_dtypes=["float32"])
    sub = {"y": slice(100, 110), "x": slice(40, 60)}
    per = smooth(lai.isel(sub), "lacc", weights=w.isel(sub), period="beps10").compute()
    assert per.sizes["time"] == 36 and per.period_label.values[4] == "2012-02-d2"
    assert str(per.period_end.values[5])[:10] == "2012-02-29"
    days = np.arange("2012-01-01", "2013-01-01", dtype="datetime64[D]")
    daily = smooth(lai.isel(sub), "lacc", weights=w.isel(sub), at=days).lai.values
    dom = (days - days.astype("datetime64[M]")).astype(int) + 1
    month = days.astype("datetime64[M]").astype(int) % 12
    k = month * 3 + np.minimum((dom - 1) // 10, 2)
    expect = np.stack([daily[k == i].mean(axis=0) for i in range(36)])
    np.testing.assert_allclose(per.lai.values, expect, rtol=0, atol=1e-5)
    assert np.isfinite(expect).sum() > 1000
