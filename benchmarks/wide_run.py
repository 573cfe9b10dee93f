"""A wide run: many MODIS tiles, few dates, onto a coarse global grid; the client's memory and
the task graph against the tile count.

**The input is synthetic** (``benchmarks/china_synth.py``: real MCD15A2 h17v03 pixels of
2012, shuffled per tile and labelled as other tiles, 500 m MCD15A2H-like files), here
labelled as ``--tiles`` tiles of a block of the MODIS tiling (h 8-27 x v 3-5, 60 tiles, all
inside the sinusoidal projection's valid area).  The run: ``good_lai``, area average onto
a global lon/lat grid of ``--degrees`` (default 0.25°), ``reducer = "max"`` per calendar
month, Zarr + NetCDF + COG + quicklooks + report, on a LocalCluster of 2 worker processes
of 4 GiB each (a date's mosaic of 60 tiles needs more than 1.5 GiB).

Each tile count runs in a fresh interpreter (default 15, then 60: four times the tiles); it
prints the client's (main process's, with the LocalCluster's scheduler) own peak RSS
(kernel high-water mark), each worker's, the wall time, and the task graph as the run's
own plan states it (:func:`modisoft.pipeline.plan.plan_run`: tasks in total and at once),
then the ratios.  Target (issue 27): client peak within 10 % when the tiles grow 4x.

Usage: ``python benchmarks/wide_run.py [--tiles 15 60] [--dates 4] [--degrees 0.25]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from china_synth import generate
from china_year import PeakRSS

from modisoft.pipeline import load_config, run

CACHE = Path("~/.cache/modisoft/wide_synth_chunked").expanduser()  # chunked as the real files
TILES = [(h, v) for v in (3, 4, 5) for h in range(8, 28)]
"""The 60 tiles of the wide run, row by row of the tiling."""

CONFIG = """
[inputs]
paths = ["{inputs}"]
product = "MCD15A2H"
years = [2012]
tiles = {tiles}

[grid]
crs = "EPSG:4326"
resolution = {degrees}
bounds = [-180, -60, 180, 80]

[steps]
qa_rule = "good_lai"
resampling = "average"
period = "month"
reducer = "max"

[output]
dir = "{out}"
formats = ["zarr", "netcdf", "cog"]
chunk = 256
quicklooks = true
report = true

[compute]
workers = 2
memory_limit = "4GiB"
"""


def one_run(n_tiles: int, dates: int, degrees: float) -> dict:
    """Generate (or find) the inputs, plan and run; the figures as a dict."""
    from modisoft.pipeline.plan import plan_run

    synth = generate(CACHE, tiles=TILES[:n_tiles], dates=dates, workers=1)
    names = sorted({p.name.split(".")[2] for p in synth.paths})
    with tempfile.TemporaryDirectory(prefix="wide_run_") as tmp:
        cfg_path = Path(tmp) / "wide.toml"
        cfg_path.write_text(CONFIG.format(inputs=CACHE, tiles=names, out=Path(tmp) / "out",
                                          degrees=degrees))
        cfg = load_config(cfg_path)
        plan = plan_run(cfg)
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            summary = run(cfg, progress=False, echo=lambda _m: None)
            wall = time.perf_counter() - t0
    workers = [v for k, v in rss.per_process.items() if k.startswith("worker")]
    return {"tiles": n_tiles, "granules": len(synth.paths), "dates": dates,
            "grid": plan.grid, "pieces": plan.pieces, "tasks": plan.tasks,
            "at_once": plan.at_once, "wall_s": wall, "exit": summary.exit_code,
            "client_gib": rss.per_process.get("main+scheduler", 0) / 2**30,
            "worker_gib": max(workers or [0]) / 2**30}


def in_fresh_process(n_tiles: int, args: argparse.Namespace) -> dict:
    """:func:`one_run` in a new interpreter, so no run inherits another's memory."""
    with tempfile.TemporaryDirectory(prefix="wide_run_res_") as tmp:
        res = Path(tmp) / "result.json"
        subprocess.run([sys.executable, __file__, "--tiles", str(n_tiles), "--dates",
                        str(args.dates), "--degrees", str(args.degrees), "--json", str(res)],
                       check=True)
        return json.loads(res.read_text())


def show(r: dict) -> None:
    print(f"{r['tiles']:3d} tiles x {r['dates']} dates ({r['granules']} granules) -> "
          f"{r['grid']}: {r['pieces']} pieces, tasks {r['tasks']} (at once "
          f"{r['at_once']}); client peak {r['client_gib']:.3f} GiB, largest worker "
          f"{r['worker_gib']:.2f} GiB, {r['wall_s']:.0f} s, exit {r['exit']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, nargs="+", default=[15, 60])
    ap.add_argument("--dates", type=int, default=4)
    ap.add_argument("--degrees", type=float, default=0.25)
    ap.add_argument("--json", help=argparse.SUPPRESS)  # one run, result as JSON (internal)
    args = ap.parse_args()
    if max(args.tiles) > len(TILES):
        raise SystemExit(f"--tiles: at most {len(TILES)}")
    if args.json:
        Path(args.json).write_text(json.dumps(one_run(args.tiles[0], args.dates,
                                                      args.degrees)))
        return
    results = []
    for n in args.tiles:
        results.append(in_fresh_process(n, args))
        show(results[-1])
    a, b = results[0], results[-1]
    if b is not a:
        print(f"tiles x{b['tiles'] / a['tiles']:g}: client peak x"
              f"{b['client_gib'] / a['client_gib']:.3f} (target within 10 %), total tasks "
              f"{sum(a['tasks'].values())} -> {sum(b['tasks'].values())}, at once "
              f"{a['at_once']} -> {b['at_once']}")


if __name__ == "__main__":
    main()
