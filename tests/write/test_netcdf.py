"""NetCDF-CF writer: reopened by xarray, by h5py (raw HDF5) and by GDAL's netCDF driver."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import xarray as xr
from pyproj import CRS
from write.test_common import (
    DEKADS,
    GRIDS,
    assert_gdal_georef,
    failing,
    gdal_read,
    make_lai,
    proj4,
    requires_gdal,
)

from modisoft.write import OutputError, Provenance, write_netcdf


def test_netcdf_reopens_with_xarray_and_h5py(tmp_path):
    lai = make_lai("china_albers")
    prov = Provenance().set_step("smoother", {"method": "whittaker", "lambda": 5})
    path = write_netcdf(lai, tmp_path / "lai.nc", provenance=prov)
    ds = xr.open_dataset(path, engine="h5netcdf")
    assert np.array_equal(ds["lai"].values, lai.values, equal_nan=True)
    assert ds["lai"].attrs["grid_mapping"] == "spatial_ref"
    assert list(ds["time"].values.astype("datetime64[D]")) == [np.datetime64(d) for d in DEKADS]
    crs_def, _ = GRIDS["china_albers"]
    assert proj4(CRS.from_wkt(ds["spatial_ref"].attrs["crs_wkt"])) == proj4(crs_def)
    assert ds.attrs["Conventions"] == "CF-1.11, ACDD-1.3"
    doc = json.loads(ds.attrs["modisoft_provenance"])
    assert doc["steps"]["smoother"] == {"method": "whittaker", "lambda": 5}
    ds.close()
    with h5py.File(path, "r") as f:  # the HDF5 layer, without xarray's decoding
        raw = f["lai"]
        assert raw.chunks == (1, 40, 50)
        assert raw.compression == "gzip" and raw.shuffle
        assert np.array_equal(raw[...], lai.values, equal_nan=True)
        assert f["time"].attrs["units"] == b"days since 1970-01-01"  # NC_CHAR (CF, NCO)
        assert list(f["time"][...]) == [(np.datetime64(d) - np.datetime64("1970-01-01")).astype(int)
                                        for d in DEKADS]  # fmt: skip


@pytest.mark.gdal
@requires_gdal
@pytest.mark.parametrize("kind", sorted(GRIDS))
def test_netcdf_gdal_sees_same_crs_transform_and_values(tmp_path, kind):
    lai = make_lai(kind)
    path = write_netcdf(lai, tmp_path / "lai.nc")
    target = f"NETCDF:{path}:lai"
    # GDAL derives the geotransform from the centre coordinates: equal up to float noise
    info = assert_gdal_georef(target, kind, exact=False)
    assert len(info["bands"]) == len(DEKADS)
    for band in (1, 3):
        got = gdal_read(target, tmp_path, "float32", band=band)
        assert np.array_equal(got, lai.values[band - 1], equal_nan=True)


def test_netcdf_2d_integer_with_nodata(tmp_path):
    lai = make_lai(times=None)
    dn = (lai * 10).fillna(255).astype("uint8").rename("dn")
    dn.attrs["nodata"] = 255
    path = write_netcdf(dn, tmp_path / "dn.nc")
    with h5py.File(path, "r") as f:
        assert f["dn"].dtype == np.uint8 and f["dn"].attrs["_FillValue"] == 255
        assert np.array_equal(f["dn"][...], dn.values)
    dn.attrs["nodata"] = 300
    with pytest.raises(OutputError, match="does not fit"):
        write_netcdf(dn, tmp_path / "bad.nc")


def test_netcdf_rewrite_is_byte_identical(tmp_path):
    a = write_netcdf(make_lai(), tmp_path / "a.nc")
    b = write_netcdf(make_lai(), tmp_path / "b.nc")
    assert a.read_bytes() == b.read_bytes()


def test_netcdf_interrupted_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "lai.nc"
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_netcdf(failing(make_lai(), at_block=3), path)
    assert list(tmp_path.iterdir()) == []
    write_netcdf(make_lai(seed=1), path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        write_netcdf(failing(make_lai(seed=2), at_block=3), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lai.nc"]
    with pytest.raises(OutputError, match="exists"):
        write_netcdf(make_lai(), path, overwrite=False)
