"""The QA rule of a run, at the granules' own resolution, and the weights of the series stage.

A stored value whose QA fails the rule becomes the layer's generic fill code before any
resampling (fill-class codes such as water or urban stay), so an area average uses exactly the
good sub-pixels.  With ``[steps] weights`` the QA is mosaicked instead and becomes weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.pipeline.schema import ConfigError, RunConfig

__all__ = ["apply_source_mask", "mask_at_source", "mask_kernel", "observation_weights",
           "source_mask"]


def mask_at_source(raw: Any, qa: Any, cfg: RunConfig) -> Any:
    """Apply the QA rule at the granule's own resolution: a stored value whose QA fails the
    rule becomes the layer's generic fill code; fill-class codes (water, urban, …) stay.

    Masking before resampling lets an area average use exactly the good sub-pixels, and saves
    resampling the QA layer (a mode) on every date.

    Parameters
    ----------
    raw
        A granule's stored layer (lazy).
    qa
        Its QA layer (or a Dataset of QA layers) carrying ``registry_product``.
    cfg
        The run configuration (``[steps] qa_rule``).

    Returns
    -------
    xarray.DataArray
        ``raw`` with failing observations set to the layer's first fill value.
    """
    fused = _by_table(raw, qa, cfg)
    if fused is not None:
        return fused
    return apply_source_mask(raw, source_mask(qa, cfg), cfg)


def _by_table(raw: Any, qa: Any, cfg: RunConfig) -> Any:
    """:func:`apply_source_mask` of :func:`source_mask` as one lookup per pixel in a table of
    every (stored value, QA word) pair, when both are one-byte layers (MODIS LAI and
    ``FparLai_QC``): QA decode, rule and masking fused, the same result to the bit (each
    output depends on its own value and QA word alone).  ``None`` otherwise."""
    import xarray as xr

    if not isinstance(qa, xr.DataArray):
        return None
    one = [a.dtype.kind in "iu" and a.dtype.itemsize == 1 for a in (raw, qa)]
    fills = np.atleast_1d(raw.attrs.get("fill_values", []))
    if not (all(one) and raw.shape == qa.shape and len(fills)):
        return None
    words = np.arange(256).astype(np.uint8).view(qa.dtype)
    probe = xr.DataArray(words.reshape((1,) * (qa.ndim - 1) + (256,)), dims=qa.dims,
                         name=qa.name, attrs=qa.attrs)
    good = np.asarray(source_mask(probe, cfg).values).reshape(1, 256)
    values = np.arange(256).astype(np.uint8).view(raw.dtype).reshape(256, 1)
    classes = [int(v) for v in np.atleast_1d(raw.attrs.get("fill_class_codes", []))]
    table = mask_kernel(np.repeat(values, 256, axis=1), np.repeat(good, 256, axis=0),
                        int(fills[0]), tuple(classes)).ravel()
    out = xr.apply_ufunc(_pair_lookup, raw, qa, kwargs={"table": table}, dask="parallelized",
                         output_dtypes=[raw.dtype])
    return _masked_attrs(out, raw, cfg, int(fills[0]))


def _masked_attrs(out: Any, raw: Any, cfg: RunConfig, fill: int) -> Any:
    """``out`` with the attributes of ``raw`` and the rule it was masked with."""
    out.attrs = dict(raw.attrs)
    out.attrs["qa_applied"] = f"{cfg.steps.qa_rule} (at source resolution; failing -> {fill})"
    return out


def _pair_lookup(raw: np.ndarray, qa: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Kernel: ``table[256 * raw + qa]`` (both as unsigned bytes)."""
    from modisoft.lookup import pair_lookup

    return pair_lookup(raw, qa, table).view(raw.dtype)


def source_mask(qa: Any, cfg: RunConfig) -> Any:
    """Where the QA rule holds, at source resolution.

    Parameters
    ----------
    qa
        A QA layer or a Dataset of them, carrying ``registry_product``.
    cfg
        The run configuration (``[steps] qa_rule``, ``[inputs] product`` as a fallback).

    Returns
    -------
    xarray.DataArray
        bool, True where the rule holds.
    """
    from modisoft.qa import qa_mask

    product = qa.attrs.get("registry_product") or cfg.inputs.product
    return qa_mask(qa, cfg.steps.qa_rule, product=product)


def apply_source_mask(raw: Any, good: Any, cfg: RunConfig) -> Any:
    """``raw`` with the layer's generic fill code where ``good`` is False (fill classes stay).

    Parameters
    ----------
    raw
        A stored layer carrying ``fill_values`` (and ``fill_class_codes``).
    good
        Where the QA rule holds (:func:`source_mask`).
    cfg
        The run configuration (recorded in ``attrs["qa_applied"]``).

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    ConfigError
        When the layer has no fill value to mark failing observations with.
    """
    fills = [int(v) for v in np.atleast_1d(raw.attrs.get("fill_values", []))]
    classes = [int(v) for v in np.atleast_1d(raw.attrs.get("fill_class_codes", []))]
    if not fills:
        raise ConfigError(f"[steps] qa_rule: layer {raw.name!r} has no fill value to mark "
                          "observations that fail the rule")
    import xarray as xr

    out = xr.apply_ufunc(mask_kernel, raw, good, kwargs={"fill": fills[0],
                                                          "classes": tuple(classes)},
                         dask="parallelized", output_dtypes=[raw.dtype])
    return _masked_attrs(out, raw, cfg, fills[0])


def mask_kernel(raw: np.ndarray, good: np.ndarray, fill: int, classes: tuple) -> np.ndarray:
    """Kernel: ``raw`` where ``good`` or a fill-class code, else ``fill``.

    Examples
    --------
    >>> mask_kernel(np.array([5, 254, 7], "uint8"), np.array([True, False, False]), 255, (254,))
    array([  5, 254, 255], dtype=uint8)
    """
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


def observation_weights(values: Any, qa: Any, cfg: RunConfig) -> Any:
    """Per date and pixel, the weight of an observation in the series stage.

    Parameters
    ----------
    values
        The per-date values ``(time, y, x)`` (NaN: none).
    qa
        The QA layer on the same grid, or ``None``: then 1 wherever a value exists.
    cfg
        The run configuration (``[steps]`` weights scheme and QA rule).

    Returns
    -------
    xarray.DataArray
        float32 in [0, 1]; 0 where there is no value or the QA rule fails.
    """
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
