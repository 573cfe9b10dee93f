"""The product registry: every fact modisoft knows about a product, as data.

Products are keyed by ``(name, collection)``.  Look one up with :func:`get_product`; list them
with :func:`all_products`.  The numbers live in the family modules (``modis_lai``,
``modis_sr``, ``modis_vi``, ``modis_other``), each citing its sources.
"""

from __future__ import annotations

from modisoft.errors import RegistryError
from modisoft.products import avhrr, modis_lai, modis_other, modis_sr, modis_vi, viirs
from modisoft.products.archive import CMR_URL, cmr_collection
from modisoft.products.model import (
    BitField,
    FillClass,
    Layer,
    Product,
    QAPreset,
    Scaling,
    WeightScheme,
)
from modisoft.products.quantity import LAI, Quantity, quantity_of
from modisoft.products.sensors import SENSOR_CODES, sensor_code, sensor_flags

__all__ = [
    "BitField",
    "FillClass",
    "Layer",
    "Product",
    "QAPreset",
    "Scaling",
    "WeightScheme",
    "CMR_URL",
    "LAI",
    "Quantity",
    "quantity_of",
    "SENSOR_CODES",
    "sensor_code",
    "sensor_flags",
    "all_products",
    "cmr_collection",
    "find_product",
    "get_product",
]

_REGISTRY: dict[tuple[str, str], Product] = {}
for _module in (modis_lai, modis_sr, modis_vi, modis_other, viirs, avhrr):
    for _p in _module.PRODUCTS:
        if _p.key in _REGISTRY:  # pragma: no cover - a programming error caught at import
            raise RegistryError(f"product {_p.key} registered twice")
        _REGISTRY[_p.key] = _p


def _norm_collection(collection: str | int | None) -> str | None:
    if collection is None:
        return None
    c = str(collection).strip()
    if c.isdigit():
        c = {"5": "005", "6": "006", "61": "061", "1": "001", "2": "002"}.get(
            c.lstrip("0") or "0", c.zfill(3)
        )
    return c


def find_product(name: str, collection: str | int | None = None) -> Product | None:
    """The registered product, or ``None``.

    Parameters
    ----------
    name
        Short name, e.g. ``"MCD15A2H"`` (case-insensitive).
    collection
        ``"061"``, ``"6.1"``-style ints like ``61``, or ``None`` for the newest registered.
    """
    name = name.upper()
    coll = _norm_collection(collection)
    if coll is not None:
        return _REGISTRY.get((name, coll))
    found = [p for (n, _), p in _REGISTRY.items() if n == name]
    return max(found, key=lambda p: p.collection) if found else None


def get_product(name: str, collection: str | int | None = None) -> Product:
    """Like :func:`find_product` but raises :class:`~modisoft.errors.RegistryError`.

    Examples
    --------
    >>> get_product("MCD15A2H", "061").layer("Lai_500m").scaling.scale
    0.1
    """
    p = find_product(name, collection)
    if p is None:
        known = sorted({n for n, _ in _REGISTRY})
        colls = sorted(c for n, c in _REGISTRY if n == name.upper())
        hint = (
            f"; registered collections: {', '.join(colls)}"
            if colls
            else (f"; registered products: {', '.join(known)}")
        )
        raise RegistryError(f"product {name!r} collection {collection!r} is not registered{hint}")
    return p


def all_products() -> list[Product]:
    """Every registered product, sorted by name and collection."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
