"""The multi-sensor merge rule (modisoft.qa.merge) on hand-built pixels: the best QA grade
wins, equal grades go to the sensor of higher priority, a pixel without any usable value keeps
a fill class.  Every expected value is written by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
from conftest import synth_viirs

from modisoft import open_granule
from modisoft.products import find_product, sensor_code, sensor_flags
from modisoft.qa import merge_kernel, merge_sensors, sensor_grade


def test_kernel_best_grade_then_priority():
    # 3 sensors (priority order) x 7 pixels
    values = np.array([[10, 20, 255, 255, 250, 30, 40],
                       [11, 21, 254, 255, 12, 31, 41],
                       [12, 22, 255, 255, 255, 32, 42]], "uint8")
    grades = np.array([[1.0, 0.5, -1, -1, -1, 0.0, np.nan],
                       [1.0, 1.0, -1, -1, 0.0, 0.5, 0.5],
                       [0.5, 1.0, -1, -1, -1, 0.5, 0.5]])
    merged, index = merge_kernel(values, grades, 255, (249, 250, 251, 252, 253, 254))
    # px0: tie of 1.0 between sensors 0 and 1 -> 0 (priority); px1: 1.0 beats 0.5 -> sensor 1
    # (tie with 2 -> 1); px2: nothing usable, the first fill class (water 254 of sensor 1);
    # px3: nothing at all -> fill; px4: a usable value (grade 0) beats sensor 0's urban class;
    # px5: 0.5 ties between 1 and 2 -> 1; px6: NaN grade = unusable -> tie 1/2 -> 1
    assert merged.tolist() == [10, 21, 254, 255, 12, 31, 41]
    assert index.tolist() == [0, 1, -1, -1, 1, 1, 1]


def test_sensor_codes_and_flags():
    snpp, n20 = find_product("VNP15A2H"), find_product("VJ115A2H")
    assert (sensor_code(snpp), sensor_code(n20)) == (4, 5)
    assert sensor_code(find_product("MOD15A2H")) == 1 and sensor_code(find_product("MYD15A2H")) == 2
    assert sensor_flags([n20, snpp]) == {"flag_values": [0, 4, 5],
                                         "flag_meanings": "none snpp_viirs noaa20_viirs"}


def test_viirs_granules_merge_by_qa_then_priority(tmp_path):
    """Two synthetic granules (S-NPP, NOAA-20) of one date, 6 pixels, QC words by hand."""
    synth = synth_viirs()
    # FparLai_QC: bits 0-2 SCF_QC; FparExtra_QC: bits 0-1 cloud confidence
    snpp = {"Lai": [[20, 21, 22, 23, 254, 30]],
            "FparLai_QC": [[0, 0, 1, 0, 0, 3]],     # main, main, saturated, main, -, back-up
            "FparExtra_QC": [[0, 2, 0, 0, 0, 0]]}   # clear, cloudy, clear, clear, -, clear
    n20 = {"Lai": [[40, 41, 42, 255, 255, 50]],
           "FparLai_QC": [[0, 0, 0, 255, 255, 0]],  # main everywhere it has a value
           "FparExtra_QC": [[1, 0, 0, 255, 255, 3]]}  # probably clear, clear, clear, ..., cloudy
    files = []
    for product, layers in (("VNP15A2H", snpp), ("VJ115A2H", n20)):
        arrays = {k: np.array(v, "uint8") for k, v in layers.items()}
        files.append(synth.write_vnp15(
            tmp_path / f"{product}.A2020009.h18v03.002.2020017000000.synthetic.h5", arrays,
            product=product, tile=(18, 3), start=dt.date(2020, 1, 9),
            production="2020017000000"))
    items = []
    for f in files:
        ds = open_granule(f)
        for v in ds.data_vars:
            ds[v].attrs["registry_product"] = ds.attrs["registry_product"]
        grade = sensor_grade(ds["Lai"], ds[["FparLai_QC", "FparExtra_QC"]],
                             rule="main_algorithm")
        items.append((ds["Lai"], grade))
    # grades by hand (main_algorithm rule; default weights good_lai 1, main_algorithm 0.5):
    # S-NPP  [1, 0.5 (cloudy), 0.5 (saturated), 1, -1 (water), -1 (back-up fails the rule)]
    # NOAA-20 [1, 1, 1, -1, -1, 0.5 (cloudy)]
    np.testing.assert_allclose(items[0][1].values[0], [1, 0.5, 0.5, 1, -1, -1])
    np.testing.assert_allclose(items[1][1].values[0], [1, 1, 1, -1, -1, 0.5])
    prods = [find_product("VNP15A2H"), find_product("VJ115A2H")]
    for order, want_values, want_sensor in (
        # S-NPP first: px0 tie -> S-NPP; px1, px2 NOAA-20 better; px3 only S-NPP; px4 water;
        # px5 only NOAA-20 usable
        ([0, 1], [20, 41, 42, 23, 254, 50], [4, 5, 5, 4, 0, 5]),
        # NOAA-20 first: px0 tie -> NOAA-20, the rest as before
        ([1, 0], [40, 41, 42, 23, 254, 50], [5, 5, 5, 4, 0, 5]),
    ):
        merged, sensor = merge_sensors([items[k][0] for k in order],
                                       [items[k][1] for k in order],
                                       [sensor_code(prods[k]) for k in order],
                                       flags=sensor_flags(prods))
        assert merged.values[0].tolist() == want_values
        assert sensor.values[0].tolist() == want_sensor
        assert sensor.attrs["flag_meanings"] == "none snpp_viirs noaa20_viirs"
