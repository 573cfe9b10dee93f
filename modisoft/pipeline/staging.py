"""The run's work, built once: a product run in two passes (:class:`Staged`: one task per date
mosaics it into a stage store, one task per piece reads the stage's series), a retrieval in one
(:class:`SinglePass`).

The whole output is one lazy ``xarray.Dataset`` on the national grid. With LAI products it is
computed in two passes: one task per date reads that date's granules once, applies the QA rule
and mosaics the date onto the whole grid into a temporary stage store; then one task per
*piece* (a row band ``band_rows`` high and one output chunk wide) smooths or composites the
piece's time series from the stage and writes it. Memory is set by the chunk size and the
number of workers, never by the size of the country, the number of tiles or dates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from modisoft.errors import NoReadableInputError
from modisoft.pipeline.inputs import (
    landcover_on_grid,
    open_layers,
    open_stacks,
    verified_granules,
)
from modisoft.pipeline.inventory import Inventory
from modisoft.pipeline.lai import build_retrieval_output, open_reflectance
from modisoft.pipeline.mosaic import mosaic_decoded, mosaic_qa, nearest_support, store_rows
from modisoft.pipeline.outputs import stage_path
from modisoft.pipeline.qa import mask_at_source
from modisoft.pipeline.schema import RunConfig
from modisoft.pipeline.sensors import sensor_per_period
from modisoft.pipeline.series import series_inputs, series_output
from modisoft.warp.plan import fits_in_plan_memory, plan_memory

__all__ = ["NoManifest", "SinglePass", "Staged", "prepare"]


class SinglePass:
    """A run computed in one pass: each piece slices the whole lazy output.

    Used for ``lai = "retrieve"``, whose per-scene statistics (RSR SWIR percentiles) need
    every pixel of a date.
    """

    dates = 0

    def __init__(self, full: Any, used: list, retrieval: Any,
                 series_inputs: tuple[Any, Any] | None = None) -> None:
        self.full, self.used, self.retrieval = full, used, retrieval
        self.series_inputs = series_inputs

    def piece(self, box: tuple[int, int, int, int]) -> tuple[Any, Any, Any]:
        """The lazy output of one piece, and the per-date values and weights it was made
        from (for :func:`~modisoft.pipeline.series.lost_in_series`)."""
        r0, r1, c0, c1 = box
        sl = {"y": slice(r0, r1), "x": slice(c0, c1)}
        inputs = self.series_inputs
        if inputs is None:
            return self.full.isel(sl), None, None
        return self.full.isel(sl), inputs[0].isel(sl), inputs[1].isel(sl)


_STAGE_BAND_CHUNKS = 2
"""Output chunk rows a date task computes and stores at a time: a band reads only the tiles
that overlap it (a 500 m tile is about 1100 rows of a 1 km grid, so each is read about twice
per date), which bounds the decoded tiles held at once whatever the size of the country
(measured at China scale, 22 tiles: 0.66 GiB peak against 0.75 for the whole grid at once,
time within 5%)."""


_RECENT_PLANS = 64 * 2**20
"""Bytes of plan windows a date task of a national grid keeps in memory: a few windows of
512 x 512 pixels (an area window holds about 52 bytes per pixel)."""


class Staged:
    """A product run in two passes, each reading its inputs once.

    Pass 1 (:meth:`stage_date`, one task per date) reads each granule of the date once,
    applies the QA rule, decodes it and mosaics the date onto the whole grid with
    :func:`~modisoft.warp.mosaic` (the same call as the public API), one output chunk at a
    time, into a temporary Zarr store of physical values and fill classes (resample plans
    cached on disk beside it).  Pass 2 (:meth:`piece`, one task per piece) reads a piece's
    full time series from that store and composites or smooths it.  A single pass would
    re-read and re-mask every granule for every piece it overlaps (about ten times at China
    scale).

    No process holds more than one date's granules: a date task opens only that date's; a
    piece needs none, only the layers' attributes (from the first date's granules) and the
    dates.  The main process (``manifest`` given) has every granule verified in reader
    processes (:func:`~modisoft.pipeline.inputs.verified_granules`), to record the ones that
    fail and the dates it has, and opens none itself; a worker reads the dates from the
    stage.  So memory does not grow with the number of granules.
    """

    def __init__(self, cfg: RunConfig, grid: Any, inv: Inventory, manifest: Any = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.cfg, self.grid, self.inv, self.retrieval = cfg, grid, inv, None
        self.stage = stage_path(cfg)
        self.used: list = []
        self._times: np.ndarray | None = None
        self._template: dict[str, Any] | None = None
        if manifest is not None:  # verified in reader processes: opened there, not here
            self.used = verified_granules(inv, open_layers(cfg), manifest, echo or print,
                                          processes=cfg.compute.workers,
                                          qa_rule=cfg.steps.qa_rule)
            times = [np.datetime64(g.start_date, "ns") for g in self.used]
            if not self.used:
                raise NoReadableInputError(len(inv.granules))
            self.inv = inv.restricted(self.used)  # workers never open a failed granule
            self._times = np.unique(np.array(times, "datetime64[ns]"))
            self.full = self._output(self.raw, grid)

    def _sub(self, d: Any) -> Inventory:
        import dataclasses

        return dataclasses.replace(self.inv, by_date={d: self.inv.by_date[d]})

    @property
    def times(self) -> np.ndarray:
        """The run's dates (of granules that could be read)."""
        if self._times is None:
            import zarr

            self._times = np.array(zarr.open_group(str(self.stage / "mosaic.zarr"),
                                                   mode="r").attrs["times"], "datetime64[ns]")
        return self._times

    @property
    def dates(self) -> int:
        return len(self.times)

    @property
    def raw(self) -> dict[str, Any]:
        """Lazy templates of the staged layers: one date's mosaic, repeated at every date
        (attributes, coordinates, shape and dtype; the data is replaced by the stage's)."""
        if self._template is None:
            times = self.times
            first = self._open_date(str(times[0].astype("datetime64[D]")))
            self._template = {key: r.isel(time=np.zeros(len(times), int))
                              .assign_coords(time=times) for key, r in first.items()}
        return self._template

    def _open_date(self, day: str, stacks: list | None = None,
                   mask_classes: bool = True) -> dict[str, Any]:
        """The lazy mosaics of one date's granules (QA applied at source, decoded):
        ``values``, ``classes`` (fill classes, when the layer has them; see
        :func:`mosaic_decoded`), ``qa`` (when the QA gives weights)."""
        if stacks is None:
            stacks = self._date_stacks(day)
        lai, qa = stacks
        plans = str(self.stage / "plans")
        values, classes = mosaic_decoded(self.cfg, lai, self.grid, cache_dir=plans,
                                         mask_classes=mask_classes)
        staged = {"values": values}
        if classes is not None:
            staged["classes"] = classes
        qa_mosaic = mosaic_qa(self.cfg, qa, self.grid, cache_dir=plans)
        if qa_mosaic is not None:  # a multi-sensor run's slot holds the sensor codes
            staged["sensor" if self.cfg.inputs.products else "qa"] = qa_mosaic
        return staged

    def _date_stacks(self, day: str) -> tuple[list, list]:
        from datetime import date

        lai, qa, _used = open_stacks(self.cfg, self._sub(date.fromisoformat(day)),
                                     NoManifest(), lambda _m: None, mask=mask_at_source)
        return lai, qa

    def _output(self, staged: dict[str, Any], grid: Any) -> Any:
        out = series_output(self.cfg, staged["values"], staged.get("classes"),
                            staged.get("qa"), grid)
        if "sensor" in staged:
            out["sensor"] = sensor_per_period(staged["sensor"], out["lai"]).chunk(
                {"time": -1, "y": self.cfg.output.chunk, "x": self.cfg.output.chunk})
        return out

    def create_stage(self) -> None:
        """An empty stage store (replacing any earlier one)."""
        import shutil

        import zarr

        shutil.rmtree(self.stage, ignore_errors=True)
        self.stage.mkdir(parents=True)
        group = zarr.open_group(str(self.stage / "mosaic.zarr"), mode="w")
        group.attrs["times"] = [str(t) for t in self.times]  # what a worker's pass 2 needs
        for key, raw in self.raw.items():
            fill = raw.attrs.get("nodata")
            group.create_array(key, shape=raw.shape, dtype=raw.dtype,
                               chunks=(1, *(c[0] for c in raw.chunks[1:])),
                               fill_value=0 if fill is None else fill)

    def stage_ok(self) -> bool:
        """Whether a stage store exists (a resumed run keeps its finished dates)."""
        return (self.stage / "mosaic.zarr" / "zarr.json").is_file()

    def stage_args(self) -> list[tuple[int, str]]:
        """The pass-1 tasks: ``(time index, ISO date)`` of every date."""
        return [(k, str(t)) for k, t in enumerate(self.times.astype("datetime64[D]"))]

    def stage_date(self, arg: tuple[int, str]) -> dict[str, int]:
        """Pass 1: mosaic date ``arg = (k, ISO date)`` of every staged layer into the stage.

        Returns ``{ISO date: pixels lost}``: output pixels whose centre lies on a valid
        source pixel (a ``nearest`` lookup, :func:`nearest_support`) but that the date's
        mosaic left without a value (0 for a correct run, whatever the method).
        """
        import zarr

        k, day = arg
        group = zarr.open_group(str(self.stage / "mosaic.zarr"), mode="r+")
        stacks = self._date_stacks(day)
        staged = self._open_date(day, stacks, mask_classes=False)
        support = nearest_support(self.cfg, stacks[0], self.grid,
                                  cache_dir=str(self.stage / "plans"))
        # one task per output window computes every layer and the check from the decoded
        # tiles, writes them to the store and counts the window's lost pixels
        lost, band = 0, _STAGE_BAND_CHUNKS * self.cfg.output.chunk
        # plans stay in memory from date to date only when the grid's windows (values,
        # classes, the check) fit there: a national grid's sweep would evict each before
        # the next date needs it, so they come from the disk cache instead, and memory
        # holds only the last few (the values' and classes' area methods share a window,
        # and a window's task reads them one after the other)
        fits = fits_in_plan_memory(self.grid.shape[0] * self.grid.shape[1], plans=3)
        layers = [*staged.values(), *([] if support is None else [support])]
        classes = list(staged).index("classes") if "classes" in staged else None
        with contextlib.nullcontext() if fits else plan_memory(_RECENT_PLANS):
            for r0 in range(0, self.grid.shape[0], band):
                lost += store_rows(layers, [group[key] for key in staged], k,
                                   (r0, min(r0 + band, self.grid.shape[0])),
                                   classes=classes, check=support is not None)
        return {day: lost}

    def piece(self, box: tuple[int, int, int, int]) -> tuple[Any, Any, Any]:
        """Pass 2: the lazy output of one piece, from the staged mosaics, and the per-date
        values and weights it is made from (for
        :func:`~modisoft.pipeline.series.lost_in_series`)."""
        import dask.array as da

        r0, r1, c0, c1 = box
        path = str(self.stage / "mosaic.zarr")
        staged = {key: r.copy(data=da.from_zarr(path, component=key))
                  .isel(y=slice(r0, r1), x=slice(c0, c1))
                  for key, r in self.raw.items()}
        values, w = series_inputs(self.cfg, staged["values"], staged.get("qa"))
        return self._output(staged, self.grid[r0:r1, c0:c1]), values, w

    def remove_stage(self) -> None:
        import shutil

        shutil.rmtree(self.stage, ignore_errors=True)


def prepare(cfg: RunConfig, inv: Inventory, manifest: Any, echo: Callable[[str], None],
            grid: Any) -> SinglePass | Staged:
    """Open the granules and build the run's lazy work.

    Parameters
    ----------
    cfg
        The run configuration.
    inv
        Its inventory.
    manifest
        Where granules that fail to open are recorded (:class:`NoManifest` on a worker).
    echo
        Where messages go.
    grid
        The output grid.

    Returns
    -------
    SinglePass or Staged
        One pass for ``lai = "retrieve"``, two (:class:`Staged`) for LAI products.
    """
    for table, used in (("lai", cfg.steps.lai == "retrieve"), ("beps", True)):
        tab = getattr(cfg, table)
        if used and tab is not None and tab.landcover:  # used later: files and extent now
            landcover_on_grid(cfg, grid, table)
    if cfg.steps.lai == "retrieve":
        bands, qa, used = open_reflectance(cfg, inv, manifest, echo)
        full, retrieval, inputs = build_retrieval_output(cfg, bands, qa, grid,
                                                         with_inputs=True)
        return SinglePass(full, used, retrieval, inputs)
    return Staged(cfg, grid, inv, manifest, echo)


class NoManifest:
    """A worker's stand-in: the main process has already recorded failed granules."""

    def add_failure(self, path: str, reason: str, stage: str = "open") -> None:
        pass
