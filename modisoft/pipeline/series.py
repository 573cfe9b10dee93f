"""The series stage: per pixel, the dates' values and weights composited or smoothed into the
output periods, and the output Dataset (``lai``, ``gap_days``, ``n_obs``, ``fill_class``).

The stage also checks itself: :func:`lost_in_series` counts the pixels of a computed piece
that had a usable observation but got no value although they should have.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.pipeline.metadata import fill_class_attrs, flag_standard, output_quantity
from modisoft.pipeline.mosaic import dominant_fill_class, mosaic_decoded, mosaic_qa
from modisoft.pipeline.qa import observation_weights
from modisoft.pipeline.schema import BEPS_PERIODS, RunConfig

__all__ = ["beps_also", "build_output", "cell_method", "granule_days", "lost_in_series",
           "output_stores", "run_span", "series_inputs", "series_output", "split_output"]

GAP_FILL = -1  # gap_days (int16) of a pixel without any good observation


def beps_also(cfg: RunConfig) -> bool:
    """Whether the run computes BEPS_D's day table beside its own periods: BEPS output with
    another ``[steps] period`` (from the same daily smoothed curve, into ``<name>_beps.zarr``).
    """
    return "beps" in cfg.output.formats and cfg.steps.period.lower() not in BEPS_PERIODS


def output_stores(cfg: RunConfig) -> dict[str, Path]:
    """The run's Zarr stores: ``"lai"`` (``<dir>/<name>.zarr``) and, with :func:`beps_also`,
    ``"beps"`` (``<dir>/<name>_beps.zarr``, the periods of BEPS_D's day table)."""
    d = cfg.resolve(cfg.output.dir)
    out = {"lai": d / f"{cfg.output.name}.zarr"}
    if beps_also(cfg):
        out["beps"] = d / f"{cfg.output.name}_beps.zarr"
    return out


def split_output(out: Any, cfg: RunConfig) -> dict[str, Any]:
    """The run's output Dataset (or a piece of it) per store of :func:`output_stores`: the
    values (``lai`` while computed) named for their quantity (:func:`output_quantity`); the
    ``lai_beps`` and ``gap_days_beps`` on ``time_beps`` become the BEPS store's ``lai`` and
    ``gap_days`` on ``time``."""
    name = output_quantity(cfg).name
    if "lai_beps" not in out:
        return {"lai": out.rename({"lai": name})}
    extra = {"lai_beps": "lai", "gap_days_beps": "gap_days", "time_beps": "time",
             "period_end_beps": "period_end", "period_label_beps": "period_label"}
    beps = out[[v for v in ("lai_beps", "gap_days_beps") if v in out]].rename(extra)
    main = out.drop_vars([v for v in extra if v in out.variables]).rename({"lai": name})
    return {"lai": main, "beps": beps}


def cell_method(cfg: RunConfig) -> str | None:
    """The CF cell method of each period: ``mean`` (smoothed or mean composite), ``maximum``
    …; ``None`` for a pick of one observation (``qa_best``), which CF has no method for."""
    return "mean" if cfg.steps.smoother != "none" else \
        {"mean": "mean", "max": "maximum", "median": "median"}.get(cfg.steps.reducer)


def granule_days(cfg: RunConfig) -> int:
    """The days one granule of ``[inputs] product`` covers: the registry's compositing
    period (``period_days``), or 1 when it does not say."""
    from modisoft.products import find_product

    p = find_product(cfg.inputs.product)
    return int(p.period_days) if p is not None and p.period_days else 1


def run_span(cfg: RunConfig, times: Any) -> tuple[date, date] | None:
    """The run's first and last day for the ``"beps_d"`` period kinds (``None`` for the
    others, whose periods are whole): ``[inputs] start`` or the first date, and ``[inputs]
    end`` or the last day the last granule covers (its date + the product's compositing days
    − 1, not past that year's 31 December).

    Parameters
    ----------
    cfg
        The run configuration.
    times
        The run's granule dates (datetime64).

    Returns
    -------
    (datetime.date, datetime.date) or None
    """
    if cfg.steps.period.lower() not in BEPS_PERIODS and not beps_also(cfg):
        return None
    t = np.asarray(times).astype("datetime64[D]")
    first, last = t.min().astype(date), t.max().astype(date)
    end = min(last + timedelta(days=granule_days(cfg) - 1), date(last.year, 12, 31))
    return cfg.inputs.start or first, cfg.inputs.end or end


def series_inputs(cfg: RunConfig, values: Any, qa: Any) -> tuple[Any, Any]:
    """The per-date values and weights the series stage smooths or composites, chunked as
    it reads them (whole series, ``min(chunk, 128)`` pixels square).

    Parameters
    ----------
    cfg
        The run configuration.
    values
        The per-date values on the grid (or a piece of it), ``(time, y, x)``.
    qa
        The per-date QA layer on the same grid, or ``None`` (weights 1 where a value exists).

    Returns
    -------
    (xarray.DataArray, xarray.DataArray)
        The values and their float32 weights (0: not usable).
    """
    c = cfg.output.chunk
    w = observation_weights(values, qa, cfg)
    ts = min(c, 128)  # series are independent: the block size sets memory, not values
    return (values.chunk({"time": -1, "y": ts, "x": ts}),
            w.chunk({"time": -1, "y": ts, "x": ts}))


def series_output(cfg: RunConfig, values: Any, classes: Any, qa: Any, grid: Any,
                  class_attrs: dict[str, Any] | None = None) -> Any:
    """Weights, compositing or smoothing of a ``(time, y, x)`` LAI stack on ``grid`` (the
    whole output grid or a piece of it), and the output Dataset (``lai``, ``gap_days``,
    ``n_obs``, ``fill_class`` when ``classes`` is given).

    The output keeps ``values``' own ``x``/``y`` coordinate values (``grid`` gives only the
    ``spatial_ref``), and every variable is checked to share them exactly
    (``join="exact"``): coordinates recomputed for a piece can differ from the whole grid's
    in the last bit, and a label alignment would then silently drop those rows and columns.

    Parameters
    ----------
    cfg
        The run configuration (``[steps]`` period, reducer, smoother; ``[output]`` chunk).
    values
        The per-date LAI ``(time, y, x)`` on ``grid``.
    classes
        The per-date fill-class codes on ``grid`` (0 where a value exists), or ``None``.
    qa
        The per-date QA layer on ``grid`` when the QA gives weights, else ``None``.
    grid
        The output grid or a piece of it.
    class_attrs
        The attributes of ``fill_class`` (default: MOD15-style fill classes of ``values``).

    Returns
    -------
    xarray.Dataset
        ``lai`` ``(time, y, x)`` float32 per period, ``gap_days`` ``(time, y, x)`` int16
        (:func:`modisoft.timeseries.gap_days`), ``n_obs`` int16, ``fill_class``.

    Raises
    ------
    ValueError
        When ``values`` is not on ``grid`` (a programming error, not a user's).
    """
    import xarray as xr

    from modisoft.timeseries import composite, gap_days, smooth

    s, c = cfg.steps, cfg.output.chunk
    name = values.name
    values, w = series_inputs(cfg, values, qa)
    if s.smoother != "none":
        res = smooth(values, s.smoother, weights=w, min_obs=s.min_obs, period=s.period,
                     span=run_span(cfg, values["time"].values),
                     also_period="beps_d" if beps_also(cfg) else None,
                     **s.smoother_params)
        lai, n_obs = res[name], res["n_obs"]
    else:
        res = composite(values, s.period, s.reducer, weights=w,
                        span=run_span(cfg, values["time"].values))
        lai = res[name]
        n_obs = (w > 0).sum("time")
    space = grid.xarray_coords()
    if (values.sizes["y"], values.sizes["x"]) != grid.shape:
        raise ValueError(f"values {values.shape} are not on the grid {grid.shape}")
    space["x"], space["y"] = values["x"].variable, values["y"].variable
    out = xr.Dataset(coords=space)

    def place(arr: Any) -> Any:  # positional, never aligned by label
        xr.align(arr, values.isel(time=0, drop=True), join="exact")
        return arr

    out["lai"] = place(lai).astype("float32").chunk({"time": -1, "y": c, "x": c})
    out["lai"].attrs = {**output_quantity(cfg).attrs(), "grid_mapping": "spatial_ref",
                        "coverage_content_type": "physicalMeasurement"}
    if cell_method(cfg):
        out["lai"].attrs["cell_methods"] = f"time: {cell_method(cfg)}"
    gap = {"weights": w, "fill": GAP_FILL}  # days to the nearest good observation, per period
    out["gap_days"] = place(gap_days(values, lai, **gap)).chunk({"time": -1, "y": c, "x": c})
    out["gap_days"].attrs["grid_mapping"] = "spatial_ref"
    out["n_obs"] = place(n_obs).astype("int16").chunk({"y": c, "x": c})
    out["n_obs"].attrs = {"long_name": "usable observations in the series", "units": "1",
                          "standard_name": "number_of_observations",
                          "coverage_content_type": "qualityInformation",
                          "grid_mapping": "spatial_ref"}
    if classes is not None:
        fc = xr.apply_ufunc(dominant_fill_class, place(classes).chunk({"time": -1}),
                            input_core_dims=[["time"]], dask="parallelized",
                            output_dtypes=[classes.dtype])
        out["fill_class"] = fc.chunk({"y": c, "x": c})
        out["fill_class"].attrs = {**(class_attrs or fill_class_attrs(cfg, name)),
                                   **flag_standard(cfg)}
    if f"{name}_beps_d" in res:  # BEPS_D's day table beside the run's periods
        b = res[f"{name}_beps_d"].rename({"time_beps_d": "time_beps",
                                      "period_end_beps_d": "period_end_beps",
                                      "period_label_beps_d": "period_label_beps"})
        out["lai_beps"] = place(b).astype("float32").chunk({"time_beps": -1, "y": c, "x": c})
        out["lai_beps"].attrs = {**out["lai"].attrs, "periods": "BEPS_D day table (beps_d)"}
        out["gap_days_beps"] = place(gap_days(values, b, dim="time_beps", **gap)).chunk(
            {"time_beps": -1, "y": c, "x": c}).assign_attrs(grid_mapping="spatial_ref")
        out = out.assign_coords(  # plain coordinates (chunking made them lazy)
            period_end_beps=("time_beps", np.asarray(b["period_end_beps"].values)),
            period_label_beps=("time_beps", np.asarray(b["period_label_beps"].values,
                                                       dtype=object)))
    if "period_end" in lai.coords:
        out = out.assign_coords(period_end=lai["period_end"])
    if "period_label" in lai.coords:  # variable-length strings (stable in Zarr v3)
        out = out.assign_coords(period_label=("time", np.asarray(lai["period_label"].values,
                                                                  dtype=object)))
    return out


def build_output(cfg: RunConfig, lai_stacks: list, qa_stacks: list, grid: Any) -> Any:
    """The whole run's output as one lazy Dataset on ``grid``.

    Variables: ``lai`` ``(time, y, x)`` float32 per period (NaN where no value), ``gap_days``
    ``(time, y, x)`` days to the nearest good observation, ``n_obs`` ``(y, x)`` usable
    observations, ``fill_class`` ``(y, x)`` the dominant MOD15 fill code of pixels that never
    had a valid value (0 elsewhere).

    Parameters
    ----------
    cfg
        The run configuration.
    lai_stacks, qa_stacks
        Per tile, lazy ``(time, y, x)`` stacks of the LAI layer and of its QA layer (see
        :func:`modisoft.pipeline.inputs.open_stacks`).
    grid
        The output grid.

    Returns
    -------
    xarray.Dataset
    """
    values, classes = mosaic_decoded(cfg, lai_stacks, grid)
    qa = mosaic_qa(cfg, qa_stacks, grid)
    return series_output(cfg, values, classes, qa, grid)


def lost_in_series(cfg: RunConfig, out: Any, values: Any, w: Any) -> dict[str, int]:
    """Per date (ISO), the pixels of a computed piece with a usable observation that date
    (a value and a weight > 0) whose output period has no value, although the series
    stage should have given one: always for a composite, and with a smoother wherever the
    pixel has at least ``min_obs`` usable observations (fewer give NaN by design).

    Parameters
    ----------
    cfg, out
        The run configuration; the computed output of the piece (``lai`` per period).
    values, w
        Its computed per-date values and weights (:func:`series_inputs`); ``None``: no check.

    Returns
    -------
    dict
        ``{ISO date: pixels lost}`` (all 0 for a correct run).
    """
    if values is None:
        return {}
    times = np.asarray(values["time"].values, "datetime64[ns]")
    v = np.asarray(values.transpose("time", "y", "x").values)
    usable = np.isfinite(v) & (np.asarray(w.transpose("time", "y", "x").values) > 0)
    if cfg.steps.smoother != "none":
        n = len(times)
        min_obs = max(4, int(np.ceil(0.2 * n))) if cfg.steps.min_obs is None \
            else int(cfg.steps.min_obs)
        usable &= usable.sum(axis=0) >= min_obs
    lai = np.asarray(out["lai"].transpose("time", "y", "x").values)
    starts = np.asarray(out["time"].values, "datetime64[ns]")
    ends = np.asarray(out["period_end"].values, "datetime64[ns]") \
        if "period_end" in out.coords else starts
    lost = {}
    for t, when in enumerate(times):
        k = int(np.searchsorted(starts, when, side="right")) - 1
        if k < 0 or when > ends[k]:
            continue  # a date outside every output period: not the series stage's to give
        day = str(when.astype("datetime64[D]"))
        lost[day] = int(np.count_nonzero(usable[t] & ~np.isfinite(lai[k])))
    return lost
