"""Layers from a file's own attributes and the registry-vs-file check (no file access)."""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.errors import RegistryMismatchWarning
from modisoft.products import Layer, Scaling

__all__ = ["RegistryMismatchWarning", "layer_from_attrs", "registry_mismatches"]


def layer_from_attrs(
    name: str, dtype: str, attrs: dict[str, Any], convention: str = "hdfeos"
) -> Layer:
    """A :class:`Layer` from a file's own attributes (for layers the registry lacks).

    Unpacking follows ``convention`` (``hdfeos`` for HDF4, ``cf`` for netCDF/HDF5); with no
    ``scale_factor`` an integer layer is treated as categorical and keeps its dtype.  A
    two-element ``_FillValue`` (VIIRS) gives two fill values.
    """
    fill = attrs.get("_FillValue")
    integer = np.issubdtype(np.dtype(dtype), np.integer)
    fills = tuple(int(v) for v in np.atleast_1d(fill)) if fill is not None and integer else ()
    vr = attrs.get("valid_range")
    valid = (vr[0], vr[1]) if isinstance(vr, list | tuple) and len(vr) == 2 else None
    scale = attrs.get("scale_factor")
    offset = attrs.get("add_offset", 0.0) or 0.0
    kind = "value" if scale is not None or not integer else "class"
    scaling = Scaling(float(scale), float(offset), convention) if scale is not None else None
    return Layer(
        name=name,
        dtype=dtype,
        kind=kind,
        units=str(attrs.get("units", "")),
        long_name=str(attrs.get("long_name", "")),
        scaling=scaling,
        valid_range=valid,
        fill_values=fills,
        source="file attributes",
    )


def _close(a: Any, b: Any) -> bool:
    return np.allclose(np.asarray(a, "float64"), np.asarray(b, "float64"), rtol=1e-7, atol=0)


def registry_mismatches(layer: Layer, dtype: str, attrs: dict[str, Any]) -> list[str]:
    """Where a file's attributes disagree with a registry layer (declared deviations excepted).

    Returns human-readable items such as ``"scale_factor 0.01 (registry 0.1)"``.
    """
    out = []
    if dtype != layer.dtype:
        out.append(f"dtype {dtype} (registry {layer.dtype})")
    fill = attrs.get("_FillValue")
    if (
        fill is not None
        and "_FillValue" not in layer.deviations
        and np.issubdtype(np.dtype(dtype), np.integer)
    ):
        fills = {int(v) for v in np.atleast_1d(fill)}
        if not fills <= set(layer.nodata_codes):
            out.append(f"_FillValue {sorted(fills)} (registry {list(layer.fill_values)})")
    vr = attrs.get("valid_range")
    if (
        vr is not None
        and layer.valid_range is not None
        and "valid_range" not in layer.deviations
        and not _close(vr, layer.valid_range)
    ):
        out.append(f"valid_range {list(vr)} (registry {list(layer.valid_range)})")
    scale = attrs.get("scale_factor")
    if scale is not None and "scale_factor" not in layer.deviations:
        if layer.scaling is None or not _close(scale, layer.scaling.scale):
            want = layer.scaling.scale if layer.scaling else None
            out.append(f"scale_factor {scale} (registry {want})")
        elif not _close(attrs.get("add_offset", 0.0) or 0.0, layer.scaling.offset):
            out.append(f"add_offset {attrs.get('add_offset')} (registry {layer.scaling.offset})")
    return out
