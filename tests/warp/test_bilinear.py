"""``bilinear`` on small same-CRS grids whose source coordinates are known exactly.

A destination grid shifted by a quarter pixel puts every destination centre at source pixel
coordinate ``p = col + 0.75`` (``+ 0.25`` after ``- 0.5``), so the 2x2 weights are 0.75/0.25
and the expected values follow from the bilinear formula written out here.  The GDAL-oracle
comparisons are in ``tests/warp/test_gdal.py``.
"""

from __future__ import annotations

import numpy as np
from affine import Affine

from modisoft.grids import Grid
from modisoft.warp import ResamplePlan

CRS = "EPSG:3035"
N = 6
SRC = Grid.from_crs(CRS, Affine(10.0, 0.0, 0.0, 0.0, -10.0, 60.0), (N, N))
LAI_FILLS = (249, 250, 251, 252, 253, 254, 255)


def shifted(dx: float, dy: float) -> Grid:
    """The source grid moved by ``dx`` metres east and ``dy`` metres south."""
    return Grid.from_crs(CRS, Affine(10.0, 0.0, dx, 0.0, -10.0, 60.0 - dy), (N, N))


def linear(col, row):
    return 20.0 + 2.0 * col + 4.0 * row


def source() -> np.ndarray:
    rows, cols = np.mgrid[0:N, 0:N]
    return linear(cols, rows).astype("uint8")


def warp(src: np.ndarray, dst: Grid) -> np.ndarray:
    plan = ResamplePlan(SRC, dst, "bilinear")
    return plan.apply(src, nodata=255, fill_codes=LAI_FILLS, valid_range=(0, 100))


def test_interior_reproduces_a_linear_field_rounding_half_up():
    out = warp(source(), shifted(2.5, 2.5))
    rows, cols = np.mgrid[0 : N - 1, 0 : N - 1]
    # a linear field is reproduced exactly at p - 0.5 = (col + 0.25, row + 0.25); the values
    # end in .5 (2 * 0.25 + 4 * 0.25 = 1.5), which GDAL rounds up
    expect = np.floor(linear(cols + 0.25, rows + 0.25) + 0.5)
    np.testing.assert_array_equal(out[: N - 1, : N - 1], expect)


def test_last_row_and_column_use_the_neighbours_inside_only():
    out = warp(source(), shifted(2.5, 2.5))
    rows = np.arange(N - 1)
    # the right neighbour is outside: the value is interpolated along the column alone
    np.testing.assert_array_equal(out[: N - 1, N - 1], np.floor(linear(N - 1, rows + 0.25) + 0.5))
    np.testing.assert_array_equal(out[N - 1, : N - 1], np.floor(linear(rows + 0.25, N - 1) + 0.5))
    assert out[N - 1, N - 1] == linear(N - 1, N - 1)


def test_first_half_pixel_uses_the_first_column_alone():
    out = warp(source(), shifted(-2.5, -2.5))  # p = col + 0.25: p - 0.5 < 0 in column 0
    rows = np.arange(1, N)
    np.testing.assert_array_equal(out[1:, 0], np.floor(linear(0, rows - 0.25) + 0.5))
    np.testing.assert_array_equal(out[0, 1:], np.floor(linear(rows - 0.25, 0) + 0.5))
    assert out[0, 0] == linear(0, 0)


def test_fill_neighbours_are_left_out_and_weights_renormalised():
    src = source()
    src[2, 2] = 254  # water
    out = warp(src, shifted(2.5, 2.5))
    # destination (2, 2) reads rows 2-3, cols 2-3 with weights .75*.75, .25*.75, .75*.25, ...
    w = {(2, 3): 0.25 * 0.75, (3, 2): 0.75 * 0.25, (3, 3): 0.25 * 0.25}
    num = sum(wt * linear(c, r) for (r, c), wt in w.items())
    assert out[2, 2] == np.floor(num / sum(w.values()) + 0.5)
    assert out[1, 1] == np.floor(
        (0.5625 * linear(1, 1) + 0.1875 * linear(2, 1) + 0.1875 * linear(1, 2)) / 0.9375 + 0.5
    )


def test_only_fills_around_keeps_the_nearest_pixels_code():
    src = source()
    src[3:6, 3:6] = 253
    src[4, 4] = 250
    out = warp(src, shifted(2.5, 2.5))
    assert out[3, 3] == 253  # nearest pixel of p = (3.75, 3.75) is (3, 3)
    assert out[4, 4] == 250  # nearest is (4, 4), though 253 is the most frequent neighbour
    out = warp(src, shifted(7.5, 7.5))  # p = col + 1.25: nearest is (r + 1, c + 1)
    assert out[3, 3] == 250


def test_valid_weight_below_gdal_threshold_gives_no_value():
    src = source()
    src[:, 3:] = 254
    # p - 0.5 = col + 0.9999995: column col weighs 5e-7 < 1e-5, column col + 1 is water
    out = warp(src, shifted(9.999995, 0.0))
    assert out[0, 2] == 254  # no value from the valid pixel: the nearest pixel's code
    assert out[0, 1] == np.floor(linear(2 - 5e-7, 0) + 0.5)  # both columns valid
