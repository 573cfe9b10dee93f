"""A worker task's library warnings go to the log, not to the terminal
(``modisoft.pipeline.memory.warnings_to_log``): the per-period outputs and the report run on a
worker of the run's own cluster, whose stderr is the user's terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_warning_in_the_block_is_a_log_record_and_prints_nothing():
    code = (
        "import logging, warnings\n"
        "import numpy as np\n"
        "from modisoft.pipeline.memory import warnings_to_log\n"
        "records = []\n"
        "h = logging.Handler(); h.emit = records.append\n"
        "logging.getLogger('py.warnings').addHandler(h)\n"
        "logging.getLogger('py.warnings').propagate = False\n"
        "with warnings_to_log():\n"
        "    np.nanmax(np.array([np.nan, np.nan]))\n"
        "print(len(records), 'All-NaN slice' in records[0].getMessage())\n"
        "with warnings.catch_warnings(record=True) as after:\n"
        "    warnings.simplefilter('always')\n"
        "    np.nanmax(np.array([np.nan]))\n"
        "print(len(after))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert res.stdout.split() == ["1", "True", "1"]  # logged in the block; a warning after it
