"""What a run leaves behind besides the Zarr store's pixels: the provenance, the per-period
files read back from the store (NetCDF, COG, BEPS, quicklooks) and where the two-pass stage
lives.  The run's summary is :class:`~modisoft.pipeline.summary.RunSummary` (kept importable
from here).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click

from modisoft.io.stack import open_stack
from modisoft.lai import NONVEG_FLAGS
from modisoft.pipeline.beps_run import beps_landcover, beps_options, observed_spans
from modisoft.pipeline.manifest import Manifest
from modisoft.pipeline.memory import release_memory, warnings_to_log
from modisoft.pipeline.metadata import missing_metadata, output_quantity, run_metadata
from modisoft.pipeline.schema import RunConfig
from modisoft.pipeline.sensors import sensor_record
from modisoft.pipeline.summary import RunSummary
from modisoft.write.folder import output_subdir

__all__ = ["RunSummary", "lost_by_date", "missing_inputs", "run_provenance", "stage_path",
           "write_period_outputs"]


def run_provenance(cfg: RunConfig, used: list, manifest: Manifest, grid: Any,
                   retrieval: dict[str, Any] | None = None) -> Any:
    """The provenance (:class:`modisoft.write.Provenance`) every output of the run carries:
    ``cfg`` (whole, step by step, and its discovery metadata), the granules ``used``, the
    failed granules of ``manifest``, the output ``grid``, and the ``lai = "retrieve"`` step's
    ``retrieval`` record (else ``None``)."""
    from modisoft.write import Provenance
    from modisoft.write.cf import creation_time

    p = Provenance().add_granules(used).set_grid(grid).set_config(cfg.as_dict())
    p.created = manifest.data.setdefault("created", creation_time())  # one for the whole run
    res = abs(grid.transform.a)
    p.metadata = run_metadata(cfg, f"{grid.crs.name or 'a projected grid'} at "
                                   f"{res:g} {'degree' if grid.crs.is_geographic else 'm'}, "
                                   f"{grid.shape[1]} x {grid.shape[0]} pixels")
    for f in manifest.failures:
        p.add_failure(f["file"], f["reason"])
    missing = missing_inputs(cfg, used, manifest)
    if missing["dates"] or missing["tiles"]:
        p.extra["missing_inputs"] = missing
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
    if cfg.inputs.products:  # a multi-sensor run: the merge and the per-sensor counts
        p.extra["sensor_merge"] = sensor_record(cfg, used, manifest.data.get("verified", {}))
    return p


def missing_inputs(cfg: RunConfig, used: list, manifest: Manifest) -> dict[str, Any]:
    """The expected dates with no granule and, per date, the expected tiles without a usable
    granule (absent, or failed: see the manifest's failures)."""
    inv = manifest.data.get("inventory", {})
    dates = list(inv.get("missing_dates", []))
    have: dict[str, set[str]] = {}
    for g in used:
        have.setdefault(g.start_date.isoformat(), set()).add(g.tile_id)
    tiles = inv.get("tiles") or sorted({t for v in have.values() for t in v})
    expected = [d for d in inv.get("dates", sorted(have)) if d not in dates]
    out: dict[str, list[str]] = {}
    for d in expected:
        gone = sorted(set(tiles) - have.get(d, set()))
        if gone:
            out[d] = gone
    return {"dates": sorted(dates + [d for d in out if not have.get(d)]),
            "tiles": {d: t for d, t in out.items() if have.get(d)}}


def lost_by_date(manifest: Manifest, work: Any) -> dict[str, int]:
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
    Zarr store is complete).

    Parameters
    ----------
    cfg
        The run configuration (``[output]`` dir and name).

    Returns
    -------
    pathlib.Path
        ``<output dir>/.<name>.stage``.
    """
    return cfg.resolve(cfg.output.dir) / f".{cfg.output.name}.stage"


def write_period_outputs(cfg: RunConfig, stores: dict[str, Path], out_dir: Path, prov: Any,
                         manifest: Manifest, summary: RunSummary, progress: bool,
                         writers: tuple, client: Any = None, threads: int = 0) -> None:
    """The per-period files of ``[output] formats`` (NetCDF, COG, BEPS), the quicklooks and
    the STAC catalog, read back from the finished Zarr stores
    (:func:`~modisoft.pipeline.series.output_stores`); each kind skipped when ``manifest``
    has it, each file checked to lie inside ``out_dir``, the files listed in ``summary``,
    each carrying ``prov``.  ``writers``: ``(write_netcdf, write_cog, write_beps,
    BepsOptions)`` from :mod:`modisoft.write`; ``progress``: show the outputs' progress.

    With a dask.distributed ``client`` they are written by one task on one of its workers
    (which reads the store window by window with ``threads`` threads), so the client's
    memory holds none of them; ``manifest``, ``summary`` and ``prov`` get what the task
    recorded.  Without one (``None``), here, on the synchronous scheduler.
    """
    if client is None:
        _written(cfg, stores, out_dir, prov, manifest, summary, progress, writers, threads)
        return
    fut = client.submit(_written, cfg, stores, out_dir, prov, manifest, summary, False,
                        writers, threads, pure=False, key=f"modisoft-outputs-{cfg.digest()[:12]}")
    with click.progressbar(length=1, label="outputs", show_pos=True,
                           file=None if progress else io.StringIO()) as bar:
        done, got, extra = fut.result()  # re-raises the task's error here
        bar.update(1)
    manifest.data["done"] = done
    summary.outputs.update(got.outputs)
    summary.beps, summary.no_metadata = got.beps, got.no_metadata
    prov.extra.update(extra)


def _written(cfg: RunConfig, stores: dict[str, Path], out_dir: Path, prov: Any,
             manifest: Manifest, summary: RunSummary, progress: bool, writers: tuple,
             threads: int) -> tuple[list[str], RunSummary, dict[str, Any]]:
    """:func:`write_period_outputs` in this process: the manifest's finished keys, the
    summary and the provenance's extra records after it."""
    import dask

    from modisoft.write import confined_to

    with warnings_to_log(), confined_to(out_dir), dask.config.set(
            scheduler="threads" if threads else "synchronous"):
        _period_outputs(cfg, stores, out_dir, prov, manifest, summary, progress, writers)
    return manifest.data["done"], summary, prov.extra


def _period_outputs(cfg: RunConfig, stores: dict[str, Path], out_dir: Path, prov: Any,
                    manifest: Manifest, summary: RunSummary, progress: bool,
                    writers: tuple) -> None:
    write_netcdf, write_cog, write_beps, BepsOptions = writers
    o = cfg.output
    def opened(store: Path) -> Any:
        ds = open_stack(store)
        return ds.assign_coords({k: ds[k].compute() for k in ds.coords  # not 2-D lat/lon
                                 if k not in ds.dims and ds[k].ndim <= 1})

    ds = opened(stores["lai"])
    lai = ds[output_quantity(cfg).name]
    summary.no_metadata = missing_metadata(cfg)
    fc = ds.get("fill_class")
    kinds = [k for k in ("netcdf", "cog", "beps") if k in o.formats] + ["stac"]
    with click.progressbar(length=len(kinds) + o.quicklooks, label="outputs", show_pos=True,
                           file=None if progress else io.StringIO()) as bar:
        if "netcdf" in o.formats:
            path = out_dir / f"{o.name}.nc"
            if not manifest.is_done("netcdf"):
                write_netcdf(ds, path, provenance=prov)
                manifest.mark_done("netcdf")
            summary.outputs["netcdf"] = [str(path)]
            bar.update(1)
            release_memory()
        if "cog" in o.formats:
            d = output_subdir(out_dir, "cog")
            if not manifest.is_done("cog"):
                write_cog(lai, d, name=o.name, provenance=prov)
                manifest.mark_done("cog")
            summary.outputs["cog"] = _listing(d, "*.tif")
            bar.update(1)
            release_memory()
        if "beps" in o.formats:
            d = output_subdir(out_dir, "beps")
            if not manifest.is_done("beps"):
                extra: dict[str, Any] = {}
                if cfg.steps.lai == "retrieve":  # fill_class holds LAI_FLAGS codes
                    extra["nonveg_classes"] = NONVEG_FLAGS
                src = opened(stores["beps"])["lai"] if "beps" in stores else lai
                landcover, lc_desc = beps_landcover(cfg, lai)
                prov.extra["beps_landcover"] = lc_desc or {"from": "mask of the LAI"}
                write_beps(src, d, stem=o.beps_stem, fill_class=fc, provenance=prov,
                           landcover=landcover, clumping=ds.get("omega"),
                           observed=observed_spans(cfg, prov),
                           options=beps_options(cfg, BepsOptions, **extra))
                manifest.mark_done("beps")
            summary.beps = json.loads((d / "beps.json").read_text())
            summary.beps["period"] = cfg.steps.period
            summary.outputs["beps"] = [str(d / f["name"]) for f in summary.beps["files"]]
            bar.update(1)
            release_memory()
        _catalog(cfg, ds, stores, out_dir, prov, summary)
        bar.update(1)
        if o.quicklooks:
            d = output_subdir(out_dir, "quicklooks")
            if not manifest.is_done("quicklooks"):
                _quicklooks(lai, fc, d, progress)
                manifest.mark_done("quicklooks")
            summary.outputs["quicklooks"] = _listing(d, "*.png")
            bar.update(1)
            release_memory()


def _catalog(cfg: RunConfig, ds: Any, stores: dict, out_dir: Path, prov: Any,
             summary: RunSummary) -> None:
    """The run's STAC catalog: an Item per COG, the NetCDF and Zarr as Collection assets."""
    from modisoft.grids import Grid
    from modisoft.write import CogFile, write_stac

    cogs = [CogFile.from_sidecar(Path(f + ".json")) for f in summary.outputs.get("cog", [])]
    files = {"zarr": stores["lai"], **{k: Path(v[0]) for k, v in summary.outputs.items()
                                       if k == "netcdf"}}
    path = write_stac(out_dir, cogs, grid=Grid.from_xarray(ds), provenance=prov, assets=files,
                      collection_id=cfg.output.name, title=prov.metadata["title"],
                      description=prov.metadata["summary"],
                      license=prov.metadata.get("license", "other"))
    summary.outputs["stac"] = [str(path)]


def _listing(d: Path, pattern: str) -> list[str]:
    """The finished files of ``d`` (never a hidden temporary of an unfinished write)."""
    return sorted(str(p) for p in d.glob(pattern) if not p.name.startswith("."))


def _quicklooks(lai: Any, fc: Any, d: Path, progress: bool) -> None:
    from modisoft.plot import plot_map

    for k in range(lai.sizes["time"]):
        one = lai.isel(time=k)
        label = str(one["period_label"].values) if "period_label" in one.coords else \
            str(one.time.values)[:10]
        top = one.attrs.get("valid_max")
        plot_map(one, d / f"{lai.name}_{label}.png", title=f"{str(lai.name).upper()} {label}",
                 vmax=8 if lai.name == "lai" else top, fill_class=fc)
