"""Reprojection and mosaicking: resample plans computed once, one dask task per output chunk.

* :class:`ResamplePlan`: source grid -> destination grid for one method, cached in memory and
  on disk, exact against GDAL's warper (``gdalwarp -et 0``).
* :func:`mosaic` / :func:`reproject`: lazy mosaics of ``(y, x)`` or ``(time, y, x)`` sources.
* :class:`SwathPlan` / :func:`resample_swath`: swaths (lat/lon) onto a grid.
* :func:`check_method`: the resampling policy (categorical layers, downsampling).
"""

from modisoft.catalog import find_granules  # re-exported: mosaic's usual first step
from modisoft.warp.kernels import ValidRule
from modisoft.warp.mosaic import MosaicError, mosaic, reproject
from modisoft.warp.plan import ResamplePlan, clear_plan_memory
from modisoft.warp.policy import FUSE_RULES, METHODS, ResamplingPolicyError, check_method
from modisoft.warp.sources import open_stacks, select_granules
from modisoft.warp.swath import SwathPlan, resample_swath

__all__ = [
    "ResamplePlan",
    "clear_plan_memory",
    "mosaic",
    "reproject",
    "MosaicError",
    "ValidRule",
    "SwathPlan",
    "resample_swath",
    "check_method",
    "ResamplingPolicyError",
    "METHODS",
    "FUSE_RULES",
    "find_granules",
    "select_granules",
    "open_stacks",
]
