"""Quicklooks of files: open any product modisoft writes or reads and draw its maps or
time series (the library side of ``modisoft plot``; the drawing is :mod:`modisoft.plot`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.io.stack import open_geotiff, open_stack
from modisoft.plot import PlotError, plot_map, plot_series

__all__ = ["open_for_plot", "quicklooks", "select_period"]

_CLASS_VARS = ("{var}_class", "fill_class")


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
    p = str(path)
    ext = Path(p).suffix.lower()
    if not os.path.exists(p):
        raise PlotError(f"{p}: no such file or store")
    if os.path.isdir(p) or ext in (".zarr", ".nc", ".nc4", ".netcdf"):
        return open_stack(p, decode_coords="all")
    if ext in (".tif", ".tiff"):
        return open_geotiff(p)
    if ext in (".hdf", ".h5", ".he5"):
        from modisoft.decode import decode
        from modisoft.io.granule import open_granule

        return decode(open_granule(p))
    raise PlotError(f"{p}: cannot plot {ext or 'this'} files; give a Zarr, NetCDF or GeoTIFF")


def select_period(da: Any, when: str, echo: Any = None) -> Any:
    """The period of ``da`` holding the date ``when`` (``YYYY-MM-DD``), else the nearest one.

    A period holds a date when ``time <= date <= period_end`` (if there is a ``period_end``
    coordinate), else when ``time`` equals the date.  When none does, the period nearest to
    the date is taken and ``echo`` (a callable, e.g. ``click.echo``) is told which.
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
        end = np.asarray(da["period_end"].values).astype("datetime64[ns]") \
            if "period_end" in da.coords else start
        gap = np.maximum(start - t, t - end).astype("int64")  # 0 inside, else the distance
        k = int(np.argmin(gap))
        if echo is not None:
            span = np.datetime_as_string(start[k], "D")
            if end[k] != start[k]:
                span += f" to {np.datetime_as_string(end[k], 'D')}"
            echo(f"no period of {da.name!r} holds {when}: mapping the nearest, {span}")
        return da.isel(time=k)
    return da.isel(time=int(hit[0]))


def _class_of(ds: Any, var: str) -> Any:
    for pat in _CLASS_VARS:
        name = pat.format(var=var)
        if name in ds.data_vars and name != var:
            return ds[name]
    return None


def _stamp(da: Any) -> str:
    if "time" in da.coords and da["time"].size == 1:
        day = np.datetime_as_string(np.asarray(da["time"].values).ravel()[0], "D")
        return "_" + day.replace("-", "")
    return ""


def quicklooks(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    var: str | None = None,
    when: str | None = None,
    all_periods: bool = False,
    points: list[tuple[float, float]] | None = None,
    points_crs: str = "EPSG:4326",
    echo: Any = None,
    **style: Any,
) -> list[Path]:
    """Quicklook PNGs of a Zarr store, NetCDF, GeoTIFF or granule.

    Parameters
    ----------
    path
        The product (see :func:`open_for_plot`).
    out_dir
        Folder of the PNGs: ``<var>[_<YYYYMMDD>].png`` maps or ``<var>_series.png``.
    var
        Variable to plot (default: the first on the grid that is not a flag, a count or
        quality information, e.g. a run's ``lai`` rather than its ``fill_class`` or
        ``gap_days``).
    when, all_periods
        Map the period holding the date ``when`` (``YYYY-MM-DD``), or every period; with
        neither, a single-period variable is mapped and a longer one is an error.
    points, points_crs
        ``(x, y)`` points in ``points_crs``: one time-series plot of the pixels holding them
        instead of maps.
    echo
        Told which period is mapped when none holds ``when`` (the nearest is).
    **style
        ``vmin``, ``vmax``, ``cmap``, ``max_size``, ``coastlines``, ``borders`` for
        :func:`~modisoft.plot.plot_map`.

    Returns
    -------
    list of pathlib.Path
        The PNGs written.

    Raises
    ------
    PlotError
        For an unreadable input, an unknown variable or an ambiguous period.
    """
    if when and all_periods:
        raise PlotError("give a date or every period, not both")
    ds = open_for_plot(path)
    names = [n for n in ds.data_vars if {"y", "x"} <= set(ds[n].dims)]
    if var is None:  # the values (a run's lai), not its flags, counts or gap_days
        values = [n for n in names if "flag_values" not in ds[n].attrs
                  and ds[n].attrs.get("standard_name") != "number_of_observations"
                  and ds[n].attrs.get("coverage_content_type") != "qualityInformation"
                  and n not in ("fill_class", "n_obs", "gap_days")]
        var = (values or names or [None])[0]
    if var not in ds.data_vars:
        raise PlotError(f"{path}: no variable {var!r}; variables on the grid: {names}")
    da = ds[var]
    if ds.attrs.get("registry_product") and "registry_product" not in da.attrs:
        da = da.assign_attrs(registry_product=ds.attrs["registry_product"])  # names classes
    out = Path(out_dir)
    if points:
        return [plot_series(da, list(points), out / f"{var}_series.png", crs=points_crs)]
    return [
        plot_map(
            one,
            out / f"{var}{_stamp(one)}.png",
            fill_class=_class_for(ds, var, one),
            title=_granule_title(ds, var),
            **style,
        )
        for one in _periods(da, when, all_periods, echo)
    ]


def _granule_title(ds: Any, var: str) -> str | None:
    """``Lai_500m h27v05 2012-07-11`` for a granule (no time axis), else ``None``."""
    parts = [str(ds.attrs[k]) for k in ("tile", "start_date") if ds.attrs.get(k)]
    return " ".join([var, *parts]) if parts and "time" not in ds.dims else None


def _class_for(ds: Any, var: str, one: Any) -> Any:
    cls = _class_of(ds, var)
    if cls is not None and "time" in cls.dims and "time" in one.coords:
        cls = cls.sel(time=one["time"].values)
    return cls


def _periods(da: Any, when: str | None, all_periods: bool, echo: Any = None) -> list[Any]:
    if "time" not in da.dims:
        if when:
            raise PlotError(f"variable {da.name!r} has no time dimension; drop --time")
        return [da]
    if when:
        return [select_period(da, when, echo)]
    if all_periods or da.sizes["time"] == 1:
        return [da.isel(time=i) for i in range(da.sizes["time"])]
    first, last = (np.datetime_as_string(da["time"].values[i], "D") for i in (0, -1))
    raise PlotError(
        f"{da.name!r} has {da.sizes['time']} periods ({first} to {last}); "
        "choose one with --time DATE or map them all with --all"
    )
