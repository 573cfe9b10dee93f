"""A national run: granules → QA → mosaic → composite/smooth → LAI → Zarr, NetCDF, COG, BEPS.

The whole output is one lazy ``xarray.Dataset`` on the national grid. With LAI products it is
computed in two passes (:class:`_Staged`): one task per date reads that date's granules once,
applies the QA rule and mosaics the date onto the whole grid into a temporary stage store;
then one task per *piece* (a row band ``band_rows`` high and one output chunk wide) smooths or
composites the piece's time series from the stage and writes it. Memory is set by the chunk
size and the number of workers, never by the size of the country, the number of tiles or
dates. On a dask.distributed cluster each date and each piece is one task computed entirely
inside one worker process. Every finished date and piece is recorded in the run manifest; a
rerun after a crash or ``kill -9`` skips finished work and rewrites identical bytes for the
rest.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import ModisoftError
from modisoft.pipeline.config import ConfigError, RunConfig
from modisoft.pipeline.discover import Inventory, describe_inventory, discover
from modisoft.pipeline.manifest import Manifest

__all__ = ["RunSummary", "run", "build_output", "resolve_grid", "dominant_fill_class"]

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run did: outputs, failed granules, resumed pieces, timings per stage."""

    outputs: dict[str, list[str]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    inventory: str = ""
    bands_total: int = 0  # pieces of the output (row band x output chunk) to compute
    bands_skipped: int = 0  # pieces a resumed run found already done
    timings: dict[str, float] = field(default_factory=dict)
    dashboard: str | None = None
    lost: dict[str, int] = field(default_factory=dict)
    """Per date (ISO): output pixels without a value although a valid source pixel lies
    under them (see ``docs/reference/resampling.md``, "A run checks itself"); all 0 in a
    correct run."""

    @property
    def lost_total(self) -> int:
        """Pixels lost over all dates (0 in a correct run)."""
        return sum(self.lost.values())

    def pixel_check(self) -> dict[str, Any]:
        """The pixel check as recorded in the provenance of every output."""
        bad = {d: n for d, n in sorted(self.lost.items()) if n}
        return {"description": "per date, output pixels without a value although a valid "
                               "source pixel lies under their centre",
                "dates_checked": len(self.lost), "lost_pixels": self.lost_total,
                "dates_with_losses": bad, "status": "failed" if bad else "passed"}

    def report(self) -> str:
        """A human summary."""
        lines = [self.inventory]
        lines.append(f"pieces: {self.bands_total} ({self.bands_skipped} already done)")
        for kind, files in self.outputs.items():
            lines.append(f"{kind}: {len(files)} file(s), e.g. {files[0]}" if files else kind)
        lines.append("stage times: " + ", ".join(f"{k} {v:.1f} s"
                                                 for k, v in self.timings.items()))
        bad = {d: n for d, n in sorted(self.lost.items()) if n}
        if bad:
            lines.append(f"pixel check FAILED: {self.lost_total} output pixel(s) got no value "
                         "although a valid source pixel lies under them:")
            lines += [f"  {d}: {n} pixel(s)" for d, n in bad.items()]
        else:
            lines.append(f"pixel check: every valid source pixel reached the output "
                         f"({len(self.lost)} date(s) checked)")
        if self.failures:
            lines.append(f"{len(self.failures)} granule(s) failed:")
            lines += [f"  {f['file']}: {f['reason']}" for f in self.failures]
        return "\n".join(lines)


def resolve_grid(cfg: RunConfig) -> Any:
    """The output :class:`~modisoft.grids.Grid` of ``[grid]``."""
    from modisoft.grids import grid_from_bounds, grid_like, national_grid

    g = cfg.grid
    try:
        if g.name is not None:
            return national_grid(g.name)
        if g.like is not None:
            return grid_like(str(cfg.resolve(g.like)))
        return grid_from_bounds(g.crs, g.resolution, g.bounds, snap=g.snap)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"[grid]: {exc}") from None


def dominant_fill_class(codes: np.ndarray) -> np.ndarray:
    """Kernel: per pixel of a ``(..., time)`` array of fill-class codes (0 = valid value), the
    most frequent non-zero code when the pixel never had a valid value, else 0.

    Examples
    --------
    >>> dominant_fill_class(np.array([[254, 254, 250], [0, 254, 254]], "uint8"))
    array([254,   0], dtype=uint8)
    """
    codes = np.asarray(codes)
    flat = codes.reshape(-1, codes.shape[-1])
    out = np.zeros(len(flat), codes.dtype)
    never = ~(flat == 0).any(axis=1)
    if never.any():
        sub = flat[never]
        vals = np.unique(sub)
        counts = np.stack([(sub == v).sum(axis=1) for v in vals], axis=1)
        out[never] = vals[np.argmax(counts, axis=1)]
    return out.reshape(codes.shape[:-1])


def _lai_layers(cfg: RunConfig) -> tuple[str, list[str]]:
    """The LAI layer of ``[inputs]`` and the layers to open (LAI, then QA when a rule needs it)."""
    from modisoft.products import find_product

    product = find_product(cfg.inputs.product)
    if product is None:
        raise ConfigError(f"[inputs] product {cfg.inputs.product!r} is not in the registry")
    layer = cfg.inputs.layer or next((x.name for x in product.layers
                                      if x.name.lower().startswith("lai")
                                      and "stddev" not in x.name.lower()), None)
    if layer is None:
        raise ConfigError(f"[inputs] {product.name} has no LAI layer; give layer = ...")
    qa_layer = cfg.inputs.qa_layer or ("FparLai_QC" if any(
        x.name == "FparLai_QC" for x in product.layers) else None)
    return layer, [layer] + ([qa_layer] if qa_layer and cfg.steps.qa_rule != "none" else [])


def _readable(inv: Inventory, want: list[str], manifest: Any,
              echo: Callable[[str], None]) -> Iterator[tuple[Any, Any, np.datetime64]]:
    """``(granule, dataset of the layers want, time)`` of every granule of ``inv`` that opens
    (each layer carries the granule's ``registry_product``); one that does not is recorded in
    the manifest with its reason and skipped."""
    from modisoft import open_granule

    for g in inv.granules:
        try:
            ds = open_granule(g.path, want)
        except (ModisoftError, OSError) as exc:
            manifest.add_failure(g.path, str(exc))
            echo(f"skipping {Path(g.path).name}: {exc}")
            continue
        if "registry_product" in ds.attrs:
            for v in want:
                ds[v].attrs["registry_product"] = ds.attrs["registry_product"]
        yield g, ds, np.datetime64(g.start_date, "ns")


def _stack_tiles(by_tile: dict[str, list]) -> list:
    """Per tile, in tile order, the ``time`` stack of its one-date arrays."""
    import xarray as xr

    return [xr.concat(parts, "time", combine_attrs="override") if len(parts) > 1 else parts[0]
            for _, parts in sorted(by_tile.items())]


def _open_stacks(cfg: RunConfig, inv: Inventory, manifest: Manifest,
                 echo: Callable[[str], None]) -> tuple[list, list, list]:
    """Per tile, a lazy ``(time, y, x)`` stack of the LAI layer (QA rule applied at source)
    and, when the QA gives weights instead, of its QA layer; and the granules used."""
    layer, want = _lai_layers(cfg)
    lai_by_tile: dict[str, list] = {}
    qa_by_tile: dict[str, list] = {}
    used = []
    for g, ds, t in _readable(inv, want, manifest, echo):
        values = ds[layer]
        if len(want) > 1 and not cfg.steps.weights:
            values = _mask_at_source(values, ds[want[1]], cfg)
        elif len(want) > 1:
            qa_by_tile.setdefault(g.tile_id, []).append(ds[want[1]].expand_dims(time=[t]))
        lai_by_tile.setdefault(g.tile_id, []).append(values.expand_dims(time=[t]))
        used.append(g)
    if not used:
        raise ConfigError("[inputs] no granule could be read; see the failures above")
    return _stack_tiles(lai_by_tile), _stack_tiles(qa_by_tile), used


def _mask_at_source(raw: Any, qa: Any, cfg: RunConfig) -> Any:
    """Apply the QA rule at the granule's own resolution: a stored value whose QA fails the
    rule becomes the layer's generic fill code; fill-class codes (water, urban, …) stay.

    Masking before resampling lets an area average use exactly the good sub-pixels, and saves
    resampling the QA layer (a mode) on every date.
    """
    return _apply_source_mask(raw, _source_mask(qa, cfg), cfg)


def _source_mask(qa: Any, cfg: RunConfig) -> Any:
    """Where the QA rule holds, at source resolution (``qa``: a QA layer or a Dataset of
    them carrying ``registry_product``)."""
    from modisoft.qa import qa_mask

    product = qa.attrs.get("registry_product") or cfg.inputs.product
    return qa_mask(qa, cfg.steps.qa_rule, product=product)


def _apply_source_mask(raw: Any, good: Any, cfg: RunConfig) -> Any:
    """``raw`` with the layer's generic fill code where ``good`` is False (fill classes stay)."""
    fills = [int(v) for v in np.atleast_1d(raw.attrs.get("fill_values", []))]
    classes = [int(v) for v in np.atleast_1d(raw.attrs.get("fill_class_codes", []))]
    if not fills:
        raise ConfigError(f"[steps] qa_rule: layer {raw.name!r} has no fill value to mark "
                          "observations that fail the rule")
    import xarray as xr

    out = xr.apply_ufunc(_mask_kernel, raw, good, kwargs={"fill": fills[0],
                                                          "classes": tuple(classes)},
                         dask="parallelized", output_dtypes=[raw.dtype])
    out.attrs = dict(raw.attrs)
    out.attrs["qa_applied"] = f"{cfg.steps.qa_rule} (at source resolution; failing -> "\
        f"{fills[0]})"
    return out


def _mask_kernel(raw: np.ndarray, good: np.ndarray, fill: int, classes: tuple) -> np.ndarray:
    """Kernel: ``raw`` where ``good`` or a fill-class code, else ``fill``."""
    keep = good.copy()
    if classes:
        if raw.dtype.kind in "iu" and raw.dtype.itemsize == 1:
            lut = np.zeros(256, bool)
            lut[np.asarray(classes, np.int64) - np.iinfo(raw.dtype).min] = True
            keep |= lut[raw.astype(np.int64) - np.iinfo(raw.dtype).min] \
                if raw.dtype.kind == "i" else lut[raw]
        else:
            keep |= np.isin(raw, np.asarray(classes))
    return np.where(keep, raw, raw.dtype.type(fill))


def _weights(values: Any, qa: Any, cfg: RunConfig) -> Any:
    import xarray as xr

    from modisoft.qa import qa_mask, qa_weights

    ok = np.isfinite(values)
    if qa is None:
        return ok.astype("float32")
    w = xr.ones_like(values, dtype="float32")
    if cfg.steps.weights:
        w = qa_weights(qa, product=cfg.inputs.product, scheme=cfg.steps.weights)
    if cfg.steps.qa_rule != "none":
        w = xr.where(qa_mask(qa, cfg.steps.qa_rule, product=cfg.inputs.product), w,
                     np.float32(0))
    return xr.where(ok, w, np.float32(0)).astype("float32")


def build_output(cfg: RunConfig, lai_stacks: list, qa_stacks: list, grid: Any) -> Any:
    """The whole run's output as one lazy Dataset on ``grid``.

    Variables: ``lai`` ``(time, y, x)`` float32 per period (NaN where no value), ``n_obs``
    ``(y, x)`` usable observations, ``fill_class`` ``(y, x)`` the dominant MOD15 fill code
    of pixels that never had a valid value (0 elsewhere).
    """
    values, classes = _mosaic_decoded(cfg, lai_stacks, grid)
    qa = _mosaic_qa(cfg, qa_stacks, grid)
    return _series_output(cfg, values, classes, qa, grid)


def _class_method(method: str) -> str:
    """How a categorical companion (fill classes, QA, land cover) is resampled when the
    values use ``method``: ``mode`` for the area methods, else ``nearest``."""
    return "nearest" if method in ("nearest", "bilinear") else "mode"


def _mosaic_decoded(cfg: RunConfig, stacks: list, grid: Any,
                    cache_dir: Any = None) -> tuple[Any, Any]:
    """Per-tile stacks of one stored layer decoded and mosaicked onto ``grid``: the physical
    values (float32, NaN where none) and the ``<layer>_class`` fill codes (or ``None``).

    This is exactly what a user writes with the public API,
    ``mosaic([decode(tile)[layer] ...], grid, method=...)``: each tile is decoded at its own
    resolution and the physical values are resampled, so an area average keeps full
    precision (no rounding to the stored DN step). The fill classes are mosaicked beside
    (``nearest``, or ``mode`` for the area methods) and are 0 wherever a value exists.
    """
    from modisoft.warp import mosaic

    s = cfg.steps
    decoded = [_decode_stack(raw) for raw in stacks]
    values = mosaic([v for v, _c in decoded], grid, method=s.resampling,
                    chunks=cfg.output.chunk, fuse=s.fuse, cache_dir=cache_dir)
    if any(c is None for _v, c in decoded):
        return values, None
    classes = mosaic([c for _v, c in decoded], grid, method=_class_method(s.resampling),
                     chunks=cfg.output.chunk, fuse=s.fuse if s.fuse != "mean" else "first",
                     cache_dir=cache_dir)
    return values, classes.where(~np.isfinite(values), classes.dtype.type(0))


def _decode_stack(raw: Any) -> tuple[Any, Any]:
    """Decode one tile's stack of stored values: (physical values, ``<layer>_class`` codes or
    None), each keeping the tile's coordinates and grid."""
    from modisoft.decode import decode

    name = raw.name
    raw_ds = raw.to_dataset(name=name)
    raw_ds.attrs["registry_product"] = raw.attrs.get("registry_product", "")
    dec = decode(raw_ds)
    values = dec[name]
    values.attrs.setdefault("layer", raw.attrs.get("layer", name))
    for key in ("registry_product", "granule_id", "source"):
        if key in raw.attrs:
            values.attrs[key] = raw.attrs[key]
    return values, dec.get(f"{name}_class")


def _mosaic_qa(cfg: RunConfig, qa_stacks: list, grid: Any, cache_dir: Any = None) -> Any:
    """The QA layer on ``grid`` (``mode`` for area resampling, else ``nearest``), or None."""
    from modisoft.warp import mosaic

    if not qa_stacks:
        return None
    s = cfg.steps
    return mosaic(qa_stacks, grid, method=_class_method(s.resampling),
                  chunks=cfg.output.chunk, fuse=s.fuse if s.fuse != "mean" else "first",
                  cache_dir=cache_dir)


def _series_inputs(cfg: RunConfig, values: Any, qa: Any) -> tuple[Any, Any]:
    """The per-date values and weights the series stage smooths or composites, chunked as
    it reads them (whole series, ``min(chunk, 128)`` pixels square)."""
    c = cfg.output.chunk
    w = _weights(values, qa, cfg)
    ts = min(c, 128)  # series are independent: the block size sets memory, not values
    return (values.chunk({"time": -1, "y": ts, "x": ts}),
            w.chunk({"time": -1, "y": ts, "x": ts}))


def _series_output(cfg: RunConfig, values: Any, classes: Any, qa: Any, grid: Any,
                   class_attrs: dict[str, Any] | None = None) -> Any:
    """Weights, compositing or smoothing of a ``(time, y, x)`` LAI stack on ``grid`` (the
    whole output grid or a piece of it), and the output Dataset (``lai``, ``n_obs``,
    ``fill_class`` when ``classes`` is given).

    The output keeps ``values``' own ``x``/``y`` coordinate values (``grid`` gives only the
    ``spatial_ref``), and every variable is checked to share them exactly
    (``join="exact"``): coordinates recomputed for a piece can differ from the whole grid's
    in the last bit, and a label alignment would then silently drop those rows and columns.
    """
    import xarray as xr

    from modisoft.timeseries import composite, smooth

    s, c = cfg.steps, cfg.output.chunk
    name = values.name
    values, w = _series_inputs(cfg, values, qa)
    if s.smoother != "none":
        res = smooth(values, s.smoother, weights=w, min_obs=s.min_obs, period=s.period,
                     **s.smoother_params)
        lai, n_obs = res[name], res["n_obs"]
    else:
        res = composite(values, s.period, s.reducer, weights=w)
        lai = res[name]
        n_obs = (w > 0).sum("time")
    space = grid.xarray_coords()
    if (values.sizes["y"], values.sizes["x"]) != grid.shape:
        raise ValueError(f"values {values.shape} are not on the grid {grid.shape}")
    space["x"], space["y"] = values["x"].variable, values["y"].variable
    out = xr.Dataset(coords=space)

    def place(arr: Any) -> Any:  # positional, never aligned by label
        xr.align(arr, values.isel(time=0, drop=True), join="exact")
        return arr

    out["lai"] = place(lai).astype("float32").chunk({"time": -1, "y": c, "x": c})
    out["lai"].attrs = {"long_name": "leaf area index (one-sided)", "units": "m2 m-2",
                        "grid_mapping": "spatial_ref"}
    out["n_obs"] = place(n_obs).astype("int16").chunk({"y": c, "x": c})
    out["n_obs"].attrs = {"long_name": "usable observations in the series", "units": "1",
                          "grid_mapping": "spatial_ref"}
    if classes is not None:
        fc = xr.apply_ufunc(dominant_fill_class, place(classes).chunk({"time": -1}),
                            input_core_dims=[["time"]], dask="parallelized",
                            output_dtypes=[classes.dtype])
        out["fill_class"] = fc.chunk({"y": c, "x": c})
        out["fill_class"].attrs = class_attrs or {
            "long_name": "fill class of pixels without any valid value (0 = has values)",
            "grid_mapping": "spatial_ref", "source_layer": name}
    if "period_end" in lai.coords:
        out = out.assign_coords(period_end=lai["period_end"])
    if "period_label" in lai.coords:  # variable-length strings (stable in Zarr v3)
        out = out.assign_coords(period_label=("time", np.asarray(lai["period_label"].values,
                                                                  dtype=object)))
    return out


def _provenance(cfg: RunConfig, used: list, manifest: Manifest, grid: Any,
                retrieval: dict[str, Any] | None = None) -> Any:
    from modisoft.write import Provenance

    p = Provenance().add_granules(used).set_grid(grid).set_config(cfg.as_dict())
    for f in manifest.failures:
        p.add_failure(f["file"], f["reason"])
    s = cfg.steps
    p.set_step("qa_rule", {"rule": s.qa_rule, "product": cfg.inputs.product,
                           "applied": "per granule at source resolution, before resampling"
                           if not s.weights else "as weights after resampling"})
    p.set_step("weights", {"scheme": s.weights or "none (1 where the rule holds)"})
    p.set_step("resampling", {"method": s.resampling, "fuse": s.fuse})
    p.set_step("compositing", {"period": s.period, "reducer": s.reducer if s.smoother == "none"
                               else "mean of the daily smoothed curve"})
    p.set_step("smoother", {"method": s.smoother, "params": s.smoother_params,
                            "min_obs": s.min_obs})
    p.set_step("retrieval", retrieval if retrieval is not None else {"method": s.lai})
    return p


@contextlib.contextmanager
def _cluster(cfg: RunConfig, scheduler: str | None, workers: int | None,
             memory_limit: str | None, echo: Callable[[str], None]) -> Iterator[Any]:
    """A dask.distributed client: an existing scheduler, a LocalCluster of processes, or
    none (``workers = 0``: the synchronous scheduler, for small runs and debugging)."""
    import dask

    address = scheduler or cfg.compute.scheduler
    n = cfg.compute.workers if workers is None else workers
    if not address and n == 0:
        with dask.config.set(scheduler="synchronous"):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("[compute] needs dask.distributed: pip install 'modisoft[distributed]'"
                          " (or workers = 0 for the synchronous scheduler)") from None
    for name in ("distributed", "distributed.scheduler", "distributed.nanny",
                 "distributed.worker", "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    if address:
        with Client(address) as client:
            echo(f"scheduler {address}; dashboard {client.dashboard_link}")
            yield client
        return
    # distributed's nannies export MALLOC_TRIM_THRESHOLD_, which switches off glibc's dynamic
    # mmap threshold: every large numpy temporary then is a fresh mmap, page-faulted anew.
    # Our tasks allocate many (one piece or one date each); measured 2.1x slower per task.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), \
            LocalCluster(n_workers=n, threads_per_worker=cfg.compute.threads_per_worker,
                         memory_limit=memory_limit or cfg.compute.memory_limit, processes=True,
                         dashboard_address=":0") as lc, Client(lc) as client:
        echo(f"LocalCluster: {n} worker processes; dashboard {client.dashboard_link}")
        yield client


def run(cfg: RunConfig, *, force: bool = False, scheduler: str | None = None,
        workers: int | None = None, memory_limit: str | None = None, progress: bool = True,
        echo: Callable[[str], None] = print) -> RunSummary:
    """Run a configuration end to end; resumable.

    Parameters
    ----------
    cfg
        From :func:`~modisoft.pipeline.load_config`.
    force
        Recompute everything even when the manifest says it is done.
    scheduler, workers, memory_limit
        Override ``[compute]``: an existing scheduler address, the number of worker
        processes of the LocalCluster (0: no cluster, synchronous), memory per worker.
    progress
        Show progress bars.
    echo
        Where messages go (``print`` by default).

    Returns
    -------
    RunSummary
    """
    import click
    import dask

    from modisoft.write import (
        BepsOptions,
        create_zarr,
        finalize_zarr,
        write_beps,
        write_cog,
        write_netcdf,
        zarr_status,
    )

    t0 = time.perf_counter()
    summary = RunSummary()
    out_dir = cfg.resolve(cfg.output.dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out_dir / "modisoft-run.json", cfg.digest(), force=force)
    if manifest.resumed:
        echo(f"resuming: {len(manifest.data['done'])} finished piece(s) recorded in "
             f"{manifest.path}")
    inv = discover(cfg)
    summary.inventory = inv.report()
    echo(summary.inventory)
    manifest.data["inventory"] = describe_inventory(inv)
    manifest.save()
    grid = resolve_grid(cfg)
    work = _prepare(cfg, inv, manifest, echo, grid)
    summary.timings["discover+open"] = time.perf_counter() - t0
    prov = _provenance(cfg, work.used, manifest, grid, work.retrieval)
    store = out_dir / f"{cfg.output.name}.zarr"
    chunk = cfg.output.chunk
    if force or (not manifest.is_done("zarr") and not manifest.data["done"]):
        if_exists = "overwrite"
    else:
        if_exists = "keep"
    create_zarr(work.full, store, chunks={"time": -1, "y": chunk, "x": chunk},
                provenance=prov, if_exists=if_exists)
    pieces = _pieces(cfg, grid)
    summary.bands_total = len(pieces)
    with _cluster(cfg, scheduler, workers, memory_limit, echo) as client:
        summary.dashboard = getattr(client, "dashboard_link", None)
        todo = [(key, box) for key, box in pieces if not manifest.is_done(key)]
        summary.bands_skipped = len(pieces) - len(todo)
        if todo and work.dates:
            t1 = time.perf_counter()
            if not work.stage_ok():  # absent (or deleted): every date again
                manifest.data["done"] = [k for k in manifest.data["done"]
                                         if not k.startswith("stage:")]
                work.create_stage()
            dates = [(f"stage:{arg[0]}", arg) for arg in work.stage_args()]
            left = [(key, k) for key, k in dates if not manifest.is_done(key)]
            with click.progressbar(length=len(dates), label="mosaic dates", show_pos=True,
                                   file=None if progress else _Null()) as bar:
                bar.update(len(dates) - len(left))
                for key, lost in _run_tasks(cfg, work, "stage", left, client):
                    manifest.data.setdefault("lost", {})[key] = lost
                    manifest.mark_done(key)
                    bar.update(1)
            if left and getattr(client, "cluster", None) is not None:
                # our own LocalCluster: fresh worker processes for the pieces, so what the
                # mosaic pass left in a worker's heap (it grows with the tiles per date)
                # does not add to the piece pass (an external cluster is left alone)
                client.restart()
            summary.timings["QA+mosaic (per date)"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        with click.progressbar(length=len(pieces), label="pieces", show_pos=True,
                               file=None if progress else _Null()) as bar:
            bar.update(summary.bands_skipped)
            for key, lost in _run_tasks(cfg, work, "piece", todo, client):
                manifest.data.setdefault("lost", {})[key] = lost
                manifest.mark_done(key)
                bar.update(1)
        summary.timings["time series+zarr (per piece)" if work.dates else
                        "mosaic+time series+zarr"] = time.perf_counter() - t1
        on_cluster = client is not None
    summary.lost = _lost_by_date(manifest, work)
    prov.extra["pixel_check"] = summary.pixel_check()
    if not manifest.is_done("zarr"):
        finalize_zarr(store, provenance=prov)
        manifest.mark_done("zarr")
    if work.dates:
        work.remove_stage()
    summary.outputs["zarr"] = [str(store)]
    # per-period files are read back from the store here, in this process: the cluster's
    # workers are gone, their memory with them (they hold each piece's cached work)
    t2 = time.perf_counter()
    with dask.config.set(scheduler="threads" if on_cluster else "synchronous"):
        _per_period_outputs(cfg, store, out_dir, prov, manifest, summary, progress,
                            (write_netcdf, write_cog, write_beps, BepsOptions))
    summary.timings["per-period outputs"] = time.perf_counter() - t2
    assert zarr_status(store) == "complete"
    summary.failures = manifest.failures
    summary.timings["total"] = time.perf_counter() - t0
    return summary


def _lost_by_date(manifest: Manifest, work: Any) -> dict[str, int]:
    """The pixel check of every finished task in the manifest, summed per date."""
    total: dict[str, int] = {}
    if getattr(work, "dates", 0):
        total = {str(t): 0 for t in work.times.astype("datetime64[D]")}
    for key, per_date in manifest.data.get("lost", {}).items():
        if manifest.is_done(key):
            for day, n in per_date.items():
                total[day] = total.get(day, 0) + int(n)
    return total


def stage_path(cfg: RunConfig) -> Path:
    """Where a product run keeps its per-date mosaics between the two passes (removed when the
    Zarr store is complete)."""
    return cfg.resolve(cfg.output.dir) / f".{cfg.output.name}.stage"


class _SinglePass:
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
        from (for :func:`_lost_in_series`)."""
        r0, r1, c0, c1 = box
        sl = {"y": slice(r0, r1), "x": slice(c0, c1)}
        inputs = self.series_inputs
        if inputs is None:
            return self.full.isel(sl), None, None
        return self.full.isel(sl), inputs[0].isel(sl), inputs[1].isel(sl)


class _Staged:
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
    dates.  The main process (``manifest`` given) opens every granule once, date by date, to
    record the ones that fail and the dates it has, and keeps none of them open; a worker
    reads the dates from the stage.  So memory does not grow with the number of granules.
    """

    def __init__(self, cfg: RunConfig, grid: Any, inv: Inventory, manifest: Any = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.cfg, self.grid, self.inv, self.retrieval = cfg, grid, inv, None
        self.stage = stage_path(cfg)
        self.used: list = []
        self._times: np.ndarray | None = None
        self._template: dict[str, Any] | None = None
        if manifest is not None:
            times = []
            for g, _ds, t in _readable(inv, _lai_layers(cfg)[1], manifest, echo or print):
                self.used.append(g)
                times.append(t)
            if not self.used:
                raise ConfigError("[inputs] no granule could be read; see the failures above")
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

    def _open_date(self, day: str, stacks: list | None = None) -> dict[str, Any]:
        """The lazy mosaics of one date's granules (QA applied at source, decoded):
        ``values``, ``classes`` (fill classes, when the layer has them), ``qa`` (when the
        QA gives weights)."""
        if stacks is None:
            stacks = self._date_stacks(day)
        lai, qa = stacks
        plans = str(self.stage / "plans")
        values, classes = _mosaic_decoded(self.cfg, lai, self.grid, cache_dir=plans)
        staged = {"values": values}
        if classes is not None:
            staged["classes"] = classes
        qa_mosaic = _mosaic_qa(self.cfg, qa, self.grid, cache_dir=plans)
        if qa_mosaic is not None:
            staged["qa"] = qa_mosaic
        return staged

    def _date_stacks(self, day: str) -> tuple[list, list]:
        from datetime import date

        lai, qa, _used = _open_stacks(self.cfg, self._sub(date.fromisoformat(day)),
                                      _NoManifest(), lambda _m: None)
        return lai, qa

    def _output(self, staged: dict[str, Any], grid: Any) -> Any:
        return _series_output(self.cfg, staged["values"], staged.get("classes"),
                              staged.get("qa"), grid)

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
        source pixel (a ``nearest`` lookup, :func:`_lost_in_mosaic`) but that the date's
        mosaic left without a value (0 for a correct run, whatever the method).
        """
        import zarr

        k, day = arg
        group = zarr.open_group(str(self.stage / "mosaic.zarr"), mode="r+")
        stacks = self._date_stacks(day)
        values = None
        for key, staged in self._open_date(day, stacks).items():
            data = staged.data.compute()
            group[key][k:k + 1] = data
            if key == "values":
                values = data
        return {day: _lost_in_mosaic(self.cfg, stacks[0], self.grid, values)}

    def piece(self, box: tuple[int, int, int, int]) -> tuple[Any, Any, Any]:
        """Pass 2: the lazy output of one piece, from the staged mosaics, and the per-date
        values and weights it is made from (for :func:`_lost_in_series`)."""
        import dask.array as da

        r0, r1, c0, c1 = box
        path = str(self.stage / "mosaic.zarr")
        staged = {key: r.copy(data=da.from_zarr(path, component=key))
                  .isel(y=slice(r0, r1), x=slice(c0, c1))
                  for key, r in self.raw.items()}
        values, w = _series_inputs(self.cfg, staged["values"], staged.get("qa"))
        return self._output(staged, self.grid[r0:r1, c0:c1]), values, w

    def remove_stage(self) -> None:
        import shutil

        shutil.rmtree(self.stage, ignore_errors=True)


def _prepare(cfg: RunConfig, inv: Inventory, manifest: Any, echo: Callable[[str], None],
             grid: Any) -> _SinglePass | _Staged:
    """Open the granules and build the run's lazy work (see :class:`_Staged`)."""
    if cfg.steps.lai == "retrieve":
        from modisoft.pipeline.retrieve import build_retrieval_output, open_reflectance

        bands, qa, used = open_reflectance(cfg, inv, manifest, echo)
        full, retrieval, inputs = build_retrieval_output(cfg, bands, qa, grid,
                                                         with_inputs=True)
        return _SinglePass(full, used, retrieval, inputs)
    return _Staged(cfg, grid, inv, manifest, echo)


_PIECE_CHUNKS = 1
"""Output chunks per piece along x: a piece is a row band (``band_rows``) of this many."""


def _pieces(cfg: RunConfig, grid: Any) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The run's pieces of work: (manifest key, (row0, row1, col0, col1)), chunk-aligned."""
    chunk = cfg.output.chunk
    band = cfg.compute.band_rows or chunk
    if band % chunk:
        raise ConfigError(f"[compute] band_rows {band} must be a multiple of [output] chunk "
                          f"{chunk}")
    ny, nx = grid.shape
    width = chunk * _PIECE_CHUNKS
    return [(f"zarr:band:{i}:{j}", (r, min(r + band, ny), c, min(c + width, nx)))
            for i, r in enumerate(range(0, ny, band))
            for j, c in enumerate(range(0, nx, width))]


def _run_tasks(cfg: RunConfig, work: Any, kind: str, todo: list,
               client: Any) -> Iterator[tuple[str, dict[str, int]]]:
    """Run ``todo`` (``(manifest key, argument)``) tasks of ``kind`` (``"stage"``: a date of
    pass 1, ``"piece"``: a piece of pass 2); yield each key as soon as its work is on disk,
    with the pixels it lost per date (see :func:`_do`).

    Without a client the tasks run here on ``work``, one after the other, on the synchronous
    scheduler. With a dask.distributed client each is one task: the worker rebuilds the work from
    the config (once per process) and computes it with the synchronous scheduler, so
    intermediate arrays never cross between processes and the scheduler sees a few dozen
    tasks instead of tens of thousands.
    """
    if client is None:
        for key, arg in todo:
            yield key, _do(cfg, work, kind, arg)
        return
    from distributed import as_completed

    futures = [client.submit(_task, cfg, kind, arg, key=f"modisoft-{key}-{cfg.digest()[:12]}",
                             pure=False, retries=1)
               for key, arg in todo]
    keys = {f.key: key for f, (key, _arg) in zip(futures, todo, strict=True)}
    for fut in as_completed(futures):
        yield keys[fut.key], fut.result()  # re-raises a worker's error here


_WORKER_WORK: dict[str, Any] = {}


def _task(cfg: RunConfig, kind: str, arg: Any) -> Any:
    """One task on a worker: the run's work (built once per process), then :func:`_do`.

    A piece of a two-pass run drops the in-memory resample plans a mosaic task left (it
    reads the stage only; an empty cache costs nothing), and every task hands its freed
    memory back to the system, so what a worker holds does not creep up with the number of
    tasks it has run.
    """
    import dask

    ident = cfg.digest() + "|" + str(cfg.resolve(cfg.output.dir))
    work = _WORKER_WORK.get(ident)
    if work is None:
        _WORKER_WORK.clear()
        with dask.config.set(scheduler="synchronous"):
            if cfg.steps.lai == "retrieve":
                work = _prepare(cfg, discover(cfg), _NoManifest(), lambda _m: None,
                                resolve_grid(cfg))
            else:  # opens no granule until a date needs it
                work = _Staged(cfg, resolve_grid(cfg), discover(cfg))
        _WORKER_WORK[ident] = work
    if kind == "piece" and isinstance(work, _Staged):  # a single-pass piece mosaics itself
        from modisoft.warp.plan import clear_plan_memory

        clear_plan_memory()
    try:
        return _do(cfg, work, kind, arg)
    finally:
        _trim()


def _trim() -> None:
    """Return the C heap's free memory to the system (glibc ``malloc_trim``; elsewhere a
    no-op): numpy's freed buffers otherwise stay in this process's RSS."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None (not Linux, or another C library)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _do(cfg: RunConfig, work: Any, kind: str, arg: Any) -> dict[str, int]:
    """Stage date ``arg`` (``kind = "stage"``) or compute and write piece ``arg``; return the
    pixels it lost per date (:func:`_lost_in_mosaic`, :func:`_lost_in_series`)."""
    import dask

    from modisoft.write import write_zarr_region

    with dask.config.set(scheduler="synchronous"):
        if kind == "stage":
            return work.stage_date(arg)
        store = cfg.resolve(cfg.output.dir) / f"{cfg.output.name}.zarr"
        out, values, w = work.piece(arg)
        if values is None:
            out = out.compute()
        else:
            out, values, w = dask.compute(out, values, w)
        lost = _lost_in_series(cfg, out, values, w)
        write_zarr_region(out, store)
        return lost


def _lost_in_mosaic(cfg: RunConfig, stacks: list, grid: Any, values: np.ndarray) -> int:
    """Output pixels of one date (``values``: its mosaic, ``(1, y, x)``) without a value
    although the source pixel under their centre is valid.

    The source pixel under a centre is found by a ``nearest`` mosaic of the same decoded
    tiles (GDAL's nearest rule, its own plan): every method (``average``, ``mode``, ``min``,
    ``max``, ``bilinear``) gives a value wherever that pixel is valid, since it lies inside
    the footprint each of them reads. For ``nearest`` runs the date's mosaic *is* that
    lookup; the check then guards the later stages (:func:`_lost_in_series`).
    """
    if cfg.steps.resampling == "nearest":
        return 0
    from modisoft.warp import mosaic

    decoded = [_decode_stack(raw)[0] for raw in stacks]
    support = mosaic(decoded, grid, method="nearest", chunks=cfg.output.chunk,
                     fuse="first").data.compute()
    return int(np.count_nonzero(np.isfinite(support) & ~np.isfinite(values)))


def _lost_in_series(cfg: RunConfig, out: Any, values: Any, w: Any) -> dict[str, int]:
    """Per date (ISO), the pixels of a computed piece with a usable observation that date
    (a value and a weight > 0) whose output period has no value, although the series
    stage should have given one: always for a composite, and with a smoother wherever the
    pixel has at least ``min_obs`` usable observations (fewer give NaN by design)."""
    if values is None:
        return {}
    times = np.asarray(values["time"].values, "datetime64[ns]")
    v = np.asarray(values.transpose("time", "y", "x").values)
    usable = np.isfinite(v) & (np.asarray(w.transpose("time", "y", "x").values) > 0)
    if cfg.steps.smoother != "none":
        n = len(times)
        min_obs = max(4, int(np.ceil(0.2 * n))) if cfg.steps.min_obs is None \
            else int(cfg.steps.min_obs)
        usable &= usable.sum(axis=0) >= min_obs
    lai = np.asarray(out["lai"].transpose("time", "y", "x").values)
    starts = np.asarray(out["time"].values, "datetime64[ns]")
    ends = np.asarray(out["period_end"].values, "datetime64[ns]") \
        if "period_end" in out.coords else starts
    lost = {}
    for t, when in enumerate(times):
        k = int(np.searchsorted(starts, when, side="right")) - 1
        if k < 0 or when > ends[k]:
            continue  # a date outside every output period: not the series stage's to give
        day = str(when.astype("datetime64[D]"))
        lost[day] = int(np.count_nonzero(usable[t] & ~np.isfinite(lai[k])))
    return lost


class _NoManifest:
    """A worker's stand-in: the main process has already recorded failed granules."""

    def add_failure(self, path: str, reason: str) -> None:
        pass


class _Null:
    def write(self, *_: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def _per_period_outputs(cfg: RunConfig, store: Path, out_dir: Path, prov: Any,
                        manifest: Manifest, summary: RunSummary, progress: bool,
                        writers: tuple) -> None:
    import xarray as xr

    write_netcdf, write_cog, write_beps, BepsOptions = writers
    o = cfg.output
    ds = xr.open_zarr(store)
    ds = ds.assign_coords({k: ds[k].compute() for k in ds.coords if k not in ds.dims})
    lai = ds["lai"]
    fc = ds.get("fill_class")
    if "netcdf" in o.formats:
        path = out_dir / f"{o.name}.nc"
        if not manifest.is_done("netcdf"):
            write_netcdf(ds, path, provenance=prov)
            manifest.mark_done("netcdf")
        summary.outputs["netcdf"] = [str(path)]
    if "cog" in o.formats:
        d = out_dir / "cog"
        d.mkdir(exist_ok=True)
        if not manifest.is_done("cog"):
            write_cog(lai, d, name=o.name, provenance=prov)
            manifest.mark_done("cog")
        summary.outputs["cog"] = sorted(str(p) for p in d.glob("*.tif"))
    if "beps" in o.formats:
        d = out_dir / "beps"
        d.mkdir(exist_ok=True)
        if not manifest.is_done("beps"):
            extra = {}
            if cfg.steps.lai == "retrieve":  # fill_class holds LAI_FLAGS codes
                from modisoft.pipeline.retrieve import NONVEG_FLAGS

                extra["nonveg_classes"] = NONVEG_FLAGS
            write_beps(lai, d, stem=o.beps_stem, fill_class=fc, provenance=prov,
                       options=BepsOptions(suffixes=o.beps_suffixes, combine=o.beps_combine,
                                           **extra))
            manifest.mark_done("beps")
        summary.outputs["beps"] = sorted(str(p) for p in d.iterdir()
                                         if p.suffix not in (".hdr", ".json"))
    if o.quicklooks:
        d = out_dir / "quicklooks"
        d.mkdir(exist_ok=True)
        if not manifest.is_done("quicklooks"):
            _quicklooks(lai, fc, d, progress)
            manifest.mark_done("quicklooks")
        summary.outputs["quicklooks"] = sorted(str(p) for p in d.glob("*.png"))


def _quicklooks(lai: Any, fc: Any, d: Path, progress: bool) -> None:
    from modisoft.plot import plot_map

    for k in range(lai.sizes["time"]):
        one = lai.isel(time=k)
        label = str(one["period_label"].values) if "period_label" in one.coords else \
            str(one.time.values)[:10]
        plot_map(one, d / f"lai_{label}.png", title=f"LAI {label}", vmax=8,
                 fill_class=fc)
