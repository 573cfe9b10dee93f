"""A run's outputs as the field's tools see them: the demo's NetCDF through the IOOS compliance
checker and CDO, its Zarr against the NetCDF, its STAC catalog through odc-stac; an FPAR run
named FPAR everywhere; config values that would write outside the output folder refused before
any work."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import sample
from pipeline.test_run import TILES, quiet, write_config
from write.test_cf import checker_failures, tool

from modisoft.pipeline import load_config, run

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("pipeline/test_conventions")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's own config (sample_tiles/demo.toml, with its [metadata] table) run into a
    temporary folder."""
    tmp = tmp_path_factory.mktemp("demo")
    text = (TILES / "demo.toml").read_text()
    text = text.replace('paths = ["."]', f'paths = ["{TILES}"]')
    text = text.replace('dir = "../demo_output"', f'dir = "{tmp / "out"}"')
    text = re.sub(r"workers = \d+", "workers = 0", text)
    cfg = tmp / "demo.toml"
    cfg.write_text(text)
    summary = run(load_config(cfg), progress=False, echo=quiet)
    assert summary.exit_code == 0
    return tmp / "out", summary


def test_demo_netcdf_has_zero_cf_and_acdd_failures(demo):
    out, summary = demo
    fails = checker_failures(out / "lai.nc", ["cf:1.11", "acdd:1.3"])
    assert fails == {"cf:1.11": [], "acdd:1.3": []}
    assert "metadata:" not in summary.report()  # the demo's [metadata] gives every key


def test_demo_zarr_carries_the_netcdf_variables_and_attributes(demo):
    out, _ = demo
    nc, zs = xr.open_dataset(out / "lai.nc"), xr.open_zarr(out / "lai.zarr")
    assert sorted(nc.variables) == sorted(zs.variables)
    for v in nc.variables:
        assert nc[v].attrs.keys() == zs[v].attrs.keys(), v
    zs.attrs.pop("modisoft_status")
    assert nc.attrs.keys() == zs.attrs.keys()
    assert nc.attrs["title"] == zs.attrs["title"]
    assert np.array_equal(nc["lai"].values, zs["lai"].values, equal_nan=True)


def test_demo_netcdf_in_cdo_shows_the_grid_and_the_periods_without_a_warning(demo):
    cdo = tool("cdo")
    out, _ = demo
    res = subprocess.run([cdo, "sinfon", str(out / "lai.nc")], capture_output=True, text=True,
                         check=True)
    text = res.stdout + res.stderr
    assert "Warning" not in text, text
    assert "points=216000 (600x360)" in text and "lambert_azimuthal_equal_area" in text
    assert "time : 3 steps" in text and "Bounds = true" in text
    # BEPS_D's day table cut to the run: days 1-110, 111-120, 121 (2012 is a leap year)
    assert re.search(r"2012-01-01 00:00:00\s+2012-04-20 00:00:00\s+2012-04-30", text)


def test_demo_stac_catalog_loads_in_odc_stac_as_the_zarr(demo):
    pystac = pytest.importorskip("pystac")
    odc_stac = pytest.importorskip("odc.stac")
    from odc.geo.geobox import GeoBox
    from pystac.validation import validate_dict

    out, _ = demo
    for doc in (out / "stac").rglob("*.json"):  # STAC's core schemas (pystac ships them)
        if doc.name != "provenance.json":
            validate_dict(json.loads(doc.read_text()), extensions=[])
    col = pystac.Collection.from_file(str(out / "stac" / "collection.json"))
    assert col.license == "other" and "LP DAAC" in col.description  # free text, not SPDX
    items = list(col.get_items(recursive=True))
    zs = xr.open_zarr(out / "lai.zarr")
    assert len(items) == zs.sizes["time"]
    with rasterio.open(out / "cog" / "lai_20120101.tif") as src:
        box = GeoBox((src.height, src.width), src.transform, src.crs.to_wkt())
    ds = odc_stac.load(sorted(items, key=lambda i: i.datetime), bands=["lai"], geobox=box)
    got = ds["lai"].values.astype("float32")
    got[got == ds["lai"].attrs.get("nodata", np.nan)] = np.nan
    assert np.array_equal(got, zs["lai"].values, equal_nan=True)


def test_a_run_without_metadata_lists_what_its_outputs_lack(tmp_path):
    summary = run(load_config(write_config(tmp_path, formats='["zarr", "netcdf"]')),
                  progress=False, echo=quiet)
    line = next(x for x in summary.report().splitlines() if x.startswith("metadata:"))
    assert "institution, creator_name" in line and "[metadata]" in line
    with xr.open_dataset(tmp_path / "out" / "lai.nc") as ds:
        assert "institution" not in ds.attrs and "creator_name" not in ds.attrs  # no filler
        assert ds.attrs["title"].startswith("leaf area index (one-sided) (LAI), MCD15A2")


def test_an_fpar_run_is_called_fpar_in_every_format(tmp_path):
    """The real MCD15A2 granules of the shared samples (sample_tiles/ keeps only the LAI
    layer), the two April dates (in January the QA rule leaves little of northern Europe)."""
    cfg = write_config(tmp_path, formats='["zarr", "netcdf", "cog"]')
    text = cfg.read_text().replace('product = "MCD15A2"',
                                   'product = "MCD15A2"\nlayer = "Fpar_1km"')
    text = text.replace(str(TILES), str(sample("MCD15A2.A2012001.h17v03.005.2012017211237.hdf")
                                        .parent)).replace('start = "2012-01-01"',
                                                          'start = "2012-04-06"')
    cfg.write_text(text)
    summary = run(load_config(cfg), progress=False, echo=quiet)
    assert summary.exit_code == 0
    out = tmp_path / "out"
    std = "fraction_of_surface_downwelling_photosynthetic_radiative_flux_absorbed_by_vegetation"
    zs = xr.open_zarr(out / "fpar.zarr")
    assert "lai" not in zs and zs["fpar"].attrs["standard_name"] == std
    assert zs["fpar"].attrs["units"] == "1"
    assert 0.05 < float(np.nanmax(zs["fpar"])) <= 1.0  # a fraction, not LAI
    with xr.open_dataset(out / "fpar.nc") as nc:
        assert "lai" not in nc and nc["fpar"].attrs["standard_name"] == std
    tifs = sorted((out / "cog").glob("*.tif"))
    assert tifs and all(t.name.startswith("fpar_") for t in tifs)
    with rasterio.open(tifs[0]) as src:
        assert src.descriptions[0].startswith("fraction of photosynthetically active")
        assert src.units[0] == "1"
    item = json.loads(next((out / "stac").rglob("fpar_*.json")).read_text())
    assert "fpar" in item["assets"] and "lai" not in item["assets"]


@pytest.mark.parametrize(("key", "value"), [("name", "../escaped"), ("name", "/tmp/abs"),
                                            ("beps_stem", "/tmp/abs"),
                                            ("beps_stem", "../../escaped"),
                                            ("name", "a..b")])
def test_a_name_that_is_a_path_fails_before_any_work(tmp_path, key, value):
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace("chunk = 16", f'chunk = 16\n{key} = "{value}"'))
    res = subprocess.run([sys.executable, "-m", "modisoft.cli", "run", str(cfg)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"[output] {key} {value!r}" in lines[0], res.stderr
    assert "not a path" in lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped").exists()


def test_beps_output_of_fpar_is_refused_before_any_work(tmp_path):
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace('product = "MCD15A2"',
                                           'product = "MCD15A2"\nlayer = "Fpar_1km"'))
    res = subprocess.run([sys.executable, "-m", "modisoft.cli", "run", str(cfg)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert "BEPS reads only leaf area index" in res.stderr and "fpar" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
