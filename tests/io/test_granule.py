"""open_granule: laziness (counting wrapper), chunk-only reads, deterministic dask names,
pickling, grid selection, unknown products, and every bad-input case."""

from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest
from conftest import core_metadata, sample, write_hdfeos2

import modisoft
from modisoft import Grid, open_granule
from modisoft.errors import (
    GranuleReadError,
    MetadataError,
    ModisoftError,
    NotHDFError,
    UnknownLayerError,
    UnknownProductWarning,
)
from modisoft.io import hdf4

LAI = "MCD15A2H.A2016201.h18v05.006.2016215124658.hdf"


@pytest.fixture
def read_log(monkeypatch):
    """Counting wrapper around the one function that reads pixel data from HDF4."""
    calls: list[tuple[str, tuple, tuple]] = []
    real = hdf4.read_block

    def counting(path, name, start, count):
        calls.append((name, tuple(start), tuple(count)))
        return real(path, name, start, count)

    monkeypatch.setattr(hdf4, "read_block", counting)
    return calls


def test_opening_reads_no_pixels_and_one_chunk_reads_one_block(read_log):
    path = sample(LAI)
    ds = open_granule(path, chunks=600)
    dec = modisoft.decode(ds)
    _ = dec.Lai_500m.mean()  # graph construction only
    assert read_log == []
    block = ds.Lai_500m.data.blocks[1, 2].compute()
    assert read_log == [("Lai_500m", (600, 1200), (600, 600))]
    assert block.shape == (600, 600)
    read_log.clear()
    dec.Lai_500m[:10, 2395:].compute()  # touches two chunks, reads exactly those two
    assert sorted(read_log) == [("Lai_500m", (0, 1800), (600, 600))]
    read_log.clear()
    ds.Lai_500m[0:10, 1195:1205].compute()  # straddles two chunks: two reads, within them
    assert len(read_log) == 2
    for _name, (r0, c0), (nr, nc) in read_log:
        assert r0 >= 0 and r0 + nr <= 600
        assert (c0 >= 600 and c0 + nc <= 1200) or (c0 >= 1200 and c0 + nc <= 1800)
    assert sum(nr * nc for _n, _s, (nr, nc) in read_log) <= 2 * 600 * 600


def test_lazy_values_equal_pyhdf_reads():
    from pyhdf.SD import SD

    path = sample(LAI)
    ds = open_granule(path, ["Lai_500m", "FparLai_QC"], chunks=(700, 900))
    raw = SD(str(path)).select("Lai_500m")[:]
    np.testing.assert_array_equal(ds.Lai_500m.values, raw)
    assert ds.Lai_500m.dtype == np.uint8 and list(ds.data_vars) == ["Lai_500m", "FparLai_QC"]
    np.testing.assert_array_equal(ds.Lai_500m[100:103, 5:9].values, raw[100:103, 5:9])


def test_dask_names_deterministic_and_pickles(tmp_path):
    path = sample(LAI)
    a = open_granule(path, ["Lai_500m"], chunks=1200)
    b = open_granule(path, ["Lai_500m"], chunks=1200)
    c = open_granule(path, ["Lai_500m"], chunks=600)
    assert a.Lai_500m.data.name == b.Lai_500m.data.name != c.Lai_500m.data.name
    copy = tmp_path / LAI
    shutil.copy(path, copy)
    os.utime(copy, ns=(1, 1))
    d = open_granule(copy, ["Lai_500m"], chunks=1200)
    os.utime(copy, ns=(2, 2))
    e = open_granule(copy, ["Lai_500m"], chunks=1200)
    assert d.Lai_500m.data.name != e.Lai_500m.data.name  # mtime is part of the name
    arr = pickle.loads(pickle.dumps(a.Lai_500m.data))
    np.testing.assert_array_equal(arr[:5, :5].compute(), a.Lai_500m.values[:5, :5])
    lazy = hdf4.HDF4Array(str(path), "Lai_500m", (2400, 2400), "uint8")
    assert pickle.loads(pickle.dumps(lazy))[3, 4:6].shape == (2,)


def test_georeferencing_and_attributes():
    path = sample("MOD13A2.A2025001.h18v09.061.2025022080611.hdf")
    ds = open_granule(path, "1 km 16 days NDVI")
    da = ds["1 km 16 days NDVI"]
    assert da.attrs["grid_mapping"] == "spatial_ref"
    assert "6371007.181" in ds.spatial_ref.attrs["crs_wkt"]
    g = Grid.from_xarray(da)
    assert g.geotransform == pytest.approx(
        (0.0, 1111950.519667 / 1200, 0.0, 0.0, 0.0, -1111950.519667 / 1200), abs=1e-9
    )
    assert ds.x.values[0] == pytest.approx(g.transform.a / 2)
    assert ds.attrs["product"] == "MOD13A2" and ds.attrs["collection"] == "061"
    assert ds.attrs["tile"] == "h18v09" and ds.attrs["start_date"] == "2025-01-01"
    assert ds.attrs["end_date"] == "2025-01-16"
    assert ds.attrs["production_time"] == "2025-01-22T13:06:11Z"
    assert ds.attrs["processing_center"] == "MODAPS" and ds.attrs["pge_version"] == "6.1.1"
    # CF-named packing attributes are not left on raw layers (MOD13's 10000 means divide)
    assert "scale_factor" not in da.attrs and da.attrs["unpacking"] == "divide"
    assert da.attrs["stored_scale_factor"] == 10000.0


def test_multi_grid_file():
    path = sample("MOD09GA.A2008296.h14v17.006.2015181011753.hdf")
    ds = open_granule(path, ["state_1km_1", "sur_refl_b01_1"])
    assert ds.state_1km_1.dims == ("y_1km", "x_1km")
    assert ds.sur_refl_b01_1.dims == ("y_500m", "x_500m")
    g1 = Grid.from_xarray(ds.state_1km_1)
    g5 = Grid.from_xarray(ds.sur_refl_b01_1)
    assert g1.shape == (1200, 1200) and g5.shape == (2400, 2400)
    assert g1.resolution[0] == pytest.approx(2 * g5.resolution[0])
    one = open_granule(path, grid="500m")
    assert one.sur_refl_b01_1.dims == ("y", "x") and "state_1km_1" not in one
    assert Grid.from_xarray(one.sur_refl_b01_1) == g5
    with pytest.raises(GranuleReadError, match="not a grid layer"):
        open_granule(path, ["sur_refl_b01_c"])
    with pytest.raises(KeyError, match="no grid '250m'"):
        open_granule(path, grid="250m")


def test_renamed_file_identified_from_metadata():
    ds = open_granule(sample("MOD11A1.hdf"), ["LST_Day_1km"])
    assert ds.attrs["granule_id"] == "MOD11A1.A2019305.h14v09.006.2019306084028.hdf"
    assert ds.attrs["product"] == "MOD11A1" and ds.attrs["tile"] == "h14v09"
    assert ds.attrs["identified_from"] == "metadata"
    assert ds.attrs["registry_product"] == "MOD11A1.006"


def test_unknown_product_opens_raw_with_a_warning(tmp_path):
    data = np.array([[0, 10, 200], [255, 5, 7]], dtype="uint8")
    path = write_hdfeos2(
        tmp_path / "FOO42Q.A2020001.h18v09.061.2020002030405.hdf",
        [dict(name="FOO_Grid", nx=3, ny=2, ul=(0.0, 0.0), lr=(3000.0, -2000.0), fields=["val"])],
        {
            "val": {
                "data": data,
                "attrs": {
                    "_FillValue": 255,
                    "scale_factor": 0.5,
                    "add_offset": 2.0,
                    "valid_range": [0, 100],
                },
            }
        },
        {
            "CoreMetadata.0": core_metadata(
                "FOO42Q.A2020001.h18v09.061.2020002030405.hdf",
                "FOO42Q",
                61,
                "2020-01-01",
                "2020-01-08",
            )
        },
    )
    with pytest.warns(UnknownProductWarning, match="FOO42Q .*not in the modisoft registry"):
        ds = open_granule(path)
    np.testing.assert_array_equal(ds.val.values, data)
    assert Grid.from_xarray(ds.val).geotransform == (0.0, 1000.0, 0.0, 0.0, 0.0, -1000.0)
    dec = modisoft.decode(ds)
    # file attributes, HDF-EOS convention: (stored - 2.0) * 0.5; 255 fill; 200 out of range
    np.testing.assert_array_equal(
        dec.val.values, np.array([[-1.0, 4.0, np.nan], [np.nan, 1.5, 2.5]], "float32")
    )


def test_missing_layer_is_a_keyerror_listing_the_layers():
    with pytest.raises(UnknownLayerError) as exc:
        open_granule(sample(LAI), ["LAI_500m"])
    err = exc.value
    assert isinstance(err, KeyError) and isinstance(err, ModisoftError)
    assert "LAI_500m" in str(err) and "Lai_500m" in str(err) and LAI in str(err)


def test_zero_byte_file(tmp_path):
    p = tmp_path / LAI
    p.write_bytes(b"")
    with pytest.raises(NotHDFError, match=r"empty \(0 bytes\)") as exc:
        open_granule(p)
    assert isinstance(exc.value, OSError) and exc.value.path == str(p)


@pytest.mark.parametrize("size", [100, 200_000, 2_000_000])
def test_truncated_file(tmp_path, size):
    p = tmp_path / LAI
    p.write_bytes(sample(LAI).read_bytes()[:size])
    with pytest.raises(GranuleReadError, match="truncated or corrupted") as exc:
        open_granule(p).Lai_500m.values  # noqa: B018
    assert str(p) in str(exc.value)


def test_corrupted_pixel_data_names_file_and_layer(tmp_path):
    src = sample("MCD15A2.A2012001.h17v03.005.2012017211237.hdf")
    raw = bytearray(src.read_bytes())
    for off in range(100_000, 600_000, 997):
        raw[off] = (raw[off] + 77) % 256
    p = tmp_path / src.name
    p.write_bytes(bytes(raw))
    ds = open_granule(p)
    with pytest.raises(GranuleReadError, match=r"Lai_1km.*truncated or corrupted") as exc:
        ds.Lai_1km.values  # noqa: B018
    assert exc.value.layer == "Lai_1km" and exc.value.path == str(p)


def test_not_hdf_files(tmp_path):
    text = tmp_path / "notes.hdf"
    text.write_text("hello, not a granule\n")
    with pytest.raises(NotHDFError, match="not an HDF4 file"):
        open_granule(text)
    with pytest.raises(GranuleReadError, match="no such file"):
        open_granule(tmp_path / "missing.hdf")


def test_hdf4_without_hdfeos_metadata(tmp_path):
    from pyhdf.SD import SD, SDC

    p = tmp_path / "plain.hdf"
    sd = SD(str(p), SDC.WRITE | SDC.CREATE)
    s = sd.create("a", SDC.UINT8, (2, 2))
    s[:] = np.zeros((2, 2), "uint8")
    s.endaccess()
    sd.end()
    with pytest.raises(MetadataError, match=r"no StructMetadata\.0.*not HDF-EOS"):
        open_granule(p)


def test_corrupted_core_metadata(tmp_path):
    data = np.zeros((2, 2), "uint8")
    p = write_hdfeos2(
        tmp_path / "MCD15A2H.A2016201.h18v05.006.2016215124658.hdf",
        [dict(name="G", nx=2, ny=2, ul=(0.0, 0.0), lr=(2.0, -2.0), fields=["a"])],
        {"a": {"data": data}},
        {"CoreMetadata.0": "GROUP = INVENTORYMETADATA\n OBJECT = X\n VALUE = (1,\n"},
    )
    with pytest.raises(MetadataError, match="CoreMetadata is not valid ODL"):
        open_granule(p)


def test_errors_pickle_faithfully():
    for err in (GranuleReadError("/a.hdf", "bad", "Lai"), UnknownLayerError("x", ["a", "b"], "/f")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
