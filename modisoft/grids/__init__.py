"""Grids: the immutable :class:`Grid`, the MODIS sinusoidal tiling and named national grids.

This package imports nothing above it: :mod:`~modisoft.grids.core` (``Grid`` and grids from
bounds or a template), :mod:`~modisoft.grids.modis` (the sphere, tiles), :mod:`~modisoft.grids.
national` (China Albers and the China tile sets) and :mod:`~modisoft.grids.geometry` (the small
planar ring kernels the tiling and the warp share).
"""

from modisoft.grids.core import Grid, grid_from_bounds, grid_like
from modisoft.grids.modis import (
    MODIS_SPHERE_RADIUS,
    MODIS_TILE_PIXELS,
    MODIS_TILE_SIZE,
    MODIS_X0,
    MODIS_Y0,
    modis_tile_grid,
    modis_tile_of_grid,
    modis_tile_of_lonlat,
    modis_tiles_covering,
    sinusoidal_crs,
)
from modisoft.grids.national import (
    CHINA_ALBERS_BOUNDS,
    CHINA_ALBERS_PROJ,
    CHINA_TILE_PRESETS,
    NATIONAL_GRIDS,
    china_albers_crs,
    national_grid,
    tile_ids,
)

__all__ = [
    "Grid",
    "MODIS_SPHERE_RADIUS",
    "MODIS_TILE_SIZE",
    "MODIS_X0",
    "MODIS_Y0",
    "MODIS_TILE_PIXELS",
    "sinusoidal_crs",
    "modis_tile_grid",
    "modis_tile_of_grid",
    "modis_tile_of_lonlat",
    "modis_tiles_covering",
    "CHINA_TILE_PRESETS",
    "CHINA_ALBERS_PROJ",
    "CHINA_ALBERS_BOUNDS",
    "NATIONAL_GRIDS",
    "china_albers_crs",
    "national_grid",
    "grid_from_bounds",
    "grid_like",
    "tile_ids",
]
