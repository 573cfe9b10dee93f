"""The ``[steps] lai = "retrieve"`` national run: LAI from the real MOD13A2 h18v09 2025
reflectances (the 10 Terra files of the sample data), checked against an independent
computation written out here with pyhdf, pyproj and numpy: nearest source pixel, the VI
Quality bits of ``vi_good``, the documented scale (stored / 10000, fill -1000, valid range
0-10000), SR = NIR/red (RSR by hand), the curve of the parameter table applied by hand for the
pixel's cover type, and LAI = LAIe / Omega with Omega from reference/BEPS.md §5.

There is no MCD12Q1 for h18v09 in the sample data: the land cover is a **synthetic** GeoTIFF
written by the tests (IGBP codes in stripes, incl. water and barren), on its own 0.004° grid
so that the mosaic onto the 0.01° output grid is a real resampling.  The POLDER-coded
clumping raster of the RSR run is synthetic too.
"""

from __future__ import annotations

import json
import tomllib
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import SAMPLE_DIR
from pipeline.test_run import SINU, quiet, write_config
from pyhdf.SD import SD
from pyproj import Transformer

from modisoft.io.stack import open_stack
from modisoft.pipeline import ConfigError, load_config, run

LAI_DATA = Path(__file__).resolve().parents[2] / "modisoft" / "lai" / "data"
FILES = sorted(SAMPLE_DIR.glob("MOD13A2.A2025*.h18v09.061.*.hdf"))
PIX = 2 * np.pi * 6371007.181 / 36 / 1200
RED, NIR, MIR = (f"1 km 16 days {b} reflectance" for b in ("red", "NIR", "MIR"))
VIQ = "1 km 16 days VI Quality"

# Output grid: 100 x 100 pixels of 0.01° over the Gabon coast (land in the NE of h18v09);
# its rows sit 0.001° off the round degrees so that no pixel centre falls on a source pixel
# edge (at -0.625° it would: a tie the nearest neighbour may break either way); [grid] bounds
# snap to the resolution, so the grid is given by a template raster (`like`).
LEFT, TOP, RES = 8.8, -0.201, 0.01
LC_RES, LC_N = 0.004, 250  # the synthetic land cover: 1° x 1° at 0.004°
# IGBP codes (MCD12Q1 LC_Type1): 2 evergreen broadleaf, 4 deciduous broadleaf, 12 cropland,
# 1 evergreen needleleaf, 17 water, 16 barren.
OMEGA_BEPS = {"conifer": 0.5, "deciduous": 0.7, "mixed": 0.6, "crop": 0.9,
              "evergreen_broadleaf": 1.0}
NONVEG_IGBP = (16, 17)

pytestmark = [
    pytest.mark.skipif(len(FILES) != 10,
                       reason="the 10 MOD13A2 h18v09 files are not in the sample data"),
    pytest.mark.xdist_group("pipeline/test_lai"),  # a module fixture: one test process
]


def synthetic_landcover() -> np.ndarray:
    lc = np.full((LC_N, LC_N), 2, np.uint8)
    lc[:, 50:100] = 4
    lc[:, 100:150] = 12
    lc[:, 150:200] = 1
    lc[:, 200:] = 17
    lc[:50, :] = 16
    return lc


def write_raster(path: Path, data: np.ndarray, res: float, nodata: int = 255) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype=data.dtype,
        crs="EPSG:4326",
        nodata=nodata,
        transform=from_origin(LEFT, TOP, res, res),
    ) as dst:
        dst.write(data, 1)
    return path


def polder_clumping() -> np.ndarray:
    """Omega x 100 per output pixel in column stripes, with POLDER 254 (water) and 255."""
    c = np.full((100, 100), 65, np.uint8)
    c[:, 30:60] = 80
    c[:, 60:70] = 254
    c[90:, :] = 255
    return c


RUN = """
[inputs]
paths = ["{sample}/MOD13A2.A2025*.h18v09.061.*.hdf"]
product = "MOD13A2"
start = "2025-01-01"
end = "2025-06-09"

[grid]
like = "template.tif"

[steps]
qa_rule = "vi_good"
resampling = "nearest"
period = "beps10"
reducer = "max"
lai = "retrieve"

[lai]
landcover = ["lc.tif"]
{lai}

[output]
dir = "out"
formats = {formats}
chunk = 32
report = false

[compute]
workers = 0
"""


def retrieve_config(
    tmp: Path, lai: str = 'index = "SR"', formats: str = '["zarr"]', extra: str = ""
) -> Path:
    write_raster(tmp / "lc.tif", synthetic_landcover(), LC_RES)
    write_raster(tmp / "template.tif", np.zeros((100, 100), np.uint8), RES)  # [grid] like
    p = tmp / "run.toml"
    p.write_text(RUN.format(sample=SAMPLE_DIR, lai=lai, formats=formats) + extra)
    return p


# ------------------------------------------------------------------ independent expectation
def curves(index: str) -> dict[str, dict]:
    doc = tomllib.loads((LAI_DATA / "default_curves.toml").read_text())
    return {c["cover_type"]: c for c in doc["curve"] if c["index"] == index}


def igbp_to_cover() -> dict[int, str]:
    doc = tomllib.loads((LAI_DATA / "landcover_mcd12q1.toml").read_text())
    m = next(m for m in doc["mapping"] if m["name"] == "LC_Type1")
    return {int(k): v for k, v in m["classes"].items()}


def lut_lai(curve: dict, x: np.ndarray) -> np.ndarray:
    """Effective LAI from the curve table's knots: piecewise linear, 0 at or below the first
    knot, lai_max at or above the index of lai_max."""
    assert curve["form"] == "lut"
    xi = np.asarray(curve["params"]["index_knots"], float)
    yi = np.asarray(curve["params"]["lai_knots"], float)
    hi = np.interp(curve["lai_max"], yi, xi)
    return np.where(x >= hi, curve["lai_max"], np.where(x <= xi[0], 0.0, np.interp(x, xi, yi)))


def centres() -> tuple[np.ndarray, np.ndarray]:
    xs = LEFT + RES / 2 + RES * np.arange(100)
    ys = TOP - RES / 2 - RES * np.arange(100)
    return np.meshgrid(xs, ys)


def cover_of_pixels() -> np.ndarray:
    """IGBP code of each output pixel: the land-cover pixel holding its centre (floor)."""
    lon, lat = centres()
    col = np.floor((lon - LEFT) / LC_RES).astype(int)
    row = np.floor((TOP - lat) / LC_RES).astype(int)
    return synthetic_landcover()[row, col]


def sample_dates() -> list[tuple[str, dict[str, np.ndarray]]]:
    """Per file: the BEPS dekad label and, per output pixel, the nearest source pixel's
    reflectances (NaN where fill, outside 0-10000 or failing vi_good)."""
    lon, lat = centres()
    sx, sy = Transformer.from_crs("EPSG:4326", SINU, always_xy=True).transform(lon, lat)
    out = []
    for f in FILES:
        sd = SD(str(f))
        meta = sd.attributes()["StructMetadata.0"]
        ul = meta.split("UpperLeftPointMtrs=(")[1].split(")")[0].split(",")
        col = np.floor((sx - float(ul[0])) / PIX).astype(int)
        row = np.floor((float(ul[1]) - sy) / PIX).astype(int)
        q = sd.select(VIQ)[:].astype(np.int64)[row, col]
        good = (
            (q != 65535)
            & ((q & 3) == 0)
            & ((q >> 8) & 1 == 0)
            & ((q >> 10) & 1 == 0)
            & ((q >> 14) & 1 == 0)
            & ((q >> 15) & 1 == 0)
        )
        bands = {}
        for name in (RED, NIR, MIR):
            sds = sd.select(name)
            a = sds.attributes()
            v = sds[:].astype(float)[row, col]
            lo, hi = a["valid_range"]
            ok = good & (v != a["_FillValue"]) & (v >= lo) & (v <= hi)
            bands[name] = np.where(ok, v / a["scale_factor"], np.nan)
        sd.end()
        d = date(2025, 1, 1).toordinal() + int(f.name.split(".")[1][5:8]) - 1
        d = date.fromordinal(d)
        out.append((f"{d.year}-{d.month:02d}-d{min((d.day - 1) // 10, 2) + 1}", bands))
    return out


def expected_lai(
    index: str, omega: np.ndarray | None = None, swir: list | None = None,
    cover: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per dekad label (one MOD13A2 date each): true LAI by hand; NaN where not retrieved.
    ``cover``: the IGBP code of each pixel (default :func:`cover_of_pixels`)."""
    cover = cover_of_pixels() if cover is None else cover
    to_cover = igbp_to_cover()
    cs = curves(index)
    if omega is None:
        omega = np.vectorize(lambda c: OMEGA_BEPS.get(to_cover.get(int(c)), np.nan))(cover)
    out = {}
    for k, (label, b) in enumerate(sample_dates()):
        red, nir = b[RED], b[NIR]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(red > 0, nir / red, np.nan)
            if index == "RSR":
                lo, hi = swir[k]
                x = np.where(
                    np.isfinite(b[MIR]), np.maximum(x * (hi - b[MIR]) / (hi - lo), 0), np.nan
                )
        lai = np.full(x.shape, np.nan)
        for code in np.unique(cover):
            ct = to_cover.get(int(code), "not_vegetated")  # 255: fill, not retrieved
            if ct == "not_vegetated":
                continue
            sel = cover == code
            lai[sel] = lut_lai(cs[ct], x[sel]) / omega[sel]
        out[label] = lai
    return out


def compare(z: xr.Dataset, expect: dict[str, np.ndarray]) -> tuple[int, float]:
    labels = list(z.period_label.values)
    got = z.lai.values
    n, worst = 0, 0.0
    for label, e in expect.items():
        g = got[labels.index(label)]
        np.testing.assert_array_equal(np.isfinite(g), np.isfinite(e), err_msg=label)
        ok = np.isfinite(e)
        if ok.any():
            worst = max(worst, float(np.max(np.abs(g[ok] - e[ok]))))
        n += int(ok.sum())
    other = [i for i, lab in enumerate(labels) if lab not in expect]
    assert other and all(np.isnan(got[i]).all() for i in other)  # dekads without a granule
    return n, worst


# ------------------------------------------------------------------------------ SR run
@pytest.fixture(scope="module")
def sr_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sr")
    cfg = load_config(retrieve_config(tmp))
    summary = run(cfg, progress=False, echo=quiet)
    return tmp, summary, open_stack(tmp / "out" / "lai.zarr").load()


@pytest.mark.slow
def test_sr_run_equals_an_independent_retrieval(sr_run):
    _, summary, z = sr_run
    assert summary.failures == []
    n, worst = compare(z, expected_lai("SR"))
    print(f"SR: {n} retrieved pixel-dates compared over 10 dekads; max |diff| {worst:.2e}")
    assert n > 10_000
    assert worst <= 1e-4  # float32 reflectance and index in the run; the test uses float64


@pytest.mark.slow
def test_non_vegetated_pixels_are_coded_not_retrieved(sr_run):
    _, _, z = sr_run
    nonveg = np.isin(cover_of_pixels(), NONVEG_IGBP)
    assert nonveg.sum() == 3600  # 20 rows of barren + 20 columns of water (of 100 x 100)
    assert np.isnan(z.lai.values[:, nonveg]).all() and (z.n_obs.values[nonveg] == 0).all()
    fc = z.fill_class.values
    assert (fc[nonveg] == 10).all() and not (fc[~nonveg] == 10).any()  # LAI_FLAGS 10
    never = ~nonveg & (z.n_obs.values == 0)  # vegetated, but never a valid index
    assert never.any() and (fc[never] == 12).all() and (fc[~nonveg & ~never] == 0).all()


@pytest.mark.slow
def test_provenance_records_the_retrieval(sr_run):
    import hashlib

    _, _, z = sr_run
    prov = json.loads(z.attrs["modisoft_provenance"])
    r = prov["steps"]["retrieval"]
    assert r["method"] == "retrieve" and r["index"] == "SR" and r["swir"] is None
    assert r["bands"] == {"red": RED, "nir": NIR}
    table = LAI_DATA / "default_curves.toml"
    assert r["params"]["curves"] == str(table) and r["params"]["default"] is True
    assert r["params"]["curves_sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    assert r["clumping"]["kind"] == "per cover type"
    for ct, om in OMEGA_BEPS.items():
        assert r["clumping"]["omega_by_type"][ct] == om
    assert r["landcover"]["layer"] == "LC_Type1"
    assert [Path(f).name for f in r["landcover"]["files"]] == ["lc.tif"]
    assert r["cover_mapping"]["name"] == "LC_Type1"
    assert prov["config"]["lai"]["index"] == "SR"
    assert prov["steps"]["qa_rule"]["rule"] == "vi_good" and len(prov["granules"]) == 10


# ---------------------------------------------------------------------- RSR run
@pytest.mark.slow
def test_rsr_with_scene_percentiles_and_a_polder_clumping_raster(tmp_path):
    """RSR with the MOD13 'MIR' layer as SWIR (MODIS band 7, 2.1 µm, not the 1.6 µm band of
    Brown et al.: this checks the plumbing and arithmetic, not the science), SWIR limits the
    1st/99th percentiles of each date's mosaicked SWIR, Omega from a POLDER raster."""
    write_raster(tmp_path / "omega.tif", polder_clumping(), RES)
    lai = f'index = "RSR"\nswir = "scene"\nclumping = "omega.tif"\nbands = {{ swir = "{MIR}" }}'
    cfg = load_config(retrieve_config(tmp_path, lai=lai, formats='["zarr"]'))
    run(cfg, progress=False, echo=quiet)
    z = open_stack(tmp_path / "out" / "lai.zarr").load()
    prov = json.loads(z.attrs["modisoft_provenance"])["steps"]["retrieval"]
    limits = prov["swir"]["limits"]
    assert len(limits) == 10 and prov["swir"]["mode"].startswith("scene")
    dates = sample_dates()
    swir = []
    for (_, b), lim in zip(dates, limits, strict=True):
        m = b[MIR][np.isfinite(b[MIR]) & (b[MIR] >= 0)]
        lo, hi = np.percentile(m, [1, 99])
        assert lim["swir_min"] == pytest.approx(lo, abs=1e-6)
        assert lim["swir_max"] == pytest.approx(hi, abs=1e-6)
        swir.append((lim["swir_min"], lim["swir_max"]))
    dn = polder_clumping()
    omega = np.where(dn <= 252, dn / 100.0, np.nan)
    expect = expected_lai("RSR", omega=omega, swir=swir)
    n, worst = compare(z, expect)
    print(
        f"RSR: {n} retrieved pixel-dates compared; max |diff| {worst:.2e}; SWIR limits of "
        f"the first date {swir[0][0]:.4f}-{swir[0][1]:.4f}"
    )
    assert n > 5_000 and worst <= 1e-4  # float32 in the run, float64 here
    assert np.isnan(z.lai.values[:, :, 60:70]).all() and np.isnan(z.lai.values[:, 90:]).all()
    assert prov["clumping"]["kind"] == "per pixel raster"
    assert prov["clumping"]["path"].endswith("omega.tif")
    # the Omega used is in the store (and so in the BEPS clumping file), decoded independently
    np.testing.assert_allclose(z.omega.values, omega, rtol=0, atol=1e-6, equal_nan=True)


# ------------------------------------------------- a land cover in another CRS (UTM 32S)
@pytest.mark.slow
def test_a_utm_geotiff_landcover_is_resampled_by_mode_and_drives_the_retrieval(tmp_path):
    """The land cover as a **synthetic** GeoTIFF in UTM 32S (250 m, 5 km blocks of IGBP codes
    and nodata, not reaching the grid's edges) under the 0.01° geographic grid: each pixel's
    cover is the mode of the codes under it (pyproj + numpy, :mod:`landcover_oracle`), seen
    in the Omega the run stores (one value per cover type) and the fill class; its LAI follows
    that cover's curve."""
    from affine import Affine
    from landcover_oracle import NODATA, mode_under_pixels, write_block_landcover

    p = retrieve_config(tmp_path)
    codes, src_tr = write_block_landcover(tmp_path / "lc.tif", "EPSG:32732", 480000.0,
                                          9975000.0, 250.0)
    run(load_config(p), progress=False, echo=quiet)
    z = open_stack(tmp_path / "out" / "lai.zarr").load()
    e = mode_under_pixels("EPSG:4326", Affine(RES, 0, LEFT, 0, -RES, TOP), (100, 100), codes,
                          "EPSG:32732", src_tr)
    ok = e.comparable
    assert ok.sum() > 8000 and (ok & e.mixed).sum() > 1000 and (ok & e.some_nodata).sum() > 100
    to_cover = igbp_to_cover()
    ct = np.vectorize(lambda c: to_cover.get(int(c), "fill"))(e.code)
    omega = np.vectorize(lambda c: OMEGA_BEPS.get(c, np.nan))(ct)
    veg = ok & np.isfinite(omega)
    np.testing.assert_allclose(z.omega.values[veg], omega[veg], rtol=0, atol=1e-6)
    fc = z.fill_class.values
    assert (fc[ok & (ct == "fill")] == 11).all() and (ok & (ct == "fill")).sum() > 1000
    assert (fc[ok & (ct == "not_vegetated")] == 10).all()
    # the LAI of every comparable pixel and date follows its cover's curve and Omega
    expect = expected_lai("SR", cover=np.where(ok, e.code, NODATA))
    labels = list(z.period_label.values)
    n = 0
    for label, want in expect.items():
        got = z.lai.values[labels.index(label)]
        np.testing.assert_array_equal(np.isfinite(got[ok]), np.isfinite(want[ok]))
        fin = ok & np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], rtol=0, atol=1e-4, err_msg=label)
        n += int(fin.sum())
    assert n > 10_000
    r = json.loads(z.attrs["modisoft_provenance"])["steps"]["retrieval"]["landcover"]
    assert r["resampling"] == "mode" and [Path(f).name for f in r["files"]] == ["lc.tif"]


def test_a_landcover_that_is_not_a_raster_is_named_before_computing(tmp_path):
    p = retrieve_config(tmp_path)
    (tmp_path / "lc.tif").write_text("not a raster")
    with pytest.raises(ConfigError, match=r"\[lai\] landcover: .*lc\.tif: not a land-cover "
                                          r"raster"):
        run(load_config(p), progress=False, echo=quiet)
    assert not (tmp_path / "out" / "lai.zarr").exists()


# ------------------------------------------------------------------------ config errors
@pytest.mark.parametrize(
    ("lai", "steps_lai", "product", "match"),
    [
        (
            'landcover = ["lc.tif"]\nindex = "FOO"',
            "retrieve",
            "MOD13A2",
            r"\[lai\] index 'FOO'; accepted: SR, NDVI",
        ),
        (None, "retrieve", "MOD13A2", r"\[lai\] landcover: required"),
        ('landcover = ["lc.tif"]', "retrieve", "MCD15A2", r"MCD15A2 is an LAI product"),
        (
            'landcover = ["lc.tif"]\nindex = "RSR"',
            "retrieve",
            "MOD13A2",
            r"\[inputs\] product MOD13A2 has no swir reflectance layer for index RSR",
        ),
        ('landcover = ["lc.tif"]', "product", "MCD15A2", r"\[lai\] is only used with"),
        ('landcover = ["lc.tif"]', "magic", "MOD13A2", r"\[steps\] lai 'magic'; accepted"),
        (
            'landcover = ["lc.tif"]\nswir = [0.1, 0.4]',
            "retrieve",
            "MOD13A2",
            r"\[lai\] swir: only used with index = 'RSR'",
        ),
        (
            'landcover = ["lc.tif"]\nindex = "RSR"\nswir = [0.5, 0.1]',
            "retrieve",
            "MOD09A1",
            r"\[lai\] swir \[0.5, 0.1\]: need \[min, max\]",
        ),
        ('landcover = ["lc.tif"]\nclumping = 1.5', "retrieve", "MOD13A2", r"clumping 1.5: a fixed"),
        (
            'landcover = ["lc.tif"]\nclumping = "nowhere.tif"',
            "retrieve",
            "MOD13A2",
            r"\[lai\] clumping: no such file 'nowhere.tif'",
        ),
        (
            'landcover = ["lc.tif"]\nbands = { green = "x" }',
            "retrieve",
            "MOD13A2",
            r"\[lai\] bands: unknown role\(s\) green",
        ),
        (
            'landcover = ["lc.tif"]\nbands = { red = "sur_refl_b09" }',
            "retrieve",
            "MOD09A1",
            r"\[lai\] bands: MOD09A1: band 'red': no layer 'sur_refl_b09'",
        ),
        (
            'landcover = ["lc.tif"]\nlandcover_layer = "LC_Type9"',
            "retrieve",
            "MOD13A2",
            r"\[lai\] cover_mapping / landcover_layer: .*no mapping 'LC_Type9'",
        ),
        (
            'landcover = ["lc.tif"]\nparams = "curves.toml"',
            "retrieve",
            "MOD13A2",
            r"\[lai\] params: no such file 'curves.toml'",
        ),
        (
            'landcover = ["lc.tif"]\nsmoothing = 1',
            "retrieve",
            "MOD13A2",
            r"\[lai\] unknown key\(s\) smoothing; accepted: landcover",
        ),
    ],
)
def test_bad_retrieve_configs_name_the_key(tmp_path, lai, steps_lai, product, match):
    text = (
        f"[inputs]\npaths=['.']\nproduct='{product}'\n[grid]\nname='china_albers_1km'\n"
        f"[steps]\nlai='{steps_lai}'\n[output]\ndir='o'\n"
    )
    if lai is not None:
        text += f"[lai]\n{lai}\n"
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        load_config(p)
    assert str(p) in str(err.value)


def test_a_landcover_pattern_that_matches_nothing_fails_before_computing(tmp_path):
    p = retrieve_config(tmp_path, lai='index = "SR"', formats='["zarr"]')
    p.write_text(p.read_text().replace('landcover = ["lc.tif"]', 'landcover = ["lc/*.hdf"]'))
    with pytest.raises(ConfigError, match=r"\[lai\] landcover: nothing matches 'lc/\*.hdf'"):
        run(load_config(p), progress=False, echo=quiet)
    assert not (tmp_path / "out" / "lai.zarr").exists()


# ------------------------------------------------------------ product runs are unchanged
def test_a_product_config_has_no_lai_table_in_its_record(tmp_path):
    cfg = load_config(write_config(tmp_path))
    assert cfg.lai is None and cfg.steps.lai == "product"
    assert "lai" not in cfg.as_dict()  # same config record and digest as before [lai] existed
    assert set(cfg.as_dict()) == {"inputs", "grid", "steps", "output", "compute"}


@pytest.mark.slow
def test_a_product_run_still_equals_the_independent_composite(tmp_path):
    """The product path after the build_output refactor: the whole run against the
    independent nearest + max composite of tests/pipeline/test_run.py, and its provenance."""
    from pipeline.test_run import independent_expectation

    cfg_path = write_config(tmp_path, formats='["zarr"]')
    run(load_config(cfg_path), progress=False, echo=quiet)
    z = open_stack(tmp_path / "out" / "lai.zarr").load()
    expect, labels = independent_expectation(cfg_path)
    idx = [list(z.period_label.values).index(k) for k in labels]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(z.lai.values[idx], expect, rtol=0, atol=1e-6, equal_nan=True)
    prov = json.loads(z.attrs["modisoft_provenance"])
    assert prov["steps"]["retrieval"] == {"method": "product"}
    assert "lai" not in prov["config"]
    assert z.fill_class.attrs["source_layer"] == "Lai_1km"


def test_the_documented_example_config_loads(tmp_path):
    """The `[lai]` example of docs/how-to/lai-retrieval.md is a valid config (its data paths
    replaced by a local clumping raster)."""
    import re

    doc = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "lai-retrieval.md"
    text = re.findall(r"```toml\n(.*?)```", doc.read_text(), re.S)[0]
    assert 'lai = "retrieve"' in text and "[lai]" in text
    write_raster(tmp_path / "omega.tif", polder_clumping(), RES)
    text = text.replace("/data/polder_omega_china.tif", str(tmp_path / "omega.tif"))
    p = tmp_path / "c.toml"
    p.write_text(text)
    cfg = load_config(p)
    assert cfg.steps.lai == "retrieve" and cfg.lai.index == "RSR" and cfg.lai.swir == "table"
    assert cfg.inputs.product == "MOD09A1"


def test_mcd12q1_landcover_granules_at_their_own_resolution_take_the_nearest(tmp_path):
    """The `[lai] landcover` path for MCD12Q1 granules (the real h24v07 2020 file): on a
    native 500 m sinusoidal window of the tile (0.7 mm off the file's lattice: the HDF's tile
    corner is rounded to the millimetre), the land cover on the grid is exactly the file's
    LC_Type1 pixels read with pyhdf (nearest: GDAL's mode would count the slivers)."""
    from modisoft.pipeline import resolve_grid
    from modisoft.pipeline.inputs import landcover_on_grid

    f = SAMPLE_DIR / "MCD12Q1.A2020001.h24v07.061.2022172012059.hdf"
    if not f.exists():
        pytest.skip("MCD12Q1 h24v07 not in the sample data")
    p500 = PIX / 2
    x0, y0 = 24 - 18, 9 - 7  # tile h24v07: 6 tiles east, 2 tiles north of the origin
    left, top = (x0 * 2400 + 2000) * p500, y0 * 2400 * p500
    p = tmp_path / "c.toml"
    p.write_text(
        f"[inputs]\npaths=['.']\nproduct='MOD09A1'\n[grid]\ncrs='{SINU}'\n"
        f"resolution={p500!r}\nbounds=[{left + 0.1}, {top - 100 * p500 + 0.1}, "
        f"{left + 100 * p500 - 0.1}, {top - 0.1}]\n[steps]\nlai='retrieve'\n"
        f"[lai]\nlandcover=['{f}']\n[output]\ndir='o'\nchunk=32\n"
    )
    cfg = load_config(p)
    grid = resolve_grid(cfg)
    assert grid.shape == (100, 100)
    lc, files = landcover_on_grid(cfg, grid)
    sd = SD(str(f))
    expect = sd.select("LC_Type1")[:][0:100, 2000:2100]
    sd.end()
    np.testing.assert_array_equal(lc.values, expect)
    assert files == [str(f)] and len(np.unique(expect)) > 5
