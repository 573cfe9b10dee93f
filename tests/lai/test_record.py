"""The record's building blocks: relations applied in a chain toward the reference sensor
(relations written here by hand, in the shape of ``fit_relation``'s), the pick of each period
by priority, the grid and period-scheme checks."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import xarray as xr

from modisoft.errors import RecordError
from modisoft.grids import Grid
from modisoft.lai.record import (
    Join,
    Segment,
    assemble,
    check_period_scheme,
    check_same_grid,
    default_priority,
    to_reference,
)

GRID = Grid.from_crs("EPSG:3035", (1000.0, 0.0, 4000000.0, 0.0, -1000.0, 3000000.0), (3, 4))
COVER = np.array([[1, 1, 2, 2], [1, 2, 2, 1], [2, 1, 1, 2]], "float64")


def stack(years: range, seed: int) -> xr.DataArray:
    starts = np.array([f"{y}-{m:02d}-01" for y in years for m in (1, 2)], "datetime64[ns]")
    ends = ((starts.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1).astype(
        "datetime64[ns]")
    labels = np.array([f"{y}-{m:02d}-m1" for y in years for m in (1, 2)], object)
    v = np.random.default_rng(seed).uniform(0.5, 3.0, (starts.size, *GRID.shape))
    return xr.DataArray(v.astype("float32"), dims=("time", "y", "x"),
                        coords={**GRID.xarray_coords(), "time": starts,
                                "period_end": ("time", ends), "period_label": ("time", labels)})


def relation(a: dict, b: dict, src: str, dst: str) -> xr.Dataset:
    """A relation by hand: target = a + b·source per cover type."""
    codes = sorted(a)
    return xr.Dataset({"a": ("cover", [a[c] for c in codes]), "b": ("cover", [b[c] for c in codes]),
                       "n": ("cover", [100, 100]), "r2": ("cover", [1.0, 1.0]),
                       "rmse": ("cover", [0.0, 0.0]), "bias": ("cover", [0.0, 0.0])},
                      coords={"cover": np.asarray(codes, "float64")},
                      attrs={"form": "linear", "source_sensor": src, "target_sensor": dst})


def by_cover(x: np.ndarray, coef: dict) -> np.ndarray:
    return np.select([c == COVER for c in coef], [coef[c] for c in coef])[None] * \
        np.ones_like(x)


SEGS = [Segment("AVHRR", stack(range(1998, 2003), 1)),
        Segment("MODIS", stack(range(2001, 2009), 2)),
        Segment("VIIRS", stack(range(2007, 2011), 3))]
R1 = relation({1: -0.5, 2: -0.3}, {1: 1.25, 2: 1.1}, "AVHRR", "MODIS")
R2 = relation({1: -0.2, 2: -0.4}, {1: 0.95, 2: 0.9}, "VIIRS", "MODIS")
OVER = (date(2001, 1, 1), date(2002, 12, 31))


def test_each_segment_goes_to_the_reference_scale_through_its_joins():
    joins = [Join("AVHRR-MODIS", "AVHRR", "MODIS", OVER, R1),
             Join("MODIS-VIIRS", "VIIRS", "MODIS", OVER, R2)]
    out = to_reference(SEGS, joins, "MODIS", COVER)
    x = SEGS[0].values.values
    a, b = by_cover(x, {1: -0.5, 2: -0.3}), by_cover(x, {1: 1.25, 2: 1.1})
    np.testing.assert_allclose(out["AVHRR"].values, a + b * x, rtol=1e-5)
    np.testing.assert_array_equal(out["MODIS"].values, SEGS[1].values.values)
    x = SEGS[2].values.values
    a, b = by_cover(x, {1: -0.2, 2: -0.4}), by_cover(x, {1: 0.95, 2: 0.9})
    np.testing.assert_allclose(out["VIIRS"].values, a + b * x, rtol=1e-5)


def test_a_chain_toward_a_later_reference_applies_both_joins_in_turn():
    """Reference VIIRS: AVHRR → MODIS (R1) then MODIS → VIIRS (the inverse line of R2)."""
    inv = relation({1: 0.2 / 0.95, 2: 0.4 / 0.9}, {1: 1 / 0.95, 2: 1 / 0.9}, "MODIS", "VIIRS")
    joins = [Join("AVHRR-MODIS", "AVHRR", "MODIS", OVER, R1),
             Join("MODIS-VIIRS", "MODIS", "VIIRS", OVER, inv)]
    out = to_reference(SEGS, joins, "VIIRS", COVER)
    x = SEGS[0].values.values
    m = by_cover(x, {1: -0.5, 2: -0.3}) + by_cover(x, {1: 1.25, 2: 1.1}) * x
    want = by_cover(x, {1: 0.2 / 0.95, 2: 0.4 / 0.9}) + by_cover(x, {1: 1 / 0.95,
                                                                     2: 1 / 0.9}) * m
    np.testing.assert_allclose(out["AVHRR"].values, want, rtol=1e-5)
    np.testing.assert_array_equal(out["VIIRS"].values, SEGS[2].values.values)


def test_a_join_left_uncorrected_keeps_the_source_scale():
    joins = [Join("AVHRR-MODIS", "AVHRR", "MODIS", OVER, R1),
             Join("MODIS-VIIRS", "VIIRS", "MODIS", OVER, R2, applied=False)]
    out = to_reference(SEGS, joins, "MODIS", COVER)
    np.testing.assert_array_equal(out["VIIRS"].values, SEGS[2].values.values)


def test_each_period_comes_from_the_first_sensor_of_the_priority_that_has_it():
    series = {s.sensor: s.values for s in SEGS}
    assert default_priority(SEGS, "MODIS") == ["MODIS", "VIIRS", "AVHRR"]
    rec = assemble(series, ["MODIS", "VIIRS", "AVHRR"])
    years = rec["time"].values.astype("datetime64[Y]").astype(int) + 1970
    want = ["AVHRR" if y < 2001 else "MODIS" if y <= 2008 else "VIIRS" for y in years]
    assert list(rec["sensor"].values) == want and list(years[::2]) == list(range(1998, 2011))
    np.testing.assert_array_equal(rec.sel(time="2007-01-01").values,
                                  series["MODIS"].sel(time="2007-01-01").values)
    rec = assemble(series, ["VIIRS", "AVHRR", "MODIS"])  # another order, other picks
    years = rec["time"].values.astype("datetime64[Y]").astype(int) + 1970
    assert [s for s, y in zip(rec["sensor"].values, years, strict=True) if y == 2007] == \
        ["VIIRS", "VIIRS"]
    assert [s for s, y in zip(rec["sensor"].values, years, strict=True) if y == 2001] == \
        ["AVHRR", "AVHRR"]
    assert list(rec["period_label"].values[:2]) == ["1998-01-m1", "1998-02-m1"]


def test_grids_that_differ_are_named_both():
    other = GRID[1:, :]
    assert check_same_grid([("a", GRID), ("b", GRID)]) is GRID
    with pytest.raises(RecordError, match=r"b is on Grid\(.*\(2, 4\).*but a is on .*\(3, 4\)"):
        check_same_grid([("a", GRID), ("b", other)])


def test_the_period_scheme_is_checked_by_label_and_days():
    s = SEGS[0].values
    check_period_scheme("month", s["time"].values, s["period_end"].values,
                        s["period_label"].values, "seg")
    with pytest.raises(RecordError, match=r"seg: period 1998-01-m1 .* is not a 'dekad' period"):
        check_period_scheme("dekad", s["time"].values, s["period_end"].values,
                            s["period_label"].values, "seg")
    ends = s["period_end"].values.copy()
    ends[3] = ends[3] - np.timedelta64(1, "D")
    with pytest.raises(RecordError, match=r"period 1999-02-m1 \(1999-02-01 to 1999-02-27\) "
                       r"is not a 'month' period \(1999-02-01 to 1999-02-28\)"):
        check_period_scheme("month", s["time"].values, ends, s["period_label"].values, "seg")
    # BEPS_D's first period starts on a run's first day, not on 1 January
    t = np.array(["2012-02-01", "2012-04-20"], "datetime64[D]")
    e = np.array(["2012-04-19", "2012-04-29"], "datetime64[D]")
    check_period_scheme("beps_d", t, e, ["2012-beps001", "2012-beps002"], "seg")
