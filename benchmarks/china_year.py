"""China-scale benchmark of the national run: a synthetic China year → China Albers 1 km.

**The input is synthetic** (``benchmarks/china_synth.py``): real MCD15A2 pixels re-labelled
as the 22 MODIS tiles of China (``china22``), 46 dates of 2012, 500 m MCD15A2H-like files.
The full pipeline runs on them: discover → QA (``good_lai``) → mosaic (500 m → 1 km,
area-weighted average for LAI, mode for QA) → Whittaker (V-curve) smoothing evaluated daily
and averaged over the 36 BEPS 10-day periods → Zarr + BEPS files, on a LocalCluster of
worker processes.

Targets on the 2-core machine: **≤ 15 minutes end to end and peak RSS ≤ 4 GiB** (the sum
over the main process, the scheduler and the workers, sampled every 0.2 s), and peak RSS
unchanged when the tile count doubles (``--compare-half`` first runs 11 tiles; each size
runs in a fresh interpreter, so neither inherits the other's memory, and the ratios of the
summed peak and of each kind of process are printed).  It also prints when the summed peak
happened and how it splits between the main process and the workers.

``--profile DIR`` runs once on a LocalCluster of the benchmark's own (the same workers and
memory, without the run's restart between its passes) and writes dask's performance report
(task stream, the workers' statistical profile), the worker tasks' top functions and a
cProfile of the client process into DIR, so the per-stage split comes with a per-function
one.

Side by side in the same run (issue 22): the **raw-decode floor** (every pixel of the LAI and
QA layers of the same files inflated by pyhdf on a LocalCluster of the same worker processes,
one task per file, nothing else), the run's **QA + mosaic pass** and its ratio to the floor,
the **smoothing** pass with the V-curve Whittaker against ``vam-whittaker`` per series on 5000
series of the run's own first tile (``smooth_vs_vam.py``'s loader and peer timing, one thread
each), and the **end-to-end** time.

``--resolution 500`` runs onto China Albers 500 m (4x the pixels); ``--dates N`` takes the
first N dates only (for a quick check).  Besides the sums it prints the client's own peak
(the main process that runs ``modisoft run``; the LocalCluster's scheduler lives in it too)
separately from the workers', and the client's peak in each stage.

Usage: ``python benchmarks/china_year.py [--tiles N] [--dates N] [--resolution 1000|500]
[--compare-half] [--workers 2] [--profile DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from china_synth import DEFAULT_CACHE, generate

from modisoft.pipeline import load_config, run
from modisoft.pipeline.memory import release_memory

CONFIG = """
[inputs]
paths = ["{inputs}"]
product = "MCD15A2H"
{period}
tiles = {tiles}

[grid]
name = "china_albers_{res}"

[steps]
qa_rule = "good_lai"
resampling = "average"
period = "beps_d"
smoother = "whittaker"

[output]
dir = "{out}"
formats = ["zarr", "beps"]
chunk = 512

[compute]
workers = {workers}
memory_limit = "{memory}"
"""


def _high_water(pid: int) -> int:
    """The kernel's exact peak RSS of a process (``VmHWM``, Linux; 0 elsewhere): a process's
    own peak needs no sampling, only the sum over processes does."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRSS:
    """Samples the RSS of this process and all its children, every ``every`` seconds.

    Keeps the peak of the sum, each process's own peak (exact, from the kernel's high-water
    mark where there is one), and a timeline of
    ``(t, main, workers)`` so the moment of the summed peak can be located.
    """

    def __init__(self, every: float = 0.2):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self.per_process: dict[str, int] = {}  # each process's own peak, by role
        self.timeline: list[tuple[float, int, int]] = []
        self.t0 = time.perf_counter()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            main = others = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    rss = p.memory_info().rss
                    if p.pid == me.pid:
                        role, main = "main+scheduler", rss
                    else:
                        others += rss
                        kind = "other" if "resource_tracker" in " ".join(p.cmdline()) \
                            else "worker"
                        role = f"{kind} {p.pid}"
                    self.per_process[role] = max(self.per_process.get(role, 0), rss,
                                                 _high_water(p.pid))
            self.timeline.append((time.perf_counter() - self.t0, main, others))
            self.peak = max(self.peak, main + others)
            time.sleep(self.every)

    def __enter__(self) -> PeakRSS:
        # this process's high-water mark counts from here: the decode floor and the smoothing
        # comparison ran in it before the run (Linux: 5 -> clear_refs resets VmHWM)
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
        self.t0 = time.perf_counter()
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()

    def at_peak(self) -> tuple[float, int, int]:
        """``(t, main, workers)`` of the sample with the largest sum."""
        return max(self.timeline, key=lambda s: s[1] + s[2])


def _stage_at(t: float, stages: dict[str, float]) -> str:
    """The stage running at ``t`` seconds into the run, from the run's stage times.

    The stages run one after the other from the start, with short gaps between them (cluster
    start and stop, finalising the store); the last one ends the run, so it is placed back
    from ``total``; the report is written after ``total``.
    """
    names = [n for n in stages if n not in ("total", "report")]
    total = stages.get("total")
    if "report" in stages and total is not None and t > total:  # report.html: after total
        return "report" if t <= total + stages["report"] + 1 else "after the run"
    if names and total is not None and t >= total - stages[names[-1]]:
        return names[-1] if t <= total + 1 else "after the run"
    end = 0.0
    for name in names[:-1]:
        end += stages[name]
        if t <= end:
            return name
    return "between stages (cluster start/stop, store finalisation)"


def _worker_top(tree: dict, n: int = 30) -> list[tuple[float, float, str]]:
    """The functions of dask's statistical worker profile (``Client.profile()``) with the
    largest share of samples: ``(inclusive %, self %, "file:line function")``."""
    total = tree.get("count", 0) or 1
    incl: dict[str, int] = {}
    own: dict[str, int] = {}

    def walk(node: dict, above: frozenset) -> None:
        d = node.get("description", {})
        key = f"{d.get('filename', '?')}:{d.get('line_number', '?')} {d.get('name', '?')}"
        if key not in above:  # a recursive call counts once
            incl[key] = incl.get(key, 0) + node["count"]
        kids = node.get("children", {}).values()
        own[key] = own.get(key, 0) + node["count"] - sum(k["count"] for k in kids)
        for k in kids:
            walk(k, above | {key})

    for child in tree.get("children", {}).values():
        walk(child, frozenset())
    # modisoft's own functions by inclusive share (where the time goes in our terms), then
    # any function by self share (what actually burns the CPU: numpy, pyhdf, zarr, ...)
    ours = sorted((k for k in incl if "/modisoft/" in k), key=incl.get, reverse=True)[:n]
    hot = sorted(own, key=own.get, reverse=True)[:n]
    return [(100 * incl[k] / total, 100 * own.get(k, 0) / total, k)
            for k in dict.fromkeys(ours + hot)]


@contextlib.contextmanager
def _profiled(folder: Path | None, workers: int, memory: str) -> Iterator[str | None]:
    """With ``folder``: a LocalCluster like the run's own, dask's performance report of
    everything on it (task stream, worker profile, bandwidth) in
    ``folder/dask-performance.html``, the worker profile's top functions in
    ``folder/workers-top.txt`` and a cProfile of this (the client) process in
    ``folder/client.prof`` and ``folder/client-top.txt``; yields the scheduler address."""
    if folder is None:
        yield None
        return
    import cProfile
    import io
    import pstats

    import dask
    from distributed import Client, LocalCluster, performance_report

    folder.mkdir(parents=True, exist_ok=True)
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)  # as the run's own cluster does
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=memory,
                         processes=True, dashboard_address=":0") as lc, Client(lc) as client:
        prof = cProfile.Profile()
        t0 = time.time()
        with performance_report(filename=str(folder / "dask-performance.html")):
            prof.enable()
            try:
                yield lc.scheduler_address
            finally:
                prof.disable()
        rows = _worker_top(client.profile(start=t0))
    prof.dump_stats(folder / "client.prof")
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
    (folder / "client-top.txt").write_text(text.getvalue())
    (folder / "workers-top.txt").write_text(
        "inclusive %  self %  function (dask's statistical profile of the worker tasks)\n"
        + "".join(f"{a:10.1f} {b:7.1f}  {k}\n" for a, b, k in rows))
    print(f"\nprofile in {folder}: dask-performance.html, workers-top.txt, client.prof, "
          "client-top.txt; the worker tasks' modisoft functions (inclusive share):")
    for a, b, k in [r for r in rows if "/modisoft/" in r[2]][:15]:
        print(f"  {a:5.1f} % incl {b:5.1f} % self  {k}")
    print("and the functions with the largest self share:")
    for a, b, k in sorted(rows, key=lambda r: -r[1])[:10]:
        print(f"  {a:5.1f} % incl {b:5.1f} % self  {k}")


def _decode_file(path: str, layers: tuple[str, ...]) -> int:
    """Decode (inflate) every pixel of ``layers`` of one granule with pyhdf: the floor."""
    from pyhdf.SD import SD, SDC

    sd, n = SD(path, SDC.READ), 0
    try:
        for name in layers:
            sds = sd.select(name)
            n += sds.get().size
            sds.endaccess()
    finally:
        sd.end()
    return n


def decode_floor(paths: list[Path], workers: int, memory: str,
                 layers: tuple[str, ...] = ("Lai_500m", "FparLai_QC")) -> dict:
    """The raw-decode floor of the QA + mosaic pass: every pixel of the layers it reads (the
    LAI and its QA), of the same files, decoded by pyhdf on a LocalCluster of the same
    worker processes, one task per file; nothing else (no QA, no mosaic, no write)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=memory,
                      processes=True, dashboard_address=":0") as lc, Client(lc) as client:
        client.run(lambda: __import__("pyhdf.SD"))  # imports outside the timing
        t0 = time.perf_counter()
        futures = client.map(_decode_file, [str(p) for p in paths], layers=layers, pure=False)
        pixels = sum(client.gather(futures))
        wall = time.perf_counter() - t0
    return {"floor_s": wall, "floor_mpix": pixels / 1e6}


def smoothing_vs_vam(paths: list[Path], n: int = 5000) -> dict:
    """modisoft's V-curve Whittaker against vam-whittaker on ``n`` series of one tile of the
    run's own inputs (``smooth_vs_vam.py``'s loader and peer timing), one thread each."""
    import numba
    from smooth_vs_vam import _best_of, load_series, time_vam

    from modisoft.timeseries.whittaker import default_lambda_grid, whittaker_vcurve

    tile = sorted({p.name.split(".")[2] for p in paths})[0]
    files = sorted(p for p in paths if p.name.split(".")[2] == tile)
    y, w, _x = load_series(n, files, layer="Lai_500m")
    llas = default_lambda_grid()
    whittaker_vcurve(y[:20], w[:20], llas)  # numba warm-up, not timed
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        t_ours = _best_of(3, lambda: whittaker_vcurve(y, w, llas))
    finally:
        numba.set_num_threads(threads)
    z, lam = whittaker_vcurve(y, w, llas)
    out = {"series": len(y), "tile": tile, "ours_us": t_ours / len(y) * 1e6}
    vam = time_vam(y, w, llas)
    if vam is not None:
        t_vam, z_vam, lam_vam = vam
        out |= {"vam_us": t_vam / len(y) * 1e6, "max_dz": float(np.nanmax(np.abs(z - z_vam))),
                "same_lambda": int(np.isclose(lam, lam_vam, rtol=1e-9).sum())}
    return out


RESOLUTIONS = {1000: "1km", 500: "500m"}
"""``--resolution`` (m) -> the named China Albers grid's suffix."""


def client_peaks(timeline: list[tuple[float, int, int]],
                 stages: dict[str, float]) -> dict[str, float]:
    """The client's (main process's) largest sampled RSS in each stage of the run, GiB."""
    out: dict[str, float] = {}
    for t, main, _ in timeline:
        stage = _stage_at(t, stages)
        out[stage] = max(out.get(stage, 0.0), main / 2**30)
    return out


def one_run(n_tiles: int, workers: int, memory: str, cache: Path,
            profile: Path | None = None, resolution: int = 1000, dates: int = 46) -> dict:
    t0 = time.perf_counter()
    synth = generate(cache, tiles=n_tiles, dates=dates, workers=workers)
    gen = time.perf_counter() - t0
    tiles = sorted({p.name.split(".")[2] for p in synth.paths})
    floor = decode_floor(list(synth.paths), workers, memory)
    smooth = smoothing_vs_vam(list(synth.paths))
    with tempfile.TemporaryDirectory(prefix="china_year_") as tmp:
        # the cache may hold more dates than asked for: the run sees only the chosen files
        inputs = Path(tmp) / "inputs"
        inputs.mkdir()
        for p in synth.paths:
            (inputs / p.name).symlink_to(p)
        cfg_path = Path(tmp) / "china.toml"
        cfg_path.write_text(CONFIG.format(inputs=inputs, tiles=tiles, out=Path(tmp) / "out",
                                          period=_period(synth.paths, dates),
                                          workers=workers, memory=memory,
                                          res=RESOLUTIONS[resolution]))
        cfg = load_config(cfg_path)
        # the decode floor and the smoothing comparison ran in this process: what they freed
        # goes back to the system before the run, whose client this process is
        gc.collect()
        release_memory()
        start_rss = psutil.Process().memory_info().rss
        with PeakRSS() as rss, _profiled(profile, workers, memory) as address:
            t1 = time.perf_counter()
            summary = run(cfg, progress=True, echo=lambda m: print(m, flush=True),
                          scheduler=address)
            wall = time.perf_counter() - t1
        out = Path(tmp) / "out"
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        n_beps = len(summary.outputs.get("beps", []))
        shutil.rmtree(out, ignore_errors=True)
    t_peak, main_peak, others_peak = rss.at_peak()
    main_role = "main+scheduler"
    return {"tiles": n_tiles, "granules": len(synth.paths), "generate_s": gen, "wall_s": wall,
            "resolution": resolution, "dates": dates, "shape": list(cfg_grid_shape(cfg)),
            "client_peak_gib": rss.per_process.get(main_role, 0) / 2**30,
            "workers_peak_gib": max([v for k, v in rss.per_process.items()
                                     if k.startswith("worker")] or [0]) / 2**30,
            "client_by_stage": client_peaks(rss.timeline, summary.timings),
            "peak_rss_gib": rss.peak / 2**30, "stages": summary.timings,
            "per_process": {k: v / 2**30 for k, v in rss.per_process.items()},
            "start_rss_gib": start_rss / 2**30,
            "at_peak": {"t": t_peak, "main": main_peak / 2**30, "others": others_peak / 2**30,
                        "stage": _stage_at(t_peak, summary.timings)},
            "failures": len(summary.failures), "out_mb": size / 1e6, "beps_files": n_beps,
            "floor": floor, "smooth": smooth}


def _period(paths: list[Path], dates: int) -> str:
    """The config's ``[inputs]`` period: the year, or up to the last of the first ``dates``
    dates (the cache may hold more dates than asked for; the run, the floor and the
    smoothing sample then read the same files)."""
    if dates >= 46:
        return "years = [2012]"
    import datetime as dt

    last = max(dt.datetime.strptime(p.name.split(".")[1][1:], "%Y%j").date() for p in paths)
    return f'start = "2012-01-01"\nend = "{last.isoformat()}"'


def cfg_grid_shape(cfg: object) -> tuple[int, int]:
    """The run's output grid shape (rows, columns)."""
    from modisoft.pipeline.schema import resolve_grid

    return resolve_grid(cfg).shape


def in_fresh_process(n_tiles: int, args: argparse.Namespace) -> dict:
    """Run :func:`one_run` in a new interpreter, so no run inherits another's memory."""
    with tempfile.TemporaryDirectory(prefix="china_year_res_") as tmp:
        res = Path(tmp) / "result.json"
        subprocess.run([sys.executable, __file__, "--tiles", str(n_tiles), "--workers",
                        str(args.workers), "--memory-limit", args.memory_limit,
                        "--cache", args.cache, "--json", str(res), "--resolution",
                        str(args.resolution), "--dates", str(args.dates)], check=True)
        return json.loads(res.read_text())


def show(r: dict) -> None:
    rows, cols = r["shape"]
    print(f"\n== {r['tiles']} tiles x {r['dates']} dates ({r['granules']} synthetic granules, "
          f"500 m) -> China Albers {r['resolution']} m ({rows} x {cols}), BEPS periods")
    print(f"input generation/caching: {r['generate_s']:.1f} s")
    print(f"end to end: {r['wall_s']:.1f} s = {r['wall_s'] / 60:.2f} min (target <= 15 min)")
    print(f"peak RSS (all processes): {r['peak_rss_gib']:.2f} GiB (target <= 4 GiB)")
    print(f"client (main process: modisoft run, with the LocalCluster's scheduler) peak RSS: "
          f"{r['client_peak_gib']:.2f} GiB (target <= 0.5 GiB); largest worker peak: "
          f"{r['workers_peak_gib']:.2f} GiB")
    print("client peak by stage (GiB, sampled): " + ", ".join(
        f"{k} {v:.2f}" for k, v in r["client_by_stage"].items()))
    print("peak RSS per process (GiB): " + ", ".join(
        f"{k.split()[0]} {v:.2f}" for k, v in sorted(r["per_process"].items())))
    ap_ = r["at_peak"]
    print(f"summed peak at {ap_['t']:.0f} s ({ap_['stage']}): main+scheduler "
          f"{ap_['main']:.2f} GiB + workers {ap_['others']:.2f} GiB; main at start "
          f"{r['start_rss_gib']:.2f} GiB")
    print("per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items()))
    print(f"outputs: {r['out_mb']:.0f} MB, {r['beps_files']} BEPS files; "
          f"{r['failures']} failed granules")
    side_by_side(r)


MOSAIC_STAGE = "QA+mosaic (per date)"
"""The run's stage timing of the QA + mosaic pass (``summary.timings``)."""
SMOOTH_STAGE = "time series+zarr (per piece)"


def side_by_side(r: dict) -> None:
    """The issue-22 figures of one run, side by side: the raw-decode floor, the QA + mosaic
    pass and its ratio to the floor, smoothing against vam-whittaker, end to end."""
    fl, sm, st = r["floor"], r["smooth"], r["stages"]
    mosaic = st.get(MOSAIC_STAGE, float("nan"))
    print(f"\n{'figure':44s} {'seconds':>9s}  note")
    print(f"{'raw-decode floor (pyhdf, same files+workers)':44s} {fl['floor_s']:9.1f}  "
          f"{fl['floor_mpix']:.0f} Mpix, {fl['floor_mpix'] / fl['floor_s']:.0f} Mpix/s")
    print(f"{'QA + mosaic pass':44s} {mosaic:9.1f}  {mosaic / fl['floor_s']:.1f}x the floor "
          "(target <= 3x)")
    print(f"{'time series + Zarr pass (smoothing)':44s} {st.get(SMOOTH_STAGE, float('nan')):9.1f}  "
          f"Whittaker V-curve {sm['ours_us']:.2f} us/series (1 thread, {sm['series']} series "
          f"of {sm['tile']})")
    if "vam_us" in sm:
        print(f"{'  vam-whittaker, same series':44s} {'':9s}  {sm['vam_us']:.2f} us/series: "
              f"modisoft {sm['vam_us'] / sm['ours_us']:.1f}x faster per core (target >= 5x); "
              f"lambda identical on {sm['same_lambda']}/{sm['series']}, max |dz| "
              f"{sm['max_dz']:.1e}")
    else:
        print("  vam-whittaker not installed: pip install --no-binary vam-whittaker "
              "vam-whittaker")
    print(f"{'end to end':44s} {r['wall_s']:9.1f}  (target <= 180 s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=22)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--resolution", type=int, choices=sorted(RESOLUTIONS), default=1000,
                    help="the China Albers grid's resolution in m (1000: 4300 x 5050, "
                         "500: 8600 x 10100)")
    ap.add_argument("--dates", type=int, default=46, help="the first N dates of 2012")
    ap.add_argument("--memory-limit", default="1.5GiB", help="per worker")
    ap.add_argument("--cache", default=str(DEFAULT_CACHE))
    ap.add_argument("--compare-half", action="store_true",
                    help="also run half the tiles (each run in its own process) and compare "
                         "peak memory")
    ap.add_argument("--profile", metavar="DIR",
                    help="run on a LocalCluster of the benchmark's own and write dask's "
                         "performance report, the worker tasks' top functions and a cProfile "
                         "of the client process into DIR (one run, in this process)")
    ap.add_argument("--json", help=argparse.SUPPRESS)  # one run, result as JSON (internal)
    args = ap.parse_args()
    if args.profile and importlib.util.find_spec("bokeh") is None:
        raise SystemExit("--profile needs bokeh for dask's performance report: "
                         "pip install -e '.[bench]'")
    if args.json or args.profile:
        r = one_run(args.tiles, args.workers, args.memory_limit,
                    Path(args.cache).expanduser(),
                    Path(args.profile) if args.profile else None, args.resolution, args.dates)
        if args.json:
            Path(args.json).write_text(json.dumps(r))
        else:
            show(r)
        return
    results = []
    if args.compare_half:
        results.append(in_fresh_process(args.tiles // 2, args))
        show(results[-1])
    results.append(in_fresh_process(args.tiles, args))
    show(results[-1])
    if len(results) == 2:
        a, b = results
        print(f"\npeak RSS {a['tiles']} tiles: {a['peak_rss_gib']:.2f} GiB; {b['tiles']} tiles: "
              f"{b['peak_rss_gib']:.2f} GiB; ratio {b['peak_rss_gib'] / a['peak_rss_gib']:.2f}")
        for role in ("main+scheduler", "worker"):
            pa = max(v for k, v in a["per_process"].items() if k.startswith(role))
            pb = max(v for k, v in b["per_process"].items() if k.startswith(role))
            print(f"largest {role} peak: {pa:.2f} -> {pb:.2f} GiB, ratio {pb / pa:.2f}")


if __name__ == "__main__":
    main()
