"""What a layer measures, as an output names it: variable name, CF standard name, units, range.

A run writes the layer it selected under that layer's quantity, never under "lai" unless it
holds LAI: ``Fpar_500m`` becomes ``fpar`` with CF's FAPAR standard name and units ``1``.
The quantity is read from the registry's own facts about the layer (its ``long_name``,
``units`` and ``physical_range``); the CF standard names are those of the CF Standard Name
Table (version 93, the one the IOOS compliance checker ships), checked by the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modisoft.products.model import Layer

__all__ = ["Quantity", "quantity_of", "LAI"]


@dataclass(frozen=True)
class Quantity:
    """The physical quantity of an output variable.

    Attributes
    ----------
    name
        The output variable (and default file) name: ``"lai"``, ``"fpar"``, ``"ndvi"`` …
    long_name
        CF ``long_name``.
    units
        CF/UDUNITS units (``"m2 m-2"``, ``"1"``, ``"K"``).
    standard_name
        CF standard name, ``None`` where CF has none (EVI).
    valid_range
        ``(min, max)`` of physical values, ``None`` if the registry gives none.
    """

    name: str
    long_name: str
    units: str
    standard_name: str | None = None
    valid_range: tuple[float, float] | None = None

    @property
    def is_lai(self) -> bool:
        """True for leaf area index (what BEPS reads)."""
        return self.standard_name == "leaf_area_index"

    def attrs(self) -> dict[str, object]:
        """CF attributes of a variable holding this quantity."""
        out: dict[str, object] = {"long_name": self.long_name, "units": self.units}
        if self.standard_name:
            out["standard_name"] = self.standard_name
        if self.valid_range is not None:
            out["valid_min"], out["valid_max"] = (float(v) for v in self.valid_range)
        return out


LAI = Quantity("lai", "leaf area index (one-sided)", "m2 m-2", "leaf_area_index", (0.0, 10.0))
"""Leaf area index, as retrieved from reflectance or read from an LAI product."""

# (pattern on the layer's long_name, output name or None for the layer's own, standard name)
_RULES: tuple[tuple[str, str | None, str | None], ...] = (
    (r"^standard deviation of LAI", "lai_stddev", "leaf_area_index standard_error"),
    (r"^standard deviation of FPAR", "fpar_stddev", None),
    (r"^leaf area index", "lai", "leaf_area_index"),
    (r"^fraction of (photosynthetically active radiation|absorbed PAR)", "fpar",
     "fraction_of_surface_downwelling_photosynthetic_radiative_flux_absorbed_by_vegetation"),
    (r"normalized difference vegetation index|NDVI", "ndvi",
     "normalized_difference_vegetation_index"),
    (r"^two-band enhanced vegetation index", "evi2", None),
    (r"^enhanced vegetation index", "evi", None),
    (r"^(black|white)-sky albedo", None, "surface_albedo"),
    (r"^land surface temperature", None, "surface_temperature"),
    (r"^surface reflectance", None, "surface_bidirectional_reflectance"),
)  # fmt: skip


def _own_name(layer: Layer) -> str:
    """A variable name from the layer's name: lower case, ``[a-z0-9_]``, not a digit first."""
    name = re.sub(r"[^0-9a-z]+", "_", layer.name.lower()).strip("_")
    return name if name and not name[0].isdigit() else f"v_{name}"


def quantity_of(layer: Layer) -> Quantity:
    """The quantity a registry layer holds, as an output should name it.

    Parameters
    ----------
    layer
        A value layer of the registry (``product.layer("Fpar_500m")``).

    Returns
    -------
    Quantity
        Name, ``long_name``, units and range from the registry entry; the CF standard name
        where CF defines one.

    Examples
    --------
    >>> from modisoft.products import get_product
    >>> quantity_of(get_product("MCD15A2H", "061").layer("Fpar_500m")).name
    'fpar'
    """
    for pattern, name, standard in _RULES:
        if re.search(pattern, layer.long_name):
            return Quantity(name or _own_name(layer), layer.long_name, layer.units or "1",
                            standard, layer.physical_range)
    return Quantity(_own_name(layer), layer.long_name or layer.name, layer.units or "1",
                    None, layer.physical_range)
