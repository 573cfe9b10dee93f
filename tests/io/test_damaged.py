"""Damaged granules, part 1: metadata that must not be trusted (issue 18 items 3 and 4).

Every damaged file is written here, in ``tmp_path``, from a real sample granule: its
``StructMetadata``/``CoreMetadata`` rewritten with pyhdf (HDF-EOS2), its name changed, or its
bytes cut.  Expected values come from the damage made (the swapped corners, the declared sizes),
never from modisoft's earlier output.  Pixel-data damage, plausibility and AVHRR headers are in
``test_damaged_data.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import tracemalloc
import warnings

import numpy as np
import pytest
from conftest import sample, struct_metadata

from modisoft import find_files, find_granules, inspect_granule, open_granule, parse_filename
from modisoft.errors import GranuleReadError, MetadataError, ModisoftError, NotHDFError
from modisoft.io.limits import MAX_AXIS, MAX_METADATA_BYTES, MAX_PIXELS
from modisoft.io.odl import ODLSyntaxError, parse_odl

SRC = "MCD15A2.A2012001.h17v03.005.2012017211237.hdf"
UL = "UpperLeftPointMtrs=(-1111950.519667,6671703.118000)"
LR = "LowerRightMtrs=(0.000000,5559752.598333)"
PARAMS = "ProjParams=(6371007.181000,0,0,0,0,0,0,0,0,0,0,0,0)"


def _attribute(path, base: str) -> str:
    from pyhdf.SD import SD

    sd = SD(str(path))
    attrs = sd.attributes()
    sd.end()
    return "".join(attrs[f"{base}.{i}"] for i in range(100) if f"{base}.{i}" in attrs)


def _rewrite(dst, edit, base="StructMetadata", src=SRC, split=32000):
    """Copy the real ``src`` to ``dst`` with its ``base`` metadata passed through ``edit``
    (split over ``base.0``, ``base.1``, ... as HDF-EOS does)."""
    from pyhdf.SD import SD, SDC

    shutil.copy(sample(src), dst)
    before = _attribute(dst, base)
    text = edit(before)
    assert text != before  # the damage was made
    sd = SD(str(dst), SDC.WRITE)
    for i in range(0, len(text), split):
        sd.attr(f"{base}.{i // split}").set(SDC.CHAR8, text[i:i + split])
    sd.end()
    return dst


@pytest.fixture
def damaged(tmp_path):
    """``damaged(edit, name=SRC, base="StructMetadata")``: a rewritten copy, named ``name``."""
    count = iter(range(100))

    def make(edit, name=SRC, base="StructMetadata", src=SRC):
        folder = tmp_path / str(next(count))
        folder.mkdir()
        return _rewrite(folder / name, edit, base, src)

    return make


def _swap(ul, lr):
    return lambda s: (s.replace(UL, f"UpperLeftPointMtrs=({ul})")
                      .replace(LR, f"LowerRightMtrs=({lr})"))


# --- 1. grid corners ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ul, lr, expect",
    [
        # both swapped: the tile would be mosaicked rotated by 180 degrees
        ("0.000000,5559752.598333", "-1111950.519667,6671703.118000",
         r"left 0\.0 >= right -1111950\.519667 and top 5559752\.598333 <= bottom 6671703\.118"),
        # x swapped only: mirrored east-west
        ("0.000000,6671703.118000", "-1111950.519667,5559752.598333",
         r"left 0\.0 >= right -1111950\.519667;"),
        # y swapped only: mirrored north-south
        ("-1111950.519667,5559752.598333", "0.000000,6671703.118000",
         r"top 5559752\.598333 <= bottom 6671703\.118;"),
    ],
)
def test_corners_out_of_order_are_an_error(damaged, ul, lr, expect):
    p = damaged(_swap(ul, lr))
    with pytest.raises(MetadataError, match=expect) as exc:
        open_granule(p)
    msg = str(exc.value)
    assert exc.value.path == str(p) and str(p) in msg
    assert "MOD_Grid_MOD15A2" in msg and "corners out of order" in msg
    assert "accepted: upper-left x < lower-right x and upper-left y > lower-right y" in msg


@pytest.mark.parametrize(
    "ul, lr",
    [
        ("-1106950.519667,6671703.118000", "5000.000000,5559752.598333"),  # 5 km east
        ("0.000000,6671703.118000", "1111950.519667,5559752.598333"),  # the corners of h18v03
        ("-1111950.519667,6671703.118000", "0.000000,5558752.598333"),  # 1 km taller
    ],
)
def test_corners_off_the_granules_tile_are_an_error(damaged, ul, lr):
    p = damaged(_swap(ul, lr))
    with pytest.raises(MetadataError, match=r"not inside tile h17v03") as exc:
        inspect_granule(p)
    msg = str(exc.value)
    x0, y0 = (float(v) for v in ul.split(","))
    assert repr(x0) in msg and repr(y0) in msg  # the damaged corner is named
    assert "UL (-1111950.519767, 6671703.118599)" in msg  # the tile's own, T = 2piR/36
    assert "within 1.0 m" in msg and "a subset inside them" in msg


def test_pixel_size_other_than_the_products_is_an_error(damaged):
    # 600 x 600 pixels over the whole tile: 1853 m pixels in a 1 km product
    p = damaged(lambda s: s.replace("XDim=1200", "XDim=600").replace("YDim=1200", "YDim=600"))
    with pytest.raises(MetadataError, match=r"pixel size 1853\.25\d+ x 1853\.25\d+ m") as exc:
        inspect_granule(p)
    assert "926.6254331 m (tile width / 1200)" in str(exc.value)


@pytest.mark.parametrize(
    "old, new, expect",
    [
        ("UpperLeftPointMtrs=(0.000000,0.000000)", "UpperLeftPointMtrs=(1111950.519667,0.000000)",
         r"left 1111950\.519667 >= right 1111950\.519667"),
        ("LowerRightMtrs=(1111950.519667,-1111950.519667)",
         "LowerRightMtrs=(2223901.039333,-1111950.519667)", "not inside tile h18v09"),
        ("ProjParams=(6371007.181000,", "ProjParams=(0,", "needs the sphere radius"),
    ],
)
def test_hdfeos5_grid_metadata_are_checked_too(tmp_path, old, new, expect):
    import h5py

    name = "VNP13A2.A2025001.h18v09.002.2025017085341.h5"
    p = tmp_path / name
    shutil.copy(sample(name), p)
    with h5py.File(p, "r+") as f:
        ds = f["HDFEOS INFORMATION/StructMetadata.0"]
        text = ds[()].decode()
        assert old in text
        ds[()] = np.bytes_(text.replace(old, new).encode().ljust(ds.dtype.itemsize, b"\0"))
    with pytest.raises(MetadataError, match=expect) as exc:
        open_granule(p)
    assert exc.value.path == str(p) and "VIIRS_Grid_16Day_VI_1km" in str(exc.value)


def test_a_subset_inside_its_tile_still_opens():
    """The real 66 x 73 MOD09A1 subset (non-tile-aligned corner) passes every check."""
    info = inspect_granule(sample("MOD09A1.A2017193.h18v04.006.2017202035302.hdf"))
    assert info.granule.tile == (18, 4) and info.grids[0].grid.shape == (73, 66)


# --- 2. a projection without its parameters -------------------------------------------------------


@pytest.mark.parametrize(
    "edit, found",
    [
        (lambda s: s.replace(f"\t\t{PARAMS}\n", ""), "no ProjParams and SphereCode=-1"),
        (lambda s: s.replace("ProjParams=(6371007.181000,", "ProjParams=(0,"),
         "ProjParams=(0.0, 0.0, 0.0"),
    ],
)
def test_sinusoidal_grid_without_its_sphere_is_an_error(damaged, edit, found):
    """Today's fallback would be GCTP's default spheroid, Clarke 1866, not the MODIS sphere."""
    p = damaged(edit)
    with pytest.raises(MetadataError, match="Projection=GCTP_SNSOID needs the sphere") as exc:
        open_granule(p)
    msg = str(exc.value)
    assert found in msg and "6371007.181" in msg and "Clarke 1866" in msg and str(p) in msg


# --- 3. declared sizes ------------------------------------------------------------------------


def test_sizes_beyond_the_registry_fail_before_any_allocation(damaged):
    # 31623 x 31623 = 1,000,014,129 pixels declared in a 1 km MCD15A2 tile (1200 x 1200)
    p = damaged(lambda s: s.replace("XDim=1200", "XDim=31623").replace("YDim=1200", "YDim=31623"))
    tracemalloc.start()
    try:
        with pytest.raises(MetadataError) as exc:
            open_granule(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50e6  # a 1e9-pixel grid would need a GB
    msg = str(exc.value)
    assert "XDim x YDim = 31623 x 31623 (1,000,014,129 pixels)" in msg
    assert "1200 x 1200 pixels of a tile of MCD15A2.005" in msg


@pytest.mark.parametrize(
    "nx, ny, expect",
    [
        (200_000, 1200, rf"XDim=200000 is outside 1\.\.{MAX_AXIS:,}"),
        (50_000, 50_000,
         rf"50000 x 50000 = 2,500,000,000 pixels, over the limit of {MAX_PIXELS:,}"),
        (0, 1200, "XDim=0 is outside"),
    ],
)
def test_sizes_beyond_the_hard_caps(damaged, nx, ny, expect):
    p = damaged(lambda s: s.replace("XDim=1200", f"XDim={nx}").replace("YDim=1200", f"YDim={ny}"))
    with pytest.raises(MetadataError, match=expect) as exc:
        inspect_granule(p)
    assert "docs/reference/limits.md" in str(exc.value) or nx == 0


def test_an_sds_declaring_too_many_values_fails_at_inspection(tmp_path):
    """An unwritten, compressed 50000 x 50000 SDS: a 3 kB file declaring 2.5e9 values."""
    from pyhdf.SD import SD, SDC

    p = tmp_path / "MCD15A2.A2012001.h17v03.005.2012017211237.hdf"
    sd = SD(str(p), SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    sd.setfillmode(SDC.NOFILL)
    grid = dict(name="G", nx=2, ny=2, ul=(0.0, 2.0), lr=(2.0, 0.0),
                fields=[("Lai_1km", "DFNT_UINT8")])
    sd.attr("StructMetadata.0").set(SDC.CHAR8, struct_metadata([grid]))
    s = sd.create("Lai_1km", SDC.UINT8, (50_000, 50_000))
    s.setcompress(SDC.COMP_DEFLATE, 1)
    s.endaccess()
    sd.end()
    assert p.stat().st_size < 100_000
    with pytest.raises(MetadataError, match=r"layer 'Lai_1km': declared shape \(50000, 50000\) "
                                            r"holds 2,500,000,000 values, over the limit"):
        inspect_granule(p)


def test_metadata_over_4_mib_is_rejected_unparsed(damaged):
    p = damaged(lambda s: s + " " * (5 * 1024 * 1024))  # 164 attributes of 32000 characters
    tracemalloc.start()
    try:
        with pytest.raises(MetadataError, match=rf"over the limit of {MAX_METADATA_BYTES:,}"):
            inspect_granule(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200e6  # parsing 50 MB took 4 GB before; here the text is never tokenised


def test_an_attribute_declaring_more_than_4_mib_is_not_read(monkeypatch):
    import pyhdf.hdfext as hdfext

    from modisoft.io.hdf4 import read_attributes

    class Damaged:  # an SD object whose attribute record declares 50 million characters
        _id = -1

    monkeypatch.setattr(hdfext, "SDattrinfo", lambda _id, i: (0, "CoreMetadata.0", 4, 50_000_000))
    with pytest.raises(MetadataError, match=r"/x.hdf: attribute 'CoreMetadata.0' declares "
                                            r"50,000,000 values, over the limit of 4,194,304"):
        read_attributes(Damaged(), 1, path="/x.hdf")


# --- 4. ODL: nesting and garbage -----------------------------------------------------------------


def test_deep_odl_nesting_is_capped_not_a_recursion_error():
    for n in (65, 100_000):
        text = "GROUP=A\n" * n + "X=1\n" + "END_GROUP=A\n" * n + "END"
        with pytest.raises(ODLSyntaxError, match="nests deeper than 64 levels"):
            parse_odl(text)
    with pytest.raises(ODLSyntaxError, match=r"list '\(' at offset \d+ nests deeper than 64"):
        parse_odl("X=" + "(" * 100_000 + ")" * 100_000)
    deep = "GROUP=A\n" * 64 + "X=(((1)))\n" + "END_GROUP=A\n" * 64 + "END"
    node = parse_odl(deep)
    for _ in range(64):
        node = node["A"]
    assert node == {"X": (((1,),),)}


@pytest.mark.parametrize(
    "edit, expect",
    [
        (lambda s: s.replace("GROUP=PointStructure", "GROUP=P\n" * 200 + "END_GROUP=P\n" * 200
                             + "GROUP=PointStructure"), "nests deeper than 64 levels"),
        (lambda s: s.replace(PARAMS, "ProjParams=(abc,0,0)"), r"ProjParams=\('abc', 0, 0\) is not"),
        (lambda s: s.replace(UL, "UpperLeftPointMtrs=(-1111950.519667)"), "must hold 2 numbers"),
        (lambda s: s.replace(UL, "UpperLeftPointMtrs=(nan,1)"), "non-finite"),
        (lambda s: s.replace("XDim=1200", 'XDim="12"'), "XDim='12' is not a whole number"),
        (lambda s: s.replace("XDim=1200", "XDim=" + "9" * 5000), r"number '9{20}'\.\.\. at"),
        (lambda s: s.replace("SphereCode=-1", "SphereCode=sphere"), "SphereCode='sphere'"),
        (lambda s: s.replace('Size=1200', 'Size=big', 1), "dimension 'YDim' Size='big'"),
        (lambda s: re.sub(r"\t\tGROUP=DataField\n.*\t\tEND_GROUP=DataField\n", "\t\tDataField=7\n",
                          s, flags=re.S), "DataField is malformed"),
        (lambda s: "\x01\x02 ))) = = GROUP", "not valid ODL"),
        (lambda s: s.rstrip("\x00")[:800], "not valid ODL: unexpected end of text"),
    ],
)
def test_garbage_struct_metadata_is_a_metadata_error(damaged, edit, expect):
    p = damaged(edit)
    with pytest.raises(MetadataError, match=expect) as exc:
        inspect_granule(p)
    assert str(p) in str(exc.value) and "StructMetadata" in str(exc.value)


# --- 5. dates and names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expect",
    [
        ("MCD15A2.A0000001.h17v03.005.2007.hdf", "A0000001 is not a valid date: year 0000 is "
                                                 "outside 1970-2100"),
        ("MCD15A2.A2012400.h17v03.005.2012017211237.hdf", "day 400 does not exist in 2012"),
        ("MCD15A2.A2011366.h17v03.005.2012017211237.hdf", "day 366 does not exist in 2011"),
        ("MCD15A2.A2012001.h17v03.005.2012017251237.hdf", "impossible time of day 25:12:37"),
        ("MCD15A2.A2012001.h17v03.005.0000017211237.hdf", "production time 0000017"),
    ],
)
def test_impossible_dates_in_names(tmp_path, name, expect):
    with pytest.raises(GranuleReadError, match=expect) as exc:
        parse_filename(name)
    assert not isinstance(exc.value, ValueError) and exc.value.path == name
    copy = tmp_path / name
    shutil.copy(sample(SRC), copy)
    with pytest.raises(GranuleReadError, match=expect):
        open_granule(copy)
    with pytest.raises(GranuleReadError, match=expect):
        find_granules([tmp_path], product="MCD15A2")


def test_leap_day_and_unrelated_names_still_parse():
    assert parse_filename("MCD15A2.A2012366.h17v03.005.2013007202756.hdf").start_date.day == 31
    assert parse_filename("MOD11A1.hdf").identified_from == "none"
    assert parse_filename(b"/d/MCD15A2.A2012001.h17v03.005.2012017211237.hdf").tile == (17, 3)


def test_impossible_date_in_localgranuleid_is_a_metadata_error(damaged):
    p = damaged(lambda s: s.replace("MCD15A2.A2012001.", "MCD15A2.A2012400."), base="CoreMetadata")
    with pytest.raises(MetadataError, match=r"LOCALGRANULEID: .*day 400 does not exist") as exc:
        inspect_granule(p)
    assert exc.value.path == str(p)


def test_names_that_are_not_utf8(tmp_path):
    folder = os.fsencode(tmp_path) + b"/caf\xe9"  # Latin-1, not UTF-8
    os.mkdir(folder)
    bad = folder + b"/" + SRC.encode()
    shutil.copy(sample(SRC), bad)
    for path in (bad, os.fsdecode(bad)):  # bytes, and str with surrogateescape
        with pytest.raises(GranuleReadError, match="not valid UTF-8") as exc:
            open_granule(path)
        assert "caf\\xe9" in str(exc.value)
    with pytest.raises(GranuleReadError, match=r"caf\\xe9.*not valid UTF-8"):
        find_files([os.fsencode(tmp_path)])
    with pytest.raises(GranuleReadError, match=r"caf\\xe9.*not valid UTF-8"):
        find_granules([folder])


# --- 9. not a granule at all ----------------------------------------------------------------


def test_files_that_are_not_granules(tmp_path):
    import h5py

    viirs = "VNP13A2.A2025001.h18v09.002.2025017085341.h5"
    renamed = tmp_path / viirs.replace(".h5", ".hdf")  # HDF5 named .hdf: read by signature
    shutil.copy(sample(viirs), renamed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_granule(renamed, "1 km 16 days NDVI").attrs["tile"] == "h18v09"
    plain = tmp_path / "plain.hdf"  # HDF5, but no grid
    with h5py.File(plain, "w") as f:
        f["a"] = np.zeros((3, 3))
    with pytest.raises(MetadataError, match="neither HDF-EOS5 metadata nor 1-D"):
        open_granule(plain)
    data = sample(viirs).read_bytes()
    cases = {
        "empty.hdf": (b"", r"empty \(0 bytes\)"),
        "random.hdf": (np.random.default_rng(1).bytes(50_000), "not an HDF4 file"),
        "trunc_1k.h5": (data[:1000], "HDF5 library cannot open the file"),
        "trunc_half.h5": (data[: len(data) // 2], "truncated file"),
        "hdf4_magic.hdf": (b"\x0e\x03\x13\x01" + bytes(5000), "HDF4 library cannot open"),
    }
    for name, (content, expect) in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(NotHDFError, match=expect) as exc:
            open_granule(p)
        assert exc.value.path == str(p) and isinstance(exc.value, ModisoftError)
