"""Grids: the immutable :class:`Grid`, the MODIS sinusoidal tiling and named national grids.

This package imports nothing above it: :mod:`~modisoft.grids.core` (``Grid`` and grids from
bounds or a template), :mod:`~modisoft.grids.modis` (the sphere, tiles), :mod:`~modisoft.grids.
national` (China Albers and the China tile sets) and :mod:`~modisoft.grids.geometry` (the small
planar ring kernels the tiling and the warp share).
"""

from modisoft.grids import core, modis, national
from modisoft.grids.core import *  # noqa: F403  (each module's __all__ is its public API)
from modisoft.grids.modis import *  # noqa: F403
from modisoft.grids.national import *  # noqa: F403

__all__ = [*core.__all__, *modis.__all__, *national.__all__]
