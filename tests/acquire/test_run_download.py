"""``modisoft search`` on a replayed China year, and a run with ``[inputs] download = true``
against the local archive stand-in (``tests/archive_server.py``): it downloads, verifies and
produces the same outputs as a run over the same files copied by hand.

The served granules are **synthetic** (``benchmarks/china_synth.py``: real MCD15A2 pixels
re-labelled as MCD15A2H collection 061 tiles of China, each file saying so); the listing of
a China year carries sizes and checksums only (it is never downloaded)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from archive_server import Archive, Entry
from click.testing import CliRunner

from modisoft.acquire import make_query
from modisoft.cli import main
from modisoft.pipeline import load_config, run

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("acquire/test_run_download")

ROOT = Path(__file__).resolve().parents[2]
TILES = [(25, 5), (26, 5)]

CONFIG = """
[inputs]
paths = ["{inputs}"]
product = "MCD15A2H"
start = "2012-01-01"
end = "2012-01-16"
tiles = ["h25v05", "h26v05"]
{download}

[grid]
crs = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=krass +units=m +no_defs"
resolution = 10000
bounds = [-2300000, 3300000, 0, 4500000]

[steps]
qa_rule = "none"
resampling = "average"
period = "beps10"
reducer = "max"

[output]
dir = "{out}"
formats = ["zarr"]
chunk = 64
report = false

[compute]
workers = 0
"""


def _synth():
    if "china_synth" in sys.modules:
        return sys.modules["china_synth"]
    spec = importlib.util.spec_from_file_location("china_synth",
                                                  ROOT / "benchmarks" / "china_synth.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["china_synth"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def synthetic_061(tmp_path_factory) -> list[Path]:
    """4 synthetic MCD15A2H 061 granules: 2 tiles of China x the first 2 dates of 2012."""
    out = tmp_path_factory.mktemp("synth061")
    return _synth().generate(out, tiles=TILES, dates=2, collection="061").paths


def test_search_lists_a_china_year_from_replayed_pages():
    tiles = make_query("MOD15A2H", grid="china_albers_1km", years=[2020]).tiles
    entries = [Entry(f"MOD15A2H.A2020{d:03d}.{t}.061.2021010040310.hdf",
                     size=6_000_000 + d, checksum=f"{d:032x}")
               for d in range(1, 366, 8) for t in tiles]
    entries += [Entry(f"MOD15A2H.A2019361.{t}.061.2020003040310.hdf", size=1) for t in tiles]
    with Archive(entries) as a:
        res = CliRunner().invoke(main, ["search", "--grid", "china_albers_1km", "--product",
                                        "MOD15A2H", "--years", "2020", "--cmr-url",
                                        a.cmr_url])
        js = CliRunner().invoke(main, ["search", "--grid", "china_albers_1km", "-p",
                                       "MOD15A2H", "--years", "2020", "--cmr-url", a.cmr_url,
                                       "--json"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 22 * 46 + 1  # the 2019 composite overlapping 1 January is left out
    assert lines[-1].startswith("1012 granule(s) of MOD15A2H 061, 2020-01-01..2020-12-31: "
                                "22 tile(s) x 46 date(s)")
    rows = json.loads(js.output)
    assert len(rows) == 1012 and {r["algorithm"] for r in rows} == {"MD5"}
    assert sorted({r["tile"] for r in rows}) == sorted(tiles)


def test_a_run_that_downloads_equals_a_run_over_files_copied_by_hand(synthetic_061, tmp_path):
    entries = [Entry(p.name, p.read_bytes()) for p in synthetic_061]
    by_hand = tmp_path / "by_hand"
    by_hand.mkdir()
    for p in synthetic_061:
        shutil.copy(p, by_hand / p.name)
    with Archive(entries) as a:
        dl = tmp_path / "dl.toml"
        dl.write_text(CONFIG.format(inputs=tmp_path / "downloads", out=tmp_path / "out_dl",
                                    download=f'download = true\ncmr_url = "{a.cmr_url}"'))
        got = run(load_config(dl), progress=False, echo=lambda m: None)
        sent = a.sent
        again = run(load_config(dl), progress=False, echo=lambda m: None)  # all present
        assert a.sent == sent
    assert got.exit_code == 0 and again.exit_code == 0
    assert sent == sum(p.stat().st_size for p in synthetic_061)
    hand = tmp_path / "hand.toml"
    hand.write_text(CONFIG.format(inputs=by_hand, out=tmp_path / "out_hand", download=""))
    ref = run(load_config(hand), progress=False, echo=lambda m: None)
    assert ref.exit_code == 0
    with xr.open_zarr(tmp_path / "out_dl" / "lai.zarr") as a, \
            xr.open_zarr(tmp_path / "out_hand" / "lai.zarr") as b:
        assert np.isfinite(a.lai.values).sum() > 1000
        np.testing.assert_array_equal(a.lai.values, b.lai.values)
        prov = json.loads(a.attrs["modisoft_provenance"])
    ids = {g["granule_id"]: g.get("cmr", {}).get("concept_id") for g in prov["granules"]}
    assert len(ids) == 4 and all(v and v.endswith("-TESTDAAC") for v in ids.values())


def test_a_granule_that_cannot_be_downloaded_makes_the_run_incomplete(synthetic_061,
                                                                     tmp_path):
    entries = [Entry(p.name, p.read_bytes()) for p in synthetic_061]
    entries[0].checksum = "0" * 32  # the archive's file never matches its checksum
    with Archive(entries) as a:
        cfg = tmp_path / "dl.toml"
        cfg.write_text(CONFIG.format(inputs=tmp_path / "downloads", out=tmp_path / "out",
                                     download=f'download = true\ncmr_url = "{a.cmr_url}"'))
        res = CliRunner().invoke(main, ["run", str(cfg)])
    assert res.exit_code == 3, res.output
    assert entries[0].name in res.output and "download failed" in res.output


def test_a_downloaded_granule_damaged_before_the_run_is_caught_at_verification(
        synthetic_061, tmp_path):
    entries = [Entry(p.name, p.read_bytes()) for p in synthetic_061]
    with Archive(entries) as a:
        cfg = tmp_path / "dl.toml"
        cfg.write_text(CONFIG.format(inputs=tmp_path / "downloads", out=tmp_path / "out",
                                     download=f'download = true\ncmr_url = "{a.cmr_url}"'))
        run(load_config(cfg), progress=False, echo=lambda m: None)
        # bit rot after the download: same size, same modification time, one byte flipped
        victim = tmp_path / "downloads" / synthetic_061[1].name
        st = victim.stat()
        data = bytearray(victim.read_bytes())
        data[len(data) // 3] ^= 0x01
        victim.write_bytes(bytes(data))
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
        cfg2 = tmp_path / "offline.toml"  # an offline run over the same folder
        cfg2.write_text(CONFIG.format(inputs=tmp_path / "downloads", out=tmp_path / "out2",
                                      download=""))
        res = CliRunner().invoke(main, ["run", str(cfg2)])
    assert res.exit_code == 3, res.output
    assert victim.name in res.output
    man = json.loads((tmp_path / "out2" / "modisoft-run.json").read_text())
    assert "checksum" in json.dumps(man["failures"]) and "differs from the archive" in \
        json.dumps(man["failures"])


def test_where_the_inputs_came_from_is_not_part_of_the_config_digest(tmp_path):
    """Downloading the same files does not change the outputs: a folder made offline is
    resumed, not refused as another configuration's."""
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(CONFIG.format(inputs=tmp_path, out=tmp_path / "out", download=""))
    b.write_text(CONFIG.format(inputs=tmp_path, out=tmp_path / "out", download=(
        'download = true\ncmr_url = "http://127.0.0.1:9/search/"')))
    ca, cb = load_config(a), load_config(b)
    assert (ca.inputs.download, cb.inputs.download) == (False, True)
    assert ca.digest() == cb.digest()
