"""CPU time of one pass-1 date task (``Staged.stage_date``) in process, and its cProfile.

The synthetic China inputs (``china_synth.py``), the run's configuration of
``china_year.py`` (China Albers 1 km, ``good_lai``, area average, ``chunk = 512``), the
synchronous dask scheduler.  The first date computes the resample plans and is not counted;
the next ``--dates`` (warm) dates are timed with ``time.process_time`` (CPU time, so the other
jobs sharing the machine do not inflate it), then computed again under cProfile, whose own
time per function is summed by module.

Usage: ``python benchmarks/stage_date.py [--tiles h26v04,h26v05,h27v04,h27v05] [--dates 2]
[--top 30] [--resampling average]``
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from china_synth import DEFAULT_CACHE
from china_year import CONFIG

from modisoft.pipeline import load_config

TILES = "h26v04,h26v05,h27v04,h27v05"
SPLIT = ("site-packages/dask/", "site-packages/zarr/", "asyncio", "_thread.lock",
         "pyhdf", "zlib", "modisoft/warp/area_jit", "modisoft/warp/kernels",
         "modisoft/warp/mosaic", "modisoft/warp/plan", "numpy/lib/_npyio", "numpy/lib/_format",
         "zipfile", "modisoft/decode", "modisoft/qa", "modisoft/io", "xarray", "numpy")
"""Where each function's own time is counted in the split (the first that matches)."""


def main() -> None:
    import dask

    from modisoft.pipeline.inventory import checked_inventory
    from modisoft.pipeline.limits import check_before_run
    from modisoft.pipeline.staging import NoManifest, Staged

    class Manifest(NoManifest):
        def __init__(self) -> None:
            self.data: dict = {}

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", default=TILES)
    ap.add_argument("--dates", type=int, default=2, help="warm dates timed")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--resampling", default="average")
    ap.add_argument("--cache", default=str(DEFAULT_CACHE))
    args = ap.parse_args()
    tiles = args.tiles.split(",")
    paths = sorted(p for p in Path(args.cache).glob("*.hdf") if p.name.split(".")[2] in tiles)
    days = sorted({p.name.split(".")[1] for p in paths})[: args.dates + 1]
    with tempfile.TemporaryDirectory(prefix="stage_date_") as tmp:
        inputs = Path(tmp) / "inputs"
        inputs.mkdir()
        for p in paths:
            if p.name.split(".")[1] in days:
                (inputs / p.name).symlink_to(p)
        cfg_path = Path(tmp) / "china.toml"
        text = CONFIG.format(inputs=inputs, tiles=tiles, out=Path(tmp) / "out",
                             period="years = [2012]", workers=1, memory="1.5GiB", res="1km")
        cfg_path.write_text(text.replace('resampling = "average"',
                                         f'resampling = "{args.resampling}"'))
        cfg = load_config(cfg_path)
        grid = check_before_run(cfg)
        inv = checked_inventory(cfg, grid, {})
        work = Staged(cfg, grid, inv, Manifest(), echo=lambda _m: None)
        work.create_stage()
        todo = work.stage_args()
        with dask.config.set(scheduler="synchronous"):
            c0 = time.process_time()
            work.stage_date(todo[0])
            print(f"first date {todo[0][1]} (plans computed): {time.process_time() - c0:.2f} CPU s")
            cpu = []
            for arg in todo[1:]:
                c0 = time.process_time()
                lost = work.stage_date(arg)
                cpu.append(time.process_time() - c0)
                print(f"warm date {arg[1]}: {cpu[-1]:.2f} CPU s, lost {lost}")
            prof = cProfile.Profile()  # the same dates again, profiled
            c0 = time.process_time()
            prof.enable()
            for arg in todo[1:]:
                work.stage_date(arg)
            prof.disable()
            print(f"profiled: {(time.process_time() - c0) / len(todo[1:]):.2f} CPU s a date")
    print(f"mean warm date, {len(tiles)} tiles: {sum(cpu) / len(cpu):.2f} CPU s")
    st = pstats.Stats(prof)
    parts: dict[str, float] = {}
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in st.stats.items():
        key = next((k for k in SPLIT if k in f"{file}:{func}"), f"{file}:{func}")
        parts[key] = parts.get(key, 0.0) + tt
    print("own time by module (s, profiled, all the warm dates):")
    for key, tt in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {tt:6.2f}  {key}")
    if args.top:
        st.sort_stats("cumulative").print_stats(args.top)
        st.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
