"""The output folder: one holder at a time (named when refused), a lock freed by a killed
holder, leftover temporaries removed, no writing through a link out of the folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from modisoft.errors import OutputError, OutputInUseError, UnsafeOutputPathError
from modisoft.write._common import temp_sibling
from modisoft.write.folder import claim_output_dir, leftover_temporaries, output_subdir

HOLD = """
import sys, time
from modisoft.write.folder import claim_output_dir
with claim_output_dir(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def _holder(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_claim_is_refused_naming_the_holder_and_a_killed_holder_frees_it(tmp_path):
    out = tmp_path / "out"
    proc = _holder(out)
    try:
        with pytest.raises(OutputInUseError, match=rf"another modisoft run.*pid {proc.pid}") \
                as err, claim_output_dir(out):
            pass
        assert str(out) in str(err.value) and err.value.exit_code == 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    t0 = time.perf_counter()
    with claim_output_dir(out) as stale:  # no waiting, no --force: the OS freed the lock
        assert stale == []
    assert time.perf_counter() - t0 < 2


def test_leftover_temporaries_are_removed_and_finished_files_kept(tmp_path):
    out = tmp_path / "out"
    (out / "beps").mkdir(parents=True)
    keep = [out / "lai.nc", out / "beps" / "lai.001"]
    for p in keep:
        p.write_bytes(b"x")
    tmp_file = temp_sibling(out / "beps" / "lai.002")
    tmp_file.write_bytes(b"partial")
    tmp_store = temp_sibling(out / "lai.zarr")
    (tmp_store / "lai").mkdir(parents=True)
    assert leftover_temporaries(out) == sorted([tmp_file, tmp_store])
    with claim_output_dir(out) as stale:
        assert sorted(stale) == sorted([tmp_file, tmp_store])
    assert not tmp_file.exists() and not tmp_store.exists()
    assert all(p.exists() for p in keep)


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "cog").symlink_to(elsewhere)
    with pytest.raises(UnsafeOutputPathError, match="outside the output folder") as err:
        output_subdir(out, "cog")
    assert str(out / "cog") in str(err.value) and err.value.exit_code == 2
    assert output_subdir(out, "beps") == out / "beps" and (out / "beps").is_dir()
    (out / "quicklooks").write_text("a file")
    with pytest.raises(UnsafeOutputPathError, match="is a file"):
        output_subdir(out, "quicklooks")


def test_an_output_folder_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    with pytest.raises(OutputError, match="is a file"), claim_output_dir(f):
        pass
