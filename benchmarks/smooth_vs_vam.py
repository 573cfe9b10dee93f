"""Whittaker smoothing with a V-curve λ per series: modisoft against vam-whittaker, side by side.

The series are real: MCD15A2 ``Lai_1km`` for the 46 dates of 2012 (tile h17v03), every land
pixel of the tile with at least 10 good observations (QA.md §2.3 ``good_lai`` → weight 1,
else 0; fills → weight 0).  Both tools get the same values, weights and log10 λ grid
(``modisoft.timeseries.default_lambda_grid``).  The peer is ``vam.whittaker.ws2doptv``
(the Cython kernel behind modape), called per series as modape does.

Prints: the one-off warm-up of modisoft's numba kernels (compiling them, or loading them from
numba's cache when an earlier run left it; excluded from the per-series figures), the
agreement of the smoothed values and of the chosen λ, the time per series of each tool and
their ratio, modisoft on 1 thread and on ``numba.get_num_threads()`` threads, then LACC and
Savitzky–Golay throughput on the same series (no peer ships those; the figures are for
sizing a national run).  A cold compile is measured by pointing ``NUMBA_CACHE_DIR`` at an
empty folder.

Install the peer first (its wheel on PyPI is broken on this platform, so build it)::

    pip install --no-binary vam-whittaker vam-whittaker

Usage: ``python benchmarks/smooth_vs_vam.py [--pixels N]`` (default 20 000).
"""

from __future__ import annotations

import argparse
import array
import time
from pathlib import Path

import dask
import numba
import numpy as np

import modisoft
from modisoft.timeseries.lacc import lacc
from modisoft.timeseries.savgol import savgol_chen2004
from modisoft.timeseries.whittaker import default_lambda_grid, whittaker_vcurve

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "sample-data"


def load_series(n: int, files: list[Path] | None = None, layer: str = "Lai_1km"
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, dates) LAI, weights and day positions: by default from the real 2012 h17v03
    year; ``files`` (one tile's dates, in order) and ``layer`` take another series (e.g. the
    synthetic China year's ``Lai_500m``, from ``china_year.py``)."""
    if files is None:
        files = sorted(SAMPLE.glob("MCD15A2.A2012*.h17v03.005.*.hdf"))
        if len(files) != 46:
            raise SystemExit(f"need the 46 MCD15A2 2012 h17v03 files in {SAMPLE}")
    lai, qc = [], []
    with dask.config.set(scheduler="synchronous"):
        for f in files:
            ds = modisoft.open_granule(f, [layer, "FparLai_QC"])
            lai.append(modisoft.decode(ds)[layer].values.ravel())
            qc.append(ds.FparLai_QC.values.ravel())
    y = np.stack(lai, axis=1).astype("float64")
    q = np.stack(qc, axis=1).astype(np.uint8)
    w = ((q != 255) & ((q >> 5) <= 1) & (((q >> 3) & 3) == 0) & np.isfinite(y)).astype("float64")
    keep = np.flatnonzero(w.sum(axis=1) >= min(10, len(files) // 2))  # 10 of 46 dates
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(keep, size=min(n, len(keep)), replace=False))
    y = np.where(w > 0, y, 0.0)[pick]  # vam needs finite values everywhere
    x = np.arange(len(files)) * 8.0
    return y, w[pick], x


def _best_of(repeats: int, run) -> float:
    """Shortest wall time of ``repeats`` runs (the machine may be shared)."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def time_vam(y: np.ndarray, w: np.ndarray, llas: np.ndarray, repeats: int = 3
             ) -> tuple[float, np.ndarray, np.ndarray] | None:
    """``vam.whittaker.ws2doptv`` on every series, called per series as modape does: (best
    wall time of ``repeats``, smoothed values, chosen λ); ``None`` when vam is missing."""
    try:
        from vam.whittaker import ws2doptv
    except ImportError:
        return None
    ll = array.array("d", llas)
    z_vam = np.empty_like(y)
    lam_vam = np.empty(len(y))

    def run_vam():
        for i in range(len(y)):
            z, lo = ws2doptv(y[i], w[i], ll)
            z_vam[i], lam_vam[i] = z, lo

    return _best_of(repeats, run_vam), z_vam, lam_vam


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixels", type=int, default=20_000)
    args = ap.parse_args()
    y, w, x = load_series(args.pixels)
    n = len(y)
    llas = default_lambda_grid()
    print(f"{n} real series of 46 dates (MCD15A2 h17v03 2012), log10 λ grid "
          f"{llas[0]}..{llas[-1]} ({len(llas)} values)")

    t0 = time.perf_counter()
    whittaker_vcurve(y[:20], w[:20], llas)  # compiles the kernel (or loads it from the cache)
    print(f"warm-up (numba compile or cache load, once per process, not counted below): "
          f"{time.perf_counter() - t0:.2f} s")

    threads = numba.get_num_threads()
    t_ours = {}
    for k in sorted({1, threads}):
        numba.set_num_threads(k)
        t_ours[k] = _best_of(3, lambda: whittaker_vcurve(y, w, llas))
    numba.set_num_threads(threads)
    z_ours, lam_ours = whittaker_vcurve(y, w, llas)

    vam = time_vam(y, w, llas)
    if vam is None:
        print("vam-whittaker is not installed: pip install --no-binary vam-whittaker "
              "vam-whittaker\nmodisoft alone: %.2f µs/series" % (t_ours[threads] / n * 1e6))
        return
    t_vam, z_vam, lam_vam = vam

    diff = np.abs(z_ours - np.asarray(z_vam))
    rel = diff / np.maximum(np.abs(z_vam), 1e-3)
    same_lam = int(np.isclose(lam_ours, lam_vam, rtol=1e-9).sum())
    print(f"agreement: max |Δz| = {diff.max():.2e} LAI (max relative {rel.max():.2e}, "
          f"target 1e-6), mean {diff.mean():.2e}; λ identical on {same_lam}/{n} series")
    for k, tk in t_ours.items():
        print(f"modisoft whittaker_vcurve, {k} thread{'s' if k > 1 else ''}: {tk:.3f} s = "
              f"{tk / n * 1e6:.2f} µs/series")
    print(f"vam.whittaker.ws2doptv (1 thread):  {t_vam:.3f} s = {t_vam / n * 1e6:.2f} µs/series")
    for k, tk in t_ours.items():
        print(f"ratio (vam time / modisoft time), modisoft on {k} thread{'s' if k > 1 else ''}: "
              f"{t_vam / tk:.2f}x (target >= 1)")

    t0 = time.perf_counter()
    lacc(y, w, x)
    t_lacc = time.perf_counter() - t0
    t0 = time.perf_counter()
    savgol_chen2004(y, w, x)
    t_sg = time.perf_counter() - t0
    print(f"LACC: {n / t_lacc:,.0f} series/s ({t_lacc / n * 1e6:.1f} µs/series); "
          f"Savitzky-Golay (Chen 2004): {n / t_sg:,.0f} series/s ({t_sg / n * 1e6:.1f} µs/series)"
          " (no peer implementation to compare)")


if __name__ == "__main__":
    main()
