"""Merging several sensors' observations of one period: best QA first, then sensor priority.

The rule (issue 23; choice, ``docs/concepts/qa.md``), per pixel of a period:

1. every sensor's observation gets a **grade**: its product's default QA weight scheme
   (MOD15/VNP15: ``good_lai`` 1.0, ``main_algorithm`` 0.5, else 0), or -1 when it is no
   usable value (a fill or fill class, out of the valid range, or failing the run's QA rule);
2. the observation with the highest grade wins; among equal grades, the sensor listed first
   in the priority order wins;
3. where no sensor has a usable value, the pixel keeps the first fill-class code (water,
   urban, …) in priority order, else the generic fill, and the sensor code 0.

Stored values are merged (the products of a merge share one encoding: checked by the run's
configuration), so the result decodes like any one granule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["merge_kernel", "merge_sensors", "sensor_grade"]


def merge_kernel(values: np.ndarray, grades: np.ndarray, fill: int,
                 classes: tuple[int, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Kernel: the merged stored values and the index of the sensor each came from.

    Parameters
    ----------
    values
        ``(n_sensors, ...)`` stored values, the sensors in priority order.
    grades
        ``(n_sensors, ...)`` grades (< 0 or NaN: no usable value).
    fill
        The generic fill code, where no sensor has a value or a fill class.
    classes
        The fill-class codes kept where no sensor has a usable value.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The merged values (``values.dtype``) and the winning sensor's index (int8, -1: none).

    Examples
    --------
    >>> v = np.array([[12, 30, 254], [15, 31, 255]], "uint8")   # 2 sensors x 3 pixels
    >>> g = np.array([[0.5, 1.0, -1], [1.0, 1.0, -1]])
    >>> merge_kernel(v, g, 255, (254,))
    (array([ 15,  30, 254], dtype=uint8), array([ 1,  0, -1], dtype=int8))
    """
    g = np.where(np.isfinite(grades), grades, -1.0)
    best = np.argmax(g, axis=0)  # the first of equal maxima: the higher priority
    merged = np.take_along_axis(values, best[None], 0)[0]
    has = np.take_along_axis(g, best[None], 0)[0] >= 0
    if not has.all():
        is_class = np.isin(values, np.asarray(classes, values.dtype)) if classes else \
            np.zeros(values.shape, bool)
        first = np.take_along_axis(values, np.argmax(is_class, axis=0)[None], 0)[0]
        fallback = np.where(is_class.any(axis=0), first, values.dtype.type(fill))
        merged = np.where(has, merged, fallback)
    return merged.astype(values.dtype), np.where(has, best, -1).astype(np.int8)


def sensor_grade(raw: Any, qa: Any, *, rule: str = "none", product: Any = None) -> Any:
    """Per pixel, the grade of one sensor's observation (see the module): the default QA
    weight where the value is usable, -1 elsewhere.

    Parameters
    ----------
    raw
        The stored value layer (carrying ``registry_product``).
    qa
        Its QA layer, or a Dataset of QA layers (VIIRS: ``FparLai_QC`` and ``FparExtra_QC``),
        or ``None`` (every usable value grades 1).
    rule
        The run's QA rule (``"none"``: every value passes).
    product
        The registry product when the layers do not carry ``registry_product``.

    Returns
    -------
    xarray.DataArray
        float32.
    """
    import xarray as xr

    from modisoft.decode import layer_of, valid_mask
    from modisoft.qa.core import qa_mask, qa_weights

    tag = raw.attrs.get("registry_product", product)
    layer = layer_of(raw, tag)
    ok = xr.apply_ufunc(valid_mask, raw, kwargs={"layer": layer}, dask="parallelized",
                        output_dtypes=[bool])
    if qa is None:
        return xr.where(ok, np.float32(1), np.float32(-1))
    if rule != "none":
        ok = ok & qa_mask(qa, rule, product=tag)
    w = qa_weights(qa, product=tag)
    return xr.where(ok, w, np.float32(-1)).astype("float32")


def merge_sensors(layers: Sequence[Any], grades: Sequence[Any], codes: Sequence[int],
                  *, flags: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Merge one period's observations of several sensors (in priority order).

    Parameters
    ----------
    layers
        The sensors' stored value layers on one grid (same shape, dtype, fills).
    grades
        Their grades (:func:`sensor_grade`).
    codes
        Their ``sensor`` codes (:func:`modisoft.products.sensor_code`).
    flags
        ``flag_values`` / ``flag_meanings`` of the sensor layer
        (:func:`modisoft.products.sensor_flags`).

    Returns
    -------
    (xarray.DataArray, xarray.DataArray)
        The merged stored layer (the first layer's attributes) and the ``sensor`` layer
        (uint8 codes, 0 where no sensor has a usable value).
    """
    import xarray as xr

    first = layers[0]
    fills = [int(v) for v in np.atleast_1d(first.attrs.get("fill_values", [255]))]
    classes = tuple(int(v) for v in np.atleast_1d(first.attrs.get("fill_class_codes", []))
                    if int(v) not in fills)  # the generic fill is no class to keep
    v = xr.concat(list(layers), "sensor_rank", coords="minimal", compat="override",
                  join="override")
    g = xr.concat(list(grades), "sensor_rank", coords="minimal", compat="override",
                  join="override")
    def last_axis(v: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return merge_kernel(np.moveaxis(v, -1, 0), np.moveaxis(g, -1, 0), fills[0], classes)

    merged, index = xr.apply_ufunc(
        last_axis, v.chunk({"sensor_rank": -1}), g.chunk({"sensor_rank": -1}),
        input_core_dims=[["sensor_rank"], ["sensor_rank"]], output_core_dims=[[], []],
        dask="parallelized", output_dtypes=[first.dtype, np.int8])
    lut = np.array([0, *codes], np.uint8)  # index -1 -> 0
    sensor = xr.apply_ufunc(lambda i: lut[i.astype(np.int16) + 1], index, dask="parallelized",
                            output_dtypes=[np.uint8])
    merged.attrs = dict(first.attrs)
    merged.name = first.name
    sensor.name = "sensor"
    sensor.attrs = {"long_name": "sensor each value came from", "kind": "class",
                    "fill_values": [0], **(flags or {})}
    return merged, sensor
