"""The ``[metadata]`` table and the discovery metadata (ACDD-1.3) of a run's outputs.

What the run knows it says itself: a ``title`` and ``summary`` built from the product, the
quantity, the grid and the steps; ``source`` (product, collection, layer), ``keywords``,
``platform``, ``product_version``.  Who made the data and under which terms (``institution``,
``creator_*``, ``publisher_*``, ``license`` …) only the user knows: those come from the
optional ``[metadata]`` table, and a run without them lists what its NetCDF and Zarr lack
(:func:`missing_metadata`) instead of filling in placeholder text.
"""

from __future__ import annotations

import re
from typing import Any

from modisoft.errors import ConfigError
from modisoft.pipeline.schema import RunConfig

__all__ = ["METADATA_KEYS", "USER_KEYS", "check_metadata", "fill_class_attrs", "flag_standard",
           "missing_metadata", "output_quantity", "run_metadata"]

USER_KEYS = (
    "institution", "creator_name", "creator_email", "creator_url", "publisher_name",
    "publisher_email", "publisher_url", "project", "license", "acknowledgement", "comment",
    "id", "naming_authority", "processing_level",
)  # fmt: skip
"""The ACDD-1.3 recommended attributes only the user can give (a run lists those missing)."""

METADATA_KEYS = (
    "title", "summary", "keywords", "references", "history", *USER_KEYS, "creator_type",
    "creator_institution", "publisher_type", "publisher_institution", "contributor_name",
    "contributor_role", "program", "metadata_link", "keywords_vocabulary", "date_issued",
)  # fmt: skip
"""Keys the ``[metadata]`` table accepts (ACDD-1.3 names); ``history`` is appended to the
line modisoft writes."""


SENSORS = {"M": "MODIS", "V": "VIIRS", "A": "AVHRR"}


def output_quantity(cfg: RunConfig) -> Any:
    """What the run's values are: LAI when retrieved, else the quantity of the product layer
    the run reads (``Fpar_500m`` → ``fpar``), from the registry."""
    from modisoft.products import LAI, find_product, quantity_of

    product = find_product(cfg.inputs.product)
    layer = cfg.inputs.layer or (product.role_layer("lai") if product else None)
    if cfg.steps.lai != "product" or product is None or product.find_layer(layer) is None:
        return LAI
    return quantity_of(product.layer(layer))


def fill_class_attrs(cfg: RunConfig, source_layer: str) -> dict[str, Any]:
    """CF flag attributes of ``fill_class``: 0 (the pixel has values) and the registry's fill
    classes of the layer the run reads (MOD15: 249 unclassified … 255 fill)."""
    import numpy as np

    from modisoft.products import find_product

    product = find_product(cfg.inputs.product)
    layer = product.find_layer(source_layer) if product else None
    classes = layer.fill_classes if layer else ()
    return {"long_name": "fill class of pixels without any valid value (0 = has values)",
            "grid_mapping": "spatial_ref", "source_layer": source_layer,
            "flag_values": np.array([0, *(c.code for c in classes)], dtype="uint8"),
            "flag_meanings": " ".join(["has_values", *(c.name for c in classes)])}


def flag_standard(cfg: RunConfig) -> dict[str, str]:
    """CF's ``status_flag`` standard name (the status of another variable, linked from it
    by ``ancillary_variables``) and the ACDD content type of ``fill_class``."""
    return {"standard_name": "status_flag", "coverage_content_type": "qualityInformation"}


def check_metadata(table: Any) -> dict[str, str]:
    """The ``[metadata]`` table checked: known ACDD keys, text values (``keywords`` may be a
    list of words), an ``id`` without blanks.

    Raises
    ------
    ConfigError
        Naming the key, the value and what is accepted.
    """
    if not isinstance(table, dict):
        raise ConfigError(f"[metadata] must be a table of ACDD attributes, got {table!r}")
    out = {}
    for key, value in table.items():
        if key not in METADATA_KEYS:
            raise ConfigError(f"[metadata] {key!r}: not an ACDD-1.3 attribute modisoft writes; "
                              f"accepted: {', '.join(METADATA_KEYS)}")
        if key == "keywords" and isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"[metadata] {key} {value!r}: need non-empty text")
        if key == "id" and re.search(r"\s", value):
            raise ConfigError(f"[metadata] id {value!r}: need an identifier without blanks")
        out[key] = value.strip()
    return out


def missing_metadata(cfg: RunConfig) -> list[str]:
    """The ACDD-1.3 recommended attributes the run's NetCDF/Zarr lack (not in
    ``[metadata]``)."""
    return [k for k in USER_KEYS if k not in (cfg.metadata or {})]


def run_metadata(cfg: RunConfig, grid_text: str) -> dict[str, str]:
    """The discovery attributes of the run's NetCDF and Zarr outputs.

    Parameters
    ----------
    cfg
        The run configuration (``[metadata]`` overrides what is built here).
    grid_text
        The output grid in words (e.g. ``"EPSG:3035 at 1000 m, 600 x 360"``).

    Returns
    -------
    dict
        ``title``, ``summary``, ``source``, ``keywords``, ``platform``, ``product_version``
        and ``history``, then the ``[metadata]`` values.
    """
    from modisoft.products import find_product

    q = output_quantity(cfg)
    product = find_product(cfg.inputs.product)
    name = product.name if product else cfg.inputs.product
    coll = f" collection {product.collection}" if product else ""
    span = f"{cfg.inputs.start} to {cfg.inputs.end}" if cfg.inputs.start else "the given dates"
    s = cfg.steps
    how = (f"smoothed per pixel ({s.smoother}) and averaged over each {s.period} period"
           if s.smoother != "none" else f"composited per {s.period} period ({s.reducer})")
    made = ("retrieved from surface reflectance" if s.lai == "retrieve"
            else f"from the {cfg.inputs.layer or 'LAI'} layer")
    out = {
        "title": f"{q.long_name} ({q.name.upper()}), {name}{coll}, {span}, {grid_text}",
        "summary": (f"{q.long_name[0].upper()}{q.long_name[1:]} {made} of {name}{coll} "
                    f"granules ({product.title if product else name}), masked by the QA rule "
                    f"'{s.qa_rule}' at source resolution, resampled ({s.resampling}) onto "
                    f"{grid_text}, {how}; made with modisoft."),
        "source": f"{name}{coll} ({product.platform + ', ' if product and product.platform else ''}"
                  f"layer {cfg.inputs.layer or (product.role_layer('lai') if product else '')})",
        "keywords": ", ".join(dict.fromkeys(k for k in (
            q.long_name, q.name.upper(), name, SENSORS.get(name[:1], ""), "vegetation") if k)),
        "history": "modisoft run",
    }
    if product:
        out["platform"] = product.platform
        out["product_version"] = product.collection
    meta = dict(cfg.metadata or {})
    if "history" in meta:
        out["history"] += f"; {meta.pop('history')}"
    return {**out, **meta}
