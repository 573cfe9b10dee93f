"""A VIIRS national run (``product = "VNP15A2H"``) end to end, against an independent
expectation.

Inputs: **synthetic** VNP15A2H granules written by ``scripts/synth_viirs.py`` from the real
MCD15A2 pixels of ``sample_tiles/`` (h17v03 + h18v03, 6 dates of 2012; the values replicated
onto the 500 m lattice, the QA re-encoded in the VIIRS layout).  The expectation is written
here without modisoft: the stored words read with h5py, the window corners from the file's
``StructMetadata.0``, the nearest source pixel of each output centre with pyproj, the VIIRS
``good_lai`` as bit arithmetic (``FparLai_QC & 7 == 0`` and ``FparExtra_QC & 3 <= 1``,
PRODUCTS.md §10.2), LAI = DN / 10, the maximum per dekad.
"""

from __future__ import annotations

import json
import re
import warnings
from datetime import date
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SAMPLE_DIR
from conftest import synth_viirs as load_synth
from pipeline.test_run import SINU, run_config
from pyproj import Transformer

from modisoft.io.stack import open_stack
from modisoft.pipeline import ConfigError, load_config, run

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("pipeline/test_viirs_run")

ROOT = Path(__file__).resolve().parents[2]
DAYS = ("049", "057", "065", "073", "081", "089")  # 2012-02-18 .. 2012-03-29



@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    synth = load_synth()
    d = tmp_path_factory.mktemp("vnp15")
    srcs = [f for f in sorted((ROOT / "sample_tiles").glob("MCD15A2.A2012*.hdf"))
            if f.name.split(".")[1][5:] in DAYS]
    assert len(srcs) == 12
    synth.make_demo(d, "VNP15A2H", srcs)
    return d


def write_config(tmp: Path, tiles: Path, product: str = "VNP15A2H",
                 formats: str = '["zarr", "netcdf", "cog"]') -> Path:
    return run_config(
        tmp, out=tmp / "out", formats=formats,
        inputs=f'paths = ["{tiles}"]\nproduct = "{product}"\nstart = "2012-02-18"\n'
               'end = "2012-04-05"',
        steps='qa_rule = "good_lai"\nresampling = "nearest"\nperiod = "dekad"\nreducer = "max"')


def expectation(cfg_path: Path, tiles: Path) -> tuple[np.ndarray, list[str], dict]:
    cfg = load_config(cfg_path)
    left, bottom, right, top = cfg.grid.bounds
    res = cfg.grid.resolution
    gx, gy = np.meshgrid(np.arange(left + res / 2, right, res),
                         np.arange(top - res / 2, bottom, -res))
    sx, sy = Transformer.from_crs("EPSG:3035", SINU, always_xy=True).transform(gx, gy)
    periods: dict[str, list] = {}
    shares = {}
    for f in sorted(tiles.glob("VNP15A2H.*.h5")):
        with h5py.File(f) as h:
            meta = h["HDFEOS INFORMATION/StructMetadata.0"][()].decode()
            fields = "HDFEOS/GRIDS/VNP_Grid_VNP15A2H/Data Fields/"
            lai = h[fields + "Lai"][:].astype(int)
            q1 = h[fields + "FparLai_QC"][:].astype(int)
            q2 = h[fields + "FparExtra_QC"][:].astype(int)
        ul = [float(v) for v in re.search(r"UpperLeftPointMtrs=\(([^)]*)\)", meta)[1].split(",")]
        lr = [float(v) for v in re.search(r"LowerRightMtrs=\(([^)]*)\)", meta)[1].split(",")]
        px = (lr[0] - ul[0]) / lai.shape[1]
        good_all = (lai <= 100) & (q1 != 255) & ((q1 & 7) == 0) & ((q2 & 3) <= 1)
        shares[f.name] = int(good_all.sum())
        col = np.floor((sx - ul[0]) / px).astype(int)
        row = np.floor((ul[1] - sy) / px).astype(int)
        inside = (row >= 0) & (row < lai.shape[0]) & (col >= 0) & (col < lai.shape[1])
        r, c = np.clip(row, 0, lai.shape[0] - 1), np.clip(col, 0, lai.shape[1] - 1)
        good = inside & good_all[r, c]
        d = date.fromordinal(date(2012, 1, 1).toordinal() + int(f.name.split(".")[1][5:8]) - 1)
        label = f"{d.year}-{d.month:02d}-d{min((d.day - 1) // 10, 2) + 1}"
        periods.setdefault(label, []).append(np.where(good, lai[r, c] / 10.0, np.nan))
    labels = sorted(periods)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.stack([np.nanmax(np.stack(periods[k]), axis=0) for k in labels])
    return out, labels, shares


def test_a_vnp15a2h_run_equals_an_independent_viirs_qa_composite(tmp_path, tiles):
    cfg_path = write_config(tmp_path, tiles)
    summary = run(load_config(cfg_path), progress=False, echo=lambda _m: None)
    assert summary.failures == []
    z = open_stack(tmp_path / "out" / "lai.zarr")
    expect, labels, shares = expectation(cfg_path, tiles)
    got = z.lai.values
    idx = [list(z.period_label.values).index(k) for k in labels]
    np.testing.assert_allclose(got[idx], expect, rtol=0, atol=1e-6, equal_nan=True)
    assert np.isfinite(expect).sum() > 2000
    # the QA table the run records: each granule's good pixels per the VIIRS rule
    manifest = json.loads((tmp_path / "out" / "modisoft-run.json").read_text())
    recorded = {Path(p).name: r["shares"]["good"] for p, r in manifest["verified"].items()}
    assert recorded == shares
    # the provenance names the VIIRS product and QA layers
    prov = json.loads(z.attrs["modisoft_provenance"]) if "modisoft_provenance" in z.attrs \
        else None
    text = json.dumps(prov) if prov is not None else json.dumps(dict(z.attrs))
    assert "VNP15A2H" in text


def test_a_vj115a2h_run_reads_noaa20_granules(tmp_path, tiles):
    synth = load_synth()
    d = tmp_path / "vj1"
    srcs = sorted((ROOT / "sample_tiles").glob("MCD15A2.A2012049.*.hdf"))
    synth.make_demo(d, "VJ115A2H", srcs)
    cfg = write_config(tmp_path, d, product="VJ115A2H", formats='["zarr"]')
    summary = run(load_config(cfg), progress=False, echo=lambda _m: None)
    assert summary.failures == []
    z = open_stack(tmp_path / "out" / "lai.zarr")
    assert np.isfinite(z.lai.values).sum() > 1000


def test_weights_from_two_qc_layers_are_refused_up_front(tmp_path, tiles):
    cfg = write_config(tmp_path, tiles)
    cfg.write_text(cfg.read_text().replace('qa_rule = "good_lai"',
                                           'qa_rule = "good_lai"\nweights = "default"'))
    with pytest.raises(ConfigError, match=r"\[steps\] weights.*FparExtra_QC"):
        load_config(cfg)


def test_a_vnp13a2_retrieval_run_equals_an_independent_sr_retrieval(tmp_path):
    """``lai = "retrieve"`` from VIIRS reflectance: the **real** VNP13A2 h18v09 2025-001
    granule (HDF-EOS5) through the MOD13A2 retrieval test's grid, land cover and curves
    (tests/pipeline/test_lai.py); the expectation read with h5py: ``vi_good`` as bit
    arithmetic on ``VI Quality``, reflectance = stored x 0.0001 (VIIRS multiplies), SR =
    NIR / red, LAI from the curve knots / Omega of the cover type."""
    from pipeline.test_lai import (
        OMEGA_BEPS,
        cover_of_pixels,
        curves,
        igbp_to_cover,
        lut_lai,
        retrieve_config,
    )
    from pipeline.test_lai import centres as lonlat

    name = "VNP13A2.A2025001.h18v09.002.2025017085341.h5"
    path = SAMPLE_DIR / name
    if not path.exists():
        pytest.skip("the VNP13A2 sample is not present")
    cfg_path = retrieve_config(tmp_path)
    cfg_path.write_text(cfg_path.read_text()
                        .replace("MOD13A2.A2025*.h18v09.061.*.hdf", name)
                        .replace('product = "MOD13A2"', 'product = "VNP13A2"')
                        .replace('end = "2025-06-09"', 'end = "2025-01-16"'))
    summary = run(load_config(cfg_path), progress=False, echo=lambda _m: None)
    assert summary.failures == []
    got = open_stack(tmp_path / "out" / "lai.zarr").lai.values[0]
    lon, lat = lonlat()
    sx, sy = Transformer.from_crs("EPSG:4326", SINU, always_xy=True).transform(lon, lat)
    grid = "HDFEOS/GRIDS/VIIRS_Grid_16Day_VI_1km/Data Fields/1 km 16 days "
    px = 2 * np.pi * 6371007.181 / 36 / 1200
    col, row = np.floor(sx / px).astype(int), np.floor(-sy / px).astype(int)  # UL (0, 0)
    with h5py.File(path) as h:
        q = h[grid + "VI Quality"][:].astype(np.int64)[row, col]
        red, nir = (h[grid + b][:].astype(float)[row, col] for b in ("red reflectance",
                                                                      "NIR reflectance"))
    good = (q != 65535) & ((q & 3) == 0) & ((q >> 8) & 1 == 0) & ((q >> 10) & 1 == 0) \
        & ((q >> 14) & 1 == 0) & ((q >> 15) & 1 == 0)
    ok = good & (red >= 0) & (red <= 10000) & (nir >= 0) & (nir <= 10000) & (red > 0)
    sr = np.where(ok, (nir * 0.0001) / np.where(red > 0, red * 0.0001, 1), np.nan)
    cover, to_cover, cs = cover_of_pixels(), igbp_to_cover(), curves("SR")
    expect = np.full(sr.shape, np.nan)
    for code in np.unique(cover):
        ct = to_cover.get(int(code), "not_vegetated")
        if ct != "not_vegetated":
            sel = cover == code
            expect[sel] = lut_lai(cs[ct], sr[sel]) / OMEGA_BEPS[ct]
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expect))
    ok = np.isfinite(expect)
    assert ok.sum() > 300
    np.testing.assert_allclose(got[ok], expect[ok], rtol=0, atol=1e-4)
