"""China-scale benchmark of the national run: a synthetic China year → China Albers 1 km.

**The input is synthetic** (``benchmarks/china_synth.py``): real MCD15A2 pixels re-labelled
as the 22 MODIS tiles of China (``china22``), 46 dates of 2012, 500 m MCD15A2H-like files.
The full pipeline runs on them: discover → QA (``good_lai``) → mosaic (500 m → 1 km,
area-weighted average for LAI, mode for QA) → Whittaker (V-curve) smoothing evaluated daily
and averaged over the 36 BEPS 10-day periods → Zarr + BEPS files, on a LocalCluster of
worker processes.

Targets on the 2-core machine: **≤ 15 minutes end to end and peak RSS ≤ 4 GiB** (the sum
over the main process, the scheduler and the workers, sampled every 0.2 s), and peak RSS
unchanged when the tile count doubles (``--compare-half`` also runs 11 tiles and prints
both).

Usage: ``python benchmarks/china_year.py [--tiles N] [--compare-half] [--workers 2]``
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from china_synth import DEFAULT_CACHE, generate

from modisoft.pipeline import load_config, run

CONFIG = """
[inputs]
paths = ["{inputs}"]
product = "MCD15A2H"
years = [2012]
tiles = {tiles}

[grid]
name = "china_albers_1km"

[steps]
qa_rule = "good_lai"
resampling = "average"
period = "beps10"
smoother = "whittaker"

[output]
dir = "{out}"
formats = ["zarr", "beps"]
chunk = 512

[compute]
workers = {workers}
memory_limit = "{memory}"
"""


class PeakRSS:
    """Samples the summed RSS of this process and all its children."""

    def __init__(self, every: float = 0.2):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self.per_process: dict[str, int] = {}  # each process's own peak, by role
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    rss = p.memory_info().rss
                    total += rss
                    role = "main+scheduler" if p.pid == me.pid else \
                        f"{'other' if 'resource_tracker' in ' '.join(p.cmdline()) else 'worker'}"\
                        f" {p.pid}"
                    self.per_process[role] = max(self.per_process.get(role, 0), rss)
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def __enter__(self) -> PeakRSS:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def one_run(n_tiles: int, workers: int, memory: str, cache: Path) -> dict:
    t0 = time.perf_counter()
    synth = generate(cache, tiles=n_tiles, dates=46, workers=workers)
    gen = time.perf_counter() - t0
    tiles = sorted({p.name.split(".")[2] for p in synth.paths})
    with tempfile.TemporaryDirectory(prefix="china_year_") as tmp:
        cfg_path = Path(tmp) / "china.toml"
        cfg_path.write_text(CONFIG.format(inputs=cache, tiles=tiles, out=Path(tmp) / "out",
                                          workers=workers, memory=memory))
        cfg = load_config(cfg_path)
        with PeakRSS() as rss:
            t1 = time.perf_counter()
            summary = run(cfg, progress=True, echo=lambda m: print(m, flush=True))
            wall = time.perf_counter() - t1
        out = Path(tmp) / "out"
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        n_beps = len(summary.outputs.get("beps", []))
        shutil.rmtree(out, ignore_errors=True)
    return {"tiles": n_tiles, "granules": len(synth.paths), "generate_s": gen, "wall_s": wall,
            "peak_rss_gib": rss.peak / 2**30, "stages": summary.timings,
            "per_process": {k: v / 2**30 for k, v in rss.per_process.items()},
            "failures": len(summary.failures), "out_mb": size / 1e6, "beps_files": n_beps}


def show(r: dict) -> None:
    print(f"\n== {r['tiles']} tiles x 46 dates ({r['granules']} synthetic granules, "
          f"500 m) -> China Albers 1 km (4300 x 5050), 36 BEPS periods")
    print(f"input generation/caching: {r['generate_s']:.1f} s")
    print(f"end to end: {r['wall_s']:.1f} s = {r['wall_s'] / 60:.2f} min (target <= 15 min)")
    print(f"peak RSS (all processes): {r['peak_rss_gib']:.2f} GiB (target <= 4 GiB)")
    print("peak RSS per process (GiB): " + ", ".join(
        f"{k.split()[0]} {v:.2f}" for k, v in sorted(r["per_process"].items())))
    print("per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items()))
    print(f"outputs: {r['out_mb']:.0f} MB, {r['beps_files']} BEPS files; "
          f"{r['failures']} failed granules")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=22)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="1.5GiB", help="per worker")
    ap.add_argument("--cache", default=str(DEFAULT_CACHE))
    ap.add_argument("--compare-half", action="store_true",
                    help="also run half the tiles and compare peak memory")
    args = ap.parse_args()
    cache = Path(args.cache).expanduser()
    results = []
    if args.compare_half:
        results.append(one_run(args.tiles // 2, args.workers, args.memory_limit, cache))
        show(results[-1])
    results.append(one_run(args.tiles, args.workers, args.memory_limit, cache))
    show(results[-1])
    if len(results) == 2:
        a, b = results
        print(f"\npeak RSS {a['tiles']} tiles: {a['peak_rss_gib']:.2f} GiB; {b['tiles']} tiles: "
              f"{b['peak_rss_gib']:.2f} GiB; ratio {b['peak_rss_gib'] / a['peak_rss_gib']:.2f}")


if __name__ == "__main__":
    main()
