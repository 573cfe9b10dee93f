"""The run's QA rule at source as one table lookup per (stored value, QA word) pair
(``modisoft.pipeline.qa._by_table``) against the two steps it fuses, QA decode
(:func:`~modisoft.pipeline.qa.source_mask`) and masking
(:func:`~modisoft.pipeline.qa.apply_source_mask`), on every pair of byte values and on a real
granule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr

from modisoft.io.granule import open_granule
from modisoft.pipeline import load_config
from modisoft.pipeline.qa import _by_table, apply_source_mask, mask_at_source, source_mask

ROOT = Path(__file__).resolve().parents[2]
GRANULE = ROOT / "sample_tiles" / "MCD15A2.A2012001.h17v03.005.2012017211237.hdf"


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    cfg_path = tmp_path_factory.mktemp("cfg") / "run.toml"
    cfg_path.write_text(f'[inputs]\npaths = ["{ROOT / "sample_tiles"}"]\n'
                        'product = "MCD15A2"\nlayer = "Lai_1km"\nqa_layer = "FparLai_QC"\n'
                        '[grid]\ncrs = "EPSG:3035"\nresolution = 1000\n'
                        'bounds = [3370000, 3280000, 3970000, 3640000]\n'
                        '[steps]\nqa_rule = "good_lai"\n'
                        f'[output]\ndir = "{tmp_path_factory.mktemp("out")}"\n')
    ds = open_granule(GRANULE, ["Lai_1km", "FparLai_QC"])
    for v in ds:
        ds[v].attrs["registry_product"] = ds.attrs.get("registry_product")
    return load_config(cfg_path), ds


@pytest.mark.parametrize("rule", ["good_lai", "main_algorithm",
                                  "cloud_state == clear and modland_qc == 0"])
def test_every_value_and_word_pair_equals_the_two_steps(layers, rule):
    cfg, ds = layers
    cfg = dataclasses.replace(cfg, steps=dataclasses.replace(cfg.steps, qa_rule=rule))
    v, q = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")  # all 65 536 pairs
    raw = xr.DataArray(v.astype("uint8"), dims=("y", "x"), name="Lai_1km",
                       attrs=ds.Lai_1km.attrs).chunk(100)
    qa = xr.DataArray(q.astype("uint8"), dims=("y", "x"), name="FparLai_QC",
                      attrs=ds.FparLai_QC.attrs).chunk(100)
    with dask.config.set(scheduler="synchronous"):
        got = _by_table(raw, qa, cfg)
        want = apply_source_mask(raw, source_mask(qa, cfg), cfg)
        assert got is not None and got.dtype == want.dtype and got.attrs == want.attrs
        g, w = got.values, want.values
    assert np.array_equal(g, w)
    assert (g == raw.values).any() and (g != raw.values).any()  # some kept, some masked
    assert set(np.unique(g[g != v])) == {int(ds.Lai_1km.attrs["fill_values"][0])}


def test_a_real_granule_equals_the_two_steps(layers):
    cfg, ds = layers
    with dask.config.set(scheduler="synchronous"):
        got = mask_at_source(ds.Lai_1km, ds.FparLai_QC, cfg).values
        want = apply_source_mask(ds.Lai_1km, source_mask(ds.FparLai_QC, cfg), cfg).values
    assert np.array_equal(got, want)
    assert (got != ds.Lai_1km.values).sum() > 1000


def test_other_layers_take_the_two_steps(layers):
    cfg, ds = layers
    wide = ds.Lai_1km.astype("uint16")
    assert _by_table(wide, ds.FparLai_QC, cfg) is None
    assert _by_table(ds.Lai_1km, ds[["FparLai_QC"]], cfg) is None


def test_dominant_fill_class_of_byte_codes_equals_a_count_by_hand():
    # the compiled per-row count against the definition, pixel by pixel: 0 where the series
    # has a value, else the most frequent code, ties to the smallest
    from modisoft.pipeline.mosaic import dominant_fill_class

    rng = np.random.default_rng(6)
    codes = rng.choice(np.array([0, 250, 251, 254, 255], "uint8"), size=(40, 30, 9),
                       p=[0.05, 0.3, 0.2, 0.3, 0.15])
    got = dominant_fill_class(codes)
    for i in range(40):
        for j in range(30):
            s = [int(c) for c in codes[i, j]]
            if 0 in s:
                want = 0
            else:
                n = {c: s.count(c) for c in set(s)}
                want = min(c for c in n if n[c] == max(n.values()))
            assert got[i, j] == want
    assert (got == 0).sum() > 100 and (got != 0).sum() > 100
