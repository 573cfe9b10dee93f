"""modisoft: satellite granules (MODIS, VIIRS, AVHRR) to leaf area index maps for carbon models.

The public API is re-exported here; see ``docs/`` and ``../shared/design/ARCHITECTURE.md``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from modisoft.catalog import Granule, parse_filename
from modisoft.decode import decode, decode_values, fill_class_codes
from modisoft.errors import (
    GranuleReadError,
    IdentityMismatchWarning,
    MetadataError,
    ModisoftError,
    NotHDFError,
    UnknownLayerError,
    UnknownProductWarning,
)
from modisoft.grids import Grid, modis_tile_grid, modis_tile_of_grid, sinusoidal_crs
from modisoft.io.granule import GranuleInfo, inspect_granule, open_granule
from modisoft.products import all_products, find_product, get_product

__all__ = [
    "__version__",
    "Grid",
    "modis_tile_grid",
    "modis_tile_of_grid",
    "sinusoidal_crs",
    "Granule",
    "parse_filename",
    "GranuleInfo",
    "inspect_granule",
    "open_granule",
    "decode",
    "decode_values",
    "fill_class_codes",
    "all_products",
    "find_product",
    "get_product",
    "ModisoftError",
    "GranuleReadError",
    "NotHDFError",
    "MetadataError",
    "UnknownLayerError",
    "UnknownProductWarning",
    "IdentityMismatchWarning",
]
