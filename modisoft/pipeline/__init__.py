"""The national run: a TOML config → discover granules → QA → mosaic → composite/smooth → LAI
→ Zarr / NetCDF / COG / BEPS with provenance, resumable, on a dask cluster.  LAI comes from an
LAI product (``[steps] lai = "product"``) or is retrieved from reflectance (``"retrieve"``,
:mod:`modisoft.pipeline.lai`).

One module per stage, in the order data flows: ``config`` (and ``schema``) → ``inventory`` →
``inputs`` → ``qa`` → ``mosaic`` → ``series`` → ``lai`` → ``outputs``; ``staging`` and
``execute`` build and run the tasks, ``run`` sequences them, and ``summary`` ends a run with its
summary and ``report.html``; ``plan`` says beforehand what a run will do.  No module imports a
later one.

:func:`load_config` reads and checks a config; :func:`run` executes it; :func:`discover` lists
the granules a config selects and what is missing; :func:`plan_run` gives a run's pieces,
tasks, memory and estimated time without running it; :func:`make_record` joins several
sensors' runs into one long record (``record_config`` and ``record``, after ``run``).
"""

from modisoft.pipeline.config import ConfigError, LaiConfig, RunConfig, load_config, resolve_grid
from modisoft.pipeline.inventory import Inventory, discover, expected_dates
from modisoft.pipeline.manifest import Manifest
from modisoft.pipeline.mosaic import dominant_fill_class
from modisoft.pipeline.plan import RunPlan, plan_run
from modisoft.pipeline.record import RecordResult, load_record_config, make_record
from modisoft.pipeline.run import run
from modisoft.pipeline.series import build_output
from modisoft.pipeline.summary import RunSummary

__all__ = ["ConfigError", "Inventory", "LaiConfig", "Manifest", "RunConfig", "RunPlan",
           "RunSummary", "build_output", "discover", "dominant_fill_class", "expected_dates",
           "load_config", "load_record_config", "make_record", "plan_run", "RecordResult",
           "resolve_grid", "run"]
