"""``search`` and ``download`` against a local stand-in for NASA's archive (127.0.0.1, see
``archive_server.py``): real sample granules served with the MD5 of their bytes, and every
way a download goes wrong.  Expected values are the files' own bytes and checksums (hashlib
here), and request logs of the server."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date

import pytest
from archive_server import Archive, Entry, sample_entries
from conftest import SAMPLE_DIR

from modisoft import open_granule
from modisoft.acquire import download, http_session, lookup, make_query, search
from modisoft.errors import ChecksumMismatchError, EarthdataLoginError, NotInCmrError
from modisoft.io.checksums import DOWNLOAD_MANIFEST, check_download_record

PATTERN = "MOD13A2.A2025*.h18v09.061.*.hdf"


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def archive():
    with Archive(sample_entries(SAMPLE_DIR, PATTERN), period_days=16) as a:
        yield a


def _found(archive, **kw):
    q = make_query("MOD13A2", tiles="h18v09", dates="2025-01-01..2025-06-30", **kw)
    return search(q, url=archive.cmr_url)


def _fast():
    return http_session(backoff=0.01, auth=False)


def test_search_lists_the_samples_with_their_checksums(archive):
    found = _found(archive)
    names = sorted(p.name for p in SAMPLE_DIR.glob(PATTERN))
    assert [g.name for g in found] == names  # sorted by date
    for g in found:
        p = SAMPLE_DIR / g.name
        assert (g.size, g.checksum, g.algorithm) == (p.stat().st_size, _md5(p), "MD5")
        assert g.tile == "h18v09" and g.url.endswith("/data/" + g.name)
    assert found[0].date == date(2025, 1, 1)


def test_a_download_is_verified_and_a_rerun_is_a_noop(archive, tmp_path):
    found = _found(archive)
    rep = download(found, tmp_path, jobs=3, progress=False, session=_fast())
    assert (len(rep.downloaded), len(rep.present), rep.failed) == (len(found), 0, {})
    for g in found:
        assert _md5(tmp_path / g.name) == _md5(SAMPLE_DIR / g.name)
    assert rep.bytes == sum(g.size for g in found) == archive.sent
    man = json.loads((tmp_path / DOWNLOAD_MANIFEST).read_text())["files"]
    assert {man[g.name]["status"] for g in found} == {"downloaded"}
    assert man[found[0].name]["checksum"] == _md5(SAMPLE_DIR / found[0].name)
    sent = archive.sent
    again = download(found, tmp_path, progress=False, session=_fast())
    assert (len(again.present), again.downloaded, again.bytes) == (len(found), [], 0)
    assert archive.sent == sent  # nothing fetched again
    assert not list(tmp_path.glob(".*.part"))


def test_a_500_then_success_and_a_429_with_retry_after(archive, tmp_path):
    found = _found(archive)[:2]
    archive.entries[found[0].name].faults = ["500", "500"]
    archive.entries[found[1].name].faults = ["429"]
    rep = download(found, tmp_path, progress=False, session=_fast())
    assert len(rep.downloaded) == 2 and not rep.failed
    gets = [p for p, _r in archive.requests if p.startswith("/data/")]
    assert gets.count("/data/" + found[0].name) == 3
    assert gets.count("/data/" + found[1].name) == 2


def test_a_body_cut_short_is_resumed_with_a_range_request(archive, tmp_path):
    g = _found(archive)[0]
    archive.entries[g.name].faults = ["cut"]
    rep = download([g], tmp_path, progress=False, session=_fast())
    assert rep.downloaded == [g.name]
    assert _md5(tmp_path / g.name) == g.checksum
    ranges = [r for p, r in archive.requests if p == "/data/" + g.name]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and len(ranges) == 2
    kept = int(ranges[1][6:-1])  # all but the last read before the cut (< 64 KiB)
    assert g.size // 2 - 2**16 <= kept <= g.size // 2
    assert archive.sent == g.size // 2 + g.size - kept  # the second request sent the rest


def test_a_server_without_range_support_restarts_the_file(archive, tmp_path):
    g = _found(archive)[0]
    archive.entries[g.name].faults = ["cut"]
    archive.no_range.add(g.name)
    rep = download([g], tmp_path, progress=False, session=_fast())
    assert rep.downloaded == [g.name] and _md5(tmp_path / g.name) == g.checksum
    assert archive.sent == g.size // 2 + g.size


def test_a_wrong_checksum_is_retried_then_recorded_as_failed(archive, tmp_path):
    g = _found(archive)[0]
    archive.entries[g.name].checksum = "0" * 32
    bad = _found(archive)[0]
    rep = download([bad], tmp_path, progress=False, session=_fast(), tries=2, backoff=0.01)
    assert list(rep.failed) == [g.name] and "MD5 checksum" in rep.failed[g.name]
    assert rep.exit_code == 1
    assert not (tmp_path / g.name).exists() and not list(tmp_path.glob(".*.part"))
    man = json.loads((tmp_path / DOWNLOAD_MANIFEST).read_text())["files"]
    assert man[g.name]["status"] == "failed"
    assert [p for p, _r in archive.requests].count("/data/" + g.name) == 2


def test_a_401_ends_the_download_with_how_to_log_in(archive, tmp_path):
    g = _found(archive)[0]
    archive.entries[g.name].faults = ["401"]
    with pytest.raises(EarthdataLoginError, match=r"urs.earthdata.nasa.gov.*netrc"):
        download([g], tmp_path, progress=False, session=_fast())


def test_an_interrupted_download_resumes_without_refetching_finished_files(archive, tmp_path):
    found = _found(archive)
    half = found[: len(found) // 2]
    download(half, tmp_path, progress=False, session=_fast())
    # a run killed in the middle of the next file: a partial file is left behind
    g = found[len(half)]
    src = (SAMPLE_DIR / g.name).read_bytes()
    (tmp_path / f".{g.name}.part").write_bytes(src[:1000])
    sent = archive.sent
    rep = download(found, tmp_path, progress=False, session=_fast())
    assert sorted(rep.present) == sorted(x.name for x in half)
    assert len(rep.downloaded) == len(found) - len(half) and not rep.failed
    rest = sum(x.size for x in found[len(half):])
    assert archive.sent - sent == rest - 1000 == rep.bytes
    assert all(_md5(tmp_path / x.name) == x.checksum for x in found)


def test_a_downloaded_file_damaged_later_is_not_read(archive, tmp_path):
    g = _found(archive)[0]
    download([g], tmp_path, progress=False, session=_fast())
    path = tmp_path / g.name
    assert check_download_record(path, full=True)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, modified: the checksum is recomputed
    with pytest.raises(ChecksumMismatchError, match=r"MD5 checksum .* differs"):
        open_granule(path)
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(ChecksumMismatchError, match="bytes, but"):
        open_granule(path)


def test_a_file_list_is_resolved_through_cmr(archive):
    found = _found(archive)
    names = [found[0].url, found[1].name, found[2].granule_ur, "MOD13A2.A2031001.h18v09.061."
             "2031001000000"]
    got = lookup(names, url=archive.cmr_url)
    assert [got[n].name for n in names[:3]] == [g.name for g in found[:3]]
    assert names[3] not in got


def test_paging_returns_every_granule_of_three_china_years():
    entries = [Entry(f"MOD15A2H.A{y}{d:03d}.{t}.061.{y}{d:03d}000000.hdf", size=7_000_000,
                     checksum="ab" * 16)
               for y in (2019, 2020, 2021) for d in range(1, 366, 8)
               for t in make_query("MOD15A2H", grid="china_albers_1km", years=[2020]).tiles]
    with Archive(entries) as a:
        q = make_query("MOD15A2H", grid="china_albers_1km", dates="2019..2021")
        found = search(q, url=a.cmr_url)
        pages = [p for p, _r in a.requests if p.endswith("umm_json")]
    assert len(found) == 3 * 46 * 22 == 3036
    assert len(pages) == 1 + 2  # the hits request, then two pages of at most 2000


def test_products_cmr_does_not_serve_are_named():
    with pytest.raises(NotInCmrError, match=r"AVH15C1 .*not served"):
        make_query("AVH15C1", years=[1990], bbox=(100, 20, 110, 30))


def test_a_netrc_readable_by_others_is_refused(tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine urs.earthdata.nasa.gov login u password p\n")
    os.chmod(netrc, 0o644)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("EARTHDATA_TOKEN", raising=False)
    with pytest.raises(EarthdataLoginError, match="chmod 600") as e:
        http_session()
    assert "password p" not in str(e.value)
    os.chmod(netrc, 0o600)
    assert http_session() is not None


def test_a_killed_download_command_reruns_without_refetching_finished_files(archive,
                                                                             tmp_path):
    """``modisoft download`` killed with SIGKILL in the middle of a file, then run again:
    finished files are not fetched again, the partial one is resumed, every file verifies."""
    import signal
    import subprocess
    import sys
    import time

    found = _found(archive)
    archive.rate = 4 * 2**20  # 4 MiB/s: about half a second per file
    out = tmp_path / "dl"
    cmd = [sys.executable, "-m", "modisoft", "download", "-p", "MOD13A2", "--tiles", "h18v09",
           "--dates", "2025-01-01..2025-06-30", "-o", str(out), "--jobs", "1", "-q",
           "--cmr-url", archive.cmr_url]
    env = dict(os.environ, NETRC=str(tmp_path / "no-netrc"))
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        done = [p for p in out.glob("MOD13A2*.hdf")] if out.is_dir() else []
        parts = list(out.glob(".*.part")) if out.is_dir() else []
        if len(done) >= 3 and parts and parts[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    archive.rate = None
    time.sleep(0.5)  # the server notices the closed connection and stops sending
    finished = {p.name for p in out.glob("MOD13A2*.hdf")}
    partial = sum(p.stat().st_size for p in out.glob(".*.part"))
    assert 3 <= len(finished) < len(found) and partial > 0
    sent = archive.sent
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    rest = sum(g.size for g in found if g.name not in finished)
    assert archive.sent - sent == rest - partial  # nothing finished is fetched again
    assert all(_md5(out / g.name) == g.checksum for g in found)
    print(f"killed after {len(finished)} of {len(found)} files + {partial} bytes of the next; "
          f"the rerun fetched {archive.sent - sent} of {sum(g.size for g in found)} bytes")
