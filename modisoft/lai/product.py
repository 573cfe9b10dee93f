"""LAI from LAI products, in one stack convention.

MOD15A2/MYD15A2/MCD15A2 (C5, ``Lai_1km``), MOD15A2H/MYD15A2H/MCD15A2H/MCD15A3H (C6/6.1,
``Lai_500m``), VNP15A2H (``Lai``) and NOAA CDR AVH15C1 (``LAI``) all become:

* ``lai`` float32 m² m⁻², NaN for fill, fill classes and out-of-range values (the registry's
  unpacking via :func:`modisoft.decode`);
* ``lai_class`` the stored fill-class code (0 = valid; 249–255 water, barren, … for MOD15),
  so no class is lost;
* ``qa_weight`` float32 in [0, 1] from the product's QA weight scheme
  (:func:`modisoft.qa.qa_weights`; MOD15: ``good_lai`` 1, main algorithm 0.5, else 0);
* ``qa_good`` where the product's ``good_lai`` (``lai_ok`` for AVH15C1) predicate holds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from modisoft.errors import ModisoftError, ProductLaiError

__all__ = ["LAI_LAYERS", "ProductLaiError", "product_lai", "product_lai_stack"]

LAI_LAYERS = ("Lai_500m", "Lai_1km", "Lai", "LAI")
"""LAI layer names, tried in this order."""
_GOOD = ("good_lai", "lai_ok")


def _lai_layer(ds: Any) -> str:
    for n in LAI_LAYERS:
        if n in ds.data_vars:
            return n
    raise ProductLaiError(
        f"{ds.attrs.get('source', 'dataset')}: no LAI layer ({', '.join(LAI_LAYERS)}); layers: "
        + ", ".join(map(str, ds.data_vars))
    )


def product_lai(
    ds: Any,
    qa: Any = None,
    *,
    product: str | None = None,
    scheme: Any = None,
    good: str | None = None,
) -> Any:
    """One LAI product granule → the LAI stack convention (lazy).

    Parameters
    ----------
    ds
        A raw granule ``Dataset`` from :func:`~modisoft.open_granule` holding the LAI layer
        (and usually its QA layers).
    qa
        Where the QA layers are (default ``ds``); ``False`` skips QA (weights all 1).
    product
        Registry product when ``ds`` does not carry ``registry_product``.
    scheme
        QA weight scheme (name, rules or ``None`` for the product default).
    good
        Predicate for ``qa_good`` (default ``good_lai``, or ``lai_ok`` for AVH15C1).

    Returns
    -------
    xarray.Dataset
        ``lai``, ``lai_class``, ``qa_weight``, ``qa_good``, with the granule's coordinates.

    Examples
    --------
    >>> ds = open_granule("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf")  # doctest: +SKIP
    >>> out = product_lai(ds)  # doctest: +SKIP
    >>> good = out.lai.where(out.qa_good)  # doctest: +SKIP
    """
    import xarray as xr

    from modisoft.decode import decode
    from modisoft.qa import presets, qa_mask, qa_weights

    name = _lai_layer(ds)
    dec = decode(ds[[name]])
    lai = dec[name].astype("float32")
    lai.attrs = {
        **dec[name].attrs,
        "long_name": "leaf area index (product)",
        "units": "m2 m-2",
        "source_layer": name,
    }
    out = {"lai": lai}
    if f"{name}_class" in dec:
        out["lai_class"] = dec[f"{name}_class"]
    else:
        out["lai_class"] = xr.where(np.isfinite(lai), 0, 255).astype("uint8")
    prod = product or ds.attrs.get("registry_product")
    src = ds if qa is None else qa
    if qa is False:
        out["qa_weight"] = xr.ones_like(lai, dtype="float32").where(np.isfinite(lai), 0.0)
        out["qa_good"] = np.isfinite(lai)
    else:
        try:
            w = qa_weights(src, product=prod, scheme=scheme)
            names = presets(prod).keys() if prod else _GOOD
            pred = good or next((g for g in _GOOD if g in names), "good_lai")
            m = qa_mask(src, pred, product=prod)
        except ModisoftError as exc:
            raise ProductLaiError(
                f"{ds.attrs.get('source', 'dataset')}: QA weights for {name}: {exc} "
                "(open the granule with its QA layers, or pass qa=False)"
            ) from exc
        out["qa_weight"] = w.where(np.isfinite(lai), np.float32(0.0)).astype("float32")
        out["qa_good"] = m & np.isfinite(lai)
        out["qa_weight"].attrs = w.attrs
        out["qa_good"].attrs = m.attrs
    res = xr.Dataset(
        out,
        coords=ds.coords,
        attrs={
            "product": str(prod),
            "source": ds.attrs.get("source", ""),
            "history": "modisoft.lai.product_lai",
        },
    )
    return res


def product_lai_stack(
    paths: Sequence[str | os.PathLike[str]], *, chunks: Any = None, **kwargs: Any
) -> Any:
    """Several granules of one tile → a ``(time, y, x)`` stack (time = period start date)."""
    import pandas as pd
    import xarray as xr

    from modisoft.catalog import parse_filename
    from modisoft.io.granule import open_granule

    if not paths:
        raise ProductLaiError("no granules given")
    items = []
    for p in paths:
        g = parse_filename(os.fspath(p))
        t = pd.Timestamp(g.start_date) if g is not None and g.start_date else None
        if t is None:
            raise ProductLaiError(f"{p}: cannot tell the granule's date from its name")
        ds = open_granule(p, chunks=chunks) if chunks is not None else open_granule(p)
        items.append(product_lai(ds, **kwargs).expand_dims(time=[t]))
    items.sort(key=lambda d: d.time.values[0])
    return xr.concat(
        items, dim="time", coords="minimal", compat="override", combine_attrs="drop_conflicts"
    )
