"""A run's ``gap_days``: per output period and pixel, the days to the nearest good
observation, checked against an independent computation from the sample granules' dates
(``AYYYYDDD`` of the names) and their QA read with pyhdf (nearest source pixel, QA.md §2.3
good_lai), for the run's own periods (months) and BEPS_D's day table beside them.

Inputs are the real cropped MCD15A2 granules of ``sample_tiles/`` (h17v03 + h18v03, 16 dates
from 2012-01-01 to 2012-04-22)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pipeline.test_run import PIX, SINU, TILES, quiet, write_config
from pyhdf.SD import SD
from pyproj import Transformer

from modisoft.io.stack import open_stack
from modisoft.pipeline import load_config, run

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("pipeline/test_gap_days")


def good_by_date(cfg_path: Path) -> dict[date, np.ndarray]:
    """Per granule date, the output pixels whose nearest source pixel (pyproj + the tiles'
    corner coordinates, floor) is a good observation: LAI DN <= 100 and QA.md §2.3 good_lai
    (SCF_QC <= 1, cloud state 0, QC word not 255). Written out here without modisoft."""
    cfg = load_config(cfg_path)
    left, bottom, right, top = cfg.grid.bounds
    res = cfg.grid.resolution
    gx, gy = np.meshgrid(np.arange(left + res / 2, right, res),
                         np.arange(top - res / 2, bottom, -res))
    sx, sy = Transformer.from_crs("EPSG:3035", SINU, always_xy=True).transform(gx, gy)
    good: dict[date, np.ndarray] = {}
    for f in sorted(TILES.glob("MCD15A2.A2012*.hdf")):
        sd = SD(str(f))
        meta = sd.attributes()["StructMetadata.0"]
        ul = meta.split("UpperLeftPointMtrs=(")[1].split(")")[0].split(",")
        lai = sd.select("Lai_1km")[:].astype(int)
        qc = sd.select("FparLai_QC")[:].astype(int)
        sd.end()
        col = np.floor((sx - float(ul[0])) / PIX).astype(int)
        row = np.floor((float(ul[1]) - sy) / PIX).astype(int)
        inside = (row >= 0) & (row < lai.shape[0]) & (col >= 0) & (col < lai.shape[1])
        r, c = np.clip(row, 0, lai.shape[0] - 1), np.clip(col, 0, lai.shape[1] - 1)
        v, q = lai[r, c], qc[r, c]
        ok = inside & (v <= 100) & (q != 255) & ((q >> 5) <= 1) & (((q >> 3) & 3) == 0)
        day = date(2012, 1, 1) + timedelta(days=int(f.name.split(".")[1][5:8]) - 1)
        good[day] = good.get(day, np.zeros(ok.shape, bool)) | ok
    return good


def expected_gap(good: dict[date, np.ndarray], first: date, last: date) -> np.ndarray:
    """min over the good dates d of: 0 if first <= d <= last, else min(|d-first|, |d-last|);
    -1 (the fill) where a pixel has no good date."""
    shape = next(iter(good.values())).shape
    best = np.full(shape, np.inf)
    for d, ok in good.items():
        dist = 0 if first <= d <= last else min(abs((d - first).days), abs((d - last).days))
        best = np.where(ok, np.minimum(best, dist), best)
    return np.where(np.isinf(best), -1, best).astype(int)


@pytest.fixture(scope="module")
def month_run(tmp_path_factory):
    """The small run, smoothed (Whittaker) into calendar months, with BEPS output (so BEPS_D's
    day table is computed beside the months, into ``lai_beps.zarr``) and a NetCDF."""
    tmp = tmp_path_factory.mktemp("gap")
    cfg = write_config(tmp, smoother="whittaker", period="month",
                       formats='["zarr", "beps", "netcdf"]')
    summary = run(load_config(cfg), progress=False, echo=quiet)
    assert summary.failures == []
    return cfg, tmp / "out", good_by_date(cfg)


def raw_gap(store: Path) -> tuple[np.ndarray, xr.Dataset]:
    """``gap_days`` as stored (int16, no decoding of the fill value), and the store."""
    raw = xr.open_zarr(store, mask_and_scale=False)
    return raw["gap_days"].values, raw


def test_gap_days_of_the_months_equal_an_independent_computation(month_run):
    _cfg, out, good = month_run
    gap, raw = raw_gap(out / "lai.zarr")
    assert gap.dtype == np.int16 and raw["gap_days"].attrs["_FillValue"] == -1
    months = [(date(2012, m, 1), date(2012, m + 1, 1) - timedelta(days=1)) for m in (1, 2, 3, 4)]
    assert [str(t)[:10] for t in raw.time.values] == [str(a) for a, _ in months]
    for k, (first, last) in enumerate(months):
        expect = expected_gap(good, first, last)
        np.testing.assert_array_equal(gap[k], expect, err_msg=f"{first} .. {last}")
        # 0 exactly where the month holds a good observation
        held = np.any([ok for d, ok in good.items() if first <= d <= last], axis=0)
        assert np.array_equal(gap[k] == 0, held)
    assert (gap[0] > 0).sum() > 100 and (gap == 0).sum() > 1000  # winter gaps, spring data
    a = xr.open_zarr(out / "lai.zarr")
    assert a["gap_days"].attrs["units"] == "d"
    assert a["gap_days"].attrs["coverage_content_type"] == "qualityInformation"
    assert "gap_days" in a["lai"].attrs["ancillary_variables"].split()
    # a few pixels, printed: January's distance to the first good date of the pixel
    for y, x in np.argwhere(gap[0] > 0)[:: max(1, int((gap[0] > 0).sum()) // 3)][:3]:
        first_good = min(d for d, ok in good.items() if ok[y, x])
        assert gap[0, y, x] == (first_good - date(2012, 1, 31)).days
        print(f"pixel (y={y}, x={x}): first good {first_good}, January gap_days {gap[0, y, x]}")


def test_gap_days_of_the_beps_periods_equal_an_independent_computation(month_run):
    _cfg, out, good = month_run
    gap, raw = raw_gap(out / "lai_beps.zarr")
    # BEPS_D's day table over 2012-01-01 .. 2012-04-30 (a leap year): days 1-110, 111-120, 121
    jan1 = date(2012, 1, 1)
    table = [(jan1, jan1 + timedelta(days=109)), (jan1 + timedelta(days=110),
             jan1 + timedelta(days=119)), (jan1 + timedelta(days=120),) * 2]
    assert [str(t)[:10] for t in raw.time.values] == [str(a) for a, _ in table]
    for k, (first, last) in enumerate(table):
        np.testing.assert_array_equal(gap[k], expected_gap(good, first, last))


def test_gap_days_in_the_netcdf_are_the_zarr_ones(month_run):
    _cfg, out, _good = month_run
    nc = xr.open_dataset(out / "lai.nc", engine="h5netcdf", mask_and_scale=False)
    assert nc["gap_days"].dtype == np.int16 and nc["gap_days"].attrs["_FillValue"] == -1
    np.testing.assert_array_equal(nc["gap_days"].values, raw_gap(out / "lai.zarr")[0])
    decoded = open_stack(out / "lai.nc")["gap_days"]  # the fill decodes to NaN
    assert np.array_equal(np.isnan(decoded.values), nc["gap_days"].values == -1)
