"""Pieces shared by the readers: attributes of raw layers and datasets, chunk normalisation,
and lazy dask arrays (layers from file attributes and the registry-vs-file check live in
:mod:`modisoft.io.layers` and :mod:`modisoft.io.info`, re-exported here)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from modisoft._version import __version__
from modisoft.catalog import odl_value
from modisoft.io.hdf4 import HDF4Array
from modisoft.io.hdf5 import H5Array
from modisoft.io.info import GranuleInfo, effective_layer
from modisoft.io.layers import RegistryMismatchWarning, layer_from_attrs, registry_mismatches
from modisoft.products import Layer

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

    st = os.stat(info.path)
    attrs: dict[str, Any] = {
        "title": info.product.title if info.product else "unregistered product",
        "source": os.path.basename(info.path),
        "source_path": info.path,
        "source_size_bytes": int(st.st_size),
        "format": info.format_name or _FORMATS.get(info.format, info.format),
        "history": f"opened by modisoft {__version__}",
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
