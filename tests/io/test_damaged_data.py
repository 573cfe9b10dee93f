"""Damaged granules, part 2: pixel data and AVHRR headers (issue 18 items 3 and 4).

Damaged copies of real sample files are written in ``tmp_path``: deflate blocks located by
scanning the file for the zlib stream that inflates to the block's pristine bytes (read with
pyhdf), then zeroed, byte-flipped or cut; SDS values rewritten with pyhdf; AVHRR header bytes
overwritten.  Expected values come from the damage made.
"""

from __future__ import annotations

import shutil
import zlib
from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import sample

from modisoft import check_plausible, get_product, inspect_granule, open_granule
from modisoft.errors import CorruptGranuleError, GranuleReadError, MetadataError

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("io/test_damaged_data")

SRC = "MCD15A2.A2012001.h17v03.005.2012017211237.hdf"
POD = "NSS.GHRR.TN.D80003.S1147.E1332.B0630506.GC"
FDR = "AVHRR-GAC_FDR_1C_N06_19810330T042358Z_19810330T060903Z_R_O_20200101T000000Z_0100.nc"


def _pyhdf_read(path, name, rows=None):
    from pyhdf.SD import SD

    sd = SD(str(path))
    try:
        s = sd.select(name)
        if rows is None:
            return s.get()
        data = s.get(start=[rows[0], 0], count=[rows[1] - rows[0], 1200])
    finally:
        sd.end()
    return data


def _stream_of(data: bytes, expected: bytes) -> tuple[int, int]:
    """(offset, length) of the zlib stream in ``data`` that inflates to ``expected``."""
    view = memoryview(data)
    for off in range(len(data) - 1):
        if data[off] != 0x78 or ((data[off] << 8) | data[off + 1]) % 31:
            continue
        d = zlib.decompressobj()
        try:
            out = d.decompress(view[off:off + 4 * len(expected) + 4096], len(expected) + 1)
        except zlib.error:
            continue
        if d.eof and out == expected:
            return off, min(4 * len(expected) + 4096, len(data) - off) - len(d.unused_data)
    raise AssertionError("stream not found")


@pytest.fixture(scope="module")
def lai_chunk():
    """The real file's bytes, and where Lai_1km rows 500-599 (one 100 x 1200 chunk) live."""
    data = sample(SRC).read_bytes()
    rows = _pyhdf_read(sample(SRC), "Lai_1km")
    off, size = _stream_of(data, rows[500:600].tobytes())
    return data, rows, off, size


def _write(tmp_path, tag, data, name=SRC):
    folder = tmp_path / tag
    folder.mkdir()
    (folder / name).write_bytes(data)
    return folder / name


# --- 6. damaged compressed blocks -------------------------------------------------------------


@pytest.mark.parametrize("span", ["whole", "middle", "head"])
def test_zero_filled_deflate_block_raises_when_read(tmp_path, lai_chunk, span):
    data, rows, off, size = lai_chunk
    lo, hi = {"whole": (off, off + size), "middle": (off + 5000, off + 6000),
              "head": (off, off + 2)}[span]
    broken = bytearray(data)
    broken[lo:hi] = bytes(hi - lo)
    p = _write(tmp_path, span, bytes(broken))
    ds = open_granule(p, "Lai_1km", chunks={"y": 100, "x": 1200})  # metadata are intact
    assert np.array_equal(ds.Lai_1km[:100].values, rows[:100])  # other blocks still read
    with pytest.raises(CorruptGranuleError, match="corrupt block") as exc:
        ds.Lai_1km.values  # noqa: B018
    err = exc.value
    assert err.path == str(p) and err.layer == "Lai_1km"
    assert f"chunk (5, 0) (rows 500-599, cols 0-1199) (bytes {off}-{off + size - 1})" in str(err)
    assert "decompression failed" in str(err) or "stream ends early" in str(err)


def test_flipped_bytes_never_give_a_silent_wrong_array(tmp_path, lai_chunk):
    """HDF4 alone returns different values without an error for some flips (it never reads the
    Adler-32 trailer); through modisoft every flip that changes the data raises."""
    data, rows, off, size = lai_chunk
    positions = [*range(off, off + size, 487), *range(off + size - 4, off + size)]
    raised = silent_in_hdf4 = 0
    for i, pos in enumerate(positions):
        broken = bytearray(data)
        broken[pos] ^= 0xFF
        p = _write(tmp_path, str(i), bytes(broken))
        try:
            direct = _pyhdf_read(p, "Lai_1km", (500, 600))
            silent_in_hdf4 += not np.array_equal(direct, rows[500:600])
        except Exception:  # pyhdf's own error types
            direct = None
        try:
            got = open_granule(p, "Lai_1km").Lai_1km[500:600].values
        except CorruptGranuleError as exc:
            assert exc.layer == "Lai_1km" and "corrupt block" in str(exc)
            raised += 1
            continue
        # no error: only when the flip left the inflated data unchanged (harmless)
        assert direct is not None and np.array_equal(got, rows[500:600]), pos
    assert silent_in_hdf4 > 0  # the reason for modisoft's own checksum
    assert raised >= len(positions) - 2 and any(p >= off + size - 4 for p in positions)


def test_truncated_inside_a_block_does_not_open(tmp_path, lai_chunk):
    """Cut inside the Lai_1km block: the HDF4 library no longer finds its directory."""
    from modisoft.errors import NotHDFError

    data, _rows, off, size = lai_chunk
    p = _write(tmp_path, "cut", data[: off + size // 2])
    with pytest.raises(NotHDFError, match=rf"size {off + size // 2} bytes: it may be truncated"):
        open_granule(p, "Lai_1km")


def test_block_pointing_beyond_the_end_of_the_file(tmp_path, lai_chunk, monkeypatch):
    """The directory entry of the block (offset, length, big-endian) moved past the end: the
    file does not open (its descriptor chain is checked against its size); with that check
    off, the block check at read time still names the block."""
    import struct

    from modisoft.errors import NotHDFError
    from modisoft.io import hdf4

    data, rows, off, size = lai_chunk
    entry = struct.pack(">ii", off, size)
    assert data.count(entry) == 1
    broken = data.replace(entry, struct.pack(">ii", len(data) + 1000, size))
    p = _write(tmp_path, "dd", broken)
    with pytest.raises(NotHDFError, match=rf"places data up to byte {len(data) + 1000 + size:,}"
                                          rf", beyond the end of the file; size {len(data)} "):
        open_granule(p, "Lai_1km")
    hdf4.clear_handle_cache()
    monkeypatch.setattr(hdf4, "check_hdf4_extent", lambda path, size: None)
    ds = open_granule(p, "Lai_1km", chunks={"y": 100, "x": 1200})
    assert np.array_equal(ds.Lai_1km[:100].values, rows[:100])
    with pytest.raises(CorruptGranuleError, match=rf"ends at byte {len(data) + 1000 + size}, "
                                                  rf"beyond the end of the file "
                                                  rf"\({len(data)} bytes\)"):
        ds.Lai_1km[500:600].values  # noqa: B018


def test_hdf5_deflate_chunk_flip_raises(tmp_path):
    import h5py

    name = "VNP13A2.A2025001.h18v09.002.2025017085341.h5"
    key = "HDFEOS/GRIDS/VIIRS_Grid_16Day_VI_1km/Data Fields/1 km 16 days NDVI"
    with h5py.File(sample(name), "r") as f:
        info = f[key].id.get_chunk_info(5)
    broken = bytearray(sample(name).read_bytes())
    broken[info.byte_offset + info.size // 2] ^= 0xFF
    p = _write(tmp_path, "h5", bytes(broken), name)
    ds = open_granule(p, "1 km 16 days NDVI")
    with pytest.raises(CorruptGranuleError, match="decompression failed") as exc:
        ds["1 km 16 days NDVI"].values  # noqa: B018
    assert exc.value.layer == key and exc.value.path == str(p)


# --- 7. values outside the valid range ------------------------------------------------------


def test_plausibility_of_a_real_granule_is_zero():
    ds = open_granule(sample(SRC), "Lai_1km")
    layer = get_product("MCD15A2", "005").layer("Lai_1km")
    assert check_plausible(ds.Lai_1km.values, layer, path=sample(SRC)) == 0


@pytest.mark.parametrize("every, raises", [(20, True), (500, False)])
def test_plausibility_of_a_damaged_copy(tmp_path, every, raises):
    from pyhdf.SD import SD, SDC

    layer = get_product("MCD15A2", "005").layer("Lai_1km")
    p = tmp_path / SRC
    shutil.copy(sample(SRC), p)
    sd = SD(str(p), SDC.WRITE)
    s = sd.select("Lai_1km")
    values = s.get()
    valid = np.flatnonzero(values <= 100)  # LAI 0-10 stored as 0-100
    hit = valid[::every]  # every 20th (5 %) or 500th (0.2 %) measurement becomes 150
    values.ravel()[hit] = 150
    s[:] = values
    s.endaccess()
    sd.end()
    measured = int((~np.isin(values, layer.nodata_codes)).sum())
    raw = open_granule(p, "Lai_1km").Lai_1km.values
    if not raises:
        assert check_plausible(raw, layer, path=p) == hit.size
        return
    with pytest.raises(CorruptGranuleError) as exc:
        check_plausible(raw, layer, path=p)
    msg = str(exc.value)
    assert exc.value.path == str(p) and exc.value.layer == "Lai_1km"
    assert f"{hit.size:,} of {measured:,} non-fill values ({hit.size / measured:.2%})" in msg
    assert "outside the valid range [0, 100]" in msg and "more than the 1% allowed" in msg


# --- 8. AVHRR headers ----------------------------------------------------------------------------


def _pod_with(tmp_path, patch: dict[int, bytes], name=POD, cut=None):
    data = bytearray(sample(POD).read_bytes())
    for at, new in patch.items():
        data[at:at + len(new)] = new
    p = tmp_path / name
    p.write_bytes(bytes(data[:cut]))
    return p


def _word(year: int, day: int) -> bytes:
    return ((year % 100) << 9 | day).to_bytes(2, "big")


@pytest.mark.parametrize(
    "patch, cut, expect",
    [
        ({0: b"\x63"}, None, r"spacecraft id 99 is not a POD satellite \(known: \[1, 2, 3"),
        ({1: b"\x50"}, None, r"data type code 5 is not 1 \(LAC\), 2 \(GAC\) or 3"),
        ({2: _word(1980, 400)}, None, "start time year 1980 day 400 millisecond"),
        ({4: (90_000_000).to_bytes(4, "big")}, None, "millisecond 90000000 is not a valid"),
        ({10: _word(1980, 2)}, None, "end time 1980-01-02 .* is not within a day after"),
        ({8: (5).to_bytes(2, "big")}, None, "declares 5 scans over 6337 s but the file holds 17"),
        ({8: (60_000).to_bytes(2, "big")}, None, "declares 60000 scans"),
        ({8: (0).to_bytes(2, "big")}, None, "declares 0 scans"),
        ({}, 2000, "2000 bytes: shorter than one 3220-byte"),
    ],
)
def test_pod_header_garbage_does_not_open(tmp_path, patch, cut, expect):
    p = _pod_with(tmp_path, patch, cut=cut)
    with pytest.raises(MetadataError, match=expect) as exc:
        inspect_granule(p)
    assert exc.value.path == str(p) and "POD" in str(exc.value)


def test_parse_pod_header_raises_the_error_tree():
    from modisoft.io.avhrr_l1b import parse_pod_header

    with pytest.raises(MetadataError, match="needs at least 23 bytes, the file holds 10") as exc:
        parse_pod_header(bytes(10), "/x.GC")
    assert exc.value.path == "/x.GC" and not isinstance(exc.value, ValueError)
    head = sample(POD).read_bytes()[:64]
    assert parse_pod_header(head)["spacecraft"] == "TIROS-N"  # id 1 before 1982


def test_random_bytes_named_like_l1b_do_not_open(tmp_path):
    p = tmp_path / POD
    p.write_bytes(np.random.default_rng(3).bytes(60_000))
    with pytest.raises(MetadataError, match="POD level-1b header at byte 0 is not valid"):
        open_granule(p)


def test_l1b_names_are_checked(tmp_path):
    with pytest.raises(MetadataError, match="satellite code 'XX' is not known"):
        inspect_granule(_pod_with(tmp_path, {}, POD.replace(".TN.", ".XX.")))
    with pytest.raises(GranuleReadError, match=r"D80400\.S1147 is not a valid time"):
        inspect_granule(_pod_with(tmp_path, {}, POD.replace("D80003", "D80400")))
    g = inspect_granule(_pod_with(tmp_path, {}, POD.replace("S1147", "S0900"))).granule
    assert g.mismatches == ("file name says start 1980-01-03 09:00 but the header says "
                            "1980-01-03 11:47",)


@pytest.mark.parametrize(
    "attrs, expect",
    [
        ({"start_time": "garbage"}, "start_time='garbage' is not a time"),
        ({"end_time": "19810330T040000Z"}, "end_time 1981-03-30 04:00:00 is not within a day"),
        ({"start_time": "18000101T000000Z"}, "year 1800 outside 1970-2100"),
    ],
)
def test_gac_fdr_header_garbage_does_not_open(tmp_path, attrs, expect):
    import h5py

    p = tmp_path / FDR
    shutil.copy(sample(FDR), p)
    with h5py.File(p, "r+") as f:
        for key, value in attrs.items():
            f.attrs[key] = np.bytes_(value)
    with pytest.raises(MetadataError, match=expect) as exc:
        open_granule(p)
    assert exc.value.path == str(p)


def test_gac_fdr_unknown_platform_and_a_good_file(tmp_path):
    p = tmp_path / FDR.replace("_N06_", "_N99_")
    shutil.copy(sample(FDR), p)
    with pytest.raises(MetadataError, match="platform 'N99' is not known"):
        inspect_granule(p)
    g = inspect_granule(sample(FDR)).granule
    assert g.start_date == datetime(1981, 3, 30, tzinfo=UTC).date()
