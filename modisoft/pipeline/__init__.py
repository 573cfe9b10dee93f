"""The national run: a TOML config → discover granules → QA → mosaic → composite/smooth → LAI
→ Zarr / NetCDF / COG / BEPS with provenance, resumable, on a dask cluster.  LAI comes from an
LAI product (``[steps] lai = "product"``) or is retrieved from reflectance (``"retrieve"``,
:mod:`modisoft.pipeline.retrieve`).

:func:`load_config` reads and checks a config; :func:`run` executes it; :func:`discover` lists
the granules a config selects and what is missing.
"""

from modisoft.pipeline.config import ConfigError, LaiConfig, RunConfig, load_config
from modisoft.pipeline.discover import Inventory, discover, expected_dates
from modisoft.pipeline.manifest import Manifest
from modisoft.pipeline.run import RunSummary, build_output, dominant_fill_class, resolve_grid, run

__all__ = ["ConfigError", "Inventory", "LaiConfig", "Manifest", "RunConfig", "RunSummary",
           "build_output", "discover", "dominant_fill_class", "expected_dates", "load_config",
           "resolve_grid", "run"]
