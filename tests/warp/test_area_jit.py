"""The numba area kernels (``modisoft.warp.area_jit``) against the numpy forms they replace
(``kernels.JIT = False``), to the bit, and against direct formulas on hand-made boxes: fills,
all-masked windows, mode ties, missing source pixels and chunk (piece) boundaries.

The numpy forms are themselves held to GDAL (``test_average.py``, ``test_gdal.py``) and to a
per-pixel reference (``test_area_offsets.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from modisoft import modis_tile_grid
from modisoft.grids import grid_from_bounds
from modisoft.warp import kernels
from modisoft.warp.area_jit import average_sums, offset_mode
from modisoft.warp.kernels import ValidRule, resample_window
from modisoft.warp.plan import PlanWindow, ResamplePlan

FILLS = (248, 249, 250, 251, 252, 253, 254, 255)
SRC = modis_tile_grid(26, 5, "500m")
DST = grid_from_bounds("+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=krass", 1000,
                       (-600000, 3500000, -540000, 3560000))


def _both(pw, win, present, rule, nodata, monkeypatch):
    got = resample_window(pw, win, present, rule, nodata)
    monkeypatch.setattr(kernels, "JIT", False)
    want = resample_window(pw, win, present, rule, nodata)
    monkeypatch.setattr(kernels, "JIT", True)
    return got, want


def _same(a, b) -> None:
    assert a.values.dtype == b.values.dtype
    assert a.values.tobytes() == b.values.tobytes()  # to the bit (NaNs included)
    assert np.array_equal(a.valid, b.valid)
    assert np.array_equal(a.inside, b.inside)


def _window(method: str):
    pw = ResamplePlan(SRC, DST, method).window((0, DST.shape[0]), (0, DST.shape[1]))
    assert pw is not None
    sb = pw.src_box
    return pw, (sb[1] - sb[0], sb[3] - sb[2])


@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("case", ["mixed", "all-masked", "partly-missing"])
def test_average_equals_the_numpy_form(kind, case, monkeypatch):
    pw, shape = _window("average")
    rng = np.random.default_rng(5)
    raw = rng.integers(0, 101, shape).astype("uint8")
    holes = rng.random(shape) < 0.3
    raw[holes] = rng.choice(np.array(FILLS, "uint8"), int(holes.sum()))
    raw[:, : shape[1] // 4] = rng.choice(np.array(FILLS, "uint8"), (shape[0], shape[1] // 4))
    if case == "all-masked":
        raw[:] = rng.choice(np.array(FILLS, "uint8"), shape)
    present = rng.random(shape) > 0.2 if case == "partly-missing" else None
    if kind == "uint8":
        win, rule, nodata = raw, ValidRule(FILLS, (0, 100)), np.uint8(255)
    else:
        win = np.where(raw <= 100, raw * np.float32(0.1), np.float32(np.nan)).astype("float32")
        rule, nodata = ValidRule((), None), np.float32(np.nan)
    got, want = _both(pw, win, present, rule, nodata, monkeypatch)
    _same(got, want)
    if case == "all-masked":
        assert not got.valid.any() and got.inside.any()
    else:
        assert got.valid.sum() > 100


@pytest.mark.parametrize("case", ["mixed", "all-masked", "partly-missing", "two-codes"])
def test_mode_equals_the_numpy_form(case, monkeypatch):
    pw, shape = _window("mode")
    rng = np.random.default_rng(9)
    win = rng.integers(0, 6, shape).astype("uint8")
    if case == "two-codes":  # most mixed pixels are ties
        win = np.where(rng.random(shape) < 0.5, 3, 4).astype("uint8")
    win[rng.random(shape) < 0.25] = 255
    if case == "all-masked":
        win[:] = rng.choice(np.array(FILLS, "uint8"), shape)
    present = rng.random(shape) > 0.2 if case == "partly-missing" else None
    got, want = _both(pw, win, present, ValidRule(FILLS, (0, 100)), np.uint8(255),
                      monkeypatch)
    _same(got, want)


def test_chunk_boundaries_do_not_change_the_result():
    """Windows of a plan cut at any rows and columns give the pixels of the whole window."""
    plan = ResamplePlan(SRC, DST, "average")
    ny, nx = DST.shape
    rng = np.random.default_rng(1)
    src = rng.integers(0, 101, SRC.shape).astype("uint8")
    src[rng.random(SRC.shape) < 0.3] = 254
    rule = ValidRule(FILLS, (0, 100))
    whole = np.full((ny, nx), 255, "uint8")
    pw = plan.window((0, ny), (0, nx))
    b = pw.src_box
    whole.ravel()[:] = resample_window(pw, src[b[0]:b[1], b[2]:b[3]], None, rule,
                                       np.uint8(255)).values
    cut = np.full((ny, nx), 255, "uint8")
    for r0, r1 in ((0, 17), (17, ny)):
        for c0, c1 in ((0, 23), (23, nx)):
            pw = plan.window((r0, r1), (c0, c1))
            b = pw.src_box
            cut[r0:r1, c0:c1] = resample_window(pw, src[b[0]:b[1], b[2]:b[3]], None, rule,
                                                np.uint8(255)).values.reshape(r1 - r0, c1 - c0)
    assert np.array_equal(cut, whole)


def _one_pixel_window(r0, r1, c0, c1, y0, y1, x0, x1) -> PlanWindow:
    arrays = {k: np.array([v], "int32") for k, v in
              (("r0", r0), ("r1", r1), ("c0", c0), ("c1", c1))}
    arrays |= {k: np.array([v], "float64") for k, v in
               (("y0", y0), ("y1", y1), ("x0", x0), ("x1", x1))}
    return PlanWindow("average", (1, 1), (0, 3, 0, 3), np.array([0], "int32"), arrays)


def test_average_sums_equal_the_direct_formula():
    """A 2 x 3 box whose footprint starts 0.25 px into its first row and 0.5 px into its
    first column and ends 0.4 px before its last column: GDAL's edge weights."""
    win = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], "float32")
    ok = np.ones((3, 3), bool)
    ok[1, 1] = False  # the centre is a fill
    pw = _one_pixel_window(0, 2, 0, 3, 0.25, 2.0, 0.5, 2.6)
    a = pw.arrays
    edges = (a["r0"], a["r1"], a["c0"], a["c1"], a["y0"], a["y1"], a["x0"], a["x1"])
    num, den, anyok, inside = average_sums(win, ok, np.zeros((0, 0), bool), *edges)
    wy, wx = [0.75, 1.0], [0.5, 1.0, 0.6]
    terms = [(wy[r] * wx[c], win[r, c]) for r in range(2) for c in range(3) if ok[r, c]]
    assert den[0] == pytest.approx(sum(w for w, _ in terms), rel=1e-15)
    assert num[0] == pytest.approx(sum(w * float(v) for w, v in terms), rel=1e-15)
    assert anyok[0] and inside[0]
    # a strided window (every other column of a wider one) is read in place, as its values
    wide = np.zeros((3, 6), "float32")
    wide[:, ::2] = win
    okw = np.zeros((3, 6), bool)
    okw[:, ::2] = ok
    strided = average_sums(wide[:, ::2], okw[:, ::2], np.zeros((0, 0), bool), *edges)
    assert (strided[0][0], strided[1][0]) == (num[0], den[0])
    none = average_sums(win, np.zeros((3, 3), bool), np.zeros((3, 3), bool), *edges)
    assert none[1][0] == 0.0 and not none[2][0] and not none[3][0]  # all masked, none present


@pytest.mark.parametrize(("codes", "want"), [
    ([5, 7, 7, 5], 7),      # 2-2 tie: 7 reached 2 first (its last occurrence comes first)
    ([5, 7, 5, 7], 5),
    ([9, 9, 7, 7], 9),
    ([3, 8, 8, 3], 8),
    ([4, 1, 1, 1], 1),      # plain majority
    ([6, 6, 6, 6], 6),
])
def test_offset_mode_ties_go_to_the_code_that_reached_the_count_first(codes, want):
    winf = np.array(codes, "uint8")
    one = np.zeros(1, np.intp)
    got, code = offset_mode(winf, np.ones(4, bool), one, one, one, np.array([2], "int32"),
                            np.array([2], "int32"), 2, 255)
    assert got[0] and code[0] == want
    got, code = offset_mode(winf, np.zeros(4, bool), one, one, one, np.array([2], "int32"),
                            np.array([2], "int32"), 2, 255)
    assert not got[0] and code[0] == 255  # nothing counted


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_decode_by_table_equals_the_direct_decode(dtype):
    from modisoft.decode import _decode_values, _fill_class_codes, decode_values, fill_class_codes
    from modisoft.products import get_product

    layer = get_product("MCD15A2H", "061").layer("Lai_500m")
    raw = np.random.default_rng(2).integers(0, 256, (64, 70)).astype("uint8").view(dtype)
    assert decode_values(raw, layer).tobytes() == _decode_values(raw, layer).tobytes()
    assert np.array_equal(fill_class_codes(raw, layer), _fill_class_codes(raw, layer))
    assert fill_class_codes(raw, layer).dtype == raw.dtype


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_a_one_byte_validity_mask_by_table_equals_the_rule_value_by_value(dtype):
    # the compiled byte lookup reads a signed layer by its bytes: entry b is the value whose
    # byte is b; a strided window (every third column) is read as its values, not its buffer
    from modisoft.decode import _decode_values, decode_values
    from modisoft.products import get_product
    from modisoft.warp.kernels import ValidRule

    raw = np.random.default_rng(3).integers(0, 256, (300, 90)).astype("uint8").view(dtype)
    win = raw[:, ::3]
    rule = ValidRule((255, 254, -3), (-100, 100))
    v = win.astype(np.int64)
    want = ~np.isin(v, [255, 254, -3]) & (v >= -100) & (v <= 100)
    assert np.array_equal(rule.mask(win), want)
    layer = get_product("MCD15A2H", "061").layer("Lai_500m")
    assert decode_values(win, layer).tobytes() == _decode_values(win, layer).tobytes()
