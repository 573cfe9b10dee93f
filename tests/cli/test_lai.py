"""``modisoft lai`` commands through click's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from click.testing import CliRunner
from conftest import sample

from modisoft.cli import main
from modisoft.lai.relation import ALL_COVERS


def test_curves_lists_sources():
    r = CliRunner().invoke(main, ["lai", "curves"])
    assert r.exit_code == 0, r.output
    assert r.output.count("source:") == 14 and "NOT Chen et al." in r.output


def test_product_command_writes_stack(tmp_path):
    p = sample("MCD15A2.A2012001.h17v03.005.2012017211237.hdf")
    out = tmp_path / "lai.nc"
    r = CliRunner().invoke(main, ["lai", "product", str(p), "--out", str(out)])
    assert r.exit_code == 0, r.output
    ds = xr.open_dataset(out)
    assert set(ds.data_vars) >= {"lai", "lai_class", "qa_weight", "qa_good"}
    assert ds.lai.dtype == np.float32 and ds.sizes["time"] == 1


def test_validate_and_calibrate(tmp_path):
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.2, 5, (4, 20, 20))
    cover = np.full((20, 20), 6, "uint8")  # grass
    idx = 15 - 14 * np.exp(-0.5 * ref * 0.9) + rng.normal(0, 0.1, ref.shape)
    dims = ("time", "y", "x")
    xr.Dataset({"lai": (dims, ref)}).to_netcdf(tmp_path / "ref.nc")
    xr.Dataset({"lai": (dims, ref + 0.2)}).to_netcdf(tmp_path / "ret.nc")
    xr.Dataset({"SR": (dims, idx)}).to_netcdf(tmp_path / "idx.nc")
    xr.Dataset({"cover": (("y", "x"), cover)}).to_netcdf(tmp_path / "cov.nc")
    png = tmp_path / "v.png"
    r = CliRunner().invoke(
        main,
        [
            "lai",
            "validate",
            str(tmp_path / "ret.nc"),
            str(tmp_path / "ref.nc"),
            "--cover",
            str(tmp_path / "cov.nc"),
            "--plot",
            str(png),
        ],
    )
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    assert abs(st["all"]["bias"] - 0.2) < 1e-9 and st["grass"]["n"] == 1600
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = CliRunner().invoke(
        main,
        [
            "lai",
            "calibrate",
            "--index",
            str(tmp_path / "idx.nc"),
            "--reference",
            str(tmp_path / "ref.nc"),
            "--cover",
            str(tmp_path / "cov.nc"),
            "--out",
            str(tmp_path / "c.toml"),
        ],
    )
    assert r.exit_code == 0, r.output
    from modisoft.lai import load_curves

    (c,) = load_curves(tmp_path / "c.toml")
    assert c.cover_type == "grass" and abs(c.params["c"] - 0.5) < 0.03
    assert {"n", "r2", "rmse", "bias"} <= set(c.extra)


def test_avhrr_command(tmp_path):
    rng = np.random.default_rng(1)
    sr = rng.uniform(2, 10, (30, 5, 6))
    lai = 0.3 + 0.4 * sr
    lai[20:] = np.nan  # AVHRR-only period
    t = np.array(np.arange(30), dtype="timedelta64[D]") + np.datetime64("2000-01-01")
    xr.Dataset(
        {"sr_avhrr": (("time", "y", "x"), sr), "lai_modis": (("time", "y", "x"), lai)},
        coords={"time": t},
    ).to_netcdf(tmp_path / "s.nc")
    r = CliRunner().invoke(
        main,
        [
            "lai",
            "avhrr",
            str(tmp_path / "s.nc"),
            "--overlap",
            "2000-01-01:2000-01-20",
            "--out",
            str(tmp_path / "o.nc"),
        ],
    )
    assert r.exit_code == 0, r.output
    o = xr.open_dataset(tmp_path / "o.nc")
    np.testing.assert_allclose(o.lai.values[25], 0.3 + 0.4 * sr[25], atol=1e-4)
    assert (o.n.values == 20).all()


def test_relation_command_two_stacks_cover_and_season(tmp_path):
    """VIIRS -> MODIS LAI, two stacks and a cover layer (synthetic, known relations)."""
    rng = np.random.default_rng(3)
    t = np.arange("2020-01-01", "2022-01-01", 8, dtype="datetime64[D]").astype("datetime64[ns]")
    src = rng.uniform(0.5, 6, (t.size, 6, 8))
    cover = np.where(np.arange(8) < 4, 1, 2)[None, :].repeat(6, 0).astype("uint8")
    tgt = np.where(cover == 1, 0.2 + 1.1 * src, -0.1 + 0.9 * src) + rng.normal(0, 0.05, src.shape)
    dims = ("time", "y", "x")
    xr.Dataset({"lai": (dims, src)}, coords={"time": t}).to_netcdf(tmp_path / "vnp.nc")
    xr.Dataset({"lai": (dims, tgt)}, coords={"time": t}).to_netcdf(tmp_path / "mod.nc")
    xr.Dataset({"cover": (("y", "x"), cover)}).to_netcdf(tmp_path / "cover.nc")
    args = ["lai", "relation", str(tmp_path / "vnp.nc"), str(tmp_path / "mod.nc"),
            "--source-var", "lai", "--target-var", "lai", "--cover", str(tmp_path / "cover.nc"),
            "--overlap", "2020-01-01:2021-06-30", "--season", "djf", "--source-sensor", "VIIRS",
            "--target-sensor", "MODIS", "--out", str(tmp_path / "rel.nc"),
            "--json", str(tmp_path / "rel.json")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "VIIRS on the MODIS scale" in r.output and "bias_after" in r.output
    assert len([ln for ln in r.output.splitlines() if ln.split()[:1] in (["all"], ["1"], ["2"])]
               ) == 3 * 5
    rec = json.loads((tmp_path / "rel.json").read_text())
    fits = {(f["cover"], f["season"]): f for f in rec["fits"]}
    n_overlap = int((t <= np.datetime64("2021-06-30")).sum()) * 6 * 4
    assert fits[1, "all"]["n"] == n_overlap and abs(fits[1, "all"]["b"] - 1.1) < 0.01
    assert abs(fits[2, "JJA"]["a"] + 0.1) < 0.05
    assert xr.open_dataset(tmp_path / "rel.nc").sizes == {"cover": 3, "season": 5}
    bad = CliRunner().invoke(main, [*args[:7], "--form", "cubic"])
    assert bad.exit_code == 2 and "cubic" in bad.output


# ----------------------------------------------------- retrieve with a GeoTIFF land cover
def _mapping() -> tuple[list[str], dict[int, str], dict[str, float]]:
    """Cover types, IGBP code -> cover type, and Omega per cover type, read from the shipped
    tables with tomllib."""
    import tomllib
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "modisoft" / "lai" / "data"
    lc = tomllib.loads((data / "landcover_mcd12q1.toml").read_text())
    m = next(m for m in lc["mapping"] if m["name"] == "LC_Type1")
    om = tomllib.loads((data / "clumping_by_cover.toml").read_text())
    return (lc["cover_types"], {int(k): v for k, v in m["classes"].items()},
            {o["cover_type"]: o["omega"] for o in om["omega"]})


def test_retrieve_with_a_utm_geotiff_landcover(tmp_path):
    """`lai retrieve` of the real MOD13A2 h18v09 granule with a **synthetic** land cover in
    UTM 32S (250 m blocks over the Gabon coast): the cover of every output pixel is the mode
    of the codes under it (pyproj + numpy, :mod:`landcover_oracle`), and the LAI there
    follows that cover's SR curve and Omega (pyhdf reflectances, the curve table's knots)."""
    from affine import Affine
    from landcover_oracle import NODATA, mode_under_pixels, write_block_landcover
    from pipeline.test_lai import curves, lut_lai
    from pyhdf.SD import SD

    f = sample("MOD13A2.A2025001.h18v09.061.2025022080611.hdf")
    codes, src_tr = write_block_landcover(tmp_path / "lc.tif", "EPSG:32732", 480000.0,
                                          9975000.0, 250.0)
    out = tmp_path / "lai.nc"
    r = CliRunner().invoke(main, ["lai", "retrieve", str(f), "--landcover",
                                  str(tmp_path / "lc.tif"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    ds = xr.open_dataset(out)
    # the tile's grid, from its StructMetadata.0
    sd = SD(str(f))
    meta = sd.attributes()["StructMetadata.0"]
    ulx, uly = (float(v) for v in meta.split("UpperLeftPointMtrs=(")[1].split(")")[0].split(","))
    band = {}
    for name in ("red", "NIR"):
        sds = sd.select(f"1 km 16 days {name} reflectance")
        a = sds.attributes()
        v = sds[:].astype(float)
        lo, hi = a["valid_range"]
        band[name] = np.where((v != a["_FillValue"]) & (v >= lo) & (v <= hi),
                              v / a["scale_factor"], np.nan)
    sd.end()
    pix = 2 * np.pi * 6371007.181 / 36 / 1200
    sinu = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
    np.testing.assert_allclose(ds.x.values[:2], ulx + pix * np.array([0.5, 1.5]))
    e = mode_under_pixels(sinu, Affine(pix, 0, ulx, 0, -pix, uly), (1200, 1200), codes,
                          "EPSG:32732", src_tr)
    types, igbp, omega = _mapping()
    code_of = {k: (0 if ct == "not_vegetated" else types.index(ct) + 1) for k, ct in igbp.items()}
    want = np.vectorize(lambda c: code_of.get(int(c), 255))(e.code)
    ok = e.comparable & (e.code != NODATA)
    cover = ds.cover.values
    np.testing.assert_array_equal(cover[ok], want[ok])
    assert ok.sum() > 8000 and (ok & e.mixed).sum() > 1000
    assert (ok & e.some_nodata).sum() > 100  # nodata under part of the pixel did not vote
    assert (cover[e.code == NODATA] == 255).all()  # outside the land cover or nodata: fill
    assert (ds.lai_flag.values[e.code == NODATA] == 11).all()
    # the LAI follows the pixel's cover: SR curve of its type, then / Omega
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = np.where(band["red"] > 0, band["NIR"] / band["red"], np.nan)
    cs = curves("SR")
    lai = ds.lai.values
    checked = 0
    for k in np.unique(e.code[ok]):
        ct = igbp[int(k)]
        sel = ok & (e.code == k) & np.isfinite(sr)
        if ct == "not_vegetated":
            assert np.isnan(lai[sel]).all() and (ds.lai_flag.values[sel] == 10).all()
            continue
        expect = lut_lai(cs[ct], sr[sel]) / omega[ct]
        np.testing.assert_allclose(lai[sel], expect, rtol=1e-5, atol=1e-5, err_msg=ct)
        checked += int(sel.sum())
    assert checked > 5000


def test_retrieve_names_a_landcover_it_cannot_use(tmp_path):
    f = sample("MOD13A2.A2025001.h18v09.061.2025022080611.hdf")
    (tmp_path / "lc.tif").write_text("not a raster")
    r = CliRunner().invoke(main, ["lai", "retrieve", str(f), "--landcover",
                                  str(tmp_path / "lc.tif"), "--out", str(tmp_path / "o.nc")])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [r.output.strip()]  # one line, no traceback
    assert f"{tmp_path / 'lc.tif'}: not a land-cover raster" in r.output
    other = sample("MCD12Q1.A2020001.h24v07.061.2022172012059.hdf")  # India, not Gabon
    r = CliRunner().invoke(main, ["lai", "retrieve", str(f), "--landcover", str(other),
                                  "--out", str(tmp_path / "o.nc")])
    assert r.exit_code == 2 and "the land cover does not overlap the grid" in r.output
    assert str(other) in r.output and not (tmp_path / "o.nc").exists()


def _relation_stacks(tmp_path):
    """Two small synthetic LAI stacks, target = 0.2 + 1.1 source."""
    rng = np.random.default_rng(4)
    t = np.arange("2020-01-01", "2021-01-01", 8, dtype="datetime64[D]").astype("datetime64[ns]")
    src = rng.uniform(0.5, 6, (t.size, 4, 5))
    dims = ("time", "y", "x")
    xr.Dataset({"lai": (dims, src)}, coords={"time": t}).to_netcdf(tmp_path / "vnp.nc")
    xr.Dataset({"lai": (dims, 0.2 + 1.1 * src)}, coords={"time": t}).to_netcdf(
        tmp_path / "mod.nc")
    return ["lai", "relation", str(tmp_path / "vnp.nc"), str(tmp_path / "mod.nc"),
            "--source-var", "lai", "--target-var", "lai"]


def test_relation_overlap_must_be_dates_in_order(tmp_path):
    args = _relation_stacks(tmp_path)
    for overlap, words in [("2020-02-30:2020-12-31", "'2020-02-30' is not a date"),
                           ("2020-12-31:2020-01-01", "the end 2020-01-01 is before the start"),
                           ("2020-01-01", "need START:END")]:
        r = CliRunner().invoke(main, [*args, "--overlap", overlap])
        assert r.exit_code == 2, r.output
        assert "--overlap" in r.output and words in r.output, r.output
        assert "Traceback" not in r.output and "TypeError" not in r.output
    r = CliRunner().invoke(main, [*args, "--overlap", "2020-03-01:"])  # open end: accepted
    assert r.exit_code == 0, r.output
    assert CliRunner().invoke(main, [*args, "--n-min", "0"]).exit_code == 2


def test_relation_out_does_not_replace_a_file_that_is_not_a_relation(tmp_path):
    args = _relation_stacks(tmp_path)
    before = (tmp_path / "mod.nc").read_bytes()
    r = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "mod.nc")])
    assert r.exit_code == 2, r.output
    assert "mod.nc exists and is not a relation" in r.output
    assert (tmp_path / "mod.nc").read_bytes() == before
    out = tmp_path / "rel.nc"
    for _ in range(2):  # a relation written by 'modisoft lai relation' is replaced
        r = CliRunner().invoke(main, [*args, "--out", str(out)])
        assert r.exit_code == 0, r.output
    with xr.open_dataset(out) as rel:
        assert abs(float(rel["b"].sel(cover=ALL_COVERS)) - 1.1) < 1e-6


def test_avhrr_overlap_that_is_not_a_date_is_a_usage_error(tmp_path):
    t = np.arange("2000-01-01", "2000-03-01", 8, dtype="datetime64[D]").astype("datetime64[ns]")
    v = np.ones((t.size, 2, 2))
    xr.Dataset({"sr_avhrr": (("time", "y", "x"), v), "lai_modis": (("time", "y", "x"), v)},
               coords={"time": t}).to_netcdf(tmp_path / "s.nc")
    r = CliRunner().invoke(main, ["lai", "avhrr", str(tmp_path / "s.nc"), "--overlap",
                                  "2000-01-01:2000-02-31", "--out", str(tmp_path / "o.nc")])
    assert r.exit_code == 2 and "'2000-02-31' is not a date" in r.output, r.output


def test_relation_cover_or_target_on_another_grid_names_the_file(tmp_path):
    args = _relation_stacks(tmp_path)  # 4 x 5 pixels
    xr.Dataset({"cover": (("y", "x"), np.ones((3, 5), "uint8"))}).to_netcdf(tmp_path / "c.nc")
    r = CliRunner().invoke(main, [*args, "--cover", str(tmp_path / "c.nc")])
    assert r.exit_code == 2, r.output
    assert f"Invalid value for --cover: {tmp_path / 'c.nc'}: variable 'cover' is (y: 3, x: 5)" \
        in r.output
    assert "accepted: one (y, x) layer of (y: 4, x: 5)" in r.output
    xr.Dataset({"lai": (("time", "y", "x"), np.ones((2, 3, 5)))}).to_netcdf(tmp_path / "t.nc")
    r = CliRunner().invoke(main, [*args[:3], str(tmp_path / "t.nc"), *args[4:]])
    assert r.exit_code == 2, r.output
    assert "t.nc" in r.output and "vnp.nc" in r.output and "y: 3, x: 5)" in r.output


def test_relation_json_does_not_replace_a_file_that_is_not_a_relation(tmp_path):
    args = _relation_stacks(tmp_path)
    other = tmp_path / "record.toml"
    other.write_text('[record]\nperiod = "month"\n')
    r = CliRunner().invoke(main, [*args, "--json", str(other)])
    assert r.exit_code == 2, r.output
    assert "record.toml exists and is not a relation" in r.output
    assert other.read_text() == '[record]\nperiod = "month"\n'
    out = tmp_path / "rel.json"
    for _ in range(2):  # a relation record is replaced
        assert CliRunner().invoke(main, [*args, "--json", str(out)]).exit_code == 0
    assert set(json.loads(out.read_text())) == {"attrs", "dims", "fits"}
