"""``modisoft run CONFIG.toml``: a national run (the library side is :mod:`modisoft.pipeline`)."""

from __future__ import annotations

import click

from modisoft.cli.options import verbosity, verbosity_options

__all__ = ["run_command", "EXIT_INCOMPLETE"]

EXIT_INCOMPLETE = 3
"""Outputs written, but the run's pixel check found pixels without a value."""


@click.command("run")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Recompute everything, ignoring the run manifest.")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes of the local cluster (0: synchronous, no cluster).",
)
@click.option("--memory-limit", default=None, help="Memory per worker, e.g. 4GiB.")
@click.option(
    "--scheduler",
    default=None,
    help="Address of an existing dask.distributed scheduler (tcp://host:port).",
)
@click.option("--dry-run", is_flag=True, help="Only list the granules and what is missing.")
@verbosity_options
@click.pass_context
def run_command(
    ctx: click.Context,
    config: str,
    force: bool,
    workers: int | None,
    memory_limit: str | None,
    scheduler: str | None,
    dry_run: bool,
) -> None:
    """Run a national LAI job from a TOML config (see docs/reference/config.md).

    Finished work is recorded in <output dir>/modisoft-run.json: rerunning the same config
    after a crash resumes where it stopped.  -q: no progress bars or messages.

    Exit status: 0 when done; 2 for a config error; 3 when the outputs were written but the
    run's pixel check found output pixels without a value although a valid source pixel lies
    under them (the dates and counts are printed and recorded in the provenance).
    """
    from modisoft.pipeline import discover, load_config, run
    from modisoft.pipeline.limits import check_before_run

    quiet = verbosity(ctx)["quiet"]

    def echo(msg: str) -> None:
        if not quiet:
            click.echo(msg)

    cfg = load_config(config)
    if dry_run:  # what run() checks first, the overrides too: a dry run says if it can run
        check_before_run(cfg, workers=workers, memory_limit=memory_limit, scheduler=scheduler)
        click.echo(discover(cfg).report())
        return
    summary = run(
        cfg,
        force=force,
        scheduler=scheduler,
        workers=workers,
        memory_limit=memory_limit,
        progress=not quiet,
        echo=echo,
    )
    echo(summary.report())
    if summary.failures:
        click.echo(f"{len(summary.failures)} granule(s) failed; see the list above", err=True)
    if summary.lost_total:
        bad = ", ".join(f"{d}: {n}" for d, n in sorted(summary.lost.items()) if n)
        click.echo(
            f"modisoft: error: pixel check failed: {summary.lost_total} output pixel(s) "
            f"got no value although a valid source pixel lies under them ({bad}); the "
            "outputs are written but incomplete",
            err=True,
        )
        ctx.exit(EXIT_INCOMPLETE)
