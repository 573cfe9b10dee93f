"""``modisoft run`` as a user runs it (a subprocess): what each exit status means, failed
granules recorded and retried when replaced, one run per output folder, a changed config
refused, the LAI guard, and Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pipeline.test_run import TILES, tree_digest, write_config

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
FMTS = '["zarr", "beps"]'


def modisoft(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modisoft", *args], capture_output=True,
                          text=True, env=ENV, timeout=timeout)


def setup(tmp: Path, *, workers: int = 0, n: int | None = None) -> tuple[Path, Path]:
    """A copy of the sample granules (all 16 dates x 2 tiles, or the first ``n``) and a
    small run config over them."""
    d = tmp / "in"
    d.mkdir()
    for f in sorted(TILES.glob("MCD15A2.A2012*.hdf"))[:n]:
        shutil.copy(f, d / f.name)
    cfg = write_config(tmp, workers=workers, formats=FMTS)
    cfg.write_text(cfg.read_text().replace(f'"{TILES}"', f'"{d}"'))
    return cfg, d


def assert_no_traceback(res: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in res.stdout + res.stderr, res.stderr


def test_a_complete_run_exits_0(tmp_path):
    cfg, _ = setup(tmp_path)
    res = modisoft("run", str(cfg), "-q")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""


def test_a_failed_granule_exits_3_is_kept_out_and_retried_once_replaced(tmp_path):
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    ref_cfg, _ = setup(ref_dir)
    assert modisoft("run", str(ref_cfg), "-q").returncode == 0
    cfg, d = setup(tmp_path)
    bad = sorted(d.iterdir())[4]  # 2012-017 h17v03
    original = bad.read_bytes()
    bad.write_bytes(original[: len(original) // 3])  # a download cut short
    res = modisoft("run", str(cfg))
    assert res.returncode == 3, res.stderr
    assert_no_traceback(res)
    assert f"modisoft: incomplete: 1 granule(s) failed and were left out: {bad.name}" \
        in res.stderr
    assert "1 tile-date(s) without a usable granule" in res.stderr
    manifest = json.loads((tmp_path / "out" / "modisoft-run.json").read_text())
    assert [(f["file"], f["stage"]) for f in manifest["failures"]] == [(str(bad), "open")]
    prov = json.loads((tmp_path / "out" / "beps" / "lai.001.json").read_text())
    assert prov["extra"]["missing_inputs"] == {"dates": [], "tiles": {"2012-01-17": ["h17v03"]}}
    # rerun, file unchanged: still failed, not read again, still 3
    res = modisoft("run", str(cfg))
    assert res.returncode == 3 and "verifying" not in res.stdout
    assert f"skipping {bad.name} (open, unchanged since the last run): " in res.stdout
    assert bad.name in res.stderr
    # the user downloads it again: verified again, everything recomputed, same as a clean run
    bad.write_bytes(original)
    res = modisoft("run", str(cfg))
    assert res.returncode == 0, res.stderr
    assert "verifying 1 granule(s)" in res.stdout
    assert "the usable inputs changed since the last run" in res.stdout
    assert tree_digest(tmp_path / "out") == tree_digest(ref_dir / "out") or \
        _same_but_paths(tmp_path / "out", ref_dir / "out", str(tmp_path), str(ref_dir))


def _same_but_paths(a: Path, b: Path, pa: str, pb: str) -> bool:
    """Equal files, once the two runs' own folders are named alike (provenance records
    paths)."""
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert fa == fb
    for rel in fa:
        if rel.name in ("modisoft-run.json", "report.html"):  # how each execution went
            continue
        x, y = (a / rel).read_bytes(), (b / rel).read_bytes()
        if x != y:
            assert x.replace(pa.encode(), b"@") == y.replace(pb.encode(), b"@"), rel
    return True


def test_missing_dates_exit_3_and_no_readable_granule_exits_1(tmp_path):
    cfg, d = setup(tmp_path, n=6)  # the config asks for January to April: dates missing
    res = modisoft("run", str(cfg), "-q")
    assert res.returncode == 3
    # 3 dates x 2 tiles of the 16 8-day dates from 2012-01-01 to 2012-04-30: 13 missing
    assert ("modisoft: incomplete: 13 date(s) without any usable granule: 2012-01-25, "
            "2012-02-02, 2012-02-10, 2012-02-18, 2012-02-26 ...") in res.stderr
    for f in d.iterdir():
        f.write_bytes(b"\0" * 1000)
    res = modisoft("run", str(cfg), "-q")
    assert res.returncode == 1
    assert_no_traceback(res)
    assert res.stderr.strip().splitlines()[-1] == \
        "modisoft: error: [inputs] none of the 6 granule(s) could be read; see the failures above"


def test_one_run_per_output_folder(tmp_path):
    cfg, _ = setup(tmp_path, n=2)
    out = tmp_path / "out"
    hold = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom modisoft.write.folder import "
         "claim_output_dir\nwith claim_output_dir(sys.argv[1]):\n    print('held', "
         "flush=True)\n    time.sleep(120)", str(out)], stdout=subprocess.PIPE, text=True,
        env=ENV)
    try:
        assert hold.stdout.readline().strip() == "held"
        res = modisoft("run", str(cfg), "-q")
        assert res.returncode == 2
        assert_no_traceback(res)
        assert f"another modisoft run is writing here (pid {hold.pid}" in res.stderr
    finally:
        os.kill(hold.pid, signal.SIGKILL)
        hold.wait()
    assert modisoft("run", str(cfg), "-q").returncode == 3  # a killed holder's lock is free


def test_another_config_on_the_same_folder_needs_force(tmp_path):
    cfg, _ = setup(tmp_path)
    assert modisoft("run", str(cfg), "-q").returncode == 0
    cfg.write_text(cfg.read_text().replace('smoother = "none"', 'smoother = "lacc"'))
    res = modisoft("run", str(cfg))
    assert res.returncode == 2
    assert_no_traceback(res)
    assert "holds the outputs of another configuration (changed: steps.smoother)" in res.stderr
    res = modisoft("run", str(cfg), "--force")
    assert res.returncode == 0, res.stderr
    assert "--force: replacing the outputs of another configuration" in res.stdout
    # every stage shows progress (a bar on a terminal; its label in a pipe)
    labels = [line for line in res.stdout.splitlines() if line in ("mosaic dates", "pieces",
                                                                    "outputs")]
    assert labels == ["mosaic dates", "pieces", "outputs"], res.stdout


def test_a_link_out_of_the_output_folder_is_not_followed(tmp_path):
    cfg, _ = setup(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "beps").symlink_to(elsewhere)
    res = modisoft("run", str(cfg), "-q")
    assert res.returncode == 2
    assert_no_traceback(res)
    assert "is a link to" in res.stderr and "outside the output folder" in res.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_prints_one_line_exits_130_and_the_rerun_resumes(tmp_path):
    cfg, _ = setup(tmp_path, workers=2)
    manifest = tmp_path / "out" / "modisoft-run.json"
    proc = subprocess.Popen([sys.executable, "-m", "modisoft", "run", str(cfg), "-q"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        if manifest.exists() and any(k.startswith("stage:") for k in
                                     json.loads(manifest.read_text()).get("done", [])):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["modisoft: interrupted; rerun the same command to "
                                        "resume"]
    done = json.loads(manifest.read_text())["done"]
    assert "zarr" not in done
    res = modisoft("run", str(cfg))
    assert res.returncode == 0, res.stderr
    assert "resuming" in res.stdout
