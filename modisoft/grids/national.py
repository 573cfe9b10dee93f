"""Named national grids and tile sets: China Albers at 1 km / 500 m / 250 m and the MODIS tiles
of China (``reference/GRIDS.md`` §2-3); BEPS_D's own Canadian 1 km Lambert conformal grid
(``reference/BEPS.md`` §3)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pyproj import CRS

from modisoft.errors import GridError
from modisoft.grids.core import Grid, grid_from_bounds

__all__ = [
    "CHINA_TILE_PRESETS",
    "CHINA_ALBERS_PROJ",
    "CHINA_ALBERS_BOUNDS",
    "BEPS_D_CANADA_PROJ",
    "BEPS_D_CANADA_BOUNDS",
    "NATIONAL_GRIDS",
    "china_albers_crs",
    "national_grid",
    "national_grid_tiles",
    "invalid_tile_ids",
    "tile_ids",
]


def _tiles(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(t[1:3]), int(t[4:6])) for t in text.split())


_CHINA_18 = (
    "h23v04 h23v05 h24v04 h24v05 h25v03 h25v04 h25v05 h25v06 h26v03 h26v04 h26v05 h26v06 "
    "h27v04 h27v05 h27v06 h28v05 h28v06 h28v07"
)
CHINA_TILE_PRESETS: dict[str, tuple[tuple[int, int], ...]] = {
    "china18": _tiles(_CHINA_18),
    "china19": _tiles(_CHINA_18 + " h29v06"),
    "china22": _tiles(_CHINA_18 + " h29v06 h29v07 h28v08 h29v08"),
}
"""MODIS tiles of China (GRIDS.md §2, computed): mainland + Hainan (18), + Taiwan (19),
+ South China Sea islands (22)."""

CHINA_ALBERS_PROJ = (
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=krass +units=m +no_defs"
)
"""China Albers equal-area on the Krasovsky ellipsoid (GRIDS.md §3.1; no EPSG code)."""

CHINA_ALBERS_BOUNDS = (-2750000.0, 1750000.0, 2300000.0, 6050000.0)
"""Outer edges ``(left, bottom, right, top)`` in metres of the named China Albers grids (choice).

Computed: the extreme points of mainland China, Hainan and Taiwan (Pamir 73.50° E 39.38° N →
x −2622762; Fuyuan 134.77° E 48.45° N → x 2182968; Hainan 109.5° E 18.15° N → y 1875438; the
Amur north of Mohe → y ≈ 5950711) plus at least 100 km, snapped to 10 km so that the 1 km,
500 m and 250 m grids share their edges."""


def china_albers_crs(ellps: str = "krass") -> CRS:
    """The China Albers CRS; ``ellps="WGS84"`` gives the WGS84 variant (GRIDS.md §3.1).

    It has no EPSG code; its WKT names it (``"China Albers Equal Area (Krasovsky 1940)"``)
    so that GDAL, QGIS and modisoft show that name, not "unknown".

    Examples
    --------
    >>> china_albers_crs().to_epsg() is None
    True
    >>> china_albers_crs().name
    'China Albers Equal Area (Krasovsky 1940)'
    """
    crs = CRS.from_proj4(CHINA_ALBERS_PROJ.replace("+ellps=krass", f"+ellps={ellps}"))
    doc = crs.to_json_dict()
    doc["name"] = f"China Albers Equal Area ({'Krasovsky 1940' if ellps == 'krass' else ellps})"
    return CRS.from_json_dict(doc)


BEPS_D_CANADA_PROJ = (
    "+proj=lcc +lat_0=0 +lon_0=-95 +lat_1=49 +lat_2=77 +x_0=0 +y_0=0 +datum=NAD83 +units=m "
    "+no_defs"
)
"""BEPS_D's Lambert conformal conic on NAD83 (``lcc_nad83.h`` of JChen-UToronto/BEPS_D, seen in
its copy prettymao/BEPS_D@0673aca: ``phi1 = 0.855211333589``, ``phi2 = 1.343903524211`` rad =
49° and 77° N; ``phi0 = 0``; ``lamda0 = -1.658062789611`` rad = 95° W; GRS 80 ``a = 6378137``,
``e2 = 0.00669438``; no false easting or northing)."""

BEPS_D_CANADA_BOUNDS = (-2600000.0, 5700000.0, 3100000.0, 10500000.0)
"""Outer edges of BEPS_D's grid: ``NPIX_CAN`` = 5700 pixels × ``NLIN_CAN`` = 4800 lines of
``pixel_size`` = 1000 m (``beps.h``), pixel centre x = (pixel + 0.5)·1000 + ``xshift``
(−2600000), y = (4800 − (line + 0.5))·1000 + ``yshift`` (5700000) (``pixtolon.c``)."""

CHINA_ALBERS_WKT = china_albers_crs().to_wkt()
"""The China Albers CRS as named WKT2 (the named grids' CRS)."""

NATIONAL_GRIDS: dict[str, tuple[str, float, tuple[float, float, float, float]]] = {
    **{f"china_albers_{name}": (CHINA_ALBERS_WKT, res, CHINA_ALBERS_BOUNDS)
       for name, res in (("1km", 1000.0), ("500m", 500.0), ("250m", 250.0))},
    "beps_d_canada_1km": (BEPS_D_CANADA_PROJ, 1000.0, BEPS_D_CANADA_BOUNDS),
}
"""Named national grids: name → (CRS, resolution in CRS units, outer-edge bounds)."""

NATIONAL_GRID_TILES: dict[str, str] = {name: "china22" for name in NATIONAL_GRIDS
                                       if name.startswith("china")}
"""The MODIS tiles a named national grid is made from (a :data:`CHINA_TILE_PRESETS` name):
the country's land tiles, not every tile the grid's rectangle touches (31 for China Albers,
most of them neighbours' land or sea)."""


def national_grid_tiles(name: str) -> list[str]:
    """The MODIS tile ids (``"h26v05"``) a named national grid is made from.

    Examples
    --------
    >>> len(national_grid_tiles("china_albers_1km"))
    22
    """
    if name not in NATIONAL_GRIDS:
        raise GridError(
            f"unknown national grid {name!r}; named grids: {', '.join(sorted(NATIONAL_GRIDS))}")
    if name in NATIONAL_GRID_TILES:
        return tile_ids(NATIONAL_GRID_TILES[name])
    from modisoft.grids.modis import modis_tiles_covering

    crs, _, bounds = NATIONAL_GRIDS[name]  # every tile the grid's rectangle touches
    return [f"h{h:02d}v{v:02d}" for h, v in modis_tiles_covering(bounds, crs)]


def national_grid(name: str) -> Grid:
    """A named national grid, e.g. ``"china_albers_1km"`` (see :data:`NATIONAL_GRIDS`).

    Examples
    --------
    >>> national_grid("china_albers_1km").shape
    (4300, 5050)
    """
    try:
        crs, res, bounds = NATIONAL_GRIDS[name]
    except KeyError:
        raise GridError(
            f"unknown national grid {name!r}; named grids: {', '.join(sorted(NATIONAL_GRIDS))}"
        ) from None
    return grid_from_bounds(crs, res, bounds)


def tile_ids(spec: str | Sequence[str]) -> list[str]:
    """Tile ids from a preset name (``"china19"``, see :data:`CHINA_TILE_PRESETS`), a
    comma-separated list (``"h26v05,h27v05"``) or a sequence of ids.

    Examples
    --------
    >>> tile_ids("h26v05, h27v05")
    ['h26v05', 'h27v05']
    >>> len(tile_ids("china19"))
    19
    """
    if isinstance(spec, str):
        if spec in CHINA_TILE_PRESETS:
            return [f"h{h:02d}v{v:02d}" for h, v in CHINA_TILE_PRESETS[spec]]
        spec = spec.split(",")
    return [t.strip() for t in spec if t.strip()]


def invalid_tile_ids(ids: Sequence[str]) -> list[str]:
    """The ids that are not MODIS tiles (``hHHvVV``, HH 00–35, VV 00–17).

    Examples
    --------
    >>> invalid_tile_ids(["h26v05", "h36v05", "26v05"])
    ['h36v05', '26v05']
    """
    bad = []
    for t in ids:
        m = re.fullmatch(r"h(\d\d)v(\d\d)", t)
        if not m or int(m[1]) > 35 or int(m[2]) > 17:
            bad.append(t)
    return bad
