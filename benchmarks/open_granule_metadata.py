"""Metadata cost of ``open_granule`` on HDF4 granules, against pyhdf's own attribute reader.

Opening a granule reads its global attributes (StructMetadata, CoreMetadata, ArchiveMetadata:
~70 kB of text for MCD15A2) and every SDS's attributes.  pyhdf's ``attributes()`` converts a
character attribute one byte at a time; modisoft's ``io.hdf4.read_attributes`` copies the
bytes at once.  Both runs open every MCD15A2 granule of the sample set cold (caches cleared)
with ``open_granule(path, ["Lai_1km", "FparLai_QC"])``, and the datasets are checked equal.

Usage: ``python benchmarks/open_granule_metadata.py [--files N]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from numpy.testing import assert_equal

import modisoft
from modisoft.io import hdf4
from modisoft.io.granule import _inspect_cached

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "sample-data"
LAYERS = ["Lai_1km", "FparLai_QC"]


def open_all(files: list[Path]) -> tuple[float, list]:
    _inspect_cached.cache_clear()
    hdf4.clear_handle_cache()
    t = time.perf_counter()
    out = [modisoft.open_granule(f, LAYERS) for f in files]
    return (time.perf_counter() - t) / len(files), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=60)
    args = ap.parse_args()
    files = sorted(SAMPLE.glob("MCD15A2.*.hdf"))[: args.files]
    open_all(files[:2])  # imports
    ours, ds_ours = open_all(files)
    fast = hdf4.read_attributes
    hdf4.read_attributes = lambda obj, count: dict(obj.attributes())  # pyhdf's reader
    try:
        peer, ds_peer = open_all(files)
    finally:
        hdf4.read_attributes = fast
    for a, b in zip(ds_ours, ds_peer, strict=True):
        assert a.identical(b)
        assert_equal(a.attrs, b.attrs)
        for v in a.data_vars:
            assert_equal(a[v].attrs, b[v].attrs)
    print(
        f"open_granule metadata, {len(files)} MCD15A2 granules cold: modisoft "
        f"{1000 * ours:.1f} ms/file, with pyhdf's attributes() {1000 * peer:.1f} ms/file, "
        f"ratio {peer / ours:.1f}x (datasets identical)"
    )


if __name__ == "__main__":
    main()
