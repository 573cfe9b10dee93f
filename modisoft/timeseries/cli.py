"""``modisoft smooth``: smooth a ``(time, y, x)`` variable of a Zarr or NetCDF stack."""

from __future__ import annotations

import os
import shutil
import sys

import click


def open_stack(path: str):
    """Open a Zarr store or NetCDF file lazily."""
    import xarray as xr

    if path.rstrip("/").endswith(".zarr") or os.path.isdir(path):
        return xr.open_zarr(path)
    return xr.open_dataset(path, chunks={})


def write_atomic(ds, out: str) -> None:
    """Write a Dataset to Zarr (``.zarr``) or NetCDF, via a temporary name then a rename."""
    tmp = f"{out}.partial-{os.getpid()}"
    if out.rstrip("/").endswith(".zarr"):
        ds.to_zarr(tmp, mode="w")
        if os.path.exists(out):
            shutil.rmtree(out)
    else:
        ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, out)


@click.command("smooth")
@click.argument("stack", type=click.Path(exists=True))
@click.option("--var", "var", required=True, help="Variable with dims (time, y, x).")
@click.option("--method", type=click.Choice(["whittaker", "whittaker_asymmetric", "lacc",
                                             "savgol"]), default="whittaker", show_default=True)
@click.option("--weights", "weights", default=None, help="Variable of QA weights in [0, 1].")
@click.option("--min-obs", type=int, default=None, help="Fewest usable observations per pixel.")
@click.option("--daily", is_flag=True, help="Output daily values over the series' span.")
@click.option("--out", "out", required=True, type=click.Path(),
              help="Output .zarr or .nc (written atomically).")
def smooth_command(stack: str, var: str, method: str, weights: str | None, min_obs: int | None,
                   daily: bool, out: str) -> None:
    """Smooth VAR of a Zarr/NetCDF STACK with LACC, Whittaker or Savitzky–Golay."""
    import numpy as np
    import pandas as pd

    from modisoft.timeseries import smooth

    ds = open_stack(stack)
    for name in (var, weights):
        if name is not None and name not in ds:
            click.echo(f"{stack}: no variable {name!r}; variables: {', '.join(ds.data_vars)}",
                       err=True)
            sys.exit(2)
    at = None
    if daily:
        t = ds[var]["time"].values
        at = pd.date_range(t.min(), t.max(), freq="D").values.astype("datetime64[ns]")
    res = smooth(ds[var], method, weights=ds[weights] if weights else None, at=at,
                 min_obs=min_obs)
    res = res.compute()
    n_pix = int(np.prod([res.sizes[d] for d in res["n_obs"].dims]))
    write_atomic(res, out)
    click.echo(f"{method}: {n_pix} pixels, {int(res.n_insufficient)} left NaN (too few usable "
               f"observations), written to {out}")
