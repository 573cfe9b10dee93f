"""smooth_blocks + write_dataset_blocks (the band-wise `modisoft smooth`): the same bytes as
the in-memory ``smooth(...).compute()`` written whole, for Zarr and NetCDF and any band height;
the command end to end; nothing under the output's name when it fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from modisoft.cli import main
from modisoft.errors import TimeSeriesError
from modisoft.grids.modis import modis_tile_grid
from modisoft.timeseries import SmoothBlocks, api, block_rows, smooth, smooth_blocks
from modisoft.write import OutputError, write_dataset, write_dataset_blocks

NY, NX = 23, 17


# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("timeseries/test_blocks")


@pytest.fixture(scope="module")
def stack() -> xr.Dataset:
    """46 dates of float32 LAI on a 23 × 17 corner of a 500 m tile: a seasonal curve, noise,
    cloud (weight 0), winter gaps and a corner of sea (NaN on every date)."""
    rng = np.random.default_rng(7)
    t = np.arange(46, dtype="float32")[:, None, None]
    yy, xx = np.mgrid[0:NY, 0:NX].astype("float32")
    lai = 0.3 + (1 + 4 * np.sin(xx / 5) ** 2) * np.exp(-(((t - 25) / 8) ** 2)) \
        + rng.normal(0, 0.3, (46, NY, NX)).astype("float32")
    lai = np.clip(lai, 0, 10).astype("float32")
    lai[((t < 6) | (t > 41)) & (rng.random(lai.shape) < 0.7)] = np.nan
    lai[:, (xx + yy) > 32] = np.nan  # sea: too few observations, counted in n_insufficient
    lai[:, 3, 4] = np.nan
    lai[:5, 3, 4] = 1.0  # 5 observations: below the default min_obs (10)
    w = np.where(rng.random(lai.shape) < 0.25, 0.0, 1.0).astype("float32")
    coords = modis_tile_grid(17, 3, "500m").xarray_coords()
    ds = xr.Dataset({"lai": (("time", "y", "x"), lai), "w": (("time", "y", "x"), w)},
                    coords={"time": pd.date_range("2012-01-01", periods=46, freq="8D"),
                            "y": coords["y"][:NY], "x": coords["x"][:NX],
                            "spatial_ref": coords["spatial_ref"]})
    ds["lai"].attrs["plausible_range"] = np.array([0, 10], "float32")
    return ds.chunk({"time": 1, "y": 8, "x": 8})


def _same_files(a_path, b_path) -> None:
    engine = "zarr" if str(a_path).endswith(".zarr") else "h5netcdf"
    with xr.open_dataset(a_path, engine=engine) as a, xr.open_dataset(b_path, engine=engine) as b:
        xr.testing.assert_identical(a.load(), b.load())
        assert set(a.variables) == set(b.variables)
        for v in a.variables:
            assert a[v].dtype == b[v].dtype, v
            assert a[v].values.tobytes() == b[v].values.tobytes(), v


@pytest.mark.parametrize(("rows", "ext"), [(3, "zarr"), (5, "zarr"), (NY, "zarr"), (5, "nc"),
                                           (8, "nc")])  # 5 and 8 leave a shorter last band
def test_bands_write_the_bytes_of_the_whole(stack, tmp_path, rows, ext, monkeypatch):
    whole = smooth(stack.lai, "whittaker", weights=stack.w).compute()
    assert 0 < int(whole.n_insufficient) < NY * NX
    write_dataset(whole, tmp_path / f"whole.{ext}")
    job = smooth_blocks(stack.lai, "whittaker", weights=stack.w, rows=rows)
    assert job.rows == rows and len(job) == -(-NY // rows)
    kernel, pixels = api._smooth_kernel, []

    def counted(y, *args, **kwargs):
        pixels.append(int(np.prod(y.shape[:-1])))
        return kernel(y, *args, **kwargs)

    monkeypatch.setattr(api, "_smooth_kernel", counted)
    write_dataset_blocks(job.template, job, tmp_path / f"bands.{ext}", rest=job.rest)
    assert sum(pixels) == NY * NX  # each pixel smoothed once: the whole is never computed
    _same_files(tmp_path / f"whole.{ext}", tmp_path / f"bands.{ext}")
    assert int(job.rest()["n_insufficient"]) == int(whole.n_insufficient)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp


@pytest.mark.parametrize("method", ["lacc", "savgol"])
def test_daily_output_of_the_other_smoothers_in_bands(stack, tmp_path, method):
    from modisoft.timeseries import daily_dates

    sub = stack.isel(y=slice(0, 7), x=slice(0, 6))
    kw = {"weights": sub.w, "at": daily_dates(sub.lai), "min_obs": 8}
    write_dataset(smooth(sub.lai, method, **kw).compute(), tmp_path / "whole.zarr")
    job = smooth_blocks(sub.lai, method, rows=3, **kw)
    write_dataset_blocks(job.template, job, tmp_path / "bands.zarr", rest=job.rest)
    _same_files(tmp_path / "whole.zarr", tmp_path / "bands.zarr")


def test_block_rows_follow_the_memory_budget(stack):
    tile = xr.Dataset(coords={"time": np.arange(46), "y": np.arange(2400),
                              "x": np.arange(2400)})
    per_pixel = 41 * 46 + 8 * 46 + 32
    assert block_rows(tile) == 256 * 2**20 // (2400 * per_pixel)
    assert block_rows(tile, 366) < block_rows(tile)  # daily output: thinner bands
    assert block_rows(tile, budget=1) == 1
    assert block_rows(stack.lai, budget=2**40) == NY
    job = smooth_blocks(stack.lai, weights=stack.w)
    assert isinstance(job, SmoothBlocks) and job.rows == NY
    assert job.template.lai.chunks is not None  # lazy, never computed whole
    with pytest.raises(TimeSeriesError, match="rows 0"):
        smooth_blocks(stack.lai, rows=0)
    with pytest.raises(TimeSeriesError, match="iterate over all bands"):
        job.rest()


def test_a_failing_band_leaves_no_output(stack, tmp_path):
    job = smooth_blocks(stack.lai, weights=stack.w, rows=8)

    def bands():
        it = iter(job)
        yield next(it)
        raise TimeSeriesError("band 2 failed")

    for ext in ("zarr", "nc"):
        with pytest.raises(TimeSeriesError, match="band 2 failed"):
            write_dataset_blocks(job.template, bands(), tmp_path / f"out.{ext}", rest=job.rest)
    assert list(tmp_path.iterdir()) == []


def test_a_band_off_the_chunks_is_refused(stack, tmp_path):
    job = smooth_blocks(stack.lai, weights=stack.w, rows=8)
    band = job.band(slice(3, 11))
    with pytest.raises(OutputError, match="does not start on a chunk"):
        write_dataset_blocks(job.template, [(slice(3, 11), band)], tmp_path / "out.zarr")
    assert list(tmp_path.iterdir()) == []


def test_cli_smooth_end_to_end(stack, tmp_path):
    src = tmp_path / "stack.zarr"
    stack.to_zarr(src)
    whole = smooth(stack.lai, "whittaker", weights=stack.w).compute()
    write_dataset(whole, tmp_path / "whole.nc")
    out = tmp_path / "smoothed.nc"
    res = CliRunner().invoke(main, ["smooth", str(src), "--var", "lai", "--weights", "w",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "smooth (" in res.output and "100%" in res.output  # the bands' progress bar
    assert f"{int(whole.n_insufficient)} left NaN" in res.output
    _same_files(tmp_path / "whole.nc", out)
    quiet = CliRunner().invoke(main, ["-q", "smooth", str(src), "--var", "lai", "--weights",
                                      "w", "--out", str(tmp_path / "q.zarr")])
    assert quiet.exit_code == 0 and "smooth (" not in quiet.output and "100%" not in quiet.output
    stack.to_netcdf(tmp_path / "stack.nc", engine="h5netcdf")  # read a band at a time
    res = CliRunner().invoke(main, ["-q", "smooth", str(tmp_path / "stack.nc"), "--var", "lai",
                                    "--weights", "w", "--out", str(tmp_path / "nc.nc")])
    assert res.exit_code == 0, res.output
    _same_files(tmp_path / "whole.nc", tmp_path / "nc.nc")
    bad = CliRunner().invoke(main, ["smooth", str(src), "--var", "nope", "--out",
                                    str(tmp_path / "bad.zarr")])
    assert bad.exit_code == 2 and "no variable 'nope'" in bad.output
    assert not (tmp_path / "bad.zarr").exists()


def test_cli_error_mid_run_leaves_no_output(stack, tmp_path, monkeypatch):
    src = tmp_path / "stack.zarr"
    stack.to_zarr(src)
    band = SmoothBlocks.band

    def failing(self, rows):
        if rows.start > 0:
            raise TimeSeriesError("the second band failed")
        return band(self, rows)

    monkeypatch.setattr(SmoothBlocks, "band", failing)
    monkeypatch.setattr("modisoft.timeseries.block_rows", lambda *a, **k: 8)
    for out in (tmp_path / "o.zarr", tmp_path / "o.nc"):
        res = CliRunner().invoke(main, ["smooth", str(src), "--var", "lai", "--out", str(out)])
        assert res.exit_code == 1 and "error: the second band failed" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.zarr"]
