"""``modisoft run CONFIG --plan``: a run's figures without running it (a global 1 km year
included), the costs a complete run records for the estimate, and the bounded number of
tasks the scheduler holds at once."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pipeline.test_run import quiet, write_config

from modisoft.pipeline import load_config, run
from modisoft.pipeline.plan import cost_file, plan_run

ROOT = Path(__file__).resolve().parents[2]

GLOBAL = """
[inputs]
paths = ["{d}/in"]
download = true
product = "MOD15A2H"
years = [2020]

[grid]
crs = "EPSG:4326"
resolution = {res}
bounds = [-180, -90, 180, 90]

[steps]
qa_rule = "good_lai"
period = "beps10"
smoother = "whittaker"

[output]
dir = "{d}/out"
formats = ["zarr"]
chunk = 1024

[compute]
workers = 8
memory_limit = "16GiB"
"""


def test_plan_of_a_global_1km_year_reads_nothing_and_counts_right(tmp_path, monkeypatch):
    monkeypatch.setenv("MODISOFT_CACHE_DIR", str(tmp_path / "cache"))
    cfg = tmp_path / "global.toml"
    cfg.write_text(GLOBAL.format(d=tmp_path, res=1 / 120))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "modisoft", "run", str(cfg), "--plan"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    took = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    out = res.stdout
    print(out, f"\n({took:.1f} s)")
    nx, ny = 360 * 120, 180 * 120  # 1/120 degree: 43,200 x 21,600
    assert f"{nx:,} × {ny:,}" in out and f"({nx * ny:,} pixels)" in out
    # MOD15A2H: 8-day composites from day 1, 46 in a year
    assert "dates: 46; output periods: 36" in out  # BEPS 10-day periods: 36 in a year
    pieces = math.ceil(ny / 1024) * math.ceil(nx / 1024)
    assert f"pieces: {pieces:,}" in out
    assert f"tasks: {46 + pieces:,} in all (46 mosaic-date + {pieces:,} piece); at most 16 " \
        "held by the scheduler at once" in out  # 8 workers x 1 thread x 2
    tiles = int(re.search(r"\(([\d,]+) tiles × 46 dates", out)[1].replace(",", ""))
    assert 400 < tiles <= 36 * 18  # every tile with a valid pixel of the sinusoidal grid
    assert f"granules: {tiles * 46:,} expected" in out
    assert f"a date's mosaic {(nx * ny * 5) / 2**30:.1f} GiB" in out  # 5 bytes a pixel
    assert "wall time: not estimated: no complete run" in out
    assert not (tmp_path / "out").exists() and not (tmp_path / "in").exists()


def test_a_complete_run_records_its_costs_and_the_plan_of_it_gives_its_time(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("MODISOFT_CACHE_DIR", str(tmp_path / "cache"))
    cfg = load_config(write_config(tmp_path, smoother="whittaker", formats='["zarr"]'))
    summary = run(cfg, progress=False, echo=quiet)
    assert summary.exit_code == 0
    rec = json.loads(cost_file().read_text())["runs"]
    assert len(rec) == 1 and rec[0]["granules"] == 32 and rec[0]["workers"] == 0
    assert rec[0]["pixel_dates"] == 60 * 40 * 16
    plan = plan_run(cfg, workers=0)
    t = summary.timings
    measured = t["QA+mosaic (per date)"] + t["time series+zarr (per piece)"] + \
        t["per-period outputs"]
    # the same config on the same machine: the estimate is that run's own time
    assert plan.estimate_s == pytest.approx(measured, rel=1e-6)
    assert "the costs the run" in str(plan) and "an upper bound" not in str(plan)
    run(cfg, progress=False, echo=quiet)  # a resumed run (nothing to do) records nothing
    assert len(json.loads(cost_file().read_text())["runs"]) == 1


def test_the_scheduler_holds_at_most_two_tasks_per_thread(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    from modisoft.pipeline import execute

    def fake_task(_cfg, _kind, arg):
        time.sleep(0.02)
        return {"arg": arg}

    monkeypatch.setattr(execute, "_task", fake_task)
    cfg = load_config(write_config(tmp_path, formats='["zarr"]'))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as lc, Client(lc) as client:
        submit, futures, most = client.submit, [], [0]

        def counting(*a, **k):  # unfinished tasks, this one included
            unfinished = sum(f.status == "pending" for f in futures) + 1
            most[0] = max(most[0], unfinished)
            futures.append(submit(*a, **k))
            return futures[-1]

        monkeypatch.setattr(client, "submit", counting)
        todo = [(f"piece:{i}", i) for i in range(12)]
        got = [(key, result["arg"])
               for key, result in execute.run_tasks(cfg, None, "piece", todo, client)]
    assert sorted(got) == sorted(todo)
    assert len(futures) == 12
    assert most[0] == 2  # 1 worker x 1 thread x TASKS_PER_THREAD
