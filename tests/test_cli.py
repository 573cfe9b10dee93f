"""`modisoft info` on every sample file, JSON output, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from conftest import SAMPLE_DIR, sample

from modisoft.cli import main


def test_info_on_every_sample_file():
    files = sorted(str(p) for p in SAMPLE_DIR.iterdir() if p.is_file())
    assert len(files) >= 90
    result = CliRunner().invoke(main, ["info", "--json", *files])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert len(entries) == len(files)
    by_status = {}
    for e in entries:
        by_status.setdefault(e["status"], []).append(e["path"])
    assert "error" not in by_status
    hdf = [e for e in entries if e["path"].endswith((".hdf", ".h5"))]
    assert hdf and all(e["status"] == "ok" and e["registered"] for e in hdf)
    nc = [e for e in entries if e["path"].endswith(".nc")]
    assert len(nc) == 3 and all(e["status"] == "ok" for e in nc)
    partial = {p.rsplit("/", 1)[-1] for p in by_status["partial"]}
    assert partial == {"NSS.GHRR.TN.D80003.S1147.E1332.B0630506.GC"}  # header only: needs pygac
    assert all(e.get("notes") for e in entries if e["status"] == "partial")
    skipped = {p.rsplit("/", 1)[-1] for p in by_status["skipped"]}
    assert all(name.endswith((".md", ".csv")) for name in skipped)


def test_info_text_output():
    path = sample("MCD15A2.A2012001.h17v03.005.2012017211237.hdf")
    result = CliRunner().invoke(main, ["info", str(path)])
    assert result.exit_code == 0
    out = result.output
    assert "MCD15A2 collection 005" in out and "h17v03" in out and "2012-01-01" in out
    assert "MODIS Sinusoidal; sphere R=6371007.181 m" in out
    assert "UL (-1111950.519667, 6671703.118000)" in out
    assert "classes 249=unclassified 250=urban" in out and "254=water" in out


def test_info_json_grid_and_layers():
    path = sample("MOD09GA.A2008296.h14v17.006.2015181011753.hdf")
    (entry,) = json.loads(CliRunner().invoke(main, ["info", "--json", str(path)]).stdout)
    assert [g["key"] for g in entry["grids"]] == ["1km", "500m"]
    layers = {lyr["name"]: lyr for g in entry["grids"] for lyr in g["layers"]}
    assert layers["sur_refl_b01_1"]["unpacking"] == "divide"
    assert layers["QC_500m_1"]["fill_values"] == [787410671]
    assert "sur_refl_b01_c" in entry["non_grid_layers"]


def test_bad_files_exit_nonzero_with_clear_messages(tmp_path):
    empty = tmp_path / "MOD13A2.A2025001.h18v09.061.2025022080611.hdf"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.hdf"
    junk.write_bytes(b"\x00\x01garbage" * 10)
    good = sample("MOD11A1.hdf")
    result = CliRunner().invoke(main, ["info", str(empty), str(junk), str(good)])
    assert result.exit_code == 1
    assert "empty (0 bytes)" in result.output
    assert "ERROR" in result.output and "MOD11A1 collection 006" in result.output
    assert "not a recognised granule format" in result.output


def test_cli_entry_point_and_quiet_flag(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "modisoft.cli",
            "-q",
            "info",
            "--json",
            str(sample("MOD11B2.A2017001.h14v04.006.2017013155631.hdf")),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)[0]["grids"][0]["shape"] == [200, 200]
    bad = subprocess.run(
        [sys.executable, "-m", "modisoft.cli", "info", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "no such file" in bad.stdout
