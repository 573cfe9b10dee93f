"""What BEPS_D needs besides the LAI files: its positional control file, the land-cover file on
the same grid, per-pixel latitude and longitude, and the notes a user reads before running it
(``reference/BEPS.md`` §3-4).

BEPS_D's ``readconf.c`` reads 23 ``label value`` pairs with ``fscanf("%s %d")`` (``%f`` for the
NPP factor, ``%s`` for the paths, ``%c`` for the y/n flags) in a fixed order; the labels are
read and ignored, so each must be one token, and so must each value (paths into ``char[255]``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.grids import national_grid
from modisoft.write._common import OutputError, atomic_path

__all__ = [
    "BepsControl",
    "CLUMPING_FILE",
    "check_window",
    "CONTROL_FIELDS",
    "LANDCOVER_FILE",
    "LATLON_FILES",
    "NOTES_FILE",
    "envi_header",
    "write_companions",
    "write_control",
    "write_notes",
]

LANDCOVER_FILE = "landcover.img"
"""The land-cover file (uint8, same grid and layout as the LAI files; 0 = not simulated)."""

CLUMPING_FILE = "clumping.img"
"""The clumping index Ω of a retrieval run (float32, same layout; 0 = none)."""

LATLON_FILES = ("latitude.img", "longitude.img")
"""Per-pixel latitude and longitude of the pixel centres (float32 degrees, same layout)."""

NOTES_FILE = "README_BEPS.txt"
"""What a user must know before running BEPS_D on the files."""


@dataclass(frozen=True)
class BepsControl:
    """The control-file entries modisoft cannot know (``[beps]`` in a run's config).

    Each ``None`` is written as a ``TO_FILL_<field>`` placeholder and listed as left for the
    user.  Paths are written as given (BEPS opens them relative to the folder it runs in).

    Parameters
    ----------
    display_cycle
        BEPS writes its outputs on days with ``jday % display_cycle == 0`` (1-366).
    npp_factor
        NPP multiplication factor of the byte outputs (BEPS_D's label says 20-20000).
    soil_water, snowpack, climate
        Soil available water capacity file, snowpack file, NCAR meteorological binary file.
    row_interpolation, column_interpolation, delta_row_interpolation,
    delta_column_interpolation, row_minimum_interpolation
        BEPS_D's five climate interpolation files.
    output_npp, output_respiration, output_evaporation, output_transpiration, output_site
        The five y/n output flags.
    """

    display_cycle: int | None = None
    npp_factor: float | None = None
    soil_water: str | None = None
    snowpack: str | None = None
    climate: str | None = None
    row_interpolation: str | None = None
    column_interpolation: str | None = None
    delta_row_interpolation: str | None = None
    delta_column_interpolation: str | None = None
    row_minimum_interpolation: str | None = None
    output_npp: bool | None = None
    output_respiration: bool | None = None
    output_evaporation: bool | None = None
    output_transpiration: bool | None = None
    output_site: bool | None = None


CONTROL_FIELDS: tuple[tuple[str, str], ...] = (
    ("Julian_day_start[1,366]", "start_day"),
    ("Julian_day_end[1,366]", "end_day"),
    ("Cycle_display_[1,366]", "display_cycle"),
    ("NPP_multiplication_factor_[20-20000]", "npp_factor"),
    ("Line_offset_(PCI_coordinate_system)", "line_offset"),
    ("Number_of_lines_(PCI_coordinate_system)", "n_lines"),
    ("Pixel_offset_(PCI_coordinate_system)", "pixel_offset"),
    ("Pixel_end_(number_of_pixels)", "n_pixels"),
    ("Soil_Available_water_holding_capacity_data_file", "soil_water"),
    ("Land_cover_data_file", "landcover"),
    ("LAI_data_file", "lai_stem"),
    ("Snowpack_data_file", "snowpack"),
    ("NCAR_binary_Data_File", "climate"),
    ("Row_interpolation_file", "row_interpolation"),
    ("Column_interpolation_File", "column_interpolation"),
    ("Delta_Row_INterpolation_File", "delta_row_interpolation"),
    ("Delta_Column_Interpolation_File", "delta_column_interpolation"),
    ("Row_Minimum_interpolation_file", "row_minimum_interpolation"),
    ("Output_NPP?", "output_npp"),
    ("Output_Plant_Respiration?", "output_respiration"),
    ("Output_Evaporation?", "output_evaporation"),
    ("Output_Transpiration?", "output_transpiration"),
    ("Output_Site?", "output_site"),
)
"""``readconf.c``'s 23 entries in its order: (label written, field).  The labels follow BEPS_D's
example ``xcand_94.con``; BEPS reads and ignores them."""


def check_window(window: Any, shape: tuple[int, int], where: Path
                 ) -> tuple[int, int, int, int]:
    """The control file's ``(line_offset, n_lines, pixel_offset, n_pixels)``: ``window``
    checked against the grid ``shape``, or the whole grid when ``None``."""
    ny, nx = shape
    if window is None:
        return (0, ny, 0, nx)
    lo, nl, po, npx = (int(v) for v in window)
    if lo < 0 or po < 0 or nl < 1 or npx < 1 or lo + nl > ny or po + npx > nx:
        raise OutputError(where, f"window {tuple(window)} (line_offset, n_lines, pixel_offset, "
                                 f"n_pixels) is outside the {ny} x {nx} grid")
    return (lo, nl, po, npx)


def envi_header(path: Path, grid: Any, *, data_type: int, description: str, band: str,
                ignore_zero: bool, overwrite: bool = True) -> Path:
    """ENVI header ``<file>.hdr`` for a single-band row-major file on ``grid``: size, type
    (1 = uint8, 4 = float32), map info (upper-left corner) and WKT; ``data ignore value = 0``
    only when ``ignore_zero`` (the value is really written)."""
    from pyproj.enums import WktVersion

    crs, t = grid.crs, grid.transform
    units = "Degrees" if crs.is_geographic else "Meters"
    text = "\n".join([
        "ENVI",
        f"description = {{{description}}}",
        f"samples = {grid.width}",
        f"lines = {grid.height}",
        "bands = 1",
        "header offset = 0",
        "file type = ENVI Standard",
        f"data type = {data_type}",
        "interleave = bsq",
        "byte order = 0",
        f"map info = {{Arbitrary, 1, 1, {t.c!r}, {t.f!r}, {t.a!r}, {-t.e!r}, units={units}}}",
        f"coordinate system string = {{{crs.to_wkt(WktVersion.WKT1_ESRI)}}}",
        *(["data ignore value = 0"] if ignore_zero else []),
        f"band names = {{{band}}}",
        "",
    ])
    header = path.with_name(path.name + ".hdr")
    with atomic_path(header, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return header


def write_companions(directory: Path, grid: Any, landcover: Any, given: bool,
                     opts: Any, clumping: Any = None) -> list[Path]:
    """The land-cover file (when there is one), the clumping-index file (when the run has
    one) and the latitude/longitude files.

    Parameters
    ----------
    directory
        The BEPS output folder.
    grid
        The grid of the LAI files.
    landcover
        uint8 ``(y, x)`` codes, 0 = not simulated, or ``None``.
    given
        Whether the codes come from a land cover (else a mask from the LAI).
    opts
        The :class:`~modisoft.write.BepsOptions` (``latlon``, ``overwrite``).
    clumping
        Ω ``(y, x)`` float32, NaN where there is none, or ``None``.

    Returns
    -------
    list of pathlib.Path
    """
    out = []
    if landcover is not None:
        path = directory / LANDCOVER_FILE
        with atomic_path(path, overwrite=opts.overwrite) as tmp:
            np.ascontiguousarray(landcover, np.uint8).tofile(tmp)
        what = "BEPS land-cover codes" if given else \
            "mask from the LAI (no land cover given): 100 = simulated, cover type unknown"
        out += [path, envi_header(path, grid, data_type=1, band="land cover",
                                  description=f"modisoft {what}; 0 = not simulated",
                                  ignore_zero=bool((landcover == 0).any()),
                                  overwrite=opts.overwrite)]
    if clumping is not None:
        path = directory / CLUMPING_FILE
        om = np.where(np.isfinite(clumping), clumping, 0).astype("<f4")
        with atomic_path(path, overwrite=opts.overwrite) as tmp:
            om.tofile(tmp)
        out += [path, envi_header(path, grid, data_type=4, band="clumping index",
                                  description="modisoft clumping index Omega of the LAI "
                                              "retrieval; 0 = none", ignore_zero=True,
                                  overwrite=opts.overwrite)]
    if opts.latlon:
        out += _write_latlon(directory, grid, opts.overwrite)
    return out


def _write_latlon(directory: Path, grid: Any, overwrite: bool) -> list[Path]:
    """float32 latitude and longitude of every pixel centre, one row band at a time."""
    xs, ys = grid.x_coords(), grid.y_coords()
    out = []
    with atomic_path(directory / LATLON_FILES[0], overwrite=overwrite) as tlat, \
            atomic_path(directory / LATLON_FILES[1], overwrite=overwrite) as tlon, \
            open(tlat, "wb") as flat, open(tlon, "wb") as flon:
        step = max(1, 2_000_000 // max(1, len(xs)))
        for r0 in range(0, len(ys), step):
            lon, lat = grid.lonlat(slice(r0, r0 + step))
            flat.write(np.asarray(lat, "<f4").tobytes())
            flon.write(np.asarray(lon, "<f4").tobytes())
    for name, what in zip(LATLON_FILES, ("latitude", "longitude"), strict=True):
        path = directory / name
        out += [path, envi_header(path, grid, data_type=4, band=what, ignore_zero=False,
                                  description=f"modisoft {what} of each pixel centre, degrees "
                                              "(WGS 84 / EPSG:4326)",
                                  overwrite=overwrite)]
    return out


def write_control(directory: Path, stem: str, files: list, grid: Any,
                  window: tuple[int, int, int, int], opts: Any,
                  observed: Any = None) -> tuple[Path, list[str], list[str]]:
    """BEPS_D's control file ``<stem>.con`` for one file set, in ``readconf.c``'s order.

    A file is covered when it has a valid LAI value and (with ``observed``, ``(first, last)``
    day spans of the inputs) its period meets an observation.  The start day is the first
    day of the first covered period; the end day the last day of the unbroken run of covered
    periods after it (BEPS exits at the first file it cannot open).

    Returns
    -------
    (pathlib.Path, list of str, list of str)
        The control file, the fields left as placeholders, and the suffixes whose file has
        no valid LAI (not covered by the control file's days).
    """
    def seen(f: Any) -> bool:
        return observed is None or f.start is None or f.end is None or \
            any(a <= f.end and f.start <= b for a, b in observed)

    covered = [f for f in files if f.counts["valid"] > 0 and seen(f)]
    uncovered = [f.suffix for f in files if f not in covered]
    run = covered[:1]  # no file with LAI: no day BEPS can run on, the user gives the days
    for f in covered[1:]:
        if f.start is None or run[-1].end is None or (f.start - run[-1].end).days != 1:
            break
        run.append(f)
    days = (None, None) if not run or run[0].start is None or run[-1].end is None else \
        (_doy(run[0].start), _doy(run[-1].end))  # undated files: the user gives the days
    lo, nl, po, npx = window
    known: dict[str, Any] = {
        "start_day": days[0], "end_day": days[1],
        "line_offset": lo, "n_lines": nl, "pixel_offset": po, "n_pixels": npx,
        "lai_stem": stem,
        "landcover": LANDCOVER_FILE if (directory / LANDCOVER_FILE).exists() else None}
    user = asdict(opts.control)
    rows, to_fill = [], []
    for label, key in CONTROL_FIELDS:
        value = known[key] if key in known else user[key]
        if value is None:
            to_fill.append(key)
            value = f"TO_FILL_{key}"
        elif isinstance(value, bool):
            value = "y" if value else "n"
        value = str(value)
        if not value or any(c.isspace() for c in value) or len(value) > 254:
            raise OutputError(directory, f"control entry {key} = {value!r} is empty, has "
                                         "whitespace or is over 254 characters (BEPS reads "
                                         "one token into char[255])")
        rows.append((label, value))
    width = max(len(label) for label, _ in rows) + 2
    path = directory / (opts.control_name or f"{stem}.con")
    with atomic_path(path, overwrite=opts.overwrite) as tmp:
        tmp.write_text("".join(f"{label:<{width}}{value}\n" for label, value in rows))
    return path, to_fill, uncovered


def _doy(d: date) -> int:
    return d.timetuple().tm_yday


def write_notes(directory: Path, out: Any, grid: Any, window: tuple[int, int, int, int],
                landcover_given: bool, opts: Any, simulated: int) -> list[Path]:
    """``README_BEPS.txt`` (what to compile and supply) and ``beps.json`` (what modisoft
    knows: grid, window and its simulated pixels, control files, periods, placeholders)
    beside the BEPS files."""
    overwrite = opts.overwrite
    latlon = (f"use {LATLON_FILES[0]} / {LATLON_FILES[1]} (float32, same layout) instead."
              if opts.latlon else
              "write them with [beps] latlon = true (BepsOptions(latlon=True)) for a model "
              "version that reads them.")
    ny, nx = grid.shape
    stock = grid.almost_equals(national_grid("beps_d_canada_1km"))
    controls = [p.name for p in out.controls]
    lines = [
        "BEPS_D input written by modisoft",
        "",
        f"Grid: {nx} pixels x {ny} lines, {grid.resolution[0]:g} CRS units per pixel.",
        f"Every file is row-major with a row stride of {nx} bytes (the grid width).",
    ]
    if stock:
        lines += ["This is BEPS_D's own Canadian grid (beps_d_canada_1km): stock BEPS_D",
                  "(NPIX_CAN = 5700) reads these files, and its latitudes (pixtolon.c) are",
                  "right for them."]
    else:
        lines += ["BEPS_D seeks line * NPIX_CAN + pixel_offset: compile it with",
                  f"NPIX_CAN = {nx} (and NLIN_CAN = {ny}) in beps.h, or it reads the wrong",
                  "bytes. BEPS_D computes each pixel's latitude from its own Canadian grid",
                  "(pixtolon.c, lcc_nad83.h), which is wrong for this grid:", latlon]
    lines += ["", f"Control file(s): {', '.join(controls)} (BEPS_D readconf.c order).",
              "Run BEPS from this folder: the control file names the LAI stem and the land",
              "cover relative to it.", ""]
    if out.to_fill:
        lines += ["To fill in before running BEPS (written as TO_FILL_<field>):",
                  *[f"  {k}" for k in out.to_fill], ""]
    if out.uncovered:
        lines += ["Files without any valid LAI or without any observation in their period",
                  "(the control file's end day stops before the first of them): "
                  + ", ".join(out.uncovered), ""]
    if simulated == 0:
        lines += [f"The window {list(window)} holds no simulated pixel (land cover 0 "
                  "everywhere in it): BEPS would simulate nothing.", ""]
    lc = (f"{LANDCOVER_FILE}: land cover mapped to BEPS_D codes; 0 = not simulated."
          if landcover_given else
          f"{LANDCOVER_FILE}: no land cover was given, so this is a mask from the LAI: 0 = "
          "not simulated (no LAI), 100 = simulated with BEPS_D's default parameters.")
    lines += [lc if (directory / LANDCOVER_FILE).exists() else
              "No land-cover file was written: supply one (0 = water, not simulated).", ""]
    notes = directory / NOTES_FILE
    with atomic_path(notes, overwrite=overwrite) as tmp:
        tmp.write_text("\n".join(lines))
    record = {
        "grid": {"shape": [ny, nx], "geotransform": list(grid.geotransform),
                 "crs_wkt": grid.crs.to_wkt(), "row_stride": nx,
                 "stock_beps_d_grid": stock},
        "window": dict(zip(("line_offset", "n_lines", "pixel_offset", "n_pixels"), window,
                           strict=True)),
        "window_simulated_pixels": simulated, "latlon": bool(opts.latlon),
        "control_files": controls, "to_fill": out.to_fill, "uncovered": out.uncovered,
        "landcover": {"file": LANDCOVER_FILE, "from": "land cover" if landcover_given
                      else "mask from the LAI"} if (directory / LANDCOVER_FILE).exists()
        else None,
        "files": [{"name": f.path.name, "suffix": f.suffix, "start": str(f.start),
                   "end": str(f.end), "counts": f.counts} for f in out.files],
    }
    meta = directory / "beps.json"
    with atomic_path(meta, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    return [notes, meta]
