"""Class counts of QA fields: what a user checks first about a granule's quality."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from modisoft.io.granule import inspect_granule, open_granule
from modisoft.products import Layer, Product
from modisoft.qa.core import resolve_product
from modisoft.qa.expr import MissingQALayerError, QAError
from modisoft.qa.kernels import as_unsigned, extract_field, fill_mask

__all__ = ["word_counts", "field_counts", "qa_summary", "open_qa_layers", "mask_counts",
           "cloud_codes", "pixel_shares"]


def word_counts(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kernel: the distinct words and how many pixels hold each (bincount up to 16 bits)."""
    words = np.asarray(words).ravel()
    uw = as_unsigned(words)
    if uw.dtype.itemsize <= 2:
        counts = np.bincount(uw, minlength=1)
        u = np.flatnonzero(counts)
        return u.astype(uw.dtype).view(words.dtype), counts[u]
    return np.unique(words, return_counts=True)


def field_counts(words: np.ndarray, counts: np.ndarray, start: int, length: int) -> np.ndarray:
    """Kernel: pixels per code of one field, from distinct (non-fill) words and their counts."""
    codes = extract_field(words, start, length).astype(np.int64)
    return np.bincount(codes, weights=counts, minlength=1 << length).astype(np.int64)


def _layer_summary(words: np.ndarray, layer: Layer) -> dict[str, Any]:
    u, c = word_counts(words)
    fill = fill_mask(u, layer.fill_values) if layer.fill_values else np.zeros(u.shape, bool)
    total = int(c.sum())
    n_fill = int(c[fill].sum())
    u, c = u[~fill], c[~fill]

    def pct(n: int) -> float:
        return round(100.0 * n / total, 4) if total else 0.0

    fields = []
    for bf in layer.bit_fields:
        per_code = field_counts(u, c, bf.start, bf.length)
        labels = bf.labels
        codes = sorted(set(labels) | {int(k) for k in np.flatnonzero(per_code)})
        classes = [
            {
                "code": k,
                "name": labels.get(k, f"code_{k}"),
                "meaning": bf.values.get(k, "undocumented"),
                "count": int(per_code[k]),
                "percent": pct(int(per_code[k])),
            }
            for k in codes
        ]
        end = bf.start + bf.length - 1
        fields.append(
            {
                "field": bf.name,
                "bits": f"{bf.start}" if bf.length == 1 else f"{bf.start}-{end}",
                "classes": classes,
            }
        )
    return {
        "layer": layer.name,
        "key": layer.key,
        "dtype": str(np.asarray(words).dtype),
        "pixels": total,
        "fill_values": list(layer.fill_values),
        "fill": n_fill,
        "fill_percent": pct(n_fill),
        "fields": fields,
    }


def qa_summary(ds: Any, product: Product) -> dict[str, Any]:
    """Per QA layer of ``ds``: pixels, fill, and per field the pixels of every class.

    Counts come from the distinct words (one pass over the data), so a 2400 × 2400 layer
    costs one ``bincount``/``unique``.  Percentages are of all pixels of the layer (fill
    included); documented codes are listed even with zero pixels, undocumented codes when
    present.
    """
    out = {"product": f"{product.name}.{product.collection}", "layers": []}
    for lyr in product.qa_layers:
        names = [v for v in ds.data_vars if str(ds[v].attrs.get("layer", v)) == lyr.name]
        if names:
            out["layers"].append(_layer_summary(np.asarray(ds[names[0]].values), lyr))
    return out


def open_qa_layers(
    path: str | os.PathLike[str],
    *,
    product: Product | str | None = None,
    layers: list[str] | tuple[str, ...] = (),
) -> tuple[Any, Product]:
    """Open the QA layers (those with bit fields) of a granule, and its registry product.

    Parameters
    ----------
    path
        The granule.
    product
        A registry product or ``NAME``/``NAME.COLLECTION`` for a file that does not identify
        itself; default the file's own.
    layers
        Only these QA layers; default every QA layer the file has.

    Returns
    -------
    (xarray.Dataset, Product)
        The raw QA layers, lazily, and the product.

    Raises
    ------
    QAError
        For an unregistered product, or a file without (those) QA layers.
    """
    info = inspect_granule(path)
    prod = resolve_product(product) if product else info.product
    if prod is None:
        raise QAError(f"{path}: product not in the registry; pass --product NAME")
    names = [lyr.name for lyr in prod.qa_layers if lyr.name in info.sds]
    unknown = [n for n in layers if n not in names]
    if unknown:
        raise MissingQALayerError(
            f"{path}: no QA layer {', '.join(map(repr, unknown))}; QA layers: "
            + ", ".join(map(repr, names))
        )
    names = list(layers) or names
    if not names:
        raise QAError(
            f"{path}: {prod.name}.{prod.collection} has no QA layer with bit fields in this file"
        )
    return open_granule(path, names), prod


def mask_counts(mask: Any, valid: Any | None) -> dict[str, int]:
    """Pixels of a QA mask: ``total``, ``passed`` and ``fill`` (QA word is fill)."""
    m = np.asarray(mask.values)
    n_fill = int((~np.asarray(valid.values)).sum()) if valid is not None else 0
    return {"total": int(m.size), "passed": int(m.sum()), "fill": n_fill}


def cloud_codes(layer: Layer) -> tuple[Any, tuple[int, ...]] | None:
    """The cloud field of a QA layer and its cloudy codes, or ``None`` when it has none.

    The field named ``cloud_state`` (MOD09, MOD15) with its ``cloudy`` and ``mixed`` codes,
    the VIIRS cloud confidence ``cloud`` (VNP15 ``FparExtra_QC``) with ``probably_cloudy``
    and ``confident_cloudy``, else the first field with a code named ``cloudy`` (MOD13
    pixel reliability).

    Examples
    --------
    >>> from modisoft.products import get_product
    >>> bf, codes = cloud_codes(get_product("MCD15A2H", "061").layer("FparLai_QC"))
    >>> bf.name, codes
    ('cloud_state', (1, 2))
    """
    fields = sorted(layer.bit_fields, key=lambda b: b.name != "cloud_state")
    for bf in fields:
        names = ("cloudy", "mixed") if bf.name == "cloud_state" else \
            ("probably_cloudy", "confident_cloudy") if bf.name == "cloud" else ("cloudy",)
        codes = tuple(c for c, lab in bf.labels.items() if lab in names)
        if codes:
            return bf, codes
    return None


def pixel_shares(values: Any, qa: Any | None = None, rule: str = "none", *,
                 product: Product | str | None = None) -> dict[str, int | None]:
    """A granule's pixels by what a run makes of them.

    Parameters
    ----------
    values
        The raw value layer (computed, e.g. ``Lai_1km`` of :func:`~modisoft.open_granule`).
    qa
        Its QA layer (or a ``Dataset`` of QA layers), computed, or ``None``.
    rule
        The run's ``[steps] qa_rule`` (``"none"``: every value is good).
    product
        The registry product (``"NAME.COLLECTION"``), when the layers do not carry
        ``registry_product``.

    Returns
    -------
    dict
        ``pixels`` (all); ``good`` (a value, and the QA rule holds); ``cloudy`` (a value
        whose QA cloud field says cloudy or mixed, :func:`cloud_codes`; ``None`` without a
        cloud field); ``fill`` (no value: a fill value, a fill class that is not
        non-vegetated such as MOD15 249 and 255, or out of the valid range); ``nonveg``
        (the non-vegetated fill classes, MOD15 250-254).  ``fill + nonveg`` plus the
        values make ``pixels``.
    """
    from modisoft.decode import layer_of, valid_mask
    from modisoft.qa.core import qa_mask

    tag = product if isinstance(product, str) or product is None else \
        f"{product.name}.{product.collection}"
    layer = layer_of(values, tag)
    raw = np.asarray(values.values)
    qas = [] if qa is None else [qa[v] for v in qa.data_vars] if hasattr(qa, "data_vars") \
        else [qa]
    if raw.dtype.itemsize == 1 and raw.dtype.kind in "iu" and len(qas) <= 1 and all(
            q.dtype.itemsize == 1 and q.dtype.kind in "iu" for q in qas):
        return _shares_by_table(raw, layer, qa, qas, rule, tag)
    is_value = valid_mask(raw, layer)
    nonveg = np.isin(raw, np.asarray(layer.nonveg_codes)) if layer.nonveg_codes else \
        np.zeros(raw.shape, bool)
    good = is_value
    if qa is not None and rule != "none":
        good = is_value & np.asarray(qa_mask(qa, rule, product=tag).values)
    cloudy = None
    for da in qas:
        hit = _cloudy(np.asarray(da.values), layer_of(da, tag))
        if hit is not None:
            cloudy = int((hit & is_value).sum())
            break
    return {"pixels": int(raw.size), "good": int(good.sum()), "cloudy": cloudy,
            "fill": int((~is_value & ~nonveg).sum()), "nonveg": int(nonveg.sum())}


def _cloudy(words: np.ndarray, qa_layer: Any) -> np.ndarray | None:
    """Where the QA words say cloudy or mixed (not on fill); ``None`` without a cloud field."""
    found = cloud_codes(qa_layer)
    if found is None:
        return None
    field = extract_field(words, found[0].start, found[0].length)
    return np.isin(field, np.asarray(found[1])) & ~fill_mask(words, qa_layer.fill_values)


def _shares_by_table(raw: np.ndarray, layer: Any, qa: Any, qas: list, rule: str,
                     tag: str | None) -> dict[str, int | None]:
    """:func:`pixel_shares` of one-byte layers (at most one QA layer) from their joint
    histogram: every pixel's class depends on its (value, QA word) pair alone, so each test
    runs once on the 256 codes of each layer (the same functions, the same result) and the
    counts are sums over the 256 x 256 table instead of over every pixel."""
    import xarray as xr

    from modisoft.decode import layer_of, valid_mask
    from modisoft.lookup import byte_histogram, pair_histogram
    from modisoft.qa.core import qa_mask

    codes = np.arange(256, dtype=np.uint8)
    if qas:
        counts = pair_histogram(raw, qas[0].values)  # [QA word, value]
    else:
        counts = np.zeros((256, 256), np.int64)
        counts[0] = byte_histogram(raw)
    values = codes.view(raw.dtype)
    is_value = valid_mask(values, layer)
    nonveg = np.isin(values, np.asarray(layer.nonveg_codes or (), dtype=values.dtype))
    per_value = counts.sum(axis=0)
    good_words = np.ones(256, bool)
    cloudy = None
    if qas:
        da = qas[0]
        words = xr.DataArray(codes.view(da.dtype)[None, :], dims=da.dims[-2:], name=da.name,
                             attrs=da.attrs)
        if rule != "none":
            table = words.to_dataset() if hasattr(qa, "data_vars") else words
            table.attrs.update(qa.attrs)
            good_words = np.asarray(qa_mask(table, rule, product=tag).values).ravel()
        hit = _cloudy(words.values.ravel(), layer_of(da, tag))
        if hit is not None:
            cloudy = int(counts[hit][:, is_value].sum())
    return {"pixels": int(raw.size), "good": int(counts[good_words][:, is_value].sum()),
            "cloudy": cloudy, "fill": int(per_value[~is_value & ~nonveg].sum()),
            "nonveg": int(per_value[nonveg].sum())}
