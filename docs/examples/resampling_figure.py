"""Figure for ``docs/reference/resampling.md``: what nearest, average and mode give when the
target grid is finer than the source (463 m from 926.6 m) and when it is coarser (2.3 km).

Real pixels: a 12 x 12 window of the MCD15A2 LAI of 2012-04-14, tile h17v03 (the cropped
sample in ``sample_tiles/``), decoded (fill classes are NaN, shown white).  Run from the
repository root::

    python docs/examples/resampling_figure.py   # writes docs/images/resampling_finer_coarser.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import modisoft
from modisoft.grids import Grid
from modisoft.warp import mosaic

ROOT = Path(__file__).resolve().parents[2]
TILE = ROOT / "sample_tiles" / "MCD15A2.A2012105.h17v03.005.2012116125519.hdf"
ROW, COL, N = 120, 150, 12  # the window in the cropped tile (source pixels)


def main(out: Path = ROOT / "docs" / "images" / "resampling_finer_coarser.png") -> Path:
    lai = modisoft.decode(modisoft.open_granule(TILE, ["Lai_1km"]))["Lai_1km"]
    src = Grid.from_xarray(lai)[ROW:ROW + N, COL:COL + N]
    window = lai.isel(y=slice(ROW, ROW + N), x=slice(COL, COL + N))
    a = src.transform.a
    left, top = src.transform.c, src.transform.f
    # targets: a finer grid (half the pixel, shifted a third of a target pixel) and a
    # coarser one (2.5 source pixels), both off the source lattice
    finer = Grid(src.crs_wkt, src.transform.__class__(a / 2, 0, left + a / 6, 0, -a / 2,
                                                      top - a / 6), (2 * N - 1, 2 * N - 1))
    coarser = Grid(src.crs_wkt, src.transform.__class__(2.5 * a, 0, left, 0, -2.5 * a, top),
                   (5, 5))  # 12.5 source pixels: the last row and column overhang
    methods = ("nearest", "average", "mode")
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.6), constrained_layout=True)
    extent = (left, left + N * a, top - N * a, top)
    for row, (label, grid) in enumerate((("finer target (463 m)", finer),
                                         ("coarser target (2.3 km)", coarser))):
        ax = axes[row, 0]
        ax.imshow(window.values, extent=extent, vmin=0, vmax=6, cmap="YlGn")
        _lattice(ax, grid, "tab:red")
        ax.set_title(f"source 926.6 m, {label} in red", fontsize=9)
        for k, method in enumerate(methods):
            res = mosaic([window], grid, method=method, chunks=64).values
            ax = axes[row, k + 1]
            b = grid.bounds
            im = ax.imshow(res, extent=(b[0], b[2], b[1], b[3]), vmin=0, vmax=6, cmap="YlGn")
            _lattice(ax, src, "0.6", lw=0.4)
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
            ax.set_title(f"{method} → {label}", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6, label="LAI (m² m⁻²); white: no value")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def _lattice(ax, grid: Grid, color: str, lw: float = 0.8) -> None:
    t = grid.transform
    for c in range(grid.width + 1):
        ax.axvline(t.c + c * t.a, color=color, lw=lw)
    for r in range(grid.height + 1):
        ax.axhline(t.f + r * t.e, color=color, lw=lw)


if __name__ == "__main__":
    print(main())
