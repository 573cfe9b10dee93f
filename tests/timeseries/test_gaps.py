"""gap_days: per period and pixel, the days to the nearest good observation.

Synthetic series (labelled so): dates on the MODIS 8-day calendar of 2012, values and weights
chosen so the answer follows from ``datetime`` arithmetic written out in each test."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
import xarray as xr

from modisoft.errors import TimeSeriesError
from modisoft.timeseries import Period, gap_days, gap_days_kernel

# synthetic: the 46 dates of the MODIS 8-day calendar of 2012 (1 January + 8 k days)
DATES = [date(2012, 1, 1) + timedelta(days=8 * k) for k in range(46)]


def synthetic_stack(good_months: set[int], ny: int = 2, nx: int = 3) -> tuple[xr.DataArray,
                                                                            xr.DataArray]:
    """Synthetic values (finite everywhere but one March date, NaN) and weights that are 1 in
    ``good_months`` only; pixel (1, 2) has no good observation at all."""
    t = np.array([np.datetime64(d, "ns") for d in DATES])
    v = np.full((len(DATES), ny, nx), 2.0, "float32")
    w = np.array([1.0 if d.month in good_months else 0.0 for d in DATES], "float32")
    w = np.broadcast_to(w[:, None, None], v.shape).copy()
    march = next(k for k, d in enumerate(DATES) if d.month == 3)
    v[march] = np.nan  # a missing value is no observation, whatever its weight
    w[march] = 1.0
    w[:, 1, 2] = 0.0
    coords = {"time": t, "y": np.arange(ny, dtype=float), "x": np.arange(nx, dtype=float)}
    return (xr.DataArray(v, dims=("time", "y", "x"), coords=coords, name="lai"),
            xr.DataArray(w, dims=("time", "y", "x"), coords=coords))


def test_april_only_series_january_dekads_count_the_days_to_the_first_april_date():
    lai, w = synthetic_stack({4})
    gap = gap_days(lai, "dekad", weights=w).compute()
    april = [d for d in DATES if d.month == 4]
    first_april, last_april = april[0], april[-1]
    assert first_april == date(2012, 4, 6)  # 1 January + 96 days (2012 is a leap year)
    labels = list(gap.period_label.values)
    jan = labels.index("2012-01-d1")  # 1-10 January: from 10 January to 6 April
    assert gap.values[jan, 0, 0] == (first_april - date(2012, 1, 10)).days == 87
    assert gap.values[labels.index("2012-01-d3"), 0, 0] == (first_april - date(2012, 1, 31)).days
    for k in ("2012-04-d1", "2012-04-d2", "2012-04-d3"):  # each April dekad holds a date
        assert gap.values[labels.index(k), 0, 0] == 0
    # after April: from 30 April (the last good date) to the period's first day
    assert last_april == date(2012, 4, 30)
    assert gap.values[labels.index("2012-05-d1"), 0, 0] == (date(2012, 5, 1) - last_april).days
    dec = labels.index("2012-12-d3")
    assert gap.values[dec, 0, 0] == (date(2012, 12, 21) - last_april).days
    assert np.isnan(gap.values[:, 1, 2]).all()  # no good observation at all
    assert len(labels) == 36 and gap.dims == ("time", "y", "x")
    assert str(gap.period_end.values[jan])[:10] == "2012-01-10"
    assert gap.attrs["units"] == "d" and gap.attrs["coverage_content_type"] == \
        "qualityInformation"


def brute_force(lai: xr.DataArray, w: xr.DataArray, first: date, last: date) -> np.ndarray:
    """The definition, pixel by pixel, over Python dates."""
    dates = [np.datetime64(t, "D").astype(date) for t in lai.time.values]
    out = np.full(lai.shape[1:], np.nan)
    for (y, x), _ in np.ndenumerate(out):
        dist = [0 if first <= d <= last else min(abs((d - first).days), abs((d - last).days))
                for k, d in enumerate(dates)
                if np.isfinite(lai.values[k, y, x]) and w.values[k, y, x] > 0]
        out[y, x] = min(dist) if dist else np.nan
    return out


@pytest.mark.parametrize("kind", ["month", "pentad", "16day"])
def test_random_weights_equal_the_definition_over_python_dates(kind):
    rng = np.random.default_rng(3)  # synthetic: sparse random good observations
    lai, w = synthetic_stack(set(range(1, 13)), ny=4, nx=5)
    w = w.copy(data=(rng.random(w.shape) < 0.08).astype("float32"))
    gap = gap_days(lai.chunk({"y": 2, "x": 2}), kind, weights=w.chunk({"y": 2, "x": 2}))
    assert gap.chunks is not None  # lazy
    gap = gap.compute()
    for k in range(gap.sizes["time"]):
        first = np.datetime64(gap.time.values[k], "D").astype(date)
        last = np.datetime64(gap.period_end.values[k], "D").astype(date)
        np.testing.assert_array_equal(gap.values[k], brute_force(lai, w, first, last))


def test_int16_with_a_fill_and_the_periods_of_a_result_or_a_list():
    lai, w = synthetic_stack({4})
    gap = gap_days(lai, [Period(date(2012, 1, 1), date(2012, 1, 31), "jan"),
                         Period(date(2012, 4, 10), date(2012, 4, 12), "mid-april")],
                   weights=w, fill=-1)
    assert gap.dtype == np.int16 and gap.attrs["_FillValue"] == -1
    # January: to 6 April; 10-12 April: between 6 April (4 days before) and 14 April (2 after)
    assert gap.values[:, 0, 0].tolist() == [(date(2012, 4, 6) - date(2012, 1, 31)).days, 2]
    assert (gap.values[:, 1, 2] == -1).all()
    # a result without period ends (daily output): each date is a one-day period
    days = np.array(["2012-04-01", "2012-04-06", "2012-04-09"], "datetime64[ns]")
    daily = xr.DataArray(np.zeros((3, 2, 3)), dims=("day", "y", "x"), coords={"day": days})
    gap = gap_days(lai, daily, weights=w, dim="day")
    assert gap.dims == ("day", "y", "x") and gap.values[:, 0, 0].tolist() == [5, 0, 3]


def test_per_pixel_acquisition_days_move_an_observation():
    lai, w = synthetic_stack({4})
    acq = xr.DataArray(np.array([(np.datetime64(d) - np.datetime64("1970-01-01")).astype(float)
                                 for d in DATES])[:, None, None] * np.ones(lai.shape),
                       dims=lai.dims)
    k = DATES.index(date(2012, 4, 6))
    acq[k, 0, 0] += 7  # pixel (0, 0) observed on 13 April within its 6-13 April composite
    gap = gap_days(lai, [Period(date(2012, 1, 1), date(2012, 1, 31), "jan")], weights=w,
                   acq_days=acq)
    # pixel (0, 0): its first good day is now 13 April; the others keep 6 April
    assert gap.values[0, 0, 0] == (date(2012, 4, 13) - date(2012, 1, 31)).days
    assert gap.values[0, 0, 1] == (date(2012, 4, 6) - date(2012, 1, 31)).days


def test_the_kernel_on_a_hand_case():
    # synthetic: days 3 (good), 15 (not good), 40 (good); periods 0-9, 10-19, 20-29, 45-50
    got = gap_days_kernel(np.array([[True], [False], [True]]),
                          np.array([[3.0], [15.0], [40.0]]),
                          [(0, 9), (10, 19), (20, 29), (45, 50)])
    # 3 lies in 0-9; 10-19: 10 - 3 = 7 (40 - 19 = 21); 20-29: 40 - 29 = 11 (20 - 3 = 17);
    # 45-50: 45 - 40 = 5
    assert got.ravel().tolist() == [0.0, 7.0, 11.0, 5.0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"fill": 0}, r"fill 0: need a negative integer"),
    ({"fill": 1.5}, r"fill 1.5: need a negative integer"),
    ({"fill": "-1"}, r"fill '-1': need a negative integer"),
    ({"period": "fortnight"}, r"unknown period kind 'fortnight'"),
    ({"period": xr.DataArray([1.0], dims="step")}, r"no dimension 'time'"),
])
def test_bad_arguments_are_refused(kwargs, match):
    lai, w = synthetic_stack({4})
    with pytest.raises(TimeSeriesError, match=match):
        gap_days(lai, **{"period": "dekad", **kwargs}, weights=w)
