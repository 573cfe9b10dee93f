"""VIIRS LAI QA (VNP15A2H / VJ115A2H) decoded per the VIIRS layout, not MOD15's.

The files are **synthetic** HDF-EOS5 granules written by ``scripts/synth_viirs.py`` (the one
writer of the demo and the tests) with hand-chosen QC words.  Every expected value below is
written by hand from the layout in ``reference/PRODUCTS.md`` §10.2:

* ``FparLai_QC``: bits 0-2 SCF_QC (0 main, 1 main saturated, 2/3 back-up, 4 not produced),
  bit 3 dead detector, bits 4-7 biome;
* ``FparExtra_QC``: bits 0-1 cloud confidence (0 confident clear, 1 probably clear,
  2 probably cloudy, 3 confident cloudy), bit 2 shadow, bit 3 cirrus, bits 4-5 aerosol,
  bit 6 snow/ice;
* ``good_lai`` (issue 23): SCF_QC == 0 and cloud confidence <= 1.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import synth_viirs as load_synth

from modisoft import open_granule
from modisoft.qa import decode_qa, qa_mask

# one row per pixel: FparLai_QC, FparExtra_QC, and by hand: scf, dead, biome, cloud, shadow,
# cirrus, aerosol, snow, good_lai
# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("qa/test_viirs_qa")

PIXELS = [
    (0b0001_0000, 0b0000_0000, 0, 0, 1, 0, 0, 0, 0, 0, True),    # main, grass, confident clear
    (0b0001_0000, 0b0000_0001, 0, 0, 1, 1, 0, 0, 0, 0, True),    # probably clear
    (0b0001_0000, 0b0000_0010, 0, 0, 1, 2, 0, 0, 0, 0, False),   # probably cloudy
    (0b0111_0000, 0b0000_0011, 0, 0, 7, 3, 0, 0, 0, 0, False),   # confident cloudy, ENF
    (0b0110_0001, 0b0000_0000, 1, 0, 6, 0, 0, 0, 0, 0, False),   # main with saturation
    (0b0101_0010, 0b0000_0000, 2, 0, 5, 0, 0, 0, 0, 0, False),   # back-up (geometry)
    (0b0011_0011, 0b0000_0000, 3, 0, 3, 0, 0, 0, 0, 0, False),   # back-up (other)
    (0b1100_0100, 0b0000_0000, 4, 0, 12, 0, 0, 0, 0, 0, False),  # not produced, filled
    (0b0001_1000, 0b0000_0000, 0, 1, 1, 0, 0, 0, 0, 0, True),    # dead detector, still main
    (0b1001_0000, 0b0111_1101, 0, 0, 9, 1, 1, 1, 3, 1, True),    # every extra flag set
    (0b0000_0000, 0b0010_0100, 0, 0, 0, 0, 1, 0, 2, 0, True),    # shadow, average aerosol
    # MOD15 would call this good (its SCF_QC bits 5-7 = 0, cloud state bits 3-4 = 0): VIIRS
    # reads SCF_QC 2 in bits 0-2, a back-up retrieval
    (0b0000_0010, 0b0000_0000, 2, 0, 0, 0, 0, 0, 0, 0, False),
    # MOD15 would call this back-up (SCF_QC bits 5-7 = 3): VIIRS reads main, biome 6
    (0b0110_0000, 0b0000_0001, 0, 0, 6, 1, 0, 0, 0, 0, True),
]
FIELDS = ("scf_qc", "dead_detector", "biome", "cloud", "cloud_shadow", "thin_cirrus",
          "aerosol", "snow_ice")


@pytest.fixture(scope="module", params=["VNP15A2H", "VJ115A2H"])
def granule(request, tmp_path_factory):
    synth = load_synth()
    rows = np.array([p[:2] for p in PIXELS] + [(255, 255)], np.uint8)
    n = len(rows)
    lai = np.full((1, n), 25, np.uint8)
    lai[0, -1] = 255
    layers = {"Lai": lai, "FparLai_QC": rows[:, 0][None], "FparExtra_QC": rows[:, 1][None]}
    d = tmp_path_factory.mktemp(request.param)
    path = synth.write_vnp15(d / f"{request.param}.A2020001.h18v03.002.2020010000000."
                             "synthetic.h5", layers, product=request.param, tile=(18, 3),
                             start=dt.date(2020, 1, 1), production="2020010000000")
    return request.param, path


def test_the_files_say_they_are_synthetic_and_are_identified(granule):
    product, path = granule
    ds = open_granule(path)
    assert ds.attrs["product"] == product and ds.attrs["tile"] == "h18v03"
    assert ds.attrs["platform"] == {"VNP15A2H": "SUOMI-NPP", "VJ115A2H": "NOAA-20"}[product]
    assert ds.attrs["registry_product"] == f"{product}.002"
    import h5py

    with h5py.File(path) as f:
        assert f.attrs["SYNTHETIC_NOTE"].decode().startswith("SYNTHETIC: not a NASA granule")
    assert ".synthetic." in path.name


def test_fields_equal_the_hand_computed_bits(granule):
    _, path = granule
    ds = open_granule(path)
    main = decode_qa(ds, "FparLai_QC")
    extra = decode_qa(ds, "FparExtra_QC")
    got = {f: np.concatenate([main[f].values[0] if f in main else [],
                              extra[f].values[0] if f in extra else []]).astype(int)
           for f in FIELDS}
    for k, f in enumerate(FIELDS):
        want = [p[2 + k] for p in PIXELS] + [255]  # the fill word decodes to the fill code
        assert list(got[f]) == want, f


def test_good_lai_is_the_viirs_rule_on_both_qc_layers(granule):
    _, path = granule
    ds = open_granule(path)
    good = qa_mask(ds[["FparLai_QC", "FparExtra_QC"]], "good_lai").values[0]
    assert list(good) == [p[-1] for p in PIXELS] + [False]


def test_the_demo_writer_re_encodes_mod15_words_by_hand():
    """MOD15 C5 words (bit 2 dead detector, bits 3-4 cloud state, bits 5-7 SCF_QC) and the
    VIIRS words expected for them, by hand."""
    synth = load_synth()
    mod15 = np.array([0b000_00_0_0_0,   # main, clear                -> scf 0, cloud 0
                      0b001_11_0_0_0,   # saturated, assumed clear   -> scf 1, cloud 1
                      0b010_10_1_0_0,   # back-up, mixed, dead det.  -> scf 2, dead, cloud 2
                      0b011_01_0_0_0,   # back-up, cloudy            -> scf 3, cloud 3
                      0b000_00_0_0_0,   # main, clear, on water 254
                      255], np.uint8)
    lai = np.array([30, 12, 5, 7, 254, 255], np.uint8)
    main, extra = synth.viirs_qc_from_mod15(mod15, lai)
    assert main.tolist() == [0 | 11 << 4, 1 | 11 << 4, 2 | 1 << 3 | 11 << 4, 3 | 11 << 4,
                             0 | 0 << 4, 255]
    assert extra.tolist() == [0, 1, 2, 3, 0, 255]
