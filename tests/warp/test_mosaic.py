"""mosaic/reproject: laziness and locality (counting wrapper), fuse rules, fills, time stacks,
plan cache, resampling policy, stacked sources and the ``modisoft mosaic`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from conftest import sample

import modisoft
from modisoft.grids import Grid, grid_from_bounds, modis_tile_grid
from modisoft.io import hdf4
from modisoft.warp import (
    MosaicError,
    ResamplePlan,
    ResamplingPolicyError,
    ValidRule,
    clear_plan_memory,
    find_granules,
    mosaic,
    open_stacks,
    reproject,
)

H17 = "MCD15A2.A2012001.h17v03.005.2012017211237.hdf"
H18 = "MCD15A2.A2012001.h18v03.005.2012017211211.hdf"


@pytest.fixture
def read_log(monkeypatch):
    """Counting wrapper around the one function that reads pixel data from HDF4."""
    calls: list[str] = []
    real = hdf4.read_block

    def counting(path, name, start, count):
        calls.append(path)
        return real(path, name, start, count)

    monkeypatch.setattr(hdf4, "read_block", counting)
    return calls


def lai(name: str, chunks=None):
    return modisoft.open_granule(sample(name), layers=["Lai_1km"], chunks=chunks).Lai_1km


def sinusoidal_xy(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Independent: sinusoidal x, y of every pixel centre of a grid (pyproj)."""
    from pyproj import Transformer

    cx, cy = np.meshgrid(grid.x_coords(), grid.y_coords())
    tr = Transformer.from_crs(grid.crs, modis_tile_grid(17, 3).crs, always_xy=True)
    x, y = tr.transform(cx, cy)
    return np.asarray(x), np.asarray(y)


def sinusoidal_x(grid: Grid, rows: slice, cols: slice) -> np.ndarray:
    return sinusoidal_xy(grid)[0][rows, cols]


def test_build_reads_nothing_and_one_chunk_reads_only_its_tiles(read_log):
    srcs = [lai(H17, 600), lai(H18, 600)]
    dst = grid_from_bounds("EPSG:3035", 4000.0, (2600000, 3100000, 4400000, 4400000))
    out = mosaic(srcs, dst, chunks=64)
    assert read_log == []  # building the graph reads no pixel
    sx, sy = sinusoidal_xy(dst)
    t = modis_tile_grid(17, 3).bounds  # rows of v03: y in [bottom, top]
    margin = 20000.0  # m: far from the seam and from the tiles' other edges
    found = {}
    for i in range(out.data.numblocks[0]):
        for j in range(out.data.numblocks[1]):
            x, y = (
                sx[i * 64 : (i + 1) * 64, j * 64 : (j + 1) * 64],
                sy[i * 64 : (i + 1) * 64, j * 64 : (j + 1) * 64],
            )
            if y.min() < t[1] + margin or y.max() > t[3] - margin:
                continue  # not well inside row v03
            if x.min() > -t[2] + t[0] + margin and x.max() < -margin:
                found.setdefault("west", (i, j))
            elif x.min() > margin and x.max() < t[2] - t[0] - margin:
                found.setdefault("east", (i, j))
            elif x.min() < -margin and x.max() > margin:
                found.setdefault("seam", (i, j))
    assert set(found) == {"west", "east", "seam"}
    expected = {"west": {H17}, "east": {H18}, "seam": {H17, H18}}
    for where, block in found.items():
        read_log.clear()
        out.data.blocks[block].compute()
        assert {p.rsplit("/", 1)[-1] for p in read_log} == expected[where], where
    # a chunk outside both tiles reads nothing
    outside = [
        (i, j)
        for i in range(out.data.numblocks[0])
        for j in range(out.data.numblocks[1])
        if sy[i * 64 : (i + 1) * 64, j * 64 : (j + 1) * 64].min() > t[3] + margin
    ]
    assert outside
    read_log.clear()
    out.data.blocks[outside[0]].compute()
    assert read_log == []


def test_time_stack_build_reads_nothing_and_one_step_reads_one_date(read_log):
    files = find_granules([sample(H17).parent], product="MCD15A2", tiles=["h17v03"])[:5]
    stacks = open_stacks(files, "Lai_1km")
    dst = grid_from_bounds("EPSG:3035", 5000.0, (2600000, 3100000, 3700000, 4400000))
    out = mosaic(stacks, dst, chunks=512)
    assert read_log == []
    out.data.blocks[2, 0, 0].compute()
    assert [p.rsplit("/", 1)[-1] for p in read_log] == [files[2].path.rsplit("/", 1)[-1]]


def test_time_stack_equals_per_date_mosaics_and_missing_dates_are_nodata():
    folder = sample(H17).parent
    files = find_granules([folder], product="MCD15A2", start=None, tiles=["h17v03", "h18v03"])
    dates = {"2012-04-30", "2012-05-08"}  # h18v03 has the first only
    files = [g for g in files if g.nominal_date.isoformat() in dates]
    assert len(files) == 3
    dst = grid_from_bounds("EPSG:3035", 5000.0, (2600000, 3100000, 4400000, 4400000))
    stack = mosaic(open_stacks(files, "Lai_1km"), dst, chunks=200)
    assert stack.dims == ("time", "y", "x") and stack.sizes["time"] == 2
    for k, d in enumerate(sorted(dates)):
        day = [g for g in files if g.nominal_date.isoformat() == d]
        single = [modisoft.open_granule(g.path, layers=["Lai_1km"]).Lai_1km for g in day]
        expect = mosaic(single, dst, chunks=300).values
        np.testing.assert_array_equal(stack[k].values, expect)
    east = sinusoidal_x(dst, slice(None), slice(None)) > 10000
    second = stack[1].values
    assert np.all(second[east & (second != 255)] == 255) and np.all(second[east] == 255)


def same_grid_sources():
    """Three overlapping sources on one 1 km lattice, with fills (255) and fill classes (254)."""
    base = Affine(1000.0, 0, 0, 0, -1000.0, 10000.0)
    rng = np.random.default_rng(5)
    out, boxes = [], [(0, 0, 8, 8), (2, 3, 8, 8), (4, 0, 6, 10)]  # (row0, col0, h, w)
    for r0, c0, h, w in boxes:
        v = rng.integers(0, 100, size=(h, w)).astype("uint8")
        v[rng.random((h, w)) < 0.2] = 255
        v[rng.random((h, w)) < 0.1] = 254
        g = Grid.from_crs("EPSG:3035", base @ Affine.translation(c0, r0), (h, w))
        da = xr.DataArray(v, dims=("y", "x"), coords=g.xarray_coords())
        da.attrs.update(fill_values=np.array([255], "uint8"), fill_class_codes=[254, 255])
        da.attrs["valid_range"] = np.array([0, 100], "uint8")
        out.append(da.chunk(3))
    dst = Grid.from_crs("EPSG:3035", base, (12, 12))
    stacked = np.full((3, 12, 12), 255, "uint8")
    for k, (r0, c0, h, w) in enumerate(boxes):
        stacked[k, r0 : r0 + h, c0 : c0 + w] = out[k].values
    return out, dst, stacked


@pytest.mark.parametrize("rule", ["first", "last", "min", "max", "mean", "count"])
def test_fuse_rules_against_numpy(rule):
    srcs, dst, st = same_grid_sources()
    got = mosaic(srcs, dst, fuse=rule, chunks=5).values
    valid = st <= 100
    anyv = valid.any(axis=0)
    if rule == "count":
        np.testing.assert_array_equal(got, valid.sum(axis=0))
        assert got.dtype == np.uint16
        return
    covered = st != 255
    # no valid value: the first covering source's code (254), else the nodata 255
    codes = np.where(
        covered.any(axis=0), st[np.argmax(covered, axis=0), *np.indices((12, 12))], 255
    )
    if rule in ("first", "last"):
        order = range(3) if rule == "first" else range(2, -1, -1)
        expect = np.full((12, 12), 255, "uint8")
        done = np.zeros((12, 12), bool)
        for k in order:
            take = valid[k] & ~done
            expect[take] = st[k][take]
            done |= take
    elif rule == "mean":
        s = np.where(valid, st.astype(float), 0).sum(axis=0)
        expect = np.floor(s / np.maximum(valid.sum(axis=0), 1) + 0.5).astype("uint8")
    else:
        fill = 255 if rule == "min" else 0
        m = np.where(valid, st, fill)
        expect = m.min(axis=0) if rule == "min" else m.max(axis=0)
    expect = np.where(anyv, expect, codes)
    np.testing.assert_array_equal(got, expect)


def test_overlapping_float_sources_and_nan_fills():
    srcs, dst, st = same_grid_sources()
    fl = [s.astype("float32").where(s <= 100) for s in srcs]
    for s in fl:
        s.attrs = {}
    got = mosaic(fl, dst, fuse="max", chunks=5).values
    m = np.where(st <= 100, st.astype("float32"), -np.inf).max(axis=0)
    np.testing.assert_array_equal(got, np.where(np.isinf(m), np.nan, m))


def test_reproject_is_mosaic_of_one_and_numpy_sources_work():
    v = np.arange(36, dtype="float64").reshape(6, 6)
    g = Grid.from_crs("EPSG:3035", Affine(10.0, 0, 0, 0, -10.0, 60.0), (6, 6))
    src = xr.DataArray(v, dims=("y", "x"), coords=g.xarray_coords())
    coarse = Grid.from_crs("EPSG:3035", Affine(20.0, 0, 0, 0, -20.0, 60.0), (3, 3))
    out = reproject(src, coarse, method="average").values
    expect = v.reshape(3, 2, 3, 2).mean(axis=(1, 3))  # exact 2x2 blocks
    np.testing.assert_allclose(out, expect)
    for method, red in (("min", np.min), ("max", np.max)):
        got = reproject(src, coarse, method=method).values
        np.testing.assert_array_equal(got, red(v.reshape(3, 2, 3, 2), axis=(1, 3)))


def test_plan_is_cached_on_disk_and_reused(tmp_path):
    src, dst = (
        modis_tile_grid(17, 3),
        grid_from_bounds("EPSG:3035", 8000.0, (2.6e6, 3.1e6, 3.7e6, 4.4e6)),
    )
    clear_plan_memory()
    p1 = ResamplePlan(src, dst, "nearest", cache_dir=tmp_path)
    w1 = p1.window((0, 64), (0, 64))
    assert p1.mapper.n_exact > 0
    files = list(tmp_path.rglob("*.plan"))
    assert len(files) == 1 and (files[0].parent / "plan.json").is_file()
    clear_plan_memory()
    p2 = ResamplePlan(src, dst, "nearest", cache_dir=tmp_path)
    w2 = p2.window((0, 64), (0, 64))
    assert p2.mapper.n_exact == 0  # loaded, not recomputed
    np.testing.assert_array_equal(w1.arrays["src"], w2.arrays["src"])
    # an area window (eight arrays of three dtypes) and an empty one come back as stored
    pa = ResamplePlan(src, dst, "average", cache_dir=tmp_path)
    wa, empty = pa.window((0, 64), (0, 64)), pa.window((0, 1), (0, 1))
    clear_plan_memory()
    pa2 = ResamplePlan(src, dst, "average", cache_dir=tmp_path)
    back = pa2.window((0, 64), (0, 64))
    assert empty is None and pa2.window((0, 1), (0, 1)) is None
    assert (back.dst_shape, back.src_box) == (wa.dst_shape, wa.src_box)
    assert sorted(back.arrays) == sorted(wa.arrays) and len(wa.arrays) >= 8
    pairs = [(wa.dst_index, back.dst_index), *((wa.arrays[k], back.arrays[k]) for k in wa.arrays)]
    for a, b in pairs:
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    # a damaged cache file is ignored and the window computed again
    damaged = pa2._path((0, 64), (0, 64))
    damaged.write_bytes(damaged.read_bytes()[:-100])
    clear_plan_memory()
    pa3 = ResamplePlan(src, dst, "average", cache_dir=tmp_path)
    assert pa3.window((0, 64), (0, 64)).dst_index.tobytes() == wa.dst_index.tobytes()
    assert pa3.mapper.n_exact > 0
    assert ResamplePlan(src, dst, "mode").key != p1.key
    assert ResamplePlan(src, dst[0:10, 0:10], "nearest").key != p1.key


def test_policy_refuses_codes_averaged_and_interpolated_downsampling():
    qa = modisoft.open_granule(sample(H17), layers=["FparLai_QC"]).FparLai_QC
    dst = grid_from_bounds("EPSG:3035", 5000.0, (2.6e6, 3.1e6, 3.7e6, 4.4e6))
    for method in ("average", "bilinear", "min"):
        with pytest.raises(ResamplingPolicyError, match="'nearest' or 'mode'"):
            mosaic([qa], dst, method=method)
    with pytest.raises(ResamplingPolicyError, match="fuse='mean'"):
        mosaic([qa], dst, fuse="mean")
    mosaic([qa], dst, method="mode")  # allowed
    with pytest.raises(ResamplingPolicyError, match="method='average'"):
        mosaic([lai(H17)], dst, method="bilinear")  # 5 km from ~0.93 km: > 2x
    with pytest.raises(ResamplingPolicyError, match="method='average'"):
        mosaic([lai(H17)], dst, method="cubic")
    with pytest.raises(ResamplingPolicyError, match="unknown resampling method"):
        mosaic([lai(H17)], dst, method="lanczos")
    with pytest.raises(ResamplingPolicyError, match="unknown fuse"):
        mosaic([lai(H17)], dst, fuse="median")
    fine = grid_from_bounds("EPSG:3035", 1500.0, (2.6e6, 3.1e6, 2.7e6, 3.2e6))
    mosaic([lai(H17)], fine, method="bilinear")  # 1.6x: allowed


def test_bad_sources_raise_clear_errors():
    dst = grid_from_bounds("EPSG:3035", 5000.0, (2.6e6, 3.1e6, 3.7e6, 4.4e6))
    ds = modisoft.open_granule(sample(H17), layers=["Lai_1km"])
    with pytest.raises(MosaicError, match="pass layer="):
        mosaic([ds], dst)
    with pytest.raises(MosaicError, match="no layer 'Lai_500m'"):
        mosaic([ds], dst, layer="Lai_500m")
    with pytest.raises(MosaicError, match="dims"):
        mosaic([xr.DataArray(np.zeros(3), dims=("z",))], dst)
    with pytest.raises(MosaicError, match="cannot recover its grid"):
        mosaic([xr.DataArray(np.zeros((3, 3)), dims=("y", "x"))], dst)
    assert mosaic([ds], dst, layer="Lai_1km").shape == dst.shape


def test_open_stacks_values_and_duplicate_dates(tmp_path):
    files = find_granules([sample(H17).parent], product="MCD15A2", tiles=["h17v03"])
    assert len(files) == 46
    stacks = open_stacks(files[:3], "Lai_1km", verify_grid=True)
    assert len(stacks) == 1 and stacks[0].shape == (3, 1200, 1200)
    for k in range(3):
        ref = modisoft.open_granule(files[k].path, layers=["Lai_1km"]).Lai_1km.values
        np.testing.assert_array_equal(stacks[0][k].values, ref)
    dup = tmp_path / files[0].path.rsplit("/", 1)[-1].replace("2012017211237", "2012020000000")
    dup.write_bytes(sample(H17).read_bytes())
    with pytest.raises(modisoft.ModisoftError, match="several files"):
        open_stacks([files[0], dup], "Lai_1km")


def test_find_granules_filters():
    from datetime import date

    folder = sample(H17).parent
    gs = find_granules([folder], product="mcd15a2", start=date(2012, 1, 9), end=date(2012, 1, 17))
    assert sorted(g.tile_id for g in gs) == ["h17v03", "h17v03", "h18v03", "h18v03"]
    assert find_granules([folder], product="MCD15A2", tiles=["h26v05"]) == []


def test_select_granules_wants_one_product_and_a_match(tmp_path):
    from modisoft.grids import tile_ids
    from modisoft.warp import select_granules

    folder = sample(H17).parent
    gs = select_granules([folder], product="MCD15A2", tiles=tile_ids("h17v03, h18v03"))
    assert {g.tile_id for g in gs} == {"h17v03", "h18v03"}
    with pytest.raises(modisoft.ModisoftError, match="no granules match"):
        select_granules([folder], product="MCD15A2", tiles=tile_ids("china19"))
    for name in (H17, "MCD12Q1.A2020001.h24v07.061.2022172012059.hdf"):
        (tmp_path / name).write_bytes(sample(name).read_bytes())
    with pytest.raises(modisoft.ModisoftError, match="several products"):
        select_granules([tmp_path])


def test_cli_mosaic_geotiff_and_zarr(tmp_path):
    import rasterio
    from click.testing import CliRunner

    from modisoft.cli import main

    folder = str(sample(H17).parent)
    args = [folder, "--product", "MCD15A2", "--layer", "Lai_1km", "--start", "2012001"]
    args += ["--end", "2012009", "--crs", "EPSG:3035", "--res", "5000", "--bounds"]
    args += ["2600000", "3100000", "4400000", "4400000", "--quiet", "--chunks", "128"]
    res = CliRunner().invoke(main, ["mosaic", *args, "-o", str(tmp_path / "o.tif")])
    assert res.exit_code == 0, res.output
    dst = grid_from_bounds("EPSG:3035", 5000.0, (2600000, 3100000, 4400000, 4400000))
    expect = mosaic([lai(H17), lai(H18)], dst).values
    with rasterio.open(tmp_path / "o.tif") as f:
        assert f.count == 2 and f.descriptions[0] == "2012-01-01"
        assert f.transform.almost_equals(dst.transform) and f.nodata == 255
        np.testing.assert_array_equal(f.read(1), expect)
    res = CliRunner().invoke(main, ["mosaic", *args, "-o", str(tmp_path / "o.zarr")])
    assert res.exit_code == 0, res.output
    z = xr.open_zarr(tmp_path / "o.zarr")
    np.testing.assert_array_equal(z.Lai_1km[0].values, expect)
    bad = CliRunner().invoke(
        main, ["mosaic", folder, "--layer", "FparLai_QC", "--product", "MCD15A2", "--method",
               "average", "--grid", "china_albers_1km", "-o", str(tmp_path / "q.tif")],
    )  # fmt: skip
    assert bad.exit_code != 0 and "'nearest' or 'mode'" in bad.output


def test_cli_mosaic_dates_in_every_documented_form(tmp_path):
    """``--start``/``--end`` take YYYY-DDD (as docs/how-to/mosaic.md writes them, and as a
    config's ``[inputs] start``), YYYYDDD and YYYY-MM-DD alike: day 9 of 2012 is 9 January,
    day 17 is 17 January (the calendar); day 400 is refused with exit 2, naming the value."""
    import rasterio
    from click.testing import CliRunner

    from modisoft.cli import main

    folder = str(Path(__file__).resolve().parents[2] / "sample_tiles")
    grid = ["--crs", "EPSG:3035", "--res", "20000", "--bounds", "3370000", "3280000", "3970000",
            "3640000", "-q"]
    for start, end in [("2012-009", "2012-017"), ("2012009", "2012017"),
                       ("2012-01-09", "2012-01-17")]:
        out = tmp_path / f"{start}.tif"
        res = CliRunner().invoke(main, ["mosaic", folder, "--product", "MCD15A2", "--layer",
                                        "Lai_1km", "--start", start, "--end", end, *grid,
                                        "-o", str(out)])
        assert res.exit_code == 0, res.output
        with rasterio.open(out) as f:
            assert f.descriptions == ("2012-01-09", "2012-01-17")
    bad = CliRunner().invoke(main, ["mosaic", folder, "--layer", "Lai_1km", "--start",
                                    "2012-400", *grid, "-o", str(tmp_path / "x.tif")])
    assert bad.exit_code == 2
    assert "'2012-400' is not a day of year 2012 (1..366)" in bad.output


def test_valid_rule_default_from_attributes():
    srcs, dst, st = same_grid_sources()
    got = mosaic(srcs[:1], dst, method="average", chunks=12).values
    # identity grid: every pixel keeps its value (fills and classes included)
    np.testing.assert_array_equal(got, st[0])
    assert isinstance(ValidRule((1,)).mask(np.array([1, 2], "uint8")), np.ndarray)


def test_mosaic_windows_hands_each_window_of_every_mosaic_equal_to_its_own_compute():
    """``mosaic_windows``: one task per window computes several mosaics of the same sources
    at once; each window equals the same window of the mosaic computed on its own."""
    from modisoft.warp.mosaic import mosaic_windows

    day = np.array(["2012-01-01"], "datetime64[ns]")
    srcs = [lai(H17, 600).expand_dims(time=day), lai(H18, 600).expand_dims(time=day)]
    dst = grid_from_bounds("EPSG:3035", 4000.0, (2600000, 3100000, 4400000, 4400000))
    outs = [mosaic(srcs, dst, chunks=64, method=m) for m in ("average", "nearest")]
    whole = [o.values[0] for o in outs]
    seen: dict[tuple[int, int, int, int], list[np.ndarray]] = {}

    def func(window, arrays):
        seen[window] = arrays
        return int(sum(np.isfinite(a).sum() for a in arrays))

    ny, nx = dst.shape
    rows = (64, ny)  # all but the first band of chunks
    counts = mosaic_windows(outs, rows, func)
    assert counts is not None
    got = counts.compute(scheduler="synchronous")
    assert got.shape == (len(range(64, ny, 64)), len(range(0, nx, 64)))
    assert len(seen) == got.size and min(w[0] for w in seen) == 64
    assert sum(np.isfinite(w).sum() for w in whole) > got.sum() > 0  # the first band left out
    for (r0, r1, c0, c1), arrays in seen.items():
        for a, w in zip(arrays, whole, strict=True):
            np.testing.assert_array_equal(np.squeeze(a), w[r0:r1, c0:c1])
    assert mosaic_windows([outs[0] + 1, outs[1]], rows, func) is None  # not a plain mosaic


def test_plan_memory_never_holds_more_than_its_budget_when_windows_grow_after_caching():
    """The kernels keep a nearest window's dense index on the window after it is cached
    (``dense_index``); the in-memory LRU must still hold no more than its budget over a sweep
    that touches each window once, as a date task's sweep of a national grid does (the old
    accounting gave back the grown size at eviction, and the held bytes grew every date)."""
    from modisoft.warp import kernels, plan

    src = modis_tile_grid(17, 3)
    dst = grid_from_bounds("EPSG:3035", 1000.0, (2.6e6, 3.1e6, 3.7e6, 4.4e6))
    p = ResamplePlan(src, dst, "nearest")
    step, budget = 128, 2**20

    def held() -> int:
        kept = (v[0] if isinstance(v, tuple) else v for v in plan._memory.values())
        return sum(pw.nbytes for pw in kept if pw is not None)

    clear_plan_memory()
    worst = 0
    with plan.plan_memory(budget):
        for _date in range(3):  # three dates
            for r0 in range(0, dst.shape[0], step):
                for c0 in range(0, dst.shape[1], step):
                    pw = p.window((r0, min(r0 + step, dst.shape[0])),
                                  (c0, min(c0 + step, dst.shape[1])))
                    if pw is not None:
                        kernels.dense_index(pw, src.shape[0] * src.shape[1])
                    worst = max(worst, held())
    clear_plan_memory()
    windows = -(-dst.shape[0] // step) * -(-dst.shape[1] // step)
    assert windows * step * step * 4 > 3 * budget  # the dense indices alone exceed the budget
    assert 0 < worst <= budget


@pytest.mark.parametrize("jit", [True, False])
def test_mosaic_windows_computes_fill_classes_only_where_the_values_have_none(monkeypatch, jit):
    """``only_where_missing={1: 0}``: the integer ``mode`` of the fill classes is computed
    where the averaged values are NaN alone, and equals there the mosaic computed on its own
    (the rest of the window is the classes' nodata, which the run masks to 0 anyway)."""
    from modisoft.decode import decode
    from modisoft.warp import kernels
    from modisoft.warp.mosaic import mosaic_windows

    monkeypatch.setattr(kernels, "JIT", jit)
    day = np.array(["2012-01-01"], "datetime64[ns]")
    dec = [decode(modisoft.open_granule(sample(n), layers=["Lai_1km"], chunks=600))
           for n in (H17, H18)]
    vals = [d.Lai_1km.expand_dims(time=day) for d in dec]
    codes = [d.Lai_1km_class.expand_dims(time=day) for d in dec]
    dst = grid_from_bounds("EPSG:3035", 4000.0, (2600000, 3100000, 4400000, 4400000))
    outs = [mosaic(vals, dst, chunks=64, method="average"),
            mosaic(codes, dst, chunks=64, method="mode")]
    whole = [o.values[0] for o in outs]
    seen: dict[tuple[int, int, int, int], list[np.ndarray]] = {}

    def func(window, arrays):
        seen[window] = [np.squeeze(a) for a in arrays]
        return 0

    mosaic_windows(outs, (0, dst.shape[0]), func,
                   only_where_missing={1: 0}).compute(scheduler="synchronous")
    missing = kept = differ = 0
    for (r0, r1, c0, c1), (v, c) in seen.items():
        np.testing.assert_array_equal(v, whole[0][r0:r1, c0:c1])
        miss = np.isnan(v)
        np.testing.assert_array_equal(c[miss], whole[1][r0:r1, c0:c1][miss])
        missing += int(miss.sum())
        kept += int((c[miss] != 0).sum())
        differ += int((c[~miss] != whole[1][r0:r1, c0:c1][~miss]).sum())
    assert missing > 1000 and kept > 1000  # water and other fill classes, compared
    assert differ > 1000  # where the values exist the classes were not computed
