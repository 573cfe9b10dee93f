"""QA decoding: bit fields declared in the registry, named predicates, masks and weights.

* :func:`decode_qa` — a raw QA layer → a ``Dataset`` of named small-integer fields (lazy).
* :func:`qa_mask` / :func:`where` — a preset (``"good_lai"``) or an expression
  (``"cloud_state == clear and not snow_ice"``) → a boolean mask / masked values.
* :func:`qa_weights` — QA classes → weights in [0, 1] for smoothers and composites.
* :func:`pixel_shares` — a granule's pixels counted as good, cloudy, fill, not vegetated.
* :func:`merge_sensors` — several sensors' observations of a period merged, best QA first,
  then sensor priority (:func:`sensor_grade`, :func:`merge_kernel`).
* :func:`field` and :func:`parse` build :class:`Predicate` objects in Python.

Bit layouts, presets and default weights live in :mod:`modisoft.products.qa_bits`; the
syntax and the choices are documented in ``docs/concepts/qa.md``.
"""

from __future__ import annotations

from modisoft.qa.core import (
    decode_qa,
    presets,
    qa_layer_of,
    qa_mask,
    qa_mask_and_fill,
    qa_weights,
    resolve_product,
    weight_schemes,
    where,
)
from modisoft.qa.expr import (
    MissingQALayerError,
    Predicate,
    QAError,
    QAExpressionError,
    UnknownQAFieldError,
    UnknownQAValueError,
    field,
    parse,
)
from modisoft.qa.kernels import decode_words, extract_field, fill_code
from modisoft.qa.merge import merge_kernel, merge_sensors, sensor_grade
from modisoft.qa.summary import (
    cloud_codes,
    mask_counts,
    open_qa_layers,
    pixel_shares,
    qa_summary,
)

__all__ = [
    "decode_qa",
    "qa_mask",
    "qa_weights",
    "where",
    "presets",
    "weight_schemes",
    "qa_layer_of",
    "resolve_product",
    "qa_summary",
    "qa_mask_and_fill",
    "open_qa_layers",
    "mask_counts",
    "pixel_shares",
    "cloud_codes",
    "merge_kernel",
    "merge_sensors",
    "sensor_grade",
    "field",
    "parse",
    "Predicate",
    "decode_words",
    "extract_field",
    "fill_code",
    "QAError",
    "QAExpressionError",
    "UnknownQAFieldError",
    "UnknownQAValueError",
    "MissingQALayerError",
]
