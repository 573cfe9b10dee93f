"""Time series: compositing into model periods and smoothing (LACC, Whittaker, Savitzky–Golay).

Kernels (numpy and numba, many series at once): :func:`whittaker`, :func:`whittaker_vcurve`,
:func:`whittaker_asymmetric`, :func:`lacc`, :func:`savgol_chen2004`, :func:`composite_kernel`,
:func:`gap_days_kernel`.
xarray/dask edge: :func:`composite`, :func:`interleave`, :func:`smooth`, :func:`gap_days`
(how far each period lies from the nearest good observation); :func:`smooth_blocks` smooths a
large stack band by band in bounded memory.
"""

from modisoft.timeseries.api import (
    METHODS,
    acquisition_days,
    composite,
    daily_dates,
    gap_days,
    interleave,
    smooth,
)
from modisoft.timeseries.blocks import BLOCK_BUDGET, SmoothBlocks, block_rows, smooth_blocks
from modisoft.timeseries.composite import composite_kernel
from modisoft.timeseries.gaps import gap_days_kernel
from modisoft.timeseries.lacc import lacc
from modisoft.timeseries.periods import Period, periods
from modisoft.timeseries.savgol import savgol_chen2004
from modisoft.timeseries.whittaker import whittaker, whittaker_asymmetric, whittaker_vcurve

__all__ = ["BLOCK_BUDGET", "METHODS", "Period", "SmoothBlocks", "acquisition_days", "block_rows",
           "composite", "composite_kernel", "daily_dates", "gap_days", "gap_days_kernel",
           "interleave", "lacc", "periods", "savgol_chen2004", "smooth", "smooth_blocks",
           "whittaker", "whittaker_asymmetric", "whittaker_vcurve"]
