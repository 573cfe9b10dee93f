"""Grids: an immutable CRS + affine (pixel edges) + shape, and the MODIS sinusoidal tiling.

A :class:`Grid` is the one georeferencing noun of modisoft.  A MODIS tile, a subset, a national
output grid and a swath's target are all ``Grid``\\ s.  The transform always maps pixel
**edges**: ``transform * (col, row)`` is the outer upper-left corner of pixel ``(row, col)``;
centre coordinates (``x``, ``y`` in xarray objects) are at ``col + 0.5``, ``row + 0.5``.

The MODIS sinusoidal grid lives on a sphere of radius 6371007.181 m (MODLAND GCTP page), never
on WGS84; see ``reference/GRIDS.md`` §1 for the constants used below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

__all__ = [
    "Grid",
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
    "CHINA_TILE_PRESETS",
    "CHINA_ALBERS_PROJ",
    "CHINA_ALBERS_BOUNDS",
    "NATIONAL_GRIDS",
    "china_albers_crs",
    "national_grid",
    "grid_from_bounds",
    "grid_like",
]

MODIS_SPHERE_RADIUS = 6371007.181
"""Radius (m) of the MODIS sinusoidal sphere (MODLAND GCTP page)."""
MODIS_TILE_SIZE = 2 * math.pi * MODIS_SPHERE_RADIUS / 36
"""Exact width of a MODIS tile, 2πR/36 = 1111950.5197665233 m (computed)."""
MODIS_X0 = -18 * MODIS_TILE_SIZE
MODIS_Y0 = 9 * MODIS_TILE_SIZE
MODIS_TILE_PIXELS = {"250m": 4800, "500m": 2400, "1km": 1200, "6km": 200}
"""Pixels per tile side for the MODIS land grid resolutions (verified, GRIDS.md §1.2)."""


@lru_cache(maxsize=64)
def _crs_from_wkt(wkt: str) -> CRS:
    return CRS.from_wkt(wkt)


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


@dataclass(frozen=True)
class Grid:
    """An immutable raster grid: CRS, affine transform of pixel edges, and shape ``(ny, nx)``.

    Parameters
    ----------
    crs_wkt
        The CRS as WKT (WKT2 preferred).  Use :meth:`from_crs` to build from any pyproj input.
    transform
        ``affine.Affine`` mapping ``(col, row)`` to the *outer corner* coordinates.
    shape
        ``(ny, nx)``: rows then columns.

    Notes
    -----
    Grids are hashable, compare by value and tokenize deterministically for dask.  Slicing
    with ``grid[r0:r1, c0:c1]`` returns the sub-grid.
    """

    crs_wkt: str
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        if len(self.shape) != 2 or min(self.shape) < 0:
            raise ValueError(f"Grid shape must be (ny, nx) with ny, nx >= 0, got {self.shape!r}")
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))
        object.__setattr__(self, "transform", Affine(*tuple(self.transform)[:6]))

    # construction ------------------------------------------------------------------------
    @classmethod
    def from_crs(cls, crs: Any, transform: Affine, shape: tuple[int, int]) -> Grid:
        """Build a grid from anything :meth:`pyproj.CRS.from_user_input` accepts."""
        return cls(CRS.from_user_input(crs).to_wkt(), transform, shape)

    @classmethod
    def from_corners(
        cls,
        crs: Any,
        upper_left: tuple[float, float],
        lower_right: tuple[float, float],
        shape: tuple[int, int],
    ) -> Grid:
        """Build a north-up grid from its outer corners and shape ``(ny, nx)``."""
        ny, nx = shape
        (ulx, uly), (lrx, lry) = upper_left, lower_right
        tr = Affine((lrx - ulx) / nx, 0.0, ulx, 0.0, (lry - uly) / ny, uly)
        return cls.from_crs(crs, tr, shape)

    # properties --------------------------------------------------------------------------
    @property
    def crs(self) -> CRS:
        """The CRS as a :class:`pyproj.CRS`."""
        return _crs_from_wkt(self.crs_wkt)

    @property
    def height(self) -> int:
        """Number of rows (``ny``)."""
        return self.shape[0]

    @property
    def width(self) -> int:
        """Number of columns (``nx``)."""
        return self.shape[1]

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size ``(dx, dy)``; ``dy`` is negative for north-up grids."""
        return (self.transform.a, self.transform.e)

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        """The GDAL geotransform ``(x0, dx, rx, y0, ry, dy)``."""
        return tuple(self.transform.to_gdal())  # type: ignore[return-value]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` of the outer pixel edges."""
        xs, ys = self.corner_coords()
        return (min(xs), min(ys), max(xs), max(ys))

    def corner_coords(self) -> tuple[list[float], list[float]]:
        """x and y of the four outer corners (UL, UR, LR, LL)."""
        ny, nx = self.shape
        pts = [self.transform @ p for p in ((0, 0), (nx, 0), (nx, ny), (0, ny))]
        return [p[0] for p in pts], [p[1] for p in pts]

    @property
    def is_rectilinear(self) -> bool:
        """True when the grid has no rotation (x depends on col only, y on row only)."""
        return self.transform.b == 0 and self.transform.d == 0

    def x_coords(self) -> np.ndarray:
        """Pixel-centre x coordinates (float64, length ``nx``)."""
        self._require_rectilinear()
        t = self.transform
        return t.c + (np.arange(self.width, dtype="float64") + 0.5) * t.a

    def y_coords(self) -> np.ndarray:
        """Pixel-centre y coordinates (float64, length ``ny``)."""
        self._require_rectilinear()
        t = self.transform
        return t.f + (np.arange(self.height, dtype="float64") + 0.5) * t.e

    def _require_rectilinear(self) -> None:
        if not self.is_rectilinear:
            raise ValueError("rotated grids have no 1-D coordinates")

    # slicing / comparison -----------------------------------------------------------------
    def __getitem__(self, key: tuple[slice, slice]) -> Grid:
        if not isinstance(key, tuple) or len(key) != 2:
            raise TypeError("index a Grid with two slices: grid[rows, cols]")
        (r0, r1, rs), (c0, c1, cs) = (k.indices(n) for k, n in zip(key, self.shape, strict=True))
        if rs != 1 or cs != 1:
            raise ValueError("Grid slices must have step 1")
        tr = self.transform @ Affine.translation(c0, r0)
        return Grid(self.crs_wkt, tr, (max(r1 - r0, 0), max(c1 - c0, 0)))

    def almost_equals(self, other: Grid, tol: float = 1e-6) -> bool:
        """Same shape and CRS, transforms equal within ``tol`` (in CRS units)."""
        return (
            self.shape == other.shape
            and self.transform.almost_equals(other.transform, precision=tol)
            and (self.crs_wkt == other.crs_wkt or self.crs == other.crs)
        )

    def __dask_tokenize__(self) -> tuple:
        return ("modisoft.Grid", self.crs_wkt, tuple(self.transform)[:6], self.shape)

    def __repr__(self) -> str:
        name = self.crs.name
        return f"Grid(crs={name!r}, shape={self.shape}, transform={tuple(self.transform)[:6]})"

    # xarray ------------------------------------------------------------------------------
    def spatial_ref_attrs(self) -> dict[str, Any]:
        """CF ``grid_mapping`` attributes (with WKT) for a ``spatial_ref`` coordinate.

        Both the CF ``crs_wkt`` and GDAL's ``spatial_ref``/``GeoTransform`` are written, so
        xarray/rioxarray and GDAL's netCDF driver recover the same grid.
        """
        crs = self.crs
        try:
            attrs = crs.to_cf()
        except Exception:  # pragma: no cover - pyproj may not map every CRS to CF names
            attrs = {}
        wkt = crs.to_wkt()
        attrs["crs_wkt"] = wkt
        attrs["spatial_ref"] = wkt
        attrs["GeoTransform"] = " ".join(repr(float(v)) for v in self.geotransform)
        return attrs

    def xarray_coords(self, ydim: str = "y", xdim: str = "x", ref: str = "spatial_ref") -> dict:
        """Coordinates for an xarray object on this grid: centres in ``x``/``y``, CRS in ``ref``.

        Returns a mapping suitable for ``xarray.Dataset(coords=...)``.
        """
        import xarray as xr

        units = "degrees_east" if self.crs.is_geographic else "m"
        yunits = "degrees_north" if self.crs.is_geographic else "m"
        x = xr.Variable(
            xdim,
            self.x_coords(),
            {
                "standard_name": "longitude"
                if self.crs.is_geographic
                else "projection_x_coordinate",
                "units": units,
                "long_name": "x coordinate of pixel centre",
                "axis": "X",
            },
        )
        y = xr.Variable(
            ydim,
            self.y_coords(),
            {
                "standard_name": "latitude"
                if self.crs.is_geographic
                else "projection_y_coordinate",
                "units": yunits,
                "long_name": "y coordinate of pixel centre",
                "axis": "Y",
            },
        )
        return {xdim: x, ydim: y, ref: xr.Variable((), np.int64(0), self.spatial_ref_attrs())}

    @classmethod
    def from_xarray(cls, obj: Any) -> Grid:
        """Recover the grid of an xarray ``DataArray``/``Dataset`` made by modisoft.

        The CRS comes from the ``grid_mapping`` coordinate (``spatial_ref`` by default); the
        transform from the centre coordinates, anchored to the stored ``GeoTransform`` so that
        slicing keeps exact values.

        Raises
        ------
        ValueError
            If the object has no grid-mapping coordinate or no regular x/y coordinates.
        """
        ref_name = obj.attrs.get("grid_mapping", "spatial_ref")
        if ref_name not in obj.coords:
            refs = [n for n in obj.coords if "crs_wkt" in obj.coords[n].attrs]
            if len(refs) != 1:
                raise ValueError("no grid-mapping coordinate (e.g. 'spatial_ref') with crs_wkt")
            ref_name = refs[0]
        ref = obj.coords[ref_name]
        dims = [d for d in obj.dims if d in obj.coords]
        xdim = next((d for d in dims if obj.coords[d].attrs.get("axis") == "X"), "x")
        ydim = next((d for d in dims if obj.coords[d].attrs.get("axis") == "Y"), "y")
        x = np.asarray(obj.coords[xdim].values, dtype="float64")
        y = np.asarray(obj.coords[ydim].values, dtype="float64")
        gt = [float(v) for v in str(ref.attrs.get("GeoTransform", "")).split()] or None
        tr = _transform_from_centres(x, y, gt)
        return cls(ref.attrs["crs_wkt"], tr, (len(y), len(x)))


def _transform_from_centres(x: np.ndarray, y: np.ndarray, gt: list[float] | None) -> Affine:
    """Corner transform from 1-D centre coordinates; exact when ``gt`` (the parent) is known."""
    if gt is not None:
        parent = Affine.from_gdal(*gt)
        dx, dy = parent.a, parent.e
        if len(x) and len(y):
            col = (x[0] - parent.c) / dx - 0.5
            row = (y[0] - parent.f) / dy - 0.5
            if abs(col - round(col)) < 1e-6 and abs(row - round(row)) < 1e-6:
                return parent @ Affine.translation(round(col), round(row))
    if len(x) < 2 or len(y) < 2:
        raise ValueError("cannot infer the pixel size from fewer than 2 coordinates")
    dx = (x[-1] - x[0]) / (len(x) - 1)
    dy = (y[-1] - y[0]) / (len(y) - 1)
    return Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)


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
        raise ValueError(f"MODIS tile h{h:02d}v{v:02d} is outside h 0-35, v 0-17")
    try:
        n = MODIS_TILE_PIXELS[resolution]
    except KeyError:
        raise ValueError(
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


# ------------------------------------------------------------------------------------------
# MODIS tiles from lon/lat and from an area; named national grids (reference/GRIDS.md §1-3)
# ------------------------------------------------------------------------------------------
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
    from pyproj import Transformer

    from modisoft.warp.geometry import box_ring, densify_ring, ring_intersects_box

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
        raise ValueError("area must be (left, bottom, right, top) or an (n, 2) ring of vertices")
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
    out = []
    for h in range(max(hs.min(), 0), min(hs.max(), 35) + 1):
        for v in range(max(vs.min(), 0), min(vs.max(), 17) + 1):
            left, top = MODIS_X0 + h * MODIS_TILE_SIZE, MODIS_Y0 - v * MODIS_TILE_SIZE
            if ring_intersects_box(ring, left, top - MODIS_TILE_SIZE, left + MODIS_TILE_SIZE, top):
                out.append((h, v))
    return out


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

    Examples
    --------
    >>> china_albers_crs().to_epsg() is None
    True
    """
    return CRS.from_proj4(CHINA_ALBERS_PROJ.replace("+ellps=krass", f"+ellps={ellps}"))


NATIONAL_GRIDS: dict[str, tuple[str, float, tuple[float, float, float, float]]] = {
    f"china_albers_{name}": (CHINA_ALBERS_PROJ, res, CHINA_ALBERS_BOUNDS)
    for name, res in (("1km", 1000.0), ("500m", 500.0), ("250m", 250.0))
}
"""Named national grids: name → (CRS, resolution in CRS units, outer-edge bounds)."""


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
        raise ValueError(
            f"unknown national grid {name!r}; named grids: {', '.join(sorted(NATIONAL_GRIDS))}"
        ) from None
    return grid_from_bounds(crs, res, bounds)


def grid_from_bounds(
    crs: Any, resolution: float | tuple[float, float], bounds: tuple[float, ...], *, snap=True
) -> Grid:
    """A north-up grid from a CRS, a pixel size and the outer-edge bounds it must cover.

    Parameters
    ----------
    crs
        Anything :meth:`pyproj.CRS.from_user_input` accepts (WKT, PROJ, ``"EPSG:3035"``).
    resolution
        Pixel size in CRS units, one number or ``(dx, dy)`` (both positive).
    bounds
        ``(left, bottom, right, top)``: outer pixel edges to cover.
    snap
        Move the edges outwards to multiples of the resolution (pixel edges on a lattice anchored
        at the CRS origin, so grids of one CRS and resolution align); else keep ``left``/``top``
        and round the size up.

    Examples
    --------
    >>> grid_from_bounds("EPSG:3035", 1000, (2531200, 3036000, 3763500, 4451000)).bounds
    (2531000.0, 3036000.0, 3764000.0, 4451000.0)
    """
    dx, dy = (resolution, resolution) if np.isscalar(resolution) else resolution
    dx, dy = float(dx), float(dy)
    left, bottom, right, top = (float(b) for b in bounds)
    if dx <= 0 or dy <= 0 or not (right > left and top > bottom):
        raise ValueError(f"need positive resolution and left < right, bottom < top: {bounds}")
    if snap:
        left, right = math.floor(left / dx) * dx, math.ceil(right / dx) * dx
        bottom, top = math.floor(bottom / dy) * dy, math.ceil(top / dy) * dy
    nx = max(round((right - left) / dx), 1) if snap else math.ceil((right - left) / dx - 1e-9)
    ny = max(round((top - bottom) / dy), 1) if snap else math.ceil((top - bottom) / dy - 1e-9)
    return Grid.from_crs(crs, Affine(dx, 0.0, left, 0.0, -dy, top), (ny, nx))


def grid_like(template: Any) -> Grid:
    """The grid of a template: a :class:`Grid`, a modisoft xarray object, or a raster file.

    Raster files (GeoTIFF, ...) are opened with rasterio for their georeferencing only.

    Examples
    --------
    >>> grid_like(modis_tile_grid(26, 5)) == modis_tile_grid(26, 5)
    True
    """
    if isinstance(template, Grid):
        return template
    if hasattr(template, "coords") and hasattr(template, "dims"):
        return Grid.from_xarray(template)
    import rasterio

    with rasterio.open(template) as src:
        if src.crs is None:
            raise ValueError(f"{template}: the template raster has no CRS")
        return Grid.from_crs(src.crs.to_wkt(), src.transform, (src.height, src.width))
