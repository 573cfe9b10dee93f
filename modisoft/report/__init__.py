"""The run report: ``report.html`` in a run's output folder, one self-contained page that says
whether the run's year is usable.

It shows the run in one paragraph (product, grid, dates and periods, steps, runtime, peak
memory, exit status); maps of every period and of the mean and maximum; the QA per date and
tile (good, cloudy, fill, not vegetated) and how much of each pixel's series was observed
rather than gap-filled; the missing and failed inputs; the time series at a few pixels (the
observations with their QA weights, the smoothed curve, the periods written); and the
provenance (configuration, software, inputs, output files with SHA-256).

A run writes it as its last step; :func:`write_report` (``modisoft report OUTPUT_DIR``)
rebuilds it from the folder alone (:func:`read_run`).
"""

from modisoft.report.page import build_report, write_report
from modisoft.report.record import MANIFEST_NAME, REPORT_NAME, RunRecord, read_run

__all__ = ["MANIFEST_NAME", "REPORT_NAME", "RunRecord", "build_report", "read_run",
           "write_report"]
