"""Swaths: the real EUMETSAT AVHRR GAC L1C FDR cut-out, and a synthetic MODIS level-2 swath
(HDF-EOS2 with 5-km geolocation interpolated to 1 km)."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest
from conftest import sample

from modisoft import decode, open_granule
from modisoft.io import hdf5
from modisoft.io.swath import interpolate_tiepoints

GAC = "AVHRR-GAC_FDR_1C_N06_19810330T042358Z_19810330T060903Z_R_O_20200101T000000Z_0100.nc"


def test_gac_lat_lon_match_the_files_scaled_values():
    ds = open_granule(sample(GAC))
    with h5py.File(sample(GAC)) as f:
        lat_raw, lon_raw = f["latitude"][:], f["longitude"][:]
        assert f["latitude"].attrs["scale_factor"][0] == 0.001
    fill = -2147483648
    want_lat = np.where(lat_raw == fill, np.nan, lat_raw * 0.001)
    want_lon = np.where(lon_raw == fill, np.nan, lon_raw * 0.001)
    assert ds.lat.dims == ("y", "x") and ds.lat.shape == (11, 409)
    np.testing.assert_array_equal(ds.lat.values, want_lat)
    np.testing.assert_array_equal(ds.lon.values, want_lon)
    assert np.nanmax(np.abs(ds.lat.values)) <= 90 and np.nanmax(np.abs(ds.lon.values)) <= 180


def test_gac_reflectance_in_percent_and_fills_nan():
    dec = decode(open_granule(sample(GAC)))
    with h5py.File(sample(GAC)) as f:
        raw = f["reflectance_channel_1"][:]
        bt = f["brightness_temperature_channel_4"][:]
        assert f["reflectance_channel_1"].attrs["units"] == b"%"
    want = np.where(raw == -32767, np.nan, raw * 0.01).astype("float32")
    np.testing.assert_array_equal(dec.reflectance_channel_1.values, want)
    assert dec.reflectance_channel_1.attrs["units"] == "%"
    want_bt = np.where(bt == -32767, np.nan, bt * 0.01 + 273.15).astype("float32")
    np.testing.assert_array_equal(dec.brightness_temperature_channel_4.values, want_bt)
    finite = dec.brightness_temperature_channel_4.values[np.isfinite(want_bt)]
    assert finite.size > 0 and finite.min() > 150 and finite.max() < 350


def test_gac_scanline_time_flags_and_identity():
    ds = open_granule(sample(GAC))
    with h5py.File(sample(GAC)) as f:
        secs = f["acq_time"][:]
    want = np.array([np.datetime64(round(s * 1e6), "us") for s in secs])
    np.testing.assert_array_equal(ds.acq_time.values, want.astype(ds.acq_time.dtype))
    assert str(ds.acq_time.values[0])[:10] == "1981-03-30"
    assert ds.qual_flags.dims == ("y", "flag") and ds.flag.values[1] == "Fatal error flag"
    assert ds.attrs["product"] == "AVHRR_GAC_L1C_FDR" and ds.attrs["collection"] == "0100"
    assert ds.attrs["platform"] == "NOAA-6" and ds.attrs["start_date"] == "1981-03-30"
    assert ds.attrs["source_l1b_file"].startswith("NSS.GHRR.NA.D81089")


def test_gac_is_lazy_and_pickles(monkeypatch):
    calls = []
    real = hdf5.read_h5_block
    monkeypatch.setattr(hdf5, "read_h5_block", lambda p, k, s: calls.append(k) or real(p, k, s))
    ds = open_granule(sample(GAC), ["reflectance_channel_2"])
    assert [c for c in calls if c != "acq_time" and c != "num_flags"] == []
    arr = pickle.loads(pickle.dumps(ds.reflectance_channel_2.data))
    assert arr.compute().shape == (11, 409)
    assert "reflectance_channel_2" in calls


# --- synthetic MODIS level-2 swath ------------------------------------------------------------


def _truth(rows, cols):
    """A smooth analytic geolocation: latitude along track, longitude across (crossing 180°)."""
    r = np.asarray(rows, "float64")[:, None]
    c = np.asarray(cols, "float64")[None, :]
    lat = 30.0 - 0.009 * r + 0.0000 * c
    lon = 178.5 + 0.05 * c + 0.0 * r
    return lat + 0 * lon, (lon + 180.0) % 360.0 - 180.0


def _write_l2(path, ny=100, nx=60):
    """A synthetic MYD11_L2-like HDF-EOS2 swath (labelled synthetic: written from the HDF-EOS2
    swath layout — Dimension, DimensionMap offset 2 / increment 5, GeoField, DataField)."""
    from pyhdf.SD import SD, SDC

    gy, gx = (ny - 2 + 4) // 5, (nx - 2 + 4) // 5
    lat, lon = _truth(2 + 5 * np.arange(gy), 2 + 5 * np.arange(gx))
    struct = f"""GROUP=SwathStructure
	GROUP=SWATH_1
		SwathName="MOD_Swath_LST"
		GROUP=Dimension
			OBJECT=Dimension_1
				DimensionName="Along_swath_lines_1km"
				Size={ny}
			END_OBJECT=Dimension_1
			OBJECT=Dimension_2
				DimensionName="Cross_swath_pixels_1km"
				Size={nx}
			END_OBJECT=Dimension_2
			OBJECT=Dimension_3
				DimensionName="Along_swath_lines_5km"
				Size={gy}
			END_OBJECT=Dimension_3
			OBJECT=Dimension_4
				DimensionName="Cross_swath_pixels_5km"
				Size={gx}
			END_OBJECT=Dimension_4
		END_GROUP=Dimension
		GROUP=DimensionMap
			OBJECT=DimensionMap_1
				GeoDimension="Along_swath_lines_5km"
				DataDimension="Along_swath_lines_1km"
				Offset=2
				Increment=5
			END_OBJECT=DimensionMap_1
			OBJECT=DimensionMap_2
				GeoDimension="Cross_swath_pixels_5km"
				DataDimension="Cross_swath_pixels_1km"
				Offset=2
				Increment=5
			END_OBJECT=DimensionMap_2
		END_GROUP=DimensionMap
		GROUP=GeoField
			OBJECT=GeoField_1
				GeoFieldName="Latitude"
				DataType=DFNT_FLOAT32
				DimList=("Along_swath_lines_5km","Cross_swath_pixels_5km")
			END_OBJECT=GeoField_1
			OBJECT=GeoField_2
				GeoFieldName="Longitude"
				DataType=DFNT_FLOAT32
				DimList=("Along_swath_lines_5km","Cross_swath_pixels_5km")
			END_OBJECT=GeoField_2
		END_GROUP=GeoField
		GROUP=DataField
			OBJECT=DataField_1
				DataFieldName="LST"
				DataType=DFNT_UINT16
				DimList=("Along_swath_lines_1km","Cross_swath_pixels_1km")
			END_OBJECT=DataField_1
		END_GROUP=DataField
	END_GROUP=SWATH_1
END_GROUP=SwathStructure
GROUP=GridStructure
END_GROUP=GridStructure
END
"""
    lst = np.full((ny, nx), 15000, "uint16")
    lst[:3, :3] = 0
    sd = SD(str(path), SDC.WRITE | SDC.CREATE)
    sd.attr("StructMetadata.0").set(SDC.CHAR8, struct)
    for name, arr, typ in (
        ("Latitude", lat.astype("float32"), SDC.FLOAT32),
        ("Longitude", lon.astype("float32"), SDC.FLOAT32),
        ("LST", lst, SDC.UINT16),
    ):
        s = sd.create(name, typ, arr.shape)
        s[:] = arr
        if name == "LST":
            s.attr("_FillValue").set(SDC.UINT16, 0)
            s.attr("scale_factor").set(SDC.FLOAT64, 0.02)
            s.attr("add_offset").set(SDC.FLOAT64, 0.0)
            s.attr("valid_range").set(SDC.UINT16, [7500, 65535])
        s.endaccess()
    sd.end()
    return path


def test_modis_l2_swath_geolocation_interpolated_to_1km(tmp_path):
    path = _write_l2(tmp_path / "MYD11_L2.A2019305.1230.061.2019306084028.hdf")
    ds = open_granule(path, chunks=(40, 25))
    assert ds.LST.dims == ("y", "x") and ds.lat.shape == (100, 60)
    want_lat, want_lon = _truth(np.arange(100), np.arange(60))
    np.testing.assert_allclose(ds.lat.values, want_lat, atol=2e-3)
    dlon = (ds.lon.values - want_lon + 180) % 360 - 180  # crosses the antimeridian
    assert np.max(np.abs(dlon)) < 2e-3
    assert ds.lon.values.min() < -170 and ds.lon.values.max() > 170
    dec = decode(ds)
    assert np.isnan(dec.LST.values[0, 0]) and dec.LST.values[50, 50] == pytest.approx(300.0)
    assert ds.attrs["product"] == "MYD11_L2" and "tie points" in ds.attrs["geolocation"]


def test_tiepoint_kernel_exact_at_tie_points():
    lat = np.array([[10.0, 10.0], [11.0, 11.0]])
    lon = np.array([[20.0, 21.0], [20.0, 21.0]])
    la, lo = interpolate_tiepoints(lat, lon, np.array([2, 7]), np.array([2, 7]), (2, 5), (2, 5))
    np.testing.assert_allclose(la, lat, atol=1e-9)
    np.testing.assert_allclose(lo, lon, atol=1e-9)
    la, lo = interpolate_tiepoints(lat, lon, np.array([0, 12]), np.array([4]), (2, 5), (2, 5))
    assert la[0, 0] < 10 and la[1, 0] > 11  # extrapolated beyond the first/last tie points
