"""Writers: shared helpers for the ``test_write_*`` modules, atomic files, and provenance.

The helpers build small georeferenced LAI cubes on three grids that matter to modisoft (the
MODIS sinusoidal sphere, the China Albers 1 km grid, and EPSG:3035) with the grid's numbers
written here, and read outputs back with GDAL's command-line tools as the independent oracle.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import warnings
from datetime import date, datetime
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from affine import Affine
from pyproj import CRS

from modisoft import Granule, Grid
from modisoft.write import OutputError, Provenance, software_versions
from modisoft.write._common import atomic_path

GDALINFO = shutil.which("gdalinfo")
GDAL_TRANSLATE = shutil.which("gdal_translate")
requires_gdal = pytest.mark.skipif(
    GDALINFO is None or GDAL_TRANSLATE is None,
    reason="GDAL command-line tools (gdal-bin) are the oracle of this test",
)

# The grids, from their defining numbers (reference/GRIDS.md), not from modisoft.grids.
MODIS_R = 6371007.181
MODIS_T = 2 * math.pi * MODIS_R / 36  # tile width
MODIS_PIX = MODIS_T / 1200  # 1 km land-grid pixel
SIN_PROJ = f"+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R={MODIS_R} +units=m +no_defs"
ALBERS_PROJ = (
    "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +ellps=krass +units=m +no_defs"
)
GRIDS = {
    # h17v03, rows 100-139, cols 200-249 of the 1 km tile
    "sinusoidal": (
        SIN_PROJ,
        Affine(
            MODIS_PIX, 0, -MODIS_T + 200 * MODIS_PIX, 0, -MODIS_PIX, 6 * MODIS_T - 100 * MODIS_PIX
        ),
    ),
    "china_albers": (ALBERS_PROJ, Affine(1000.0, 0, -2_650_000.0, 0, -1000.0, 5_350_000.0)),
    "laea_europe": ("EPSG:3035", Affine(1000.0, 0, 4_000_000.0, 0, -1000.0, 3_000_000.0)),
}
SHAPE = (40, 50)
DEKADS = [date(2012, 4, 21), date(2012, 5, 1), date(2012, 5, 11)]


def proj4(crs) -> str:
    """PROJ string of a CRS (warning about lost detail silenced: only the parameters matter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return CRS.from_user_input(crs).to_proj4()


def make_grid(kind: str = "china_albers", shape: tuple[int, int] = SHAPE) -> Grid:
    crs, tr = GRIDS[kind]
    return Grid.from_crs(crs, tr, shape)


def make_lai(
    kind: str = "china_albers",
    *,
    times: list[date] | None = DEKADS,
    shape: tuple[int, int] = SHAPE,
    chunks: tuple[int, int] = (16, 25),
    seed: int = 0,
    nan_fraction: float = 0.05,
) -> xr.DataArray:
    """A lazy LAI cube (values 0-8, some NaN) with ``time`` = period starts and ``period_end``."""
    grid = make_grid(kind, shape)
    rng = np.random.default_rng(seed)
    nt = len(times) if times else 1
    vals = (rng.random((nt, *shape)) * 8).astype("float32")
    vals[rng.random(vals.shape) < nan_fraction] = np.nan
    coords = grid.xarray_coords()
    if times is None:
        data = da.from_array(vals[0], chunks=chunks)
        return xr.DataArray(data, dims=("y", "x"), coords=coords, name="lai")
    coords["time"] = np.array(times, dtype="datetime64[ns]")
    ends = [np.datetime64(t, "D") + 9 for t in times]
    coords["period_end"] = ("time", np.array(ends, dtype="datetime64[ns]"))
    data = da.from_array(vals, chunks=(1, *chunks))
    return xr.DataArray(data, dims=("time", "y", "x"), coords=coords, name="lai")


def failing(arr: xr.DataArray, at_block: int) -> xr.DataArray:
    """The same array, but computing its ``at_block``-th dask block raises ``RuntimeError``."""
    counter = {"n": 0}

    def fn(block):
        counter["n"] += 1
        if counter["n"] > at_block:
            raise RuntimeError("simulated crash while computing a block")
        return block

    out = arr.copy()
    out.data = arr.data.map_blocks(fn, dtype=arr.dtype)
    return out


def gdalinfo_json(target: str) -> dict:
    out = subprocess.run([GDALINFO, "-json", target], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def gdal_read(target: str, tmp_path: Path, dtype: str, band: int = 1) -> np.ndarray:
    """Band values as GDAL reads them: ``gdal_translate -of ENVI`` then raw bytes."""
    info = gdalinfo_json(target)
    nx, ny = info["size"]
    dst = tmp_path / f"gdal_{abs(hash(target))}.raw"
    subprocess.run(
        [GDAL_TRANSLATE, "-q", "-of", "ENVI", "-b", str(band), target, str(dst)],
        check=True,
        capture_output=True,
    )
    return np.fromfile(dst, dtype=np.dtype(dtype).newbyteorder("<")).reshape(ny, nx)


def assert_gdal_georef(target: str, kind: str, *, exact: bool = True) -> dict:
    """GDAL's size, geotransform and CRS equal the test grid's defining numbers."""
    info = gdalinfo_json(target)
    crs_def, tr = GRIDS[kind]
    assert info["size"] == [SHAPE[1], SHAPE[0]]
    expected = [tr.c, tr.a, tr.b, tr.f, tr.d, tr.e]
    if exact:
        assert info["geoTransform"] == expected
    else:  # GDAL recomputes it from the centre coordinates: float noise only
        np.testing.assert_allclose(info["geoTransform"], expected, rtol=0, atol=1e-6)
    assert proj4(CRS.from_wkt(info["coordinateSystem"]["wkt"])) == proj4(crs_def)
    return info


# --------------------------------------------------------------------------------------------
# atomic files
# --------------------------------------------------------------------------------------------
def test_atomic_file_renames_on_success(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"abc")
        assert not target.exists()
    assert target.read_bytes() == b"abc"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_file_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_file_refuses_to_overwrite_when_asked(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(OutputError, match="exists"), atomic_path(target, overwrite=False):
        pass
    with pytest.raises(OutputError, match="does not exist"), atomic_path(tmp_path / "no" / "f"):
        pass


def test_atomic_path_replaces_a_directory_and_keeps_a_suffix(tmp_path):
    store = tmp_path / "s.zarr"
    store.mkdir()
    (store / "old").write_text("old")
    with atomic_path(store) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("new")
        assert (store / "old").exists()  # the old store stays whole until the rename
    assert sorted(p.name for p in store.iterdir()) == ["new"]
    assert list(tmp_path.iterdir()) == [store]
    with atomic_path(tmp_path / "p.npz", suffix=".npz") as tmp:
        assert tmp.name.endswith(".npz")
        np.savez(tmp, a=np.arange(3))  # numpy would append .npz to another name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz", "s.zarr"]


def test_write_geotiff_numpy_and_dask_agree(tmp_path):
    import rasterio

    from modisoft.write import write_geotiff

    grid = Grid.from_crs("EPSG:3035", Affine(1000.0, 0, 4e6, 0, -1000.0, 3e6), (300, 200))
    values = np.arange(2 * 300 * 200, dtype="float32").reshape(2, 300, 200)
    opts = {"tiled": True, "blockxsize": 128, "blockysize": 128, "compress": "deflate"}
    write_geotiff(tmp_path / "n.tif", values, grid, options=opts, descriptions=["a", "b"],
                  tags={"K": "v"})
    lazy = da.from_array(values, chunks=(1, 128, 64))
    write_geotiff(tmp_path / "d.tif", lazy, grid, options=opts, descriptions=["a", "b"],
                  tags={"K": "v"})
    write_geotiff(tmp_path / "b.tif", lazy, grid, options=opts, blockwise=True,
                  cog={"COMPRESS": "DEFLATE", "BLOCKSIZE": 128})
    for name in ("n", "d", "b"):
        with rasterio.open(tmp_path / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(), values)
            assert src.transform == grid.transform and src.crs.to_epsg() == 3035
            if name != "b":
                assert src.descriptions == ("a", "b") and src.tags()["K"] == "v"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.tif", "d.tif", "n.tif"]
    with pytest.raises(OutputError, match="exists"):
        write_geotiff(tmp_path / "n.tif", values, grid, overwrite=False)


# --------------------------------------------------------------------------------------------
# provenance
# --------------------------------------------------------------------------------------------
def _granule(name: str, produced: datetime) -> Granule:
    return Granule(
        path=f"/data/{name}",
        product="MCD15A2",
        collection="005",
        tile=(17, 3),
        nominal_date=date(2012, 1, 1),
        start_date=date(2012, 1, 1),
        end_date=date(2012, 1, 8),
        production_time=produced,
        granule_id=name,
    )


def test_provenance_records_every_required_key_and_round_trips(tmp_path):
    g1 = _granule("MCD15A2.A2012009.h17v03.005.2012019044037.hdf", datetime(2012, 1, 19, 4, 40, 37))
    g0 = _granule(
        "MCD15A2.A2012001.h17v03.005.2012017211237.hdf", datetime(2012, 1, 17, 21, 12, 37)
    )
    grid = make_grid("china_albers")
    config = {"inputs": {"folders": [Path("/data")]}, "years": [2012], "start": date(2012, 1, 1)}
    prov = (
        Provenance()
        .add_granules([g1, g0])
        .add_failure("/data/bad.hdf", "truncated HDF4 file")
        .set_step("qa_rule", {"mask": "SCF_QC in (0, 1)"})
        .set_step("weights", {"main": 1.0, "backup": 0.5})
        .set_step("resampling", "average")
        .set_step("smoother", {"method": "whittaker", "lambda": 10.0})
        .set_step("retrieval", {"method": "modis_lai"})
        .set_grid(grid)
        .set_config(config)
    )
    doc = json.loads(prov.to_json())
    assert [g["granule_id"] for g in doc["granules"]] == sorted([g0.granule_id, g1.granule_id])
    assert doc["granules"][0]["production_time"] == "2012-01-17T21:12:37"
    assert doc["granules"][0]["tile_id"] == "h17v03"
    assert doc["failed"] == [{"path": "/data/bad.hdf", "reason": "truncated HDF4 file"}]
    assert set(doc["steps"]) == {"qa_rule", "weights", "resampling", "smoother", "retrieval"}
    assert doc["steps"]["smoother"]["lambda"] == 10.0
    assert doc["config"] == {
        "inputs": {"folders": ["/data"]},
        "years": [2012],
        "start": "2012-01-01",
    }
    _, tr = GRIDS["china_albers"]
    assert doc["grid"]["transform"] == [tr.a, tr.b, tr.c, tr.d, tr.e, tr.f]
    assert doc["grid"]["geotransform"] == [tr.c, tr.a, tr.b, tr.f, tr.d, tr.e]
    assert doc["grid"]["shape"] == list(SHAPE)
    assert proj4(CRS.from_wkt(doc["grid"]["crs_wkt"])) == proj4(ALBERS_PROJ)
    for pkg in ("modisoft", "numpy", "dask", "xarray", "pyproj", "zarr", "rasterio", "python"):
        assert doc["software"][pkg], pkg
    assert doc["software"]["numpy"] == np.__version__
    assert "created" not in doc  # no wall clock: reruns are byte-identical
    # attrs and sidecar round trips
    again = Provenance.from_attrs(prov.to_attrs())
    assert again.to_json() == prov.to_json()
    side = prov.write_sidecar(tmp_path / "x.json", file={"name": "x"})
    sdoc = json.loads(side.read_text())
    assert sdoc["file"] == {"name": "x"} and sdoc["granules"] == doc["granules"]


def test_provenance_is_deterministic_regardless_of_order():
    a = Provenance().add_granule("b.hdf").add_granule("a.hdf")
    b = Provenance().add_granule("a.hdf").add_granule("b.hdf").add_granule("a.hdf")
    assert a.to_json() == b.to_json()
    assert [g["granule_id"] for g in b.to_dict()["granules"]] == ["a.hdf", "b.hdf"]


def test_provenance_rejects_unknown_steps_and_clashing_sidecar_keys(tmp_path):
    with pytest.raises(OutputError, match="unknown step 'smoothing'"):
        Provenance().set_step("smoothing", {})
    with pytest.raises(OutputError, match="clashes"):
        Provenance().write_sidecar(tmp_path / "p.json", granules=[])
    with pytest.raises(OutputError, match="no 'modisoft_provenance'"):
        Provenance.from_attrs({})


def test_software_versions_lists_installed_libraries():
    import dask
    import pyproj

    v = software_versions()
    assert v["dask"] == dask.__version__ and v["pyproj"] == pyproj.__version__
