"""LAI from reflectance: index → effective LAI per cover type → true LAI = LAIe / Ω.

:func:`retrieve_kernel` is the pure-numpy kernel (per-type curves applied by masks);
:func:`retrieve_lai` is the xarray/dask edge the national run calls as its ``lai`` step.
Every pixel gets a flag (:data:`LAI_FLAGS`) saying what happened to it, so nothing is NaN
without a reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from modisoft.errors import ModisoftError, RetrievalError
from modisoft.grids import Grid
from modisoft.lai.cover import decode_polder_clumping, map_cover
from modisoft.lai.curves import Curve, curve_lai
from modisoft.lai.indices import find_bands, spectral_index
from modisoft.lai.landcover import resample_landcover
from modisoft.lai.params import NOT_VEGETATED, UNMAPPED, LaiParams, default_params

__all__ = ["LAI_FLAGS", "NONVEG_FLAGS", "RetrievalError", "retrieve_kernel", "retrieve_lai"]

LAI_FLAGS = {
    0: "retrieved",
    1: "saturated (index at or above the curve's top: LAIe = lai_max)",
    2: "below soil line (index at or below the curve's LAIe = 0 value: LAIe = 0)",
    10: "not vegetated (cover class coded, not retrieved)",
    11: "land cover fill or class not in the mapping",
    12: "index invalid (reflectance fill, negative reflectance or zero denominator)",
    13: "clumping invalid at this pixel (POLDER 253/254/255 or fill)",
    14: "no curve for this cover type and index",
}


NONVEG_FLAGS = (10,)
"""The :data:`LAI_FLAGS` codes of non-vegetated pixels (a BEPS writer's non-vegetated class)."""


def retrieve_kernel(
    index: np.ndarray,
    cover: np.ndarray,
    omega: np.ndarray,
    curves: Mapping[int, Curve],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kernel: (true LAI, effective LAI, flag) from index, cover codes and per-pixel Ω.

    ``omega`` is Ω per pixel (NaN where invalid), already filled from the per-type table where
    no map is used.  ``curves`` maps cover codes (1..n) to their curve.
    """
    index = np.asarray(index, "float64")
    cover = np.broadcast_to(np.asarray(cover), index.shape)
    omega = np.broadcast_to(np.asarray(omega, "float64"), index.shape)
    laie = np.full(index.shape, np.nan, dtype="float32")
    flag = np.full(index.shape, 14, dtype="uint8")
    for code, curve in curves.items():
        sel = cover == code
        if sel.any():
            laie[sel], flag[sel] = curve_lai(curve, index[sel])
    flag[~np.isfinite(index)] = 12
    flag[(flag < 10) & ~(np.isfinite(omega) & (omega > 0))] = 13
    flag[cover == UNMAPPED] = 11
    flag[cover == NOT_VEGETATED] = 10
    laie = np.where(flag < 10, laie, np.nan).astype("float32")
    with np.errstate(divide="ignore", invalid="ignore"):
        lai = np.where(flag < 10, laie / omega, np.nan).astype("float32")
    return lai, laie, flag


def _cover(landcover: Any, params: LaiParams, layer: str | None, grid: Grid | None,
           chunks: Any) -> Any:
    """Cover codes from the land cover, resampled by mode onto ``grid`` (the reflectance's)
    when it is a file or lies on another grid."""
    import xarray as xr

    name = layer or params.mapping.name
    if isinstance(landcover, (str, os.PathLike)):
        if grid is None:
            raise RetrievalError(
                f"land cover {os.fspath(landcover)}: the reflectance has no grid to resample "
                "it onto (no spatial_ref); pass the land cover as an array on its grid"
            )
        landcover = resample_landcover(landcover, grid, layer=name, chunks=chunks)
    if isinstance(landcover, xr.Dataset):
        if name not in landcover.data_vars:
            raise RetrievalError(
                f"land cover: no layer {name!r}; layers: {', '.join(map(str, landcover.data_vars))}"
            )
        landcover = landcover[name]
    if landcover.attrs.get("long_name") == "LAI cover type":
        return landcover
    if grid is not None:
        own = _grid_or_none(landcover)
        if own is not None and not own.almost_equals(grid):
            landcover = resample_landcover(landcover, grid, chunks=chunks)
    return map_cover(landcover, params.mapping)


def _grid_or_none(a: Any) -> Grid | None:
    try:
        return Grid.from_xarray(a)
    except (ModisoftError, KeyError, ValueError):
        return None


def _reflectance_grid(reflectance: Any, bands: Mapping[str, str] | None) -> Grid | None:
    """The grid of the reflectance's bands (of the red band in a Dataset), if it has one."""
    import xarray as xr

    if isinstance(reflectance, xr.Dataset):
        try:
            red = find_bands(reflectance, bands).get("red")
        except ModisoftError:
            red = None
        if red is None:
            return None
        reflectance = reflectance[red]
    return _grid_or_none(reflectance)


def _chunks_of(idx: Any) -> Any:
    sizes = getattr(idx, "chunksizes", None) or {}
    if "y" in sizes and "x" in sizes:
        return (max(sizes["y"]), max(sizes["x"]))
    return 1024


def _omega(clumping: Any, cover: Any, params: LaiParams) -> tuple[Any, str]:
    """Ω per pixel as a float DataArray, and a description of where it came from."""
    import xarray as xr

    table = np.full(256, np.nan)
    for code, ct in enumerate(params.mapping.cover_types, start=1):
        if ct in params.omega:
            table[code] = params.omega[ct]
    if clumping is None:
        om = xr.apply_ufunc(
            lambda c: table[np.asarray(c, "int64")],
            cover,
            dask="parallelized",
            output_dtypes=[np.float64],
        )
        desc = "per cover type: " + ", ".join(f"{k}={v:g}" for k, v in params.omega.items())
        return om, desc
    if np.dtype(clumping.dtype).kind in "ui":
        om = xr.apply_ufunc(
            lambda d: decode_polder_clumping(d)[0],
            clumping,
            dask="parallelized",
            output_dtypes=[np.float32],
        )
        return om, "per pixel: POLDER encoding (uint8 Omega x 100; 253/254/255 classes)"
    return clumping.astype("float64"), "per pixel: Omega values as given"


def _same_grid(a: Any, b: Any, what: str) -> None:
    for d in ("y", "x"):
        if d in a.dims and d in b.dims and a.sizes[d] != b.sizes[d]:
            raise RetrievalError(
                f"{what} is on another grid ({d}: {b.sizes[d]} vs {a.sizes[d]} pixels); "
                "reproject it first (modisoft.warp / `modisoft mosaic`)"
            )


def retrieve_lai(
    reflectance: Any,
    landcover: Any,
    params: LaiParams | None = None,
    *,
    clumping: Any = None,
    index: str = "SR",
    landcover_layer: str | None = None,
    bands: Mapping[str, str] | None = None,
    swir: tuple[float, float] | str | None = None,
    return_dataset: bool = False,
) -> Any:
    """Retrieve true LAI from reflectance per cover type, lazily.

    Parameters
    ----------
    reflectance
        Decoded reflectance ``Dataset`` (any source :func:`~modisoft.lai.spectral_index`
        knows), or an index ``DataArray`` already computed (its ``index`` attribute must match).
    landcover
        Land-cover codes: a file (GeoTIFF/COG in any CRS, or an MCD12Q1 granule, read with
        :func:`~modisoft.lai.landcover.open_landcover`), a ``DataArray``, or a ``Dataset``
        holding ``landcover_layer`` (default the mapping's layer name, e.g. ``LC_Type1``); or
        cover codes from :func:`~modisoft.lai.cover.map_cover` (on the reflectance's grid).
        Codes on another grid than the reflectance's (a file, or a georeferenced array) are
        resampled onto it by mode (:func:`~modisoft.lai.landcover.resample_landcover`); the
        codes are taken as stored and mapped to cover types by ``params``' mapping.
    params
        Curves, Ω per type and the cover mapping (default: :func:`default_params`).
    clumping
        ``None``: Ω per cover type from ``params``.  A uint8 ``DataArray``: the POLDER
        encoding per pixel.  A float ``DataArray``: Ω per pixel.
    index
        ``SR`` (default), ``RSR``, ``NDVI``, ``MSR`` or ``EVI``: the curves used must exist for
        that index.
    swir
        RSR only: ``(SWIRmin, SWIRmax)`` fixed, ``"scene"`` for the scene's 1/99 percentiles,
        or ``None`` for the bounds the curves were derived with (recorded in the curve table).
    return_dataset
        Return a ``Dataset`` with ``lai``, ``lai_effective``, ``lai_flag``, ``omega``, ``cover``
        and the index, instead of the ``lai`` ``DataArray``.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        ``lai`` float32 m² m⁻² (true LAI), NaN wherever the flag is ≥ 10.

    Raises
    ------
    RetrievalError
        When grids differ (and the land cover cannot be resampled: no georeferencing), no
        curve exists for the index, or the inputs are of the wrong kind.
    LandcoverError
        When the land cover is not a raster or granule, or does not overlap the reflectance.

    Examples
    --------
    >>> refl = decode(open_granule("MOD09A1....hdf"))  # doctest: +SKIP
    >>> lc = open_granule("MCD12Q1....hdf", ["LC_Type1"])  # doctest: +SKIP
    >>> lai = retrieve_lai(refl, lc)  # doctest: +SKIP
    >>> lai = retrieve_lai(refl, "landcover_utm.tif")  # any CRS: mode onto the refl grid
    ... # doctest: +SKIP
    """
    import xarray as xr

    params = params or default_params()
    key = index.upper()
    curves = {
        code: params.curve(ct, key) for code, ct in enumerate(params.mapping.cover_types, start=1)
    }
    curves = {k: v for k, v in curves.items() if v is not None}
    if not curves:
        raise RetrievalError(f"the curve table {params.curves_path} has no {key} curves")
    if isinstance(reflectance, xr.DataArray):
        if str(reflectance.attrs.get("index", key)).upper() != key:
            raise RetrievalError(
                f"the index given is {reflectance.attrs.get('index')}, the retrieval asks {key}"
            )
        idx = reflectance
    else:
        kw: dict[str, Any] = {"bands": bands}
        if key == "RSR":
            if swir is None:
                bounds = {
                    (c.extra.get("swir_min"), c.extra.get("swir_max")) for c in curves.values()
                }
                if len(bounds) != 1 or None in next(iter(bounds)):
                    raise RetrievalError("RSR curves carry no single swir_min/swir_max; pass swir=")
                swir = next(iter(bounds))
            if swir != "scene":
                kw.update(swir_min=float(swir[0]), swir_max=float(swir[1]))
        idx = spectral_index(reflectance, key, **kw)
    cover = _cover(landcover, params, landcover_layer, _reflectance_grid(reflectance, bands),
                   _chunks_of(idx))
    _same_grid(idx, cover, "land cover")
    omega, om_desc = _omega(clumping, cover, params)
    if clumping is not None:
        _same_grid(idx, clumping, "clumping")
    out = _apply(idx, cover, omega, curves)
    lai, laie, flag = out
    prov = {
        "index": key,
        "index_attrs": "; ".join(
            f"{k}={v}"
            for k, v in idx.attrs.items()
            if k in ("bands", "swir_mode", "swir_min", "swir_max")
        ),
        "curves": params.curves_path,
        "curve_sources": "; ".join(sorted({c.source for c in curves.values()})),
        "clumping": om_desc,
        "cover_mapping": f"{params.mapping.name} ({params.mapping.source})",
    }
    gm = {k: v for k, v in idx.attrs.items() if k == "grid_mapping"}
    lai.attrs = {
        "long_name": "leaf area index (true, LAIe / Omega)",
        "units": "m2 m-2",
        "lai_kind": "true",
        **prov,
        **gm,
    }
    laie.attrs = {
        "long_name": "effective leaf area index",
        "units": "m2 m-2",
        "lai_kind": "effective",
        **gm,
    }
    flag.attrs = {
        "long_name": "LAI retrieval flag",
        "flag_values": np.array(list(LAI_FLAGS), dtype="uint8"),
        "flag_meanings": " ".join(v.split(" (")[0].replace(" ", "_") for v in LAI_FLAGS.values()),
        "comment": "; ".join(f"{k}: {v}" for k, v in LAI_FLAGS.items()),
        **gm,
    }
    lai.name = "lai"
    if not return_dataset:
        return lai
    om = omega.astype("float32")
    om.attrs = {"long_name": "clumping index", "units": "1", "source": om_desc, **gm}
    return xr.Dataset(
        {
            "lai": lai,
            "lai_effective": laie,
            "lai_flag": flag,
            "omega": om,
            "cover": cover,
            key: idx,
        },
        attrs={"history": "modisoft.lai.retrieve_lai"},
    )


def _apply(idx: Any, cover: Any, omega: Any, curves: Mapping[int, Curve]) -> tuple[Any, Any, Any]:
    import xarray as xr

    def k_lai(i, c, o):
        return retrieve_kernel(i, c, o, curves)[0]

    def k_laie(i, c, o):
        return retrieve_kernel(i, c, o, curves)[1]

    def k_flag(i, c, o):
        return retrieve_kernel(i, c, o, curves)[2]

    common = {"dask": "parallelized", "keep_attrs": False}
    lai = xr.apply_ufunc(k_lai, idx, cover, omega, output_dtypes=[np.float32], **common)
    laie = xr.apply_ufunc(k_laie, idx, cover, omega, output_dtypes=[np.float32], **common)
    flag = xr.apply_ufunc(k_flag, idx, cover, omega, output_dtypes=[np.uint8], **common)
    return lai, laie, flag
