"""Compositing: period boundaries, reducers against brute force, the composite-day layer,
acquisition dates from composite DOY layers, and Terra+Aqua ordering on real MOD13/MYD13."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import SAMPLE_DIR

from modisoft import decode, open_granule
from modisoft.timeseries import acquisition_days, composite, composite_kernel, interleave, periods


@pytest.mark.parametrize("year, feb_last", [(2012, 9), (2013, 8), (2000, 9), (1900, 8)])
def test_dekads_month_ends_and_leap_years(year, feb_last):
    ps = periods("dekad", date(year, 1, 1), date(year, 12, 31))
    assert len(ps) == 36
    assert [p.days for p in ps[3:6]] == [10, 10, feb_last]
    assert [p.days for p in ps[-3:]] == [10, 10, 11]
    assert all(a.end.toordinal() + 1 == b.start.toordinal() for a, b in pairwise(ps))
    assert periods("beps10", date(year, 1, 1), date(year, 1, 31)) == ps[:3]


@pytest.mark.parametrize(("year", "last"), [(2011, 365), (2012, 366)])
def test_beps_d_periods_are_days_of_year_cut_to_the_run(year, last):
    """BEPS_D readlai.c's day table (reference/BEPS.md §2, written out here) by day of year,
    leap or not; the open ends cut to the run's days; the guide's variant."""
    firsts = [1, 111, 121, 131, 141, 152, 162, 172, 182, 192, 202, 213, 223, 233, 244, 254,
              264, 274, 284, 294]
    jan1 = date(year, 1, 1).toordinal()
    ps = periods("beps_d", date(year, 1, 1), date(year, 12, 31))
    assert [p.start.toordinal() - jan1 + 1 for p in ps] == firsts
    assert [p.end.toordinal() - jan1 + 1 for p in ps] == [b - 1 for b in firsts[1:]] + [last]
    assert [p.label for p in ps][:2] == [f"{year}-beps001", f"{year}-beps002"]
    cut = periods("beps_d", date(year, 3, 1), date(year, 5, 5))  # a run from March to May 5
    assert (cut[0].start, cut[0].end.toordinal() - jan1 + 1) == (date(year, 3, 1), 110)
    assert cut[-1].end == date(year, 5, 5) and len(cut) == 3
    guide = periods("beps_d_guide", date(year, 1, 1), date(year, 12, 31))
    assert (guide[0].start.toordinal() - jan1 + 1, guide[0].days) == (101, 10)
    assert (guide[-1].start.toordinal() - jan1 + 1, guide[-1].days) == (294, 11)
    if year == 2011:  # the guide's calendar meaning, in a non-leap year
        assert (guide[0].start, guide[-1].end) == (date(2011, 4, 11), date(2011, 10, 31))


def test_pentads_months_and_ndays():
    pen = periods("pentad", date(2012, 2, 1), date(2012, 2, 29))
    assert [p.days for p in pen] == [5, 5, 5, 5, 5, 4]
    assert len(periods("month", date(2012, 1, 1), date(2012, 12, 31))) == 12
    eight = periods("8day", date(2012, 1, 1), date(2012, 12, 31))
    assert len(eight) == 46 and eight[-1].start == date(2012, 12, 26) and eight[-1].days == 6
    assert periods("8day", date(2013, 1, 1), date(2013, 12, 31))[-1].days == 5
    with pytest.raises(ValueError, match="unknown period kind"):
        periods("fortnight", date(2012, 1, 1), date(2012, 2, 1))


def brute(values, weights, days, lo, hi, reducer):
    out, out_day = [], []
    for j in range(values.shape[1]):
        sel = [i for i in range(values.shape[0]) if lo <= days[i, j] <= hi
               and np.isfinite(values[i, j]) and weights[i, j] > 0]
        if not sel:
            out.append(np.nan)
            out_day.append(np.nan)
            continue
        if reducer == "max":
            i = max(sel, key=lambda i: values[i, j])
            out.append(values[i, j])
            out_day.append(days[i, j])
        elif reducer == "qa_best":
            i = max(sel, key=lambda i: (weights[i, j], values[i, j]))
            out.append(values[i, j])
            out_day.append(days[i, j])
        elif reducer == "mean":
            ww = np.array([weights[i, j] for i in sel])
            out.append(np.sum(ww * [values[i, j] for i in sel]) / ww.sum())
            out_day.append(np.sum(ww * [days[i, j] for i in sel]) / ww.sum())
        else:
            out.append(np.median([values[i, j] for i in sel]))
            srt = sorted(sel, key=lambda i: values[i, j])
            c = len(srt)
            out_day.append((days[srt[(c - 1) // 2], j] + days[srt[c // 2], j]) / 2)
    return np.array(out), np.array(out_day)


@pytest.mark.parametrize("reducer", ["max", "mean", "median", "qa_best"])
def test_reducers_equal_brute_force(reducer):
    rng = np.random.default_rng(5)
    t, n = 12, 60
    values = rng.uniform(0, 6, (t, n))
    values[rng.random((t, n)) < 0.15] = np.nan
    weights = rng.choice([0.0, 0.5, 1.0], (t, n))
    days = np.sort(rng.integers(0, 40, (t, n)), axis=0).astype(float)
    bounds = [(0, 9), (10, 19), (20, 29), (30, 39)]
    out, out_day, _count = composite_kernel(values, weights, days, bounds, reducer)
    for k, (lo, hi) in enumerate(bounds):
        want, want_day = brute(values, weights, days, lo, hi, reducer)
        np.testing.assert_allclose(out[k], want, equal_nan=True)
        np.testing.assert_allclose(out_day[k], want_day, equal_nan=True)


def test_composite_day_and_dataset_wrapper():
    times = pd.to_datetime(["2012-01-03", "2012-01-08", "2012-01-12", "2012-01-25"])
    vals = np.array([[1.0, 5.0], [3.0, 2.0], [7.0, np.nan], [4.0, 4.0]])[:, :, None]
    da = xr.DataArray(vals, dims=("time", "y", "x"), coords={"time": times}, name="lai")
    ds = composite(da, "dekad", "max")
    assert list(ds.period_label.values) == ["2012-01-d1", "2012-01-d2", "2012-01-d3"]
    np.testing.assert_array_equal(ds.lai.values[:, :, 0], [[3, 5], [7, np.nan], [4, 4]])
    days = ds.composite_day.values[:, :, 0].astype("datetime64[D]").astype(str)
    assert days[0].tolist() == ["2012-01-08", "2012-01-03"]
    assert days[1, 0] == "2012-01-12" and days[2, 1] == "2012-01-25"
    np.testing.assert_array_equal(ds.n_obs.values[:, :, 0], [[2, 2], [1, 0], [1, 1]])


def test_acquisition_days_roll_over_the_year_end():
    times = pd.to_datetime(["2012-12-18", "2013-01-01"])
    stack = xr.DataArray(np.zeros((2, 1, 2)), dims=("time", "y", "x"), coords={"time": times})
    doy = xr.DataArray(np.array([[[363, 2]], [[3, 10]]]), dims=("time", "y", "x"),
                       coords={"time": times})
    acq = acquisition_days(stack, doy)
    got = (np.datetime64("1970-01-01") + acq.values.astype("int64").astype("timedelta64[D]"))
    assert got[0, 0].astype(str).tolist() == ["2012-12-28", "2013-01-02"]
    assert got[1, 0].astype(str).tolist() == ["2013-01-03", "2013-01-10"]


def _vi(name):
    path = SAMPLE_DIR / name
    if not path.exists():
        pytest.skip("sample data missing")
    nd, cd = "1 km 16 days NDVI", "1 km 16 days composite day of the year"
    ds = open_granule(path, [nd, cd], chunks=600).isel(y=slice(0, 300), x=slice(900, 1200))
    dec = decode(ds)
    t = np.datetime64(ds.attrs["start_date"], "ns")
    return (dec[nd].expand_dims(time=[t]).rename("ndvi"),
            dec[cd].expand_dims(time=[t]).rename("doy"))


def test_terra_aqua_interleaved_by_acquisition_date():
    names = sorted(p.name for p in SAMPLE_DIR.glob("M[OY]D13A2.A2025*.hdf"))
    if not names:
        pytest.skip("sample data missing")
    pairs = [_vi(n) for n in names[::-1]]  # deliberately in the wrong file order
    terra = [p for n, p in zip(names[::-1], pairs, strict=True) if n.startswith("MOD")]
    aqua = [p for n, p in zip(names[::-1], pairs, strict=True) if n.startswith("MYD")]
    ndvi = interleave(*[p[0] for p in terra], *[p[0] for p in aqua])
    doy = interleave(*[p[1] for p in terra], *[p[1] for p in aqua])
    t = ndvi.time.values
    assert np.all(np.diff(t) > np.timedelta64(0))
    # Terra 001, 017, … and Aqua 009, 025, … (to 073 in the sample) interleave 8 days apart
    assert np.all(np.diff(t)[:10] == np.timedelta64(8, "D"))
    assert np.all(np.diff(t)[10:] == np.timedelta64(16, "D"))
    ds = composite(ndvi, "month", "max", acq_days=acquisition_days(ndvi, doy))
    # brute force for January 2025 from the per-pixel composite days
    acq = acquisition_days(ndvi, doy).values
    jan = (acq >= (np.datetime64("2025-01-01") - np.datetime64("1970-01-01")).astype(int)) & \
          (acq <= (np.datetime64("2025-01-31") - np.datetime64("1970-01-01")).astype(int))
    vals = np.where(jan & np.isfinite(ndvi.values), ndvi.values, -np.inf).max(axis=0)
    vals = np.where(np.isfinite(vals), vals, np.nan)
    np.testing.assert_allclose(ds.ndvi.values[0], vals, equal_nan=True)
    assert np.isfinite(vals).sum() > 1000
