"""Granule verification in reader processes: a failure, a crash or a stall of the reader is
recorded against that one file, and the other files are verified all the same.

The crash and the stall are made by a ``sitecustomize`` module on the reader's path that
replaces ``open_granule`` for files whose name says ``crash`` (the reader kills itself with
SIGSEGV, as the HDF4 C library does on some corrupt files) or ``stall`` (it sleeps).
"""

from __future__ import annotations

import os
import shutil
import signal
import time

import numpy as np
import pytest

from modisoft.pipeline.verify import file_stamp, verify_granules

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
GOOD = sorted((ROOT / "sample_tiles").glob("MCD15A2.A2012*.h17v03.*.hdf"))
LAYERS = ["Lai_1km", "FparLai_QC"]

SITECUSTOMIZE = """
import os, signal, time
import modisoft.io.granule as g
_open = g.open_granule
def open_granule(path, *a, **k):
    name = os.path.basename(os.fspath(path))
    if "crash" in name:
        os.kill(os.getpid(), signal.SIGSEGV)
    if "stall" in name:
        time.sleep(600)
    return _open(path, *a, **k)
g.open_granule = open_granule
"""


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    good = [shutil.copy(f, d / f.name) for f in GOOD[:3]]
    (d / "random.hdf").write_bytes(os.urandom(50_000))
    trunc = d / "truncated.hdf"
    trunc.write_bytes(GOOD[0].read_bytes()[: GOOD[0].stat().st_size // 2])
    return d, [str(p) for p in good]


def test_good_files_pass_and_damaged_ones_are_named(files):
    d, good = files
    paths = [good[0], str(d / "random.hdf"), str(d / "truncated.hdf"), str(d / "gone.hdf"),
             good[1]]
    res = verify_granules(paths, LAYERS, {}, processes=2, echo=lambda m: None)
    assert list(res) == paths
    assert res[good[0]]["ok"] and res[good[1]]["ok"]
    assert res[good[0]]["size"] == os.stat(good[0]).st_size
    for bad in paths[1:4]:
        assert not res[bad]["ok"] and res[bad]["stage"] == "open", res[bad]
    assert "random.hdf" in res[paths[1]]["reason"] and "not an HDF4 file" in res[paths[1]]["reason"]
    assert "truncated.hdf" in res[paths[2]]["reason"]
    assert "no such file" in res[paths[3]]["reason"]


def test_a_reader_crash_or_stall_fails_that_file_only(files, tmp_path, monkeypatch):
    d, good = files
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", str(site))
    crash, stall = d / "crash.hdf", d / "stall.hdf"
    shutil.copy(good[0], crash)
    shutil.copy(good[0], stall)
    paths = [good[0], str(crash), good[1], str(stall), good[2]]
    t0 = time.perf_counter()
    res = verify_granules(paths, LAYERS, {}, processes=1, timeout=10, echo=lambda m: None)
    took = time.perf_counter() - t0
    assert [res[p]["ok"] for p in paths] == [True, False, True, False, True]
    assert res[str(crash)]["stage"] == "reader"
    assert signal.Signals.SIGSEGV.name in res[str(crash)]["reason"]
    assert res[str(stall)]["stage"] == "reader"
    assert "longer than 10 s" in res[str(stall)]["reason"]
    assert took < 60


def test_earlier_results_are_reused_until_the_file_changes(files):
    _, good = files
    said = []
    stamp = file_stamp(good[0])
    known = {good[0]: {"ok": False, "stage": "read", "reason": "recorded earlier",
                       "layers": LAYERS, **stamp}}
    res = verify_granules([good[0]], LAYERS, known, echo=said.append)
    assert res[good[0]]["reason"] == "recorded earlier" and not said  # no reader started
    assert res[good[0]]["reused"]
    os.utime(good[0], ns=(stamp["mtime_ns"] + 10**9, stamp["mtime_ns"] + 10**9))
    res = verify_granules([good[0]], LAYERS, known, echo=said.append)
    assert res[good[0]]["ok"] and said == ["verifying 1 granule(s) in 1 reader process(es)"]
    # other layers: verified again, even when unchanged
    res = verify_granules([good[0]], ["Lai_1km"], {good[0]: res[good[0]]}, echo=said.append)
    assert len(said) == 2


def test_values_outside_the_valid_range_fail_the_granule_at_stage_values(files):
    """5 % of the measured LAI values rewritten to 150 (valid range 0-100, fill classes
    248-255) in a copy: the verification fails it at stage ``values``; 0.2 % passes and is
    counted."""
    from pyhdf.SD import SD, SDC

    _, good = files
    counts = {}
    for every in (20, 500):
        p = good[0].replace(".hdf", f".every{every}.hdf")
        shutil.copy(good[0], p)
        sd = SD(p, SDC.WRITE)
        s = sd.select("Lai_1km")
        values = s.get()
        hit = np.flatnonzero(values <= 100)[::every]
        values.ravel()[hit] = 150
        s[:] = values
        s.endaccess()
        sd.end()
        counts[p] = hit.size
    res = verify_granules(list(counts), LAYERS, {}, echo=lambda m: None)
    bad, fine = list(counts)
    assert not res[bad]["ok"] and res[bad]["stage"] == "values"
    assert "Lai_1km" in res[bad]["reason"] and "outside the valid range [0, 100]" in \
        res[bad]["reason"]
    assert res[fine]["ok"] and res[fine]["implausible"] == {"Lai_1km": counts[fine]}


def test_the_pixel_shares_of_each_granule_are_counted_as_it_is_verified(files):
    """With the run's QA rule, each readable granule's good / cloudy / fill / not vegetated
    pixels are recorded beside its verification (counted here from the raw words, QA.md §2:
    FparLai_QC bits 5-7 SCF_QC, bits 3-4 cloud state); the record is reused only for the
    same rule."""
    from pyhdf.SD import SD

    _, good = files
    res = verify_granules(good[:2], LAYERS, {}, echo=lambda m: None, qa_rule="good_lai")
    for path in good[:2]:
        sd = SD(path)
        lai, qc = sd.select("Lai_1km").get(), sd.select("FparLai_QC").get().astype(int)
        sd.end()
        ok = lai <= 100
        main, clear = np.isin((qc >> 5) & 7, [0, 1]), ((qc >> 3) & 3) == 0
        assert res[path]["qa_rule"] == "good_lai"
        assert res[path]["shares"] == {
            "pixels": lai.size, "good": int((ok & main & clear).sum()),
            "cloudy": int((ok & np.isin((qc >> 3) & 3, [1, 2])).sum()),
            "fill": int(np.isin(lai, [249, 255]).sum()),
            "nonveg": int(((lai >= 250) & (lai <= 254)).sum())}
    said = []
    again = verify_granules(good[:1], LAYERS, res, echo=said.append, qa_rule="good_lai")
    assert again[good[0]]["reused"] and not said
    other = verify_granules(good[:1], LAYERS, res, echo=said.append, qa_rule="main_algorithm")
    assert "reused" not in other[good[0]] and len(said) == 1
    assert other[good[0]]["shares"]["good"] >= res[good[0]]["shares"]["good"]
