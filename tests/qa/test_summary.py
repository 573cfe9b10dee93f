"""A granule's pixels counted by what a run makes of them (:func:`modisoft.qa.pixel_shares`),
against counts made here from the raw words read with pyhdf and the MOD15 layout written out
by hand (``reference/QA.md`` §2: FparLai_QC bits 3-4 cloud state, bits 5-7 SCF_QC; Lai_1km
0-100 values, 249 unclassified, 250-254 not vegetated, 255 fill)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyhdf.SD import SD

from modisoft import open_granule
from modisoft.products import get_product
from modisoft.qa import cloud_codes, pixel_shares

TILES = Path(__file__).resolve().parents[2] / "sample_tiles"
# winter (empirical algorithm everywhere) and spring (main algorithm), both tiles
GRANULES = sorted(TILES.glob("MCD15A2.A2012001.*.hdf")) + \
    sorted(TILES.glob("MCD15A2.A2012081.*.hdf"))


def _expected(path: Path) -> dict[str, int]:
    sd = SD(str(path))
    lai, qc = sd.select("Lai_1km").get(), sd.select("FparLai_QC").get().astype(np.int64)
    sd.end()
    value = lai <= 100
    scf, cloud = (qc >> 5) & 0b111, (qc >> 3) & 0b11
    return {"pixels": lai.size,
            "good": int((value & np.isin(scf, [0, 1]) & (cloud == 0)).sum()),
            "cloudy": int((value & np.isin(cloud, [1, 2]) & (qc != 255)).sum()),
            "fill": int((~value & ~((lai >= 250) & (lai <= 254))).sum()),
            "nonveg": int(((lai >= 250) & (lai <= 254)).sum())}


@pytest.mark.parametrize("path", GRANULES, ids=[p.name[:24] for p in GRANULES])
def test_shares_of_real_granules_equal_a_count_from_the_raw_words(path):
    ds = open_granule(path, ["Lai_1km", "FparLai_QC"]).compute()
    got = pixel_shares(ds["Lai_1km"], ds["FparLai_QC"], "good_lai",
                       product=ds.attrs["registry_product"])
    assert got == _expected(path)
    assert got["fill"] + got["nonveg"] + int((ds["Lai_1km"].values <= 100).sum()) == \
        got["pixels"]


def test_no_rule_counts_every_value_good_and_no_qa_no_clouds():
    path = GRANULES[-1]
    ds = open_granule(path, ["Lai_1km"]).compute()
    got = pixel_shares(ds["Lai_1km"], None, "none", product=ds.attrs["registry_product"])
    exp = _expected(path)
    assert got["good"] == exp["pixels"] - exp["fill"] - exp["nonveg"]
    assert got["cloudy"] is None


def test_the_cloud_field_is_the_cloud_state_else_a_code_named_cloudy():
    mod13 = get_product("MOD13A2", "061")
    bf, codes = cloud_codes(mod13.layer("1 km 16 days pixel reliability"))
    # QA.md §3: the whole byte is a class code, 3 = cloudy
    assert (bf.start, bf.length, codes) == (0, 8, (3,))
    bf, codes = cloud_codes(get_product("MOD09A1", "061").layer("sur_refl_state_500m"))
    assert (bf.name, bf.start, codes) == ("cloud_state", 0, (1, 2))
    assert cloud_codes(get_product("MCD15A2H", "061").layer("FparExtra_QC")) is None


@pytest.mark.parametrize("path", GRANULES[:2], ids=[p.name[:24] for p in GRANULES[:2]])
def test_one_byte_layers_counted_from_their_joint_histogram_equal_the_count_per_pixel(path):
    """One-byte layers with at most one QA layer are counted from their 256 x 256 joint
    histogram; a Dataset of two layers takes the per-pixel path (the rule ignores the
    second). Both equal the count from the raw words, whichever form the QA comes in."""
    ds = open_granule(path, ["Lai_1km", "FparLai_QC"]).compute()
    tag = ds.attrs["registry_product"]
    exp = _expected(path)
    for qa in (ds["FparLai_QC"], ds[["FparLai_QC"]], ds[["FparLai_QC", "Lai_1km"]]):
        assert pixel_shares(ds["Lai_1km"], qa, "good_lai", product=tag) == exp
