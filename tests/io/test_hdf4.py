"""``modisoft.io.hdf4.read_attributes`` returns exactly what pyhdf's ``attributes()`` returns.

pyhdf's own (slow, byte-by-byte) reader is the oracle: on every sample HDF4 granule, global and
per-SDS, and on a file written here with awkward character attributes (Latin-1 bytes,
embedded and trailing NULs, one character, a 55 kB string) next to numeric ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import sample_hdf4_files

from modisoft.io import hdf4


def assert_same(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs)
    for k in theirs:
        assert type(ours[k]) is type(theirs[k]), k
        assert ours[k] == theirs[k], k


@pytest.mark.parametrize("path", sample_hdf4_files()[:12], ids=lambda p: p.name[:40])
def test_sample_granule_attributes_equal_pyhdf(path: Path):
    with hdf4.HDF4_LOCK:
        sd = hdf4.open_sd(str(path))
        theirs = sd.attributes()
        assert any(isinstance(v, str) and len(v) > 1000 for v in theirs.values())
        assert_same(hdf4.read_attributes(sd, sd.info()[1]), theirs)
        for name in sd.datasets():
            sds = sd.select(name)
            try:
                assert_same(hdf4.read_attributes(sds, sds.info()[4]), sds.attributes())
            finally:
                sds.endaccess()


def test_awkward_character_attributes_equal_pyhdf(tmp_path):
    import numpy as np
    from pyhdf.SD import SD, SDC

    path = str(tmp_path / "attrs.hdf")
    sd = SD(path, SDC.WRITE | SDC.CREATE)
    texts = {
        "latin1": "LAI µm² °C ÿ",
        "nuls": "abc\x00def\x00\x00",
        "one": "x",
        "big": "OBJECT = A\n" * 5000,  # 55 kB (the HDF4 limit is about 64 kB)
    }
    for k, v in texts.items():
        sd.attr(k).set(SDC.CHAR8, v)
    sd.attr("scale").set(SDC.FLOAT64, 0.1)
    sd.attr("range").set(SDC.UINT8, [0, 100])
    sds = sd.create("layer", SDC.UINT8, (2, 3))
    sds[:] = np.arange(6, dtype="uint8").reshape(2, 3)
    sds.attr("units").set(SDC.CHAR8, "m^2/m^2")
    sds.attr("_FillValue").set(SDC.UINT8, 255)
    sds.endaccess()
    sd.end()
    hdf4.clear_handle_cache()
    with hdf4.HDF4_LOCK:
        sd = hdf4.open_sd(path)
        theirs = sd.attributes()
        assert len(theirs["big"]) == len(texts["big"])
        assert_same(hdf4.read_attributes(sd, sd.info()[1]), theirs)
        sds = sd.select("layer")
        assert_same(hdf4.read_attributes(sds, sds.info()[4]), sds.attributes())
        sds.endaccess()
    assert hdf4.file_attributes(path)["nuls"] == theirs["nuls"]
    hdf4.clear_handle_cache()


def _pyhdf_read(path: Path, name: str, start: tuple, count: tuple):
    import numpy as np
    from pyhdf.SD import SD, SDC

    sd = SD(str(path), SDC.READ)
    try:
        sds = sd.select(name)
        try:
            return np.asarray(sds.get(start=list(start), count=list(count)))
        finally:
            sds.endaccess()
    finally:
        sd.end()


def test_every_sample_layer_read_from_its_checked_chunks_equals_pyhdf(monkeypatch):
    """``read_block`` assembles a chunked deflated SDS from the chunks it inflated to check
    them (HDF4 would inflate them a second time); pyhdf's own read is the oracle, on every SDS
    of two sample granules of each product (1-, 2- and 3-D, 8- to 32-bit, chunked or not):
    the whole layer, and a window crossing chunk edges that ends in the padded last chunk."""
    import numpy as np

    from modisoft.io import hdf4_blocks

    assembled = []
    real = hdf4_blocks.verify_deflate

    def counting(*args, **kw):
        got = real(*args, **kw)
        assembled.append(got is not None)
        return got

    monkeypatch.setattr(hdf4, "verify_deflate", counting)
    files: dict[str, list[Path]] = {}
    for path in sample_hdf4_files():
        files.setdefault(path.name.split(".")[0], []).append(path)
    for path in (p for group in files.values() for p in group[:2]):
        hdf4_blocks.clear_verified()
        with hdf4.HDF4_LOCK:
            sd = hdf4.open_sd(str(path))
            shapes = {}
            for name in sd.datasets():
                dims = sd.select(name).info()[2]
                shapes[name] = tuple(dims) if isinstance(dims, list | tuple) else (dims,)
        for name, shape in shapes.items():
            window = (tuple(n // 3 for n in shape), tuple(n - 2 * (n // 3) for n in shape))
            for start, count in (((0,) * len(shape), shape), window):
                ours = hdf4.read_block(str(path), name, start, count)
                theirs = _pyhdf_read(path, name, start, count)
                assert ours.dtype == theirs.dtype, (path.name, name)
                np.testing.assert_array_equal(ours, theirs, err_msg=f"{path.name} {name}")
    assert len(files) >= 8 and len(assembled) > 200
    assert sum(assembled) > len(assembled) // 2  # most sample layers are chunked, deflated
