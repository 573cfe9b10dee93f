"""Read + decode a year of MCD15A2 LAI with modisoft and with GDAL's command line; print a ratio.

The peer is what a user without an HDF4-enabled Python GDAL does: ``gdal_translate`` each
``HDF4_EOS:EOS_GRID`` subdataset to a raw file and decode it with numpy.  Both sides produce the
same float32 arrays (checked), so the ratio compares like with like.

Usage: ``python benchmarks/read_decode_vs_gdal.py [--files N]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dask
import numpy as np

import modisoft

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "sample-data"


def with_modisoft(files: list[Path]) -> list[np.ndarray]:
    out = []
    with dask.config.set(scheduler="synchronous"):
        for f in files:
            out.append(modisoft.decode(modisoft.open_granule(f, "Lai_1km")).Lai_1km.values)
    return out


def with_gdal(files: list[Path], tmp: Path) -> list[np.ndarray]:
    out = []
    for i, f in enumerate(files):
        dst = tmp / f"{i}.bin"
        src = f'HDF4_EOS:EOS_GRID:"{f}":MOD_Grid_MOD15A2:Lai_1km'
        subprocess.run(["gdal_translate", "-q", "-of", "ENVI", src, str(dst)], check=True)
        raw = np.fromfile(dst, dtype="uint8").reshape(1200, 1200)
        out.append(np.where(raw <= 100, raw.astype("float64") * 0.1, np.nan).astype("float32"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=46)
    args = ap.parse_args()
    files = sorted(SAMPLE.glob("MCD15A2.A2012*.h17v03.005.*.hdf"))[: args.files]
    if not files:
        raise SystemExit(f"no MCD15A2 h17v03 files in {SAMPLE}")
    if shutil.which("gdal_translate") is None:
        raise SystemExit("gdal_translate not found: install Debian's gdal-bin for the peer")
    with_modisoft(files[:1])  # warm imports and caches on both sides equally
    with tempfile.TemporaryDirectory() as tmp:
        with_gdal(files[:1], Path(tmp))
        t0 = time.perf_counter()
        ours = with_modisoft(files)
        t1 = time.perf_counter()
        peer = with_gdal(files, Path(tmp))
        t2 = time.perf_counter()
    for a, b in zip(ours, peer, strict=True):
        np.testing.assert_array_equal(a, b)
    n = len(files)
    print(f"files: {n} x Lai_1km 1200x1200 (MCD15A2 h17v03 2012)")
    print(f"modisoft open+decode : {t1 - t0:7.3f} s  ({(t1 - t0) / n * 1000:6.1f} ms/file)")
    print(f"gdal_translate+numpy : {t2 - t1:7.3f} s  ({(t2 - t1) / n * 1000:6.1f} ms/file)")
    print(f"speed ratio (GDAL time / modisoft time): {(t2 - t1) / (t1 - t0):.2f}x")
    print(f"results identical: yes ({n} arrays, {sum(np.isnan(a).sum() for a in ours)} NaN)")


if __name__ == "__main__":
    main()
