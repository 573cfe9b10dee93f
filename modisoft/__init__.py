"""modisoft: satellite granules (MODIS, VIIRS, AVHRR) to leaf area index maps for carbon models.

The whole public API is here, in the order of the flow (``ARCHITECTURE.md``)::

    open_granule ─► decode ─► qa_mask / qa_weights ─► mosaic ─► composite / smooth
        ─► product_lai / retrieve_lai ─► write_zarr / write_netcdf / write_cog / write_beps

and the national run that chains them from a TOML file: ``run(load_config(path))``, which ends
with ``report.html`` (:func:`write_report` rebuilds it from an output folder).  Every
error is a :class:`ModisoftError` that is also the builtin a caller would catch
(``ConfigError`` is a ``ValueError``, ``GranuleReadError`` an ``OSError``, …).

The reading side and the errors are imported with the package; the later stages (``mosaic``,
``run``, the writers, …) on first use, so ``import modisoft`` and the command line stay quick.

Examples
--------
>>> import modisoft
>>> grid = modisoft.modis_tile_grid(17, 3)
>>> grid.shape
(1200, 1200)
>>> modisoft.parse_filename("MCD15A2H.A2012161.h17v03.006.2015246143004.hdf").tile
(17, 3)
"""

from __future__ import annotations

import importlib
from typing import Any

from modisoft import errors
from modisoft._version import __version__
from modisoft.catalog import Granule, find_files, find_granules, parse_filename
from modisoft.decode import check_plausible, decode, decode_values, fill_class_codes
from modisoft.errors import *  # noqa: F403  (the whole error tree, see errors.__all__)
from modisoft.grids import (
    Grid,
    grid_from_bounds,
    grid_like,
    modis_tile_grid,
    modis_tile_of_grid,
    modis_tile_of_lonlat,
    modis_tiles_covering,
    national_grid,
    sinusoidal_crs,
)
from modisoft.io.granule import GranuleInfo, inspect_granule, open_granule
from modisoft.products import all_products, find_product, get_product

#: Later stages, imported on first use: public name -> module that defines it.
_LAZY: dict[str, str] = {
    # QA
    "qa_mask": "modisoft.qa",
    "qa_weights": "modisoft.qa",
    "decode_qa": "modisoft.qa",
    "qa_summary": "modisoft.qa",
    # reprojection and mosaicking
    "mosaic": "modisoft.warp",
    "reproject": "modisoft.warp",
    "resample_swath": "modisoft.warp",
    "ResamplePlan": "modisoft.warp",
    # time series
    "composite": "modisoft.timeseries",
    "smooth": "modisoft.timeseries",
    "gap_days": "modisoft.timeseries",
    # LAI
    "product_lai": "modisoft.lai",
    "product_lai_stack": "modisoft.lai",
    "retrieve_lai": "modisoft.lai",
    "spectral_index": "modisoft.lai",
    "calibrate": "modisoft.lai",
    "default_params": "modisoft.lai",
    "fit_relation": "modisoft.lai",
    "apply_relation": "modisoft.lai",
    "invert_relation": "modisoft.lai",
    "relation_record": "modisoft.lai",
    # writers
    "write_zarr": "modisoft.write",
    "write_netcdf": "modisoft.write",
    "write_cog": "modisoft.write",
    "write_beps": "modisoft.write",
    "Provenance": "modisoft.write",
    # quicklooks
    "plot_map": "modisoft.plot",
    "plot_series": "modisoft.plot",
    # the national run
    "load_config": "modisoft.pipeline",
    "run": "modisoft.pipeline",
    "RunConfig": "modisoft.pipeline",
    "RunSummary": "modisoft.pipeline",
    "make_record": "modisoft.pipeline",
    "RecordResult": "modisoft.pipeline",
    "write_report": "modisoft.report",
}

__all__ = [
    "__version__",
    # grids
    "Grid",
    "grid_from_bounds",
    "grid_like",
    "national_grid",
    "modis_tile_grid",
    "modis_tile_of_grid",
    "modis_tile_of_lonlat",
    "modis_tiles_covering",
    "sinusoidal_crs",
    # products and granules
    "all_products",
    "find_product",
    "get_product",
    "Granule",
    "parse_filename",
    "find_files",
    "find_granules",
    "GranuleInfo",
    "inspect_granule",
    "open_granule",
    "decode",
    "decode_values",
    "fill_class_codes",
    "check_plausible",
    # later stages (lazy)
    *_LAZY,
    # errors and warnings
    *errors.__all__,
]


def __getattr__(name: str) -> Any:
    """Import a later stage's public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modisoft' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
