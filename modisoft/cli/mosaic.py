"""``modisoft mosaic``: tiles -> a national GeoTIFF/COG or Zarr on a named or given grid (the
library side is :mod:`modisoft.warp` and :func:`modisoft.write.plain.write_mosaic`)."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from pathlib import Path
from typing import Any

import click

from modisoft.cli.options import verbosity, verbosity_options

__all__ = ["mosaic_command"]


def _date(ctx: Any, param: Any, value: str | None) -> date | None:
    """YYYY-MM-DD, YYYY-DDD or YYYYDDD (day of year), as ``[inputs] start`` of a config."""
    from modisoft.errors import ConfigError
    from modisoft.pipeline.validate import parse_date

    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{7}", text):
        text = f"{text[:4]}-{text[4:]}"
    try:
        return parse_date(param.name, text)
    except ConfigError as exc:
        msg = str(exc).removeprefix(f"{param.name}: ")
        raise click.BadParameter(f"{msg}; YYYYDDD (e.g. 2020001) is accepted too") from None


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


def _output(ctx: Any, param: Any, value: str) -> str:
    from modisoft.write.plain import MOSAIC_SUFFIXES

    if Path(value).suffix.lower() not in MOSAIC_SUFFIXES:
        raise click.BadParameter(f"{value}: use a .tif or .zarr output")
    return value


@click.command("mosaic")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--layer", required=True, help="Layer (SDS) to mosaic, e.g. Lai_1km.")
@click.option("--product", help="Keep only this product (e.g. MCD15A2H).")
@click.option("--start", callback=_date, help="First date (YYYY-MM-DD, YYYY-DDD or YYYYDDD).")
@click.option("--end", callback=_date, help="Last date (YYYY-MM-DD, YYYY-DDD or YYYYDDD).")
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
    callback=_output,
    help="Output: .tif (GeoTIFF, one band per date), .zarr (Zarr store).",
)
@click.option("--cog", is_flag=True, help="Write a Cloud-Optimized GeoTIFF (with .tif).")
@verbosity_options
@click.pass_context
def mosaic_command(
    ctx, inputs, layer, product, start, end, tiles, grid_name, crs, res, bounds, like, method,
    fuse, chunks, cache_dir, output, cog,
) -> None:  # fmt: skip
    """Mosaic and reproject one layer of MODIS/VIIRS tiles onto a national grid.

    INPUTS are granules or folders of granules.  Every date found becomes one time step
    (one band of a GeoTIFF); raw stored values are written, fills kept.

    \b
    Example:
      modisoft mosaic data/ --product MCD15A2H --layer Lai_500m --tiles china19 \\
          --start 2020-001 --end 2020-366 --grid china_albers_500m -o lai_2020.zarr
    """
    from dask.diagnostics import ProgressBar

    from modisoft.grids import tile_ids
    from modisoft.warp import mosaic, open_stacks, select_granules
    from modisoft.write.plain import write_mosaic

    dst = _grid(grid_name, crs, res, bounds or None, like)
    granules = select_granules(
        inputs, product=product, start=start, end=end, tiles=tile_ids(tiles) if tiles else None
    )
    out = mosaic(
        open_stacks(granules, layer),
        dst,
        method=method,
        fuse=fuse,
        chunks=chunks,
        cache_dir=cache_dir,
    )
    click.echo(
        f"{len(granules)} granules, {out.sizes['time']} dates -> {dst.shape[0]} x "
        f"{dst.shape[1]} {dst.crs.name}, {method}, fuse {fuse}",
        err=True,
    )
    quiet = verbosity(ctx)["quiet"]
    with contextlib.nullcontext() if quiet else ProgressBar():
        write_mosaic(out, output, cog=cog)
    click.echo(f"wrote {output}", err=True)
