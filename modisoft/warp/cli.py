"""``modisoft mosaic``: tiles -> a national GeoTIFF/COG or Zarr on a named or given grid."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import numpy as np

__all__ = ["mosaic_command"]


def _date(ctx: Any, param: Any, value: str | None) -> date | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y%j"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            pass
    raise click.BadParameter(f"{value!r}: use YYYY-MM-DD or YYYYDDD")


def _grid(name: str | None, crs: str | None, res: float | None, bounds: Any, like: str | None):
    from modisoft.grids import grid_from_bounds, grid_like, national_grid

    given = [x is not None for x in (name, crs, like)]
    if sum(given) != 1:
        raise click.UsageError(
            "give exactly one of --grid NAME, --crs (with --res/--bounds), --like"
        )
    if name:
        return national_grid(name)
    if like:
        return grid_like(like)
    if res is None or bounds is None:
        raise click.UsageError("--crs needs --res and --bounds LEFT BOTTOM RIGHT TOP")
    return grid_from_bounds(crs, res, bounds)


@click.command("mosaic")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--layer", required=True, help="Layer (SDS) to mosaic, e.g. Lai_1km.")
@click.option("--product", help="Keep only this product (e.g. MCD15A2H).")
@click.option("--start", callback=_date, help="First date (YYYY-MM-DD or YYYYDDD).")
@click.option("--end", callback=_date, help="Last date (YYYY-MM-DD or YYYYDDD).")
@click.option("--tiles", help="Comma-separated tile ids (h26v05,...) or a preset (china19).")
@click.option("--grid", "grid_name", help="A named grid, e.g. china_albers_1km.")
@click.option("--crs", help="Destination CRS (EPSG:xxxx, PROJ or WKT) with --res and --bounds.")
@click.option("--res", type=float, help="Pixel size in CRS units.")
@click.option("--bounds", nargs=4, type=float, help="LEFT BOTTOM RIGHT TOP to cover.")
@click.option("--like", type=click.Path(exists=True), help="Use the grid of this raster.")
@click.option(
    "--method",
    default="nearest",
    show_default=True,
    type=click.Choice(["nearest", "bilinear", "average", "mode", "min", "max"]),
)
@click.option(
    "--fuse",
    default="first",
    show_default=True,
    type=click.Choice(["first", "last", "min", "max", "mean", "count"]),
)
@click.option("--chunks", default=1024, show_default=True, help="Output chunk size (pixels).")
@click.option("--cache-dir", type=click.Path(), help="Folder for cached resample plans.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output: .tif (GeoTIFF, one band per date), .zarr (Zarr store).",
)
@click.option("--cog", is_flag=True, help="Write a Cloud-Optimized GeoTIFF (with .tif).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def mosaic_command(
    inputs, layer, product, start, end, tiles, grid_name, crs, res, bounds, like, method,
    fuse, chunks, cache_dir, output, cog, quiet,
) -> None:  # fmt: skip
    """Mosaic and reproject one layer of MODIS/VIIRS tiles onto a national grid.

    INPUTS are granules or folders of granules.  Every date found becomes one time step
    (one band of a GeoTIFF); raw stored values are written, fills kept.

    \b
    Example:
      modisoft mosaic data/ --product MCD15A2H --layer Lai_500m --tiles china19 \\
          --start 2020-001 --end 2020-365 --grid china_albers_500m -o lai_2020.zarr
    """
    from modisoft.errors import ModisoftError

    try:
        _run(
            inputs, layer, product, start, end, tiles, grid_name, crs, res, bounds, like,
            method, fuse, chunks, cache_dir, output, cog, quiet,
        )  # fmt: skip
    except (ModisoftError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


def _run(
    inputs, layer, product, start, end, tiles, grid_name, crs, res, bounds, like, method,
    fuse, chunks, cache_dir, output, cog, quiet,
) -> None:  # fmt: skip
    from modisoft.grids import CHINA_TILE_PRESETS
    from modisoft.warp.mosaic import mosaic
    from modisoft.warp.sources import find_granules, open_stacks

    tile_ids = None
    if tiles:
        if tiles in CHINA_TILE_PRESETS:
            tile_ids = [f"h{h:02d}v{v:02d}" for h, v in CHINA_TILE_PRESETS[tiles]]
        else:
            tile_ids = [t.strip() for t in tiles.split(",") if t.strip()]
    dst = _grid(grid_name, crs, res, bounds or None, like)
    granules = find_granules(inputs, product=product, start=start, end=end, tiles=tile_ids)
    if not granules:
        raise click.ClickException("no granules match the inputs and filters")
    products = {g.product for g in granules}
    if len(products) > 1:
        raise click.ClickException(
            f"several products found ({', '.join(sorted(map(str, products)))}); use --product"
        )
    out = mosaic(
        open_stacks(granules, layer), dst, method=method, fuse=fuse, chunks=chunks,
        cache_dir=cache_dir,
    )  # fmt: skip
    click.echo(
        f"{len(granules)} granules, {out.sizes['time']} dates -> {dst.shape[0]} x "
        f"{dst.shape[1]} {dst.crs.name}, {method}, fuse {fuse}",
        err=True,
    )
    write(out, output, cog=cog, progress=not quiet)
    click.echo(f"wrote {output}", err=True)


def write(arr: Any, output: str, *, cog: bool = False, progress: bool = True) -> None:
    """Write a mosaic (``(time, y, x)`` or ``(y, x)``) chunk by chunk to GeoTIFF/COG or Zarr."""
    import contextlib

    from dask.diagnostics import ProgressBar

    bar = ProgressBar() if progress else contextlib.nullcontext()
    path = Path(output)
    if path.suffix.lower() == ".zarr":
        ds = arr.to_dataset(name=str(arr.name or "values"))
        for v in list(ds.variables.values()):
            v.attrs = _plain(v.attrs)
        ds.attrs = {}
        import warnings

        with bar, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata")
            ds.to_zarr(path, mode="w")
        return
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise click.UsageError(f"{output}: use a .tif or .zarr output")
    _write_tiff(arr, path, cog, bar)


def _write_tiff(arr: Any, path: Path, cog: bool, bar: Any) -> None:
    import dask.array as da
    import rasterio

    from modisoft.grids import Grid

    grid = Grid.from_xarray(arr)
    data = arr.data if arr.ndim == 3 else arr.data[None]
    nodata = arr.attrs.get("nodata")
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": data.shape[0],
        "dtype": str(data.dtype),
        "crs": rasterio.crs.CRS.from_wkt(grid.crs_wkt),
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }
    if nodata is not None and np.isfinite(nodata):
        profile["nodata"] = float(nodata)
    tmp = path.with_suffix(".tmp.tif") if cog else path
    import threading

    with rasterio.open(tmp, "w", **profile) as dst:
        dst.update_tags(AREA_OR_POINT="Area", **{k: str(v) for k, v in _plain(arr.attrs).items()})
        if "time" in arr.dims:
            for b, t in enumerate(arr["time"].values, 1):
                dst.set_band_description(b, str(np.datetime_as_string(t, unit="D")))
        target = _Window(dst, threading.Lock())
        with bar:
            da.store(data, target, lock=False)
    if cog:
        from rasterio.shutil import copy

        copy(tmp, path, driver="COG", compress="deflate")
        tmp.unlink()


class _Window:
    """``dask.array.store`` target writing ``[band, rows, cols]`` blocks into a rasterio file."""

    def __init__(self, dst: Any, lock: Any):
        self.dst, self.lock = dst, lock

    def __setitem__(self, key: tuple, value: np.ndarray) -> None:
        from rasterio.windows import Window

        b, r, c = key
        win = Window(c.start, r.start, c.stop - c.start, r.stop - r.start)
        with self.lock:
            for k, band in enumerate(range(b.start, b.stop)):
                self.dst.write(value[k], band + 1, window=win)


def _plain(attrs: dict) -> dict:
    """Attributes as JSON/TIFF-friendly scalars, strings and lists."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = str(v)
        out[k] = v
    return out
