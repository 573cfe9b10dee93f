"""The ``mode``, ``min`` and ``max`` kernels against a per-pixel reference written here in
plain Python loops (GDAL's rules: a destination pixel reads the source box of its plan
window, every pixel of the box counts once, fills never count; ``mode`` ties go to the value
that reached the winning count first in row-major scan order; a pixel that sees only invalid
codes keeps their most frequent code).  The kernels are vectorised over offsets inside the
boxes, in batches of pixels for the mode's count table; the boxes come from the plan, which
``tests/warp/test_gdal.py`` checks against gdalwarp.
"""

from __future__ import annotations

import numpy as np
import pytest

from modisoft import modis_tile_grid
from modisoft.grids import grid_from_bounds
from modisoft.warp import kernels
from modisoft.warp.kernels import ValidRule, resample_window
from modisoft.warp.plan import ResamplePlan

FILLS = (250, 253, 254, 255)


def _most_frequent(seen: dict[int, list[int]]) -> int:
    top = max(len(p) for p in seen.values())
    return min((p[-1], v) for v, p in seen.items() if len(p) == top)[1]


def reference(pw, win, present, rule, nodata, method):
    a = pw.arrays
    n = pw.dst_shape[0] * pw.dst_shape[1]
    values = np.full(n, nodata, win.dtype)
    valid = np.zeros(n, bool)
    inside = np.zeros(n, bool)
    for i, d in enumerate(pw.dst_index):
        r0, r1, c0, c1 = (int(a[k][i]) for k in ("r0", "r1", "c0", "c1"))
        good: dict[int, list[int]] = {}
        bad: dict[int, list[int]] = {}
        for dr in range(r1 - r0):
            for dc in range(c1 - c0):
                r, c = r0 + dr, c0 + dc
                if present is not None and not present[r, c]:
                    continue
                inside[d] = True
                v = win[r, c].item()
                ok = rule.mask(np.array([v], win.dtype))[0]
                (good if ok else bad).setdefault(v, []).append(dr * (c1 - c0) + dc)
        if good:
            valid[d] = True
            values[d] = {"mode": _most_frequent, "min": min, "max": max}[method](good)
        elif bad and win.dtype.kind != "f":
            values[d] = _most_frequent(bad)
    return values, valid, inside


GRIDS = {
    "500m-to-china-albers-1km": (modis_tile_grid(26, 5, "500m"), grid_from_bounds(
        "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=krass", 1000,
        (-600000, 3500000, -540000, 3560000))),
    "1km-to-laea-2.3km": (modis_tile_grid(17, 3, "1km"), grid_from_bounds(
        "EPSG:3035", 2300, (3400000, 3300000, 3480000, 3380000))),
}


@pytest.mark.parametrize("method", ["mode", "min", "max"])
@pytest.mark.parametrize("grids", list(GRIDS), ids=list(GRIDS))
@pytest.mark.parametrize("partial", [False, True], ids=["whole", "partly-missing"])
@pytest.mark.parametrize("batch", [2**21, 7], ids=["one-batch", "batches-of-7-cells"])
def test_integer_kernels_equal_the_per_pixel_reference(method, grids, partial, batch,
                                                       monkeypatch):
    monkeypatch.setattr(kernels, "_MODE_CELLS", batch)
    src, dst = GRIDS[grids]
    pw = ResamplePlan(src, dst, method).window((0, dst.shape[0]), (0, dst.shape[1]))
    assert pw is not None, "the test grid must overlap the tile"
    rng = np.random.default_rng(11)
    sb = pw.src_box
    shape = (sb[1] - sb[0], sb[3] - sb[2])
    win = rng.integers(0, 6, shape).astype("uint8")  # few codes: many ties and mixed pixels
    win[rng.random(shape) < 0.3] = 255
    win[:, : shape[1] // 3] = rng.choice(np.array(FILLS, "uint8"), (shape[0], shape[1] // 3))
    win[: shape[0] // 4] = 254
    present = rng.random(shape) > 0.15 if partial else None
    rule = ValidRule(FILLS, (0, 100))
    got = resample_window(pw, win, present, rule, np.uint8(255))
    want = reference(pw, win, present, rule, np.uint8(255), method)
    assert np.array_equal(got.inside, want[2])
    assert np.array_equal(got.valid, want[1])
    assert np.array_equal(got.values, want[0])
    fill_only = got.inside & ~got.valid
    assert got.valid.sum() > 100 and fill_only.sum() > 50
    assert len(np.unique(got.values[fill_only])) >= 2
    assert len(np.unique(got.values[got.valid])) >= 3


@pytest.mark.parametrize("method", ["mode", "min", "max"])
def test_float_kernels_equal_the_per_pixel_reference(method):
    src, dst = GRIDS["500m-to-china-albers-1km"]
    pw = ResamplePlan(src, dst, method).window((0, dst.shape[0]), (0, dst.shape[1]))
    rng = np.random.default_rng(3)
    sb = pw.src_box
    shape = (sb[1] - sb[0], sb[3] - sb[2])
    win = (rng.integers(0, 5, shape) * 0.5).astype("float32")
    win[rng.random(shape) < 0.4] = np.nan
    win[: shape[0] // 4] = np.nan
    present = rng.random(shape) > 0.15
    rule = ValidRule((), None)
    got = resample_window(pw, win, present, rule, np.float32(np.nan))
    want = reference(pw, win, present, rule, np.float32(np.nan), method)
    assert np.array_equal(got.inside, want[2])
    assert np.array_equal(got.valid, want[1])
    assert np.array_equal(got.values, want[0], equal_nan=True)
    assert got.valid.sum() > 100 and (got.inside & ~got.valid).sum() > 10
