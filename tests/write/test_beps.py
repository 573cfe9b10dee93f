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
    BepsControl,
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
                     landcover=landcover,
                     options=BepsOptions(nonveg_dn=1, fill_dn=3, exclude_missing=False))
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


def test_without_exclusion_no_pixel_is_dn_0_and_strict_fill_raises(tmp_path):
    lai = make_lai(nan_fraction=0.2)
    keep = BepsOptions(exclude_missing=False)
    out = write_beps(lai, tmp_path, options=keep)
    for f in out.files:
        assert _read_dn(f.path).min() >= 1
    assert not (tmp_path / "landcover.img").exists()
    with pytest.raises(OutputError, match="have no LAI and fill_dn=None"):
        write_beps(lai, tmp_path, stem="strict",
                   options=BepsOptions(fill_dn=None, exclude_missing=False))
    with pytest.raises(OutputError, match="1-255"):
        BepsOptions(nonveg_dn=0)


def test_pixels_without_lai_are_land_cover_0_and_never_simulated(tmp_path):
    """The default: a pixel with no LAI in some period is land cover 0 in the written
    land-cover file (BEPS skips it) and DN 0 in every LAI file; every other pixel is simulated
    with its LAI (DN >= 1) and, without a land cover, the mask code 100."""
    lai = make_lai(nan_fraction=0.2, seed=11)
    out = write_beps(lai, tmp_path, stem="lai")
    missing = np.isnan(lai.values).any(axis=0)
    lc = np.fromfile(tmp_path / "landcover.img", np.uint8).reshape(SHAPE)
    assert np.array_equal(lc == 0, missing) and set(np.unique(lc[~missing])) == {100}
    for t, f in enumerate(out.files):
        dn = _read_dn(f.path)
        assert np.array_equal(dn == 0, missing)
        assert np.array_equal(dn[~missing], _expected_dn(lai.values[t][~missing]))
    header = (tmp_path / "landcover.img.hdr").read_text()
    assert "data ignore value = 0" in header
    assert "mask from the LAI" in (tmp_path / "README_BEPS.txt").read_text()
    # a given land cover keeps its codes, water (0) excluded, and missing LAI forced to 0
    given = np.random.default_rng(2).choice(np.array([0, 1, 6, 23], np.uint8), SHAPE)
    write_beps(lai, tmp_path, stem="lc", landcover=given)
    lc = np.fromfile(tmp_path / "landcover.img", np.uint8).reshape(SHAPE)
    assert np.array_equal(lc, np.where(missing, 0, given))
    with pytest.raises(OutputError, match="codes 0-255"):
        write_beps(lai, tmp_path, stem="x", landcover=given.astype("int16") * 100)
    # no pixel without LAI: no DN 0 written, and the headers do not claim one
    full = lai.fillna(1.0)
    out = write_beps(full, tmp_path, stem="full")
    assert "data ignore value" not in out.files[0].header.read_text()
    assert _read_dn(out.files[0].path).min() >= 1


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
    out = write_beps(lai, tmp_path, stem="c",
                     options=BepsOptions(suffixes=custom, combine="mean", exclude_missing=False))
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


def readconf(path) -> dict:
    """BEPS_D's ``readconf.c``, written from its documented order (reference/BEPS.md §4 and
    the fscanf formats of readconf.c): 23 whitespace-separated ``label value`` pairs, labels
    ignored; %d, %d, %d, %f, %d x4, %s x10, %c x5."""
    tokens = path.read_text().split()
    assert len(tokens) == 46, "23 label/value pairs, each one token"
    values = tokens[1::2]
    names = ["jday_start", "jday_end", "cycle_display", "factor", "lin_offset", "nlines",
             "pix_offset", "npixels", "awcf", "landcoverf", "leafareaf", "snowpackf",
             "ncarbinf", "rowf", "colf", "deltarowf", "deltacolf", "rowminf", "output_NPP",
             "output_res", "output_eva", "output_tra", "output_site"]
    out: dict = {}
    for k, (name, v) in enumerate(zip(names, values, strict=True)):
        if k in (0, 1, 2, 4, 5, 6, 7):
            out[name] = int(v) if v.lstrip("-").isdigit() else None  # %d fails on a token
        elif k == 3:
            try:
                out[name] = float(v)
            except ValueError:
                out[name] = None
        else:
            out[name] = v if k < 18 else v[0]
    return out


def test_control_file_and_beps_row_reads(tmp_path):
    lai = make_lai()
    window = (10, 20, 7, 30)  # line offset, lines, pixel offset, pixels
    ctl = BepsControl(display_cycle=10, climate="met/ncar_2012.dat", output_npp=True,
                      output_site=False)
    out = write_beps(lai, tmp_path, stem="lai_2012",
                     options=BepsOptions(window=window, control=ctl))
    conf = readconf(out.control)
    # DEKADS start 21 Apr, 1 May, 11 May 2012 (leap year: days 112, 122, 132), each 10 days
    assert (conf["jday_start"], conf["jday_end"]) == (112, 141)
    assert conf["cycle_display"] == 10 and conf["factor"] is None  # placeholder: %f fails
    assert (conf["lin_offset"], conf["nlines"], conf["pix_offset"], conf["npixels"]) == window
    assert conf["leafareaf"] == "lai_2012" and conf["landcoverf"] == "landcover.img"
    assert conf["ncarbinf"] == "met/ncar_2012.dat" and conf["awcf"] == "TO_FILL_soil_water"
    assert (conf["output_NPP"], conf["output_site"], conf["output_res"]) == ("y", "n", "T")
    assert out.to_fill == ["npp_factor", "soil_water", "snowpack", "row_interpolation",
                           "column_interpolation", "delta_row_interpolation",
                           "delta_column_interpolation", "row_minimum_interpolation",
                           "output_respiration", "output_evaporation", "output_transpiration"]
    notes = (tmp_path / "README_BEPS.txt").read_text()
    assert "NPIX_CAN = 50" in notes and "TO_FILL" in notes and "soil_water" in notes
    meta = json.loads((tmp_path / "beps.json").read_text())
    assert meta["grid"]["row_stride"] == SHAPE[1] and meta["to_fill"] == out.to_fill
    # BEPS readlai.c: seek line * NPIX + pix_offset, read npixels, per line of the window
    path = tmp_path / f"{conf['leafareaf']}.003"
    assert path.stat().st_size == SHAPE[0] * SHAPE[1]
    missing = np.isnan(lai.values).any(axis=0)
    lo, nl, po, npx = window
    with open(path, "rb") as fh:
        for lin in range(nl):
            fh.seek((lo + lin) * SHAPE[1] + po)
            row = np.frombuffer(fh.read(npx), np.uint8)
            v = lai.values[1, lo + lin, po : po + npx]
            exp = np.where(missing[lo + lin, po : po + npx], 0, _expected_dn(np.nan_to_num(v)))
            assert np.array_equal(row, exp)
    with pytest.raises(OutputError, match="outside the 40 x 50 grid"):
        write_beps(lai, tmp_path, options=BepsOptions(window=(30, 20, 0, 10)))
    with pytest.raises(OutputError, match="whitespace"):
        write_beps(lai, tmp_path, options=BepsOptions(control=BepsControl(climate="a b")))


def test_clumping_file_beside_the_lai(tmp_path):
    lai = make_lai()
    om = np.random.default_rng(4).uniform(0.4, 1.0, SHAPE).astype("float32")
    om[:3] = np.nan
    out = write_beps(lai, tmp_path, stem="lai", clumping=om)
    got = np.fromfile(tmp_path / "clumping.img", "<f4").reshape(SHAPE)
    assert np.array_equal(got, np.where(np.isnan(om), 0, om))
    assert tmp_path / "clumping.img" in out.companions
    assert "data type = 4" in (tmp_path / "clumping.img.hdr").read_text()
    with pytest.raises(OutputError, match="clumping shape"):
        write_beps(lai, tmp_path, stem="bad", clumping=om[:10])


def test_control_end_day_stops_before_a_period_without_lai(tmp_path):
    lai = make_lai(nan_fraction=0.0)
    lai = lai.where(lai["time"] != lai["time"][1])  # the second period has no value at all
    out = write_beps(lai, tmp_path, stem="gap", options=BepsOptions(exclude_missing=False))
    conf = readconf(out.control)
    assert (conf["jday_start"], conf["jday_end"]) == (112, 121)  # .002 only: .003 is empty
    assert out.uncovered == ["gap.003"]
    assert "gap.003" in (tmp_path / "README_BEPS.txt").read_text()
    # values everywhere, but no observation in the third period: carried, not covered
    full = make_lai(nan_fraction=0.0)
    seen = [(date(2012, 4, 15), date(2012, 5, 8))]  # meets .002 (Apr 21-30) and .003 only
    out = write_beps(full, tmp_path, stem="seen", observed=seen)
    conf = readconf(out.control)
    assert (conf["jday_start"], conf["jday_end"]) == (112, 131)
    assert out.uncovered == ["seen.004"]


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
        write_beps(failing(lai, at_block=9), tmp_path, stem="lai",
                   options=BepsOptions(exclude_missing=False, latlon=False))
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
    assert np.array_equal(dn == 0, raw > 100)  # water and every pixel without LAI: not simulated
    lc = np.fromfile(tmp_path / "landcover.img", np.uint8).reshape(1200, 1200)
    assert np.array_equal(lc == 0, raw > 100)
    c = out.files[0].counts
    assert c["valid"] == int(valid.sum()) and c["excluded"] == int((raw > 100).sum())
    assert c["nonveg"] == c["fill"] == 0
    # the old coding, kept with exclude_missing=False: fill classes by their own DN
    keep = BepsOptions(suffixes=[".001"], exclude_missing=False, latlon=False)
    with dask.config.set(scheduler="synchronous"):
        out = write_beps(ds["Lai_1km"], tmp_path, stem="keep", fill_class=ds["Lai_1km_class"],
                         landcover=landcover, options=keep)
    dn = np.fromfile(out.files[0].path, np.uint8).reshape(1200, 1200)
    assert np.array_equal(dn == 0, raw == 254)
    assert (dn[(raw >= 250) & (raw <= 253)] == 1).all()
    assert (dn[(raw == 255) | (raw == 249)] == 1).all()
    c = out.files[0].counts
    assert c["valid"] == int(valid.sum()) and c["excluded"] == int((raw == 254).sum())
    assert c["nonveg"] == int(((raw >= 250) & (raw <= 253)).sum())
    assert c["valid"] + c["nonveg"] + c["fill"] + c["excluded"] == 1200 * 1200
    print(f"h17v03: {c}")


# ------------------------------------------------------------------------------------------
# a whole leap year and a whole non-leap year, read day by day as BEPS_D reads them
# ------------------------------------------------------------------------------------------
def readlai_suffix(jday: int) -> str:
    """BEPS_D readlai.c's chain of ifs, written out (reference/BEPS.md §2)."""
    table = [(101, ".001"), (111, ".001"), (121, ".002"), (131, ".003"), (141, ".004"),
             (152, ".005"), (162, ".006"), (172, ".007"), (182, ".008"), (192, ".009"),
             (202, ".010"), (213, ".011"), (223, ".012"), (233, ".013"), (244, ".014"),
             (254, ".015"), (264, ".016"), (274, ".017"), (284, ".018"), (294, ".019")]
    for upper, suffix in table:
        if jday < upper:
            return suffix
    return ".020"


def test_two_years_read_day_by_day_as_beps_does(tmp_path):
    """2011 (365 days) and 2012 (leap) smoothed onto period="beps_d" and written: one file
    set and control file per year; on every day of each year, the file BEPS_D opens (its
    day table by day of year alone) exists and holds the mean of the daily smoothed curve
    over the days BEPS reads that file (within the 0.05 of the byte coding)."""
    import xarray as xr

    from modisoft.grids import grid_from_bounds
    from modisoft.timeseries import smooth

    grid = grid_from_bounds("EPSG:3035", 1000, (0, 0, 5000, 4000))
    dates = [date(y, 1, 1) + timedelta(days=8 * k) for y in (2011, 2012) for k in range(46)]
    doy = np.array([d.timetuple().tm_yday for d in dates], float)
    rng = np.random.default_rng(1)
    amp = rng.uniform(1, 6, (4, 5))
    vals = (0.3 + amp[None] * np.exp(-(((doy - 200) / 45) ** 2))[:, None, None]
            + rng.normal(0, 0.1, (len(dates), 4, 5))).astype("float32")
    coords = {**grid.xarray_coords(), "time": np.array(dates, "datetime64[ns]")}
    stack = xr.DataArray(vals, dims=("time", "y", "x"), coords=coords, name="lai")
    span = (date(2011, 1, 1), date(2012, 12, 31))
    per = smooth(stack, "whittaker", period="beps_d", span=span).compute()
    days = np.arange(np.datetime64("2011-01-01"), np.datetime64("2013-01-01"))
    daily = smooth(stack, "whittaker", at=days).compute()["lai"].values
    assert per.sizes["time"] == 40
    out = write_beps(per["lai"], tmp_path, stem="lai")
    assert [p.name for p in out.controls] == ["lai_2011.con", "lai_2012.con"]
    for year, n_days in ((2011, 365), (2012, 366)):
        conf = readconf(tmp_path / f"lai_{year}.con")
        assert (conf["jday_start"], conf["jday_end"]) == (1, n_days)
        first = int((np.datetime64(f"{year}-01-01") - days[0]).astype(int))
        curve = daily[first:first + n_days]
        groups: dict[str, list[int]] = {}
        for jday in range(1, n_days + 1):
            groups.setdefault(readlai_suffix(jday), []).append(jday - 1)
        assert len(groups) == 20
        for jday in range(conf["jday_start"], conf["jday_end"] + 1):
            suffix = readlai_suffix(jday)
            path = tmp_path / f"{conf['leafareaf']}{suffix}"
            assert path.exists(), (year, jday)
            dn = np.fromfile(path, np.uint8).reshape(4, 5)
            mean = curve[groups[suffix]].mean(axis=0)
            assert np.abs((dn - 1) / 10 - mean).max() <= 0.05 + 1e-5, (year, jday)
        for k, suffix in enumerate(sorted(groups)):  # and the stored periods, exactly
            idx = (year - 2011) * 20 + k
            np.testing.assert_allclose(per["lai"].values[idx],
                                       curve[groups[suffix]].mean(axis=0), atol=1e-5)


def test_a_real_leap_year_read_day_by_day_with_its_land_cover(tmp_path):
    """Real MOD15A2H LAI of 2004 (a leap year, 46 dates) and its MCD12Q1 IGBP land cover
    (the Arcachon sample, 81 x 81 sinusoidal 500 m pixels): smoothed onto BEPS_D's day table
    and written with the land cover mapped to BEPS codes; every day 1-366 opens the file
    readlai.c picks and reads the mean of the daily curve over that file's days; DN 0 exactly
    where the written land cover is 0."""
    import xarray as xr
    from affine import Affine
    from conftest import sample

    from modisoft.grids import Grid
    from modisoft.products.beps import IGBP_TO_BEPS_D
    from modisoft.timeseries import smooth

    src = xr.open_dataset(sample("arcachon_MOD15A2H_Lai500m_MCD12Q1_LCType1_2004_81x81.nc"))
    x, y = src.x.values, src.y.values
    res = float(x[1] - x[0])
    sinu = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
    grid = Grid.from_crs(sinu, Affine(res, 0, x[0] - res / 2, 0, -res, y[0] + res / 2),
                         (len(y), len(x)))
    raw = src.Lai_500m.values
    lai = np.where(raw <= 100, raw * 0.1, np.nan).astype("float32")
    coords = {**grid.xarray_coords(), "time": src.time.values}
    stack = xr.DataArray(lai, dims=("time", "y", "x"), coords=coords, name="lai")
    per = smooth(stack, "whittaker", period="beps_d",
                 span=(date(2004, 1, 1), date(2004, 12, 31))).compute()
    days = np.arange(np.datetime64("2004-01-01"), np.datetime64("2005-01-01"))
    curve = smooth(stack, "whittaker", at=days).compute()["lai"].values
    igbp = np.nan_to_num(src.LC_Type1.values, nan=255).astype(int)
    lc = np.vectorize(lambda c: IGBP_TO_BEPS_D.get(c, 0))(igbp).astype(np.uint8)
    out = write_beps(per["lai"], tmp_path, stem="lai_2004", landcover=lc,
                     options=BepsOptions(control=BepsControl(display_cycle=1)))
    written = np.fromfile(tmp_path / "landcover.img", np.uint8).reshape(81, 81)
    missing = np.isnan(per["lai"].values).any(axis=0)
    assert np.array_equal(written == 0, (lc == 0) | missing)
    conf = readconf(out.control)
    assert (conf["jday_start"], conf["jday_end"], conf["cycle_display"]) == (1, 366, 1)
    groups: dict[str, list[int]] = {}
    for jday in range(1, 367):
        groups.setdefault(readlai_suffix(jday), []).append(jday - 1)
    sim = written != 0
    worst = 0.0
    for jday in range(1, 367):
        dn = np.fromfile(tmp_path / f"{conf['leafareaf']}{readlai_suffix(jday)}",
                         np.uint8).reshape(81, 81)
        assert np.array_equal(dn == 0, ~sim), jday
        mean = curve[groups[readlai_suffix(jday)]].mean(axis=0)
        worst = max(worst, float(np.abs((dn[sim] - 1) / 10 - mean[sim]).max()))
    assert worst <= 0.05 + 1e-5
    print(f"2004: {sim.sum()} simulated pixels of {sim.size}, 366 days read, "
          f"max |BEPS LAI - daily-curve mean| {worst:.4f}")
