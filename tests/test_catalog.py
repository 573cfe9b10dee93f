"""Granule identity from file names and from metadata; disagreements are reported."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime

import pytest
from conftest import sample

from modisoft import inspect_granule, open_granule, parse_filename
from modisoft.errors import GranuleReadError, IdentityMismatchWarning


def test_parse_standard_names():
    g = parse_filename("/x/MCD15A2H.A2016201.h18v05.006.2016215124658.hdf")
    assert (g.product, g.collection, g.tile, g.tile_id) == ("MCD15A2H", "006", (18, 5), "h18v05")
    assert g.start_date == date(2016, 7, 19)
    assert g.production_time == datetime(2016, 8, 2, 12, 46, 58, tzinfo=UTC)
    sw = parse_filename("MOD021KM.A2008296.1230.061.2017321000000.hdf")
    assert sw.product == "MOD021KM" and sw.tile is None
    assert parse_filename("VNP13A2.A2025001.h18v09.002.2025017085341.h5").collection == "002"
    assert parse_filename("MOD11A1.hdf").identified_from == "none"
    with pytest.raises(GranuleReadError, match="day 999 does not exist in 2025"):
        parse_filename("MOD13A2.A2025999.h18v09.061.2025022080611.hdf")  # a standard name, damaged


def test_name_and_metadata_agree_on_real_files():
    info = inspect_granule(sample("MOD13A2.A2025017.h18v09.061.2025035161835.hdf"))
    g = info.granule
    assert g.identified_from == "filename+metadata" and g.mismatches == ()
    assert (g.product, g.collection, g.tile_id) == ("MOD13A2", "061", "h18v09")
    assert (g.start_date, g.end_date) == (date(2025, 1, 17), date(2025, 2, 1))


def test_renamed_file_identified_from_metadata():
    g = inspect_granule(sample("MOD11A1.hdf")).granule
    assert g.identified_from == "metadata"
    assert g.granule_id == "MOD11A1.A2019305.h14v09.006.2019306084028.hdf"
    assert (g.product, g.collection, g.tile_id, g.start_date) == (
        "MOD11A1",
        "006",
        "h14v09",
        date(2019, 11, 1),
    )


def test_wrong_name_is_reported_and_metadata_wins(tmp_copy):
    wrong = tmp_copy(
        "MOD13A2.A2025017.h18v09.061.2025035161835.hdf",
        "MOD13A2.A2025033.h19v09.061.2025035161835.hdf",
    )
    with pytest.warns(IdentityMismatchWarning) as rec:
        ds = open_granule(wrong, "1 km 16 days NDVI")
    msg = str(rec[0].message)
    assert "file name says tile h19v09 but the metadata says h18v09" in msg
    assert "file name says date 2025-02-02 but the metadata says 2025-01-17" in msg
    assert "outside the metadata's range 2025-01-17 to 2025-02-01" in msg
    assert ds.attrs["tile"] == "h18v09" and ds.attrs["start_date"] == "2025-01-17"
    assert "identity_mismatches" in ds.attrs


def test_no_warning_when_consistent():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ds = open_granule(sample("MCD15A2.A2012001.h18v03.005.2012017211211.hdf"), "Lai_1km")
    assert [str(w.message) for w in seen] == []
    assert ds.attrs["identified_from"] == "filename+metadata"  # both were read and agree


def test_mcd43_centre_date_is_not_a_mismatch():
    """MCD43A3 names the centre day of its 16-day window: A2017199 = 2017-07-18 lies inside
    RANGEBEGINNINGDATE..RANGEENDINGDATE = 2017-07-10..2017-07-25 (read from the real file)."""
    g = inspect_granule(sample("MCD43A3.A2017199.h15v07.006.2017208032853.hdf")).granule
    assert g.mismatches == ()
    assert g.nominal_date == date(2017, 7, 18)
    assert (g.start_date, g.end_date) == (date(2017, 7, 10), date(2017, 7, 25))


def test_find_files_folders_globs_and_unmatched_patterns(tmp_path):
    from modisoft.catalog import GRANULE_SUFFIXES, RASTER_SUFFIXES, find_files

    (tmp_path / "a" / "deep").mkdir(parents=True)
    for rel in ("a/x.hdf", "a/deep/y.H5", "a/notes.txt", "a/lc.tif", "b.hdf"):
        (tmp_path / rel).write_bytes(b"")
    files, unmatched = find_files(["a"], base=tmp_path)  # a folder: recursive, by suffix
    assert files == [tmp_path / "a/deep/y.H5", tmp_path / "a/x.hdf"] and unmatched == []
    files, _ = find_files(["a"], suffixes=RASTER_SUFFIXES + GRANULE_SUFFIXES, base=tmp_path)
    assert tmp_path / "a/lc.tif" in files and tmp_path / "a/notes.txt" not in files
    # a glob keeps every file it matches, whatever its name; duplicates count once
    files, unmatched = find_files([str(tmp_path / "a/*"), "b.hdf", "b.hdf", "nowhere/*.hdf"],
                                  base=tmp_path)
    assert files == sorted([tmp_path / "a/lc.tif", tmp_path / "a/notes.txt",
                            tmp_path / "a/x.hdf", tmp_path / "b.hdf"])
    assert unmatched == ["nowhere/*.hdf"]
