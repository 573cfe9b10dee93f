"""COG metadata a GIS shows: band unit, description, scale/offset, overviews by kind, and a
short provenance tag naming the JSON sidecar.

The oracle is GDAL's own command-line tools from the system (Debian gdal-bin,
``/usr/bin/gdalinfo -json`` and ``/usr/bin/gdal_translate -ovr``), not rasterio's bundled GDAL
that writes the files; expected values come from the test's inputs and from numpy.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import warnings
from datetime import timedelta
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from write.test_common import DEKADS, make_lai

from modisoft.write import OutputError, Provenance, write_cog
from modisoft.write.cog import is_categorical

GDALINFO = Path("/usr/bin/gdalinfo")
GDAL_TRANSLATE = Path("/usr/bin/gdal_translate")
CODES = (3, 17, 101, 200)  # sparse class codes: a 2 x 2 mean of them is (almost) never one


@pytest.fixture
def gdal():
    """Skip without the system GDAL tools, except on CI (``CI=true``) where that fails."""
    missing = [str(p) for p in (GDALINFO, GDAL_TRANSLATE) if not p.exists()]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the GDAL oracle {missing} is missing on CI (install gdal-bin)")
        pytest.skip(f"the GDAL oracle {missing} is missing (install gdal-bin)")


def gdalinfo(path: Path) -> dict:
    out = subprocess.run([GDALINFO, "-json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def gdal_overview(path: Path, level: int, dtype: str, tmp_path: Path) -> np.ndarray:
    """Overview ``level`` (0 = the first, 2x) of band 1 as GDAL reads it (ENVI raw bytes)."""
    nx, ny = gdalinfo(path)["bands"][0]["overviews"][level]["size"]
    dst = tmp_path / f"{path.stem}_ovr{level}.raw"
    subprocess.run(
        [GDAL_TRANSLATE, "-q", "-ovr", str(level), "-of", "ENVI", str(path), str(dst)],
        check=True,
        capture_output=True,
    )
    return np.fromfile(dst, dtype=np.dtype(dtype).newbyteorder("<")).reshape(ny, nx)


def blocks(a: np.ndarray) -> np.ndarray:
    """``(ny/2, nx/2, 4)``: the pixels of each 2 x 2 block."""
    ny, nx = a.shape
    return a.reshape(ny // 2, 2, nx // 2, 2).transpose(0, 2, 1, 3).reshape(ny // 2, nx // 2, 4)


def classes(seed: int = 1, **attrs) -> object:
    """A 256 x 256 uint8 class map of ``CODES`` on the China Albers test grid, no time."""
    lai = make_lai(times=None, shape=(256, 256), chunks=(128, 128))
    codes = np.random.default_rng(seed).choice(np.array(CODES, dtype="uint8"), (256, 256))
    return lai.copy(data=codes).rename("landcover").assign_attrs(attrs)


# --------------------------------------------------------------------------------------------
# band unit, description, standard_name, scale/offset
# --------------------------------------------------------------------------------------------
def test_cog_band_unit_description_and_standard_name(gdal, tmp_path):
    lai = make_lai().assign_attrs(
        units="m2 m-2", long_name="leaf area index (one-sided)", standard_name="leaf_area_index"
    )
    files = write_cog(lai, tmp_path)
    assert len(files) == len(DEKADS)
    for f, start in zip(files, DEKADS, strict=True):
        band = gdalinfo(f.path)["bands"][0]
        end = start + timedelta(days=9)  # make_lai's period_end
        assert band["unit"] == "m2 m-2"
        assert band["description"] == f"leaf area index (one-sided), {start}/{end}"
        assert band["metadata"][""]["standard_name"] == "leaf_area_index"
        # no scale_factor/add_offset attributes: GDAL's defaults (not written, or 1 and 0)
        assert band.get("scale", 1.0) == 1.0 and band.get("offset", 0.0) == 0.0


def test_cog_band_without_long_name_or_units_is_named_by_the_variable(gdal, tmp_path):
    [f] = write_cog(make_lai(times=None).rename("lai_smoothed"), tmp_path, filename="a.tif")
    band = gdalinfo(f.path)["bands"][0]
    assert band["description"] == "lai_smoothed"
    assert "unit" not in band and "standard_name" not in band.get("metadata", {}).get("", {})


def test_cog_band_scale_and_offset_from_attrs(gdal, tmp_path):
    lai = make_lai(times=None)
    dn = ((lai + 0.5) / 0.1).round().fillna(255).astype("uint8").rename("dn")
    [f] = write_cog(dn.assign_attrs(scale_factor=0.1, add_offset=-0.5), tmp_path,
                    filename="dn.tif", nodata=255)  # fmt: skip
    band = gdalinfo(f.path)["bands"][0]
    assert band["scale"] == 0.1 and band["offset"] == -0.5
    assert band["noDataValue"] == 255
    [g] = write_cog(dn.assign_attrs(scale_factor=np.float32(0.25)), tmp_path,
                    filename="dn2.tif", nodata=255)  # fmt: skip
    band = gdalinfo(g.path)["bands"][0]
    assert band["scale"] == 0.25 and band.get("offset", 0.0) == 0.0


@pytest.mark.parametrize("bad", ["ten", [0.1, 0.2], float("nan")])
def test_cog_bad_scale_factor_is_an_output_error(tmp_path, bad):
    lai = make_lai(times=None).assign_attrs(scale_factor=bad)
    with pytest.raises(OutputError, match=r"variable 'lai'.*scale_factor=.*one finite number"):
        write_cog(lai, tmp_path, filename="x.tif")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# overviews by kind
# --------------------------------------------------------------------------------------------
def test_cog_continuous_overview_is_the_2x2_block_mean(gdal, tmp_path):
    lai = make_lai(shape=(256, 256), chunks=(128, 128), times=DEKADS[:1])
    [f] = write_cog(lai, tmp_path, blocksize=128)
    info = gdalinfo(f.path)
    assert info["metadata"][""]["OVERVIEW_RESAMPLING"] == "average"
    assert [o["size"] for o in info["bands"][0]["overviews"]] == [[128, 128]]
    with warnings.catch_warnings():  # an all-NaN block is NaN (nodata) in the overview too
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmean(blocks(lai.values[0].astype("float64")), axis=-1)
    got = gdal_overview(f.path, 0, "float32", tmp_path)
    assert np.isnan(lai.values[0]).sum() > 1000  # NaNs take part (nodata not averaged in)
    np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True)


def test_cog_categorical_overview_is_the_mode(gdal, tmp_path):
    lc = classes(
        flag_values=np.array(CODES, dtype="uint8"), flag_meanings="crop forest grass urban"
    )
    [f] = write_cog(lc, tmp_path, filename="lc.tif", nodata=255, blocksize=128)
    info = gdalinfo(f.path)
    assert info["metadata"][""]["OVERVIEW_RESAMPLING"] == "mode"
    assert info["bands"][0]["metadata"][""]["flag_values"] == "3 17 101 200"
    assert info["bands"][0]["metadata"][""]["flag_meanings"] == "crop forest grass urban"
    got = gdal_overview(f.path, 0, "uint8", tmp_path)
    assert set(np.unique(got).tolist()) <= set(CODES)  # no invented codes
    # where one code is strictly the most frequent of its 2 x 2 block, that code (any tie rule)
    b = blocks(lc.values)
    counts = np.stack([(b == c).sum(axis=-1) for c in CODES], axis=-1)
    top = np.sort(counts, axis=-1)
    clear = top[..., -1] > top[..., -2]
    assert clear.sum() > 5000
    expected = np.array(CODES, dtype="uint8")[counts.argmax(axis=-1)]
    assert np.array_equal(got[clear], expected[clear])


def test_cog_kind_categorical_without_flags_is_also_mode(gdal, tmp_path):
    [f] = write_cog(classes(kind="categorical"), tmp_path, filename="k.tif", nodata=255,
                    blocksize=128)  # fmt: skip
    assert gdalinfo(f.path)["metadata"][""]["OVERVIEW_RESAMPLING"] == "mode"
    assert set(np.unique(gdal_overview(f.path, 0, "uint8", tmp_path)).tolist()) <= set(CODES)


def test_cog_explicit_overview_resampling_wins_over_the_kind(gdal, tmp_path):
    lc = classes(flag_values=np.array(CODES, dtype="uint8"))
    [f] = write_cog(lc, tmp_path, filename="lc.tif", nodata=255, blocksize=128,
                    overview_resampling="average")  # fmt: skip
    assert gdalinfo(f.path)["metadata"][""]["OVERVIEW_RESAMPLING"] == "average"
    got = gdal_overview(f.path, 0, "uint8", tmp_path)
    assert not set(np.unique(got).tolist()) <= set(CODES)  # averaging invents codes


def test_cog_unknown_overview_resampling_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match=r"overview_resampling 'bogus' is not one of .*'mode'"):
        write_cog(make_lai(), tmp_path, overview_resampling="bogus")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"flag_values": [0, 1]}, True),
        ({"flag_masks": [1, 2, 4]}, True),
        ({"kind": "categorical"}, True),
        ({"kind": "class"}, True),  # modisoft's own categorical layers (land cover)
        ({"kind": "qa"}, True),
        ({"kind": "value", "units": "m2 m-2"}, False),
        ({}, False),
    ],
)
def test_cog_is_categorical(attrs, expected):
    assert is_categorical(attrs) is expected


# --------------------------------------------------------------------------------------------
# provenance: a short tag, the full record in the sidecar
# --------------------------------------------------------------------------------------------
def big_provenance(n_products: int = 1) -> tuple[Provenance, dict]:
    config = {"inputs": {"product": "MOD15A2H", "tiles": [f"h{h:02d}v05" for h in range(40)]},
              "steps": {"smoother": "whittaker", "lambda": 10.0}}  # fmt: skip
    prov = Provenance().set_config(config).set_step("qa_rule", {"rule": "SCF_QC <= 1"})
    prov.set_step("smoother", {"method": "whittaker"})
    prov.granules += [
        {"granule_id": f"MOD15A2H.A2012{d:03d}.h{i % 40:02d}v05.061.2021{i:09d}.hdf",
         "product": f"MOD{i % n_products:02d}A2H" if n_products > 1 else "MOD15A2H",
         "collection": "061"}
        for i, d in enumerate(range(1, 601))
    ]  # fmt: skip
    return prov, config


def test_cog_provenance_tag_is_a_short_summary_naming_the_sidecar(gdal, tmp_path):
    prov, config = big_provenance()
    assert len(prov.to_json()) > 50_000  # what the tag used to hold
    files = write_cog(make_lai(), tmp_path, provenance=prov)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    for f in files:
        tag = gdalinfo(f.path)["metadata"][""]["MODISOFT_PROVENANCE"]
        assert len(tag.encode("utf-8")) <= 1024
        assert tag.endswith(f"full record: {f.path.name}.json")
        assert f.sidecar.name == f"{f.path.name}.json" and f.sidecar.exists()
        assert f"modisoft {metadata.version('modisoft')}" in tag
        for part in ("product MOD15A2H.061", "steps qa_rule, smoother", "600 input granules",
                     f"config sha256 {digest}"):  # fmt: skip
            assert part in tag
        side = json.loads(f.sidecar.read_text())  # the full record stays in the sidecar
        assert len(side["granules"]) == 600 and side["config"] == config


def test_cog_provenance_tag_of_many_products_is_cut_but_names_the_sidecar(gdal, tmp_path):
    prov, _ = big_provenance(n_products=100)
    [f] = write_cog(make_lai(times=DEKADS[:1]), tmp_path, provenance=prov)
    tag = gdalinfo(f.path)["metadata"][""]["MODISOFT_PROVENANCE"]
    assert 900 < len(tag.encode("utf-8")) <= 1024
    assert "MOD00A2H.061, MOD01A2H.061" in tag and " more)" in tag
    assert tag.endswith("; full record: lai_20120421.tif.json")


def test_provenance_summary_small_limits_for_cog_tags():
    prov, _ = big_provenance(n_products=100)
    side = "lai_20120421.tif.json"
    text = prov.summary(120, sidecar=side)
    assert len(text.encode()) <= 120 and text.endswith(f"full record: {side}")
    assert prov.summary(sidecar=side) == prov.summary(1024, sidecar=side)
    with pytest.raises(OutputError, match=r"lai_20120421.tif.json.*max_bytes=40.*at least 64"):
        prov.summary(40, sidecar=side)
    tiny = Provenance(software={"modisoft": "9.9"})
    assert tiny.summary(sidecar="x.tif.json") == (
        "modisoft 9.9; 0 input granules; full record: x.tif.json"
    )
