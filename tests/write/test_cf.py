"""CF-1.11 / ACDD-1.3 of the NetCDF and Zarr writers, judged by the field's own tools: the IOOS
compliance checker, CDO, NCO and netCDF's ncdump (Debian packages, installed by the README's
test command; skipped without them, except in CI), and pyproj for the coordinates."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer
from write.test_common import DEKADS, make_grid, make_lai

from modisoft.io.stack import open_stack
from modisoft.write import OutputError, Provenance, atomic_path, confined_to, write_netcdf
from modisoft.write.cf import creation_time
from modisoft.write.zarr_store import write_zarr

METADATA = {  # what a [metadata] table gives (tests/pipeline: the demo's own table)
    "title": "test LAI", "summary": "synthetic LAI for the writer tests", "keywords": "LAI",
    "id": "modisoft-test", "naming_authority": "org.example", "institution": "tests",
    "project": "modisoft", "creator_name": "tests", "creator_email": "t@example.org",
    "creator_url": "https://example.org", "publisher_name": "tests",
    "publisher_email": "t@example.org", "publisher_url": "https://example.org",
    "license": "CC0-1.0", "acknowledgement": "none", "comment": "synthetic",
    "processing_level": "L4",
}  # fmt: skip


def tool(name: str) -> str:
    """The path of a command-line oracle; skips without it (fails in CI)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} missing in CI: scripts/test.sh installs it")
        pytest.skip(f"{name} not installed (scripts/test.sh installs it as root)")
    return path


def checker_failures(path: Path, suites: list[str]) -> dict[str, list[str]]:
    """Per suite, the failing checks (of any priority) of the IOOS compliance checker."""
    cc = pytest.importorskip("compliance_checker.runner")
    cc.CheckSuite.load_all_available_checkers()
    out = path.with_suffix(".cc.json")
    cc.ComplianceChecker.run_checker(str(path), suites, 0, "lenient",
                                     output_filename=str(out), output_format="json")
    report = json.loads(out.read_text())
    fails = {}
    for suite in suites:  # CF: no failure of any priority; ACDD: none highly recommended or
        keys = ["high_priorities", "medium_priorities"]  # recommended
        keys += ["low_priorities"] if suite.startswith("cf") else []
        fails[suite] = [f"{c['name']}: {msgs}" for key in keys for c in report[suite][key]
                        if c["value"][0] != c["value"][1]
                        and (msgs := [m for m in c["msgs"] if not CHECKER_BUG.fullmatch(m)])]
    return fails


# compliance-checker 6.1's Appendix F table lists sinusoidal's one required parameter as a
# string, not a tuple, and so asks for each of its letters as an attribute; the attribute
# itself (longitude_of_projection_origin) is checked by the test instead
CHECKER_BUG = re.compile(r"\w is a required attribute for grid mapping sinusoidal")


def lai_nc(tmp_path: Path, kind: str = "china_albers", **meta: str) -> Path:
    prov = Provenance()
    prov.metadata = {**METADATA, **meta}
    lai = make_lai(kind)
    lai.attrs.update({"long_name": "leaf area index", "units": "m2 m-2",
                      "standard_name": "leaf_area_index", "cell_methods": "time: mean"})
    return write_netcdf(lai, tmp_path / "lai.nc", provenance=prov)


@pytest.mark.parametrize("kind", ["china_albers", "sinusoidal", "laea_europe"])
def test_netcdf_passes_the_cf_and_acdd_checkers(tmp_path, kind):
    path = lai_nc(tmp_path, kind)
    assert checker_failures(path, ["cf:1.11", "acdd:1.3"]) == {"cf:1.11": [], "acdd:1.3": []}
    with xr.open_dataset(path) as ds:
        assert ds["spatial_ref"].attrs["grid_mapping_name"] != "sinusoidal" or \
            ds["spatial_ref"].attrs["longitude_of_projection_origin"] == 0.0


def test_the_checkers_fail_a_file_missing_what_they_ask(tmp_path):
    """The check can fail: without a standard name and the discovery metadata it does."""
    path = lai_nc(tmp_path)
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds.attrs.pop("title")
    ds["lai"].attrs["standard_name"] = "leaf_area_indexx"
    ds.to_netcdf(tmp_path / "bad.nc", engine="h5netcdf")
    fails = checker_failures(tmp_path / "bad.nc", ["cf:1.11", "acdd:1.3"])
    assert any("leaf_area_indexx" in f for f in fails["cf:1.11"])
    assert any("title" in f for f in fails["acdd:1.3"])


def test_time_bounds_are_the_first_day_and_the_day_after_the_last(tmp_path):
    path = lai_nc(tmp_path)
    with xr.open_dataset(path) as ds:
        assert ds["time"].attrs["bounds"] == "time_bnds"
        bnds = ds["time_bnds"].values.astype("datetime64[D]")
    starts = np.array(DEKADS, dtype="datetime64[D]")
    assert (bnds[:, 0] == starts).all() and (bnds[:, 1] == starts + 10).all()  # 10-day periods
    back = open_stack(path)  # modisoft's own reader gives the periods back
    assert (back["period_end"].values.astype("datetime64[D]") == starts + 9).all()


def test_lat_lon_are_the_pyproj_coordinates_of_the_pixel_centres_and_corners(tmp_path):
    grid = make_grid("china_albers")
    with xr.open_dataset(lai_nc(tmp_path)) as ds:
        to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
        xx, yy = np.meshgrid(ds["x"].values, ds["y"].values)
        lon, lat = to_ll.transform(xx, yy)
        np.testing.assert_allclose(ds["lat"].values, lat, atol=1e-5)
        np.testing.assert_allclose(ds["lon"].values, lon, atol=1e-5)
        half = abs(grid.transform.a) / 2
        lo, la = to_ll.transform(xx[0, 0] + half, yy[0, 0] + half)  # upper right, vertex 3
        np.testing.assert_allclose(ds["lat_bnds"].values[0, 0, 2], la, atol=1e-5)
        np.testing.assert_allclose(ds["lon_bnds"].values[0, 0, 2], lo, atol=1e-5)
        assert ds.attrs["geospatial_lat_min"] == pytest.approx(float(lat.min()), abs=1e-5)
        assert ds.attrs["geospatial_lon_max"] == pytest.approx(float(lon.max()), abs=1e-5)


def test_zarr_carries_the_netcdf_variables_and_attributes(tmp_path):
    prov = Provenance()
    prov.metadata = dict(METADATA)
    lai = make_lai()
    lai.attrs.update({"units": "m2 m-2", "standard_name": "leaf_area_index"})
    nc = xr.open_dataset(write_netcdf(lai, tmp_path / "a.nc", provenance=prov))
    zs = xr.open_zarr(write_zarr(lai, tmp_path / "a.zarr", provenance=prov))
    assert sorted(nc.variables) == sorted(zs.variables)
    for v in nc.variables:
        assert nc[v].attrs.keys() == zs[v].attrs.keys(), v
        assert all(np.array_equal(np.asarray(nc[v].attrs[k]), np.asarray(zs[v].attrs[k]))
                   for k in nc[v].attrs), v
    zs.attrs.pop("modisoft_status")
    assert nc.attrs == zs.attrs


def test_creation_time_is_now_unless_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert creation_time() == "1970-01-01T00:00:00Z"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    got = datetime.strptime(creation_time(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - got).total_seconds()) < 5


def test_cdo_reads_the_netcdf_without_a_warning_and_agrees(tmp_path):
    cdo = tool("cdo")
    path = lai_nc(tmp_path)
    res = subprocess.run([cdo, "sinfon", str(path)], capture_output=True, text=True, check=True)
    out = res.stdout + res.stderr
    assert "Warning" not in out, out
    assert "points=2000 (50x40)" in out and "Bounds = true" in out
    assert all(str(d) in out for d in DEKADS)
    res = subprocess.run([cdo, "-s", "outputtab,date,value", "-fldmean", "-selname,lai",
                          str(path)], capture_output=True, text=True, check=True)
    assert "Warning" not in res.stderr, res.stderr
    got = [float(line.split()[1]) for line in res.stdout.splitlines()[1:]]
    with xr.open_dataset(path) as ds:  # equal-area grid: the area-weighted mean ≈ plain mean
        expect = np.nanmean(ds["lai"].values, axis=(1, 2))
    np.testing.assert_allclose(got, expect, rtol=2e-3)
    res = subprocess.run([cdo, "-s", "timmean", str(path), str(tmp_path / "tm.nc")],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "Warning" not in res.stderr, res.stderr


def test_nco_and_ncdump_read_the_netcdf(tmp_path):
    ncks, ncdump = tool("ncks"), tool("ncdump")
    path = lai_nc(tmp_path)
    res = subprocess.run([ncks, "-H", "-C", "-v", "time_bnds", str(path)], capture_output=True,
                         text=True, check=True)
    assert "WARNING" not in res.stderr, res.stderr
    assert "time_bnds=15451,15461," in res.stdout.replace(" ", "").replace("\n", "")  # 2012-04-21
    res = subprocess.run([ncdump, "-h", str(path)], capture_output=True, text=True, check=True)
    assert 'lai:standard_name = "leaf_area_index"' in res.stdout
    assert ':Conventions = "CF-1.11, ACDD-1.3"' in res.stdout


def test_a_file_outside_the_confined_folder_is_refused(tmp_path):
    inside = tmp_path / "out"
    inside.mkdir()
    with confined_to(inside):
        with pytest.raises(OutputError, match="outside the output folder"), \
                atomic_path(inside / ".." / "escaped.nc"):
            pass
        with atomic_path(inside / "fine.nc") as tmp:
            tmp.write_text("x")
    assert (inside / "fine.nc").exists() and not (tmp_path / "escaped.nc").exists()
    link = inside / "link"
    link.symlink_to(tmp_path)
    with confined_to(inside), pytest.raises(OutputError, match="outside the output folder"):
        write_netcdf(make_lai(), link / "x.nc")


def test_an_integer_variable_with_a_fill_round_trips_from_zarr_to_netcdf(tmp_path):
    """A run's NetCDF is written from its Zarr store, which xarray opens with integers that
    have a fill value decoded to float and NaN: they go back as the integers and the fill
    (synthetic values), and the values' ancillary_variables name them."""
    lai = make_lai()
    days = np.where(np.isnan(lai.values), -1, np.round(lai.values * 10)).astype("int16")
    ds = lai.to_dataset().assign(gap_days=(lai.dims, days, {
        "nodata": -1, "units": "d", "coverage_content_type": "qualityInformation"}))
    write_zarr(ds, tmp_path / "s.zarr")
    opened = open_stack(tmp_path / "s.zarr")
    assert opened["gap_days"].dtype == np.float32  # decoded by xarray
    write_netcdf(opened, tmp_path / "s.nc")
    raw = xr.open_dataset(tmp_path / "s.nc", engine="h5netcdf", mask_and_scale=False)
    assert raw["gap_days"].dtype == np.int16 and raw["gap_days"].attrs["_FillValue"] == -1
    np.testing.assert_array_equal(raw["gap_days"].values, days)
    assert raw["lai"].attrs["ancillary_variables"] == "gap_days"
