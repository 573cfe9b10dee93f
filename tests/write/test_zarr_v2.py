"""Zarr v2 stores (``zarr_format=2``): their files read as raw JSON, reopened with xarray, and
opened by Debian 12's GDAL 3.6 (no Zarr v3 support) as the independent reader.

GDAL 3.6 opens a 3-D array one index of its first dim at a time (``ZARR:"s.zarr":/lai:0``;
``ZARR:"s.zarr":/lai`` is refused with "Indices of extra dimensions must be specified"), and a
2-D array as ``ZARR:"s.zarr":/lai``.  Without GDAL the GDAL tests skip, except in CI
(``CI=true``), where they fail.
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
from write.test_common import DEKADS, GRIDS, SHAPE, make_lai, proj4

from modisoft.write import (
    OutputError,
    create_zarr,
    finalize_zarr,
    write_zarr,
    write_zarr_region,
    zarr_status,
)

GDALINFO = shutil.which("gdalinfo")
GDAL_TRANSLATE = shutil.which("gdal_translate")
LABELS = ["2012-04-21/30", "mai 1–10", "été"]  # text with non-ASCII characters


def needs_gdal() -> None:
    """Skip without GDAL's tools, but fail in CI, where they must be installed."""
    if GDALINFO is None or GDAL_TRANSLATE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("GDAL's gdalinfo/gdal_translate are missing in CI (apt: gdal-bin)")
        pytest.skip("GDAL command-line tools (gdal-bin) are the oracle of this test")


def gdal(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=True)


def gdal_values(target: str, tmp_path: Path) -> np.ndarray:
    """The values as GDAL 3.6 decodes them: ``gdal_translate -of ENVI`` (raw little-endian
    float32, so that no Python raster library decodes anything), shaped by ``gdalinfo``."""
    nx, ny = json.loads(gdal(GDALINFO, "-json", target).stdout)["size"]
    raw = tmp_path / f"g{abs(hash(target))}.raw"
    gdal(GDAL_TRANSLATE, "-q", "-of", "ENVI", target, str(raw))
    return np.fromfile(raw, dtype="<f4").reshape(ny, nx)


def with_labels(lai: xr.DataArray) -> xr.DataArray:
    """``period_label`` (as the run makes it, variable-length strings) and another text
    coordinate ``label`` that every writer keeps as a variable."""
    text = np.array(LABELS, dtype=object)
    return lai.assign_coords(period_label=("time", text), label=("time", text.copy()))


def period_labels(ds: xr.Dataset) -> list[str]:
    """``period_label`` as stored: a coordinate, or the ``period_labels`` attribute of
    ``time`` (a list, or a JSON list as text) as the CF writers keep it."""
    if "period_label" in ds.coords:
        return [str(v) for v in ds["period_label"].values]
    labels = ds["time"].attrs["period_labels"]
    return [str(v) for v in (json.loads(labels) if isinstance(labels, str) else labels)]


def root_attrs(path: Path) -> tuple[dict, dict]:
    """The root attributes from ``.zattrs`` and from the consolidated ``.zmetadata``."""
    own = json.loads((path / ".zattrs").read_text())
    consolidated = json.loads((path / ".zmetadata").read_text())["metadata"][".zattrs"]
    return own, consolidated


def test_zarr_v2_store_has_v2_files_consolidated_metadata_and_same_values(tmp_path):
    lai = with_labels(make_lai("china_albers"))
    path = write_zarr(lai, tmp_path / "lai.zarr", chunks={"y": 16, "x": 32}, zarr_format=2)
    assert zarr_status(path) == "complete"
    # the files of format 2 (read as JSON, not through zarr), none of format 3
    assert json.loads((path / ".zgroup").read_text()) == {"zarr_format": 2}
    assert not list(path.rglob("zarr.json"))
    meta = json.loads((path / ".zmetadata").read_text())
    assert meta["zarr_consolidated_format"] == 1
    zarray = json.loads((path / "lai" / ".zarray").read_text())
    assert meta["metadata"]["lai/.zarray"] == zarray
    assert zarray["zarr_format"] == 2 and zarray["dtype"] == "<f4"
    assert zarray["shape"] == [3, *SHAPE] and zarray["chunks"] == [1, 16, 32]
    assert zarray["compressor"]["id"] == "blosc" and zarray["compressor"]["cname"] == "zstd"
    assert zarray["fill_value"] == "NaN"
    own, consolidated = root_attrs(path)
    assert own["modisoft_status"] == consolidated["modisoft_status"] == "complete"
    # no variable-length strings, which GDAL 3.6 cannot read ("unsupported dtype |O")
    dtypes = {p.parent.name: json.loads(p.read_text())["dtype"] for p in path.glob("*/.zarray")}
    assert "|O" not in dtypes.values(), dtypes
    assert dtypes["label"].startswith("<U")
    # xarray, consolidated (as a v2 reader opens it)
    ds = xr.open_zarr(path, consolidated=True)
    assert np.array_equal(ds["lai"].values, lai.values, equal_nan=True)
    assert list(ds["time"].values.astype("datetime64[D]")) == [np.datetime64(d) for d in DEKADS]
    assert [str(v) for v in ds["label"].values] == LABELS
    assert period_labels(ds) == LABELS
    if "time_bnds" in ds.variables:  # the last day of each period, as CF bounds
        ends = ds["time_bnds"].values[:, 1].astype("datetime64[D]") - 1
    else:
        ends = ds["period_end"].values.astype("datetime64[D]")
    assert list(ends) == [np.datetime64(d) + 9 for d in DEKADS]
    assert ds["lai"].attrs["grid_mapping"] == "spatial_ref"
    assert "crs_wkt" in ds["spatial_ref"].attrs


@pytest.mark.gdal
def test_gdal_3_6_opens_every_period_of_a_v2_store_with_the_same_values(tmp_path):
    needs_gdal()
    lai = with_labels(make_lai("china_albers"))
    path = write_zarr(lai, tmp_path / "lai.zarr", chunks={"y": 16, "x": 32}, zarr_format=2)
    listing = gdal(GDALINFO, str(path))
    assert "ERROR" not in listing.stderr, listing.stderr
    # the array is listed (as /lai, or per time index as /lai:0 … when it is the only 3-D one)
    assert f'_NAME=ZARR:"{path}":/lai' in listing.stdout
    subdatasets = [f'ZARR:"{path}":/lai:{t}' for t in range(len(DEKADS))]
    tr = GRIDS["china_albers"][1]
    for t, name in enumerate(subdatasets):
        info = json.loads(gdal(GDALINFO, "-json", name).stdout)
        assert info["size"] == [SHAPE[1], SHAPE[0]]
        assert len(info["bands"]) == 1 and info["bands"][0]["type"] == "Float32"
        # GDAL derives the geotransform from the x/y centre coordinates
        np.testing.assert_allclose(info["geoTransform"], [tr.c, tr.a, tr.b, tr.f, tr.d, tr.e],
                                   rtol=0, atol=1e-6)
        # and the CRS from GDAL's own _CRS attribute (its Zarr driver does not read CF)
        assert proj4(info["coordinateSystem"]["wkt"]) == proj4(GRIDS["china_albers"][0])
        got = gdal_values(name, tmp_path)
        assert np.array_equal(got, lai.values[t], equal_nan=True)
        assert np.isnan(got).any()  # the NaN fill survives, not turned into a number
    # one pixel by GDAL's own lookup: row 7, column 11 of the last period
    value = gdal("gdallocationinfo", "-valonly", subdatasets[-1], "11", "7").stdout.strip()
    want = lai.values[-1, 7, 11]
    assert (value == "nan" and np.isnan(want)) or float(value) == pytest.approx(want, rel=1e-6)


@pytest.mark.gdal
def test_gdal_3_6_opens_a_2d_v2_store_as_one_raster(tmp_path):
    needs_gdal()
    lai = make_lai("laea_europe", times=None)
    path = write_zarr(lai, tmp_path / "lai.zarr", chunks={"y": 16, "x": 16}, zarr_format=2)
    target = f'ZARR:"{path}":/lai'
    assert json.loads(gdal(GDALINFO, "-json", target).stdout)["size"] == [SHAPE[1], SHAPE[0]]
    assert np.array_equal(gdal_values(target, tmp_path), lai.values, equal_nan=True)


def test_zarr_v2_region_writes_keep_the_format_and_the_consolidated_status(tmp_path):
    lai = with_labels(make_lai("china_albers"))
    path = create_zarr(lai, tmp_path / "p.zarr", chunks={"y": 16, "x": 25}, zarr_format=2)
    assert zarr_status(path) == "incomplete"
    assert root_attrs(path)[1]["modisoft_status"] == "incomplete"
    for t in (2, 0, 1):
        for r0 in (32, 0, 16):
            write_zarr_region(lai.isel(time=[t], y=slice(r0, r0 + 16)), path)
    finalize_zarr(path)
    own, consolidated = root_attrs(path)
    assert own == consolidated and own["modisoft_status"] == "complete"
    # rewriting a period of a complete store: incomplete again, also for consolidated readers
    write_zarr_region(lai.isel(time=[1]), path)
    own, consolidated = root_attrs(path)
    assert own["modisoft_status"] == consolidated["modisoft_status"] == "incomplete"
    assert zarr_status(path) == "incomplete"
    finalize_zarr(path)
    assert not list(path.rglob("zarr.json"))  # still format 2 throughout
    ds = xr.open_zarr(path, consolidated=True)
    assert ds.attrs["modisoft_status"] == "complete"
    assert np.array_equal(ds["lai"].values, lai.values, equal_nan=True)
    assert [str(v) for v in ds["label"].values] == LABELS


def test_create_zarr_keep_refuses_a_store_of_the_other_format(tmp_path):
    lai = make_lai()
    path = create_zarr(lai, tmp_path / "p.zarr", chunks={"y": 16, "x": 25}, zarr_format=2)
    write_zarr_region(lai.isel(time=[0]), path)
    # resume: the same format keeps what was written
    create_zarr(lai, path, chunks={"y": 16, "x": 25}, if_exists="keep", zarr_format=2)
    assert np.array_equal(xr.open_zarr(path)["lai"][0].values, lai[0].values, equal_nan=True)
    with pytest.raises(OutputError, match="Zarr v2, the run wants v3"):
        create_zarr(lai, path, chunks={"y": 16, "x": 25}, if_exists="keep")
    create_zarr(lai, path, chunks={"y": 16, "x": 25}, if_exists="overwrite")
    assert (path / "zarr.json").is_file() and not (path / ".zgroup").exists()


@pytest.mark.parametrize("bad", [1, 4, "2", True, None])
def test_zarr_format_other_than_2_or_3_is_refused(tmp_path, bad):
    with pytest.raises(OutputError, match="zarr_format must be 2 or 3"):
        write_zarr(make_lai(), tmp_path / "a.zarr", zarr_format=bad)
    with pytest.raises(OutputError, match="zarr_format must be 2 or 3"):
        create_zarr(make_lai(), tmp_path / "b.zarr", zarr_format=bad)
    assert list(tmp_path.iterdir()) == []
