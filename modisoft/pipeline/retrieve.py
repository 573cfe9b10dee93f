"""The ``lai = "retrieve"`` step of a national run: reflectance granules → LAI.

Per granule the red / NIR (/ SWIR) reflectance layers are opened and the QA rule is applied at
source resolution exactly as for LAI products; each band is mosaicked onto the output grid
and decoded; the land cover (MCD12Q1 granules or a GeoTIFF) and an optional clumping raster
are mosaicked onto the same grid (``nearest``, or ``mode`` with area resampling); then
:func:`modisoft.lai.retrieve_lai` gives true LAI per date and the run's compositing or
smoothing proceeds as for products.  Pixels that never get a value carry their LAI
retrieval flag (:data:`modisoft.lai.LAI_FLAGS`) in ``fill_class``: 10 (not vegetated) is
written to BEPS as a non-vegetated pixel.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import ModisoftError
from modisoft.pipeline.config import ConfigError, RunConfig, clumping_kind, retrieval_params
from modisoft.pipeline.discover import Inventory
from modisoft.pipeline.manifest import Manifest
from modisoft.write._common import sha256

__all__ = [
    "NONVEG_FLAGS",
    "build_retrieval_output",
    "open_reflectance",
    "open_raster",
    "retrieval_bands",
]

NONVEG_FLAGS = (10,)
"""``fill_class`` codes (LAI retrieval flags) that BEPS receives as non-vegetated."""

_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")
_GRANULE_SUFFIXES = (".hdf", ".h5", ".he5", ".nc")


def retrieval_bands(cfg: RunConfig) -> dict[str, str]:
    """``{role: layer}`` of the reflectance layers the index needs (``red``, ``nir``, …)."""
    from modisoft.lai import find_bands
    from modisoft.lai.indices import _NEEDS
    from modisoft.pipeline.config import _Layers
    from modisoft.products import find_product

    product = find_product(cfg.inputs.product)
    names = [x.name for x in product.layers]
    found = find_bands(_Layers(names), cfg.lai.bands)
    return {r: found[r] for r in _NEEDS[cfg.lai.index.upper()]}


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
    from modisoft.pipeline.run import (
        _apply_source_mask,
        _readable,
        _source_mask,
        _stack_tiles,
    )

    layers = list(retrieval_bands(cfg).values())
    qa_names = _qa_layers(cfg)
    want = layers + [q for q in qa_names if q not in layers]
    by_layer: dict[str, dict[str, list]] = {name: {} for name in layers}
    qa_by_tile: dict[str, list] = {}
    used = []
    for g, ds, t in _readable(inv, want, manifest, echo):
        good = None
        if qa_names and not cfg.steps.weights:
            good = _source_mask(ds[qa_names], cfg)
        elif qa_names:
            qa_by_tile.setdefault(g.tile_id, []).append(ds[qa_names[0]].expand_dims(time=[t]))
        for name in layers:
            values = ds[name] if good is None else _apply_source_mask(ds[name], good, cfg)
            by_layer[name].setdefault(g.tile_id, []).append(values.expand_dims(time=[t]))
        used.append(g)
    if not used:
        raise ConfigError("[inputs] no granule could be read; see the failures above")
    stacks = {name: _stack_tiles(tiles) for name, tiles in by_layer.items()}
    qa = _stack_tiles(qa_by_tile)
    return stacks, qa, used


# ---------------------------------------------------------------------------- rasters
class _RasterBand:
    """Band 1 of a raster file as a lazily windowed array (pickles as its path)."""

    def __init__(self, path: str) -> None:
        import rasterio

        self.path = path
        with rasterio.open(path) as src:
            self.shape = (src.height, src.width)
            self.dtype = np.dtype(src.dtypes[0])
            self.nodata = src.nodata
            self.crs = src.crs
            self.transform = src.transform
        self.ndim = 2

    def __getitem__(self, key: Any) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        rows, cols = key
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        with rasterio.open(self.path) as src:
            return src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))


def open_raster(path: str | Path, *, kind: str = "class", chunk: int = 2048) -> Any:
    """Band 1 of a GeoTIFF (any raster rasterio opens) as a lazy georeferenced ``DataArray``
    that :func:`modisoft.warp.mosaic` accepts.

    Integer rasters keep their ``nodata`` as the fill value (255 for uint8, else the type's
    largest value, when the file has none).

    Raises
    ------
    ConfigError
        When the file cannot be opened or has no CRS.
    """
    import dask.array as da
    import xarray as xr

    from modisoft.grids import Grid

    try:
        band = _RasterBand(str(path))
    except Exception as exc:  # rasterio raises its own error types
        raise ConfigError(f"{path}: cannot open the raster: {exc}") from None
    if band.crs is None:
        raise ConfigError(f"{path}: the raster has no CRS")
    grid = Grid.from_crs(band.crs.to_wkt(), band.transform, band.shape)
    data = da.from_array(
        band,
        chunks=(chunk, chunk),
        asarray=True,
        name=f"raster-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}",
    )
    attrs: dict[str, Any] = {"grid_mapping": "spatial_ref", "kind": kind, "source_path": str(path)}
    if band.dtype.kind in "ui":
        nodata = band.nodata if band.nodata is not None else np.iinfo(band.dtype).max
        attrs["fill_values"] = np.array([nodata], dtype=band.dtype)
    da_ = xr.DataArray(
        data, dims=("y", "x"), coords=grid.xarray_coords(), name=Path(path).stem, attrs=attrs
    )
    return da_


def _expand(cfg: RunConfig, patterns: tuple[str, ...] | list[str], key: str) -> list[Path]:
    out: list[Path] = []
    for pattern in patterns:
        p = cfg.resolve(pattern)
        if p.is_dir():
            out += [
                q
                for q in sorted(p.rglob("*"))
                if q.suffix.lower() in _RASTER_SUFFIXES + _GRANULE_SUFFIXES
            ]
        else:
            hits = sorted(glob.glob(str(p)))
            if not hits:
                raise ConfigError(f"[lai] {key}: nothing matches {pattern!r} (looked for {p})")
            out += [Path(h) for h in hits if Path(h).is_file()]
    if not out:
        raise ConfigError(f"[lai] {key}: no file found under {', '.join(patterns)}")
    return sorted(set(out))


def _static_method(cfg: RunConfig) -> str:
    return "mode" if cfg.steps.resampling in ("average", "mode") else "nearest"


def landcover_on_grid(cfg: RunConfig, grid: Any) -> tuple[Any, list[str]]:
    """The ``[lai] landcover`` codes mosaicked onto ``grid`` and the files used."""
    from modisoft import open_granule
    from modisoft.warp import mosaic

    layer = cfg.lai.landcover_layer
    files = _expand(cfg, cfg.lai.landcover, "landcover")
    parts = []
    for f in files:
        if f.suffix.lower() in _RASTER_SUFFIXES:
            parts.append(open_raster(f, kind="class"))
            continue
        try:
            ds = open_granule(f, [layer])
        except (ModisoftError, OSError) as exc:
            raise ConfigError(
                f"[lai] landcover: {f}: cannot read layer {layer!r} (landcover_layer): {exc}"
            ) from None
        parts.append(ds[layer])
    lc = mosaic(parts, grid, method=_static_method(cfg), chunks=cfg.output.chunk, fuse="first")
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
    ras = open_raster(path, kind="value")
    is_int = ras.dtype.kind in "ui"
    if is_int:
        ras.attrs["kind"] = "class"
        ras.attrs.pop("fill_values", None)  # 253/254/255 stay as POLDER codes
        method = _static_method(cfg)
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

    from modisoft.lai import LAI_FLAGS, map_cover, retrieve_lai
    from modisoft.lai.params import data_path
    from modisoft.pipeline.run import _mosaic_decoded, _mosaic_qa, _series_inputs, _series_output

    lai_cfg = cfg.lai
    index = lai_cfg.index.upper()
    roles = retrieval_bands(cfg)
    refl = xr.Dataset()
    for name, stacks in band_stacks.items():
        refl[name] = _mosaic_decoded(cfg, stacks, grid)[0]
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
    qa = _mosaic_qa(cfg, qa_stacks, grid)
    class_attrs = {
        "long_name": "LAI retrieval flag of pixels without any retrieved value (0 = has values)",
        "grid_mapping": "spatial_ref",
        "source_layer": "lai_flag (modisoft.lai.LAI_FLAGS)",
        "flag_values": np.array([k for k in LAI_FLAGS if k >= 10], dtype="uint8"),
        "flag_meanings": " ".join(
            v.split(" (")[0].replace(" ", "_") for k, v in LAI_FLAGS.items() if k >= 10
        ),
        "nonveg_codes": np.array(NONVEG_FLAGS, dtype="uint8"),
    }
    out = _series_output(cfg, lai, classes, qa, grid, class_attrs=class_attrs)
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
            "resampling": _static_method(cfg),
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
        return out, prov, _series_inputs(cfg, lai, qa)
    return out, prov
