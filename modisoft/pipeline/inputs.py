"""The run's inputs, opened lazily: per tile a ``(time, y, x)`` stack of the granules' layers,
and the static rasters a retrieval reads (land cover, clumping) on the output grid.

Nothing here reads pixels: granules are opened for their metadata, and the arrays stay dask
arrays until a task of the run computes them.  A granule that does not open is recorded in the
manifest and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.catalog import GRANULE_SUFFIXES, RASTER_SUFFIXES, find_files
from modisoft.errors import (
    GranuleReadError,
    LandcoverError,
    ModisoftError,
    NoReadableInputError,
)
from modisoft.pipeline.inventory import Inventory
from modisoft.pipeline.schema import ConfigError, RunConfig, clumping_kind
from modisoft.pipeline.sensors import lai_layers, merge_granules, open_layers
from modisoft.write._common import sha256

__all__ = [
    "clumping_on_grid",
    "lai_layers",
    "landcover_on_grid",
    "open_layers",
    "open_stacks",
    "readable_granules",
    "stack_tiles",
    "verified_granules",
    "static_method",
    "expand_static",
]


def verified_granules(inv: Inventory, want: list[str] | dict[str, list[str]], manifest: Any,
                      echo: Callable[[str], None], *, processes: int = 1,
                      qa_rule: str | None = None) -> list:
    """Verify every granule of ``inv`` — open it and read every block of ``want`` — in
    ``processes`` reader processes (:func:`~modisoft.pipeline.verify.verify_granules`), so
    that a granule that fails or crashes its reader is recorded and left out before any
    worker touches it.

    Parameters
    ----------
    inv, manifest, echo
        As for :func:`readable_granules`.
    want
        The layers to read (per product, ``{product: layers}``, in a multi-sensor run).
    processes
        Reader processes (at least one: ``0``, a run without workers, means one).
    qa_rule
        The run's QA rule, to count each granule's good, cloudy, fill and non-vegetated
        pixels as it is verified (``"shares"`` of the manifest's record).

    Returns
    -------
    list of Granule
        The granules that passed, in inventory order (each failure recorded in ``manifest``
        and named through ``echo``).
    """
    from modisoft.pipeline.verify import verify_granules

    granules = inv.granules
    found = {}
    for prod, layers in (want.items() if isinstance(want, dict) else [(None, want)]):
        found |= verify_granules([str(g.path) for g in granules if prod in (None, g.product)],
                                 layers, manifest.data.get("verified", {}),
                                 processes=max(1, processes), echo=echo, qa_rule=qa_rule)
    manifest.data["verified"] = found
    for g in granules:
        r = found[str(g.path)]
        if not r["ok"]:
            manifest.add_failure(g.path, r["reason"], r["stage"])
            again = ", unchanged since the last run" if r.get("reused") else ""
            echo(f"skipping {Path(g.path).name} ({r['stage']}{again}): {r['reason']}")
    return [g for g in granules if found[str(g.path)]["ok"]]


def readable_granules(inv: Inventory, want: list[str] | dict[str, list[str]], manifest: Any,
                      echo: Callable[[str], None], *, processes: int = 0,
                      qa_rule: str | None = None) -> Iterator[tuple[Any, Any, np.datetime64]]:
    """The granules of ``inv`` that open, with the layers ``want``.

    Parameters
    ----------
    inv
        The run's inventory.
    want
        The layers to open (per product, ``{product: layers}``, in a multi-sensor run).
    manifest
        Where a granule that does not open is recorded (``add_failure(path, reason, stage)``).
    echo
        Where the message about a skipped granule goes.
    processes
        When > 0 (the main process of a run), first verify every granule in that many reader
        processes (:func:`verified_granules`) and open only those that passed.
    qa_rule
        With ``processes``: the run's QA rule (:func:`verified_granules`).

    Returns
    -------
    iterator of (Granule, xarray.Dataset, numpy.datetime64)
        Per granule that opens: the granule, its lazy layers (each carrying the granule's
        ``registry_product``) and its date.
    """
    from modisoft.io.granule import open_granule

    granules = inv.granules
    if processes:
        granules = verified_granules(inv, want, manifest, echo, processes=processes,
                                     qa_rule=qa_rule)
    for g in granules:
        layers = want[g.product] if isinstance(want, dict) else want
        try:
            ds = open_granule(g.path, layers)
        except (ModisoftError, OSError) as exc:
            manifest.add_failure(g.path, str(exc), "open")
            echo(f"skipping {Path(g.path).name}: {exc}")
            continue
        if "registry_product" in ds.attrs:
            for v in layers:
                ds[v].attrs["registry_product"] = ds.attrs["registry_product"]
        yield g, ds, np.datetime64(g.start_date, "ns")


def stack_tiles(by_tile: dict[str, list]) -> list:
    """Per tile, in tile order, the ``time`` stack of its one-date arrays.

    Parameters
    ----------
    by_tile
        ``{tile id: [one-date (time, y, x) arrays, in date order]}``.

    Returns
    -------
    list of xarray.DataArray
    """
    import xarray as xr

    return [xr.concat(parts, "time", combine_attrs="override") if len(parts) > 1 else parts[0]
            for _, parts in sorted(by_tile.items())]


def open_stacks(cfg: RunConfig, inv: Inventory, manifest: Any, echo: Callable[[str], None],
                *, mask: Callable[[Any, Any, RunConfig], Any]) -> tuple[list, list, list]:
    """The LAI layer of every readable granule as lazy per-tile stacks.

    Parameters
    ----------
    cfg, inv, manifest, echo
        As for :func:`readable_granules`.
    mask
        ``mask(values, qa, cfg)``: the QA rule applied at source
        (:func:`modisoft.pipeline.qa.mask_at_source`), used unless the QA gives weights.

    Returns
    -------
    (list, list, list)
        Per tile a lazy ``(time, y, x)`` stack of the LAI layer (QA rule applied at source;
        a multi-sensor run's sensors merged, :func:`~modisoft.pipeline.sensors.merge_granules`);
        per tile a stack of its QA layer when the QA gives weights, of the ``sensor`` codes in
        a multi-sensor run (else empty); the granules used.

    Raises
    ------
    ConfigError
        When no granule can be read.
    """
    layer, want = lai_layers(cfg)
    lai_by_tile: dict[str, list] = {}
    qa_by_tile: dict[str, list] = {}
    used, merge = [], {}
    for g, ds, t in readable_granules(inv, open_layers(cfg), manifest, echo):
        used.append(g)
        if cfg.inputs.products:  # a multi-sensor run: merged per tile and date below
            lay, w = lai_layers(cfg, g.product)
            qa = ds[w[1]] if len(w) == 2 else ds[w[1:]] if len(w) > 2 else None
            merge.setdefault((g.tile_id, t), []).append((g.product, ds[lay], qa))
            continue
        values = ds[layer]
        if len(want) > 1 and not cfg.steps.weights:
            values = mask(values, ds[want[1]] if len(want) == 2 else ds[want[1:]], cfg)
        elif len(want) > 1:
            qa_by_tile.setdefault(g.tile_id, []).append(ds[want[1]].expand_dims(time=[t]))
        lai_by_tile.setdefault(g.tile_id, []).append(values.expand_dims(time=[t]))
    for (tile, t), items in merge.items():  # the sensor codes take the QA layers' place
        for by, da in zip((lai_by_tile, qa_by_tile), merge_granules(items, cfg, layer),
                          strict=True):
            by.setdefault(tile, []).append(da.expand_dims(time=[t]))
    if not used:
        raise NoReadableInputError(len(inv.granules))
    return stack_tiles(lai_by_tile), stack_tiles(qa_by_tile), used


# ----------------------------------------------------------------- static inputs of a retrieval
def _read_raster(path: Any, kind: str) -> Any:
    from modisoft.io.rasters import read_raster

    try:
        return read_raster(path, kind=kind)
    except GranuleReadError as exc:
        raise ConfigError(str(exc)) from None


def expand_static(cfg: RunConfig, patterns: tuple[str, ...] | list[str], key: str
                  ) -> list[Path]:
    """The files of a static input's patterns (``key`` as ``"[lai] landcover"``), or a
    :class:`~modisoft.errors.ConfigError` naming the pattern that matches nothing."""
    out, unmatched = find_files(patterns, suffixes=RASTER_SUFFIXES + GRANULE_SUFFIXES,
                                base=cfg.base_dir)
    if unmatched:
        pattern = unmatched[0]
        raise ConfigError(f"{key}: nothing matches {pattern!r} (looked for "
                          f"{cfg.resolve(pattern)})")
    if not out:
        raise ConfigError(f"{key}: no file found under {', '.join(patterns)}")
    return out


def static_method(cfg: RunConfig) -> str:
    """How a POLDER-coded clumping raster is resampled: ``mode`` with area resampling, else
    ``nearest`` (land cover goes by mode whatever the resampling: :func:`landcover_on_grid`)."""
    return "mode" if cfg.steps.resampling in ("average", "mode") else "nearest"


def landcover_on_grid(cfg: RunConfig, grid: Any, table: str = "lai") -> tuple[Any, list[str]]:
    """The ``[lai] landcover`` (or ``[beps] landcover``) codes on ``grid`` and the files used.

    The files (MCD12Q1 granules or GeoTIFF/COG rasters in any CRS) are read and resampled by
    mode (nearest onto pixels no larger than theirs) by
    :func:`modisoft.lai.landcover.resample_landcover`; an error names the key and the file
    (:class:`~modisoft.errors.ConfigError`)."""
    from modisoft.lai.landcover import resample_landcover

    tab = getattr(cfg, table)
    files = expand_static(cfg, tab.landcover, f"[{table}] landcover")
    try:
        lc = resample_landcover(files, grid, layer=tab.landcover_layer, chunks=cfg.output.chunk)
    except LandcoverError as exc:
        raise ConfigError(f"[{table}] landcover: {exc}") from None
    return lc, [str(f) for f in files]


def clumping_on_grid(cfg: RunConfig, grid: Any, cover: Any) -> tuple[Any, dict[str, Any]]:
    """What :func:`~modisoft.lai.retrieve_lai` takes as ``clumping`` (None: per cover type;
    a uint8 POLDER-coded or float Omega ``DataArray`` on ``grid``), and its description."""
    import xarray as xr

    from modisoft.warp import mosaic

    kind = clumping_kind(cfg)
    c = cfg.lai.clumping
    if kind == "table":
        src = "shipped default (BEPS_D values)" if c == "table" else str(cfg.resolve(c))
        desc = {"kind": "per cover type", "table": src}
        if c != "table":
            desc["sha256"] = sha256(cfg.resolve(c))
        return None, desc
    if kind == "number":
        om = xr.full_like(cover, float(c), dtype="float64")
        om.attrs = {"long_name": "clumping index", "units": "1"}
        return om, {"kind": "one value everywhere", "omega": float(c)}
    path = cfg.resolve(c)
    ras = _read_raster(path, "value")
    is_int = ras.dtype.kind in "ui"
    if is_int:
        ras.attrs["kind"] = "class"
        ras.attrs.pop("fill_values", None)  # 253/254/255 stay as POLDER codes
        method = static_method(cfg)
        nodata = 255
    else:
        method = "average" if cfg.steps.resampling == "average" else "nearest"
        nodata = np.nan
    om = mosaic([ras], grid, method=method, chunks=cfg.output.chunk, nodata=nodata)
    desc = {
        "kind": "per pixel raster",
        "path": str(path),
        "bytes": path.stat().st_size,
        "encoding": "POLDER uint8 (Omega x 100; 253 non-vegetated, 254 water, 255 none)"
        if is_int
        else "Omega as float",
        "resampling": method,
    }
    return om, desc
