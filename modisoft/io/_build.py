"""Pieces shared by the readers: layers from file attributes, the registry-vs-file check,
attributes of raw layers and datasets, chunk normalisation, and lazy dask arrays."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from modisoft.errors import RegistryMismatchWarning
from modisoft.products import Layer, Scaling

if TYPE_CHECKING:  # pragma: no cover
    from modisoft.io.granule import GranuleInfo

__all__ = [
    "layer_from_attrs",
    "registry_mismatches",
    "effective_layer",
    "raw_attrs",
    "dataset_attrs",
    "normalize_chunks",
    "lazy_array",
    "RegistryMismatchWarning",
]


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


def effective_layer(info: GranuleInfo, name: str, *, warn: bool = False) -> Layer:
    """The registry layer, or — when absent or contradicted by the file — the file's own."""
    meta = info.sds[name]
    convention = "hdfeos" if info.format == "hdf4" else "cf"
    reg = info.product.find_layer(name) if info.product is not None else None
    if reg is None:
        return layer_from_attrs(name, meta["dtype"], meta["attrs"], convention)
    problems = registry_mismatches(reg, meta["dtype"], meta["attrs"])
    if not problems:
        return reg
    if warn:
        warnings.warn(
            f"{info.path}: layer {name!r} disagrees with the registry: "
            + "; ".join(problems)
            + ". Using the file's own attributes.",
            RegistryMismatchWarning,
            stacklevel=3,
        )
    own = layer_from_attrs(name, meta["dtype"], meta["attrs"], convention)
    if reg.kind != "value":
        from dataclasses import replace

        own = replace(own, kind=reg.kind, scaling=None, bit_fields=reg.bit_fields)
    return own


def raw_attrs(info: GranuleInfo, name: str, layer: Layer, ref: str | None) -> dict[str, Any]:
    """Attributes of a raw layer: packing facts under non-CF names, kind, classes."""
    file_attrs = info.sds[name]["attrs"]
    out: dict[str, Any] = {"layer": name}
    if ref:
        out["grid_mapping"] = ref
    if layer.long_name or file_attrs.get("long_name"):
        out["long_name"] = layer.long_name or str(file_attrs["long_name"])
    out["kind"] = layer.kind
    if layer.fill_values:
        out["fill_values"] = np.array(layer.fill_values, dtype=np.dtype(layer.dtype))
    if layer.valid_range is not None:
        out["valid_range"] = np.array(layer.valid_range, dtype=np.dtype(layer.dtype))
    if layer.scaling is not None:
        out["stored_scale_factor"] = layer.scaling.scale
        out["stored_add_offset"] = layer.scaling.offset
        out["unpacking"] = layer.scaling.convention
    if layer.units:
        out["physical_units"] = layer.units
    if layer.fill_classes:
        out["fill_class_codes"] = np.array([c.code for c in layer.fill_classes])
        out["fill_class_names"] = " ".join(c.name for c in layer.fill_classes)
    registered = info.product is not None and info.product.find_layer(name) is layer
    out["registry"] = "yes" if registered else "no (file attributes)"
    return out


_FORMATS = {"hdf4": "HDF-EOS2 (HDF4)", "hdf5": "HDF5/netCDF4"}


def dataset_attrs(info: GranuleInfo, grid_names: list[str]) -> dict[str, Any]:
    """Identity and provenance attributes of an opened granule."""
    import modisoft
    from modisoft.catalog import odl_value

    st = os.stat(info.path)
    attrs: dict[str, Any] = {
        "title": info.product.title if info.product else "unregistered product",
        "source": os.path.basename(info.path),
        "source_path": info.path,
        "source_size_bytes": int(st.st_size),
        "format": info.format_name or _FORMATS.get(info.format, info.format),
        "history": f"opened by modisoft {modisoft.__version__}",
        **info.granule.to_attrs(),
    }
    if grid_names:
        attrs["grid_names"] = " ".join(grid_names)
    for key, tree, name in (
        ("pge_version", info.core, "PGEVERSION"),
        ("processing_center", info.archive, "PROCESSINGCENTER"),
        ("local_version_id", info.core, "LOCALVERSIONID"),
    ):
        val = odl_value(tree, name)
        if val is not None:
            attrs[key] = str(val)
    for key, val in info.provenance.items():
        attrs.setdefault(key, val)
    if info.hdfeos_version:
        attrs["hdfeos_version"] = info.hdfeos_version
    if info.non_grid_layers:
        attrs["non_grid_layers"] = " ".join(info.non_grid_layers)
    if info.product is not None:
        attrs["registry_product"] = f"{info.product.name}.{info.product.collection}"
    return attrs


def normalize_chunks(chunks: Any, dims: tuple[str, ...], shape: tuple[int, ...]) -> Any:
    """Chunks for one array from the ``open_granule`` argument (see its docstring)."""
    if chunks is None:
        return shape
    if isinstance(chunks, dict):
        # exact dim name first; "y"/"x" also apply to the suffixed dims of multi-grid files
        return tuple(chunks.get(d, chunks.get(d.split("_", 1)[0], "auto")) for d in dims)
    if isinstance(chunks, int) and len(shape) >= 2:
        return tuple(chunks if i >= len(shape) - 2 else -1 for i in range(len(shape)))
    return chunks


def lazy_array(info: GranuleInfo, name: str, dims: tuple[str, ...], chunks: Any) -> Any:
    """A dask array over one layer, with a deterministic name (path, mtime, layer, chunks)."""
    import dask.array as da
    from dask.base import tokenize

    from modisoft.io.hdf4 import HDF4Array
    from modisoft.io.hdf5 import H5Array

    meta = info.sds[name]
    shape, dtype = meta["shape"], meta["dtype"]
    cls = HDF4Array if info.format == "hdf4" else H5Array
    arr = cls(info.path, meta.get("key", name), shape, dtype)
    norm = normalize_chunks(chunks, dims, shape)
    token = tokenize(info.path, os.stat(info.path).st_mtime_ns, name, norm)
    prefix = "hdf4" if info.format == "hdf4" else "h5"
    return da.from_array(
        arr,
        chunks=norm,
        name=f"{prefix}-{name}-{token}",
        lock=False,
        asarray=True,
        meta=np.empty((0,) * len(shape), dtype),
    )
