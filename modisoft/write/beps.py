"""BEPS LAI files: one uint8 row-major file per period, ENVI header, control file, sidecar.

The coding follows ``reference/BEPS.md`` (§1, §8), the contract of BEPS_D's ``readlai.c``:

* ``DN = round(10·LAI) + 1`` with LAI clipped to [0, 25.4] (round half up), so DN ∈ [1, 255];
  the model decodes ``LAI = (DN − 1)/10`` (and replaces a decoded 0 by 0.01).
* **DN 0 is written exactly where the written land cover is 0** (BEPS skips land cover 0,
  ``beps.c``): the given land cover's ``excluded_classes`` (e.g. water = 0) and, by default
  (``exclude_missing``), every pixel without LAI in some period.  Everywhere else DN 0 would
  decode to LAI −0.1.
* With ``exclude_missing=False`` a simulated pixel without an LAI value is coded
  ``nonveg_dn`` when its fill class is a non-vegetated class (MOD15 250–254: urban, wetland,
  snow/ice, barren, water) and ``fill_dn`` otherwise (fill 255, unclassified 249, or a gap
  the smoother left).  Both default to DN 1 (LAI 0); ``fill_dn=None`` makes such pixels an
  error instead.

Files are named ``<stem><suffix>``; the suffix scheme is configurable, with the BEPS_D day
table (``.001`` … ``.020`` by day of year, §2) as the default preset.  A run over several years
writes one set per year, ``<stem>_<year><suffix>``, each with its own control file.

Beside the LAI files (:mod:`modisoft.write.beps_model`): BEPS_D's positional control file, the
land-cover file on the same grid (0 where the pixel must not be simulated), per-pixel latitude
and longitude, a JSON record of what modisoft knows, and a README on running BEPS_D on them.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.products.beps import BEPS_D_STARTS
from modisoft.write._common import (
    OutputError,
    as_dataset,
    grid_of,
    period_bounds,
    sha256,
)
from modisoft.write.beps_blocks import (
    MAX_BEPS_LAI,
    MOD15_NONVEG_CLASSES,
    encode_beps,
    landcover_codes,
    write_periods,
)
from modisoft.write.beps_model import (
    BepsControl,
    check_window,
    envi_header,
    write_companions,
    write_control,
    write_notes,
)
from modisoft.write.provenance import Provenance, resolve_provenance

__all__ = [
    "SuffixScheme",
    "BEPS_D_DEKADS",
    "BepsOptions",
    "BepsControl",
    "BepsFile",
    "BepsOutput",
    "encode_beps",
    "decode_beps",
    "write_beps",
    "MAX_BEPS_LAI",
]


@dataclass(frozen=True)
class SuffixScheme:
    """File suffixes by day of year: suffix ``k`` covers days ``starts[k] … starts[k+1] − 1``.

    Parameters
    ----------
    starts
        First day of year of each suffix, ascending, the first being 1.
    digits
        Zero-padded width of the number.
    first
        Number of the first suffix.

    Examples
    --------
    >>> BEPS_D_DEKADS.suffix(date(1994, 4, 21))
    '.002'
    """

    starts: tuple[int, ...]
    digits: int = 3
    first: int = 1

    def __post_init__(self) -> None:
        s = tuple(int(v) for v in self.starts)
        if not s or s[0] != 1 or any(b <= a for a, b in itertools.pairwise(s)):
            raise OutputError("<suffix scheme>", f"starts must ascend from day 1, got {s}")
        object.__setattr__(self, "starts", s)

    def suffix(self, day: date) -> str:
        """The suffix of the file that holds ``day`` (by its day of year only, as BEPS does)."""
        k = bisect.bisect_right(self.starts, day.timetuple().tm_yday) - 1
        return f".{self.first + k:0{self.digits}d}"


BEPS_D_DEKADS = SuffixScheme(starts=BEPS_D_STARTS)
"""BEPS_D ``readlai.c``: ``.001`` for days < 111, ``.002`` 111–120, …, ``.020`` ≥ 294."""

SuffixSpec = SuffixScheme | str | Sequence[str] | Callable[[date], str]


@dataclass(frozen=True)
class BepsOptions:
    """How BEPS files are coded, named and described (maps one-to-one onto a config table).

    Parameters
    ----------
    suffixes
        ``"beps_d"`` (:data:`BEPS_D_DEKADS`, default), ``"index"`` (``.001``, ``.002``, … in
        time order), ``"doy"`` (``.DDD``, day of year of the period start), a
        :class:`SuffixScheme`, one suffix per time step, or a callable ``date -> str``.
    combine
        When several time steps map to one suffix (e.g. all dekads before 21 April →
        ``.001``): ``"error"`` (default), ``"mean"`` (NaN-skipping mean of LAI), ``"first"``
        or ``"last"``.
    excluded_classes
        Land-cover codes the model does not simulate; DN 0 is written there (needs
        ``landcover``).  Default ``(0,)``, water in the Canadian BEPS land cover.
    nonveg_classes
        Fill-class codes meaning non-vegetated (default MOD15 250–254).
    nonveg_dn, fill_dn
        DN for simulated pixels without LAI: non-vegetated / other.  1–255; ``fill_dn=None``
        raises instead.
    window
        ``(line_offset, n_lines, pixel_offset, n_pixels)`` for the control file; default the
        whole grid.  Files always span the whole grid with a row stride of the grid width;
        BEPS_D's is its compile-time ``NPIX_CAN`` (5700), so it reads them as written only on
        its own grid or when compiled with ``NPIX_CAN`` = the grid width.
    control
        The control-file entries modisoft cannot know (:class:`BepsControl`); those left
        ``None`` are written as ``TO_FILL_...`` placeholders and listed in
        :attr:`BepsOutput.to_fill`.
    control_name
        Control-file name; default ``"<stem>.con"``.
    exclude_missing
        Pixels without LAI in any period get land cover 0 (not simulated, DN 0 in every LAI
        file) — default, so no pixel without a value is simulated.  ``False``: they keep the
        given land cover and are coded ``nonveg_dn`` / ``fill_dn``.
    latlon
        Write ``latitude.img`` and ``longitude.img`` (float32 degrees of each pixel centre, the
        same layout) for model versions that read them.
    overwrite
        Replace existing files.
    """

    suffixes: Any = "beps_d"
    combine: str = "error"
    excluded_classes: tuple[int, ...] = (0,)
    nonveg_classes: tuple[int, ...] = MOD15_NONVEG_CLASSES
    nonveg_dn: int = 1
    fill_dn: int | None = 1
    window: tuple[int, int, int, int] | None = None
    control: BepsControl = field(default_factory=BepsControl)
    control_name: str | None = None
    exclude_missing: bool = True
    latlon: bool = True
    overwrite: bool = True

    def __post_init__(self) -> None:
        for key in ("nonveg_dn", "fill_dn"):
            v = getattr(self, key)
            if v is None and key == "fill_dn":
                continue
            if not isinstance(v, int | np.integer) or not 1 <= v <= 255:
                raise OutputError(
                    "<BepsOptions>",
                    f"{key} must be 1-255 (DN 0 is reserved for excluded pixels), got {v!r}",
                )
        if self.combine not in ("error", "mean", "first", "last"):
            raise OutputError(
                "<BepsOptions>",
                f"combine must be 'error', 'mean', 'first' or 'last', got {self.combine!r}",
            )
        object.__setattr__(self, "excluded_classes", tuple(int(c) for c in self.excluded_classes))
        object.__setattr__(self, "nonveg_classes", tuple(int(c) for c in self.nonveg_classes))


@dataclass(frozen=True)
class BepsFile:
    """One written period file: data, ENVI header, JSON sidecar, and what is in it."""

    path: Path
    header: Path
    sidecar: Path
    suffix: str
    start: date | None
    end: date | None
    time_indices: tuple[int, ...]
    counts: dict[str, int]


@dataclass(frozen=True)
class BepsOutput:
    """Everything :func:`write_beps` wrote.

    ``controls`` holds one control file per year (``control`` is the first); ``to_fill`` the
    control-file entries left as placeholders; ``uncovered`` the suffixes whose file has no
    valid LAI at all (the control file's end day stops before the first of them);
    ``companions`` the land-cover, latitude/longitude, README and JSON files."""

    files: list[BepsFile]
    controls: list[Path]
    to_fill: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    companions: list[Path] = field(default_factory=list)

    @property
    def control(self) -> Path:
        """The (first) control file."""
        return self.controls[0]


# ------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------
def decode_beps(dn: np.ndarray) -> np.ndarray:
    """Kernel: BEPS DN → LAI ``(DN − 1)/10`` as float32, NaN where DN = 0 (excluded).

    BEPS itself also replaces a decoded 0 (DN 1) by 0.01; this function does not.
    """
    d = np.asarray(dn).astype("float32")
    return np.where(d == 0, np.float32(np.nan), (d - 1) / np.float32(10))


# ------------------------------------------------------------------------------------------
# suffixes and period grouping
# ------------------------------------------------------------------------------------------
def _suffix_list(spec: SuffixSpec, bounds: list, n: int, where: Path) -> list[str]:
    if isinstance(spec, str) and spec in ("beps_d", "doy", "index"):
        if spec == "index":
            return [f".{i + 1:03d}" for i in range(n)]
        if not bounds:
            raise OutputError(where, f"suffixes={spec!r} needs a time coordinate")
        if spec == "beps_d":
            return [BEPS_D_DEKADS.suffix(s) for s, _ in bounds]
        return [f".{s.timetuple().tm_yday:03d}" for s, _ in bounds]
    if isinstance(spec, SuffixScheme) or callable(spec):
        if not bounds:
            raise OutputError(where, "a suffix scheme needs a time coordinate")
        fn = spec.suffix if isinstance(spec, SuffixScheme) else spec
        return [str(fn(s)) for s, _ in bounds]
    if isinstance(spec, str):
        raise OutputError(where, f"unknown suffix preset {spec!r}; use 'beps_d', 'doy', 'index'")
    out = [str(s) for s in spec]
    if len(out) != n:
        raise OutputError(where, f"{len(out)} suffixes given for {n} time steps")
    return out


def _groups(suffixes: list[str], combine: str, where: Path) -> list[tuple[str, list[int]]]:
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(suffixes):
        if not s or any(c.isspace() or c in "/\\" for c in s):
            raise OutputError(where, f"suffix {s!r} is empty or has whitespace or a slash")
        groups.setdefault(s, []).append(i)
    clash = {s: idx for s, idx in groups.items() if len(idx) > 1}
    if clash and combine == "error":
        raise OutputError(
            where,
            f"several time steps map to one file ({ {s: len(i) for s, i in clash.items()} }); "
            "choose BepsOptions(combine='mean'|'first'|'last') or other suffixes",
        )
    return sorted(groups.items())


# ------------------------------------------------------------------------------------------
# writer
# ------------------------------------------------------------------------------------------
def write_beps(
    lai: Any,
    directory: str | os.PathLike[str],
    *,
    stem: str = "lai",
    fill_class: Any = None,
    landcover: Any = None,
    provenance: Provenance | None = None,
    options: BepsOptions | None = None,
    clumping: Any = None,
    observed: Sequence[tuple[date, date]] | None = None,
) -> BepsOutput:
    """Write BEPS LAI files: per period ``<stem><suffix>`` (uint8, row-major, no header),
    ``<stem><suffix>.hdr`` (ENVI, so GDAL opens it), ``<stem><suffix>.json`` (provenance
    sidecar); BEPS_D's control file ``<stem>.con`` (one per year); ``landcover.img``,
    ``latitude.img``, ``longitude.img``, ``README_BEPS.txt`` and ``beps.json``.

    Parameters
    ----------
    lai
        LAI (true LAI for BEPS, ``reference/BEPS.md`` §5) as a ``DataArray`` with dims
        ``(time, y, x)`` or ``(y, x)``, NaN where missing, ``x``/``y`` centre coordinates and
        a ``spatial_ref`` coordinate.  ``time`` holds period starts; a ``period_end``
        coordinate, if present, is recorded.  Computed one row band (dask chunk) at a time.
    directory
        Existing output directory.
    stem
        File-name stem (BEPS's "LAI file stem").
    fill_class
        Fill-class codes (0 = valid; e.g. MOD15 249–255), same dims as ``lai`` or ``(y, x)``.
    landcover
        BEPS land-cover codes ``(y, x)`` (0-255) on the same grid, written as
        ``landcover.img`` with 0 for ``options.excluded_classes`` and (``exclude_missing``)
        for pixels without LAI; DN 0 exactly there.  Without it, ``landcover.img`` is a mask
        of the LAI (0 / :data:`~modisoft.products.beps.BEPS_MASK_CODE`), or with
        ``exclude_missing=False`` no land-cover file is written and no pixel gets DN 0.
    provenance
        Written to every sidecar (the grid is filled in if unset).
    clumping
        The clumping index Ω ``(y, x)`` on the same grid, written as ``clumping.img``
        (float32, 0 where there is none), or ``None``.
    observed
        The days the inputs cover, as ``(first, last)`` spans (e.g. each granule's
        compositing period): a file whose period meets none of them holds only values the
        smoother carried from elsewhere and is reported as not covered (the control file's
        end day stops before it).  ``None``: every file with a valid value is covered.
    options
        :class:`BepsOptions` (suffix scheme, combining, exclusion, DN for non-vegetated and
        fill pixels, control-file window and entries, lat/lon files).

    Returns
    -------
    BepsOutput
        The files written, with per-file pixel counts (``valid``, ``clipped``, ``nonveg``,
        ``fill``, ``excluded``), the control files, the control-file fields left to fill,
        the files without valid LAI, and the companion files.

    Raises
    ------
    OutputError
        Bad input or options, several periods mapping to one suffix with
        ``combine="error"``, or simulated pixels without LAI when ``fill_dn=None``.

    Examples
    --------
    >>> write_beps(lai, "beps/", stem="lai_2012", landcover=lc)  # doctest: +SKIP
    """
    opts = options or BepsOptions()
    directory = Path(directory)
    if not directory.is_dir():
        raise OutputError(directory, "the output directory does not exist")
    if not stem or any(c.isspace() or c in "/\\" for c in stem):
        raise OutputError(directory, f"stem {stem!r} is empty or has whitespace or a slash")
    ds = as_dataset(lai, None, directory)
    var = str(next(iter(ds.data_vars)))
    da = ds[var]
    if da.attrs.get("standard_name", "leaf_area_index") != "leaf_area_index":
        raise OutputError(directory, f"BEPS reads leaf area index only, not "
                          f"{da.attrs['standard_name']}", var)
    grid = grid_of(ds, directory)
    _check_grid(grid, directory)
    window = check_window(opts.window, grid.shape, directory)
    stack = da if "time" in da.dims else da.expand_dims("time", 0)
    if stack.dims != ("time", "y", "x"):
        raise OutputError(directory, f"dims {da.dims} must be (time, y, x) or (y, x)", var)
    fc = _aligned(fill_class, stack, "fill_class", directory)
    lc = landcover_codes(landcover, stack, opts, directory)
    bounds = period_bounds(ds)
    sets = _file_sets(stem, opts.suffixes, bounds, stack.shape[0], opts.combine, directory)
    prov = resolve_provenance(provenance, grid)
    om = None
    if clumping is not None:
        om = np.asarray(clumping.data if hasattr(clumping, "dims") else clumping, "float32")
        if om.shape != grid.shape:
            raise OutputError(directory, f"clumping shape {om.shape} is not the grid's "
                                         f"{grid.shape}")
    companions = write_companions(directory, grid, lc, landcover is not None, opts, om)
    files: list[BepsFile] = []
    controls, to_fill, uncovered = [], [], []
    for set_stem, groups in sets:
        written = _write_set(directory, set_stem, groups, stack, fc, lc, bounds, grid, prov, opts)
        files += written
        control, fill, gaps = write_control(directory, set_stem, written, grid, window, opts,
                                            observed)
        controls.append(control)
        to_fill = to_fill or fill
        uncovered += [f"{set_stem}{s}" for s in gaps]
    out = BepsOutput(files, controls, to_fill, uncovered, companions)
    lo, nl, po, npx = window
    simulated = nl * npx if lc is None else int((lc[lo:lo + nl, po:po + npx] != 0).sum())
    companions += write_notes(directory, out, grid, window, landcover is not None, opts,
                              simulated)
    return out


def _file_sets(stem: str, spec: SuffixSpec, bounds: list, n: int, combine: str,
               where: Path) -> list[tuple[str, list[tuple[str, list[int]]]]]:
    """``(stem, [(suffix, time indices)])`` per file set: one set, or one per year
    (``<stem>_<year>``) when the periods span several years (BEPS reads a suffix by day of
    year, so two years never share a file)."""
    suffixes = _suffix_list(spec, bounds, n, where)
    years = sorted({s.year for s, _ in bounds})
    if len(years) < 2:
        return [(stem, _groups(suffixes, combine, where))]
    out = []
    for year in years:
        idx = [i for i, (s, _) in enumerate(bounds) if s.year == year]
        groups = _groups([suffixes[i] for i in idx], combine, where)
        out.append((f"{stem}_{year}", [(suf, [idx[j] for j in loc]) for suf, loc in groups]))
    return out


def _write_set(directory: Path, stem: str, groups: list, stack: Any, fc: Any, lc: Any,
               bounds: list, grid: Any, prov: Any, opts: BepsOptions) -> list[BepsFile]:
    """The LAI files of one file set, their headers and sidecars."""
    files = []
    paths = [directory / f"{stem}{suffix}" for suffix, _ in groups]
    tchunks = getattr(stack.data, "chunks", None)
    if tchunks is not None and max(tchunks[0]) > 1:  # a chunk holds several periods: read
        batches = [list(range(len(groups)))]  # each row band once for all of them
    else:  # one file at a time (each complete file is kept if a later one fails)
        batches = [[k] for k in range(len(groups))]
    for b in batches:
        counts_b = write_periods(
            [paths[k] for k in b], stack, fc, lc, [groups[k][1] for k in b], opts
        )
        for k, counts in zip(b, counts_b, strict=True):
            (suffix, idx), path = groups[k], paths[k]
            start = bounds[idx[0]][0] if bounds else None
            ends = [bounds[i][1] for i in idx] if bounds else [None]
            end = None if None in ends else max(ends)
            when = f" Period {start} to {end}." if start is not None else ""
            header = envi_header(
                path, grid, data_type=1, band="LAI DN", ignore_zero=counts["excluded"] > 0,
                description="modisoft BEPS LAI: DN = round(10*LAI) + 1, LAI = (DN - 1)/10, "
                            f"DN 0 = pixel not simulated.{when}", overwrite=opts.overwrite)
            sidecar = prov.write_sidecar(
                path.with_name(path.name + ".json"),
                file={"name": path.name, "sha256": sha256(path), "format": "BEPS uint8",
                      "header": header.name, "rows": grid.height, "cols": grid.width},
                period={"start": start, "end": end, "suffix": suffix, "time_indices": idx,
                        "combine": opts.combine if len(idx) > 1 else None},
                beps=_coding_doc(opts, counts, lc is not None),
            )  # fmt: skip
            files.append(BepsFile(path, header, sidecar, suffix, start, end, tuple(idx), counts))
    return files


def _check_grid(grid: Any, where: Path) -> None:
    if not grid.is_rectilinear or grid.transform.a <= 0 or grid.transform.e >= 0:
        raise OutputError(where, "BEPS files need a north-up grid (no rotation, rows go south)")


def _aligned(arr: Any, stack: Any, what: str, where: Path) -> Any:
    """``arr`` as a ``(time, y, x)`` array (broadcast from ``(y, x)``), or ``None``."""
    if arr is None:
        return None
    a = arr.data if hasattr(arr, "dims") else np.asarray(arr)
    if a.ndim == 2:
        a = a[None]
    if a.shape[1:] != stack.shape[1:] or a.shape[0] not in (1, stack.shape[0]):
        raise OutputError(where, f"{what} shape {a.shape} does not match LAI {stack.shape}")
    return a


def _coding_doc(opts: BepsOptions, counts: dict[str, int], has_lc: bool) -> dict[str, Any]:
    return {
        "encode": "DN = floor(10*clip(LAI, 0, 25.4) + 0.5) + 1",
        "decode": "LAI = (DN - 1)/10; BEPS replaces a decoded 0 by 0.01",
        "dtype": "uint8",
        "layout": "row-major, single band, no header",
        "excluded_dn": 0,
        "excluded_classes": list(opts.excluded_classes) if has_lc else None,
        "nonveg_dn": opts.nonveg_dn,
        "nonveg_classes": list(opts.nonveg_classes),
        "fill_dn": opts.fill_dn,
        "counts": counts,
    }
