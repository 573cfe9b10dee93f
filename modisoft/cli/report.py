"""``modisoft report OUTPUT_DIR``: rebuild a run's ``report.html`` (the library side is
:func:`modisoft.report.write_report`)."""

from __future__ import annotations

import click

from modisoft.cli.options import verbosity_options

__all__ = ["report_command"]


def _parse_point(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: give a point as LON,LAT (e.g. -1.5,53.8)") from None
    return lon, lat


@click.command("report")
@click.argument("output_dir", type=click.Path())
@click.option("--point", "points", multiple=True,
              help="LON,LAT of a pixel whose time series to show as well; repeatable.")
@verbosity_options
def report_command(output_dir: str, points: tuple[str, ...]) -> None:
    """Rebuild OUTPUT_DIR/report.html from a finished run's output folder.

    One self-contained HTML page (images embedded, nothing loaded from the network): the run
    in one paragraph, maps of every period and of the mean and maximum, the QA per date and
    tile, the missing and failed inputs, time series at representative pixels (and at each
    --point), the configuration, software versions and output checksums.  A run writes it
    as its last step; this command writes it again, e.g. after moving the folder.
    """
    from modisoft.report import write_report

    path = write_report(output_dir, points=[_parse_point(p) for p in points])
    click.echo(str(path))
