"""Smoothing a large stack band by band: :func:`smooth_blocks` gives the lazy full result (a
template for the writer) and computes it one band of rows at a time, so the memory a tile
needs does not grow with its size (:func:`block_rows`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from modisoft.errors import TimeSeriesError
from modisoft.timeseries.api import smooth

__all__ = ["BLOCK_BUDGET", "block_rows", "smooth_blocks", "SmoothBlocks"]

BLOCK_BUDGET = 256 * 2**20
"""Bytes a band of rows may take while it is smoothed (see :func:`block_rows`)."""


def block_rows(stack: Any, out_steps: int | None = None, budget: int = BLOCK_BUDGET) -> int:
    """Rows per band so that one band's working set stays within ``budget`` bytes.

    A pixel of a ``(time, y, x)`` stack with ``t`` dates costs, while it is smoothed,
    ``41 t + 8 o + 32`` bytes with ``o`` output steps: float32 values and weights as read
    (``8 t``) and once more after the time axis is rechunked (``8 t``), the kernel's float64
    values, weights and days (``24 t``) and usable mask (``t``), the float32 result and its
    copy into the band's Dataset (``8 o``), and λ, ``n_obs`` and the counts (32).  The rows
    are ``budget // (x · bytes per pixel)``, at least 1 and at most the stack's rows: with
    the default 256 MiB budget a 2400 × 2400 tile of 46 dates is smoothed in bands of 48 rows
    (to 46 dates), or 23 rows with daily output (366 steps).  The kernel's per-batch arrays
    (a few MB, :data:`modisoft.timeseries.api._BATCH` series at a time) come on top.

    Parameters
    ----------
    stack
        The ``(time, y, x)`` stack (only its sizes are used).
    out_steps
        Output time steps (default: the stack's dates).
    budget
        Bytes per band.

    Returns
    -------
    int
        Rows per band.
    """
    t, ny, nx = stack.sizes["time"], stack.sizes["y"], stack.sizes["x"]
    per_pixel = 41 * t + 8 * (t if out_steps is None else out_steps) + 32
    return int(min(ny, max(1, budget // (nx * per_pixel))))


class SmoothBlocks:
    """The result of :func:`smooth_blocks`: iterate for ``(rows, band)`` pairs.

    Attributes
    ----------
    template
        The lazy full result (:func:`smooth` on the whole stack, never computed), chunked in
        bands of ``rows`` rows along ``y``: a writer creates the output from it.
    rows
        Rows per band.
    """

    def __init__(self, stack: Any, args: dict[str, Any], kwargs: dict[str, Any], rows: int,
                 workers: int, full: Any) -> None:
        self._stack, self._args, self._kwargs = stack, args, kwargs
        self.rows, self._workers = rows, workers
        self.template = full.chunk({d: rows if d == "y" else -1 for d in full.dims})
        self._counts: dict[str, Any] = {}
        self._done = 0

    def __len__(self) -> int:
        return math.ceil(self._stack.sizes["y"] / self.rows)

    def __iter__(self) -> Iterator[tuple[slice, Any]]:
        ny = self._stack.sizes["y"]
        self._counts = {}
        for r0 in range(0, ny, self.rows):
            rows = slice(r0, min(r0 + self.rows, ny))
            band = self.band(rows)
            for name in self._scalar_names():
                self._counts[name] = self._counts.get(name, 0) + band[name].values
            yield rows, band.drop_vars(self._scalar_names())

    def band(self, rows: slice) -> Any:
        """The computed result on ``rows`` (a slice of ``y``)."""
        import dask

        nx = self._stack.sizes["x"]
        piece = {"time": -1, "y": -1, "x": max(1, math.ceil(nx / self._workers))}

        def cut(a: Any) -> Any:
            if a is None or "y" not in getattr(a, "dims", ()):
                return a
            return a.isel(y=rows).chunk({d: piece.get(d, -1) for d in a.dims})

        args = {k: cut(v) if k in ("weights", "acq_days") else v for k, v in self._args.items()}
        res = smooth(cut(self._stack), **args, **self._kwargs)
        with dask.config.set(scheduler="threads", num_workers=self._workers):
            return res.compute()

    def _scalar_names(self) -> list[str]:
        return [str(v) for v in self.template.data_vars if "y" not in self.template[v].dims]

    def rest(self) -> Any:
        """The variables without ``y`` (``n_insufficient``), summed over the bands; call it
        after iterating over every band."""
        import xarray as xr

        names = self._scalar_names()
        if set(names) - set(self._counts):
            raise TimeSeriesError("SmoothBlocks.rest(): iterate over all bands first")
        return xr.Dataset({n: self.template[n].copy(
            data=np.asarray(self._counts[n], self.template[n].dtype)) for n in names})


def smooth_blocks(stack: Any, method: str = "whittaker", *, weights: Any | None = None,
                  acq_days: Any | None = None, rows: int | None = None,
                  budget: int = BLOCK_BUDGET, workers: int = 2, **kwargs: Any) -> SmoothBlocks:
    """:func:`smooth` a ``(time, y, x)`` stack in bands of rows, bounded in memory.

    Each band is the same call of :func:`smooth` on the band's rows, computed (dask threads,
    the band split along ``x`` into ``workers`` pieces), so its values are those of the
    whole stack's ``smooth(...).compute()``, byte for byte; ``n_insufficient`` is summed over
    the bands (:meth:`SmoothBlocks.rest`).

    Parameters
    ----------
    stack, method, weights, acq_days
        As for :func:`smooth` (``weights`` and ``acq_days`` cut to each band when they have
        a ``y`` dim).
    rows
        Rows per band; default :func:`block_rows` of ``budget``.
    budget
        Bytes a band may take while it is smoothed.
    workers
        Threads per band.
    kwargs
        The other arguments of :func:`smooth` (``at``, ``min_obs``, ``period``, ...).

    Returns
    -------
    SmoothBlocks
        ``template`` (the lazy full result) and, when iterated, ``(rows, band)`` pairs:
        the slice of ``y`` and the band's computed Dataset (without ``n_insufficient``).

    Raises
    ------
    TimeSeriesError
        For ``rows`` or ``workers`` below 1, or a stack without ``y``/``x``.

    Examples
    --------
    >>> job = smooth_blocks(lai, "whittaker", weights=w)  # doctest: +SKIP
    >>> write_dataset_blocks(job.template, job, "lai_smooth.zarr", rest=job.rest)  # doctest: +SKIP
    """
    if not {"time", "y", "x"} <= set(stack.dims):
        raise TimeSeriesError(f"smooth_blocks needs dims (time, y, x), got {stack.dims}")
    if (rows is not None and rows < 1) or workers < 1:
        raise TimeSeriesError(f"rows {rows!r} and workers {workers!r} must be >= 1")
    template = smooth(stack, method, weights=weights, acq_days=acq_days, **kwargs)
    if rows is None:
        out = template.sizes["time"]
        rows = block_rows(stack, out + sum(template.sizes[d] for d in template.dims
                                           if str(d).startswith("time_")), budget)
    args = {"method": method, "weights": weights, "acq_days": acq_days}
    return SmoothBlocks(stack, args, kwargs, int(min(rows, stack.sizes["y"])), workers,
                        template)
