"""The client holds nothing proportional to the grid while it writes a run's outputs: every
array the run's own process computes from the store while writing the per-period files
(NetCDF, COG, BEPS, quicklooks) and the report is at most one window, with the window limits
made small here so that a window is a few rows of the small run's grid.  The files written so
are the ones a reader gets independently from the store (BEPS DN by the documented coding,
NetCDF and COG values), and a run killed between the period files resumes to the same
bytes (tests/pipeline/test_run.py)."""

from __future__ import annotations

import importlib
import json

import dask
import dask.array
import dask.base
import numpy as np
import pytest
import xarray as xr
from pipeline.test_run import quiet, write_config

from modisoft.pipeline import load_config, run

run_module = importlib.import_module("modisoft.pipeline.run")  # the module, not run()
ROWS, COLS, PERIODS = 40, 60, 3  # the small run: 60 x 40 pixels, chunk 16, 3 BEPS_D periods


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """The small run with every output, its window limits set to 4 rows; yields the output
    folder and the element counts of every array this process computed from dask while it
    wrote the outputs and the report."""
    import modisoft.plot
    import modisoft.report.windows
    import modisoft.write.beps_blocks

    monkeypatch.setattr(modisoft.plot, "WINDOW_BYTES", 8 * COLS * 4)
    monkeypatch.setattr(modisoft.report.windows, "BAND_BYTES", 8 * PERIODS * COLS * 4)
    monkeypatch.setattr(modisoft.write.beps_blocks, "WINDOW_BYTES", 4 * PERIODS * COLS * 4)
    sizes: list[int] = []
    active = [False]
    real = dask.base.compute

    def compute(*args, **kwargs):
        out = real(*args, **kwargs)
        if active[0]:
            for a in out if isinstance(out, tuple) else (out,):
                if isinstance(a, np.ndarray):
                    sizes.append(a.size)
        return out

    for mod in (dask, dask.base, dask.array):
        monkeypatch.setattr(mod, "compute", compute)

    def watched(fn):
        def inner(*args, **kwargs):
            active[0] = True
            try:
                return fn(*args, **kwargs)
            finally:
                active[0] = False
        return inner

    monkeypatch.setattr(run_module, "write_period_outputs",
                        watched(run_module.write_period_outputs))
    monkeypatch.setattr(run_module, "finish_run", watched(run_module.finish_run))
    cfg = write_config(tmp_path, smoother="whittaker", report=True)
    cfg.write_text(cfg.read_text().replace("report = true", "report = true\nquicklooks = true"))
    summary = run(load_config(cfg), progress=False, echo=quiet)
    assert summary.exit_code in (0, 3)
    return tmp_path / "out", sizes


def test_no_array_the_outputs_compute_is_larger_than_a_window(recorded):
    out, sizes = recorded
    grid = ROWS * COLS
    assert (out / "report.html").exists() and list((out / "quicklooks").glob("*.png"))
    assert len(sizes) > 50  # the writers did compute from the store, window by window
    # a chunk of 16 x 16 pixels (all periods, or the 4 corners of the lat/lon bounds) or a
    # band of 4 rows (all periods): never a period's whole grid
    assert max(sizes) <= max(max(PERIODS, 4) * 16 * 16, PERIODS * 4 * COLS) < grid


def test_the_windowed_files_equal_an_independent_read_of_the_store(recorded):
    import rasterio

    out, _ = recorded
    z = xr.open_zarr(out / "lai.zarr", consolidated=False)
    lai = z.lai.values
    assert lai.shape == (PERIODS, ROWS, COLS)
    np.testing.assert_array_equal(xr.open_dataset(out / "lai.nc", engine="h5netcdf").lai, lai)
    for k, path in enumerate(sorted((out / "cog").glob("*.tif"))):
        with rasterio.open(path) as src:
            np.testing.assert_array_equal(src.read(1), lai[k])
    # BEPS: DN = floor(10 LAI + 0.5) + 1 where simulated; 0 where any period lacks a value
    beps = out / "beps"
    missing = np.isnan(lai).any(axis=0)
    lc = np.fromfile(beps / "landcover.img", np.uint8).reshape(ROWS, COLS)
    assert np.array_equal(lc == 0, missing)
    doc = json.loads((beps / "beps.json").read_text())
    for k, f in enumerate(doc["files"]):
        dn = np.fromfile(beps / f["name"], np.uint8).reshape(ROWS, COLS)
        want = np.floor(10 * np.clip(np.nan_to_num(lai[k]), 0, 25.4) + 0.5) + 1
        np.testing.assert_array_equal(dn[~missing], want[~missing])
        assert (dn[missing] == 0).all()
