"""The ``lai = "retrieve"`` step of a national run: reflectance granules → LAI.

Per granule the red / NIR (/ SWIR) reflectance layers are opened and the QA rule is applied at
source resolution exactly as for LAI products; each band is mosaicked onto the output grid
and decoded; the land cover (MCD12Q1 granules or a GeoTIFF/COG in any CRS) is resampled onto
the same grid by mode (nearest onto pixels no larger than its own:
:func:`modisoft.lai.landcover.resample_landcover`), an optional
clumping raster by ``nearest`` (``mode`` with area resampling); then
:func:`modisoft.lai.retrieve_lai` gives true LAI per date and the run's compositing or
smoothing proceeds as for products.  Pixels that never get a value carry their LAI
retrieval flag (:data:`modisoft.lai.LAI_FLAGS`) in ``fill_class``: 10 (not vegetated) is
written to BEPS as a non-vegetated pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import NoReadableInputError
from modisoft.pipeline.inputs import (
    clumping_on_grid,
    landcover_on_grid,
    readable_granules,
    stack_tiles,
)
from modisoft.pipeline.inventory import Inventory
from modisoft.pipeline.manifest import Manifest
from modisoft.pipeline.mosaic import mosaic_decoded, mosaic_qa
from modisoft.pipeline.qa import apply_source_mask, source_mask
from modisoft.pipeline.schema import RunConfig, reflectance_bands, retrieval_params
from modisoft.pipeline.series import series_inputs, series_output
from modisoft.write._common import sha256

__all__ = [
    "build_retrieval_output",
    "open_reflectance",
    "retrieval_bands",
]


def retrieval_bands(cfg: RunConfig) -> dict[str, str]:
    """``{role: layer}`` of the reflectance layers the index needs (``red``, ``nir``, …), from
    the registry's roles of the product and ``[lai] bands``."""
    from modisoft.lai import INDEX_BANDS
    from modisoft.products import find_product

    found = reflectance_bands(find_product(cfg.inputs.product), cfg.lai.bands)
    return {r: found[r] for r in INDEX_BANDS[cfg.lai.index.upper()]}


def _qa_layers(cfg: RunConfig) -> list[str]:
    from modisoft.products import find_product

    if cfg.steps.qa_rule == "none" and not cfg.steps.weights:
        return []
    if cfg.inputs.qa_layer:
        return [cfg.inputs.qa_layer]
    return [x.name for x in find_product(cfg.inputs.product).qa_layers]


def open_reflectance(
    cfg: RunConfig, inv: Inventory, manifest: Manifest, echo: Callable[[str], None]
) -> tuple[dict[str, list], list, list]:
    """Per reflectance layer, the per-tile lazy ``(time, y, x)`` stacks (QA rule applied at
    source unless weights are used), the QA stacks (weights only) and the granules used."""
    layers = list(retrieval_bands(cfg).values())
    qa_names = _qa_layers(cfg)
    want = layers + [q for q in qa_names if q not in layers]
    by_layer: dict[str, dict[str, list]] = {name: {} for name in layers}
    qa_by_tile: dict[str, list] = {}
    used = []
    for g, ds, t in readable_granules(inv, want, manifest, echo, qa_rule=cfg.steps.qa_rule,
                                      processes=max(1, cfg.compute.workers)):
        good = None
        if qa_names and not cfg.steps.weights:
            good = source_mask(ds[qa_names], cfg)
        elif qa_names:
            qa_by_tile.setdefault(g.tile_id, []).append(ds[qa_names[0]].expand_dims(time=[t]))
        for name in layers:
            values = ds[name] if good is None else apply_source_mask(ds[name], good, cfg)
            by_layer[name].setdefault(g.tile_id, []).append(values.expand_dims(time=[t]))
        used.append(g)
    if not used:
        raise NoReadableInputError(len(inv.granules))
    stacks = {name: stack_tiles(tiles) for name, tiles in by_layer.items()}
    qa = stack_tiles(qa_by_tile)
    return stacks, qa, used

def build_retrieval_output(
    cfg: RunConfig,
    band_stacks: dict[str, list],
    qa_stacks: list,
    grid: Any,
    *,
    with_inputs: bool = False,
) -> tuple[Any, ...]:
    """The run's output Dataset computed from reflectance, and the ``retrieval`` provenance.

    Parameters
    ----------
    cfg
        A configuration with ``[steps] lai = "retrieve"``.
    band_stacks
        From :func:`open_reflectance`: per reflectance layer, per-tile stacks.
    qa_stacks
        QA stacks (only when ``[steps] weights`` is used).
    grid
        The output grid.
    with_inputs
        Also return the per-date retrieved LAI and its weights, as the series stage reads
        them (for the run's pixel check).

    Returns
    -------
    (xarray.Dataset, dict) or (xarray.Dataset, dict, (DataArray, DataArray))
        ``lai`` (true LAI per period), ``n_obs``, ``fill_class`` (LAI retrieval flag of pixels
        that never had a value, 0 elsewhere); the provenance of the retrieval step; with
        ``with_inputs``, the per-date LAI and weights.
    """
    import xarray as xr

    from modisoft.lai import LAI_FLAGS, NONVEG_FLAGS, map_cover, retrieve_lai
    from modisoft.lai.params import data_path

    lai_cfg = cfg.lai
    index = lai_cfg.index.upper()
    roles = retrieval_bands(cfg)
    refl = xr.Dataset()
    for name, stacks in band_stacks.items():
        refl[name] = mosaic_decoded(cfg, stacks, grid)[0]
    params = retrieval_params(cfg)
    landcover, lc_files = landcover_on_grid(cfg, grid)
    cover_codes = map_cover(landcover, params.mapping)
    clumping, clump_desc = clumping_on_grid(cfg, grid, cover_codes)
    kw: dict[str, Any] = {
        "index": index,
        "bands": roles,
        "clumping": clumping,
        "return_dataset": True,
    }
    swir = lai_cfg.swir
    swir_used: Any = None
    if index == "RSR" and swir in ("scene", "percentiles"):
        parts, swir_used = [], []
        for k in range(refl.sizes["time"]):
            one = retrieve_lai(refl.isel(time=[k]), cover_codes, params, swir="scene", **kw)
            parts.append(one)
            a = one[index].attrs
            swir_used.append(
                {
                    "time": str(refl.time.values[k])[:10],
                    "swir_min": float(a["swir_min"]),
                    "swir_max": float(a["swir_max"]),
                }
            )
        res = xr.concat(
            parts,
            "time",
            data_vars="minimal",
            coords="minimal",
            compat="override",
            combine_attrs="override",
        )
    else:
        sw = tuple(float(v) for v in swir) if isinstance(swir, list) else None
        res = retrieve_lai(refl, cover_codes, params, swir=sw, **kw)
        if index == "RSR":
            a = res[index].attrs
            swir_used = {"swir_min": float(a["swir_min"]), "swir_max": float(a["swir_max"])}
    # apply_ufunc drops the attributes of the grid-mapping coordinate: the grid's own is used
    lai = res["lai"].drop_vars("spatial_ref", errors="ignore")
    flag = res["lai_flag"].drop_vars("spatial_ref", errors="ignore")
    classes = flag.where(flag >= 10, 0).astype("uint8")
    qa = mosaic_qa(cfg, qa_stacks, grid)
    class_attrs = {
        "long_name": "LAI retrieval flag of pixels without any retrieved value (0 = has values)",
        "grid_mapping": "spatial_ref",
        "source_layer": "lai_flag (modisoft.lai.LAI_FLAGS)",
        "flag_values": np.array([0, *(k for k in LAI_FLAGS if k >= 10)], dtype="uint8"),
        "flag_meanings": " ".join(["has_values", *(
            v.split(" (")[0].replace(" ", "_") for k, v in LAI_FLAGS.items() if k >= 10)]),
        "nonveg_codes": np.array(NONVEG_FLAGS, dtype="uint8"),
    }
    out = series_output(cfg, lai, classes, qa, grid, class_attrs=class_attrs)
    c = cfg.output.chunk  # the clumping index used, per pixel (BEPS gets it too)
    out["omega"] = res["omega"].drop_vars("spatial_ref", errors="ignore").astype("float32") \
        .chunk({"y": c, "x": c}).assign_attrs(grid_mapping="spatial_ref")
    out["lai"].attrs.update(
        {
            "long_name": "leaf area index (true, LAIe / Omega), one-sided",
            "lai_kind": "true",
            "retrieval_index": index,
        }
    )
    curves = params.curves_path
    prov: dict[str, Any] = {
        "method": "retrieve",
        "index": index,
        "bands": roles,
        "swir": None
        if index != "RSR"
        else {
            "mode": "scene percentiles per date (1, 99)"
            if swir in ("scene", "percentiles")
            else "fixed (config)"
            if isinstance(swir, list)
            else "curve table",
            "limits": swir_used,
        },
        "params": {
            "curves": curves,
            "curves_sha256": sha256(Path(curves)),
            "default": lai_cfg.params == "default",
            "curve_sources": sorted({c.source for c in params.curves if c.index == index}),
        },
        "clumping": clump_desc
        | ({"omega_by_type": dict(params.omega)} if clumping is None else {}),
        "landcover": {
            "files": lc_files,
            "layer": lai_cfg.landcover_layer,
            "resampling": landcover.attrs["resampling_method"],
        },
        "cover_mapping": {
            "name": params.mapping.name,
            "source": params.mapping.source,
            "table": str(cfg.resolve(lai_cfg.cover_mapping))
            if lai_cfg.cover_mapping
            else str(data_path("landcover_mcd12q1.toml")),
        },
        "lai_kind": "true (LAIe / Omega)",
        "fill_class": "LAI retrieval flags: "
        + "; ".join(f"{k}: {v}" for k, v in LAI_FLAGS.items() if k >= 10),
    }
    if with_inputs:
        return out, prov, series_inputs(cfg, lai, qa)
    return out, prov
