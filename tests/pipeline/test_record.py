"""``make_record``: a three-segment record (AVHRR → MODIS → VIIRS) on one grid.

The segments are **synthetic**, labelled so in their stores: docs/examples/record_segments.py
makes them from the real MCD15A2 h17v03 2012 LAI of sample_tiles/ (a 120 × 120 window,
averaged per month January-April, replicated over the years with a known per-year factor)
seen by each sensor through a known per-cover line plus noise.  The expected relations
(a = −c/d, b = 1/d) and the expected jumps at the joins are computed here from those known
lines and the real pixels, not from the code under test.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from modisoft.errors import ConfigError, RecordError
from modisoft.io.stack import open_stack
from modisoft.pipeline.record import make_record, read_record
from modisoft.pipeline.record_check import check_record
from modisoft.pipeline.record_config import load_record_config

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("pipeline/test_record")

ROOT = Path(__file__).resolve().parents[2]
NOISE = 0.02  # small enough that regressing on a noisy x attenuates b by < 1 %


def example_module():
    """docs/examples/record_segments.py, imported."""
    name = "record_segments"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "docs" / "examples" / "record_segments.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    d = tmp_path_factory.mktemp("record")
    ex = example_module()
    cfg = ex.write_example(d, noise=NOISE)
    result = make_record(cfg)
    return d, ex, result


def _relation(result, name):
    j = next(j for j in result.record["joins"] if j["name"] == name)
    return j, {int(c["cover"]): c for c in j["relation"]["fits"]}


def test_the_relations_recover_the_known_inter_sensor_lines(example):
    _, ex, result = example
    j, fits = _relation(result, "AVHRR-MODIS")
    assert (j["source"], j["target"], j["applied"]) == ("AVHRR", "MODIS", True)
    for cover, (c, d) in ex.AVHRR.items():  # AVHRR = c + d·T → MODIS = −c/d + AVHRR/d
        assert fits[cover]["b"] == pytest.approx(1 / d, abs=0.03)
        assert fits[cover]["a"] == pytest.approx(-c / d, abs=0.05)
        assert fits[cover]["n"] > 1000
    j, fits = _relation(result, "MODIS-VIIRS")
    assert (j["source"], j["target"], j["applied"]) == ("VIIRS", "MODIS", False)
    for cover, (o, s) in ex.VIIRS.items():
        assert fits[cover]["b"] == pytest.approx(1 / s, abs=0.03)
        assert fits[cover]["a"] == pytest.approx(-o / s, abs=0.05)


def test_each_period_comes_from_one_sensor_by_priority(example):
    d, _, result = example
    ds = open_stack(result.store)
    sensors = [str(s) for s in ds["sensor"].values]
    years = ds["time"].values.astype("datetime64[Y]").astype(int) + 1970
    # MODIS (the reference) first, then VIIRS, then AVHRR: AVHRR 1998-2000, MODIS
    # 2001-2008, VIIRS 2009-2010, four months a year
    assert sensors == ["AVHRR"] * 12 + ["MODIS"] * 32 + ["VIIRS"] * 8
    assert list(years[::4]) == list(range(1998, 2011))
    assert result.record["priority"] == ["MODIS", "VIIRS", "AVHRR"]
    assert [s["periods_taken"] for s in result.record["segments"]] == [12, 32, 8]
    modis = open_stack(d / "modis.zarr")["lai"]
    np.testing.assert_array_equal(ds["lai"].isel(time=slice(12, 44)).values, modis.values)
    viirs = open_stack(d / "viirs.zarr")["lai"]  # left uncorrected: as stored
    np.testing.assert_array_equal(ds["lai"].isel(time=slice(44, None)).values,
                                  viirs.isel(time=slice(8, None)).values)


def test_the_continuity_check_flags_only_the_uncorrected_join(example):
    _, ex, result = example
    base, cover, _ = ex.truth_base()
    rows = {(r["join"], r["cover"]): r for r in result.record["continuity"]}
    assert result.flagged == ["MODIS-VIIRS"]
    f = ex.year_factor
    for k, (o, s) in ex.VIIRS.items():
        m = np.nanmean(base[:, cover == k])  # the truth's mean over the cover's pixels
        # MODIS 2008 (truth) against uncorrected VIIRS 2009 (o + s·truth)
        want = o + s * f(2009) * m - f(2008) * m
        r = rows[("MODIS-VIIRS", k)]
        assert r["boundary"] == "2009-01-01" and r["flag"]
        assert r["jump"] == pytest.approx(want, abs=0.01)
        assert r["before"]["mean"] == pytest.approx(f(2008) * m, abs=0.01)
        # corrected AVHRR 2000 against MODIS 2001: only the truth's own year change
        r = rows[("AVHRR-MODIS", k)]
        assert r["jump"] == pytest.approx((f(2001) - f(2000)) * m, abs=0.02)
        assert not r["flag"]
    assert rows[("AVHRR-MODIS", "all")]["before"]["periods"] == 4


def test_the_store_carries_the_relations_and_the_continuity(example):
    _, _, result = example
    ds = open_stack(result.store)
    prov = json.loads(ds.attrs["modisoft_provenance"])
    assert prov["extra"]["record"] == read_record(result.store) == result.record
    assert prov["config"]["relation"]["uncorrected"] == ["MODIS-VIIRS"]
    table = result.table()
    flagged = [line for line in table.splitlines() if line.endswith("FLAG")]
    assert len(flagged) == 4 and all(line.startswith("MODIS-VIIRS") for line in flagged)


# ------------------------------------------------------------------------ fail fast
def _config(d: Path, text: str, **replace: str) -> Path:
    for old, new in replace.items():
        text = text.replace(old, new)
    p = d / "bad.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("replace", "error", "match"), [
    ({"[relation]": "[relations]"}, ConfigError, r"unknown table\(s\) \[relations\]"),
    ({'sensor = "VIIRS"': 'sensor = "VIIRs"'}, ConfigError, r"did you mean 'VIIRS'"),
    ({'store = "viirs.zarr"': 'store = "viirs.zarr"\nconfig = "run.toml"'}, ConfigError,
     "exactly one of store"),
    ({"threshold = 0.2": "threshold = -1"}, ConfigError, "threshold: need a number > 0"),
    ({"MODIS-VIIRS = [": "VIIRS-MODIS = ["}, RecordError,
     "the segments in time order make the joins AVHRR-MODIS, MODIS-VIIRS"),
    ({'"2007-01-01", "2008-12-31"': '"2011-01-01", "2012-12-31"'}, RecordError,
     "outside the years both segments cover"),
    ({'period = "month"': 'period = "dekad"'}, RecordError,
     r"different period schemes: AVHRR 'month', .*\[record\] period 'dekad'"),
    ({'store = "avhrr.zarr"': 'store = "avhrr.zarr"\nquantity = "sr"',
      '["MODIS-VIIRS"]': '["AVHRR-MODIS"]'}, RecordError, "cannot be left uncorrected"),
    ({'store = "viirs.zarr"': 'store = "viirs.zarr"\nquantity = "sr"'}, ConfigError,
     "quantity 'sr' is for AVHRR segments only"),
    ({'reference = "MODIS"': 'reference = "SPOT"'}, ConfigError, "accepted: AVHRR, MODIS"),
    ({"n_min = 30": 'n_min = 30\nseason = "DJF"'}, ConfigError,
     r"season 'DJF'; accepted: 'none', 'month', 'djf'"),
    ({"n_min = 30": 'n_min = 30\nform = "cubic"'}, ConfigError, "form 'cubic'; accepted: linear"),
    ({'name = "lai_record"': 'name = "../../escape"'}, ConfigError,
     r"\[output\] name '../../escape': need a file name of letters, digits"),
    ({'name = "lai_record"': 'name = "sub/lai"'}, ConfigError, r"\[output\] name 'sub/lai'"),
    ({'period = "month"': 'period = "mnth"'}, ConfigError,
     r"\[record\] period 'mnth' \(did you mean 'month'\?\); accepted: beps_d, .* '<N>day'"),
    ({'store = "viirs.zarr"': 'config = "viirs.toml"\nvariable = "lai"'}, ConfigError,
     r"\[\[segments\]\] #3 \(VIIRS\) variable 'lai': only with store"),
    ({'cover = "cover.zarr"': 'cover = "cover.tif"\ncover_variable = "igbp"'}, ConfigError,
     r"cover_variable 'igbp': only with a NetCDF or Zarr cover; cover.tif is a GeoTIFF"),
])
def test_bad_record_configs_fail_before_anything_is_computed(example, replace, error, match):
    d, ex, _ = example
    p = _config(d, ex.RECORD_TOML, **replace)
    with pytest.raises(error, match=match) as err:
        make_record(p)
    assert str(err.value).startswith(f"{p}: "), "the message names the record config"


def test_segments_on_another_grid_fail_naming_both_grids(example, tmp_path):
    import xarray as xr

    from modisoft.grids import Grid
    from modisoft.write import write_zarr

    d, ex, _ = example
    ds = open_stack(d / "viirs.zarr")
    grid = Grid.from_xarray(ds)[1:, :]  # one row fewer
    lai = ds["lai"].isel(y=slice(1, None)).reset_coords(drop=True)
    other = xr.Dataset({"lai": lai}, coords={**grid.xarray_coords(), "time": ds["time"],
                                             "period_end": ds["period_end"],
                                             "period_label": ds["period_label"]})
    other["lai"].attrs["grid_mapping"] = "spatial_ref"
    write_zarr(other, tmp_path / "viirs_small.zarr")
    p = _config(d, ex.RECORD_TOML, **{'store = "viirs.zarr"':
                                      f'store = "{tmp_path / "viirs_small.zarr"}"'})
    with pytest.raises(RecordError) as err:
        check_record(load_record_config(p))
    msg = str(err.value)
    assert "(119, 120)" in msg and "(120, 120)" in msg and "viirs_small.zarr" in msg
    assert "modis.zarr" in msg or "avhrr.zarr" in msg


def test_an_existing_store_that_is_not_a_record_is_not_replaced(example, tmp_path):
    d, ex, _ = example
    p = _config(d, ex.RECORD_TOML, **{'dir = "record_output"': f'dir = "{d}"',
                                      'name = "lai_record"': 'name = "modis"'})
    with pytest.raises(RecordError, match="is not a record written by"):
        make_record(p)
    assert (d / "modis.zarr").exists()


def test_an_avhrr_sr_segment_is_tied_to_modis_pixel_by_pixel(example, tmp_path):
    """The AVHRR store read as simple ratio: the GLOBMAP tie per pixel (fit_avhrr_relation)
    puts it on MODIS's scale; the synthetic AVHRR is a line of the truth per pixel, so the
    tied 1998-2000 values are the truth up to the noise."""
    d, ex, _ = example
    p = _config(d, ex.RECORD_TOML, **{'store = "avhrr.zarr"':
                                      'store = "avhrr.zarr"\nquantity = "sr"',
                                      'dir = "record_output"': f'dir = "{tmp_path}"'})
    result = make_record(p)
    j = result.record["joins"][0]
    assert (j["name"], j["kind"], j["applied"]) == ("AVHRR-MODIS", "avhrr_sr", True)
    px = j["relation"]["pixels"]  # 8 overlap periods < 10 pairs: each cover type's fit
    assert px["pixel"] + px["cover_type_fallback"] > 0.9 * 120 * 120 - px["none"]
    base, _, _ = ex.truth_base()
    tied = open_stack(result.store)["lai"].isel(time=slice(0, 12)).values
    want = ex.truth(base, 1998, 2000)
    err = (tied - want)[np.isfinite(want) & np.isfinite(tied)]
    assert err.size > 0.8 * np.isfinite(want).sum()
    assert abs(err.mean()) < 0.01 and np.sqrt((err ** 2).mean()) < 4 * NOISE
    assert not any(r["flag"] for r in result.record["continuity"]
                   if r["join"] == "AVHRR-MODIS")


def test_a_store_that_does_not_say_its_periods_needs_the_record_period(example, tmp_path):
    from modisoft.write import write_zarr

    d, ex, _ = example
    ds = open_stack(d / "viirs.zarr")
    bare = ds[["lai"]].drop_vars(["lat", "lon", "lat_bnds", "lon_bnds", "height"],
                                 errors="ignore")
    bare.attrs = {}
    write_zarr(bare, tmp_path / "viirs_bare.zarr")  # provenance without a configuration
    p = _config(d, ex.RECORD_TOML, **{'store = "viirs.zarr"':
                                      f'store = "{tmp_path / "viirs_bare.zarr"}"'})
    plans, _ = check_record(load_record_config(p))  # [record] period = "month" says it
    assert [pl.period for pl in plans] == ["month", "month", None]
    p.write_text(p.read_text().replace('period = "month"', ""))
    with pytest.raises(RecordError, match=r"viirs_bare.zarr: its provenance does not say its "
                                          r"period scheme; give it as \[record\] period"):
        check_record(load_record_config(p))


def _without_georeference(src, dst):
    """A copy of a store's ``(time, y, x)`` or ``(y, x)`` variables with no grid mapping."""
    import xarray as xr

    ds = open_stack(src)
    keep = {v: ds[v].reset_coords(drop=True).drop_vars(["y", "x"]) for v in ds.data_vars}
    out = xr.Dataset(keep, attrs={k: v for k, v in ds.attrs.items()
                                  if k == "modisoft_provenance"})
    for v in out.data_vars:
        out[v].attrs.pop("grid_mapping", None)
    out.to_zarr(dst, mode="w", consolidated=False)
    return dst


@pytest.mark.parametrize(("key", "old", "file"), [
    ("[[segments]] VIIRS store", 'store = "viirs.zarr"', "viirs.zarr"),
    ("[relation] cover", 'cover = "cover.zarr"', "cover.zarr"),
])
def test_a_segment_or_cover_without_georeference_names_the_file(example, tmp_path, key, old,
                                                                 file):
    d, ex, _ = example
    bare = _without_georeference(d / file, tmp_path / f"bare_{file}")
    p = _config(d, ex.RECORD_TOML, **{old: old.replace(file, str(bare))})
    with pytest.raises(RecordError) as err:
        check_record(load_record_config(p))
    msg = str(err.value)
    assert msg.startswith(f"{p}: {key} {bare}: no grid"), msg
    assert "a store written by 'modisoft run'" in msg


def test_an_output_dir_that_is_a_file_fails_before_anything_is_computed(example, tmp_path,
                                                                        monkeypatch):
    import modisoft.pipeline.record as record_module

    d, ex, _ = example
    (tmp_path / "afile").write_text("not a folder")
    p = _config(d, ex.RECORD_TOML, **{'dir = "record_output"': f'dir = "{tmp_path / "afile"}"'})
    monkeypatch.setattr(record_module, "fit_joins", lambda *a, **k: pytest.fail("computed"))
    with pytest.raises(RecordError, match=r"\[output\] dir .*afile: is a file, not a folder"):
        make_record(p)


def test_a_record_config_that_is_not_text_is_a_config_error(tmp_path):
    p = tmp_path / "record.toml"
    p.write_bytes(b"\xff\xfe[record]\n")
    with pytest.raises(ConfigError, match=r"record.toml: not a text \(UTF-8\) TOML file"):
        load_record_config(p)


def test_a_store_of_another_quantity_is_not_joined_as_lai(example, tmp_path):
    """A store whose variable says (CF standard_name) it holds NDVI is refused, even when
    [[segments]] variable names it."""
    from modisoft.write import Provenance, write_zarr

    d, ex, _ = example
    ds = open_stack(d / "viirs.zarr")
    ndvi = ds.rename(lai="ndvi")
    ndvi["ndvi"].attrs.update(standard_name="normalized_difference_vegetation_index",
                              units="1", long_name="NDVI")
    write_zarr(ndvi, tmp_path / "ndvi.zarr", provenance=Provenance.from_attrs(ds.attrs))
    p = _config(d, ex.RECORD_TOML, **{'store = "viirs.zarr"':
                                      f'store = "{tmp_path / "ndvi.zarr"}"\nvariable = "ndvi"'})
    with pytest.raises(RecordError, match=r"\[\[segments\]\] VIIRS store .*ndvi.zarr: variable "
                                          r"'ndvi' holds normalized_difference_vegetation_index"
                                          r" \(units 1\), not leaf_area_index"):
        check_record(load_record_config(p))


def test_a_run_config_of_another_quantity_is_not_joined_as_lai(example, tmp_path):
    """A segment's run that reads an FPAR layer writes FPAR: refused before it is run."""
    from pipeline.test_run import write_config

    d, ex, _ = example
    run = write_config(tmp_path, formats='["zarr"]')
    run.write_text(run.read_text().replace('product = "MCD15A2"',
                                           'product = "MCD15A2"\nlayer = "Fpar_1km"'))
    p = _config(d, ex.RECORD_TOML, **{'store = "viirs.zarr"': f'config = "{run}"'})
    with pytest.raises(RecordError, match=r"\[\[segments\]\] VIIRS config .*run.toml: the run "
                                          r"writes fpar .*, not leaf area index"):
        check_record(load_record_config(p))


@pytest.mark.parametrize(("drop", "overlap", "match"), [
    # AVHRR ends in 2000, MODIS starts in 2001: no join possible, whatever the overlap says
    (("2001-01-01", "2002-12-31"), '"1999-01-01", "2003-12-31"',
     r"AVHRR \(1998-01-01 to 2000-04-01\) and MODIS \(2001-01-01 to 2008-04-01\) do not "
     r"overlap in time"),
    # AVHRR without 2001: the spans overlap, but no period both have in the overlap (2001)
    (("2001-01-01", "2001-12-31"), '"2001-01-01", "2001-12-31"',
     r"AVHRR-MODIS = 2001-01-01 to 2001-12-31: AVHRR and MODIS have no period in common"),
])
def test_segments_without_a_common_period_fail_before_anything_is_computed(
        example, tmp_path, drop, overlap, match):
    from modisoft.write import Provenance, write_zarr

    d, ex, _ = example
    ds = open_stack(d / "avhrr.zarr")
    t = ds["time"].values
    keep = (t < np.datetime64(drop[0])) | (t > np.datetime64(drop[1]))
    write_zarr(ds.sel(time=keep), tmp_path / "avhrr.zarr",
               provenance=Provenance.from_attrs(ds.attrs))
    p = _config(d, ex.RECORD_TOML, **{'store = "avhrr.zarr"':
                                      f'store = "{tmp_path / "avhrr.zarr"}"',
                                      '"2001-01-01", "2002-12-31"': overlap})
    with pytest.raises(RecordError, match=match):
        check_record(load_record_config(p))


def test_a_segment_run_that_ends_incomplete_makes_the_record_incomplete(example, tmp_path,
                                                                        monkeypatch):
    """A [[segments]] config whose run ends with exit status 3 (granules failed, dates
    missing): the record is written, but says so (``incomplete``) and the CLI exits 3."""
    import shutil
    from types import SimpleNamespace

    from click.testing import CliRunner

    from modisoft.cli import main

    run_module = importlib.import_module("modisoft.pipeline.run")  # not the function run

    from modisoft.grids import Grid

    d, ex, _ = example
    g = Grid.from_xarray(open_stack(d / "modis.zarr"))  # the segments' grid
    run = tmp_path / "viirs_run.toml"
    run.write_text(f"""[inputs]
paths = ["{ROOT / 'sample_tiles'}"]
product = "MCD15A2"
start = "2007-01-01"
end = "2010-04-30"
[grid]
crs = '{g.crs_wkt}'
resolution = {g.resolution[0]!r}
bounds = {list(g.bounds)!r}
[steps]
period = "month"
[output]
dir = "{tmp_path / 'viirs_out'}"
name = "viirs"
formats = ["zarr"]
""")

    def fake_run(cfg, **_kw):  # the run's store, and an incomplete run's summary
        (tmp_path / "viirs_out").mkdir(exist_ok=True)
        shutil.copytree(d / "viirs.zarr", tmp_path / "viirs_out" / "viirs.zarr")
        return SimpleNamespace(exit_code=3)

    monkeypatch.setattr(run_module, "run", fake_run)
    p = _config(d, ex.RECORD_TOML, **{'store = "viirs.zarr"': f'config = "{run}"',
                                      'dir = "record_output"': f'dir = "{tmp_path / "rec"}"'})
    result = make_record(p)
    assert result.incomplete and "VIIRS" in result.incomplete[0]
    assert read_record(result.store)["incomplete"] == result.incomplete
    shutil.rmtree(tmp_path / "viirs_out")
    r = CliRunner().invoke(main, ["record", str(p)])
    assert r.exit_code == 3, r.output
    assert "modisoft: incomplete: the VIIRS segment's run" in r.output


def test_a_store_its_run_did_not_finish_is_not_joined(example, tmp_path):
    """A run's store marked incomplete (the run died, or is still writing) is refused."""
    import shutil

    import zarr

    d, ex, _ = example
    shutil.copytree(d / "viirs.zarr", tmp_path / "viirs.zarr")
    zarr.open_group(str(tmp_path / "viirs.zarr"), mode="r+").attrs["modisoft_status"] = \
        "incomplete"
    p = _config(d, ex.RECORD_TOML, **{'store = "viirs.zarr"':
                                      f'store = "{tmp_path / "viirs.zarr"}"'})
    with pytest.raises(RecordError, match=r"\[\[segments\]\] VIIRS store .*viirs.zarr: "
                                          r"incomplete \(its run was interrupted"):
        check_record(load_record_config(p))


def test_an_output_folder_another_process_is_writing_is_not_written(example, tmp_path):
    """[output] dir may be a run's folder: while a run (or another record) holds its lock,
    the record is not written there (OutputInUseError, exit 2)."""
    from modisoft.errors import OutputInUseError
    from modisoft.write.folder import claim_output_dir

    d, ex, _ = example
    p = _config(d, ex.RECORD_TOML, **{'dir = "record_output"': f'dir = "{tmp_path}"'})
    with claim_output_dir(tmp_path), pytest.raises(OutputInUseError, match="another modisoft"):
        make_record(p)
    assert not (tmp_path / "lai_record.zarr").exists()


def test_an_overlap_too_large_for_memory_fails_before_anything_is_computed(example,
                                                                           monkeypatch):
    import modisoft.pipeline.limits as limits
    from modisoft.pipeline.record_check import FIT_BYTES_PER_VALUE

    d, _ex, _ = example
    cfg = load_record_config(d / "record.toml")
    check_record(cfg)  # fits in this machine's memory
    # AVHRR-MODIS: 2001-2002, 4 months a year on both sides: 8 periods of 120 x 120 pixels
    need = FIT_BYTES_PER_VALUE * 8 * 120 * 120
    monkeypatch.setattr(limits, "available_memory", lambda: need - 1)
    with pytest.raises(RecordError, match=r"AVHRR-MODIS = .*: 8 periods on the 120 x 120 "
                                          r"grid need about .* more than the .* available"):
        check_record(cfg)
    monkeypatch.setattr(limits, "available_memory", lambda: need)
    check_record(cfg)
