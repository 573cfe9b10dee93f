"""COG writer: one Cloud-optimised GeoTIFF per period, read back by rasterio and GDAL."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import rasterio
from write.test_common import (
    DEKADS,
    GRIDS,
    SHAPE,
    assert_gdal_georef,
    failing,
    gdal_read,
    make_lai,
    proj4,
    requires_gdal,
)

from modisoft.write import OutputError, Provenance, write_cog


@pytest.mark.parametrize("kind", sorted(GRIDS))
def test_cog_per_period_reopens_with_rasterio(tmp_path, kind):
    lai = make_lai(kind)
    prov = Provenance().add_granule("MCD15A2.A2012113.h17v03.005.2012122000000.hdf")
    files = write_cog(lai, tmp_path, provenance=prov)
    assert [f.path.name for f in files] == [f"lai_{d:%Y%m%d}.tif" for d in DEKADS]
    crs_def, tr = GRIDS[kind]
    for i, f in enumerate(files):
        with rasterio.open(f.path) as src:
            assert src.driver == "GTiff" and src.count == 1 and src.shape == SHAPE
            assert src.transform == tr
            assert proj4(src.crs.to_wkt()) == proj4(crs_def)
            assert np.isnan(src.nodata)
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert src.overviews(1) == []  # fits in one 512 tile
            assert np.array_equal(src.read(1), lai.values[i], equal_nan=True)
            assert src.tags()["PERIOD_START"] == DEKADS[i].isoformat()
            # the tag is a short summary pointing at the sidecar, which holds the full record
            tag = src.tags()["MODISOFT_PROVENANCE"]
            assert tag.endswith(f"full record: {f.path.name}.json") and "1 input granule" in tag
        side = json.loads(f.sidecar.read_text())
        assert side["granules"][0]["granule_id"].startswith("MCD15A2.A2012113")
        assert side["file"]["sha256"] == hashlib.sha256(f.path.read_bytes()).hexdigest()
        assert side["period"] == {"start": f"{DEKADS[i]}", "end": f"{np.datetime64(DEKADS[i]) + 9}"}
        assert side["grid"]["geotransform"] == [tr.c, tr.a, tr.b, tr.f, tr.d, tr.e]


@pytest.mark.gdal
@requires_gdal
@pytest.mark.parametrize("kind", ["sinusoidal", "china_albers"])
def test_cog_gdal_oracle(tmp_path, kind):
    lai = make_lai(kind)
    files = write_cog(lai, tmp_path, filename="{name}_{index}.tif")
    info = assert_gdal_georef(str(files[1].path), kind, exact=True)
    assert info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
    assert str(info["bands"][0]["noDataValue"]).lower() == "nan"
    got = gdal_read(str(files[1].path), tmp_path, "float32")
    assert np.array_equal(got, lai.values[1], equal_nan=True)


def test_cog_tiles_and_overviews(tmp_path):
    lai = make_lai(shape=(300, 260), chunks=(128, 100), times=DEKADS[:1])
    [f] = write_cog(lai, tmp_path, blocksize=128, overview_resampling="average")
    with rasterio.open(f.path) as src:
        assert src.block_shapes == [(128, 128)]
        assert src.overviews(1) == [2, 4]  # 150 x 130 > one tile; 75 x 65 fits
        assert np.array_equal(src.read(1), lai.values[0], equal_nan=True)
        ov = src.read(1, out_shape=(75, 65))  # the 4x overview level
    # GDAL "average" over each 4 x 4 block of valid pixels (last row/col blocks are partial)
    block = lai.values[0][:4, :4]
    assert np.isclose(ov[0, 0], np.nanmean(block), rtol=1e-5)


def test_cog_integer_data_need_nodata_and_nan_maps_to_it(tmp_path):
    lai = make_lai(times=None)
    dn = (lai * 10).fillna(255).astype("uint8").rename("dn")
    with pytest.raises(OutputError, match="need a nodata"):
        write_cog(dn, tmp_path, filename="dn.tif")
    [f] = write_cog(dn, tmp_path, filename="dn.tif", nodata=255)
    with rasterio.open(f.path) as src:
        assert src.nodata == 255 and src.dtypes == ("uint8",)
        assert np.array_equal(src.read(1), dn.values)
    [g] = write_cog(lai, tmp_path, filename="lai.tif", nodata=-1.0)
    with rasterio.open(g.path) as src:
        expected = np.where(np.isnan(lai.values), -1.0, lai.values).astype("float32")
        assert src.nodata == -1.0 and np.array_equal(src.read(1), expected)


def test_cog_rewrite_is_byte_identical(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fa = write_cog(make_lai(), tmp_path / "a")
    fb = write_cog(make_lai(), tmp_path / "b")
    for a, b in zip(fa, fb, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
        assert a.sidecar.read_bytes() == b.sidecar.read_bytes()


def test_cog_interrupted_write_leaves_no_partial_file(tmp_path):
    lai = make_lai()
    # 3 periods x 6 blocks; crash inside the second period
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_cog(failing(lai, at_block=8), tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["lai_20120421.tif", "lai_20120421.tif.json"]  # period 1 complete, no temps
    with rasterio.open(tmp_path / names[0]) as src:
        assert np.array_equal(src.read(1), lai.values[0], equal_nan=True)


def test_cog_bad_options(tmp_path):
    lai = make_lai()
    with pytest.raises(OutputError, match="does not exist"):
        write_cog(lai, tmp_path / "missing")
    with pytest.raises(OutputError, match="repeats names"):
        write_cog(lai, tmp_path, filename="{name}.tif")
    with pytest.raises(OutputError, match="multiple of 16"):
        write_cog(lai, tmp_path, blocksize=100)
    with pytest.raises(OutputError, match=">= 128"):
        write_cog(lai, tmp_path, blocksize=64)
    with pytest.raises(OutputError, match="needs a time coordinate"):
        write_cog(make_lai(times=None), tmp_path)
