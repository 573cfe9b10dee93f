"""The report's images, each a PNG made in memory and returned as a ``data:`` URI.

Maps are block-averaged to at most :data:`MAP_PX` (large maps) or :data:`THUMB_PX`
(one per period) pixels on a side (:func:`modisoft.plot.decimate`), so a national grid's
report stays a few megabytes.  matplotlib draws them (an optional dependency,
``modisoft[plot]``); without it the report has no images (:func:`have_matplotlib`).
"""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.plot import CLASS_COLOURS, decimate

__all__ = ["MAP_PX", "THUMB_PX", "class_colour", "colour_key", "gap_days_figure",
           "have_matplotlib", "large_map", "png_uri", "qa_heatmap", "series_figure",
           "share_figure", "thumbnail"]

MAP_PX = 800
"""Largest side of a large map's raster, in pixels."""

THUMB_PX = 240
"""Largest side of a period's thumbnail, in pixels."""

NO_VALUE = "#d9d9d9"
"""Colour of a pixel without a value in a period although it has values in others."""


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported (the report's images need it)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def png_uri(data: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI.

    Examples
    --------
    >>> png_uri(b"\\x89PNG")
    'data:image/png;base64,iVBORw=='
    """
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure_uri(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return png_uri(buf.getvalue())


def class_colour(name: str, i: int) -> Any:
    """The colour of fill class ``name`` (the ``i``-th shown): :data:`modisoft.plot.
    CLASS_COLOURS`, else ``tab10``."""
    from matplotlib import colormaps

    return CLASS_COLOURS.get(name) or colormaps["tab10"](i % 10)


def thumbnail(values: np.ndarray, fill: np.ndarray | None, legend: Mapping[int, str],
              vmax: float, cmap: str = "YlGn") -> str:
    """One period as a bare raster image: values coloured on ``[0, vmax]``, pixels of a
    fill class (``fill`` codes, 0 = has values) in the class colour, pixels without a value
    this period in :data:`NO_VALUE`."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba
    from matplotlib.image import imsave

    v = decimate(np.asarray(values, "float32"), THUMB_PX, "mean")
    rgba = colormaps[cmap](np.clip(np.nan_to_num(v / max(vmax, 1e-9)), 0, 1))
    rgba[~np.isfinite(v)] = to_rgba(NO_VALUE)
    if fill is not None:
        codes = decimate(np.asarray(fill), THUMB_PX, "nearest")
        for i, (code, name) in enumerate(legend.items()):
            rgba[(codes == code) & ~np.isfinite(v)] = to_rgba(class_colour(name, i))
    buf = io.BytesIO()
    imsave(buf, rgba, format="png")
    return png_uri(buf.getvalue())


def colour_key(vmax: float, label: str, legend: Mapping[int, str], cmap: str = "YlGn") -> str:
    """The thumbnails' colour bar (``label`` with units) and the fill classes' legend."""
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(8, 1.1))
    fig.subplots_adjust(left=0.03, right=0.99, bottom=0.5, top=0.85, wspace=0.05)
    ax, lg = fig.subplots(1, 2, width_ratios=[3, 2])
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(Normalize(0, vmax), cmap), cax=ax, orientation="horizontal",
                 label=label, extend="max")
    handles = [Patch(facecolor=class_colour(n, i), edgecolor="k", linewidth=0.3,
                     label=f"{c} {n}") for i, (c, n) in enumerate(legend.items())]
    handles.append(Patch(facecolor=NO_VALUE, edgecolor="k", linewidth=0.3,
                         label="no value this period"))
    lg.axis("off")
    lg.legend(handles=handles, loc="center", ncol=2, fontsize=7, frameon=False,
              title="fill classes", title_fontsize=7)
    return _figure_uri(fig)


def large_map(da: Any, fill: Any, title: str, vmax: float | None,
              shown: np.ndarray | None = None) -> str:
    """A large map drawn by :func:`modisoft.plot.plot_map` (colour bar with units, fill
    classes' legend, the grid's CRS and extent), its raster at most :data:`MAP_PX`
    (``shown``: ``da`` already decimated to it)."""
    from modisoft.plot import plot_map

    with tempfile.TemporaryDirectory(prefix="modisoft-report-") as d:
        path = plot_map(da, Path(d) / "map.png", title=title, vmax=vmax, fill_class=fill,
                        max_size=MAP_PX, shown=shown)
        return png_uri(path.read_bytes())


def qa_heatmap(tiles: list[str], dates: list[str], shares: dict[str, np.ndarray],
               status: np.ndarray) -> str:
    """Per measure (``shares``: name → tiles × dates percentages, NaN where unknown) a heat
    map of the tiles (rows) by the dates (columns), one colour scale (0-100 %); ``status``
    (tiles × dates: 0 present, 1 missing, 2 failed) marks the cells without a granule."""
    from matplotlib.figure import Figure

    n = len(shares)
    panel = (0.2 if len(tiles) <= 6 else 0.12) * len(tiles) + 0.55  # inches, with a title
    height = n * panel + 1.0
    fig = Figure(figsize=(8, height))
    fig.subplots_adjust(left=0.09, right=0.86, top=1 - 0.25 / height, bottom=0.9 / height,
                        hspace=0.35 / (panel - 0.35))
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    step = max(1, len(dates) // 24)
    im = None
    for ax, (name, pct) in zip(axes, shares.items(), strict=True):
        im = ax.imshow(pct, vmin=0, vmax=100, cmap="viridis", aspect="auto",
                       interpolation="nearest")
        for (r, c), s in np.ndenumerate(status):
            if s:
                ax.text(c, r, "✕" if s == 2 else "○", ha="center", va="center", fontsize=7,
                        color="#b00020" if s == 2 else "#777777")
        ax.set_yticks(range(len(tiles)), tiles, fontsize=7)
        ax.set_title(name, fontsize=8, loc="left", pad=2)
    axes[-1].set_xticks(range(0, len(dates), step), dates[::step], fontsize=7, rotation=60,
                        ha="right")
    cax = fig.add_axes((0.88, 0.9 / height, 0.015, 1 - 1.15 / height))
    fig.colorbar(im, cax=cax, label="% of the granule's pixels")
    return _figure_uri(fig)


def _map_axes(ax: Any, grid: Any, shown: np.ndarray, **kw: Any) -> Any:
    left, bottom, right, top = grid.bounds
    im = ax.imshow(shown, extent=(left, right, bottom, top), origin="upper",
                   interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def share_figure(grid: Any, shown: np.ndarray, hist: tuple[np.ndarray, np.ndarray]) -> str:
    """The observed share of each pixel's series (percent, NaN where the pixel never has a
    value; ``shown``: decimated to ``MAP_PX // 2``, as :func:`~modisoft.plot.decimated` does):
    a map and a histogram of the pixels' ``hist = (shares, counts)`` (how many pixels have
    each share)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    fig.subplots_adjust(left=0.02, right=0.97, bottom=0.15, top=0.9, wspace=0.45)
    ax, hx = fig.subplots(1, 2, width_ratios=[3, 2])
    im = _map_axes(ax, grid, shown, vmin=0, vmax=100, cmap="viridis")
    fig.colorbar(im, ax=ax, label="observed (% of the run's dates)", shrink=0.9)
    ax.set_title("observed share of each pixel's series", fontsize=9)
    hx.hist(hist[0], bins=np.linspace(0, 100, 21), weights=hist[1], color="#31688e")
    hx.set_xlabel("observed (% of dates)")
    hx.set_ylabel("pixels")
    hx.set_title("pixels with values", fontsize=9)
    return _figure_uri(fig)


def gap_days_figure(grid: Any, shown: np.ndarray, labels: list[str], mean: np.ndarray,
                    p90: np.ndarray, units: str = "days") -> str:
    """``gap_days``: a map of each pixel's longest gap over the periods (``shown``: decimated
    to ``MAP_PX // 2``, as :func:`~modisoft.plot.decimated` does), and per period the
    mean and 90th percentile over the pixels."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.4))
    fig.subplots_adjust(left=0.02, right=0.97, bottom=0.25, top=0.9, wspace=0.3)
    ax, lx = fig.subplots(1, 2, width_ratios=[3, 2])
    im = _map_axes(ax, grid, shown, vmin=0, cmap="magma_r")
    fig.colorbar(im, ax=ax, label=f"longest gap ({units})", shrink=0.9)
    ax.set_title("each pixel's longest gap over the periods", fontsize=9)
    x = np.arange(len(labels))
    lx.plot(x, mean, "o-", ms=3, label="mean")
    lx.plot(x, p90, "s--", ms=3, label="90th percentile")
    step = max(1, len(labels) // 8)
    lx.set_xticks(x[::step], labels[::step], rotation=60, ha="right", fontsize=7)
    lx.set_ylabel(units)
    lx.legend(fontsize=7)
    lx.set_title("per period, over the pixels", fontsize=9)
    return _figure_uri(fig)


def series_figure(pixels: list[Any], label: str) -> str:
    """The series of ``pixels`` (:class:`~modisoft.report.points.PixelSeries`), one panel
    each on a shared time axis: the observations coloured by QA weight (hollow: weight 0),
    the daily smoothed curve, and the periods the store holds."""
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    n = len(pixels)
    height = 2.0 * n + 1.1
    fig = Figure(figsize=(8, height))
    fig.subplots_adjust(left=0.08, right=0.88, top=1 - 0.55 / height, bottom=0.65 / height,
                        hspace=0.45)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    norm = Normalize(0, 1)
    for ax, p in zip(axes, pixels, strict=True):
        if p.obs_values is not None:
            v, w, t = p.obs_values, p.obs_weights, p.obs_dates
            used = np.isfinite(v) & (w > 0)
            failed = np.isfinite(v) & (w <= 0)
            ax.scatter(t[used], v[used], c=w[used], cmap="viridis", norm=norm, s=20,
                       edgecolors="k", linewidths=0.4, zorder=3, label="observation")
            ax.scatter(t[failed], v[failed], facecolors="none", edgecolors="#888888", s=20,
                       zorder=2, label="observation, weight 0")
        if p.curve_values is not None:
            ax.plot(p.curve_dates, p.curve_values, color="#1f77b4", lw=1.1,
                    label="smoothed (recomputed)")
        ok = np.isfinite(p.period_values)
        ax.hlines(p.period_values[ok], p.period_start[ok],
                  p.period_end[ok] + np.timedelta64(1, "D"), color="#d62728", lw=2.4,
                  label="periods written")
        ax.set_ylim(bottom=0)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"{p.label}: row {p.row}, column {p.col} ({p.lon:.3f}°, {p.lat:.3f}°)"
                     + (f", {p.tile}" if p.tile else ""), fontsize=8, loc="left")
    handles, names = [], []
    for ax in axes:  # one legend over the panels, each kind of mark once
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in names:
                handles.append(h)
                names.append(lab)
    fig.legend(handles, names, loc="upper center", ncol=4, fontsize=7, frameon=False)
    from matplotlib.cm import ScalarMappable

    cax = fig.add_axes((0.9, 0.65 / height, 0.015, 1 - 1.3 / height))
    fig.colorbar(ScalarMappable(norm, "viridis"), cax=cax).set_label("QA weight", fontsize=7)
    cax.tick_params(labelsize=7)
    for tick in axes[-1].get_xticklabels():
        tick.set_rotation(30)
        tick.set_ha("right")
    return _figure_uri(fig)
