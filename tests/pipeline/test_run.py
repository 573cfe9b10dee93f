"""The national run (`modisoft run`): config checks, discovery, an end-to-end run checked
against an independent nearest-neighbour + max-composite computation, outputs reopened by
independent readers, resume after SIGKILL (byte-identical), a LocalCluster of processes and
an existing scheduler address.

Inputs are the real cropped MCD15A2 granules of ``sample_tiles/`` (h17v03 + h18v03, 16 dates
of 2012; see ``scripts/make_sample_tiles.py``)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pyhdf.SD import SD
from pyproj import Transformer

from modisoft.io.stack import open_stack
from modisoft.pipeline import ConfigError, discover, expected_dates, load_config, run

ROOT = Path(__file__).resolve().parents[2]
TILES = ROOT / "sample_tiles"
SINU = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
PIX = 2 * np.pi * 6371007.181 / 36 / 1200

# A small EPSG:3035 grid across the tile edge: 120 x 80 km at 2 km (60 x 40 pixels).
SMALL_GRID = """crs = "EPSG:3035"
resolution = 2000
bounds = [3580000, 3380000, 3700000, 3460000]"""


def run_config(tmp: Path, *, inputs: str, steps: str, grid: str = SMALL_GRID,
               out: str | Path = "out", formats: str = '["zarr", "netcdf"]',
               report: bool = False, workers: int = 0) -> Path:
    """Write ``tmp/run.toml`` for the small runs of the tests: ``inputs``, ``steps`` and
    ``grid`` are the lines of those tables (the grid defaults to :data:`SMALL_GRID`); the
    output has 16-pixel chunks."""
    cfg = tmp / "run.toml"
    cfg.write_text(f"""
[inputs]
{inputs}

[grid]
{grid}

[steps]
{steps}

[output]
dir = "{out}"
formats = {formats}
chunk = 16
report = {"true" if report else "false"}

[compute]
workers = {workers}
""")
    return cfg


def write_config(tmp: Path, *, out: str = "out", smoother: str = "none", workers: int = 0,
                 formats: str = '["zarr", "beps", "netcdf", "cog"]',
                 period: str | None = None, report: bool = False) -> Path:
    """The small run's config; ``period`` defaults to BEPS_D's day table when the formats
    have ``beps`` (required then), else to calendar dekads; ``report.html`` only when asked
    (tests/report/ test it; every other run spares its few seconds)."""
    period = period or ("beps_d" if "beps" in formats else "beps10")
    return run_config(
        tmp, out=out, formats=formats, report=report, workers=workers,
        inputs=f'paths = ["{TILES}"]\nproduct = "MCD15A2"\nstart = "2012-01-01"\n'
               'end = "2012-04-30"',
        steps=f'qa_rule = "good_lai"\nresampling = "nearest"\nperiod = "{period}"\n'
              f'smoother = "{smoother}"\nreducer = "max"\nmin_obs = 4')


def quiet(_msg: str) -> None:
    pass


# ----------------------------------------------------------------------------------- config
@pytest.mark.parametrize(("text", "match"), [
    ("[inputs]\npaths=['.']\nproduct='MCD15A2'\nfoo=1\n[grid]\nname='china_albers_1km'\n"
     "[output]\ndir='o'", r"\[inputs\] unknown key\(s\) foo; accepted: paths, product"),
    ("[inputs]\npaths=['.']\nproduct='MCD15A2'\n[output]\ndir='o'", r"missing the \[grid\]"),
    ("[inputs]\npaths=['.']\nproduct='MCD15A2'\n[grid]\nname='china_albers_1km'\n"
     "[output]\ndir='o'\nchunk='big'", r"\[output\] chunk: need an integer"),
    ("[inputs]\npaths=['.']\nproduct='MCD15A2'\n[grid]\ncrs='EPSG:3035'\n[output]\ndir='o'",
     r"crs needs resolution and bounds"),
    ("[inputs]\npaths=['.']\nproduct='MCD15A2'\n[grid]\nname='x'\n[steps]\nsmoother='loess'"
     "\n[output]\ndir='o'", r"smoother 'loess'; accepted: none, whittaker"),
    ("[inputs]\npaths=['.']\nproduct='MCD15A2'\n[grid]\nname='x'\n[output]\ndir='o'\n"
     "formats=['tiff']", r"formats: unknown \['tiff'\]; accepted: zarr, netcdf, cog, beps"),
    ("[inputs\n", "not valid TOML"),
])
def test_bad_configs_are_refused_with_the_key_and_the_accepted_values(tmp_path, text, match):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        load_config(p)
    assert str(p) in str(err.value)


def test_cli_reports_config_errors_with_exit_code_2(tmp_path):
    from click.testing import CliRunner

    from modisoft.cli import main

    p = tmp_path / "c.toml"
    p.write_text("[inputs]\npaths=['nowhere/*.hdf']\nproduct='MCD15A2'\n[grid]\n"
                 "name='china_albers_1km'\n[output]\ndir='o'\n")
    res = CliRunner().invoke(main, ["run", str(p), "--dry-run"])
    assert res.exit_code == 2
    assert "nothing matches 'nowhere/*.hdf'" in res.output


# -------------------------------------------------------------------------------- discovery
def test_discovery_groups_by_date_and_tile_and_reports_what_is_missing(tmp_path):
    cfg = load_config(write_config(tmp_path))
    inv = discover(cfg)
    assert len(inv.granules) == 32 and inv.tiles == ["h17v03", "h18v03"]
    assert len(inv.dates) == 16 and inv.dates[0] == date(2012, 1, 1)
    assert inv.missing_dates == [] and inv.missing_tiles == {}
    text = write_config(tmp_path).read_text().replace(
        'end = "2012-04-30"', 'end = "2012-05-31"\ntiles = ["h17v03", "h18v03", "h19v03"]')
    (tmp_path / "run.toml").write_text(text)
    inv = discover(load_config(tmp_path / "run.toml"))
    assert inv.missing_dates == [date(2012, 5, 8), date(2012, 5, 16), date(2012, 5, 24)]
    assert all(v == ["h19v03"] for v in inv.missing_tiles.values())
    assert len(inv.missing_tiles) == 16
    assert "missing tiles on 2012-01-01: h19v03" in inv.report()


def test_expected_dates_follow_the_modis_calendar():
    d = expected_dates("MCD15A2", date(2012, 1, 1), date(2012, 12, 31))
    assert len(d) == 46 and d[-1] == date(2012, 12, 26)
    assert len(expected_dates("MOD13A2", date(2013, 1, 1), date(2013, 12, 31))) == 23
    assert expected_dates("MYD13A2", date(2013, 1, 1), date(2013, 1, 31))[0] == date(2013, 1, 9)


def test_a_duplicate_granule_keeps_the_newest_production(tmp_path):
    src = sorted(TILES.glob("MCD15A2.A2012001.h17v03*.hdf"))[0]
    d = tmp_path / "in"
    d.mkdir()
    (d / src.name).symlink_to(src)
    newer = src.name.replace(".2012017211237.", ".2013017211237.")
    (d / newer).symlink_to(src)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[inputs]\npaths=['{d}']\nproduct='MCD15A2'\n[grid]\n"
                   "name='china_albers_1km'\n[output]\ndir='o'\n")
    inv = discover(load_config(cfg))
    assert len(inv.granules) == 1 and inv.granules[0].path.endswith(newer)
    assert inv.duplicates and inv.duplicates[0][1].endswith(src.name)


# ----------------------------------------------------------------------- end-to-end values
def independent_expectation(cfg_path: Path) -> tuple[np.ndarray, list[str]]:
    """Nearest source pixel of each output pixel centre (pyproj + the tiles' corner
    coordinates, floor), QA.md §2.3 good_lai, LAI = DN/10, max over the dates of each BEPS
    period (days 1-10, 11-20, 21-end): written out here without modisoft."""
    cfg = load_config(cfg_path)
    left, bottom, right, top = cfg.grid.bounds
    res = cfg.grid.resolution
    xs = np.arange(left + res / 2, right, res)
    ys = np.arange(top - res / 2, bottom, -res)
    gx, gy = np.meshgrid(xs, ys)
    sx, sy = Transformer.from_crs("EPSG:3035", SINU, always_xy=True).transform(gx, gy)
    periods: dict[str, list] = {}
    for f in sorted(TILES.glob("MCD15A2.A2012*.hdf")):
        sd = SD(str(f))
        meta = sd.attributes()["StructMetadata.0"]
        ul = meta.split("UpperLeftPointMtrs=(")[1].split(")")[0].split(",")
        x0, y0 = float(ul[0]), float(ul[1])
        lai = sd.select("Lai_1km")[:].astype(int)
        qc = sd.select("FparLai_QC")[:].astype(int)
        sd.end()
        col = np.floor((sx - x0) / PIX).astype(int)
        row = np.floor((y0 - sy) / PIX).astype(int)
        inside = (row >= 0) & (row < lai.shape[0]) & (col >= 0) & (col < lai.shape[1])
        r, c = np.clip(row, 0, lai.shape[0] - 1), np.clip(col, 0, lai.shape[1] - 1)
        v, q = lai[r, c], qc[r, c]
        good = inside & (v <= 100) & (q != 255) & ((q >> 5) <= 1) & (((q >> 3) & 3) == 0)
        day = date(2012, 1, 1).toordinal() + int(f.name.split(".")[1][5:8]) - 1
        d = date.fromordinal(day)
        label = f"{d.year}-{d.month:02d}-d{min((d.day - 1) // 10, 2) + 1}"
        periods.setdefault(label, []).append(np.where(good, v / 10.0, np.nan))
    labels = sorted(periods)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.stack([np.nanmax(np.stack(periods[k]), axis=0) for k in labels])
    return out, labels


def test_run_equals_an_independent_nearest_and_max_composite(tmp_path):
    cfg_path = write_config(tmp_path, formats='["zarr", "netcdf", "cog"]')
    summary = run(load_config(cfg_path), progress=False, echo=quiet)
    assert summary.failures == []
    assert summary.bands_total == 3 * 4  # pieces: 40 rows / chunk 16 x 60 cols / chunk 16
    z = open_stack(tmp_path / "out" / "lai.zarr")
    assert z.attrs["modisoft_status"] == "complete"
    expect, labels = independent_expectation(cfg_path)
    got = z.lai.values
    labels_out = list(z.period_label.values)
    # periods with a granule: the run also lists the BEPS periods between, NaN-filled
    idx = [labels_out.index(k) for k in labels]
    np.testing.assert_allclose(got[idx], expect, rtol=0, atol=1e-6, equal_nan=True)
    assert np.isfinite(expect).sum() > 5000
    other = [i for i in range(len(labels_out)) if i not in idx]
    assert all(np.isnan(got[i]).all() for i in other)
    # a max composite has a value exactly where its period holds a good observation: there
    # gap_days is 0, elsewhere more (or no value: the pixel has no good observation at all)
    gap = z.gap_days.values
    assert np.array_equal(gap[idx] == 0, np.isfinite(expect))
    assert all((gap[i] != 0).all() for i in other)
    # n_obs is the number of good observations over the whole series
    print(f"{np.isfinite(expect).sum()} finite values compared over {len(labels)} periods")


def test_outputs_reopen_with_independent_readers(tmp_path):
    import rasterio

    cfg = load_config(write_config(tmp_path, smoother="whittaker"))
    summary = run(cfg, progress=False, echo=quiet)
    out = tmp_path / "out"
    zs = open_stack(out / "lai.zarr")
    z, n_obs = zs.lai.values, zs.n_obs.values
    assert np.nanmin(z) >= 0 and np.nanmax(z) <= 10
    enough = n_obs >= 4  # min_obs: smoothed everywhere with enough good observations, else NaN
    assert enough.sum() > 1000
    assert np.isfinite(z[:, enough]).all() and np.isnan(z[:, ~enough]).all()
    nc = xr.open_dataset(out / "lai.nc", engine="h5netcdf").lai.values
    np.testing.assert_array_equal(nc, z)
    cogs = summary.outputs["cog"]
    assert len(cogs) == z.shape[0]
    with rasterio.open(cogs[0]) as src:
        np.testing.assert_array_equal(src.read(1), z[0])
        assert src.transform.c == 3580000 and src.transform.f == 3460000
        assert src.transform.a == 2000 and src.crs.to_epsg() == 3035
    # BEPS, as BEPS_D reads it: the control file's days (readconf.c order), and on every day
    # the file readlai.c picks by day of year alone holds the Zarr's value for that day
    from write.test_beps import readconf

    beps = out / "beps"
    conf = readconf(beps / "lai.con")
    assert (conf["jday_start"], conf["jday_end"]) == (1, 121)  # 2012-01-01 .. 2012-04-30
    lc = np.fromfile(beps / conf["landcoverf"], np.uint8).reshape(z.shape[1:])
    assert np.array_equal(lc == 0, np.isnan(z).any(axis=0))  # NaN in the Zarr: not simulated
    starts = zs.time.values.astype("datetime64[D]")
    ends = zs.period_end.values.astype("datetime64[D]")
    for jday in range(conf["jday_start"], conf["jday_end"] + 1):
        suffix = next(k for k, lo in reversed(list(enumerate(DAY_TABLE, 1))) if jday >= lo)
        dn = np.fromfile(beps / f"{conf['leafareaf']}.{suffix:03d}", np.uint8)
        day = np.datetime64("2012-01-01") + (jday - 1)
        k = int(np.flatnonzero((starts <= day) & (day <= ends))[0])
        v = z[k].ravel()
        ok = lc.ravel() != 0
        assert (dn[~ok] == 0).all() and (dn[ok] >= 1).all()
        assert np.abs((dn[ok] - 1) / 10 - v[ok]).max() <= 0.05 + 1e-6
    sidecar = json.loads((beps / "lai.001.json").read_text())
    assert len(sidecar["granules"]) == 32
    assert sidecar["steps"]["smoother"]["method"] == "whittaker"


DAY_TABLE = (1, 111, 121, 131, 141, 152, 162, 172, 182, 192, 202, 213, 223, 233, 244, 254, 264,
             274, 284, 294)
"""BEPS_D readlai.c's first day of each suffix .001 ... .020 (reference/BEPS.md §2), written
out here rather than taken from modisoft."""


# -------------------------------------------------------------------------------- resume
def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every output file; not of the manifest, ``report.html`` and the run log,
    which record how this execution went (timings, peak memory, its own paths, a lost
    worker's warnings)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name not in ("modisoft-run.json", "report.html",
                                          "modisoft-run.log"):
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", ["", "stage:", "zarr:band:", "zarr", "netcdf"],
                         ids=["before-any-work", "in-the-mosaic-pass", "in-the-piece-pass",
                              "after-the-store", "between-period-files"])
def test_a_killed_run_resumes_to_byte_identical_outputs(tmp_path, kill_after):
    """``kill -9`` at five moments (as soon as the manifest exists; after a date of the
    mosaic pass; after a piece; once the store is complete; between the period files), then
    the same command again, without ``--force``: the outputs equal an uninterrupted run's
    byte for byte (the killed run's lock on the folder does not block the rerun)."""
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    fmts = '["zarr", "beps", "netcdf"]'
    ref_cfg = write_config(ref_dir, smoother="lacc", formats=fmts)
    run(load_config(ref_cfg), progress=False, echo=quiet)
    cfg = write_config(kill_dir, smoother="lacc", formats=fmts)
    manifest = kill_dir / "out" / "modisoft-run.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "modisoft.cli", "run", str(cfg), "-q",
                             "--workers", "0"], env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        if manifest.exists():
            done = json.loads(manifest.read_text()).get("done", [])
            if kill_after == "" or any(k == kill_after or (kill_after.endswith(":") and
                                                           k.startswith(kill_after))
                                       for k in done):
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(manifest.read_text())["done"]
    assert "beps" not in done, "the run finished before it could be killed"
    if kill_after in ("", "stage:", "zarr:band:"):
        assert "zarr" not in done, "killed too late"
    if kill_after == "stage:":  # killed between dates: the resumed run keeps the stage
        assert not any(k.startswith("zarr:band:") for k in done), "killed too late"
        assert (kill_dir / "out" / ".lai.stage").is_dir()
    res = subprocess.run([sys.executable, "-m", "modisoft.cli", "run", str(cfg), "--workers",
                          "0"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert ("resuming" in res.stdout) == bool(done)
    ref, got = tree_digest(ref_dir / "out"), tree_digest(kill_dir / "out")
    for name in sorted(k for k in ref if ref[k] != got.get(k) and k.endswith(".json")):
        print(f"--- {name}\nref: {(ref_dir / 'out' / name).read_text()[:3000]}\n"
              f"resumed: {(kill_dir / 'out' / name).read_text()[:3000]}")
    assert got == ref
    assert not (kill_dir / "out" / ".lai.stage").exists()  # removed once the store is complete


# ------------------------------------------------------------------------------ clusters
@pytest.mark.slow
def test_local_cluster_and_scheduler_address_give_the_same_outputs(tmp_path):
    from distributed import LocalCluster

    fmts = '["zarr"]'
    sync = tmp_path / "sync"
    sync.mkdir()
    run(load_config(write_config(sync, formats=fmts)), progress=False, echo=quiet)
    local = tmp_path / "local"
    local.mkdir()
    msgs: list[str] = []
    summary = run(load_config(write_config(local, formats=fmts, workers=2)), progress=False,
                  echo=msgs.append, memory_limit="1GiB")
    assert any("LocalCluster: 2 worker processes; dashboard http" in m for m in msgs)
    assert summary.dashboard
    remote = tmp_path / "remote"
    remote.mkdir()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as lc:
        msgs = []
        run(load_config(write_config(remote, formats=fmts)), scheduler=lc.scheduler_address,
            progress=False, echo=msgs.append)
        assert any(lc.scheduler_address in m for m in msgs)
        # its worker pauses at dask's default 80 %: the run says how to switch that off
        assert any("1 of 1 workers pause at 80%" in m and "MEMORY__PAUSE=False" in m
                   for m in msgs), msgs
    ref = xr.open_zarr(sync / "out" / "lai.zarr").load()
    for other in (local, remote):  # same data; the provenance records each config's [compute]
        got = xr.open_zarr(other / "out" / "lai.zarr").load()
        for v in ("lai", "n_obs", "fill_class"):
            np.testing.assert_array_equal(got[v].values, ref[v].values)


def test_the_local_cluster_workers_keep_their_logs_off_the_terminal(tmp_path):
    """At the default level a worker process of the run's LocalCluster logs nothing to the
    terminal, not even an error (a heartbeat cut by the cluster's shutdown printed a
    traceback once); with -v (INFO) it logs as distributed does."""
    import logging

    from modisoft.pipeline.pool import cluster

    cfg = load_config(write_config(tmp_path, formats='["zarr"]', workers=1))

    def levels():
        return logging.getLogger("distributed").getEffectiveLevel()

    mod = logging.getLogger("modisoft")
    old = mod.level
    try:
        for level, expect in ((logging.WARNING, logging.CRITICAL),
                              (logging.INFO, logging.INFO)):
            mod.setLevel(level)
            with cluster(cfg, None, 1, "1GiB", quiet) as client:
                assert set(client.run(levels).values()) == {expect}
    finally:
        mod.setLevel(old)


def test_the_workers_are_replaced_every_time_and_ignore_ctrl_c(tmp_path, monkeypatch):
    """Between its passes the run replaces its LocalCluster's worker processes (a new
    cluster: distributed's ``client.restart()`` once left a CI run waiting for workers that
    never came back). Each replacement gives new processes that compute and ignore Ctrl-C like
    the first ones; an external scheduler's client is kept as it is."""
    from modisoft.pipeline.pool import cluster, restart_workers

    cfg = load_config(write_config(tmp_path, formats='["zarr"]', workers=2))
    # what an earlier LocalCluster of the same process leaves in its environment (its nannies
    # export it): inherited by the workers, it made every mosaic date about 1.6x slower
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")

    def state(dask_worker):
        # and they never pause: a paused worker whose memory is a finished task's heap (not
        # dask data it could spill) would wait forever, and the run with it
        paused_at = dask_worker.memory_manager.memory_pause_fraction
        assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
        return os.getpid(), signal.getsignal(signal.SIGINT) == signal.SIG_IGN, paused_at

    with cluster(cfg, None, 2, "1GiB", quiet) as client:
        first = list(client.run(state).values())
        assert [p for _, _, p in first] == [False, False]
        seen = {pid for pid, _, _ in first}
        for _ in range(4):
            old, client = client, restart_workers(client)
            assert client is not old and old.status == "closed"
            now = list(client.run(state).values())
            assert len(now) == 2 and all(ignored and paused_at is False
                                         for _, ignored, paused_at in now)
            assert not {pid for pid, _, _ in now} & seen
            seen |= {pid for pid, _, _ in now}
            assert client.submit(sum, [1, 2], pure=False).result() == 3
        last = client
    assert len(seen) == 10 and last.status == "closed"  # closed with the run's cluster
    assert restart_workers(None) is None
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's, given back


def test_a_bad_granule_is_recorded_and_the_run_continues(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for f in sorted(TILES.glob("MCD15A2.A2012*.hdf"))[:6]:
        (d / f.name).symlink_to(f)
    bad = sorted(d.iterdir())[4]  # 2012-017 h17v03
    bad.unlink()
    bad.write_bytes(b"not an HDF file at all")
    text = write_config(tmp_path).read_text().replace(str(TILES), str(d))
    (tmp_path / "run.toml").write_text(text)
    summary = run(load_config(tmp_path / "run.toml"), progress=False, echo=quiet)
    assert [f["file"] for f in summary.failures] == [str(bad)]
    assert "not an HDF4 file" in summary.failures[0]["reason"] or "HDF" in \
        summary.failures[0]["reason"]
    prov = json.loads(xr.open_zarr(tmp_path / "out" / "lai.zarr").attrs["modisoft_provenance"])
    assert len(prov["granules"]) == 5 and prov["failed"][0]["path"] == str(bad)


def test_a_worker_drops_the_mosaic_plans_before_its_first_piece(tmp_path, monkeypatch):
    """Pieces read the stage only: a worker's first piece after the mosaic pass must not
    carry the resample plans of that pass (their size grows with the number of tiles)."""
    import importlib

    from modisoft.pipeline.manifest import Manifest
    from modisoft.warp import kernels, plan

    execute = importlib.import_module("modisoft.pipeline.execute")
    from modisoft.pipeline import resolve_grid
    from modisoft.pipeline.staging import prepare

    monkeypatch.setattr(execute, "_WORKER_WORK", {})
    cfg = load_config(write_config(tmp_path, formats='["zarr"]'))
    out = cfg.resolve(cfg.output.dir)
    out.mkdir()
    manifest = Manifest(out / "modisoft-run.json", cfg.digest(), force=True)
    main = prepare(cfg, discover(cfg), manifest, quiet, resolve_grid(cfg))
    main.create_stage()
    plan.clear_plan_memory()
    first, second = main.stage_args()[:2]
    execute._task(cfg, "stage", first)  # a real mosaic of one date, as on a worker
    assert len(plan._memory) > 0  # the windows it used stay for the next date
    execute._task(cfg, "stage", second)
    assert len(plan._memory) > 0  # not dropped between dates
    seen = []
    monkeypatch.setattr(execute, "_do", lambda *_a: seen.append(
        (len(plan._memory), len(kernels._entries_memory))))
    execute._task(cfg, "piece", (0, 16, 0, 16))
    assert seen == [(0, 0)]
    import zarr

    group = zarr.open_group(str(main.stage / "mosaic.zarr"), mode="r")
    stored, classes = group["values"], group["classes"]
    assert stored.shape[0] == len(main.stage_args())
    assert np.isnan(stored.fill_value)  # the stage holds decoded values (NaN: none)
    # the first date was really staged (January: fill classes, water, a few values)
    assert np.any(classes[0] != classes.fill_value) or np.any(np.isfinite(stored[0]))
    assert np.all(np.isnan(stored[2])) and np.all(classes[2] == classes.fill_value)  # not yet


def test_the_stages_import_only_earlier_stages_and_no_private_names():
    """``modisoft/pipeline`` reads as the flow: no module imports a later stage (so no
    cycle), no private helper crosses a module boundary, every module stays short."""
    import ast
    from pathlib import Path

    from test_architecture import PIPELINE as order

    import modisoft.pipeline

    folder = Path(modisoft.pipeline.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted([*order, "__init__"])
    for name in order:
        text = (folder / f"{name}.py").read_text()
        assert len(text.splitlines()) <= 300, name
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                    "modisoft"):
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{name} imports private {private} from {node.module}"
            parts = node.module.split(".")
            if parts[:2] == ["modisoft", "pipeline"] and name != "cli":
                assert len(parts) == 3, f"{name} imports the pipeline package"
                assert order.index(parts[2]) < order.index(name), \
                    f"{name} imports the later stage {parts[2]}"
