"""``modisoft smooth``: smooth a ``(time, y, x)`` variable of a Zarr or NetCDF stack (the
library side is :func:`modisoft.timeseries.smooth`)."""

from __future__ import annotations

import contextlib

import click

from modisoft.cli.options import variable, verbosity, verbosity_options

__all__ = ["smooth_command"]


@click.command("smooth")
@click.argument("stack", type=click.Path(exists=True))
@click.option("--var", "var", required=True, help="Variable with dims (time, y, x).")
@click.option(
    "--method",
    type=click.Choice(["whittaker", "whittaker_asymmetric", "lacc", "savgol"]),
    default="whittaker",
    show_default=True,
)
@click.option("--weights", "weights", default=None, help="Variable of QA weights in [0, 1].")
@click.option("--min-obs", type=int, default=None, help="Fewest usable observations per pixel.")
@click.option("--daily", is_flag=True, help="Output daily values over the series' span.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(),
    help="Output .zarr or .nc (written atomically).",
)
@verbosity_options
def smooth_command(
    stack: str,
    var: str,
    method: str,
    weights: str | None,
    min_obs: int | None,
    daily: bool,
    out: str,
) -> None:
    """Smooth VAR of a Zarr/NetCDF STACK with LACC, Whittaker or Savitzky–Golay."""
    from dask.diagnostics import ProgressBar

    from modisoft.io.stack import open_stack
    from modisoft.timeseries import daily_dates, smooth
    from modisoft.write.plain import write_dataset

    ds = open_stack(stack)
    values = variable(ds, var, stack)
    w = variable(ds, weights, stack) if weights else None
    quiet = verbosity()["quiet"]
    with contextlib.nullcontext() if quiet else ProgressBar():  # dask's, on stderr
        res = smooth(
            values, method, weights=w, at=daily_dates(values) if daily else None,
            min_obs=min_obs,
        ).compute()
    write_dataset(res, out)
    click.echo(
        f"{method}: {res['n_obs'].size} pixels, {int(res.n_insufficient)} left NaN (too "
        f"few usable observations), written to {out}"
    )
