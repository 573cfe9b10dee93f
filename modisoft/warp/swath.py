"""Swath resampling: scattered lat/lon samples (AVHRR GAC, MODIS L2) onto a :class:`Grid`.

Two methods, both computed once per swath geometry (:class:`SwathPlan`) and applied to every
layer of the swath:

* ``nearest``: every destination pixel centre takes the nearest swath sample within a radius
  of influence (distances as chords on a sphere of radius 6371 km, through
  :class:`scipy.spatial.cKDTree` on geocentric x, y, z);
* ``bucket_avg``: every valid swath sample falls into the destination pixel that contains it
  (exact pyproj transform of its lon/lat); each pixel is the mean of its samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.errors import ModisoftError
from modisoft.grids import Grid
from modisoft.warp.kernels import ValidRule, to_dtype

__all__ = ["SwathPlan", "resample_swath", "SWATH_METHODS"]

SWATH_METHODS = ("nearest", "bucket_avg")
_EARTH_RADIUS = 6371000.0


def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    c = np.cos(phi)
    return _EARTH_RADIUS * np.column_stack([c * np.cos(lam), c * np.sin(lam), np.sin(phi)])


class SwathPlan:
    """The mapping of a swath's samples onto a destination grid, for one method.

    Parameters
    ----------
    lon, lat
        Sample longitudes and latitudes in degrees (any shape, same shape; NaN = no sample).
    dst_grid
        The destination grid.
    method
        ``"nearest"`` or ``"bucket_avg"``.
    radius
        ``nearest`` only: radius of influence in metres (default 1.5 destination pixels,
        degrees counted as 111.2 km).

    Examples
    --------
    >>> plan = SwathPlan(lon, lat, grid_from_bounds("EPSG:4326", 0.05, bounds))  # doctest: +SKIP
    >>> ch1 = plan.apply(swath["ch1"].values)  # doctest: +SKIP
    """

    def __init__(
        self,
        lon: Any,
        lat: Any,
        dst_grid: Grid,
        *,
        method: str = "nearest",
        radius: float | None = None,
    ):
        if method not in SWATH_METHODS:
            raise ModisoftError(
                f"unknown swath method {method!r}; use one of {', '.join(SWATH_METHODS)}"
            )
        lon, lat = np.asarray(lon, "float64"), np.asarray(lat, "float64")
        if lon.shape != lat.shape:
            raise ModisoftError(f"lon shape {lon.shape} differs from lat shape {lat.shape}")
        self.dst_grid, self.method, self.src_shape = dst_grid, method, lon.shape
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
        self.n_dst = dst_grid.height * dst_grid.width
        if method == "nearest":
            self.radius = float(radius) if radius is not None else 1.5 * _pixel_metres(dst_grid)
            self.index = self._nearest(lon.ravel(), lat.ravel(), ok.ravel())
        else:
            self.radius = None
            self.index = self._buckets(lon.ravel(), lat.ravel(), ok.ravel())

    def _nearest(self, lon, lat, ok) -> np.ndarray:
        """Per destination pixel: the flat index of the nearest sample, or -1."""
        from pyproj import Transformer
        from scipy.spatial import cKDTree

        out = np.full(self.n_dst, -1, dtype=np.int64)
        src = np.flatnonzero(ok)
        if src.size == 0:
            return out
        tree = cKDTree(_xyz(lon[src], lat[src]))
        g = self.dst_grid
        cx, cy = np.meshgrid(g.x_coords(), g.y_coords())
        if g.crs.is_geographic:
            plon, plat = cx.ravel(), cy.ravel()
        else:
            tr = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True)
            plon, plat = tr.transform(cx.ravel(), cy.ravel())
        good = np.isfinite(plon) & np.isfinite(plat)
        dist, k = tree.query(_xyz(plon[good], plat[good]), distance_upper_bound=self.radius)
        hit = np.isfinite(dist)
        idx = np.full(good.sum(), -1, dtype=np.int64)
        idx[hit] = src[k[hit]]
        out[good] = idx
        return out

    def _buckets(self, lon, lat, ok) -> np.ndarray:
        """Per sample: the flat index of the destination pixel holding it, or -1."""
        from pyproj import Transformer

        g = self.dst_grid
        x, y = lon, lat
        if not g.crs.is_geographic:
            x, y = Transformer.from_crs("EPSG:4326", g.crs, always_xy=True).transform(lon, lat)
        inv = ~g.transform
        x, y = np.asarray(x), np.asarray(y)
        col, row = inv.c + x * inv.a + y * inv.b, inv.f + x * inv.d + y * inv.e
        with np.errstate(invalid="ignore"):
            col, row = np.floor(col), np.floor(row)
            inside = ok & (col >= 0) & (col < g.width) & (row >= 0) & (row < g.height)
        out = np.full(lon.size, -1, dtype=np.int64)
        out[inside] = row[inside].astype(np.int64) * g.width + col[inside].astype(np.int64)
        return out

    def apply(
        self, values: Any, *, valid: ValidRule | None = None, nodata: Any = None
    ) -> np.ndarray:
        """Resample one layer of the swath (same shape as lon/lat) onto the grid.

        ``valid`` says which values are measurements (default: finite); ``bucket_avg`` averages
        only those.  ``nodata`` (default NaN, required for integer layers) marks pixels
        without a sample.
        """
        values = np.asarray(values)
        if values.shape != self.src_shape:
            raise ModisoftError(f"values shape {values.shape} is not the swath's {self.src_shape}")
        if nodata is None:
            if values.dtype.kind != "f":
                raise ModisoftError("nodata= is required for integer swath layers")
            nodata = np.nan
        valid = valid or ValidRule()
        flat = values.ravel()
        if self.method == "nearest":
            out = np.full(self.n_dst, nodata, dtype=values.dtype)
            hit = self.index >= 0
            out[hit] = flat[self.index[hit]]
            return out.reshape(self.dst_grid.shape)
        use = (self.index >= 0) & valid.mask(flat)
        cnt = np.bincount(self.index[use], minlength=self.n_dst)
        tot = np.bincount(self.index[use], flat[use].astype("float64"), minlength=self.n_dst)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = tot / cnt
        out = np.full(self.n_dst, nodata, dtype=values.dtype)
        has = cnt > 0
        out[has] = to_dtype(mean[has], values.dtype)
        return out.reshape(self.dst_grid.shape)


def _pixel_metres(g: Grid) -> float:
    dx, dy = abs(g.resolution[0]), abs(g.resolution[1])
    size = max(dx, dy)
    return size * 111195.0 if g.crs.is_geographic else size


def resample_swath(
    swath: Any,
    dst_grid: Grid,
    *,
    method: str = "nearest",
    radius: float | None = None,
    layers: list[str] | None = None,
) -> Any:
    """Resample a swath Dataset (2-D ``lat``/``lon`` coordinates) onto a grid.

    Parameters
    ----------
    swath
        An ``xarray.Dataset`` or ``DataArray`` from :func:`modisoft.open_granule` on a swath
        file (AVHRR GAC L1C, MODIS L2), with ``lat``/``lon`` coordinates on its two dims.
    dst_grid
        The destination grid.
    method
        ``"nearest"`` (within ``radius`` metres) or ``"bucket_avg"``.
    radius
        Radius of influence for ``nearest`` (default 1.5 destination pixels).
    layers
        Variables to resample (default: every variable on the swath's dims).

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        On ``dst_grid`` (``x``/``y`` centres, ``spatial_ref``).  Integer layers keep their
        dtype with their first ``fill_values`` (or the dtype's maximum) as nodata.
    """
    import xarray as xr

    is_da = isinstance(swath, xr.DataArray)
    ds = swath.to_dataset(name=swath.name or "values") if is_da else swath
    if "lat" not in ds.coords or "lon" not in ds.coords:
        raise ModisoftError("the swath has no 'lat'/'lon' coordinates")
    lat, lon = ds.coords["lat"], ds.coords["lon"]
    plan = SwathPlan(lon.values, lat.values, dst_grid, method=method, radius=radius)
    names = layers or [n for n in ds.data_vars if ds[n].dims == lat.dims]
    out = {}
    for n in names:
        v = ds[n]
        attrs = dict(v.attrs)
        codes = tuple(np.atleast_1d(attrs.get("fill_values", [])).tolist())
        nodata = None
        if v.dtype.kind != "f":
            nodata = codes[0] if codes else np.iinfo(v.dtype).max
        res = plan.apply(v.values, valid=ValidRule(codes), nodata=nodata)
        attrs.update(grid_mapping="spatial_ref", resampling_method=method)
        out[n] = xr.DataArray(res, dims=("y", "x"), attrs=attrs)
    result = xr.Dataset(out, coords=dst_grid.xarray_coords(), attrs=dict(ds.attrs))
    return result[names[0]] if is_da else result
