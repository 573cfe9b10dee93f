"""Multi-sensor runs (``[inputs] products``): the configuration checked up front, and a run of
two VIIRS sensors against an independent merge.

Inputs: **synthetic** VNP15A2H and VJ115A2H granules (``scripts/synth_viirs.py``) made from the
real MCD15A2 pixels of ``sample_tiles/``: S-NPP carries the pixels of each date, NOAA-20 those
of the next date relabelled to the same date, so the two sensors differ.  The expectation is
written here from the stored words (h5py) and the documented rule: with ``qa_rule =
"main_algorithm"`` a value is usable where ``FparLai_QC & 7 <= 1``; its grade is 1 where
also ``FparLai_QC & 7 == 0`` and ``FparExtra_QC & 3 <= 1`` (``good_lai``), else 0.5; the
higher grade wins, a tie goes to the sensor listed first in ``sensor_priority``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import synth_viirs
from pipeline.test_run import SINU, SMALL_GRID, run_config
from pyproj import Transformer

from modisoft.io.stack import open_stack
from modisoft.pipeline import ConfigError, discover, load_config, run

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("pipeline/test_sensors")

ROOT = Path(__file__).resolve().parents[2]
FIELDS = "HDFEOS/GRIDS/VNP_Grid_VNP15A2H/Data Fields/"
STEPS = 'qa_rule = "main_algorithm"\nresampling = "nearest"\nperiod = "8day"\nreducer = "max"'


def config(tmp: Path, inputs: str, tiles: Path | str = ".", grid: str = SMALL_GRID) -> Path:
    return run_config(tmp, inputs=f'paths = ["{tiles}"]\n{inputs}', steps=STEPS, grid=grid)


@pytest.mark.parametrize(("inputs", "match"), [
    ('products = ["VNP15A2H", "MOD13A1"]',
     r"\[inputs\] products: 'MOD13A1' is not an LAI product .*accepted: .*VJ115A2H"),
    ('products = ["VNP15A2H", "vnp15a2h"]', r"listed twice"),
    ('products = ["VNP15A2H", "MOD15A2"]',
     r"products: VNP15A2H 500m, MOD15A2 1km: a merge needs one resolution"),
    ('products = ["VNP15A2H", "MCD15A3H"]',
     r"VNP15A2H 8, MCD15A3H 4: a merge needs one compositing period"),
    ('products = ["VNP15A2H", "VJ115A2H"]\nsensor_priority = ["MOD15A2H"]',
     r"sensor_priority \['MOD15A2H'\]: 'MOD15A2H'; accepted: .*VNP15A2H, VJ115A2H"),
    ('product = "VNP15A2H"\nsensor_priority = ["VNP15A2H"]',
     r"sensor_priority .*only used with products"),
    ('product = "VNP15A2H"\nproducts = ["VNP15A2H", "VJ115A2H"]', r"not both"),
    ('products = []', r"products: need a non-empty list"),
    ('products = ["VNP15A2H", "VJ115A2H"]\nlayer = "Lai"', r"\[inputs\] layer: not used"),
])
def test_bad_multi_sensor_configs_are_refused(tmp_path, inputs, match):
    with pytest.raises(ConfigError, match=match):
        load_config(config(tmp_path, inputs))


def test_a_multi_sensor_config_names_the_primary_product(tmp_path):
    cfg = load_config(config(tmp_path, 'products = ["MOD15A2H", "MYD15A2H", "VNP15A2H", '
                                       '"VJ115A2H"]\nsensor_priority = ["VNP15A2H"]'))
    assert cfg.inputs.product == "VNP15A2H"
    from modisoft.pipeline.sensors import sensor_order

    assert sensor_order(cfg) == ["VNP15A2H", "MOD15A2H", "MYD15A2H", "VJ115A2H"]


@pytest.fixture(scope="module")
def two_sensors(tmp_path_factory):
    """S-NPP: dates 049, 057 of 2012; NOAA-20: 057, 065 relabelled to 049, 057."""
    synth = synth_viirs()
    d = tmp_path_factory.mktemp("two")
    src = {day: sorted((ROOT / "sample_tiles").glob(f"MCD15A2.A2012{day}.*.hdf"))
           for day in ("049", "057", "065")}
    synth.make_demo(d, "VNP15A2H", src["049"] + src["057"])
    tmp = tmp_path_factory.mktemp("next_dates")
    synth.make_demo(tmp, "VNP15A2H", src["057"] + src["065"])
    for f in sorted(tmp.glob("*.h5")):
        day = {"057": "049", "065": "057"}[f.name.split(".")[1][5:]]
        with h5py.File(f) as h:
            layers = {k: h[FIELDS + k][:] for k in ("Lai", "FparLai_QC", "FparExtra_QC")}
            meta = h["HDFEOS INFORMATION/StructMetadata.0"][()].decode()
        ul = [float(v) for v in re.search(r"UpperLeftPointMtrs=\(([^)]*)\)", meta)[1].split(",")]
        tile = (int(f.name.split(".")[2][1:3]), int(f.name.split(".")[2][4:6]))
        synth.write_vnp15(d / f"VJ115A2H.A2012{day}.{f.name.split('.')[2]}.002."
                          "2012070000000.synthetic.h5", layers, product="VJ115A2H", tile=tile,
                          ul=tuple(ul), start=dt.date(2012, 1, 1) + dt.timedelta(int(day) - 1),
                          production="2012070000000",
                          source=f.name, transform="NOAA-20 test set: the next date's pixels")
    return d


def expected(cfg_path: Path, tiles: Path, order: list[str]) -> tuple[dict, dict]:
    cfg = load_config(cfg_path)
    left, bottom, right, top = cfg.grid.bounds
    res = cfg.grid.resolution
    gx, gy = np.meshgrid(np.arange(left + res / 2, right, res),
                         np.arange(top - res / 2, bottom, -res))
    sx, sy = Transformer.from_crs("EPSG:3035", SINU, always_xy=True).transform(gx, gy)
    best: dict[str, dict] = {}
    for prod in order:  # in priority order: a tie stays with the earlier
        for f in sorted(tiles.glob(f"{prod}.*.h5")):
            with h5py.File(f) as h:
                meta = h["HDFEOS INFORMATION/StructMetadata.0"][()].decode()
                lai, q1, q2 = (h[FIELDS + k][:].astype(int)
                               for k in ("Lai", "FparLai_QC", "FparExtra_QC"))
            ul = [float(v) for v in
                  re.search(r"UpperLeftPointMtrs=\(([^)]*)\)", meta)[1].split(",")]
            lr = [float(v) for v in re.search(r"LowerRightMtrs=\(([^)]*)\)", meta)[1].split(",")]
            px = (lr[0] - ul[0]) / lai.shape[1]
            col = np.floor((sx - ul[0]) / px).astype(int)
            row = np.floor((ul[1] - sy) / px).astype(int)
            inside = (row >= 0) & (row < lai.shape[0]) & (col >= 0) & (col < lai.shape[1])
            r, c = np.clip(row, 0, lai.shape[0] - 1), np.clip(col, 0, lai.shape[1] - 1)
            v, a, b = lai[r, c], q1[r, c], q2[r, c]
            usable = inside & (v <= 100) & (a != 255) & ((a & 7) <= 1)
            grade = np.where(usable, np.where(((a & 7) == 0) & ((b & 3) <= 1), 1.0, 0.5), -1.0)
            day = f.name.split(".")[1]
            cur = best.setdefault(day, {"grade": np.full(gx.shape, -1.0),
                                        "value": np.full(gx.shape, np.nan),
                                        "sensor": np.zeros(gx.shape, int)})
            win = grade > cur["grade"]  # strictly better: a tie stays with the earlier rank
            cur["grade"] = np.where(win, grade, cur["grade"])
            cur["value"] = np.where(win, v / 10.0, cur["value"])
            cur["sensor"] = np.where(win, {"VNP15A2H": 4, "VJ115A2H": 5}[prod], cur["sensor"])
    return ({d: x["value"] for d, x in best.items()}, {d: x["sensor"] for d, x in best.items()})


@pytest.mark.parametrize("order", [["VNP15A2H", "VJ115A2H"], ["VJ115A2H", "VNP15A2H"]])
def test_a_two_sensor_run_equals_an_independent_merge(tmp_path, two_sensors, order):
    cfg_path = config(tmp_path, f'products = ["VNP15A2H", "VJ115A2H"]\n'
                                f'sensor_priority = {json.dumps(order)}', two_sensors)
    inv = discover(load_config(cfg_path))
    assert len(inv.granules) == 8 and len(inv.dates) == 2 and inv.tiles == ["h17v03", "h18v03"]
    summary = run(load_config(cfg_path), progress=False, echo=lambda _m: None)
    assert summary.failures == []
    z = open_stack(tmp_path / "out" / "lai.zarr")
    values, sensors = expected(cfg_path, two_sensors, order)
    for k, day in enumerate(sorted(values)):
        np.testing.assert_allclose(z.lai.values[k], values[day], rtol=0, atol=1e-6,
                                   equal_nan=True)
        assert np.array_equal(z.sensor.values[k], sensors[day])
    s = z.sensor.values
    assert (s == 4).sum() > 100 and (s == 5).sum() > 100  # both sensors win somewhere
    assert z.sensor.attrs["flag_meanings"] == "none snpp_viirs noaa20_viirs"
    prov = json.loads(z.attrs["modisoft_provenance"])["extra"]["sensor_merge"]
    assert prov["priority"] == order
    assert {k: v["granules"] for k, v in prov["sensors"].items()} == \
        {"VNP15A2H": 4, "VJ115A2H": 4}
    manifest = json.loads((tmp_path / "out" / "modisoft-run.json").read_text())
    for prod in order:  # the per-sensor counts are the sums of the granules' recorded shares
        assert prov["sensors"][prod]["good_pixels"] == sum(
            r["shares"]["good"] for p, r in manifest["verified"].items()
            if Path(p).name.startswith(prod))
    # the report's QA table counts both sensors' granules of each tile and date
    from modisoft.report.record import read_run, tile_date_status

    cells = tile_date_status(read_run(tmp_path / "out"))["cells"]
    assert len(cells) == 4 and all(c["shares"]["pixels"] == 2 * 600 * 600
                                   for c in cells.values())


def test_a_modis_hdf4_and_viirs_hdf5_run_merges_each_products_own_layers(tmp_path):
    """MCD15A2H (HDF4, ``Lai_500m``, MOD15 QC) beside VNP15A2H (HDF-EOS5, ``Lai``, VIIRS QC),
    both **synthetic** for tile h26v05 from the real 2012-081 h17v03 MCD15A2 pixels
    (``benchmarks/china_synth.py`` and ``scripts/synth_viirs.py``; the VIIRS copy shifted 50
    rows so the sensors differ), on a 100 x 100 km sinusoidal window at 1 km, nearest.  The
    expectation from the stored words: MOD15 grade 1 where SCF_QC (bits 5-7) <= 1 and cloud
    state (bits 3-4) == 0, 0.5 where SCF_QC <= 1 only; VIIRS as in the module docstring; the
    MODIS product first."""
    import importlib.util
    import sys

    from conftest import SAMPLE_DIR
    from pyhdf.SD import SD

    spec = importlib.util.spec_from_file_location("china_synth",
                                                  ROOT / "benchmarks" / "china_synth.py")
    cs = sys.modules.get("china_synth") or importlib.util.module_from_spec(spec)
    if "china_synth" not in sys.modules:
        sys.modules["china_synth"] = cs
        spec.loader.exec_module(cs)
    src = next(s for s in cs.find_sources(SAMPLE_DIR) if ".A2012081." in str(s.path))
    d = tmp_path / "in"
    d.mkdir()
    mod = cs.write_synth_file(cs.SynthFile((26, 5), cs.SourceGranule(
        src.path, dt.date(2020, 3, 21), "2020090120000"), "061"), d)[0]
    sd = SD(str(mod))
    lai_m, qc_m = sd.select("Lai_500m")[:].astype(int), sd.select("FparLai_QC")[:].astype(int)
    sd.end()
    synth = synth_viirs()
    main, extra = synth.viirs_qc_from_mod15(qc_m.astype("uint8"), lai_m.astype("uint8"))
    lai_v, q1, q2 = (np.roll(a, 50, 0) for a in (lai_m.astype("uint8"), main, extra))
    synth.write_vnp15(d / "VNP15A2H.A2020081.h26v05.002.2020090120000.synthetic.h5",
                      {"Lai": lai_v, "FparLai_QC": q1, "FparExtra_QC": q2}, product="VNP15A2H",
                      tile=(26, 5), start=dt.date(2020, 3, 21), production="2020090120000")
    t = 2 * np.pi * 6371007.181 / 36
    x0, y0 = -18 * t + 26 * t, 9 * t - 5 * t
    bounds = [x0 + 300_000, y0 - 500_000, x0 + 400_000, y0 - 400_000]
    cfg = config(tmp_path, 'products = ["MCD15A2H", "VNP15A2H"]', d,
                 grid=f'crs = "{SINU}"\nresolution = 1000\nbounds = {bounds}')
    summary = run(load_config(cfg), progress=False, echo=lambda _m: None)
    assert summary.failures == []
    z = open_stack(tmp_path / "out" / "lai.zarr")
    px = t / 2400
    xs = np.arange(bounds[0] + 500, bounds[2], 1000)
    ys = np.arange(bounds[3] - 500, bounds[1], -1000)
    col = np.floor((xs - x0) / px).astype(int)[None, :]
    row = np.floor((y0 - ys) / px).astype(int)[:, None]
    vm, qm = lai_m[row, col], qc_m[row, col]
    vv, a, b = lai_v[row, col].astype(int), q1[row, col].astype(int), q2[row, col].astype(int)
    gm = np.where((vm <= 100) & (qm != 255) & ((qm >> 5) <= 1),
                  np.where(((qm >> 3) & 3) == 0, 1.0, 0.5), -1.0)
    gv = np.where((vv <= 100) & (a != 255) & ((a & 7) <= 1),
                  np.where(((a & 7) == 0) & ((b & 3) <= 1), 1.0, 0.5), -1.0)
    viirs = gv > gm  # strictly better: a tie stays with MCD15A2H (first)
    value = np.where(np.maximum(gm, gv) < 0, np.nan, np.where(viirs, vv, vm) / 10.0)
    sensor = np.where(np.maximum(gm, gv) < 0, 0, np.where(viirs, 4, 3))
    np.testing.assert_allclose(z.lai.values[0], value, rtol=0, atol=1e-6, equal_nan=True)
    assert np.array_equal(z.sensor.values[0], sensor)
    assert (sensor == 3).sum() > 500 and (sensor == 4).sum() > 100
    print(f"MODIS + VIIRS: {(sensor == 3).sum()} MODIS, {(sensor == 4).sum()} VIIRS pixels")
