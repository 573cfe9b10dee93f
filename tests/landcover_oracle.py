"""Independent land-cover expectations for the tests.

* :func:`write_block_landcover` writes a **synthetic** GeoTIFF of IGBP codes placed in known
  square blocks, in a CRS of its own, with some blocks of nodata;
* :func:`mode_under_pixels` computes, with pyproj and numpy only (nothing of
  ``modisoft.warp``), the code each output pixel should get by GDAL's mode rule as documented
  in ``modisoft/warp/plan.py``: the source pixels between the pixel's transformed upper-left
  and lower-right corners (floor/ceil, clipped to the raster; as in GDAL's
  ``GWKAverageOrMode``, a window that clips to nothing at the first row or column takes that
  row or column), the most frequent valid code among them, nodata not voting.  Pixels where
  that cannot be decided independently of floating-point noise (a tie, or a corner within
  1e-6 pixel of a source pixel edge) are marked as not comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import Transformer

NODATA = 255
# IGBP (MCD12Q1 LC_Type1): evergreen needleleaf, evergreen broadleaf, deciduous broadleaf,
# mixed forest, cropland, water.  Their cover types have different Omega (0.5, 1.0, 0.7, 0.6,
# 0.9; water not vegetated), so the Omega of a pixel tells its cover type.
CLASSES = (1, 2, 4, 5, 12, 17)


def block_codes(n: int, block: int) -> np.ndarray:
    """``n`` x ``n`` codes in ``block``-pixel squares: block (i, j) holds
    ``CLASSES[(i + 3 j) % 6]`` (neighbours always differ), except every block with
    ``i % 5 == 2`` and ``j % 4 == 1``, which is nodata."""
    i, j = np.meshgrid(np.arange(n) // block, np.arange(n) // block, indexing="ij")
    codes = np.asarray(CLASSES, np.uint8)[(i + 3 * j) % len(CLASSES)]
    codes[(i % 5 == 2) & (j % 4 == 1)] = NODATA
    return codes


def write_block_landcover(path: Path, crs: str, left: float, top: float, res: float,
                          n: int = 400, block: int = 20) -> tuple[np.ndarray, Affine]:
    """Write :func:`block_codes` as a uint8 GeoTIFF (nodata 255) with its upper-left corner at
    ``(left, top)`` in ``crs``; returns the codes and the transform."""
    import rasterio

    codes = block_codes(n, block)
    transform = Affine(res, 0.0, left, 0.0, -res, top)
    with rasterio.open(path, "w", driver="GTiff", height=n, width=n, count=1, dtype="uint8",
                       crs=crs, nodata=NODATA, transform=transform) as dst:
        dst.write(codes, 1)
    return codes, transform


@dataclass
class Expected:
    """Per output pixel: the code (``NODATA`` where no valid code lies under it), whether it
    can be compared, and what its window held."""

    code: np.ndarray
    comparable: np.ndarray
    mixed: np.ndarray  # two or more valid codes under the pixel
    some_nodata: np.ndarray  # nodata under the pixel as well as a valid code


def mode_under_pixels(dst_crs: str, dst_transform: Affine, dst_shape: tuple[int, int],
                      codes: np.ndarray, src_crs: str, src_transform: Affine) -> Expected:
    """The mode of ``codes`` under each pixel of the destination grid (see the module
    docstring); the source grid must be north-up."""
    ny, nx = dst_shape
    t, s = dst_transform, src_transform
    jj, ii = np.meshgrid(np.arange(nx + 1, dtype=float), np.arange(ny + 1, dtype=float))
    tr = Transformer.from_crs(dst_crs, src_crs, always_xy=True)
    sx, sy = tr.transform(t.c + jj * t.a + ii * t.b, t.f + jj * t.d + ii * t.e)
    px = (np.asarray(sx) - s.c) / s.a
    py = (np.asarray(sy) - s.f) / s.e
    x0, x1 = np.minimum(px[:-1, :-1], px[1:, 1:]), np.maximum(px[:-1, :-1], px[1:, 1:])
    y0, y1 = np.minimum(py[:-1, :-1], py[1:, 1:]), np.maximum(py[:-1, :-1], py[1:, 1:])
    h, w = codes.shape
    c0, c1 = np.clip(np.floor(x0), 0, w).astype(int), np.clip(np.ceil(x1), -1, w).astype(int)
    r0, r1 = np.clip(np.floor(y0), 0, h).astype(int), np.clip(np.ceil(y1), -1, h).astype(int)
    c1 = np.where((c0 == c1) & (c1 < w), c1 + 1, c1)  # GDAL: iSrcXMin == iSrcXMax -> +1
    r1 = np.where((r0 == r1) & (r1 < h), r1 + 1, r1)
    near = np.zeros(dst_shape, bool)
    for v in (x0, x1, y0, y1):
        near |= np.abs(v - np.round(v)) < 1e-6
    out = np.full(dst_shape, NODATA, np.uint8)
    comparable = ~near
    mixed = np.zeros(dst_shape, bool)
    some_nodata = np.zeros(dst_shape, bool)
    for i, j in zip(*np.nonzero((c0 < c1) & (r0 < r1)), strict=True):
        box = codes[r0[i, j]:r1[i, j], c0[i, j]:c1[i, j]]
        valid = box[box != NODATA]
        if valid.size == 0:
            continue
        count = np.bincount(valid, minlength=256)
        top = count.max()
        winners = np.flatnonzero(count == top)
        out[i, j] = winners[0]
        comparable[i, j] &= len(winners) == 1
        mixed[i, j] = np.count_nonzero(count) > 1
        some_nodata[i, j] = valid.size < box.size
    return Expected(out, comparable, mixed, some_nodata)
