"""Multi-sensor runs: ``[inputs] products = ["MOD15A2H", "MYD15A2H", "VNP15A2H", "VJ115A2H"]``
(any subset) merged per 8-day period and tile, at the granules' own resolution.

The merge rule (:mod:`modisoft.qa.merge`): per pixel, the observation with the best QA grade
(the product's default weight scheme: ``good_lai`` 1.0, ``main_algorithm`` 0.5, else 0; -1
for no usable value or one failing ``[steps] qa_rule``) wins; equal grades go to the sensor
first in ``[inputs] sensor_priority`` (default: the order of ``products``).  The run's
``sensor`` layer says which sensor each value came from (:data:`modisoft.products.SENSOR_CODES`).

The products of a merge must share everything a merge of stored values relies on: the
quantity, the compositing period, the tile lattice (resolution) and the stored encoding
(scale, fill value, fill classes); :func:`check_sensors` refuses anything else up front.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.pipeline.schema import ConfigError, RunConfig

__all__ = ["check_sensors", "lai_layers", "merge_granules", "normalize_inputs", "open_layers",
           "sensor_mode_kernel", "sensor_order", "sensor_per_period", "sensor_record"]


def normalize_inputs(data: Any) -> Any:
    """``[inputs]`` as read: with ``products`` and no ``product``, ``product`` is the first
    sensor of the priority (the run's primary product: output naming, checks)."""
    if not isinstance(data, dict) or "products" not in data:
        return data
    if "product" in data:
        raise ConfigError(f"[inputs] give product (one sensor, {data['product']!r}) or "
                          f"products (several, {data['products']!r}), not both")
    first = data.get("sensor_priority") or data["products"]
    if isinstance(first, list) and first and isinstance(first[0], str):
        return {**data, "product": first[0]}
    raise ConfigError(f"[inputs] products: need a non-empty list of product names, e.g. "
                      f"['MOD15A2H', 'VNP15A2H'], got {data['products']!r}")


def sensor_order(cfg: RunConfig) -> list[str]:
    """The run's products, highest priority first (one product: that one)."""
    i = cfg.inputs
    if not i.products:
        return [i.product.upper()]
    first = [p.upper() for p in i.sensor_priority]
    return first + [p.upper() for p in i.products if p.upper() not in first]


def _lai_layer(p: Any) -> Any:
    return p.find_layer(p.role_layer("lai") or "")


def _accepted() -> list[str]:
    from modisoft.products import SENSOR_CODES, all_products

    return sorted({p.name for p in all_products() if p.role_layer("lai")
                   and p.platform in SENSOR_CODES})


def check_sensors(cfg: RunConfig) -> None:
    """``[inputs] products`` and ``sensor_priority``: known LAI products that can be merged.

    Raises
    ------
    ConfigError
        Naming the key, the value and what is accepted: an unknown or non-LAI product, a
        repeated one, a priority naming a product not in ``products``, products that differ
        in quantity, period, resolution or stored encoding, or keys a merge does not take.
    """
    from modisoft.products import find_product, quantity_of

    i, s = cfg.inputs, cfg.steps
    if i.sensor_priority and not i.products:
        raise ConfigError(f"[inputs] sensor_priority {list(i.sensor_priority)!r}: only used "
                          "with products = [...] (a multi-sensor run)")
    if not i.products:
        return
    names = [p.upper() for p in i.products]
    accepted = _accepted()
    for n in names:
        p = find_product(n)
        if p is None or n not in accepted:
            raise ConfigError(f"[inputs] products: {n!r} is not an LAI product modisoft can "
                              f"merge; accepted: {', '.join(accepted)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"[inputs] products {list(i.products)!r}: a product is listed twice")
    bad = [p for p in i.sensor_priority if p.upper() not in names]
    if bad or len({p.upper() for p in i.sensor_priority}) != len(i.sensor_priority):
        raise ConfigError(f"[inputs] sensor_priority {list(i.sensor_priority)!r}: "
                          f"{bad[0] if bad else 'a repeated product'!r}; accepted: products "
                          f"of [inputs] products, each once ({', '.join(names)})")
    prods = [find_product(n) for n in names]
    facts = {
        "quantity": lambda p: quantity_of(_lai_layer(p)).name,
        "compositing period (days)": lambda p: p.period_days,
        "resolution (tile lattice)": lambda p: p.resolution,
        "stored encoding (scale, fills, fill classes)": lambda p: (
            _lai_layer(p).scaling, _lai_layer(p).fill_values,
            tuple(c.code for c in _lai_layer(p).fill_classes)),
    }
    for what, fact in facts.items():
        seen = {p.name: fact(p) for p in prods}
        if len(set(map(repr, seen.values()))) > 1:
            raise ConfigError(f"[inputs] products: {', '.join(f'{k} {v}' for k, v in seen.items())}"
                              f": a merge needs one {what}")
    for key in ("layer", "qa_layer"):
        if getattr(i, key) is not None:
            raise ConfigError(f"[inputs] {key}: not used with products (each product's LAI "
                              "and QA layers come from the registry)")
    if s.lai != "product" or s.weights is not None or i.download:
        what = "[steps] lai = 'retrieve'" if s.lai != "product" else \
            "[steps] weights" if s.weights is not None else "[inputs] download"
        raise ConfigError(f"{what}: not supported with [inputs] products (multi-sensor LAI "
                          "product runs with a [steps] qa_rule); run one product, or drop it")
    from dataclasses import replace

    from modisoft.pipeline.validate import check_qa

    for n in names:  # the QA rule must hold a meaning for every product merged
        check_qa(replace(cfg, inputs=replace(i, product=n, products=(), sensor_priority=())))


def merge_granules(items: list[tuple[str, Any, Any]], cfg: RunConfig,
                   name: str) -> tuple[Any, Any]:
    """One tile and date of a multi-sensor run: the merged stored LAI and the sensor codes.

    Parameters
    ----------
    items
        ``(product name, stored LAI layer, its QA layer or Dataset or None)`` per sensor.
    cfg
        The run configuration (priority, QA rule).
    name
        The name the merged layer takes (the primary product's LAI layer), so that one
        tile's stack is one variable whatever sensors its dates come from.

    Returns
    -------
    (xarray.DataArray, xarray.DataArray)
        Merged stored values (QA rule applied: failing observations lose the merge) and the
        uint8 ``sensor`` codes.
    """
    from modisoft.products import find_product, sensor_code, sensor_flags
    from modisoft.qa import merge_sensors, sensor_grade

    order = sensor_order(cfg)
    items = sorted(items, key=lambda it: order.index(it[0].upper()))
    grades = [sensor_grade(v, q, rule=cfg.steps.qa_rule) for _, v, q in items]
    codes = [sensor_code(find_product(n)) for n, _, _ in items]
    merged, sensor = merge_sensors([v for _, v, _ in items], grades, codes,
                                   flags=sensor_flags([find_product(n) for n in order]))
    primary = find_product(order[0])  # one variable, one decoding, whatever the sensors
    merged.name = name
    merged.attrs.update(layer=name, registry_product=f"{primary.name}.{primary.collection}")
    merged.attrs["sensor_merge"] = f"best QA grade, then priority {', '.join(order)}"
    return merged, sensor


def lai_layers(cfg: RunConfig, product: str | None = None) -> tuple[str, list[str]]:
    """The LAI layer of ``[inputs]`` and the layers to open.

    Parameters
    ----------
    cfg
        A configuration with ``[steps] lai = "product"``.
    product
        One of a multi-sensor run's products (default ``[inputs] product``).

    Returns
    -------
    (str, list of str)
        The LAI layer (``[inputs] layer``, else the product's ``lai`` role in the registry),
        and the layers to open: the LAI layer, then its QA layer (``[inputs] qa_layer``, else
        the ``lai_qa`` role, and the ``lai_qa_extra`` role where the product has one: VIIRS
        ``FparExtra_QC``) when the QA rule needs it.

    Raises
    ------
    ConfigError
        When the product is not in the registry, or ``[inputs] layer`` is not one of its
        value layers (or is not given for a product without an LAI layer).  The output is
        named for the layer's quantity (:func:`modisoft.products.quantity_of`).
    """
    from modisoft.products import find_product

    product = find_product(name := product or cfg.inputs.product)
    if product is None:
        raise ConfigError(f"[inputs] product {name!r} is not in the registry")
    layer = cfg.inputs.layer or product.role_layer("lai")
    if layer is None:
        raise ConfigError(f"[inputs] product {product.name!r} has no LAI layer (registry role "
                          "'lai'): name the layer to run in [inputs] layer, or for "
                          "reflectance products use [steps] lai = 'retrieve'")
    found = product.find_layer(layer)
    if found is None or found.kind != "value":
        values = [x.name for x in product.layers if x.kind == "value"]
        raise ConfigError(f"[inputs] layer {layer!r} is not a value layer of {product.name}; "
                          f"one of {values}")
    qa_layer = cfg.inputs.qa_layer or product.role_layer("lai_qa")
    if not qa_layer or cfg.steps.qa_rule == "none":
        return layer, [layer]
    extra = product.role_layer("lai_qa_extra") if not cfg.inputs.qa_layer else None
    return layer, [layer, qa_layer] + ([extra] if extra else [])


def open_layers(cfg: RunConfig) -> list[str] | dict[str, list[str]]:
    """The layers a run opens: :func:`lai_layers`' or, in a multi-sensor run, per product."""
    order = sensor_order(cfg)
    return {p: lai_layers(cfg, p)[1] for p in order} if cfg.inputs.products else \
        lai_layers(cfg)[1]


def sensor_mode_kernel(codes: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    """Kernel: per output period, the most frequent non-zero sensor code of its dates.

    ``codes`` ``(..., time)`` uint8, ``idx`` the period of each date (-1: none), ``n``
    periods; ties go to the lower code, 0 where no date of the period has a sensor.

    Examples
    --------
    >>> sensor_mode_kernel(np.array([[4, 1, 1, 0, 5, 4]], "uint8"), np.array([0, 0, 0, 1, 1, 1]), 2)
    array([[1, 4]], dtype=uint8)
    """
    out = np.zeros((*codes.shape[:-1], n), np.uint8)
    best = np.zeros(out.shape, np.int32)
    for c in range(1, int(codes.max(initial=0)) + 1):
        hit = codes == c
        count = np.stack([hit[..., idx == k].sum(-1) for k in range(n)], -1)
        better = count > best
        out[better], best[better] = c, count[better]
    return out


def sensor_per_period(codes: Any, lai: Any) -> Any:
    """The output's ``sensor`` layer: per period of ``lai`` (``time``, ``period_end``), the
    sensor that gave most of the period's merged observations (:func:`sensor_mode_kernel`).

    Parameters
    ----------
    codes
        The per-date sensor codes on the output grid ``(time, y, x)``.
    lai
        The output LAI ``(time, y, x)`` with its periods' ``time`` (start) and ``period_end``.
    """
    import xarray as xr

    starts = lai["time"].values
    ends = lai["period_end"].values if "period_end" in lai.coords else starts
    t = codes["time"].values
    idx = np.searchsorted(starts, t, side="right") - 1
    idx = np.where((idx >= 0) & (t <= ends[np.clip(idx, 0, None)]), idx, -1)
    out = xr.apply_ufunc(sensor_mode_kernel, codes.chunk({"time": -1}),
                         kwargs={"idx": idx, "n": len(starts)}, input_core_dims=[["time"]],
                         output_core_dims=[["period"]], dask="parallelized",
                         output_dtypes=[np.uint8],
                         dask_gufunc_kwargs={"output_sizes": {"period": len(starts)}})
    out = out.rename(period="time").assign_coords(time=lai["time"]).transpose("time", "y", "x")
    out.attrs = {k: v for k, v in codes.attrs.items() if k.startswith(("flag_", "long_"))}
    out.attrs["flag_values"] = np.asarray(out.attrs.get("flag_values", [0]), np.uint8)
    out.attrs.update(grid_mapping="spatial_ref", coverage_content_type="auxiliaryInformation",
                     comment="the sensor that gave most of the period's merged observations "
                     "(ties: the lower code); 0: none")
    return out


def sensor_record(cfg: RunConfig, used: list, verified: dict[str, Any]) -> dict[str, Any]:
    """The provenance of a multi-sensor run's merge: the rule, the priority, the sensor codes
    and per sensor its granules used and their good observations (the granules' recorded
    ``shares``, :func:`modisoft.qa.pixel_shares`, under the run's QA rule)."""
    from modisoft.products import find_product, sensor_code, sensor_flags

    order = sensor_order(cfg)
    per = {n: {"code": sensor_code(find_product(n)), "granules": 0, "good_pixels": 0}
           for n in order}
    for g in used:
        per[g.product]["granules"] += 1
        shares = verified.get(str(g.path), {}).get("shares") or {}
        per[g.product]["good_pixels"] += int(shares.get("good") or 0)
    return {"rule": "per pixel and period: the best QA grade (default weight scheme; -1 for "
                    "no usable value), then the sensor first in the priority",
            "priority": order, **sensor_flags([find_product(n) for n in order]),
            "sensors": per}
