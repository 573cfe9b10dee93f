"""Destination pixel coordinates → source pixel coordinates, exactly as GDAL's warper does.

GDAL's warp kernel (``gdalwarp -et 0``) takes a destination pixel coordinate (``col + 0.5`` for
a centre, ``col`` for a corner), applies the destination geotransform, reprojects the point with
PROJ, and applies the *inverse* source geotransform (``GDALInvGeoTransform``); nearest then takes
``floor(p + 1e-10)``.  :class:`PixelMapper` does the same arithmetic in the same order with
pyproj, so the indices are identical.

Transforming every pixel is the slow part of a plan.  ``PixelMapper.lattice`` therefore
transforms a coarse lattice exactly, interpolates the rest bilinearly, bounds the interpolation
error of each lattice cell from exact transforms at its edge midpoints and centre, and
re-transforms exactly every pixel whose interpolated coordinate lies within that bound of an
integer (where ``floor``/``ceil`` could differ).  Every integer decision is therefore the one the
exact per-pixel transform makes; fractional parts elsewhere differ by less than the bound
(typically 1e-6 pixel).  ``exact=True`` transforms every pixel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from affine import Affine

from modisoft.errors import WarpError
from modisoft.grids import Grid, crs_transformer

__all__ = ["PixelMapper", "inverse_geotransform", "GDAL_EPS"]

GDAL_EPS = 1e-10
"""GDAL's warp kernels round source coordinates with ``floor(p + 1e-10)``/``ceil(p - 1e-10)``."""

_STEP = 16  # lattice spacing (pixels) of the exactly transformed points
_MAX_CELL_ERROR = 0.05  # cells whose error bound exceeds this (pixels) are transformed exactly
_ABS_TOL = 1e-7  # pixels; covers rounding in the interpolation and PROJ


def inverse_geotransform(t: Affine) -> tuple[float, ...]:
    """``GDALInvGeoTransform``: the inverse of a geotransform, with GDAL's north-up special case."""
    gt = t.to_gdal()
    if gt[2] == 0.0 and gt[4] == 0.0 and gt[1] != 0.0 and gt[5] != 0.0:
        return (-gt[0] / gt[1], 1.0 / gt[1], 0.0, -gt[3] / gt[5], 0.0, 1.0 / gt[5])
    det = gt[1] * gt[5] - gt[2] * gt[4]
    if det == 0:
        raise WarpError(f"singular geotransform {gt}")
    inv = 1.0 / det
    return (
        (gt[2] * gt[3] - gt[0] * gt[5]) * inv,
        gt[5] * inv,
        -gt[2] * inv,
        (-gt[1] * gt[3] + gt[0] * gt[4]) * inv,
        -gt[4] * inv,
        gt[1] * inv,
    )


@lru_cache(maxsize=256)
def crs_equal(a: str, b: str) -> bool:
    """Whether two WKT strings describe the same CRS (cached; equal strings short-cut)."""
    if a == b:
        return True
    from pyproj import CRS

    return CRS.from_wkt(a) == CRS.from_wkt(b)


class PixelMapper:
    """Maps destination pixel coordinates to source pixel coordinates (GDAL's arithmetic).

    Parameters
    ----------
    src_grid, dst_grid
        The two grids.  When their CRSs are equal no reprojection is done (as in GDAL).
    """

    def __init__(self, src_grid: Grid, dst_grid: Grid):
        self.src_grid, self.dst_grid = src_grid, dst_grid
        self.dst_gt = dst_grid.transform.to_gdal()
        self.src_igt = inverse_geotransform(src_grid.transform)
        self.same_crs = crs_equal(src_grid.crs_wkt, dst_grid.crs_wkt)
        self.n_exact = 0  # points transformed exactly (for tests and benchmarks)

    def points(self, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact source pixel coordinates of destination points ``(cols, rows)`` (any shape)."""
        g, i = self.dst_gt, self.src_igt
        cols, rows = np.asarray(cols, "float64"), np.asarray(rows, "float64")
        x = g[0] + cols * g[1] + rows * g[2]
        y = g[3] + cols * g[4] + rows * g[5]
        self.n_exact += x.size
        if not self.same_crs:
            x, y = crs_transformer(self.dst_grid.crs_wkt, self.src_grid.crs_wkt).transform(x, y)
            x, y = np.asarray(x, "float64"), np.asarray(y, "float64")
            bad = ~(np.isfinite(x) & np.isfinite(y))
            if bad.any():
                x[bad] = np.nan
                y[bad] = np.nan
        return i[0] + x * i[1] + y * i[2], i[3] + x * i[4] + y * i[5]

    def lattice(
        self, cols: np.ndarray, rows: np.ndarray, *, exact: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Source pixel coordinates on the lattice ``rows × cols`` (1-D, unit spacing).

        Returns two ``(len(rows), len(cols))`` arrays; non-finite where the transform fails.
        Integer decisions (``floor(p + 1e-10)``) equal those of :meth:`points`.
        """
        cols, rows = np.asarray(cols, "float64"), np.asarray(rows, "float64")
        if exact or self._affine_only() or min(len(cols), len(rows)) < 3 * _STEP:
            return self.points(cols[None, :], rows[:, None])
        ic = _coarse(len(cols))
        ir = _coarse(len(rows))
        cc, rc = cols[ic], rows[ir]
        lx, ly = self.points(cc[None, :], rc[:, None])
        cm, rm = 0.5 * (cc[:-1] + cc[1:]), 0.5 * (rc[:-1] + rc[1:])
        hx, hy = self.points(cm[None, :], rc[:, None])  # horizontal edge midpoints
        vx, vy = self.points(cc[None, :], rm[:, None])  # vertical edge midpoints
        mx, my = self.points(cm[None, :], rm[:, None])  # cell centres
        bounds = [
            _cell_bound(lat, h, v, m) for lat, h, v, m in ((lx, hx, vx, mx), (ly, hy, vy, my))
        ]
        a, t = _interp_index(len(cols), ic)
        b, s = _interp_index(len(rows), ir)
        px = _bilinear(lx, a, t, b, s)
        py = _bilinear(ly, a, t, b, s)
        need = np.zeros(px.shape, dtype=bool)
        for p, bound in ((px, bounds[0]), (py, bounds[1])):
            cell = bound[b][:, a]
            with np.errstate(invalid="ignore"):
                need |= ~(np.abs(p - np.round(p)) > cell + 2 * GDAL_EPS)
        rr, cc_ = np.nonzero(need)
        if rr.size:
            ex, ey = self.points(cols[cc_], rows[rr])
            px[rr, cc_] = ex
            py[rr, cc_] = ey
        return px, py

    def _affine_only(self) -> bool:
        return self.same_crs


def _coarse(n: int) -> np.ndarray:
    idx = np.arange(0, n, _STEP)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _interp_index(n: int, coarse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell index and fraction of each of ``n`` fine positions on the coarse lattice."""
    k = np.arange(n)
    a = np.clip(np.searchsorted(coarse, k, side="right") - 1, 0, len(coarse) - 2)
    t = (k - coarse[a]) / (coarse[a + 1] - coarse[a])
    return a, t


def _bilinear(lat: np.ndarray, a: np.ndarray, t: np.ndarray, b: np.ndarray, s: np.ndarray):
    along = lat[:, a] * (1.0 - t) + lat[:, a + 1] * t  # (coarse rows, fine cols)
    return along[b] * (1.0 - s)[:, None] + along[b + 1] * s[:, None]


def _cell_bound(lat: np.ndarray, h: np.ndarray, v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per lattice cell: a bound on the bilinear interpolation error (pixels; inf = use exact).

    For a locally quadratic mapping the error inside a cell peaks at ``|eh| + |ev|``, the errors
    at the midpoints of a horizontal and a vertical edge; the centre and the opposite edges
    measure how far the mapping is from quadratic, and that deviation is added four-fold.
    """
    eh = h - 0.5 * (lat[:, :-1] + lat[:, 1:])  # (nr, nc-1), signed
    ev = v - 0.5 * (lat[:-1, :] + lat[1:, :])  # (nr-1, nc)
    ec = m - 0.25 * (lat[:-1, :-1] + lat[:-1, 1:] + lat[1:, :-1] + lat[1:, 1:])
    top, bottom, left, right = eh[:-1], eh[1:], ev[:, :-1], ev[:, 1:]
    predicted = 0.5 * (top + bottom) + 0.5 * (left + right)
    deviation = np.abs(ec - predicted) + np.abs(top - bottom) + np.abs(left - right)
    quadratic = np.maximum(np.abs(top), np.abs(bottom)) + np.maximum(np.abs(left), np.abs(right))
    bound = 1.5 * quadratic + 4.0 * deviation
    bound = np.where(np.isfinite(bound), bound + _ABS_TOL, np.inf)
    bound[bound > _MAX_CELL_ERROR] = np.inf
    return bound
