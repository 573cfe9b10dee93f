"""What the BEPS_D carbon model reads, as data: its LAI day table, its land-cover codes and a
crosswalk from MCD12Q1's IGBP classes (``reference/BEPS.md``).

Sources: JChen-UToronto/BEPS_D (daily BEPS, CCRS, J. Liu 1997-2000), read in its copy
prettymao/BEPS_D@0673aca405e7 (the same code as rpkgs/BEPS_D): ``readlai.c`` (the day table),
``beps.c`` (land cover 0 is water and not simulated), ``readb.c`` and ``zcomp.c`` (the code
groups with their parameters and clumping), ``doflux.c`` (29 urban, 31 snow/ice).
"""

from __future__ import annotations

import bisect

from modisoft.errors import RegistryError

__all__ = [
    "BEPS_D_COVER",
    "BEPS_D_STARTS",
    "BEPS_MASK_CODE",
    "IGBP_TO_BEPS_D",
    "IGBP_TO_BEPS_D_SOURCE",
    "beps_d_suffix",
]

BEPS_D_STARTS = (1, 111, 121, 131, 141, 152, 162, 172, 182, 192, 202, 213, 223, 233, 244, 254,
                 264, 274, 284, 294)
"""First day of year of BEPS_D's LAI files ``.001`` … ``.020``: ``readlai.c`` picks ``.001`` for
days < 111 (< 101 and 101–110 listed apart), ``.002`` for 111–120, …, ``.020`` for days ≥ 294,
from the day of year alone (no year, no leap-year handling)."""


def beps_d_suffix(doy: int) -> int:
    """The number of the BEPS_D LAI file read on day of year ``doy`` (1–366), as ``readlai.c``
    chooses it.

    Examples
    --------
    >>> beps_d_suffix(110), beps_d_suffix(111), beps_d_suffix(366)
    (1, 2, 20)
    """
    if not 1 <= int(doy) <= 366:
        raise RegistryError(f"day of year {doy} is outside 1-366")
    return bisect.bisect_right(BEPS_D_STARTS, int(doy))


BEPS_D_COVER: dict[int, str] = {
    0: "water (not simulated: beps.c sets NPP = 0 without reading LAI)",
    **{c: "conifer (readb.c, zcomp.c: clumping 0.5)" for c in range(1, 6)},
    6: "deciduous forest (clumping 0.7)",
    **{c: "mixed forest (clumping 0.6)" for c in range(7, 11)},
    16: "pasture / grass (clumping 0.9)",
    **{c: "agricultural land (clumping 0.9)" for c in range(23, 29)},
    29: "urban (doflux.c: soil evaporation x 0.8)",
    31: "snow / ice (doflux.c: no soil evaporation)",
}
"""The Canadian land-cover codes BEPS_D's code names (CCRS land-cover atlas); every other code
takes the ``default:`` parameters of ``readb.c`` and clumping 1.0 (``zcomp.c``)."""

BEPS_MASK_CODE = 100
"""The code modisoft writes for a simulated pixel whose cover type it does not know (no land
cover given, or a class with no BEPS_D group): none of BEPS_D's named codes, so the model uses
its default parameters and clumping 1.0 (a choice)."""

IGBP_TO_BEPS_D: dict[int, int] = {
    1: 1, 3: 1,  # evergreen / deciduous needleleaf -> conifer
    2: BEPS_MASK_CODE,  # evergreen broadleaf: no BEPS_D group
    4: 6,  # deciduous broadleaf -> deciduous
    5: 7,  # mixed forests -> mixed
    6: BEPS_MASK_CODE, 7: BEPS_MASK_CODE,  # closed / open shrublands: no BEPS_D group
    8: 16, 9: 16, 10: 16,  # woody savannas, savannas, grasslands -> pasture / grass
    11: BEPS_MASK_CODE,  # permanent wetlands: no BEPS_D group
    12: 23, 14: 23,  # croplands, cropland / natural vegetation mosaics -> agriculture
    13: 29,  # urban and built-up
    15: 31,  # permanent snow and ice
    16: BEPS_MASK_CODE,  # barren: simulated with default parameters (LAI decides)
    17: 0,  # water bodies: not simulated
    255: 0,  # fill: not simulated
}
"""MCD12Q1 ``LC_Type1`` (IGBP) → BEPS_D land-cover code (a crosswalk, a choice)."""

IGBP_TO_BEPS_D_SOURCE = (
    "crosswalk (choice): the IGBP groups of modisoft's LC_Type1 cover mapping (PRODUCTS.md §9 "
    "suggestion) to the BEPS_D code groups of readb.c / zcomp.c (1-5 conifer, 6 deciduous, "
    "7-10 mixed, 16 pasture, 23-28 agriculture), doflux.c (29 urban, 31 snow/ice) and beps.c "
    f"(0 water, not simulated); classes with no BEPS_D group -> {BEPS_MASK_CODE} (default "
    "parameters)"
)
"""Where :data:`IGBP_TO_BEPS_D` comes from."""
