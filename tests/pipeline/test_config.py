"""Fail-fast configuration checks (issue 18, item 5): every bad key or value of a run config,
every bad ``modisoft run`` override, and every run that cannot fit is a ``ConfigError``
raised before any work, in under 2 s, naming the key and the value given and what would be
accepted.

Each case states its bad value and the words the message must hold (the key, the value as
written in the case, what is accepted, or a figure computed here from the case).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from modisoft.errors import ConfigError
from modisoft.pipeline import load_config, run

ROOT = Path(__file__).resolve().parents[2]
TILES = ROOT / "sample_tiles"
DEL = object()
FAST = 2.0  # seconds: every check fails faster than this


class Raw(str):
    """A TOML literal written as is (a date, an inline table)."""


def base() -> dict[str, dict]:
    """A valid config: the sample tiles, 16 dates, a 60 x 40 EPSG:3035 grid at 2 km."""
    return {
        "inputs": {"paths": [str(TILES)], "product": "MCD15A2", "start": "2012-01-01",
                   "end": "2012-04-30"},
        "grid": {"crs": "EPSG:3035", "resolution": 2000,
                 "bounds": [3580000, 3380000, 3700000, 3460000]},
        "steps": {"qa_rule": "good_lai", "resampling": "nearest", "reducer": "max"},
        "output": {"dir": "out", "formats": ["zarr"], "chunk": 16},
        "compute": {"workers": 0},
    }


def toml(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return repr(value)


def write(tmp: Path, changes: dict | None = None, name: str = "run.toml") -> Path:
    """The base config with ``{(table, key): value}`` changes (``DEL`` removes a key,
    ``(table, None): DEL`` a table)."""
    cfg = base()
    for (table, key), value in (changes or {}).items():
        if key is None:
            cfg.pop(table)
        elif value is DEL:
            cfg[table].pop(key)
        else:
            cfg.setdefault(table, {})[key] = value
    text = "".join(f"[{t}]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in keys.items())
                   for t, keys in cfg.items())
    path = tmp / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory):
    """Load a valid config once, so the timings below are the checks, not the imports."""
    load_config(write(tmp_path_factory.mktemp("warm")))


def refused(call, *must: str) -> str:
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        call()
    elapsed = time.perf_counter() - t0
    msg = str(err.value)
    for part in must:
        assert part in msg, (part, msg)
    assert elapsed < FAST, (elapsed, msg)
    assert "\n" not in msg
    return msg


GRID_1E6 = {("grid", "resolution"): 1, ("grid", "bounds"): [0, 0, 1_000_000, 1_000_000]}
WIDE = {("grid", "resolution"): 10, ("grid", "bounds"): [0, 0, 200_000, 200_000]}  # 20,000²

CASES = {
    # unknown keys and tables, with a did-you-mean and the accepted list
    "unknown key": ({("grid", "resolutoin"): 2000, ("grid", "resolution"): DEL},
                    ["[grid]", "resolutoin", "did you mean 'resolution'",
                     "accepted: name, crs, resolution, bounds"]),
    "unknown table": ({("comput", "workers"): 1},
                      ["[comput]", "did you mean 'compute'", "accepted:", "[compute]"]),
    "wrong type": ({("compute", "workers"): "two"}, ["workers", "'two'", "integer"]),
    "paths of numbers": ({("inputs", "paths"): [1]}, ["[inputs] paths", "[1]", "strings"]),
    "no paths": ({("inputs", "paths"): []}, ["[inputs] paths", "[]"]),
    # [compute]
    "negative workers": ({("compute", "workers"): -1}, ["[compute] workers", "-1", ">= 0"]),
    "zero threads": ({("compute", "threads_per_worker"): 0},
                     ["[compute] threads_per_worker", "0", ">= 1"]),
    "memory under the floor": ({("compute", "memory_limit"): "100MiB"},
                               ["[compute] memory_limit", "'100MiB'", "512 MiB"]),
    "memory not a size": ({("compute", "memory_limit"): "lots"},
                          ["[compute] memory_limit", "'lots'", "512 MiB"]),
    "scheduler": ({("compute", "scheduler"): "not an address"},
                  ["[compute] scheduler", "'not an address'", "tcp://"]),
    "zero band_rows": ({("compute", "band_rows"): 0},
                       ["[compute] band_rows", "0", "multiple of [output] chunk 16"]),
    "negative band_rows": ({("compute", "band_rows"): -32},
                           ["[compute] band_rows", "-32", "multiple of [output] chunk 16"]),
    "band_rows off the chunk": ({("compute", "band_rows"): 24},
                                ["[compute] band_rows", "24", "multiple of [output] chunk 16"]),
    # [grid]
    "millimetre pixels on a metre CRS": ({("grid", "resolution"): 0.001},
                                         ["[grid] resolution", "0.001", "1 to 100000 metres"]),
    "1000-degree pixels": ({("grid", "crs"): "EPSG:4326", ("grid", "resolution"): 1000,
                            ("grid", "bounds"): [-10, 40, 10, 60]},
                           ["[grid] resolution", "1000", "1e-05 to 10 degrees"]),
    "zero resolution": ({("grid", "resolution"): 0}, ["[grid] resolution", "0", "metres"]),
    "negative resolution": ({("grid", "resolution"): -2000},
                            ["[grid] resolution", "-2000", "metres"]),
    "left > right": ({("grid", "bounds"): [3700000, 3380000, 3580000, 3460000]},
                     ["[grid] bounds", "3700000", "left < right"]),
    "bounds not numbers": ({("grid", "bounds"): ["a", 3380000, 3700000, 3460000]},
                           ["[grid] bounds", "'a'", "[left, bottom, right, top]"]),
    "bottom == top": ({("grid", "bounds"): [3580000, 3460000, 3700000, 3460000]},
                      ["[grid] bounds", "3460000", "bottom < top"]),
    "a 1e6 x 1e6 grid": (GRID_1E6, ["[grid] resolution 1, bounds", "1,000,000 × 1,000,000 pixels",
                                    f"= {10**12:,} pixels", "TiB", f"{2**32:,} pixels"]),
    "a date over memory_limit": ({**WIDE, ("compute", "workers"): 1,
                                  ("compute", "memory_limit"): "512MiB"},
                                 ["[grid] resolution 10", "[compute] memory_limit '512MiB'",
                                  "20,000 × 20,000 pixels", "GiB"]),
    # a piece: 8192 rows x 4096 columns x 46 dates of 2012 (8-day product) in 1 GiB
    "a piece over memory_limit": ({("grid", "resolution"): 100,
                                   ("grid", "bounds"): [0, 0, 409_600, 819_200],
                                   ("output", "chunk"): 4096, ("compute", "band_rows"): 8192,
                                   ("inputs", "start"): DEL, ("inputs", "end"): DEL,
                                   ("inputs", "years"): [2012], ("compute", "workers"): 1,
                                   ("compute", "memory_limit"): "1GiB"},
                                  ["[output] chunk 4096", "band_rows 8192", "8192 × 4096",
                                   f"{-(-366 // 8)} dates", "'1GiB'"]),
    # 46,341² pixels (under the per-date cap) x 121 years of 46 dates: far over 16 TiB
    "the stage over its cap": ({("grid", "resolution"): 1,
                                ("grid", "bounds"): [0, 0, 46_341, 46_341],
                                ("inputs", "start"): DEL, ("inputs", "end"): DEL,
                                ("inputs", "years"): [1980, 2100]},
                               ["[inputs] dates", "46,341 × 46,341 pixels",
                                f"{121 * 46:,} dates", "16.0 TiB"]),
    "grid name": ({("grid", "crs"): DEL, ("grid", "resolution"): DEL, ("grid", "bounds"): DEL,
                   ("grid", "name"): "china_albers_2km"},
                  ["[grid] name", "'china_albers_2km'", "did you mean 'china_albers_1km'"]),
    "resolution with a name": ({("grid", "crs"): DEL, ("grid", "bounds"): DEL,
                                ("grid", "name"): "china_albers_1km"},
                               ["[grid] resolution", "name = 'china_albers_1km'"]),
    # dates
    "month 13": ({("inputs", "start"): "2020-13-45"},
                 ["[inputs] start", "'2020-13-45'", "YYYY-MM-DD", "YYYY-DDD"]),
    "year 0": ({("inputs", "start"): "0000-01-01"}, ["[inputs] start", "'0000-01-01'",
                                                     "YYYY-MM-DD"]),
    "year 1850": ({("inputs", "start"): "1850-01-01"}, ["[inputs] start", "1850", "1978..2100"]),
    "day 366 of 2021": ({("inputs", "start"): "2021-366"}, ["[inputs] start", "'2021-366'",
                                                            "1..365"]),
    "start after end": ({("inputs", "start"): "2012-05-01"},
                        ["[inputs] start 2012-05-01", "end 2012-04-30"]),
    "years and start": ({("inputs", "years"): [2012]}, ["years", "[2012]", "start", "not both"]),
    "year 3012": ({("inputs", "years"): [3012], ("inputs", "start"): DEL,
                   ("inputs", "end"): DEL}, ["[inputs] years", "3012", "1978..2100"]),
    # sizes
    "zero min_obs": ({("steps", "min_obs"): 0}, ["[steps] min_obs", "0", ">= 1"]),
    "negative min_obs": ({("steps", "min_obs"): -3}, ["[steps] min_obs", "-3", ">= 1"]),
    "zero chunk": ({("output", "chunk"): 0}, ["[output] chunk", "0", "multiple of 16"]),
    "negative chunk": ({("output", "chunk"): -16}, ["[output] chunk", "-16", "multiple of 16"]),
    # [inputs], [steps], [output] values
    "tile": ({("inputs", "tiles"): ["H17V03"]}, ["[inputs] tiles", "'H17V03'", "hHHvVV"]),
    "product": ({("inputs", "product"): "MCD15A2X"},
                ["[inputs] product", "'MCD15A2X'", "did you mean 'MCD15A2'"]),
    "layer": ({("inputs", "layer"): "Lai_1kmm"},
              ["[inputs] layer", "'Lai_1kmm'", "did you mean 'Lai_1km'"]),
    "qa rule": ({("steps", "qa_rule"): "goood_lai"},
                ["[steps] qa_rule", "'goood_lai'", "did you mean 'good_lai'"]),
    "weights": ({("steps", "weights"): "best"}, ["[steps] weights", "'best'", "accepted:"]),
    "smoother parameter": ({("steps", "smoother"): "whittaker",
                            ("steps", "smoother_params"): Raw("{ lam = 2 }")},
                           ["[steps] smoother_params", "'lam'", "accepted: llas"]),
    "smoother parameter value": ({("steps", "smoother"): "whittaker_asymmetric",
                                  ("steps", "smoother_params"): Raw("{ p = 1.5 }")},
                                 ["[steps] smoother_params p", "1.5", "(0, 1)"]),
    "period": ({("steps", "period"): "11days"}, ["[steps] period", "'11days'", "'<N>day'"]),
    "resampling": ({("steps", "resampling"): "bilinaer"},
                   ["[steps] resampling", "'bilinaer'", "did you mean 'bilinear'"]),
    "fuse": ({("steps", "fuse"): "sum"}, ["[steps] fuse", "'sum'", "first, last"]),
    "beps suffixes": ({("output", "beps_suffixes"): "dekad"},
                      ["[output] beps_suffixes", "'dekad'", "beps_d"]),
    "output name": ({("output", "name"): "a/b"}, ["[output] name", "'a/b'", "file name"]),
    # BEPS output
    "BEPS with calendar dekads": ({("output", "formats"): ["zarr", "beps"],
                                   ("steps", "period"): "beps10"},
                                  ["[steps] period", "'beps10'", "no smoother",
                                   "'beps_d', 'beps_d_guide'"]),
    "[beps] without BEPS output": ({("beps", "display_cycle"): 10},
                                   ["[beps]", "formats has 'beps'"]),
    "BEPS window off the grid": ({("output", "formats"): ["beps"],
                                  ("beps", "window"): [0, 41, 0, 60]},
                                 ["[beps] window", "[0, 41, 0, 60]", "40 x 60 grid"]),
    "BEPS path with a space": ({("output", "formats"): ["beps"],
                                ("beps", "climate"): "my met.dat"},
                               ["[beps] climate", "'my met.dat'", "without spaces"]),
    "BEPS path too long": ({("output", "formats"): ["beps"],
                            ("beps", "soil_water"): "a" * 260},
                           ["[beps] soil_water", "has 260 characters", "1-254 characters"]),
    "BEPS empty window": ({("output", "formats"): ["beps"], ("beps", "window"): [0, 0, 0, 10]},
                          ["[beps] window", "[0, 0, 0, 10]", "n_lines and n_pixels must be"]),
    "BEPS display cycle": ({("output", "formats"): ["beps"], ("beps", "display_cycle"): 0},
                           ["[beps] display_cycle", "0", "1..366"]),
    "BEPS land-cover codes": ({("output", "formats"): ["beps"],
                               ("beps", "landcover_codes"): "igpb"},
                              ["[beps] landcover_codes", "'igpb'", "did you mean 'igbp'"]),
}


def test_beps_output_defaults_to_the_beps_d_day_table(tmp_path):
    cfg = load_config(write(tmp_path, {("output", "formats"): ["zarr", "beps"]}))
    assert cfg.steps.period == "beps_d" and cfg.beps is None
    cfg = load_config(write(tmp_path, {("output", "formats"): ["beps"],
                                       ("beps", "display_cycle"): 10,
                                       ("beps", "output_npp"): True}))
    assert cfg.beps.display_cycle == 10 and cfg.beps.output_npp is True
    assert cfg.as_dict()["beps"]["display_cycle"] == 10
    assert load_config(write(tmp_path)).steps.period == "beps10"  # no BEPS: as before


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_config_is_refused_fast_naming_key_and_value(case, tmp_path):
    changes, must = CASES[case]
    path = write(tmp_path, changes)
    msg = refused(lambda: load_config(path), *must)
    assert msg.startswith(f"{path}: ")


def test_day_of_year_dates_and_toml_dates_are_accepted(tmp_path):
    cfg = load_config(write(tmp_path, {("inputs", "start"): "2012-001",
                                       ("inputs", "end"): "2012-121"}))
    # day 121 of 2012 (a leap year): 31 + 29 + 31 + 30 = 121, 30 April
    assert (cfg.inputs.start, cfg.inputs.end) == (date(2012, 1, 1), date(2012, 4, 30))
    cfg = load_config(write(tmp_path, {("inputs", "start"): Raw("2012-02-29")}))
    assert cfg.inputs.start == date(2012, 2, 29)


def test_the_real_configs_pass(tmp_path):
    """The demo, the China Albers 1 km year of the national-runs how-to (4300 x 5050 x 46
    dates, 2 workers of 1.5 GiB) and its 250 m grid with the default 4 GiB workers."""
    import re

    from modisoft.pipeline.limits import check_before_run

    demo = load_config(TILES / "demo.toml")
    assert check_before_run(demo).shape == (360, 600)
    doc = (ROOT / "docs" / "how-to" / "national-runs.md").read_text()
    text = re.findall(r"```toml\n(.*?)```", doc, re.S)[0]
    assert 'memory_limit = "1.5GiB"' in text and "years = [2012]" in text
    (tmp_path / "china.toml").write_text(text)
    assert load_config(tmp_path / "china.toml").grid.name == "china_albers_1km"
    (tmp_path / "c250.toml").write_text(text.replace("1km", "250m")
                                        .replace('memory_limit = "1.5GiB"', ""))
    assert load_config(tmp_path / "c250.toml").compute.memory_limit == "4GiB"
    # ... but 17,200 × 20,200 pixels of 5 bytes (1.6 GiB) do not fit in 1.5 GiB workers
    (tmp_path / "c250s.toml").write_text(text.replace("1km", "250m"))
    refused(lambda: load_config(tmp_path / "c250s.toml"), "20,200 × 17,200 pixels",
            "'1.5GiB'")


def test_the_copies_of_timeseries_names_agree_with_timeseries():
    from modisoft.pipeline.validate import PERIODS, SMOOTHER_PARAMS
    from modisoft.timeseries import METHODS, periods

    assert set(SMOOTHER_PARAMS) == set(METHODS)
    for kind in (*PERIODS, "8day", "1day"):
        assert periods(kind, date(2012, 1, 1), date(2012, 12, 31))


# --------------------------------------------------------------- checked by run() up front
def run_refused(tmp: Path, changes: dict | None = None, *must: str, **kw) -> str:
    cfg = load_config(write(tmp, changes))
    msg = refused(lambda: run(cfg, progress=False, echo=lambda _m: None, **kw), *must)
    assert not (tmp / "out").exists()  # nothing was made
    return msg


def test_an_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    cfg = load_config(write(tmp_path))
    msg = refused(lambda: run(cfg, progress=False, echo=lambda _m: None),
                  "[output] dir 'out'", "is a file, not a folder")
    assert str(tmp_path / "out") in msg


def test_an_output_dir_below_a_file(tmp_path):
    (tmp_path / "afile").write_text("")
    run_refused(tmp_path, {("output", "dir"): "afile/out"}, "[output] dir 'afile/out'",
                f"{tmp_path / 'afile'} is a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write in any folder")
def test_an_unwritable_output_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        run_refused(tmp_path, {("output", "dir"): "ro/out"}, "[output] dir 'ro/out'",
                    f"cannot write in {ro}")
    finally:
        ro.chmod(0o755)


def test_an_unwritable_output_folder_as_os_access_says(tmp_path, monkeypatch):
    (tmp_path / "ro").mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path / "ro"
                        else real(p, mode))
    run_refused(tmp_path, {("output", "dir"): "ro/out"}, "[output] dir 'ro/out'",
                f"cannot write in {tmp_path / 'ro'}")


def test_inputs_that_match_nothing_are_all_named(tmp_path):
    msg = run_refused(tmp_path, {("inputs", "paths"): ["nowhere", "gone/*.hdf"]},
                      "[inputs] paths", "'nowhere'", "'gone/*.hdf'",
                      "none of the 2 paths matches anything")
    assert str(tmp_path / "gone" / "*.hdf") in msg


def test_a_partly_missing_input_list_names_the_missing_one(tmp_path):
    msg = run_refused(tmp_path, {("inputs", "paths"): [str(TILES), "nowhere"]},
                      "[inputs] paths", "nothing matches 'nowhere'", "1 of 2 paths")
    assert repr(str(TILES)) not in msg


def test_run_overrides_are_checked_like_the_config(tmp_path):
    run_refused(tmp_path, None, "workers (--workers)", "-1", ">= 0", workers=-1)
    run_refused(tmp_path, None, "memory_limit (--memory-limit)", "'100MiB'", "512 MiB",
                memory_limit="100MiB")
    run_refused(tmp_path, WIDE, "--memory-limit '600MiB'", "20,000 × 20,000 pixels",
                workers=1, memory_limit="600MiB")


def test_a_synchronous_run_over_theavailable_memory(tmp_path, monkeypatch):
    import modisoft.pipeline.limits as limits

    monkeypatch.setattr(limits, "available_memory", lambda: 600 * 2**20)
    run_refused(tmp_path, WIDE, "20,000 × 20,000 pixels", "available memory", "600.0 MiB")


def test_min_obs_over_the_dates_found(tmp_path):
    # the sample tiles hold 16 dates between 1 January and 30 April 2012
    run_refused(tmp_path, {("steps", "smoother"): "whittaker", ("steps", "min_obs"): 17},
                "[steps] min_obs 17", "16 dates")


def test_a_disk_too_small_for_the_run(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=1024))
    run_refused(tmp_path, None, "[output] dir 'out'", "1.0 KiB free", "16 dates")


# ------------------------------------------------------------------------ the command line
def cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "modisoft", "run", *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    return res, time.perf_counter() - t0


def test_the_cli_fails_with_one_line_and_exit_code_2(tmp_path):
    write(tmp_path, {("grid", "resolution"): 0.001}, "bad.toml")
    res, _elapsed = cli("bad.toml", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert line.startswith("modisoft: error: bad.toml: [grid] resolution 0.001")
    assert "Traceback" not in res.stderr
    # nothing was made (the interpreter's start-up is not the check's time: the in-process
    # tests above time the checks themselves)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.mark.parametrize(("args", "must"), [
    (["--workers", "-1"], "-1"),
    (["--memory-limit", "1MiB"], "'1MiB'"),
    (["--memory-limit", "1MiB", "--dry-run"], "'1MiB'"),
])
def test_the_cli_overrides_fail_with_one_line_and_exit_code_2(tmp_path, args, must):
    write(tmp_path)
    res, _elapsed = cli("run.toml", *args, cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert line.startswith("modisoft: error: ") and must in line
    assert not (tmp_path / "out").exists()
