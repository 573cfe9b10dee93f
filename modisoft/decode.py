"""``decode``: raw stored values → physical float32, fills and out-of-range → NaN.

The kernels (:func:`decode_values`, :func:`fill_class_codes`) are pure numpy; :func:`decode`
wraps them once for xarray/dask.  The unpacking convention is the registry's, per layer
(``hdfeos``, ``cf`` or ``divide``; ``reference/PRODUCTS.md`` §1).  QA and categorical layers
keep their integer dtype.  A value layer with several fill classes (MOD15 LAI 249-255) gets a
categorical companion ``<layer>_class``: 0 where the value is valid, else the stored code
(254 = water, ...), so no class is lost when values become NaN.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import numpy as np

from modisoft.errors import CorruptGranuleError
from modisoft.products import Layer, find_product

__all__ = [
    "decode",
    "decode_values",
    "fill_class_codes",
    "valid_mask",
    "check_plausible",
    "layer_of",
    "PLAUSIBLE_MAX_FRACTION",
]

PLAUSIBLE_MAX_FRACTION = 0.01
"""The default share (1 %) of non-fill values a layer may hold outside its valid range before
:func:`check_plausible` calls the granule corrupt.  Real granules hold almost none: in the
sample set 0 for MCD15, MCD12, MCD43, MOD11 and VNP13 layers, at most 4 of 1.44 million for
the MOD13A2/MYD13A2 MIR reflectance (``docs/reference/limits.md``)."""


def valid_mask(raw: np.ndarray, layer: Layer) -> np.ndarray:
    """True where ``raw`` is a measurement: not a fill or fill class, inside the valid range."""
    raw = np.asarray(raw)
    if raw.dtype.kind in "iu" and raw.dtype.itemsize <= 2:  # one table lookup per value
        lut = _valid_table(tuple(layer.nodata_codes or ()), layer.valid_range, raw.dtype.str)
        lo = np.iinfo(raw.dtype).min
        return lut[raw] if lo == 0 else lut[raw.astype(np.int32) - lo]
    ok = (
        ~np.isin(raw, np.array(layer.nodata_codes, dtype=raw.dtype))
        if layer.nodata_codes
        else np.ones(raw.shape, dtype=bool)
    )
    if layer.valid_range is not None:
        lo, hi = layer.valid_range
        ok &= (raw >= lo) & (raw <= hi)
    if np.issubdtype(raw.dtype, np.floating):
        ok &= np.isfinite(raw)
    return ok


@functools.lru_cache(maxsize=256)
def _valid_table(codes: tuple, valid_range: Any, dtype: str) -> np.ndarray:
    """:func:`valid_mask` of every value of a small integer dtype, indexed from its minimum."""
    info = np.iinfo(np.dtype(dtype))
    allv = np.arange(info.min, info.max + 1, dtype=np.int64)
    ok = ~np.isin(allv, np.asarray(codes, dtype=np.int64)) if codes else np.ones(allv.size, bool)
    if valid_range is not None:
        ok &= (allv >= valid_range[0]) & (allv <= valid_range[1])
    ok.flags.writeable = False
    return ok


def decode_values(raw: np.ndarray, layer: Layer) -> np.ndarray:
    """Kernel: stored values → physical float32 with NaN where not valid.

    The arithmetic is done in float64 and rounded once to float32.

    Examples
    --------
    >>> from modisoft.products import get_product
    >>> lai = get_product("MCD15A2H", "061").layer("Lai_500m")
    >>> decode_values(np.array([0, 35, 100, 254, 255], "uint8"), lai)
    array([ 0. ,  3.5, 10. ,  nan,  nan], dtype=float32)
    """
    raw = np.asarray(raw)
    if raw.dtype.kind in "iu" and raw.dtype.itemsize == 1 and raw.size > 256:
        return _by_table(raw, _decode_values, layer)  # every stored value decoded once
    return _decode_values(raw, layer)


def _decode_values(raw: np.ndarray, layer: Layer) -> np.ndarray:
    phys = layer.scaling.apply(raw) if layer.scaling is not None else raw.astype("float64")
    return np.where(valid_mask(raw, layer), phys, np.nan).astype("float32")


def _by_table(raw: np.ndarray, kernel: Any, layer: Layer) -> np.ndarray:
    """An element-wise ``kernel(values, layer)`` of a one-byte integer layer as one table
    lookup: the kernel applied to the 256 values of the dtype, indexed by ``raw`` (the same
    result to the bit, since each output element depends on its input element alone),
    compiled (:func:`modisoft.lookup.byte_lookup`)."""
    from modisoft.lookup import byte_lookup

    every = np.arange(256, dtype=np.uint8).view(raw.dtype)  # entry b: the value of byte b
    return byte_lookup(raw, kernel(every, layer))


def fill_class_codes(raw: np.ndarray, layer: Layer) -> np.ndarray:
    """Kernel: 0 where ``raw`` is valid, else the stored code (same dtype as ``raw``)."""
    raw = np.asarray(raw)
    if raw.dtype.kind in "iu" and raw.dtype.itemsize == 1 and raw.size > 256:
        return _by_table(raw, _fill_class_codes, layer)
    return _fill_class_codes(raw, layer)


def _fill_class_codes(raw: np.ndarray, layer: Layer) -> np.ndarray:
    return np.where(valid_mask(raw, layer), np.zeros((), raw.dtype), raw).astype(raw.dtype)


def check_plausible(
    raw: Any, layer: Layer, *, path: Any, max_fraction: float = PLAUSIBLE_MAX_FRACTION
) -> int:
    """Count stored values outside the layer's valid range that are no fill value or fill class.

    A real granule holds (almost) none (decoding turns them into NaN silently); many mean
    the pixel data are damaged in a way no checksum caught (an uncompressed layer, a bad copy)
    or the file is not the product it claims.  The national run calls this per granule and
    date; the valid range and the fill classes come from the registry :class:`Layer`.

    Parameters
    ----------
    raw
        Stored values (numpy, or anything ``numpy.asarray`` takes; a lazy array is computed).
    layer
        The registry layer (``valid_range``, ``fill_values``, ``fill_classes``).
    path
        The granule, named in the error.
    max_fraction
        The share of non-fill values allowed outside the range (default
        :data:`PLAUSIBLE_MAX_FRACTION`, 1 %).

    Returns
    -------
    int
        The number of implausible values (0 for a layer without a valid range; NaN counts as
        fill).

    Raises
    ------
    CorruptGranuleError
        Naming the file, the layer, the count and the fraction, when the share is above
        ``max_fraction``.

    Examples
    --------
    >>> from modisoft.products import get_product
    >>> lai = get_product("MCD15A2H", "061").layer("Lai_500m")
    >>> check_plausible(np.array([0, 35, 100, 254, 255, 180], "uint8"), lai, path="f.hdf",
    ...                 max_fraction=0.5)
    1
    """
    if layer.valid_range is None:
        return 0
    raw = np.asarray(raw)
    lo, hi = layer.valid_range
    codes = np.asarray(layer.nodata_codes or (), dtype=np.int64)
    if raw.dtype.kind in "iu" and raw.dtype.itemsize <= 2:  # one histogram, any size
        if raw.dtype.itemsize == 1:  # compiled; entry b counts the value whose byte is b
            from modisoft.lookup import byte_histogram

            hist = byte_histogram(raw)
            values = np.arange(256, dtype=np.uint8).view(raw.dtype).astype(np.int64)
        else:
            first = int(np.iinfo(raw.dtype).min)
            flat = raw.ravel() if first == 0 else raw.ravel().astype(np.int32) - first
            hist = np.bincount(flat, minlength=1 << 16)
            values = np.arange(first, first + hist.size, dtype=np.int64)
        fill = np.isin(values, codes)
        outside = ((values < lo) | (values > hi)) & ~fill
        count, filled = int(hist[outside].sum()), int(hist[fill].sum())
    else:
        fill = np.isin(raw, codes) if codes.size else np.zeros(raw.shape, bool)
        if raw.dtype.kind == "f":
            fill |= np.isnan(raw)
        count = int((((raw < lo) | (raw > hi)) & ~fill).sum())
        filled = int(fill.sum())
    measured = raw.size - filled
    fraction = count / measured if measured else 0.0
    if fraction > max_fraction:
        raise CorruptGranuleError(
            path,
            f"{count:,} of {measured:,} non-fill values ({fraction:.2%}) lie outside the valid "
            f"range [{lo}, {hi}] and are no fill class ({list(layer.nodata_codes)}); more than "
            f"the {max_fraction:.0%} allowed: the pixel data are damaged or not this product",
            layer.name,
        )
    return count


def _layer_of(da: Any) -> Layer:
    """A layer rebuilt from the attributes ``open_granule`` left on a raw DataArray."""
    from modisoft.io._build import layer_from_attrs

    name = da.attrs.get("layer", da.name)
    attrs: dict[str, Any] = {}
    if "fill_values" in da.attrs:
        attrs["_FillValue"] = list(np.atleast_1d(da.attrs["fill_values"]))
    if "valid_range" in da.attrs:
        attrs["valid_range"] = list(da.attrs["valid_range"])
    if "stored_scale_factor" in da.attrs:
        attrs["scale_factor"] = da.attrs["stored_scale_factor"]
        attrs["add_offset"] = da.attrs.get("stored_add_offset", 0.0)
    layer = layer_from_attrs(str(name), str(da.dtype), attrs)
    if da.attrs.get("kind") in ("qa", "class"):
        layer = replace(layer, kind=da.attrs["kind"], scaling=None)
    elif "unpacking" in da.attrs and layer.scaling is not None:
        layer = replace(layer, scaling=replace(layer.scaling, convention=da.attrs["unpacking"]))
    return layer


def _decode_var(name: str, da: Any, layer: Layer) -> dict[str, Any]:
    import xarray as xr

    keep = {k: v for k, v in da.attrs.items() if k in ("grid_mapping", "layer", "long_name")}
    if layer.kind != "value":
        return {name: da}
    def per_block(func: Any, dtype: Any) -> Any:
        return xr.apply_ufunc(func, da, kwargs={"layer": layer}, dask="parallelized",
                              output_dtypes=[dtype], keep_attrs=False)

    vals = per_block(decode_values, np.float32)
    vals.attrs = {
        **keep,
        "units": layer.units or "1",
        "kind": "value",
        "decoded_from": _describe(layer),
    }
    if layer.physical_range is not None:
        vals.attrs["plausible_range"] = np.array(layer.physical_range, dtype="float32")
    out = {name: vals}
    if layer.keeps_classes:
        cls = per_block(fill_class_codes, da.dtype)
        cls.attrs = {
            **{k: v for k, v in keep.items() if k != "long_name"},
            "long_name": f"fill class of {name} (0 = valid value)",
            "kind": "class",
            "flag_values": np.array([0, *[c.code for c in layer.fill_classes]], dtype=da.dtype),
            "flag_meanings": " ".join(["valid", *[c.name for c in layer.fill_classes]]),
            "comment": "; ".join(f"{c.code}: {c.meaning}" for c in layer.fill_classes)
            + "; other non-zero codes: invalid, outside the valid range",
        }
        out[f"{name}_class"] = cls
    return out


def _describe(layer: Layer) -> str:
    s = layer.scaling
    if s is None:
        rule = "stored"
    elif s.convention == "hdfeos":
        rule = f"(stored - {s.offset!r}) * {s.scale!r}"
    elif s.convention == "cf":
        rule = f"stored * {s.scale!r} + {s.offset!r}"
    else:
        rule = f"stored / {s.scale!r}" + (f" + {s.offset!r}" if s.offset else "")
    return (
        f"{rule}; NaN where stored in {list(layer.nodata_codes)} or outside "
        f"{list(layer.valid_range) if layer.valid_range else 'no range'}"
    )


def decode(obj: Any, *, keep_classes: bool = True) -> Any:
    """Decode raw layers to physical values, lazily.

    Parameters
    ----------
    obj
        A ``Dataset`` or ``DataArray`` from :func:`~modisoft.open_granule`.
    keep_classes
        Add the ``<layer>_class`` categorical companion for layers with fill classes.

    Returns
    -------
    Same type as ``obj``: value layers as float32 (NaN for fills, fill classes and
    out-of-range values), QA and categorical layers unchanged.  For a ``DataArray`` only the
    values are returned.

    Examples
    --------
    >>> ds = decode(open_granule(path, ["Lai_500m"]))  # doctest: +SKIP
    >>> ds.Lai_500m_class.attrs["flag_meanings"]  # doctest: +SKIP
    'valid unclassified urban wetland snow_ice barren water fill'
    """
    import xarray as xr

    product = None
    if "registry_product" in obj.attrs:
        name, _, coll = obj.attrs["registry_product"].rpartition(".")
        product = find_product(name, coll)
    if isinstance(obj, xr.DataArray):
        layer = _layer_for(obj, product)
        return _decode_var(str(obj.name), obj, layer)[str(obj.name)]
    out: dict[str, Any] = {}
    for name, da in obj.data_vars.items():
        layer = _layer_for(da, product)
        decoded = _decode_var(str(name), da, layer)
        if not keep_classes:
            decoded = {k: v for k, v in decoded.items() if k == name}
        out.update(decoded)
    ds = xr.Dataset(out, coords=obj.coords, attrs=dict(obj.attrs))
    ds.attrs["history"] = ds.attrs.get("history", "") + "; decoded by modisoft.decode"
    return ds


def layer_of(da: Any, registry_product: str | None = None) -> Layer:
    """The :class:`Layer` that describes a raw layer of :func:`~modisoft.open_granule`: the
    registry's when the file agrees with it, else one built from the file's own attributes.

    Parameters
    ----------
    da
        The raw layer.
    registry_product
        ``"<short name>.<collection>"`` (the dataset's ``registry_product`` attribute), when
        the layer does not carry it itself.
    """
    tag = da.attrs.get("registry_product", registry_product)
    product = None
    if tag:
        name, _, coll = str(tag).rpartition(".")
        product = find_product(name, coll)
    return _layer_for(da, product)


def _layer_for(da: Any, product: Any) -> Layer:
    name = da.attrs.get("layer", da.name)
    if product is not None and da.attrs.get("registry", "yes") == "yes":
        layer = product.find_layer(str(name))
        if layer is not None and layer.dtype == str(da.dtype):
            return layer
    return _layer_of(da)
