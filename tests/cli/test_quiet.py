"""Library noise stays off the terminal at the default level and goes to the run's log file
(run in a fresh interpreter: the terminal is its stderr, as for ``modisoft run``)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, sys, warnings
from pathlib import Path
from modisoft.cli.options import run_log, setup_logging
setup_logging(int(sys.argv[2]), False)
out = Path(sys.argv[1])
with run_log(lambda: out):
    if sys.argv[3] == "make":
        out.mkdir()
    warnings.warn("Consolidated metadata is not part of the spec", UserWarning, stacklevel=1)
    logging.getLogger("distributed.nanny").warning("Restarting worker")
    logging.getLogger("modisoft.pipeline").warning("a modisoft warning the user must see")
"""


def run(tmp_path, verbose: int, make: bool) -> str:
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "out"), str(verbose),
                          "make" if make else "no"], capture_output=True, text=True, check=True)
    return res.stderr


def test_library_warnings_go_to_the_log_file_not_the_terminal(tmp_path):
    err = run(tmp_path, 0, True)
    assert "Consolidated metadata" not in err and "Restarting worker" not in err
    assert "a modisoft warning the user must see" in err
    log = (tmp_path / "out" / "modisoft-run.log").read_text()
    assert "Consolidated metadata" in log and "Restarting worker" in log
    assert "a modisoft warning" in log


def test_verbose_shows_the_library_noise_and_no_folder_means_no_log(tmp_path):
    err = run(tmp_path, 1, False)
    assert "Restarting worker" in err and "Consolidated metadata" in err
    assert not (tmp_path / "out").exists()
