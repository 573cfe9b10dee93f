"""QA on the real sample granules: ``good_lai`` against the literature's formulation on every
2012 h17v03 MCD15A2 file, ``modisoft qa`` class counts against counts computed here from
pyhdf-read words, and the ``--mask`` GeoTIFF against GDAL's georeferencing of the source."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import SAMPLE_DIR, sample
from pyhdf.SD import SD

from modisoft import open_granule
from modisoft.cli import main
from modisoft.qa import qa_mask


def pyhdf_words(path, layer: str) -> tuple[np.ndarray, list[int]]:
    sd = SD(str(path))
    try:
        sds = sd.select(layer)
        fill = sds.attributes().get("_FillValue")
        return sds[:], ([] if fill is None else [int(fill)])
    finally:
        sd.end()


# --- good_lai vs the literature ------------------------------------------------------------------


@pytest.mark.slow
def test_good_lai_agrees_with_literature_on_all_2012_h17v03_files(capsys):
    files = sorted(SAMPLE_DIR.glob("MCD15A2.A2012*.h17v03.005.*.hdf"))
    if len(files) != 46:
        pytest.skip(f"expected the 46 MCD15A2 2012 h17v03 files, found {len(files)}")
    totals = {"good_lai": 0, "lt64": 0, "lt64_clear": 0, "pixels": 0}
    for path in files:
        qc, _ = pyhdf_words(path, "FparLai_QC")
        q = qc.astype(np.int64)
        # literature (ALGORITHMS.md §6): "FparLai_QC < 64", plus cloud state (bits 3-4) == 0
        literature = (q < 64) & (((q >> 3) & 3) == 0)
        # QA.md §2.3 formulation
        qa_md = (q != 255) & ((q >> 5) <= 1) & (((q >> 3) & 3) == 0)
        got = qa_mask(open_granule(path, ["FparLai_QC"]), "good_lai").values
        np.testing.assert_array_equal(got, literature, err_msg=path.name)
        np.testing.assert_array_equal(got, qa_md, err_msg=path.name)
        main_alg = qa_mask(open_granule(path, ["FparLai_QC"]), "main_algorithm").values
        np.testing.assert_array_equal(main_alg, q < 64, err_msg=path.name)
        totals["good_lai"] += int(got.sum())
        totals["lt64"] += int((q < 64).sum())
        totals["lt64_clear"] += int(literature.sum())
        totals["pixels"] += q.size
    assert totals["good_lai"] > 0  # summer files hold main-algorithm clear pixels
    assert totals["lt64"] > totals["good_lai"]  # good_lai is stricter than QC < 64 alone
    with capsys.disabled():
        print(f"\n46 MCD15A2 h17v03 2012 files: {totals}")


# --- modisoft qa counts --------------------------------------------------------------------------

CLI_FILES = [
    ("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf", ()),
    ("MOD09A1.A2017193.h18v04.006.2017202035302.hdf", ()),
    ("MOD09GA.A2008296.h14v17.006.2015181011753.hdf", ()),
    ("MOD13A2.A2025017.h18v09.061.2025035161835.hdf", ()),
    ("MOD11A1.hdf", ()),
    ("MOD11B2.A2017001.h14v04.006.2017013155631.hdf", ()),
    ("MCD43A3.A2017199.h15v07.006.2017208032853.hdf", ("BRDF_Albedo_Band_Mandatory_Quality_nir",)),
]


@pytest.mark.parametrize(("fname", "layers"), CLI_FILES, ids=[f[:16] for f, _ in CLI_FILES])
def test_cli_counts_equal_independent_counts(fname, layers):
    path = sample(fname)
    args = ["qa", "--json", str(path)] + [a for lyr in layers for a in ("--layer", lyr)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["layers"], "no QA layer reported"
    if layers:
        assert [lyr["layer"] for lyr in out["layers"]] == list(layers)
    for lyr in out["layers"]:
        words, fills = pyhdf_words(path, lyr["layer"])
        if fname.startswith("MOD11B2"):
            fills = []  # registry deviation: QC 0 means good quality there, not fill
        bits = words.dtype.itemsize * 8
        u = words.astype(np.int64) & ((1 << bits) - 1)
        is_fill = np.isin(words, fills)
        assert lyr["pixels"] == words.size
        assert lyr["fill"] == int(is_fill.sum())
        for f in lyr["fields"]:
            lo, _, hi = f["bits"].partition("-")
            lo, hi = int(lo), int(hi or lo)
            codes = (u[~is_fill] >> lo) & ((1 << (hi - lo + 1)) - 1)
            want = np.bincount(codes, minlength=1 << (hi - lo + 1))
            got = {c["code"]: c["count"] for c in f["classes"]}
            for code, n in enumerate(want):
                assert got.get(code, 0) == n, (lyr["layer"], f["field"], code)
                if code in got:
                    pct = next(c["percent"] for c in f["classes"] if c["code"] == code)
                    assert pct == pytest.approx(100.0 * n / words.size, abs=1e-4)


def test_cli_table_text():
    path = sample("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf")
    result = CliRunner().invoke(main, ["qa", str(path)])
    assert result.exit_code == 0, result.output
    q, _ = pyhdf_words(path, "FparLai_QC")
    n_main = int(((q >> 5) == 0).sum())
    assert f"{n_main:>10}" in result.output  # the scf_qc "main" row
    assert "scf_qc [bits 5-7]" in result.output and "cloud_state [bits 3-4]" in result.output


def test_cli_errors():
    path = sample("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf")
    r = CliRunner().invoke(main, ["qa", str(path), "--mask", "good_lai"])
    assert r.exit_code == 2 and "--mask and --out go together" in r.output
    r = CliRunner().invoke(main, ["qa", str(path), "--mask", "cloud == clear", "--out", "x.tif"])
    assert r.exit_code == 1 and "no QA field or preset 'cloud'" in r.output
    r = CliRunner().invoke(main, ["qa", str(path), "--layer", "Lai_500m"])
    assert r.exit_code == 1 and "no QA layer 'Lai_500m'" in r.output
    lc = sample("MCD12Q1.A2020001.h24v07.061.2022172012059.hdf")
    r = CliRunner().invoke(main, ["qa", str(lc)])
    assert r.exit_code == 1 and "no QA layer with bit fields" in r.output


# --- --mask GeoTIFF ------------------------------------------------------------------------------

MASK_CASES = [
    (
        "MCD15A2H.A2016201.h18v05.006.2016215124658.hdf",
        "MOD_Grid_MOD15A2H",
        "FparLai_QC",
        "good_lai",
    ),
    (
        "MOD09GA.A2008296.h14v17.006.2015181011753.hdf",
        "MODIS_Grid_1km_2D",
        "state_1km_1",
        "cloud_state == clear and not mod35_snow_ice",
    ),
]


def independent_mask(fname: str, layer: str, words: np.ndarray) -> np.ndarray:
    q = words.astype(np.int64)
    if layer == "FparLai_QC":
        ok = (q < 64) & (((q >> 3) & 3) == 0)
        fill = q == 255
    else:
        ok = ((q & 3) == 0) & (((q >> 12) & 1) == 0)
        fill = q == 65535
    out = ok.astype(np.uint8)
    out[fill] = 255
    return out


@pytest.mark.gdal
@pytest.mark.skipif(shutil.which("gdalinfo") is None, reason="gdalinfo is the oracle")
@pytest.mark.parametrize(
    ("fname", "grid", "layer", "expr"), MASK_CASES, ids=[c[0][:8] for c in MASK_CASES]
)
def test_cli_mask_geotiff_values_and_georeferencing(fname, grid, layer, expr, tmp_path):
    path = sample(fname)
    out = tmp_path / "mask.tif"
    r = CliRunner().invoke(
        main, ["qa", str(path), "--layer", layer, "--mask", expr, "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    words, _ = pyhdf_words(path, layer)
    want = independent_mask(fname, layer, words)
    with rasterio.open(out) as src:
        got = src.read(1)
        assert src.nodata == 255 and src.dtypes[0] == "uint8"
        assert src.tags()["qa_rule"] == expr
    np.testing.assert_array_equal(got, want)
    assert f"{int((want == 1).sum())} of {want.size} pixels pass" in r.output

    def info(target: str) -> dict:
        p = subprocess.run(
            ["gdalinfo", "-json", target], capture_output=True, text=True, check=True
        )
        return json.loads(p.stdout)

    ref = info(f'HDF4_EOS:EOS_GRID:"{path}":{grid}:{layer}')
    mine = info(str(out))
    np.testing.assert_allclose(mine["geoTransform"], ref["geoTransform"], rtol=0, atol=1e-6)
    assert mine["size"] == ref["size"]
    # the same projection: sinusoidal on the MODIS sphere
    wkt = mine["coordinateSystem"]["wkt"]
    assert "Sinusoidal" in wkt and "6371007.181" in wkt


def test_mask_and_weights_keep_the_grid():
    from modisoft import Grid
    from modisoft.qa import qa_weights

    ds = open_granule(sample("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf"))
    grid = Grid.from_xarray(ds["FparLai_QC"])
    assert Grid.from_xarray(qa_mask(ds, "good_lai")) == grid
    w = qa_weights(ds)
    assert Grid.from_xarray(w) == grid
    q, _ = pyhdf_words(sample("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf"), "FparLai_QC")
    q = q.astype(int)
    good = (q < 64) & (((q >> 3) & 3) == 0)
    want = np.where(good, 1.0, np.where(q < 64, 0.5, 0.0))  # default MOD15 scheme
    np.testing.assert_array_equal(w.values, want.astype("float32"))
