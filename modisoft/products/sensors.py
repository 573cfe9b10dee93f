"""Which sensor a merged pixel came from: the integer codes of a multi-sensor run's ``sensor``
layer, by platform (issue 23).

The codes are modisoft's own (choice), fixed so that a run's ``sensor`` layer means the same
whatever products it merged: 0 no value, then one code per platform of the registry's LAI
products (``Product.platform``).  The layer carries them as CF ``flag_values`` /
``flag_meanings``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SENSOR_CODES", "sensor_code", "sensor_flags"]

SENSOR_CODES: dict[str, tuple[int, str]] = {
    "Terra": (1, "terra_modis"),
    "Aqua": (2, "aqua_modis"),
    "Terra+Aqua": (3, "terra_aqua_modis"),
    "Suomi NPP": (4, "snpp_viirs"),
    "NOAA-20": (5, "noaa20_viirs"),
    "NOAA-21": (6, "noaa21_viirs"),
}
"""Platform (``Product.platform``) → (code, flag meaning); 0 means no sensor gave a value."""


def sensor_code(product: Any) -> int:
    """The ``sensor`` code of a registry product (its platform's code).

    Examples
    --------
    >>> from modisoft.products import get_product
    >>> sensor_code(get_product("VJ115A2H", "002")), sensor_code(get_product("MOD15A2H", "061"))
    (5, 1)
    """
    from modisoft.errors import RegistryError

    try:
        return SENSOR_CODES[product.platform][0]
    except KeyError:
        raise RegistryError(f"{product.name}: platform {product.platform!r} has no sensor code; "
                            f"known: {', '.join(SENSOR_CODES)}") from None


def sensor_flags(products: list[Any]) -> dict[str, Any]:
    """CF ``flag_values`` / ``flag_meanings`` of a ``sensor`` layer merging ``products``
    (0 ``none`` first, then the products' codes in increasing order)."""
    codes = sorted({SENSOR_CODES[p.platform] for p in products})
    return {"flag_values": [0, *(c for c, _ in codes)],
            "flag_meanings": " ".join(["none", *(m for _, m in codes)])}
