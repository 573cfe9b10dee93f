"""Zarr writer: reopened with xarray/zarr and rioxarray; regions, resume, atomicity, status."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
import zarr
from pyproj import CRS
from write.test_common import DEKADS, GRIDS, SHAPE, failing, make_lai, proj4

from modisoft.io.stack import open_stack
from modisoft.write import (
    OutputError,
    Provenance,
    create_zarr,
    finalize_zarr,
    write_zarr,
    write_zarr_region,
    zarr_status,
)


def _tree_bytes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[os.path.relpath(p, root)] = p.read_bytes()
    return out


@pytest.mark.parametrize("kind", sorted(GRIDS))
def test_zarr_reopens_with_same_values_crs_and_transform(tmp_path, kind):
    lai = make_lai(kind)
    prov = Provenance().add_granule("MCD15A2.A2012113.h17v03.005.2012122000000.hdf")
    path = write_zarr(lai, tmp_path / "lai.zarr", chunks={"y": 16, "x": 32}, provenance=prov)
    assert zarr_status(path) == "complete"
    # zarr itself: format 3, chunking (time, y, x), compressed
    group = zarr.open_group(str(path), mode="r")
    assert group.metadata.zarr_format == 3
    arr = group["lai"]
    assert arr.chunks == (1, 16, 32) and arr.shape == (3, *SHAPE)
    assert [c.to_dict()["name"] for c in arr.compressors] == ["blosc"]
    assert np.array_equal(arr[:], lai.values, equal_nan=True)
    # xarray
    ds = xr.open_zarr(path)
    assert ds.attrs["Conventions"] == "CF-1.11, ACDD-1.3"
    assert ds.attrs["modisoft_status"] == "complete"
    assert ds["lai"].attrs["grid_mapping"] == "spatial_ref"
    assert np.array_equal(ds["lai"].values, lai.values, equal_nan=True)
    assert list(ds["time"].values.astype("datetime64[D]")) == [np.datetime64(d) for d in DEKADS]
    # the period's last day as CF bounds (upper bound: the next day), and back for modisoft
    assert ds["time"].attrs["bounds"] == "time_bnds"
    assert ds["time_bnds"].values[0, 1] == np.datetime64("2012-05-01")
    assert open_stack(path)["period_end"].values[0] == np.datetime64("2012-04-30")
    crs_def, tr = GRIDS[kind]
    assert proj4(CRS.from_wkt(ds["spatial_ref"].attrs["crs_wkt"])) == proj4(crs_def)
    gt = [float(v) for v in ds["spatial_ref"].attrs["GeoTransform"].split()]
    assert gt == [tr.c, tr.a, tr.b, tr.f, tr.d, tr.e]
    doc = json.loads(ds.attrs["modisoft_provenance"])
    assert doc["granules"][0]["granule_id"].startswith("MCD15A2.A2012113")
    assert doc["grid"]["geotransform"] == gt


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # inside rioxarray (affine)
@pytest.mark.parametrize("kind", ["sinusoidal", "china_albers"])
def test_zarr_crs_and_transform_through_rioxarray(tmp_path, kind):
    rioxarray = pytest.importorskip("rioxarray")
    assert rioxarray
    path = write_zarr(make_lai(kind), tmp_path / "lai.zarr")
    da_ = xr.open_zarr(path)["lai"]
    crs_def, tr = GRIDS[kind]
    assert proj4(da_.rio.crs.to_wkt()) == proj4(crs_def)
    got = da_.rio.transform()
    np.testing.assert_allclose(tuple(got)[:6], tuple(tr)[:6], rtol=0, atol=1e-6)
    assert da_.rio.shape == SHAPE


def test_zarr_2d_and_integer_nodata(tmp_path):
    lai = make_lai(times=None)
    dn = (lai * 10).fillna(255).astype("uint8").rename("lai_dn")
    dn.attrs["nodata"] = 255
    path = write_zarr(dn, tmp_path / "dn.zarr")
    ds = xr.open_zarr(path, mask_and_scale=False)
    assert ds["lai_dn"].dims == ("y", "x") and ds["lai_dn"].dtype == np.uint8
    assert ds["lai_dn"].attrs["_FillValue"] == 255
    assert np.array_equal(ds["lai_dn"].values, dn.values)


def test_zarr_region_writes_in_any_order_equal_one_shot_bytes(tmp_path):
    lai = make_lai("china_albers")
    whole = write_zarr(lai, tmp_path / "whole.zarr", chunks={"y": 16, "x": 25})
    path = create_zarr(lai, tmp_path / "parts.zarr", chunks={"y": 16, "x": 25})
    assert zarr_status(path) == "incomplete"
    assert xr.open_zarr(path).attrs["modisoft_status"] == "incomplete"
    # one time step, then row bands of the remaining steps, in reverse order
    assert write_zarr_region(lai.isel(time=[1]), path)["time"] == slice(1, 2)
    for t in (2, 0):
        for r0 in (32, 16, 0):
            region = write_zarr_region(lai.isel(time=[t], y=slice(r0, r0 + 16)), path)
            assert region["y"] == slice(r0, min(r0 + 16, SHAPE[0]))
            assert region["time"] == slice(t, t + 1)
    with pytest.raises(OutputError, match="'time' values are not a contiguous run"):
        write_zarr_region(lai.isel(time=[0, 2]), path)
    assert zarr_status(path) == "incomplete"
    finalize_zarr(path)
    assert zarr_status(path) == "complete"
    assert np.array_equal(xr.open_zarr(path)["lai"].values, lai.values, equal_nan=True)
    # byte-identical to the one-shot store (the property resume relies on)
    assert _tree_bytes(path) == _tree_bytes(whole)


def test_zarr_regions_write_their_own_lat_lon_byte_identical_to_one_shot(tmp_path):
    """``coords="per_region"``: the store is created without transforming the grid, each
    region writes the lat/lon of its window, and the finished store is the one-shot one."""
    lai = make_lai("china_albers")
    whole = write_zarr(lai, tmp_path / "whole.zarr", chunks={"y": 16, "x": 25})
    path = create_zarr(lai, tmp_path / "parts.zarr", chunks={"y": 16, "x": 25},
                       coords="per_region")
    group = zarr.open_group(str(path), mode="r")
    assert group.attrs["modisoft_coords"] == "per_region"
    assert not [k for k in os.listdir(path / "lat") if k != "zarr.json"]  # nothing yet
    for r0 in (32, 16, 0):  # row bands, in reverse order, all times at once
        write_zarr_region(lai.isel(y=slice(r0, r0 + 16)), path)
    lat = xr.open_zarr(path)["lat"].values  # every window, as pyproj gives it
    assert np.isfinite(lat).all() and lat.shape == SHAPE
    finalize_zarr(path)
    assert "modisoft_coords" not in zarr.open_group(str(path), mode="r").attrs
    assert _tree_bytes(path) == _tree_bytes(whole)
    with pytest.raises(OutputError, match="coords must be 'now' or 'per_region'"):
        create_zarr(lai, tmp_path / "bad.zarr", coords="later")


def test_zarr_rewrite_is_byte_identical(tmp_path):
    a = write_zarr(make_lai(), tmp_path / "a.zarr")
    b = write_zarr(make_lai(), tmp_path / "b.zarr")
    assert _tree_bytes(a) == _tree_bytes(b)


def test_zarr_region_must_be_chunk_aligned_and_on_the_grid(tmp_path):
    lai = make_lai()
    path = create_zarr(lai, tmp_path / "p.zarr", chunks={"y": 16, "x": 25})
    with pytest.raises(OutputError, match="not whole chunks of 16"):
        write_zarr_region(lai.isel(y=slice(8, 24)), path)
    shifted = lai.isel(time=[0]).assign_coords(x=lai.x + 500.0)
    with pytest.raises(OutputError, match="'x' values are not a contiguous run"):
        write_zarr_region(shifted, path)
    with pytest.raises(OutputError, match="create it first"):
        write_zarr_region(lai, tmp_path / "none.zarr")


def test_create_zarr_keep_resumes_and_refuses_a_different_layout(tmp_path):
    lai = make_lai()
    path = create_zarr(lai, tmp_path / "p.zarr", chunks={"y": 16, "x": 25})
    write_zarr_region(lai.isel(time=[0]), path)
    # a "restart": keep the store and what was written
    assert create_zarr(lai, path, chunks={"y": 16, "x": 25}, if_exists="keep") == path
    assert np.array_equal(xr.open_zarr(path)["lai"][0].values, lai[0].values, equal_nan=True)
    with pytest.raises(OutputError, match="chunks"):
        create_zarr(lai, path, chunks={"y": 8, "x": 25}, if_exists="keep")
    with pytest.raises(OutputError, match="exists"):
        create_zarr(lai, path)
    create_zarr(lai, path, chunks={"y": 16, "x": 25}, if_exists="overwrite")
    assert bool(np.isnan(xr.open_zarr(path)["lai"][0].values).all())


def test_zarr_interrupted_write_leaves_no_store(tmp_path):
    lai = make_lai()
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_zarr(failing(lai, at_block=4), tmp_path / "lai.zarr")
    assert list(tmp_path.iterdir()) == []
    assert zarr_status(tmp_path / "lai.zarr") == "missing"


def test_zarr_interrupted_overwrite_keeps_the_old_complete_store(tmp_path):
    old = make_lai(seed=1)
    path = write_zarr(old, tmp_path / "lai.zarr")
    with pytest.raises(RuntimeError):
        write_zarr(failing(make_lai(seed=2), at_block=3), path, overwrite=True)
    assert zarr_status(path) == "complete"
    assert np.array_equal(xr.open_zarr(path)["lai"].values, old.values, equal_nan=True)
    assert [p.name for p in tmp_path.iterdir()] == ["lai.zarr"]


def test_zarr_interrupted_region_write_is_detectably_incomplete(tmp_path):
    lai = make_lai()
    path = create_zarr(lai, tmp_path / "p.zarr", chunks={"y": 16, "x": 25})
    for t in range(3):
        write_zarr_region(lai.isel(time=[t]), path)
    finalize_zarr(path)
    with pytest.raises(RuntimeError):  # a rerun dies half way through a period
        write_zarr_region(failing(lai.isel(time=[1]), at_block=2), path)
    assert zarr_status(path) == "incomplete"


def test_zarr_rejects_ungeoreferenced_input(tmp_path):
    bare = xr.DataArray(da.zeros((4, 5)), dims=("y", "x"), name="lai")
    with pytest.raises(OutputError, match="grid-mapping coordinate"):
        write_zarr(bare, tmp_path / "x.zarr")
    with pytest.raises(OutputError, match="exists"):
        write_zarr(make_lai(), write_zarr(make_lai(), tmp_path / "y.zarr"))
    with pytest.raises(OutputError, match="not a Zarr store"):
        (tmp_path / "f.zarr").write_text("x")
        zarr_status(tmp_path / "f.zarr")
