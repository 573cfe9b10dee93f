"""``[output] zarr_format``: a run with ``zarr_format = 2`` writes Zarr v2 stores that Debian
12's GDAL 3.6 (no Zarr v3) opens, with the values of the independent nearest + max-composite
computation of ``pipeline.test_run``; a value other than 2 or 3 is a ``ConfigError``.

Without GDAL's tools the GDAL test skips, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pipeline.test_run import independent_expectation, quiet, write_config
from write.test_zarr_v2 import period_labels

from modisoft.pipeline import ConfigError, load_config, run

GDALINFO = shutil.which("gdalinfo")
GDAL_TRANSLATE = shutil.which("gdal_translate")


def with_zarr_format(cfg: Path, value: str) -> Path:
    """The small run's config with ``zarr_format = <value>`` (TOML text) in ``[output]``."""
    text = cfg.read_text()
    assert "\nchunk = 16\n" in text
    cfg.write_text(text.replace("\nchunk = 16\n", f"\nchunk = 16\nzarr_format = {value}\n"))
    return cfg


def gdal_period(store: Path, index: int, tmp_path: Path) -> np.ndarray:
    """Period ``index`` of ``lai`` as GDAL decodes it (``gdal_translate -of ENVI``: raw
    little-endian float32), shaped by ``gdalinfo``."""
    target = f'ZARR:"{store}":/lai:{index}'
    info = subprocess.run([GDALINFO, "-json", target], capture_output=True, text=True,
                          check=True)
    assert "ERROR" not in info.stderr, info.stderr
    nx, ny = json.loads(info.stdout)["size"]
    raw = tmp_path / f"lai_{index}.raw"
    subprocess.run([GDAL_TRANSLATE, "-q", "-of", "ENVI", target, str(raw)], check=True,
                   capture_output=True)
    return np.fromfile(raw, dtype="<f4").reshape(ny, nx)


@pytest.mark.gdal
def test_a_run_with_zarr_format_2_writes_a_store_gdal_3_6_reads(tmp_path):
    if GDALINFO is None or GDAL_TRANSLATE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("GDAL's gdalinfo/gdal_translate are missing in CI (apt: gdal-bin)")
        pytest.skip("GDAL command-line tools (gdal-bin) are the oracle of this test")
    cfg_path = with_zarr_format(write_config(tmp_path, formats='["zarr"]'), "2")
    cfg = load_config(cfg_path)
    assert cfg.output.zarr_format == 2
    summary = run(cfg, progress=False, echo=quiet)
    assert summary.failures == []
    store = tmp_path / "out" / "lai.zarr"
    # a v2 store (read as files, not through zarr), consolidated, complete in both copies
    assert json.loads((store / ".zgroup").read_text()) == {"zarr_format": 2}
    assert not list(store.rglob("zarr.json"))
    meta = json.loads((store / ".zmetadata").read_text())["metadata"]
    assert meta[".zattrs"]["modisoft_status"] == "complete"
    assert json.loads((store / ".zattrs").read_text())["modisoft_status"] == "complete"
    assert json.loads((store / "lai" / ".zarray").read_text())["zarr_format"] == 2
    dtypes = {k: v["dtype"] for k, v in meta.items() if k.endswith("/.zarray")}
    assert "|O" not in dtypes.values(), dtypes  # no variable-length strings (GDAL 3.6)
    # the period labels and start dates come back (xarray, consolidated, as a v2 reader)
    ds = xr.open_zarr(store, consolidated=True)
    labels = period_labels(ds)
    assert len(labels) == ds.sizes["time"] == 12  # calendar dekads of 2012-01 .. 2012-04
    starts = ds["time"].values.astype("datetime64[D]")
    assert str(starts[0]) == "2012-01-01" and str(starts[-1]) == "2012-04-21"
    # GDAL 3.6 reads every period with the independently computed values
    listing = subprocess.run([GDALINFO, str(store)], capture_output=True, text=True,
                             check=True)
    assert "ERROR" not in listing.stderr, listing.stderr
    expect, want_labels = independent_expectation(cfg_path)
    assert np.isfinite(expect).sum() > 5000
    for i, label in enumerate(labels):
        got = gdal_period(store, i, tmp_path)
        assert got.shape == (40, 60)
        if label in want_labels:
            np.testing.assert_allclose(got, expect[want_labels.index(label)], rtol=0,
                                       atol=1e-6, equal_nan=True)
        else:  # a period without a granule
            assert np.isnan(got).all()
    # a rerun resumes on the v2 store (create_zarr keep) and leaves it v2 and complete
    run(load_config(cfg_path), progress=False, echo=quiet)
    assert not list(store.rglob("zarr.json"))
    assert json.loads((store / ".zattrs").read_text())["modisoft_status"] == "complete"
    np.testing.assert_array_equal(gdal_period(store, 0, tmp_path),
                                  ds["lai"].isel(time=0).values)


def test_zarr_format_defaults_to_3(tmp_path):
    assert load_config(write_config(tmp_path, formats='["zarr"]')).output.zarr_format == 3
    cfg = load_config(with_zarr_format(write_config(tmp_path, formats='["zarr"]'), "3"))
    assert cfg.output.zarr_format == 3


@pytest.mark.parametrize(("value", "shown"), [("4", "4"), ("0", "0"), ("-2", "-2")])
def test_zarr_format_other_than_2_or_3_is_a_config_error(tmp_path, value, shown):
    cfg = with_zarr_format(write_config(tmp_path, formats='["zarr"]'), value)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    msg = str(err.value)
    assert f"[output] zarr_format {shown}" in msg and "2 or 3" in msg, msg
    assert "\n" not in msg.strip()


@pytest.mark.parametrize("value", ['"2"', "2.0", "true"])
def test_zarr_format_that_is_not_an_integer_is_a_config_error(tmp_path, value):
    cfg = with_zarr_format(write_config(tmp_path, formats='["zarr"]'), value)
    with pytest.raises(ConfigError, match=r"\[output\] zarr_format: need an integer"):
        load_config(cfg)
