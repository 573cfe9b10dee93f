"""STAC catalog of a run: read back by pystac and odc-stac, footprint checked with pyproj.

The oracles are independent of :func:`modisoft.write.write_stac`: odc-stac loads the pixels
through the catalog and must give the source array; pyproj transforms the grid's corners from
the grid's defining numbers (``GRIDS`` in ``test_common``); the STAC core schemas shipped with
pystac validate the JSON offline (the extension schemas need the network).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import odc.stac
import pystac
import pytest
import rasterio
import rasterio.shutil
from odc.geo.geobox import GeoBox
from pyproj import CRS, Transformer
from pystac.validation import validate_dict
from pystac.validation.stac_validator import GetSchemaError
from shapely.geometry import Point, shape
from write.test_common import DEKADS, GRIDS, SHAPE, make_grid, make_lai, proj4

from modisoft.write import (
    CogFile,
    OutputError,
    Provenance,
    write_cog,
    write_netcdf,
    write_stac,
    write_zarr,
)

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def _run(tmp_path: Path, kind: str = "china_albers", *, whole_run: bool = True, **kw):
    """COGs (and NetCDF + Zarr) of a small LAI cube in ``tmp_path/run``, then the catalog."""
    run = tmp_path / "run"
    run.mkdir()
    lai = make_lai(kind)
    lai.attrs["units"] = "m2 m-2"
    cogs = write_cog(lai, run)
    assets = {}
    if whole_run:
        assets = {"netcdf": write_netcdf(lai, run / "lai.nc"), "zarr": "lai.zarr"}
        write_zarr(lai, run / "lai.zarr")
    path = write_stac(
        run, cogs, grid=make_grid(kind), assets=assets, collection_id=f"lai-{kind}",
        title="LAI test run", description="Ten-day LAI for the writer tests.", **kw,
    )  # fmt: skip
    return run, lai, cogs, path


def _items(collection_json: Path) -> list:
    return list(pystac.Collection.from_file(str(collection_json)).get_items(recursive=True))


def _odc_load(items: list, kind: str, band: str = "lai"):
    """odc-stac's read of the catalog onto the grid given by its defining numbers."""
    crs, tr = GRIDS[kind]
    return odc.stac.load(items, bands=[band], geobox=GeoBox(SHAPE, tr, crs))


def _hrefs(doc: dict) -> list[str]:
    out = [link["href"] for link in doc.get("links", [])]
    return out + [a["href"] for a in doc.get("assets", {}).values()]


def _utc(d: date, *clock: int) -> datetime:
    return datetime(d.year, d.month, d.day, *clock, tzinfo=UTC)


def test_layout_items_and_period_bounds(tmp_path):
    run, _, cogs, path = _run(tmp_path)
    assert path == run / "stac" / "collection.json" and path.is_file()
    stems = [f"lai_{d:%Y%m%d}" for d in DEKADS]
    for stem in stems:
        assert (run / "stac" / stem / f"{stem}.json").is_file()
    assert sorted(p.name for p in (run / "stac").iterdir()) == sorted(
        ["collection.json", "provenance.json", *stems]
    )
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]

    coll = pystac.Collection.from_file(str(path))
    assert (coll.id, coll.title, coll.license) == ("lai-china_albers", "LAI test run", "other")
    assert coll.extent.temporal.intervals == [
        [_utc(DEKADS[0]), _utc(date(2012, 5, 20), 23, 59, 59)]
    ]
    items = _items(path)
    assert [i.id for i in items] == stems
    for item, start in zip(items, DEKADS, strict=True):
        last_day = start + timedelta(days=9)  # make_lai: period_end = time + 9 days
        assert item.datetime == _utc(start)
        assert item.common_metadata.start_datetime == _utc(start)
        assert item.common_metadata.end_datetime == _utc(last_day, 23, 59, 59)
        assert item.collection_id == "lai-china_albers"

    # assets and links resolve to the files written
    cog_asset = items[0].assets["lai"]
    assert cog_asset.media_type == COG_MEDIA_TYPE == pystac.MediaType.COG
    assert cog_asset.roles == ["data"]
    assert os.path.samefile(cog_asset.get_absolute_href(), cogs[0].path)
    side = items[0].assets["provenance"]
    assert side.roles == ["metadata"] and side.media_type == "application/json"
    assert os.path.samefile(side.get_absolute_href(), cogs[0].sidecar)
    assert (
        json.loads(Path(side.get_absolute_href()).read_text())["file"]["name"] == cogs[0].path.name
    )
    related = {link.media_type: link.get_absolute_href() for link in items[0].get_links("related")}
    assert os.path.samefile(related["application/x-netcdf"], run / "lai.nc")
    assert os.path.samefile(related["application/vnd+zarr"], run / "lai.zarr")
    whole = coll.assets
    assert whole["netcdf"].media_type == "application/x-netcdf"
    assert whole["zarr"].media_type == "application/vnd+zarr"
    assert whole["netcdf"].roles == whole["zarr"].roles == ["data"]
    assert os.path.samefile(whole["netcdf"].get_absolute_href(), run / "lai.nc")
    assert os.path.samefile(whole["zarr"].get_absolute_href(), run / "lai.zarr")
    prov = json.loads(Path(whole["provenance"].get_absolute_href()).read_text())
    assert prov["grid"]["shape"] == list(SHAPE)


@pytest.mark.parametrize("kind", sorted(GRIDS))
def test_odc_stac_loads_the_source_values(tmp_path, kind):
    _, lai, _, path = _run(tmp_path, kind, whole_run=False)
    ds = _odc_load(_items(path), kind)
    assert ds["lai"].shape == (len(DEKADS), *SHAPE)
    assert ds["lai"].dtype == np.float32
    got_days = ds["time"].values.astype("datetime64[D]")
    assert list(got_days) == [np.datetime64(d, "D") for d in DEKADS]
    assert np.array_equal(ds["lai"].values, lai.values, equal_nan=True)
    assert np.isnan(lai.values).any()  # nodata really travelled through the catalog


@pytest.mark.parametrize("kind", sorted(GRIDS))
def test_projection_and_raster_fields(tmp_path, kind):
    _, _, _, path = _run(tmp_path, kind, whole_run=False)
    crs_def, tr = GRIDS[kind]
    ny, nx = SHAPE
    for item in _items(path):
        props = item.properties
        assert props["proj:shape"] == [ny, nx]
        assert props["proj:transform"] == [tr.a, tr.b, tr.c, tr.d, tr.e, tr.f]
        assert props["proj:bbox"] == [tr.c, tr.f + ny * tr.e, tr.c + nx * tr.a, tr.f]
        assert proj4(props["proj:wkt2"]) == proj4(crs_def)
        assert props["proj:code"] == ("EPSG:3035" if kind == "laea_europe" else None)
        bands = item.assets["lai"].extra_fields["raster:bands"]
        assert bands == [
            {"nodata": "nan", "data_type": "float32", "unit": "m2 m-2", "spatial_resolution": tr.a}
        ]


@pytest.mark.parametrize("kind", sorted(GRIDS))
def test_wgs84_footprint_contains_the_pyproj_corners(tmp_path, kind):
    _, _, _, path = _run(tmp_path, kind, whole_run=False)
    crs_def, tr = GRIDS[kind]
    ny, nx = SHAPE
    to_wgs84 = Transformer.from_crs(CRS.from_user_input(crs_def), "EPSG:4326", always_xy=True)
    corners = [tr @ (c, r) for c, r in ((0, 0), (nx, 0), (nx, ny), (0, ny))]
    lonlat = [to_wgs84.transform(x, y) for x, y in corners]
    dense = to_wgs84.transform_bounds(
        tr.c, tr.f + ny * tr.e, tr.c + nx * tr.a, tr.f, densify_pts=1001
    )
    coll = pystac.Collection.from_file(str(path))
    for bbox in [coll.extent.spatial.bboxes[0], *(item.bbox for item in _items(path))]:
        west, south, east, north = bbox
        for lon, lat in lonlat:
            assert west <= lon <= east and south <= lat <= north
        np.testing.assert_allclose(bbox, dense, rtol=0, atol=1e-7)  # tight, not just containing
    for item in _items(path):
        poly = shape(item.geometry)
        assert item.geometry["type"] == "Polygon" and poly.is_valid
        assert poly.exterior.is_ccw  # GeoJSON right-hand rule
        for lon, lat in lonlat:
            assert poly.buffer(1e-9).contains(Point(lon, lat))


def test_core_schemas_validate_offline(tmp_path):
    run, _, _, _ = _run(tmp_path)
    docs = sorted((run / "stac").rglob("*.json"))
    stac_docs = [json.loads(p.read_text()) for p in docs if p.name != "provenance.json"]
    assert [d["type"] for d in stac_docs].count("Feature") == len(DEKADS)
    for doc in stac_docs:  # pystac ships the core schemas: no network needed
        validate_dict(doc, extensions=[])


def test_validate_all_with_extension_schemas(tmp_path):
    _, _, _, path = _run(tmp_path)
    coll = pystac.Collection.from_file(str(path))
    try:
        n = coll.validate_all()
    except GetSchemaError as exc:
        pytest.skip(f"the projection/raster extension schemas need the network: {exc}")
    assert n == len(DEKADS)


def test_moved_folder_still_loads_with_relative_hrefs(tmp_path):
    run, lai, _, _ = _run(tmp_path)
    moved = tmp_path / "elsewhere" / "moved_run"
    moved.parent.mkdir()
    shutil.move(run, moved)
    assert not run.exists()
    for p in (moved / "stac").rglob("*.json"):
        if p.name == "provenance.json":
            continue
        for href in _hrefs(json.loads(p.read_text())):
            assert not os.path.isabs(href) and "://" not in href, (p, href)
            assert str(tmp_path) not in href
    items = _items(moved / "stac" / "collection.json")
    assert len(items) == len(DEKADS)
    ds = _odc_load(items, "china_albers")
    assert np.array_equal(ds["lai"].values, lai.values, equal_nan=True)
    for link in items[0].get_links("related"):
        assert Path(link.get_absolute_href()).exists()


def test_scaled_integer_cog_fields_come_from_the_file(tmp_path):
    """A COG written with rasterio (not write_cog): unit, scale, offset, integer nodata."""
    run = tmp_path / "run"
    run.mkdir()
    crs_def, tr = GRIDS["laea_europe"]
    vals = (np.arange(SHAPE[0] * SHAPE[1]) % 3000).astype("int16").reshape(SHAPE)
    vals[0, :5] = -9999
    stage, cog = run / "stage.tif", run / "fpar_20120421.tif"
    profile = {
        "driver": "GTiff",
        "width": SHAPE[1],
        "height": SHAPE[0],
        "count": 1,
        "dtype": "int16",
        "crs": crs_def,
        "transform": tr,
        "nodata": -9999,
    }
    with rasterio.open(stage, "w", **profile) as dst:
        dst.write(vals, 1)
        dst.units, dst.scales, dst.offsets = ("percent",), (0.01,), (0.5,)
        dst.update_tags(VARIABLE="fpar")
    rasterio.shutil.copy(stage, cog, driver="COG")
    stage.unlink()
    sidecar = run / "fpar_20120421.tif.json"
    sidecar.write_text("{}\n")
    files = [CogFile(cog, sidecar, date(2012, 4, 21), date(2012, 4, 30))]
    path = write_stac(
        run,
        files,
        grid=make_grid("laea_europe"),
        collection_id="fpar",
        title="FPAR",
        description="scaled integers",
        license="CC-BY-4.0",
    )
    assert pystac.Collection.from_file(str(path)).license == "CC-BY-4.0"
    [item] = _items(path)
    assert item.assets["fpar"].extra_fields["raster:bands"] == [
        {"nodata": -9999, "data_type": "int16", "unit": "percent", "scale": 0.01,
         "offset": 0.5, "spatial_resolution": 1000.0}
    ]  # fmt: skip
    ds = _odc_load([item], "laea_europe", band="fpar")
    assert ds["fpar"].dtype == np.int16
    assert np.array_equal(ds["fpar"].values[0], vals)


def test_no_cogs_gives_the_whole_run_assets_only(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lai = make_lai()
    write_netcdf(lai, run / "lai.nc")
    write_zarr(lai, run / "store.zarr")
    prov = Provenance().add_granule("MCD15A2.A2012113.h17v03.005.2012122000000.hdf")
    path = write_stac(
        run,
        [],
        grid=make_grid(),
        provenance=prov,
        assets={"netcdf": "lai.nc", "zarr": run / "store.zarr"},
        collection_id="empty",
        title="No COGs",
        description="NetCDF and Zarr",
    )
    coll = pystac.Collection.from_file(str(path))
    assert _items(path) == []
    assert sorted(coll.assets) == ["netcdf", "provenance", "zarr"]
    assert coll.extent.temporal.intervals == [[None, None]]
    assert os.path.samefile(coll.assets["zarr"].get_absolute_href(), run / "store.zarr")
    assert coll.assets["zarr"].media_type == "application/vnd+zarr"
    record = json.loads(Path(coll.assets["provenance"].get_absolute_href()).read_text())
    assert record["granules"][0]["granule_id"].startswith("MCD15A2.A2012113")
    validate_dict(json.loads(path.read_text()), extensions=[])


def test_errors_name_the_path_and_what_is_accepted(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    cogs = write_cog(make_lai(), run)
    grid = make_grid()
    kw = {"grid": grid, "collection_id": "c", "title": "t", "description": "d"}
    (tmp_path / "outside.nc").write_bytes(b"")
    (run / "lai.h5").write_bytes(b"")
    with pytest.raises(OutputError, match=r"outside\.nc.*outside the output directory"):
        write_stac(run, cogs, assets={"netcdf": tmp_path / "outside.nc"}, **kw)
    with pytest.raises(OutputError, match=r"lai\.h5.*accepted are NetCDF"):
        write_stac(run, cogs, assets={"other": "lai.h5"}, **kw)
    with pytest.raises(OutputError, match=r"missing\.nc.*does not exist"):
        write_stac(run, cogs, assets={"netcdf": "missing.nc"}, **kw)
    with pytest.raises(OutputError, match=r"lai_20120421\.tif.*outside the output directory"):
        write_stac(run, [_moved(cogs[0], tmp_path)], **kw)
    with pytest.raises(OutputError, match="the output directory does not exist"):
        write_stac(run / "missing", cogs, **kw)
    no_side = CogFile(cogs[0].path, run / "gone.json", cogs[0].start, cogs[0].end)
    with pytest.raises(OutputError, match=r"gone\.json.*sidecar of 'lai_20120421\.tif'"):
        write_stac(run, [no_side], **kw)
    with pytest.raises(OutputError, match="repeat"):
        write_stac(run, [cogs[0], cogs[0]], **kw)
    with pytest.raises(OutputError, match="not on the grid given"):
        write_stac(run, cogs, **{**kw, "grid": make_grid("laea_europe")})
    undated = write_cog(make_lai(times=None), run, filename="undated_{index}.tif")
    with pytest.raises(OutputError, match=r"undated_0\.tif.*no period"):
        write_stac(run, undated, **kw)
    assert not (run / "stac").exists()
    write_stac(run, cogs, **kw)
    with pytest.raises(OutputError, match="overwrite"):
        write_stac(run, cogs, overwrite=False, **kw)


def _moved(cog: CogFile, where: Path) -> CogFile:
    """The same COG copied outside the run folder."""
    target = where / cog.path.name
    shutil.copy(cog.path, target)
    return CogFile(target, cog.sidecar, cog.start, cog.end)


def test_a_failed_write_keeps_the_previous_catalog(tmp_path, monkeypatch):
    run, _, cogs, _ = _run(tmp_path, whole_run=False)
    before = {p: p.read_bytes() for p in (run / "stac").rglob("*") if p.is_file()}

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while saving")

    monkeypatch.setattr(pystac.Collection, "save", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_stac(run, cogs[:1], grid=make_grid(), collection_id="c", title="t", description="d")
    after = {p: p.read_bytes() for p in (run / "stac").rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]
