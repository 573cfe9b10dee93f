"""The area-weighted ``average`` kernel against a per-pixel reference written here in plain
Python loops (GDAL's rules: a destination pixel reads the source box of its plan window, edge
rows/columns weighted by their fractional coverage, fills never averaged; a pixel that sees
only invalid codes keeps their most frequent code, ties to the code that reached the winning
count first in row-major scan order).  The kernel itself is vectorised over offsets; the
boxes come from the plan, which ``tests/warp/test_gdal.py`` checks against gdalwarp.

The source values are random (seeded) with long runs of fill codes so that every branch —
valid averages, single-code fills, mixed-code ties, a partly missing source — occurs.
"""

from __future__ import annotations

import numpy as np
import pytest

from modisoft import modis_tile_grid
from modisoft.grids import grid_from_bounds
from modisoft.warp.kernels import Resampled, ValidRule, resample_window
from modisoft.warp.plan import ResamplePlan

FILLS = (250, 253, 254, 255)


def reference(pw, win, present, rule, nodata):
    a = pw.arrays
    n = pw.dst_shape[0] * pw.dst_shape[1]
    values = np.full(n, nodata, win.dtype)
    valid = np.zeros(n, bool)
    inside = np.zeros(n, bool)
    for i, d in enumerate(pw.dst_index):
        r0, r1, c0, c1 = (int(a[k][i]) for k in ("r0", "r1", "c0", "c1"))
        num = den = 0.0
        codes: dict[int, list[int]] = {}
        for dr in range(r1 - r0):
            wy = 1.0
            if r1 - r0 > 1 and dr == 0:
                wy = 1.0 - (a["y0"][i] - r0)
            elif r1 - r0 > 1 and dr == r1 - r0 - 1:
                wy = 1.0 - (r1 - a["y1"][i])
            for dc in range(c1 - c0):
                wx = 1.0
                if c1 - c0 > 1 and dc == 0:
                    wx = 1.0 - (a["x0"][i] - c0)
                elif c1 - c0 > 1 and dc == c1 - c0 - 1:
                    wx = 1.0 - (c1 - a["x1"][i])
                r, c = r0 + dr, c0 + dc
                if present is not None and not present[r, c]:
                    continue
                inside[d] = True
                v = int(win[r, c])
                if rule.mask(np.array([v], win.dtype))[0]:
                    num += wy * wx * v
                    den += wy * wx
                else:
                    codes.setdefault(v, []).append(dr * (c1 - c0) + dc)
        if den > 0:
            values[d] = int(np.floor(num / den + 0.5))
            valid[d] = True
        elif codes:
            top = max(len(p) for p in codes.values())
            # the code whose top-th occurrence (its last) comes first in scan order
            values[d] = min((p[-1], v) for v, p in codes.items() if len(p) == top)[1]
    return values, valid, inside


@pytest.mark.parametrize(
    "src, dst",
    [
        (modis_tile_grid(26, 5, "500m"), grid_from_bounds(
            "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=krass", 1000,
            (-600000, 3500000, -540000, 3560000))),
        (modis_tile_grid(17, 3, "1km"), grid_from_bounds(
            "EPSG:3035", 1700, (3400000, 3300000, 3460000, 3360000))),
    ],
    ids=["500m-to-china-albers-1km", "1km-to-laea-1.7km"],
)
@pytest.mark.parametrize("partial", [False, True], ids=["whole", "partly-missing"])
def test_average_equals_the_per_pixel_reference(src, dst, partial):
    plan = ResamplePlan(src, dst, "average")
    pw = plan.window((0, dst.shape[0]), (0, dst.shape[1]))
    assert pw is not None, "the test grid must overlap the tile"
    rng = np.random.default_rng(7)
    sb = pw.src_box
    shape = (sb[1] - sb[0], sb[3] - sb[2])
    win = rng.integers(0, 101, shape).astype("uint8")
    win[rng.random(shape) < 0.35] = 255
    win[:, : shape[1] // 3] = rng.choice(np.array(FILLS, "uint8"), (shape[0], shape[1] // 3))
    win[: shape[0] // 4] = 254
    present = rng.random(shape) > 0.15 if partial else None
    rule = ValidRule(FILLS, (0, 100))
    got = resample_window(pw, win, present, rule, np.uint8(255))
    want = reference(pw, win, present, rule, np.uint8(255))
    assert isinstance(got, Resampled)
    assert np.array_equal(got.inside, want[2])
    assert np.array_equal(got.valid, want[1])
    assert np.array_equal(got.values, want[0])
    # every branch was exercised
    fill_only = got.inside & ~got.valid
    assert got.valid.sum() > 100 and fill_only.sum() > 50
    assert len(np.unique(got.values[fill_only])) >= 2
