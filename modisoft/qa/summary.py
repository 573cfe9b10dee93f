"""Class counts of QA fields: what a user checks first about a granule's quality."""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.products import Layer, Product
from modisoft.qa.kernels import as_unsigned, extract_field, fill_mask

__all__ = ["word_counts", "field_counts", "qa_summary"]


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
