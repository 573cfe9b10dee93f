"""``modisoft run CONFIG.toml``: a national run (the library side is :mod:`modisoft.pipeline`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from modisoft.cli.options import EXIT_INTERRUPTED, run_log, verbosity, verbosity_options

__all__ = ["run_command", "EXIT_INCOMPLETE"]

EXIT_INCOMPLETE = 3
"""Outputs written, but inputs failed, tile-dates are missing or the pixel check failed."""


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
@click.option(
    "--plan",
    is_flag=True,
    help="Only print the run's plan: granules, pieces, tasks, memory per task, disk and an "
    "estimated wall time (reads no granule).",
)
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
    plan: bool,
) -> None:
    """Run a national LAI job from a TOML config (see docs/reference/config.md).

    Finished work is recorded in <output dir>/modisoft-run.json: rerunning the same config
    after a crash resumes where it stopped.  A run ends by writing <output dir>/report.html,
    one page on how it went ('modisoft report' rebuilds it).  -q: no progress bars or
    messages.

    Exit status: 0 when everything requested was produced from every input; 3 when the
    outputs were written but some granules failed, tile-dates are missing, or the run's pixel
    check found output pixels without a value although a valid source pixel lies under them
    (the summary says which); 1 when nothing usable could be made (no granule could be read);
    2 for bad usage or config (also: another run holds the output folder, or it holds another
    config's outputs — --force replaces them); 130 when interrupted (rerun to resume).
    """
    from modisoft.pipeline import discover, load_config, run
    from modisoft.pipeline.limits import check_before_run

    quiet = verbosity(ctx)["quiet"]

    def echo(msg: str) -> None:
        if not quiet:
            click.echo(msg)

    cfg = load_config(config)
    if plan:
        from modisoft.pipeline.plan import plan_run

        click.echo(f"plan of {config} (nothing is read or written)")
        click.echo(str(plan_run(cfg, workers=workers, memory_limit=memory_limit,
                                scheduler=scheduler)))
        return
    if dry_run:  # what run() checks first, the overrides too: a dry run says if it can run
        check_before_run(cfg, workers=workers, memory_limit=memory_limit, scheduler=scheduler)
        click.echo(discover(cfg).report())
        return
    try:
        with run_log(lambda: cfg.resolve(cfg.output.dir)):
            summary = run(cfg, force=force, scheduler=scheduler, workers=workers,
                          memory_limit=memory_limit, progress=not quiet, echo=echo)
    except KeyboardInterrupt:
        click.echo("modisoft: interrupted; rerun the same command to resume", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    echo(summary.report())
    for problem in incomplete_reasons(summary):
        click.echo(f"modisoft: incomplete: {problem}", err=True)
    if summary.exit_code:
        ctx.exit(summary.exit_code)


def incomplete_reasons(summary: Any) -> list[str]:
    """One line per reason a run is incomplete (exit status 3)."""
    out = []
    if summary.failures:
        out.append(f"{len(summary.failures)} granule(s) failed and were left out: "
                   + ", ".join(Path(f["file"]).name for f in summary.failures[:5])
                   + (" ..." if len(summary.failures) > 5 else ""))
    miss = summary.missing
    if miss.get("dates"):
        out.append(f"{len(miss['dates'])} date(s) without any usable granule: "
                   + ", ".join(miss["dates"][:5]) + (" ..." if len(miss["dates"]) > 5 else ""))
    if miss.get("tiles"):
        n = sum(len(t) for t in miss["tiles"].values())
        out.append(f"{n} tile-date(s) without a usable granule (outputs have no data there)")
    if summary.lost_total:
        bad = ", ".join(f"{d}: {n}" for d, n in sorted(summary.lost.items()) if n)
        out.append(f"pixel check failed: {summary.lost_total} output pixel(s) got no value "
                   f"although a valid source pixel lies under them ({bad})")
    return out
