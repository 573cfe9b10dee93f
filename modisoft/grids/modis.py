"""The MODIS sinusoidal tiling: the sphere, tile grids, and tiles from lon/lat or an area.

The MODIS sinusoidal grid lives on a sphere of radius 6371007.181 m (MODLAND GCTP page), never
on WGS84; see ``reference/GRIDS.md`` §1 for the constants used below.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer

from modisoft.errors import GridError
from modisoft.grids.core import Grid
from modisoft.grids.geometry import (
    box_ring,
    densify_ring,
    points_in_edges,
    ring_intersects_box,
    segments_cross_box,
)

__all__ = [
    "MODIS_SPHERE_RADIUS",
    "MODIS_TILE_SIZE",
    "MODIS_X0",
    "MODIS_Y0",
    "MODIS_TILE_PIXELS",
    "sinusoidal_crs",
    "modis_tile_grid",
    "modis_tile_of_grid",
    "modis_tile_of_lonlat",
    "modis_tiles_covering",
]

MODIS_SPHERE_RADIUS = 6371007.181
"""Radius (m) of the MODIS sinusoidal sphere (MODLAND GCTP page)."""
MODIS_TILE_SIZE = 2 * math.pi * MODIS_SPHERE_RADIUS / 36
"""Exact width of a MODIS tile, 2πR/36 = 1111950.5197665233 m (computed)."""
MODIS_X0 = -18 * MODIS_TILE_SIZE
MODIS_Y0 = 9 * MODIS_TILE_SIZE
MODIS_TILE_PIXELS = {"250m": 4800, "500m": 2400, "1km": 1200, "6km": 200}
"""Pixels per tile side for the MODIS land grid resolutions (verified, GRIDS.md §1.2)."""


@lru_cache(maxsize=8)
def sinusoidal_crs(radius: float = MODIS_SPHERE_RADIUS) -> CRS:
    """The sinusoidal CRS on a sphere (default: the MODIS sphere, R = 6371007.181 m).

    Examples
    --------
    >>> sinusoidal_crs().ellipsoid.semi_major_metre
    6371007.181
    """
    from pyproj.crs import GeographicCRS, ProjectedCRS
    from pyproj.crs.coordinate_operation import SinusoidalConversion
    from pyproj.crs.datum import CustomDatum, CustomEllipsoid

    sphere = CustomEllipsoid(name=f"Sphere R={radius!r}", radius=radius)
    geog = GeographicCRS(
        name="Unspecified datum based upon the MODIS sphere",
        datum=CustomDatum(name="MODIS sphere", ellipsoid=sphere),
    )
    return ProjectedCRS(
        conversion=SinusoidalConversion(longitude_natural_origin=0.0),
        geodetic_crs=geog,
        name="MODIS Sinusoidal" if radius == MODIS_SPHERE_RADIUS else "Sinusoidal (sphere)",
    )


def modis_tile_grid(h: int, v: int, resolution: str = "1km") -> Grid:
    """The exact grid of MODIS sinusoidal tile ``hHHvVV`` at a land-grid resolution.

    Parameters
    ----------
    h, v
        Horizontal (0-35) and vertical (0-17) tile numbers.
    resolution
        ``"250m"``, ``"500m"``, ``"1km"`` or ``"6km"``.

    Examples
    --------
    >>> modis_tile_grid(18, 9).transform.c
    0.0
    """
    if not (0 <= h <= 35 and 0 <= v <= 17):
        raise GridError(f"MODIS tile h{h:02d}v{v:02d} is outside h 0-35, v 0-17")
    try:
        n = MODIS_TILE_PIXELS[resolution]
    except KeyError:
        raise GridError(
            f"unknown MODIS resolution {resolution!r}; use one of {sorted(MODIS_TILE_PIXELS)}"
        ) from None
    s = MODIS_TILE_SIZE / n
    ulx = (h - 18) * MODIS_TILE_SIZE
    uly = (9 - v) * MODIS_TILE_SIZE
    return Grid(sinusoidal_crs().to_wkt(), Affine(s, 0.0, ulx, 0.0, -s, uly), (n, n))


def modis_tile_of_grid(grid: Grid, tol: float = 1.0) -> tuple[int, int] | None:
    """The MODIS tile ``(h, v)`` whose outer corners a grid matches, or ``None``.

    Matches the upper-left *and* lower-right corners within ``tol`` metres, so a spatial subset
    (``reference/GRIDS.md`` §4.3) or a non-MODIS grid gives ``None``.  Both the exact tile
    width and the truncated width found in file metadata (1111950.519667 m) match.
    """
    crs = grid.crs
    op = crs.coordinate_operation if crs.is_projected else None
    if op is None or op.method_name.lower() != "sinusoidal":
        return None
    left, bottom, right, top = grid.bounds
    hf = (left - MODIS_X0) / MODIS_TILE_SIZE
    vf = (MODIS_Y0 - top) / MODIS_TILE_SIZE
    h, v = round(hf), round(vf)
    exact = modis_tile_grid(h, v, "1km") if 0 <= h <= 35 and 0 <= v <= 17 else None
    if exact is None:
        return None
    el, eb, er, et = exact.bounds
    if max(abs(left - el), abs(top - et), abs(right - er), abs(bottom - eb)) <= tol:
        return (h, v)
    return None


def modis_tile_of_lonlat(lon: Any, lat: Any) -> tuple[Any, Any]:
    """The MODIS tile ``(h, v)`` holding a lon/lat point (degrees), by the GRIDS.md §1.3 formula.

    ``x = R·λ·cos φ``, ``y = R·φ``, ``h = ⌊(x − X0)/T⌋``, ``v = ⌊(Y0 − y)/T⌋``.  Works on scalars
    (returns ints) and arrays (returns int arrays).  A point on a tile edge belongs to the tile
    to its east / south.

    Examples
    --------
    >>> modis_tile_of_lonlat(116.4, 39.9)  # Beijing
    (26, 5)
    """
    lam, phi = np.radians(np.asarray(lon, "float64")), np.radians(np.asarray(lat, "float64"))
    x = MODIS_SPHERE_RADIUS * lam * np.cos(phi)
    y = MODIS_SPHERE_RADIUS * phi
    h = np.clip(np.floor((x - MODIS_X0) / MODIS_TILE_SIZE), 0, 35).astype(np.int64)
    v = np.clip(np.floor((MODIS_Y0 - y) / MODIS_TILE_SIZE), 0, 17).astype(np.int64)
    if h.ndim == 0:
        return int(h), int(v)
    return h, v


def modis_tiles_covering(area: Any, crs: Any = "EPSG:4326") -> list[tuple[int, int]]:
    """Every MODIS tile ``(h, v)`` that intersects an area, sorted.

    Parameters
    ----------
    area
        ``(left, bottom, right, top)`` bounds, or a polygon ring as an ``(n, 2)`` sequence of
        ``(x, y)`` vertices, in ``crs``.  Lon/lat bounds with ``left > right`` cross the
        antimeridian.
    crs
        The CRS of ``area`` (default lon/lat degrees).

    Notes
    -----
    The ring is densified, mapped onto the MODIS sphere with the exact formula and intersected
    with each tile rectangle, so a bounding box never picks a wrong tile (ropensci/MODIStsp#234).

    Examples
    --------
    >>> modis_tiles_covering((116.0, 39.5, 117.0, 40.5))  # Beijing; the SE corner is in h27v05
    [(26, 4), (26, 5), (27, 5)]
    """
    arr = np.asarray(area, dtype="float64")
    src = CRS.from_user_input(crs)
    if arr.shape == (4,):
        left, bottom, right, top = arr
        if src.is_geographic and left > right:  # antimeridian
            return sorted(
                set(modis_tiles_covering((left, bottom, 180.0, top), crs))
                | set(modis_tiles_covering((-180.0, bottom, right, top), crs))
            )
        arr = box_ring(left, bottom, right, top)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 3:
        raise GridError("area must be (left, bottom, right, top) or an (n, 2) ring of vertices")
    if src.is_geographic:
        lon, lat = densify_ring(arr, 0.01).T
    else:
        span = max(np.ptp(arr[:, 0]), np.ptp(arr[:, 1]))
        ring = densify_ring(arr, span / 2000 or 1.0)
        lon, lat = Transformer.from_crs(src, "EPSG:4326", always_xy=True).transform(*ring.T)
    lam, phi = np.radians(lon), np.radians(np.clip(lat, -90, 90))
    ring = np.column_stack([MODIS_SPHERE_RADIUS * lam * np.cos(phi), MODIS_SPHERE_RADIUS * phi])
    ring = ring[np.isfinite(ring).all(axis=1)]
    hs = np.floor((ring[:, 0] - MODIS_X0) / MODIS_TILE_SIZE).astype(int)
    vs = np.floor((MODIS_Y0 - ring[:, 1]) / MODIS_TILE_SIZE).astype(int)
    cands = [(h, v) for h in range(max(hs.min(), 0), min(hs.max(), 35) + 1)
             for v in range(max(vs.min(), 0), min(vs.max(), 17) + 1)]
    return _tiles_hit(ring, hs, vs, cands)


def _tile_box(h: int, v: int) -> tuple[float, float, float, float]:
    left, top = MODIS_X0 + h * MODIS_TILE_SIZE, MODIS_Y0 - v * MODIS_TILE_SIZE
    return left, top - MODIS_TILE_SIZE, left + MODIS_TILE_SIZE, top


def _tiles_hit(ring: np.ndarray, hs: np.ndarray, vs: np.ndarray,
               cands: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The candidate tiles the closed ``ring`` (sinusoidal metres) intersects, exactly.

    A tile holding a vertex is hit. When every edge is shorter than a quarter tile, an edge
    that meets a tile has an end in it or in one of its 8 neighbours, so a tile with no vertex
    in its 3 × 3 block lies wholly inside or wholly outside the ring and its centre decides;
    the tiles beside a vertex's tile get the exact test of the edges near them first. (Long
    edges: the exact test for every candidate.) A global box ring of 10⁵ vertices takes well under a
    second this way instead of seconds.
    """
    step = np.hypot(*(np.roll(ring, -1, axis=0) - ring).T).max(initial=0.0)
    if step >= MODIS_TILE_SIZE / 4 or len(cands) <= 9:
        return [hv for hv in cands if ring_intersects_box(ring, *_tile_box(*hv))]
    x, y = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    left, top = MODIS_X0 + hs * MODIS_TILE_SIZE, MODIS_Y0 - vs * MODIS_TILE_SIZE
    exact = (x >= left) & (x <= left + MODIS_TILE_SIZE) & (y <= top) & \
        (y >= top - MODIS_TILE_SIZE)  # floor() can be one off on a tile's edge
    held = set(zip(hs[exact].tolist(), vs[exact].tolist(), strict=True))
    seen = set(zip(hs.tolist(), vs.tolist(), strict=True))
    out, far = [], []
    for h, v in cands:
        if (h, v) in held:
            out.append((h, v))
            continue
        if any((h + i, v + j) in seen for i in (-1, 0, 1) for j in (-1, 0, 1)):
            # only the edges with an end within a step of the tile can meet it
            left, bottom, right, top = _tile_box(h, v)
            near = (x >= left - step) & (x <= right + step) & \
                (y >= bottom - step) & (y <= top + step)
            if near.any() and segments_cross_box(x[near], y[near], x1[near], y1[near],
                                                 left, bottom, right, top):
                out.append((h, v))
                continue
        far.append((h, v))  # wholly inside or wholly outside the ring
    for row in sorted({v for _, v in far}):  # centres in the ring, a row of tiles at a time
        part = [hv for hv in far if hv[1] == row]
        cy = MODIS_Y0 - (row + 0.5) * MODIS_TILE_SIZE
        cross = (y > cy) != (y1 > cy)  # the few edges the row's centre line crosses
        cx = np.array([MODIS_X0 + (h + 0.5) * MODIS_TILE_SIZE for h, _ in part])
        inside = points_in_edges(cx, np.full(len(part), cy), x[cross], y[cross], x1[cross],
                                 y1[cross])
        out += [hv for hv, yes in zip(part, inside, strict=True) if yes]
    return sorted(out)

