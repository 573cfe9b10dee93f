"""BEPS writer: the (DN − 1)/10 round trip, fill and excluded coding, suffixes, ENVI header
read by GDAL, the control file and BEPS's row reads, atomicity, and a real MCD15A2 tile.

Expected DNs are computed here from ``reference/BEPS.md`` (DN = round(10·LAI) + 1, LAI
clipped to [0, 25.4]; DN 0 only for excluded land cover), never from the writer's output.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from datetime import date, timedelta

import dask
import numpy as np
import pytest
from write.test_common import (
    SHAPE,
    assert_gdal_georef,
    failing,
    gdal_read,
    make_lai,
    requires_gdal,
)

from modisoft.write import (
    BEPS_D_DEKADS,
    BepsOptions,
    OutputError,
    SuffixScheme,
    decode_beps,
    encode_beps,
    write_beps,
)


def _read_dn(path) -> np.ndarray:
    return np.fromfile(path, dtype=np.uint8).reshape(SHAPE)


def _expected_dn(lai: np.ndarray) -> np.ndarray:
    """BEPS.md §8, written out: half-up rounding of 10·LAI (clipped), plus one."""
    x = np.clip(lai.astype("float64"), 0.0, 25.4)
    return (np.floor(10.0 * x + 0.5) + 1).astype(np.uint8)


# ------------------------------------------------------------------------------------------
# coding
# ------------------------------------------------------------------------------------------
def test_round_trip_within_half_step_over_the_whole_range():
    lai = np.linspace(0.0, 25.4, 100_001)
    dn = encode_beps(lai)
    assert dn.dtype == np.uint8 and dn.min() == 1 and dn.max() == 255
    back = (dn.astype("float64") - 1) / 10  # the BEPS formula, not decode_beps
    assert np.abs(back - lai).max() <= 0.05 + 1e-9
    assert np.array_equal(decode_beps(dn), back.astype("float32"))


def test_out_of_range_lai_is_clipped_and_never_gives_dn_0():
    dn = encode_beps(np.array([-3.0, -0.04, 0.0, 0.049, 0.05, 25.4, 25.46, 99.0]))
    assert dn.tolist() == [1, 1, 1, 1, 2, 255, 255, 255]
    assert np.isnan(decode_beps(np.array([0], np.uint8))[0])  # DN 0: not simulated


def test_fill_nonveg_and_excluded_coding(tmp_path):
    lai = make_lai(nan_fraction=0.3, seed=3)
    rng = np.random.default_rng(5)
    classes = np.array([0, 249, 250, 251, 252, 253, 254, 255], np.uint8)
    fill_class = np.where(np.isnan(lai.values), rng.choice(classes[1:], lai.shape), 0)
    landcover = rng.choice(np.array([0, 1, 5, 12], np.uint8), SHAPE)
    out = write_beps(lai, tmp_path, stem="lai_2012", fill_class=fill_class.astype(np.uint8),
                     landcover=landcover, options=BepsOptions(nonveg_dn=1, fill_dn=3))  # fmt: skip
    assert [f.suffix for f in out.files] == [".002", ".003", ".004"]
    excluded = landcover == 0
    for t, f in enumerate(out.files):
        dn = _read_dn(f.path)
        v, fc = lai.values[t], fill_class[t]
        nonveg = np.isnan(v) & np.isin(fc, [250, 251, 252, 253, 254]) & ~excluded
        fill = np.isnan(v) & ~np.isin(fc, [250, 251, 252, 253, 254]) & ~excluded
        valid = ~np.isnan(v) & ~excluded
        assert np.array_equal(dn == 0, excluded)  # DN 0 exactly where not simulated
        assert (dn[nonveg] == 1).all() and (dn[fill] == 3).all()
        assert np.array_equal(dn[valid], _expected_dn(v[valid]))
        assert np.abs((dn[valid] - 1) / 10 - v[valid]).max() <= 0.05 + 1e-6
        assert f.counts == {"valid": int(valid.sum()), "clipped": 0, "nonveg": int(nonveg.sum()),
                            "fill": int(fill.sum()), "excluded": int(excluded.sum())}  # fmt: skip
        side = json.loads(f.sidecar.read_text())
        assert side["beps"]["counts"] == f.counts and side["beps"]["excluded_classes"] == [0]
        assert side["period"]["start"] == f"{f.start}" and side["period"]["suffix"] == f.suffix


def test_without_landcover_no_pixel_is_dn_0_and_strict_fill_raises(tmp_path):
    lai = make_lai(nan_fraction=0.2)
    out = write_beps(lai, tmp_path)
    for f in out.files:
        assert _read_dn(f.path).min() >= 1
    with pytest.raises(OutputError, match="have no LAI and fill_dn=None"):
        write_beps(lai, tmp_path, stem="strict", options=BepsOptions(fill_dn=None))
    with pytest.raises(OutputError, match="1-255"):
        BepsOptions(nonveg_dn=0)


# ------------------------------------------------------------------------------------------
# suffixes and periods
# ------------------------------------------------------------------------------------------
def _calendar_dekads(year: int) -> list[date]:
    return [date(year, m, d) for m in range(1, 13) for d in (1, 11, 21)]


def test_beps_d_suffixes_follow_the_non_leap_calendar_dekads():
    starts = _calendar_dekads(1994)  # a non-leap year, as in BEPS_D
    season = [d for d in starts if date(1994, 4, 21) <= d <= date(1994, 10, 21)]
    assert [BEPS_D_DEKADS.suffix(d) for d in season] == [f".{k:03d}" for k in range(2, 21)]
    # each season dekad's whole range maps to one suffix (day-by-day check)
    for a, b in zip(season, [*season[1:], date(1994, 11, 1)], strict=True):
        days = [a + timedelta(n) for n in range((b - a).days)]
        assert len({BEPS_D_DEKADS.suffix(d) for d in days}) == 1
    assert {BEPS_D_DEKADS.suffix(d) for d in starts if d < date(1994, 4, 21)} == {".001"}
    assert {BEPS_D_DEKADS.suffix(d) for d in starts if d > date(1994, 10, 21)} == {".020"}
    # leap year: the same day-of-year bounds fall one calendar day earlier
    assert BEPS_D_DEKADS.suffix(date(2012, 4, 20)) == ".002"
    assert BEPS_D_DEKADS.suffix(date(2012, 4, 19)) == ".001"


def test_other_suffix_schemes_and_collisions(tmp_path):
    lai = make_lai()
    out = write_beps(lai, tmp_path, stem="i", options=BepsOptions(suffixes="index"))
    assert [f.path.name for f in out.files] == ["i.001", "i.002", "i.003"]
    out = write_beps(lai, tmp_path, stem="d", options=BepsOptions(suffixes="doy"))
    assert [f.suffix for f in out.files] == [".112", ".122", ".132"]  # 2012 is a leap year
    custom = SuffixScheme(starts=(1, 122), digits=2, first=0)
    with pytest.raises(OutputError, match="several time steps map to one file"):
        write_beps(lai, tmp_path, stem="c", options=BepsOptions(suffixes=custom))
    out = write_beps(lai, tmp_path, stem="c", options=BepsOptions(suffixes=custom, combine="mean"))
    assert [(f.suffix, f.time_indices) for f in out.files] == [(".00", (0,)), (".01", (1, 2))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        mean = np.nanmean(lai.values[1:], axis=0)
    expected = np.where(np.isnan(mean), 1, _expected_dn(np.nan_to_num(mean)))
    assert np.array_equal(_read_dn(out.files[1].path), expected)
    assert out.files[1].end == date(2012, 5, 20)
    with pytest.raises(OutputError, match="2 suffixes given for 3"):
        write_beps(lai, tmp_path, options=BepsOptions(suffixes=[".a", ".b"]))


# ------------------------------------------------------------------------------------------
# header, control file, BEPS row reads
# ------------------------------------------------------------------------------------------
@pytest.mark.gdal
@requires_gdal
@pytest.mark.parametrize("kind", ["sinusoidal", "china_albers", "laea_europe"])
def test_envi_header_opens_in_gdal_with_grid_and_values(tmp_path, kind):
    lai = make_lai(kind)
    out = write_beps(lai, tmp_path, stem="lai_2012")
    f = out.files[0]
    info = assert_gdal_georef(str(f.path), kind, exact=True)
    assert info["driverShortName"] == "ENVI"
    assert info["bands"][0]["type"] == "Byte" and info["bands"][0]["noDataValue"] == 0
    assert np.array_equal(gdal_read(str(f.path), tmp_path, "uint8"), _read_dn(f.path))


def test_control_file_and_beps_row_reads(tmp_path):
    lai = make_lai()
    window = (10, 20, 7, 30)  # line offset, lines, pixel offset, pixels
    opts = BepsOptions(window=window, control_extra={"Land_cover_file": "lc.bin"})
    out = write_beps(lai, tmp_path, stem="lai_2012", options=opts)
    entries = [line.split() for line in out.control.read_text().splitlines()]
    assert all(len(e) == 2 for e in entries)  # label value, whitespace-separated tokens
    kv = dict(entries)
    assert kv["LAI_file_stem"] == "lai_2012"
    keys = ("Line_offset_(PCI_coordinate_system)", "Number_of_lines",
            "Pixel_offset_(PCI_coordinate_system)", "Number_of_pixels")  # fmt: skip
    assert [int(kv[k]) for k in keys] == [10, 20, 7, 30]
    assert int(kv["Grid_pixels_(row_stride)"]) == SHAPE[1]
    assert kv["Land_cover_file"] == "lc.bin"
    files = [v for k, v in entries if k.startswith("LAI_file.")]
    assert files == ["lai_2012.002", "lai_2012.003", "lai_2012.004"]
    # BEPS readlai.c: seek line * NPIX + pix_offset, read npixels, per line of the window
    path = tmp_path / files[1]
    assert path.stat().st_size == SHAPE[0] * SHAPE[1]
    lo, nl, po, npx = window
    with open(path, "rb") as fh:
        for lin in range(nl):
            fh.seek((lo + lin) * SHAPE[1] + po)
            row = np.frombuffer(fh.read(npx), np.uint8)
            v = lai.values[1, lo + lin, po : po + npx]
            exp = np.where(np.isnan(v), 1, _expected_dn(np.nan_to_num(v)))
            assert np.array_equal(row, exp)
    with pytest.raises(OutputError, match="outside the 40 x 50 grid"):
        write_beps(lai, tmp_path, options=BepsOptions(window=(30, 20, 0, 10)))
    with pytest.raises(OutputError, match="whitespace"):
        write_beps(lai, tmp_path, options=BepsOptions(control_extra={"Met_file": "a b"}))


def test_rewrite_is_byte_identical(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_beps(make_lai(), tmp_path / "a")
    write_beps(make_lai(), tmp_path / "b")
    for p in sorted((tmp_path / "a").iterdir()):
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes(), p.name


def test_interrupted_write_leaves_only_complete_files(tmp_path):
    lai = make_lai()  # 3 row bands (16, 16, 8) x 2 column chunks per period
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_beps(failing(lai, at_block=9), tmp_path, stem="lai")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["lai.002", "lai.002.hdr", "lai.002.json"]  # no partial .003, no control
    v = lai.values[0]
    expected = np.where(np.isnan(v), 1, _expected_dn(np.nan_to_num(v)))
    assert np.array_equal(_read_dn(tmp_path / "lai.002"), expected)


# ------------------------------------------------------------------------------------------
# a real tile, with GDAL's raw values as the oracle
# ------------------------------------------------------------------------------------------
@pytest.mark.gdal
@requires_gdal
def test_real_mcd15a2_tile_against_gdal_raw_values(tmp_path):
    from conftest import sample

    import modisoft

    path = sample("MCD15A2.A2012001.h17v03.005.2012017211237.hdf")
    ds = modisoft.decode(modisoft.open_granule(path))
    sds = f'HDF4_EOS:EOS_GRID:"{path}":MOD_Grid_MOD15A2:Lai_1km'
    dst = tmp_path / "raw.bin"
    subprocess.run(["gdal_translate", "-q", "-of", "ENVI", sds, str(dst)], check=True)
    raw = np.fromfile(dst, np.uint8).reshape(1200, 1200)
    landcover = np.where(raw == 254, 0, 1)  # water excluded, as BEPS's land cover 0
    with dask.config.set(scheduler="synchronous"):
        out = write_beps(ds["Lai_1km"], tmp_path, stem="h17v03", fill_class=ds["Lai_1km_class"],
                         landcover=landcover, options=BepsOptions(suffixes=[".001"]))  # fmt: skip
    dn = np.fromfile(out.files[0].path, np.uint8).reshape(1200, 1200)
    # stored LAI = raw * 0.1 for raw 0-100, so DN = raw + 1 (BEPS.md); codes per the docs
    valid = raw <= 100
    assert np.array_equal(dn[valid], raw[valid] + 1)
    assert np.array_equal(dn == 0, raw == 254)
    assert (dn[(raw >= 250) & (raw <= 253)] == 1).all()
    assert (dn[(raw == 255) | (raw == 249)] == 1).all()
    c = out.files[0].counts
    assert c["valid"] == int(valid.sum()) and c["excluded"] == int((raw == 254).sum())
    assert c["nonveg"] == int(((raw >= 250) & (raw <= 253)).sum())
    assert c["valid"] + c["nonveg"] + c["fill"] + c["excluded"] == 1200 * 1200
    print(f"h17v03: {c}")
