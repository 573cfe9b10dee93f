"""``mosaic`` and ``reproject``: lazy, one dask task per output chunk, plans reused.

How a mosaic is built (nothing is read and no plan is computed here; see
``docs/concepts/resample-plans.md``):

1. Sources on the same pixel lattice (same CRS, pixel size and aligned origins, e.g. adjacent
   MODIS tiles of one resolution) that do not overlap are joined into one *virtual source*, as
   ``gdalbuildvrt`` does, so a destination pixel on a tile seam sees both tiles at once: no
   gap, no duplicated column, and ``average``/``mode`` straddle the seam like GDAL's.
2. One :class:`~modisoft.warp.plan.ResamplePlan` per virtual source; its windows are computed
   in the tasks, once per process (memory cache) or once ever (``cache_dir``).
3. For every output chunk (and time step) one task receives only the source blocks that the
   chunk's footprint touches, resamples each virtual source and fuses them.  Its memory is a
   few times the chunk size, whatever the number of tiles or dates.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine

from modisoft.errors import MosaicError
from modisoft.grids import Grid, crs_transformer
from modisoft.warp.kernels import Resampled, ValidRule, resample_window
from modisoft.warp.kernels import fuse as fuse_parts
from modisoft.warp.plan import ResamplePlan
from modisoft.warp.policy import (
    ResamplingPolicyError,
    check_fuse,
    check_method,
)
from modisoft.warp.transform import crs_equal, inverse_geotransform

__all__ = ["mosaic", "reproject", "MosaicError"]

_PAD = 2  # source pixels added around a chunk's estimated footprint (bilinear needs 1)


@dataclass
class _Member:
    index: int  # position in the sources list
    label: str  # for messages
    data: Any  # dask array, (y, x) or (time, y, x)
    grid: Grid
    row0: int = 0  # offset in the virtual grid
    col0: int = 0
    times: dict[int, int] | None = None  # output time index -> source time index


@dataclass
class _Virtual:
    grid: Grid
    level: int
    members: list[_Member] = field(default_factory=list)
    plan: ResamplePlan | None = None

    @property
    def first(self) -> int:
        return min(m.index for m in self.members)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def mosaic(
    sources: Any,
    dst_grid: Grid,
    *,
    method: str = "nearest",
    chunks: int | tuple[int, int] = 1024,
    fuse: str = "first",
    layer: str | None = None,
    nodata: Any = None,
    valid: ValidRule | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """Mosaic and reproject georeferenced arrays onto ``dst_grid``, lazily.

    Parameters
    ----------
    sources
        ``xarray.DataArray``\\ s (or Datasets with ``layer``) made by modisoft: dims ``(y, x)``
        or ``(time, y, x)``, each on its own grid (recovered from its coordinates).  Sources
        with a ``time`` dim are matched by time value; the output's times are their union.
    dst_grid
        The destination :class:`~modisoft.grids.Grid`.
    method
        ``"nearest"``, ``"bilinear"``, ``"average"`` (area-weighted), ``"mode"``, ``"min"``,
        ``"max"``.  Categorical and QA layers (``kind`` attribute ``"class"``/``"qa"``) allow
        only ``nearest`` and ``mode``; ``bilinear`` is refused when downsampling more than 2x.
    chunks
        Output chunk size (rows, cols), or one int for square chunks.  Sets the memory.
    fuse
        Where sources overlap: ``"first"``/``"last"`` valid value (in the order given),
        ``"min"``, ``"max"``, ``"mean"`` of the valid values, or ``"count"`` of valid sources.
    layer
        The variable to take from Dataset sources.
    nodata
        Output value where no source has data.  Default: the layer's first ``fill_values``
        attribute for integer layers, NaN for float layers.
    valid
        Which stored values are measurements.  Default: not one of the layer's
        ``fill_values``/``fill_class_codes`` and inside its ``valid_range``, and finite.
    cache_dir
        Folder for the on-disk :class:`~modisoft.warp.plan.ResamplePlan` cache.

    Returns
    -------
    xarray.DataArray
        Dask-backed, on ``dst_grid`` (centre coordinates ``x``/``y``, ``spatial_ref``).  Where
        no valid value exists, integer outputs keep the fill code of the first source that has
        one (so LAI's water, urban... classes survive) and are ``nodata`` outside every source.

    Raises
    ------
    MosaicError
        Sources without a recoverable grid, a missing ``layer``, or mixed static/time sources.
    ResamplingPolicyError
        A method or fuse rule that is unknown or not allowed for the layer.

    Examples
    --------
    >>> tiles = [open_granule(p, layers="Lai_1km").Lai_1km for p in paths]  # doctest: +SKIP
    >>> lai = mosaic(tiles, national_grid("china_albers_1km"))  # doctest: +SKIP
    >>> lai.to_zarr("lai.zarr")  # doctest: +SKIP
    """
    import dask.array as da
    import xarray as xr
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    arrays = _as_arrays(sources, layer)
    attrs = dict(arrays[0].attrs)
    check_fuse(fuse)
    kind = attrs.get("kind")
    name = attrs.get("layer", arrays[0].name)
    if method not in ("bilinear", "cubic"):  # those also depend on the scale change
        check_method(method, kind=kind, layer=name)
    if kind in ("qa", "class") and fuse == "mean":
        raise ResamplingPolicyError(
            f"layer {name!r} is a {kind} layer: fuse='mean' would invent codes; "
            "use 'first', 'last', 'min', 'max' or 'count'"
        )
    dtype = np.result_type(*[a.dtype for a in arrays])
    if nodata is None:
        nodata = _default_nodata(attrs, dtype)
    if valid is None:
        valid = _default_rule(attrs, dtype)
    times, members = _members(arrays)
    virtuals = _virtuals(members, dst_grid)
    if method in ("bilinear", "cubic"):
        scale = ResamplePlan(virtuals[0].grid, dst_grid).downsampling()
        check_method(method, kind=kind, layer=name, downsampling=scale)
    for v in virtuals:
        v.plan = ResamplePlan(v.grid, dst_grid, method, cache_dir=cache_dir)
    cy, cx = (chunks, chunks) if isinstance(chunks, int) else chunks
    ny, nx = dst_grid.shape
    ychunks = tuple(min(cy, ny - i) for i in range(0, ny, cy))
    xchunks = tuple(min(cx, nx - j) for j in range(0, nx, cx))
    out_dtype = np.dtype("uint16") if fuse == "count" else dtype
    token = tokenize(
        [a.data.name for a in arrays], dst_grid, method, fuse, ychunks, xchunks, nodata, valid
    )
    out_name = f"mosaic-{token}"
    common = _Common(method, fuse, nodata, valid, dtype, out_dtype)
    layer_graph: dict = {}
    nt = len(times) if times is not None else 1
    for ib, (r0, r1) in enumerate(_edges(ychunks)):
        for jb, (c0, c1) in enumerate(_edges(xchunks)):
            boxes = _footprints(tuple(v.grid for v in virtuals), dst_grid, (r0, r1), (c0, c1))
            for t in range(nt):
                spec, args = _task(
                    common, virtuals, boxes, (r0, r1, c0, c1), t if times is not None else None
                )
                key = (out_name, t, ib, jb) if times is not None else (out_name, ib, jb)
                layer_graph[key] = (_chunk, spec, args)
    deps = [a.data for a in arrays]
    graph = HighLevelGraph.from_collections(out_name, layer_graph, dependencies=deps)
    out_chunks = (ychunks, xchunks) if times is None else ((1,) * nt, ychunks, xchunks)
    data = da.Array(graph, out_name, out_chunks, meta=np.empty((0,) * len(out_chunks), out_dtype))
    coords = dst_grid.xarray_coords()
    dims: tuple[str, ...] = ("y", "x")
    if times is not None:
        dims = ("time", "y", "x")
        coords["time"] = xr.Variable("time", np.asarray(times))
    out_attrs = _out_attrs(attrs, arrays, method, fuse, nodata, dst_grid)
    return xr.DataArray(data, dims=dims, coords=coords, attrs=out_attrs, name=name)


def reproject(src: Any, dst_grid: Grid, **kwargs: Any) -> Any:
    """Reproject one georeferenced array: ``mosaic([src], dst_grid, **kwargs)``.

    Examples
    --------
    >>> lai = reproject(tile.Lai_1km, grid_from_bounds("EPSG:3035", 1000, bounds))  # doctest: +SKIP
    """
    return mosaic([src], dst_grid, **kwargs)


def mosaic_windows(outputs: list[Any], rows: tuple[int, int],
                   func: Callable[[tuple[int, int, int, int], list[np.ndarray]], int], *,
                   only_where_missing: dict[int, int] | None = None) -> Any:
    """One dask task per output window of rows ``rows`` that computes every one of several
    :func:`mosaic` results at once and hands them to ``func``.

    Each window's task receives the source blocks its layers read (each block computed once
    for all of them), runs the same per-chunk computation as the results' own tasks, and
    returns ``func((r0, r1, c0, c1), [window of each output])``, an integer.  So several
    mosaics of the same sources (a layer, its fill classes, a check) cost one task per window
    instead of one per window and layer.

    Parameters
    ----------
    outputs
        Results of :func:`mosaic` on the same grid and chunks, one time step each.
    rows
        Output rows, on chunk boundaries.
    func
        Called once per window; must return an integer.
    only_where_missing
        ``{i: j}``: output ``i`` is needed only where the float output ``j`` (``j < i``) has
        no value (NaN), as for fill classes beside their values.  An integer ``mode`` output
        is then computed at those pixels alone; ``func`` receives its window with the output's
        nodata elsewhere, so it must not read it there.  Other methods compute every pixel.

    Returns
    -------
    dask.array.Array or None
        ``func``'s results, one element per window; ``None`` when an
        output is not a plain :func:`mosaic` result (the caller computes those itself).
    """
    import uuid

    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    datas = [o.data for o in outputs]
    for d in datas:
        if (not d.name.startswith("mosaic-") or d.name not in d.dask.layers or d.ndim != 3
                or d.chunks != datas[0].chunks or len(d.chunks[0]) != 1):
            return None
    hlg = HighLevelGraph.merge(*[d.dask for d in datas])
    layers, deps = dict(hlg.layers), {k: set(v) for k, v in hlg.dependencies.items()}
    chunk_layers = [layers.pop(d.name) for d in datas]
    sources = set().union(*(deps.pop(d.name) for d in datas))
    if any(d.name in v for v in deps.values() for d in datas):
        return None
    ybands = [(ib, e) for ib, e in enumerate(_edges(datas[0].chunks[1]))
              if rows[0] <= e[0] and e[1] <= rows[1]]
    xedges = _edges(datas[0].chunks[2])
    name = f"mosaic-windows-{uuid.uuid4().hex}"
    graph = {}
    for n, (ib, ye) in enumerate(ybands):
        for jb, xe in enumerate(xedges):
            tasks = [lay[(d.name, 0, ib, jb)] for lay, d in zip(chunk_layers, datas, strict=True)]
            graph[(name, n, jb)] = (_windows, func, (*ye, *xe), [t[1] for t in tasks],
                                    [t[2] for t in tasks], dict(only_where_missing or {}))
    layers[name], deps[name] = MaterializedLayer(graph), sources
    return da.Array(HighLevelGraph(layers, deps), name,
                    ((1,) * len(ybands), (1,) * len(xedges)), meta=np.empty((0, 0), int))


def _windows(func: Callable, window: tuple[int, int, int, int], specs: list, args: list,
             only_where_missing: dict[int, int]) -> np.ndarray:
    arrays: list[np.ndarray] = []
    assembled: dict = {}  # outputs of the same source blocks (a layer and its check) share
    for i, (spec, a) in enumerate(zip(specs, args, strict=True)):
        j = only_where_missing.get(i)
        need = None if j is None else np.isnan(arrays[j]).ravel()
        arrays.append(_chunk(spec, a, need, assembled)[0])
    return np.array([[func(window, arrays)]])


# --------------------------------------------------------------------------------------------
# sources -> members -> virtual sources
# --------------------------------------------------------------------------------------------
def _as_arrays(sources: Any, layer: str | None) -> list[Any]:
    import xarray as xr

    if isinstance(sources, (xr.DataArray, xr.Dataset)):
        sources = [sources]
    out = []
    for i, s in enumerate(sources):
        if isinstance(s, xr.Dataset):
            if layer is None:
                raise MosaicError(
                    f"source {i} is a Dataset; pass layer= (one of {', '.join(map(str, s))})"
                )
            if layer not in s:
                label = s.attrs.get("source", f"source {i}")
                raise MosaicError(
                    f"{label}: no layer {layer!r}; it has {', '.join(map(str, s.data_vars))}"
                )
            s = s[layer]
        if not isinstance(s, xr.DataArray):
            raise MosaicError(f"source {i} is a {type(s).__name__}, not an xarray DataArray")
        if s.dims not in (("y", "x"), ("time", "y", "x")):
            raise MosaicError(
                f"{_label(s, i)}: dims {s.dims}; mosaic needs ('y', 'x') or ('time', 'y', 'x')"
            )
        if not _is_dask(s):
            s = s.chunk()
        out.append(s)
    if not out:
        raise MosaicError("mosaic needs at least one source")
    if len({a.ndim for a in out}) > 1:
        raise MosaicError("mix of (y, x) and (time, y, x) sources; give all a time dim or none")
    return out


def _is_dask(a: Any) -> bool:
    return hasattr(a.data, "dask")


def _label(a: Any, i: int) -> str:
    return str(a.attrs.get("source") or a.attrs.get("granule_id") or f"source {i}")


def _members(arrays: list[Any]) -> tuple[list | None, list[_Member]]:
    members = []
    for i, a in enumerate(arrays):
        try:
            grid = Grid.from_xarray(a)
        except (ValueError, KeyError) as exc:
            raise MosaicError(f"{_label(a, i)}: cannot recover its grid ({exc})") from None
        members.append(_Member(i, _label(a, i), a.data, grid))
    if arrays[0].ndim == 2:
        return None, members
    allt = np.unique(np.concatenate([np.asarray(a["time"].values) for a in arrays]))
    pos = {t: k for k, t in enumerate(allt.tolist())}
    for m, a in zip(members, arrays, strict=True):
        tv = np.asarray(a["time"].values).astype(allt.dtype).tolist()
        m.times = {pos[t]: k for k, t in enumerate(tv)}
    return allt, members


def _offset(ref: Grid, g: Grid, tol: float = 1e-6) -> tuple[int, int] | None:
    """``(row, col)`` of ``g``'s origin on ``ref``'s pixel lattice, or None if not aligned."""
    a, b = ref.transform, g.transform
    if not (ref.is_rectilinear and g.is_rectilinear):
        return None
    if abs(a.a - b.a) > 1e-9 * abs(a.a) or abs(a.e - b.e) > 1e-9 * abs(a.e):
        return None
    col, row = (b.c - a.c) / a.a, (b.f - a.f) / a.e
    if abs(col - round(col)) > tol or abs(row - round(row)) > tol:
        return None
    if not crs_equal(ref.crs_wkt, g.crs_wkt):
        return None
    return round(row), round(col)


def _virtuals(members: list[_Member], dst_grid: Grid) -> list[_Virtual]:
    """Join aligned, non-overlapping sources into virtual sources (see module docstring).

    A source's level is one more than that of any earlier source it overlaps, so fusing
    virtual sources in (level, first index) order keeps the sources' order where they overlap.
    """
    groups: list[tuple[Grid, list[tuple[_Member, int, int]]]] = []  # lattice ref, placements
    for m in members:
        for ref, placed in groups:
            off = _offset(ref, m.grid)
            if off is not None:
                placed.append((m, *off))
                break
        else:
            groups.append((m.grid, [(m, 0, 0)]))
    level: dict[int, int] = {}
    virtuals: list[_Virtual] = []
    for ref, placed in groups:
        boxes = [(r, r + m.grid.height, c, c + m.grid.width) for m, r, c in placed]
        for k, (m, _r, _c) in enumerate(placed):
            earlier = [
                level[p.index]
                for j, (p, _a, _b) in enumerate(placed[:k])
                if _intersects(boxes[j], boxes[k])
            ]
            level[m.index] = max(earlier, default=-1) + 1
        for lev in sorted({level[m.index] for m, _r, _c in placed}):
            sub = [(m, box) for (m, _r, _c), box in zip(placed, boxes, strict=True)]
            sub = [(m, box) for m, box in sub if level[m.index] == lev]
            r0 = min(b[0] for _m, b in sub)
            c0 = min(b[2] for _m, b in sub)
            r1 = max(b[1] for _m, b in sub)
            c1 = max(b[3] for _m, b in sub)
            grid = Grid(ref.crs_wkt, ref.transform @ Affine.translation(c0, r0), (r1 - r0, c1 - c0))
            v = _Virtual(grid, lev)
            for m, box in sub:
                m.row0, m.col0 = box[0] - r0, box[2] - c0
                v.members.append(m)
            virtuals.append(v)
    return sorted(virtuals, key=lambda v: (v.level, v.first))


def _intersects(a: tuple, b: tuple) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


# --------------------------------------------------------------------------------------------
# graph construction: footprints and tasks
# --------------------------------------------------------------------------------------------
def _edges(chunks: tuple[int, ...]) -> list[tuple[int, int]]:
    ends = np.cumsum((0, *chunks))
    return [(int(a), int(b)) for a, b in itertools.pairwise(ends)]


@functools.lru_cache(maxsize=4096)
def _footprints(grids: tuple[Grid, ...], dst_grid: Grid, rows, cols
                ) -> tuple[tuple[int, int, int, int] | None, ...]:
    """Per virtual source grid: the box of its pixels an output window can read (padded), or
    None.

    The window's outline (one point per destination pixel) and a 9 x 9 interior lattice are
    transformed exactly; the image of the outline bounds the image of the window.  Remembered
    per process (a few hundred bytes each): every date and layer of a run mosaics the same
    tiles onto the same windows, so each is transformed once, not once per date and layer.
    """
    (r0, r1), (c0, c1) = rows, cols
    cs = np.arange(c0, c1 + 1, dtype="float64")
    rs = np.arange(r0, r1 + 1, dtype="float64")
    pc = np.concatenate([cs, cs, np.full(len(rs), c0), np.full(len(rs), c1)])
    pr = np.concatenate([np.full(len(cs), r0), np.full(len(cs), r1), rs, rs])
    ic, ir = np.meshgrid(np.linspace(c0, c1, 9), np.linspace(r0, r1, 9))
    pc, pr = np.concatenate([pc, ic.ravel()]), np.concatenate([pr, ir.ravel()])
    t = dst_grid.transform
    x, y = t.c + pc * t.a + pr * t.b, t.f + pc * t.d + pr * t.e
    by_crs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for grid in grids:
        wkt = grid.crs_wkt
        if wkt not in by_crs:
            if crs_equal(dst_grid.crs_wkt, wkt):
                by_crs[wkt] = (np.asarray(x), np.asarray(y))
            else:
                tx, ty = crs_transformer(dst_grid.crs_wkt, wkt).transform(x, y)
                by_crs[wkt] = (np.asarray(tx, "float64"), np.asarray(ty, "float64"))
        sx, sy = by_crs[wkt]
        i = inverse_geotransform(grid.transform)
        px, py = i[0] + sx * i[1] + sy * i[2], i[3] + sx * i[4] + sy * i[5]
        ok = np.isfinite(px) & np.isfinite(py)
        if not ok.any():
            out.append(None)
            continue
        h, w = grid.shape
        br0 = max(math.floor(py[ok].min()) - _PAD, 0)
        br1 = min(math.ceil(py[ok].max()) + _PAD, h)
        bc0 = max(math.floor(px[ok].min()) - _PAD, 0)
        bc1 = min(math.ceil(px[ok].max()) + _PAD, w)
        out.append((br0, br1, bc0, bc1) if br0 < br1 and bc0 < bc1 else None)
    return tuple(out)


@dataclass(frozen=True)
class _Common:
    method: str
    fuse: str
    nodata: Any
    valid: ValidRule
    dtype: np.dtype
    out_dtype: np.dtype


@dataclass(frozen=True)
class _Piece:
    """Where one member's blocks go in a virtual source's window."""

    dst: tuple[int, int, int, int]  # rows/cols in the window
    src: tuple[int, int, int, int]  # rows/cols in the assembled blocks
    tindex: int | None  # index inside the time block


@dataclass(frozen=True)
class _Spec:
    common: _Common
    window: tuple[int, int, int, int]  # destination rows/cols
    parts: tuple  # per virtual: (plan, box, pieces)
    timed: bool  # output chunk has a leading time axis of length 1


def _task(common: _Common, virtuals, boxes, window, t: int | None) -> tuple[_Spec, list]:
    parts, args = [], []
    for v, box in zip(virtuals, boxes, strict=True):
        if box is None:
            continue
        pieces, keys = [], []
        for m in v.members:
            placed = _place(m, box, t)
            if placed is not None:
                pieces.append(placed[0])
                keys.append(placed[1])
        if pieces:
            parts.append((v.plan, box, tuple(pieces)))
            args.append(keys)
    return _Spec(common, window, tuple(parts), t is not None), args


def _place(m: _Member, box, t: int | None):
    """The blocks of member ``m`` that the virtual window ``box`` needs, at output time t."""
    r0, r1 = max(box[0], m.row0), min(box[1], m.row0 + m.grid.height)
    c0, c1 = max(box[2], m.col0), min(box[3], m.col0 + m.grid.width)
    if r0 >= r1 or c0 >= c1:
        return None
    tk = None
    if m.times is not None:
        if t not in m.times:
            return None
        tk = m.times[t]
    lr0, lr1, lc0, lc1 = r0 - m.row0, r1 - m.row0, c0 - m.col0, c1 - m.col0
    ych, xch = m.data.chunks[-2], m.data.chunks[-1]
    yb0, yb1, yoff = _block_range(ych, lr0, lr1)
    xb0, xb1, xoff = _block_range(xch, lc0, lc1)
    tb, tin = (None, None) if tk is None else _block_of(m.data.chunks[0], tk)
    lead = () if tb is None else (tb,)
    keys = [[(m.data.name, *lead, i, j) for j in range(xb0, xb1)] for i in range(yb0, yb1)]
    src = (lr0 - yoff, lr1 - yoff, lc0 - xoff, lc1 - xoff)
    dst = (r0 - box[0], r1 - box[0], c0 - box[2], c1 - box[2])
    return _Piece(dst, src, tin), keys


def _block_range(chunks: tuple[int, ...], a: int, b: int) -> tuple[int, int, int]:
    ends = np.cumsum((0, *tuple(chunks)))
    i0 = int(np.searchsorted(ends, a, side="right") - 1)
    i1 = int(np.searchsorted(ends, b, side="left"))
    return i0, i1, int(ends[i0])


def _block_of(chunks: tuple[int, ...], k: int) -> tuple[int, int]:
    ends = np.cumsum((0, *tuple(chunks)))
    b = int(np.searchsorted(ends, k, side="right") - 1)
    return b, k - int(ends[b])


# --------------------------------------------------------------------------------------------
# the task
# --------------------------------------------------------------------------------------------
def _chunk(spec: _Spec, args: list, need: np.ndarray | None = None,
           assembled: dict | None = None) -> np.ndarray:
    """Compute one output chunk from the blocks of the sources that overlap it (``need``:
    the flat mask of the chunk's pixels wanted, see :func:`mosaic_windows`; ``None``: all;
    ``assembled``: source windows already assembled from the same blocks, by identity)."""
    c = spec.common
    r0, r1, c0, c1 = spec.window
    results: list[Resampled] = []
    masks = len(spec.parts) > 1 or c.fuse == "count"
    for (plan, box, pieces), blocks in zip(spec.parts, args, strict=True):
        pw = plan.window((r0, r1), (c0, c1))
        if pw is None:
            continue
        key = (box, pieces, c.dtype, tuple(id(b) for nested in blocks for row in nested
                                           for b in row))
        if assembled is None or key not in assembled:
            win, present = _assemble(box, pieces, blocks, c.dtype)
            if assembled is not None:  # kept with its blocks, so their ids stay theirs
                assembled[key] = (win, present, blocks)
        else:
            win, present, _ = assembled[key]
        sb = pw.src_box
        rs, cs = sb[0] - box[0], sb[2] - box[2]
        if rs < 0 or cs < 0 or sb[1] > box[1] or sb[3] > box[3]:
            raise RuntimeError(
                f"plan window {sb} exceeds the estimated footprint {box}; please report"
            )
        sl = (slice(rs, rs + sb[1] - sb[0]), slice(cs, cs + sb[3] - sb[2]))
        pres = None if present is None else present[sl]
        pres = None if pres is None or pres.all() else pres
        results.append(resample_window(pw, win[sl], pres, c.valid, c.nodata, masks,
                                       None if need is None else need[pw.dst_index]))
    shape = (r1 - r0, c1 - c0)
    if not results:
        fillv = 0 if c.fuse == "count" else c.nodata
        out = np.full(shape, fillv, dtype=c.out_dtype)
    else:
        out = fuse_parts(results, c.fuse, c.nodata, c.dtype).reshape(shape)
        out = out.astype(c.out_dtype, copy=False)
    return out.reshape((1, *shape)) if spec.timed else out


def _assemble(box, pieces, blocks, dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """The source window ``box`` of a virtual source and the mask of pixels that exist."""
    shape = (box[1] - box[0], box[3] - box[2])
    if len(pieces) == 1 and pieces[0].dst == (0, shape[0], 0, shape[1]):
        p, nested = pieces[0], blocks[0]
        rows = [[_select(b, p.tindex) for b in row] for row in nested]
        arr = rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else np.block(rows)
        s = p.src
        return arr[s[0] : s[1], s[2] : s[3]].astype(dtype, copy=False), None
    win = np.zeros(shape, dtype=dtype)
    present = np.zeros(shape, dtype=bool)
    for p, nested in zip(pieces, blocks, strict=True):
        rows = [[_select(b, p.tindex) for b in row] for row in nested]
        arr = rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else np.block(rows)
        d, s = p.dst, p.src
        win[d[0] : d[1], d[2] : d[3]] = arr[s[0] : s[1], s[2] : s[3]]
        present[d[0] : d[1], d[2] : d[3]] = True
    return win, present


def _select(block: np.ndarray, tindex: int | None) -> np.ndarray:
    return block if tindex is None else block[tindex]


# --------------------------------------------------------------------------------------------
# attributes
# --------------------------------------------------------------------------------------------
def _default_nodata(attrs: dict, dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return np.nan
    fills = np.atleast_1d(attrs.get("fill_values", []))
    if len(fills):
        return dtype.type(fills[0])
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    return np.iinfo(dtype).min


def _default_rule(attrs: dict, dtype: np.dtype) -> ValidRule:
    codes = set(np.atleast_1d(attrs.get("fill_values", [])).tolist())
    codes |= set(np.atleast_1d(attrs.get("fill_class_codes", [])).tolist())
    vr = attrs.get("valid_range")
    if dtype.kind == "f":  # decoded values: NaN already marks fills
        return ValidRule(tuple(sorted(codes)), None)
    return ValidRule(tuple(sorted(codes)), None if vr is None else tuple(np.asarray(vr).tolist()))


def _out_attrs(attrs, arrays, method, fuse_rule, nodata, dst_grid) -> dict:
    out = {k: v for k, v in attrs.items() if k not in ("source", "source_path", "granule_id")}
    ids = []
    for a in arrays:
        gid = a.attrs.get("granule_id") or a.attrs.get("source")
        if gid:
            ids.append(str(gid))
    out.update(
        grid_mapping="spatial_ref",
        resampling_method=method,
        fuse=fuse_rule,
        nodata=nodata,
        source_count=len(arrays),
    )
    if ids:
        out["sources"] = " ".join(ids)
    return out
