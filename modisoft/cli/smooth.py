"""``modisoft smooth``: smooth a ``(time, y, x)`` variable of a Zarr or NetCDF stack (the
library side is :func:`modisoft.timeseries.smooth`)."""

from __future__ import annotations

import os

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
    """Smooth VAR of a Zarr/NetCDF STACK with LACC, Whittaker or Savitzky–Golay.

    The stack is smoothed in bands of rows (about 256 MiB of working memory each: a 2400 ×
    2400 tile of 46 dates in bands of 48 rows), each written to OUT as it is done, with a
    progress bar on stderr (none with -q).
    """
    from tqdm import tqdm

    from modisoft.io.stack import open_stack
    from modisoft.timeseries import block_rows, daily_dates, smooth_blocks
    from modisoft.write.plain import write_dataset_blocks

    values = variable(open_stack(stack), var, stack)
    at = daily_dates(values) if daily else None
    rows = block_rows(values, None if at is None else len(at))
    # a NetCDF stack is read one band at a time (its small HDF5 chunks as dask chunks made
    # a graph that grew the peak by 0.1 GiB); a Zarr store in its stored chunks (less memory)
    band = None if os.path.isdir(stack) else {"time": -1, "y": rows, "x": -1}
    ds = open_stack(stack, chunks=band)
    values = variable(ds, var, stack)
    w = variable(ds, weights, stack) if weights else None
    job = smooth_blocks(values, method, weights=w, at=at, min_obs=min_obs, rows=rows)
    bands = tqdm(job, total=len(job), desc=f"smooth ({job.rows} rows a band)", unit="band",
                 disable=verbosity()["quiet"])
    write_dataset_blocks(job.template, bands, out, rest=job.rest)
    n_insufficient = int(job.rest()["n_insufficient"])
    click.echo(
        f"{method}: {job.template['n_obs'].size} pixels, {n_insufficient} left NaN (too "
        f"few usable observations), written to {out}"
    )
