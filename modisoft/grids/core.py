"""The :class:`Grid`: an immutable CRS + affine (pixel edges) + shape, and grids built from
bounds or a template.

A :class:`Grid` is the one georeferencing noun of modisoft.  A MODIS tile, a subset, a national
output grid and a swath's target are all ``Grid``\\ s.  The transform always maps pixel
**edges**: ``transform * (col, row)`` is the outer upper-left corner of pixel ``(row, col)``;
centre coordinates (``x``, ``y`` in xarray objects) are at ``col + 0.5``, ``row + 0.5``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from modisoft.errors import GridError

__all__ = ["Grid", "crs_transformer", "grid_from_bounds", "grid_like"]


@lru_cache(maxsize=64)
def _crs_from_wkt(wkt: str) -> CRS:
    return CRS.from_wkt(wkt)


@lru_cache(maxsize=64)
def crs_transformer(dst_wkt: str, src_wkt: str) -> Any:
    """A cached ``pyproj`` transformer from ``dst_wkt`` to ``src_wkt`` (x/y axis order).

    Making a transformer costs far more than transforming a band of a few thousand points
    with it (tens of milliseconds), so every transform of a CRS pair shares one.
    """
    from pyproj import Transformer

    return Transformer.from_crs(dst_wkt, src_wkt, always_xy=True)


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
            raise GridError(f"Grid shape must be (ny, nx) with ny, nx >= 0, got {self.shape!r}")
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

    def lonlat(
        self, rows: slice = slice(None), cols: slice = slice(None), *, corners: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """WGS 84 longitude and latitude (float64 degrees) of pixel centres or corners.

        Parameters
        ----------
        rows, cols
            The window of the grid (default the whole grid), so large grids go a band at a
            time.
        corners
            Give each pixel's four corners instead of its centre, counter-clockwise from the
            lower left (the CF order of cell vertices), as a last axis of length 4.

        Returns
        -------
        tuple of numpy.ndarray
            ``(lon, lat)``, shape ``(rows, cols)`` or ``(rows, cols, 4)``.
        """
        to_ll = crs_transformer(self.crs_wkt, "EPSG:4326")
        xs, ys = self.x_coords()[cols], self.y_coords()[rows]
        if not corners:
            lon, lat = to_ll.transform(*np.meshgrid(xs, ys))
            return np.asarray(lon), np.asarray(lat)
        hx, hy = self.transform.a / 2, self.transform.e / 2  # the edge lattice, once
        xe = np.append(xs - hx, xs[-1:] + hx)
        ye = np.append(ys - hy, ys[-1:] + hy)
        elon, elat = (np.asarray(v) for v in to_ll.transform(*np.meshgrid(xe, ye)))
        left, right = (slice(0, -1), slice(1, None)) if hx > 0 else (slice(1, None),
                                                                    slice(0, -1))
        low, high = (slice(1, None), slice(0, -1)) if hy < 0 else (slice(0, -1), slice(1, None))
        order = ((low, left), (low, right), (high, right), (high, left))  # counter-clockwise
        return (np.stack([elon[r, c] for r, c in order], axis=-1),
                np.stack([elat[r, c] for r, c in order], axis=-1))

    def _require_rectilinear(self) -> None:
        if not self.is_rectilinear:
            raise GridError("rotated grids have no 1-D coordinates")

    # slicing / comparison -----------------------------------------------------------------
    def __getitem__(self, key: tuple[slice, slice]) -> Grid:
        if not isinstance(key, tuple) or len(key) != 2:
            raise TypeError("index a Grid with two slices: grid[rows, cols]")
        (r0, r1, rs), (c0, c1, cs) = (k.indices(n) for k, n in zip(key, self.shape, strict=True))
        if rs != 1 or cs != 1:
            raise GridError("Grid slices must have step 1")
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
        GridError
            If the object has no grid-mapping coordinate or no regular x/y coordinates.
        """
        ref_name = obj.attrs.get("grid_mapping", "spatial_ref")
        if ref_name not in obj.coords:
            refs = [n for n in obj.coords if "crs_wkt" in obj.coords[n].attrs]
            if len(refs) != 1:
                raise GridError("no grid-mapping coordinate (e.g. 'spatial_ref') with crs_wkt")
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
        raise GridError("cannot infer the pixel size from fewer than 2 coordinates")
    dx = (x[-1] - x[0]) / (len(x) - 1)
    dy = (y[-1] - y[0]) / (len(y) - 1)
    return Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)


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
        and the resolution and round the size to the nearest pixel, as ``gdalwarp -te … -tr …``
        does (``int(width / resolution + 0.5)``).

    Examples
    --------
    >>> grid_from_bounds("EPSG:3035", 1000, (2531200, 3036000, 3763500, 4451000)).bounds
    (2531000.0, 3036000.0, 3764000.0, 4451000.0)
    """
    dx, dy = (resolution, resolution) if np.isscalar(resolution) else resolution
    dx, dy = float(dx), float(dy)
    left, bottom, right, top = (float(b) for b in bounds)
    if dx <= 0 or dy <= 0 or not (right > left and top > bottom):
        raise GridError(f"need positive resolution and left < right, bottom < top: {bounds}")
    if snap:
        left, right = math.floor(left / dx) * dx, math.ceil(right / dx) * dx
        bottom, top = math.floor(bottom / dy) * dy, math.ceil(top / dy) * dy
    nx = max(round((right - left) / dx) if snap else int((right - left) / dx + 0.5), 1)
    ny = max(round((top - bottom) / dy) if snap else int((top - bottom) / dy + 0.5), 1)
    return Grid.from_crs(crs, Affine(dx, 0.0, left, 0.0, -dy, top), (ny, nx))


def grid_like(template: Any) -> Grid:
    """The grid of a template: a :class:`Grid`, a modisoft xarray object, an open raster
    dataset (anything with ``crs``, ``transform``, ``height``, ``width``) or a raster file.

    A raster file (GeoTIFF, ...) is opened with rasterio for its georeferencing only.

    Examples
    --------
    >>> grid_like(Grid.from_crs("EPSG:3035", Affine(1000, 0, 0, 0, -1000, 0), (2, 3))).shape
    (2, 3)
    """
    if isinstance(template, Grid):
        return template
    if hasattr(template, "coords") and hasattr(template, "dims"):
        return Grid.from_xarray(template)
    if all(hasattr(template, a) for a in ("crs", "transform", "height", "width")):
        return _grid_of_dataset(template, getattr(template, "name", template))
    return _grid_of_raster_file(template)


def _grid_of_dataset(src: Any, name: Any) -> Grid:
    if src.crs is None:
        raise GridError(f"{name}: the template raster has no CRS")
    return Grid.from_crs(src.crs.to_wkt(), src.transform, (src.height, src.width))


def _grid_of_raster_file(path: Any) -> Grid:
    """The grid of a raster file's header (rasterio; no pixels are read)."""
    import rasterio

    with rasterio.open(path) as src:
        return _grid_of_dataset(src, path)
