"""``modisoft record RECORD.toml``: one long LAI record from AVHRR, MODIS and VIIRS segments
(the library side is :func:`modisoft.pipeline.record.make_record`)."""

from __future__ import annotations

import click

from modisoft.cli.options import EXIT_INTERRUPTED, verbosity, verbosity_options

__all__ = ["record_command"]


@click.command("record")
@click.argument("config", type=click.Path(dir_okay=False))
@verbosity_options
@click.pass_context
def record_command(ctx: click.Context, config: str) -> None:
    """Join AVHRR, MODIS and VIIRS segments into one LAI record (see
    docs/how-to/long-record.md).

    The segments ([[segments]]: a store written by 'modisoft run', or a run config to run
    first) must share one grid and one period scheme.  Over each join's overlap period
    ([relation.overlap]) a relation per cover type puts the earlier or later sensor on the
    reference sensor's scale; each period is taken from one sensor by priority.  Writes
    <[output] dir>/<name>.zarr with a 'sensor' coordinate per period, the relations and the
    continuity check in its attributes, and prints the continuity table: per join and cover
    type the LAI of the year before against the year after, FLAG where the mean jumps more
    than [relation] threshold.  When the output folder is a run's, its report.html gets a
    section on the record.

    Exit status: 0 when written (flags are findings, not failures); 3 when written, but a
    segment's run (a [[segments]] config) ended incomplete; 2 for a bad config or segments
    on different grids or period schemes; 130 when interrupted (rerun the same command).
    """
    from modisoft.cli.run import EXIT_INCOMPLETE
    from modisoft.pipeline.record import make_record

    quiet = verbosity(ctx)["quiet"]
    try:
        result = make_record(config, echo=None if quiet else click.echo)
    except KeyboardInterrupt:
        click.echo("modisoft: interrupted; the record's store is written whole or not at all: "
                   "rerun the same command", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if not quiet:  # -q: only errors (and the exit status) say how it went
        click.echo(result.report_text())
    for problem in result.incomplete:
        click.echo(f"modisoft: incomplete: {problem}", err=True)
    if result.incomplete:
        ctx.exit(EXIT_INCOMPLETE)
