"""``modisoft lai`` commands through click's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from click.testing import CliRunner
from conftest import sample

from modisoft.cli import main


def test_curves_lists_sources():
    r = CliRunner().invoke(main, ["lai", "curves"])
    assert r.exit_code == 0, r.output
    assert r.output.count("source:") == 14 and "NOT Chen et al." in r.output


def test_product_command_writes_stack(tmp_path):
    p = sample("MCD15A2.A2012001.h17v03.005.2012017211237.hdf")
    out = tmp_path / "lai.nc"
    r = CliRunner().invoke(main, ["lai", "product", str(p), "--out", str(out)])
    assert r.exit_code == 0, r.output
    ds = xr.open_dataset(out)
    assert set(ds.data_vars) >= {"lai", "lai_class", "qa_weight", "qa_good"}
    assert ds.lai.dtype == np.float32 and ds.sizes["time"] == 1


def test_validate_and_calibrate(tmp_path):
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.2, 5, (4, 20, 20))
    cover = np.full((20, 20), 6, "uint8")  # grass
    idx = 15 - 14 * np.exp(-0.5 * ref * 0.9) + rng.normal(0, 0.1, ref.shape)
    dims = ("time", "y", "x")
    xr.Dataset({"lai": (dims, ref)}).to_netcdf(tmp_path / "ref.nc")
    xr.Dataset({"lai": (dims, ref + 0.2)}).to_netcdf(tmp_path / "ret.nc")
    xr.Dataset({"SR": (dims, idx)}).to_netcdf(tmp_path / "idx.nc")
    xr.Dataset({"cover": (("y", "x"), cover)}).to_netcdf(tmp_path / "cov.nc")
    png = tmp_path / "v.png"
    r = CliRunner().invoke(
        main,
        [
            "lai",
            "validate",
            str(tmp_path / "ret.nc"),
            str(tmp_path / "ref.nc"),
            "--cover",
            str(tmp_path / "cov.nc"),
            "--plot",
            str(png),
        ],
    )
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    assert abs(st["all"]["bias"] - 0.2) < 1e-9 and st["grass"]["n"] == 1600
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = CliRunner().invoke(
        main,
        [
            "lai",
            "calibrate",
            "--index",
            str(tmp_path / "idx.nc"),
            "--reference",
            str(tmp_path / "ref.nc"),
            "--cover",
            str(tmp_path / "cov.nc"),
            "--out",
            str(tmp_path / "c.toml"),
        ],
    )
    assert r.exit_code == 0, r.output
    from modisoft.lai import load_curves

    (c,) = load_curves(tmp_path / "c.toml")
    assert c.cover_type == "grass" and abs(c.params["c"] - 0.5) < 0.03
    assert {"n", "r2", "rmse", "bias"} <= set(c.extra)


def test_avhrr_command(tmp_path):
    rng = np.random.default_rng(1)
    sr = rng.uniform(2, 10, (30, 5, 6))
    lai = 0.3 + 0.4 * sr
    lai[20:] = np.nan  # AVHRR-only period
    t = np.array(np.arange(30), dtype="timedelta64[D]") + np.datetime64("2000-01-01")
    xr.Dataset(
        {"sr_avhrr": (("time", "y", "x"), sr), "lai_modis": (("time", "y", "x"), lai)},
        coords={"time": t},
    ).to_netcdf(tmp_path / "s.nc")
    r = CliRunner().invoke(
        main,
        [
            "lai",
            "avhrr",
            str(tmp_path / "s.nc"),
            "--overlap",
            "2000-01-01:2000-01-20",
            "--out",
            str(tmp_path / "o.nc"),
        ],
    )
    assert r.exit_code == 0, r.output
    o = xr.open_dataset(tmp_path / "o.nc")
    np.testing.assert_allclose(o.lai.values[25], 0.3 + 0.4 * sr[25], atol=1e-4)
    assert (o.n.values == 20).all()
