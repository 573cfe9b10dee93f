"""The checks of a run's BEPS output before any work: the ``[beps]`` table, the period scheme
BEPS_D reads, the control-file values and the window against the grid.

BEPS_D picks its LAI file by day of year from its own table (``readlai.c``).  With
``[steps] period = "beps_d"`` (the default with BEPS output) every output of the run holds
the periods BEPS reads; with another period, the BEPS periods are averaged from the same
smoothed daily curve into ``<name>_beps.zarr`` (so a smoother is needed).
"""

from __future__ import annotations

from typing import Any

from modisoft.pipeline.schema import BEPS_PERIODS, ConfigError, RunConfig
from modisoft.pipeline.validate import suggest

__all__ = ["LANDCOVER_CODES", "check_beps"]

LANDCOVER_CODES = ("igbp", "beps")
"""``[beps] landcover_codes``: IGBP classes (MCD12Q1 ``LC_Type1``, mapped by the registry's
crosswalk ``modisoft.products.beps.IGBP_TO_BEPS_D``) or codes that are BEPS_D's already."""

_PATH_KEYS = ("soil_water", "snowpack", "climate", "row_interpolation", "column_interpolation",
              "delta_row_interpolation", "delta_column_interpolation",
              "row_minimum_interpolation")


def check_beps(cfg: RunConfig, grid: Any | None = None) -> None:
    """``[beps]`` and the BEPS output's needs, before any work.

    Parameters
    ----------
    cfg
        The run configuration.
    grid
        The output grid (checks ``[beps] window`` against it), or ``None``.

    Raises
    ------
    ConfigError
        Naming the key, the value and what is accepted.
    """
    wants = "beps" in cfg.output.formats
    b = cfg.beps
    if b is not None and not wants:
        raise ConfigError("[beps] is only used when [output] formats has 'beps'; add it or "
                          "remove the table")
    if not wants:
        return
    period = cfg.steps.period
    if period.lower() not in BEPS_PERIODS and cfg.steps.smoother == "none":
        raise ConfigError(
            f"[steps] period {period!r} with [output] formats 'beps' and no smoother: BEPS_D "
            "reads its LAI file by day of year from its own table, and a run whose periods "
            "differ averages that table from the smoothed daily curve; set [steps] smoother "
            f"(e.g. 'whittaker') or period to one of {', '.join(map(repr, BEPS_PERIODS))}")
    if b is None:
        return
    if b.landcover_codes not in LANDCOVER_CODES:
        raise ConfigError(f"[beps] landcover_codes {b.landcover_codes!r}"
                          f"{suggest(b.landcover_codes, LANDCOVER_CODES)}; accepted: "
                          f"{', '.join(LANDCOVER_CODES)}")
    if b.display_cycle is not None and not 1 <= b.display_cycle <= 366:
        raise ConfigError(f"[beps] display_cycle {b.display_cycle}: need 1..366 (BEPS writes "
                          "its outputs on days with day % display_cycle == 0)")
    if b.npp_factor is not None and not b.npp_factor > 0:
        raise ConfigError(f"[beps] npp_factor {b.npp_factor}: need a number > 0")
    for key in _PATH_KEYS:
        v = getattr(b, key)
        if v is None:
            continue
        why = "is empty" if not v else "has a space" if any(c.isspace() for c in v) else \
            f"has {len(v)} characters" if len(v) > 254 else None
        if why:
            raise ConfigError(f"[beps] {key} {v!r} {why}: BEPS reads a path as one token "
                              "into char[255]: need a path without spaces, 1-254 characters")
    if b.window is not None:
        w = b.window
        if len(w) != 4:
            raise ConfigError(f"[beps] window {list(w)}: need [line_offset, n_lines, "
                              "pixel_offset, n_pixels]")
        if grid is not None:
            ny, nx = grid.shape
            lo, nl, po, npx = w
            if nl < 1 or npx < 1:
                raise ConfigError(f"[beps] window {list(w)}: n_lines and n_pixels must be "
                                  ">= 1")
            if lo < 0 or po < 0 or lo + nl > ny or po + npx > nx:
                raise ConfigError(f"[beps] window {list(w)} (line_offset, n_lines, "
                                  f"pixel_offset, n_pixels) is outside the {ny} x {nx} grid")
