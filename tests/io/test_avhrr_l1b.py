"""Raw AVHRR level-1b: the real (truncated) TIROS-N POD GAC file's header, and the optional
pygac backend (a clear message without it; the wiring checked with a stand-in module)."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import sample

from modisoft import inspect_granule, open_granule
from modisoft.errors import GranuleReadError

POD = "NSS.GHRR.TN.D80003.S1147.E1332.B0630506.GC"


def test_pod_header_reproduces_the_file_name():
    """The name says D80003 (1980, day 3), S1147, E1332, block B0630506, satellite TN."""
    info = inspect_granule(sample(POD))
    ex = info.extra
    assert ex["l1b_format"] == "POD" and ex["data_type"] == "GAC"
    assert ex["satellite"] == "TIROS-N"
    start = datetime.fromisoformat(ex["start_time"])
    end = datetime.fromisoformat(ex["end_time"])
    assert (start.year, start.timetuple().tm_yday, start.hour, start.minute) == (1980, 3, 11, 47)
    assert (end.hour, end.minute) == (13, 32)
    assert ex["processing_block"] == "0630506"
    # 60,000 bytes = header record + 17 complete 3220-byte GAC scan records (PRODUCTS.md §12)
    assert ex["scans_present"] == 17 and ex["truncated"] is True
    assert ex["scans_declared"] > ex["scans_present"]
    assert info.granule.start_date == datetime(1980, 1, 3, tzinfo=UTC).date()


def test_without_pygac_a_clear_message_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygac", None)  # import pygac -> ImportError
    with pytest.raises(GranuleReadError, match=r"pip install 'modisoft\[avhrr\]'"):
        open_granule(sample(POD))


def test_pygac_wiring_with_a_stand_in(monkeypatch, tmp_path):
    """Not pygac itself (an optional extra, and the sample is truncated): a stand-in module
    with pygac's reader interface checks that modisoft passes the TLE folder and builds a swath
    Dataset with 2-D lat/lon from what the reader returns."""
    seen = {}

    class Reader:
        def __init__(self, tle_dir):
            seen["tle_dir"] = tle_dir

        def read(self, path):
            seen["path"] = path

        def get_calibrated_channels(self):
            return np.arange(2 * 3 * 5, dtype="float64").reshape(2, 3, 5)

        def get_lonlat(self):
            return np.full((2, 3), 10.0), np.full((2, 3), 50.0)

    fake = types.SimpleNamespace(get_reader_class=lambda path: Reader, __version__="stand-in")
    monkeypatch.setitem(sys.modules, "pygac", fake)
    monkeypatch.delenv("MODISOFT_TLE_DIR", raising=False)
    with pytest.raises(GranuleReadError, match="MODISOFT_TLE_DIR"):
        open_granule(sample(POD))
    monkeypatch.setenv("MODISOFT_TLE_DIR", str(tmp_path))
    ds = open_granule(sample(POD))
    assert seen["tle_dir"] == str(tmp_path) and seen["path"].endswith(POD)
    assert list(ds.data_vars) == [f"channel_{i}" for i in range(1, 6)]
    assert ds.lat.dims == ("y", "x") and float(ds.lat[0, 0]) == 50.0
    np.testing.assert_array_equal(ds.channel_2.values, np.arange(30).reshape(2, 3, 5)[..., 1])
