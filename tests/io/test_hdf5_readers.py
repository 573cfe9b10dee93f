"""Gridded AVHRR products — **synthetic files**, written here because the sample set has no real
one (MANIFEST.md).  Layouts come from the documentation cited in ``modisoft/products/avhrr.py``:

* NOAA CDR AVH09C1 / AVH13C1 / AVH15C1 netCDF4: variables and scales from Google Earth Engine's
  catalogue (``NOAA_CDR_AVHRR_SR_V5``, ``_NDVI_V5``, ``_LAI_FAPAR_V5``), QA bits from QA.md §4
  and GEE, 0.05° global grid 7200 × 3600 with 1-D ``latitude``/``longitude`` and ``time``;
  file names ``AVHRR-Land_v005_<product>_NOAA-<nn>_<yyyymmdd>_c<yyyymmddHHMMSS>.nc``;
  fill -9999 (PRODUCTS.md §11, not verified).
* LTDR HDF4: an HDF-EOS2 geographic grid named ``Grid`` with the same SDS names (public code
  reading ``HDF4_EOS:EOS_GRID:"…":Grid:SREFL_CH1``), names ``AVH09C1.AYYYYDDD.N14.004.….hdf``.
* GIMMS NDVI3g.v1 ``.nc4``: ``ndvi`` (÷ 10000; fills -32768, -3000) and ``percentile``
  (flag = floor(percentile / 2000)) on 1/12° ``lat``/``lon`` (R package ``gimms``).

Each fixture writes known physical values, fills and QA words; the tests read them back.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import write_hdfeos2

import modisoft
from modisoft import Grid, decode, open_granule
from modisoft.errors import MetadataError, UnknownProductWarning
from modisoft.io._build import RegistryMismatchWarning

WIN = (slice(800, 804), slice(5000, 5006))  # a 4 x 6 window of known values (China-ish)
GWIN = (slice(400, 404), slice(3500, 3506))  # the same on the 1/12° GIMMS grid


def _write_nc(
    path,
    variables,
    lat,
    lon,
    ntime=1,
    time_units="days since 1981-01-01",
    time_value=11688.0,
    latname="latitude",
    lonname="longitude",
    win=WIN,
):
    """netCDF4-style HDF5 (dimension scales) with mostly-unallocated chunked variables."""
    with h5py.File(path, "w") as f:
        f.attrs["Conventions"] = "CF-1.6"
        t = f.create_dataset("time", data=np.full(ntime, time_value))
        t.attrs["units"] = time_units
        t.make_scale("time")
        la = f.create_dataset(latname, data=lat.astype("float32"))
        la.make_scale(latname)
        la.attrs["units"] = "degrees_north"
        lo = f.create_dataset(lonname, data=lon.astype("float32"))
        lo.make_scale(lonname)
        lo.attrs["units"] = "degrees_east"
        for name, spec in variables.items():
            fill = spec.get("fill", -9999)
            d = f.create_dataset(
                name,
                shape=(ntime, len(lat), len(lon)),
                dtype=spec["dtype"],
                chunks=(1, 200, 400),
                fillvalue=fill,
                compression="gzip",
            )
            for key, val in spec.get("attrs", {}).items():
                d.attrs[key] = val
            d[(slice(None), *win)] = spec["window"]
            d.dims[0].attach_scale(t)
            d.dims[1].attach_scale(la)
            d.dims[2].attach_scale(lo)
    return path


def _cdr_coords():
    lat = 90 - 0.025 - 0.05 * np.arange(3600) + 0.001  # file offsets < 0.002° (GEE note)
    lon = -180 + 0.025 + 0.05 * np.arange(7200) - 0.015  # < 0.02°
    return lat, lon


def _cdr_var(window, scale, qa=False):
    if qa:  # QA words: no fill value (none is documented), unwritten chunks read as 0
        return {"dtype": "int16", "window": window, "fill": 0, "attrs": {}}
    attrs = {
        "_FillValue": np.int16(-9999),
        "scale_factor": np.float64(scale),
        "add_offset": np.float64(0.0),
    }
    return {"dtype": "int16", "window": window, "attrs": attrs}


RNG = np.random.default_rng(42)


def test_avh13c1_ndvi_round_trip(tmp_path):
    ndvi = RNG.integers(-1000, 9000, size=(4, 6)).astype("int16")
    ndvi[0, 0] = -9999  # a fill inside the window
    qa = np.array([[0b10, 0b100, 0b1000, 1 << 14, 0, 0]] * 4, dtype="int16")
    path = _write_nc(
        tmp_path / "AVHRR-Land_v005_AVH13C1_NOAA-14_19990101_c20170610043155.nc",
        {
            "NDVI": _cdr_var(ndvi, 0.0001),
            "QA": _cdr_var(qa, None, qa=True),
            "TIMEOFDAY": _cdr_var(np.full((4, 6), 1450, "int16"), 0.01),
        },
        *_cdr_coords(),
    )
    ds = open_granule(path, chunks={"latitude": 400, "longitude": 800})
    assert ds.attrs["product"] == "AVH13C1" and ds.attrs["collection"] == "005"
    assert ds.NDVI.dims == ("time", "y", "x")
    g = Grid.from_xarray(ds.NDVI)
    assert g.shape == (3600, 7200)
    assert g.geotransform == pytest.approx((-180.0, 0.05, 0.0, 90.0, 0.0, -0.05), abs=1e-12)
    assert "coordinate_offset_deg" in ds.attrs
    dec = decode(ds)
    got = dec.NDVI[0].values[WIN]
    want = np.where(ndvi == -9999, np.nan, ndvi * 0.0001).astype("float32")
    np.testing.assert_array_equal(got, want)
    assert np.isnan(dec.NDVI[0].values[0, 0])  # unwritten chunk = fill
    np.testing.assert_array_equal(dec.QA[0].values[WIN], qa)  # QA words kept as written
    cloudy = (dec.QA[0].values[WIN].astype("uint16") >> 1) & 1
    np.testing.assert_array_equal(cloudy[:, 0], 1)
    np.testing.assert_allclose(dec.TIMEOFDAY[0].values[WIN], 14.5, rtol=1e-6)
    assert str(ds.time.values[0])[:10] == "2013-01-01"


def test_avh09c1_and_avh15c1_round_trip(tmp_path):
    refl = RNG.integers(0, 6000, size=(4, 6)).astype("int16")
    bt = RNG.integers(2500, 3100, size=(4, 6)).astype("int16")
    p09 = _write_nc(
        tmp_path / "AVHRR-Land_v005_AVH09C1_NOAA-11_19900615_c20170101000000.nc",
        {"SREFL_CH1": _cdr_var(refl, 0.0001), "BT_CH4": _cdr_var(bt, 0.1)},
        *_cdr_coords(),
    )
    d09 = decode(open_granule(p09))
    np.testing.assert_array_equal(d09.SREFL_CH1[0].values[WIN], (refl * 0.0001).astype("float32"))
    np.testing.assert_array_equal(d09.BT_CH4[0].values[WIN], (bt * 0.1).astype("float32"))
    lai = RNG.integers(0, 7000, size=(4, 6)).astype("int16")
    qa = np.array([[0, 1, 2, 3, 0b100, 0b100000]] * 4, dtype="int16")
    p15 = _write_nc(
        tmp_path / "AVHRR-Land_v005_AVH15C1_NOAA-11_19900615_c20170101000000.nc",
        {
            "LAI": _cdr_var(lai, 0.001),
            "FAPAR": _cdr_var(lai // 8, 0.001),
            "QA": _cdr_var(qa, None, qa=True),
        },
        *_cdr_coords(),
    )
    d15 = decode(open_granule(p15))
    np.testing.assert_array_equal(d15.LAI[0].values[WIN], (lai * 0.001).astype("float32"))
    np.testing.assert_array_equal(d15.QA[0].values[WIN], qa)
    layer = modisoft.get_product("AVH15C1", "005").layer("QA")
    quality = next(b for b in layer.bit_fields if b.name == "quality")
    assert quality.values[3] == "output out of range" and quality.length == 2


def test_ltdr_hdf4_grid_round_trip(tmp_path):
    refl = np.full((3600, 7200), -9999, "int16")
    refl[WIN] = RNG.integers(0, 5000, size=(4, 6))
    path = write_hdfeos2(
        tmp_path / "AVH09C1.A1999001.N14.004.2014123123456.hdf",
        [
            dict(
                name="Grid",
                nx=7200,
                ny=3600,
                ul=(-180000000.0, 90000000.0),
                lr=(180000000.0, -90000000.0),
                proj="GCTP_GEO",
                params=[0] * 13,
                sphere=-1,
                fields=["SREFL_CH1"],
            )
        ],
        {
            "SREFL_CH1": {
                "data": refl,
                "attrs": {"_FillValue": -9999, "scale_factor": 0.0001, "add_offset": 0.0},
            }
        },
    )
    ds = open_granule(path, chunks=1200)
    assert (ds.attrs["product"], ds.attrs["collection"]) == ("AVH09C1", "004")
    g = Grid.from_xarray(ds.SREFL_CH1)
    assert g.geotransform == (-180.0, 0.05, 0.0, 90.0, 0.0, -0.05) and g.crs.is_geographic
    dec = decode(ds).SREFL_CH1.values
    np.testing.assert_array_equal(dec[WIN], (refl[WIN] * 0.0001).astype("float32"))
    assert np.isnan(dec[0, 0])


def test_gimms_ndvi3g_v1_round_trip(tmp_path):
    lat = 90 - 1 / 24 - np.arange(2160) / 12
    lon = -180 + 1 / 24 + np.arange(4320) / 12
    ndvi = RNG.integers(-2000, 9000, size=(2, 4, 6)).astype("int16")
    ndvi[0, 0, :2] = [-32768, -3000]
    pct = RNG.integers(0, 3, size=(2, 4, 6)) * 2000 + RNG.integers(0, 1000, size=(2, 4, 6))
    path = _write_nc(
        tmp_path / "ndvi3g_geo_v1_1999_0106.nc4",
        {
            "ndvi": {
                "dtype": "int16",
                "window": ndvi,
                "fill": -32768,
                "attrs": {"_FillValue": np.int16(-32768)},
            },
            "percentile": {
                "dtype": "int16",
                "window": pct.astype("int16"),
                "fill": -32768,
                "attrs": {"_FillValue": np.int16(-32768)},
            },
        },
        lat,
        lon,
        ntime=2,
        latname="lat",
        lonname="lon",
        win=GWIN,
    )
    ds = open_granule(path)
    assert ds.attrs["product"] == "GIMMS_NDVI3G"
    g = Grid.from_xarray(ds.ndvi)
    np.testing.assert_allclose(g.geotransform, (-180.0, 1 / 12, 0.0, 90.0, 0.0, -1 / 12), atol=1e-5)
    dec = decode(ds)
    want = np.where(np.isin(ndvi, [-32768, -3000]), np.nan, ndvi / 10000.0).astype("float32")
    np.testing.assert_array_equal(dec.ndvi.values[(slice(None), *GWIN)], want)
    flag = dec.percentile.values[(slice(None), *GWIN)] // 2000
    np.testing.assert_array_equal(flag, pct // 2000)


def test_wrong_version_and_contradicting_attributes_are_reported(tmp_path):
    ndvi = np.full((4, 6), 5000, "int16")
    path = _write_nc(
        tmp_path / "AVHRR-Land_v003_AVH13C1_NOAA-14_19990101_c20170610043155.nc",
        {"NDVI": _cdr_var(ndvi, 0.0001)},
        *_cdr_coords(),
    )
    with pytest.warns(UnknownProductWarning, match="collection 003 is not in the modisoft"):
        open_granule(path)
    bad = _write_nc(
        tmp_path / "AVHRR-Land_v005_AVH13C1_NOAA-14_19990102_c20170610043155.nc",
        {"NDVI": _cdr_var(ndvi, 0.001)},
        *_cdr_coords(),
    )
    with pytest.warns(RegistryMismatchWarning, match=r"scale_factor 0\.001 \(registry 0\.0001\)"):
        ds = open_granule(bad)
    assert decode(ds).NDVI[0].values[WIN][0, 0] == pytest.approx(5.0)  # the file's own scale


def test_malformed_files_give_clear_errors(tmp_path):
    lat, lon = _cdr_coords()
    shifted = _write_nc(
        tmp_path / "AVHRR-Land_v005_AVH13C1_NOAA-14_19990103_c20170610043155.nc",
        {"NDVI": _cdr_var(np.zeros((4, 6), "int16"), 0.0001)},
        lat + 0.5,
        lon,
    )
    with pytest.raises(MetadataError, match=r"do not match the AVHRR CDR 0\.05° global grid"):
        open_granule(shifted)
    nolat = tmp_path / "AVHRR-Land_v005_AVH13C1_NOAA-14_19990104_c20170610043155.nc"
    with h5py.File(nolat, "w") as f:
        f.create_dataset("NDVI", data=np.zeros((1, 4, 6), "int16"))
    with pytest.raises(MetadataError, match="neither HDF-EOS5 metadata nor 1-D latitude"):
        open_granule(nolat)
    trunc = tmp_path / "AVHRR-Land_v005_AVH13C1_NOAA-14_19990105_c20170610043155.nc"
    trunc.write_bytes(shifted.read_bytes()[:3000])
    with pytest.raises(modisoft.GranuleReadError, match="truncated or corrupted"):
        open_granule(trunc)
