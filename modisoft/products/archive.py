"""Where NASA's archive holds a product: its collection in the Common Metadata Repository
(CMR), as data.

MODIS land tiles of collection 6.1 and VIIRS land tiles of collection 2 are distributed by the
LP DAAC and LAADS with CMR collections named by the short name and a three-digit version
(``MOD15A2H`` ``061``, ``VNP15A2H`` ``002``); each granule's UMM-G record carries the file's
size and checksum.  Earlier collections (MODIS 005 and 006, VIIRS 001) were decommissioned
by the LP DAAC and are not searched; AVHRR LTDR and GIMMS are not served through CMR
granule downloads modisoft knows, so they have no entry: a search for them says so.
"""

from __future__ import annotations

from modisoft.products.model import Product

__all__ = ["CMR_FAMILIES", "CMR_URL", "cmr_collection"]

CMR_URL = "https://cmr.earthdata.nasa.gov/search/"
"""NASA's operational CMR search endpoint (``MODISOFT_CMR_URL`` or ``--cmr-url`` override it,
for a test server or CMR's UAT)."""

CMR_FAMILIES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("MOD", "MYD", "MCD"): ("061",),
    ("VNP", "VJ1", "VJ2"): ("002",),
}
"""Short-name prefixes → the collections CMR serves for them (source: LP DAAC product pages,
``https://lpdaac.usgs.gov/products/<name>v061/`` and ``.../<name>v002/``, each naming its
CMR short name and version)."""


def cmr_collection(product: Product) -> tuple[str, str] | None:
    """The CMR collection ``(short name, version)`` of a registry product, or ``None`` when
    CMR does not serve it (see :data:`CMR_FAMILIES`).

    Examples
    --------
    >>> from modisoft.products import get_product
    >>> cmr_collection(get_product("MOD15A2H", "061"))
    ('MOD15A2H', '061')
    >>> cmr_collection(get_product("AVH15C1")) is None
    True
    """
    for prefixes, versions in CMR_FAMILIES.items():
        if product.name.upper().startswith(prefixes) and product.collection in versions:
            return product.name.upper(), product.collection
    return None
