"""The continuity check at a record's joins, against numpy on the same windows: the means
exactly, the percentiles to one histogram bin (``np.quantile``, inverted CDF)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from modisoft.lai.continuity import BIN_WIDTH, continuity_check, continuity_table

YEARS = range(2005, 2011)


def record(jump: float) -> tuple[xr.DataArray, np.ndarray]:
    """Monthly (Jan, Apr, Jul, Oct) LAI 2005-2010 of 20 × 30 pixels in two cover types; MODIS
    to 2007, VIIRS from 2008 with ``jump`` added to cover 2 only."""
    rng = np.random.default_rng(7)
    t = np.array([f"{y}-{m:02d}-01" for y in YEARS for m in (1, 4, 7, 10)], "datetime64[ns]")
    cover = np.where(np.arange(600).reshape(20, 30) % 3 == 0, 1.0, 2.0)
    cover[0, :5] = np.nan  # no cover type
    v = rng.gamma(2.0, 0.8, (t.size, 20, 30))
    v[:, 3, 3] = np.nan
    years = t.astype("datetime64[Y]").astype(int) + 1970
    sensor = np.where(years < 2008, "MODIS", "VIIRS").astype(object)
    v[years >= 2008] += np.where(cover == 2, jump, 0.0)
    da = xr.DataArray(v.astype("float32"), dims=("time", "y", "x"),
                      coords={"time": t, "sensor": ("time", sensor)})
    return da, cover


def test_the_windows_are_the_years_either_side_of_the_first_period_of_the_later_sensor():
    da, cover = record(0.5)
    rows = continuity_check(da, [("MODIS-VIIRS", "VIIRS")], cover=cover, threshold=0.25)
    assert [r["cover"] for r in rows] == [1, 2, "all"]
    years = da["time"].values.astype("datetime64[Y]").astype(int) + 1970
    v = da.values
    for r in rows:
        strata = np.isfinite(cover) if r["cover"] == "all" else cover == r["cover"]
        for side, year in (("before", 2007), ("after", 2008)):
            x = v[years == year][:, strata]
            x = x[np.isfinite(x)]
            w = r[side]
            assert (r["boundary"], w["periods"], w["n"]) == ("2008-01-01", 4, x.size)
            assert (w["first"], w["last"]) == (f"{year}-01-01", f"{year}-10-01")
            assert w["mean"] == pytest.approx(float(x.astype("float64").mean()), rel=1e-9)
            for q in (10, 25, 50, 75, 90):
                want = np.quantile(x, q / 100, method="inverted_cdf")
                assert abs(w[f"p{q}"] - want) <= BIN_WIDTH / 2 + 1e-6
        assert r["jump"] == pytest.approx(r["after"]["mean"] - r["before"]["mean"])
    by = {r["cover"]: r for r in rows}
    assert not by[1]["flag"] and by[2]["flag"] and by["all"]["flag"]
    assert by[2]["jump"] == pytest.approx(0.5, abs=0.15)


def test_without_a_jump_nothing_is_flagged_and_the_table_says_so():
    da, cover = record(0.0)
    rows = continuity_check(da, [("MODIS-VIIRS", "VIIRS")], cover=cover, threshold=0.25)
    assert not any(r["flag"] for r in rows)
    text = continuity_table(rows, 0.25)
    assert "FLAG" not in text.splitlines()[1] and "> 0.25 m2 m-2" in text
    assert len(text.splitlines()) == 1 + 3 + 1


def test_without_cover_one_row_and_a_sensor_never_taken_is_said():
    da, _ = record(1.0)
    rows = continuity_check(da, [("MODIS-VIIRS", "VIIRS"), ("AVHRR-MODIS", "AVHRR")],
                            threshold=0.25)
    assert [r["cover"] for r in rows] == ["all", "all"]
    assert rows[0]["flag"] and rows[0]["before"]["n"] == 4 * (600 - 1)
    assert rows[1]["boundary"] is None and "takes no period from AVHRR" in rows[1]["note"]
    assert "FLAG" in continuity_table(rows).splitlines()[1]
