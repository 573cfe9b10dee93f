"""``modisoft plot``: quicklook PNGs of a Zarr store, NetCDF, GeoTIFF or granule.

Maps of one period (``--time``) or of every period (``--all``), or time-series plots at points
(``--point LON,LAT``, repeatable).  The library side is :mod:`modisoft.plot`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import numpy as np

from modisoft.plot import PlotError, plot_map, plot_series

__all__ = ["open_for_plot", "plot_command", "select_period"]

_CLASS_VARS = ("{var}_class", "fill_class")


def _open_geotiff(path: str) -> Any:
    import pandas as pd
    import rasterio
    import xarray as xr

    from modisoft.grids import Grid

    with rasterio.open(path) as src:
        grid = Grid.from_crs(src.crs.to_wkt(), src.transform, (src.height, src.width))
        data = src.read(masked=True).astype("float32").filled(np.nan)
        tags = src.tags()
    name = tags.get("VARIABLE") or Path(path).stem
    ds = xr.Dataset(coords=grid.xarray_coords())
    if "PERIOD_START" in tags and data.shape[0] == 1:
        ds = ds.assign_coords(time=("time", pd.to_datetime([tags["PERIOD_START"]])))
        ds[name] = (("time", "y", "x"), data)
    elif data.shape[0] == 1:
        ds[name] = (("y", "x"), data[0])
    else:
        ds[name] = (("band", "y", "x"), data)
    ds[name].attrs["grid_mapping"] = "spatial_ref"
    return ds


def open_for_plot(path: str | os.PathLike[str]) -> Any:
    """Open a product for plotting as an ``xarray.Dataset`` with its grid coordinates.

    Zarr stores (folders, ``*.zarr``) through ``xarray.open_zarr``, NetCDF (``*.nc``) through
    ``xarray.open_dataset``, GeoTIFFs (``*.tif``) through rasterio, HDF granules through
    :func:`modisoft.open_granule` and :func:`modisoft.decode`.

    Raises
    ------
    PlotError
        For a missing file or an unsupported extension.
    """
    import xarray as xr

    p = str(path)
    ext = Path(p).suffix.lower()
    if not os.path.exists(p):
        raise PlotError(f"{p}: no such file or store")
    if os.path.isdir(p) or ext == ".zarr":
        import warnings

        with warnings.catch_warnings():  # a store without consolidated metadata is fine
            warnings.filterwarnings("ignore", "Failed to open Zarr store with consolidated")
            return xr.open_zarr(p, decode_coords="all")
    if ext in (".nc", ".nc4", ".netcdf"):
        return xr.open_dataset(p, decode_coords="all", chunks={})
    if ext in (".tif", ".tiff"):
        return _open_geotiff(p)
    if ext in (".hdf", ".h5", ".he5"):
        import modisoft

        return modisoft.decode(modisoft.open_granule(p))
    raise PlotError(f"{p}: cannot plot {ext or 'this'} files; give a Zarr, NetCDF or GeoTIFF")


def select_period(da: Any, when: str) -> Any:
    """The period of ``da`` holding the date ``when`` (``YYYY-MM-DD``).

    A period holds a date when ``time <= date <= period_end`` (if there is a ``period_end``
    coordinate), else when ``time`` equals the date.
    """
    import pandas as pd

    if "time" not in da.dims:
        raise PlotError(f"variable {da.name!r} has no time dimension; drop --time")
    t = np.datetime64(pd.Timestamp(when).to_datetime64(), "ns")
    start = da["time"].values.astype("datetime64[ns]")
    if "period_end" in da.coords:
        end = np.asarray(da["period_end"].values).astype("datetime64[ns]")
        hit = np.flatnonzero((start <= t) & (t <= end))
    else:
        hit = np.flatnonzero(start.astype("datetime64[D]") == t.astype("datetime64[D]"))
    if not hit.size:
        first, last = (np.datetime_as_string(start[i], "D") for i in (0, -1))
        raise PlotError(
            f"no period of {da.name!r} holds {when}; periods run from {first} to {last} "
            f"({start.size} periods)"
        )
    return da.isel(time=int(hit[0]))


def _class_of(ds: Any, var: str) -> Any:
    for pat in _CLASS_VARS:
        name = pat.format(var=var)
        if name in ds.data_vars and name != var:
            return ds[name]
    return None


def _parse_point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: give a point as X,Y (e.g. 116.4,39.9)") from None
    return x, y


def _stamp(da: Any) -> str:
    if "time" in da.coords and da["time"].size == 1:
        day = np.datetime_as_string(np.asarray(da["time"].values).ravel()[0], "D")
        return "_" + day.replace("-", "")
    return ""


@click.command("plot")
@click.argument("path", type=click.Path(exists=True))
@click.option("--var", "var", default=None, help="Variable to plot (default: the only/first).")
@click.option("--time", "when", default=None, help="Map the period holding this date.")
@click.option("--all", "all_periods", is_flag=True, help="Map every period.")
@click.option("--point", "points", multiple=True, help="X,Y (lon,lat) for a series; repeatable.")
@click.option("--points-crs", default="EPSG:4326", show_default=True, help="CRS of --point.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--vmax", type=float, default=None, help="Colour-bar maximum (default: p99.5).")
@click.option("--vmin", type=float, default=0.0, show_default=True)
@click.option("--cmap", default="YlGn", show_default=True)
@click.option("--max-size", type=int, default=1500, show_default=True, help="Largest side (px).")
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
) -> None:
    """Quicklook PNGs of PATH (Zarr store, NetCDF, GeoTIFF or granule).

    Maps of one period (--time DATE) or all periods (--all), with a colour bar, the grid's
    outline and a legend of fill classes; or, with --point LON,LAT (repeatable), one
    time-series plot of the pixels holding the points.
    """
    if when and all_periods:
        raise click.UsageError("give --time or --all, not both")
    try:
        ds = open_for_plot(path)
        names = [n for n in ds.data_vars if {"y", "x"} <= set(ds[n].dims)]
        if var is None:
            var = names[0] if names else None
        if var not in ds.data_vars:
            raise PlotError(f"{path}: no variable {var!r}; variables on the grid: {names}")
        da = ds[var]
        out = Path(out_dir)
        if points:
            pts = [_parse_point(p) for p in points]
            png = plot_series(da, pts, out / f"{var}_series.png", crs=points_crs)
            click.echo(str(png))
            return
        written = [
            plot_map(
                one,
                out / f"{var}{_stamp(one)}.png",
                vmin=vmin,
                vmax=vmax,
                cmap=cmap,
                fill_class=_class_for(ds, var, one),
                title=_granule_title(ds, var),
                max_size=max_size,
            )
            for one in _periods(da, when, all_periods)
        ]
    except PlotError as exc:
        raise click.ClickException(str(exc)) from None
    for png in written:
        click.echo(str(png))


def _granule_title(ds: Any, var: str) -> str | None:
    """``Lai_500m h27v05 2012-07-11`` for a granule (no time axis), else ``None``."""
    parts = [str(ds.attrs[k]) for k in ("tile", "start_date") if ds.attrs.get(k)]
    return " ".join([var, *parts]) if parts and "time" not in ds.dims else None


def _class_for(ds: Any, var: str, one: Any) -> Any:
    cls = _class_of(ds, var)
    if cls is not None and "time" in cls.dims and "time" in one.coords:
        cls = cls.sel(time=one["time"].values)
    return cls


def _periods(da: Any, when: str | None, all_periods: bool) -> list[Any]:
    if "time" not in da.dims:
        if when:
            raise PlotError(f"variable {da.name!r} has no time dimension; drop --time")
        return [da]
    if when:
        return [select_period(da, when)]
    if all_periods or da.sizes["time"] == 1:
        return [da.isel(time=i) for i in range(da.sizes["time"])]
    first, last = (np.datetime_as_string(da["time"].values[i], "D") for i in (0, -1))
    raise PlotError(
        f"{da.name!r} has {da.sizes['time']} periods ({first} to {last}); "
        "choose one with --time DATE or map them all with --all"
    )
