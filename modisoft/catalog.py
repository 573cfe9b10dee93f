"""Granule identity: what a file is, from its standard name *and* its own metadata.

A MODIS/VIIRS land file name reads ``PRODUCT.AYYYYDDD.hHHvVV.CCC.YYYYDDDHHMMSS.ext``
(swaths carry ``.HHMM`` instead of the tile; LTDR AVHRR files a platform such as ``.N14``).
The same facts live in the file's ``CoreMetadata.0`` (``LOCALGRANULEID``, ``SHORTNAME``,
``VERSIONID``, ``RANGEBEGINNINGDATE``, ``PRODUCTIONDATETIME``, tile numbers) and, for the tile,
in the grid corners.  The metadata wins
(a renamed file such as ``MOD11A1.hdf`` is still identified); any disagreement is reported.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from modisoft.errors import GranuleReadError, MetadataError

__all__ = [
    "YEARS",
    "GRANULE_SUFFIXES",
    "RASTER_SUFFIXES",
    "Granule",
    "find_files",
    "find_granules",
    "parse_filename",
    "text_path",
    "identity_from_metadata",
    "reconcile",
    "odl_value",
    "additional_attributes",
]

_NAME = re.compile(
    r"^(?P<product>[A-Z][A-Z0-9_]+)\.A(?P<year>\d{4})(?P<doy>\d{3})"
    r"(?:\.h(?P<h>\d{2})v(?P<v>\d{2})|\.(?P<hhmm>\d{4}))?"
    r"(?:\.(?P<platform>N\d{2}|TN|M\d{2}))?"
    r"\.(?P<collection>\d{3})\.(?P<prod>\d{13})(?:\.synthetic)?(?:\.(?P<ext>hdf|h5|nc|he5))?$",
    re.IGNORECASE,
)

# the date field alone: a name that starts like a standard one must carry a real date
_DATE_FIELD = re.compile(r"^[A-Z][A-Z0-9_]+\.A(?P<year>\d{4})(?P<doy>\d{3})(?:\.|$)", re.I)

YEARS = (1970, 2100)
"""The years a granule name's dates may carry (inclusive): satellite land products start with
TIROS-N AVHRR (1978); a year outside is a damaged or mistyped name."""

GRANULE_SUFFIXES = (".hdf", ".h5", ".he5", ".nc")
"""File name endings of granules (HDF4, HDF5, HDF-EOS5, netCDF)."""

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")
"""File name endings of rasters GDAL reads (land cover or clumping GeoTIFFs)."""


def find_files(
    patterns: Iterable[str | os.PathLike[str]],
    *,
    suffixes: tuple[str, ...] = GRANULE_SUFFIXES,
    base: str | os.PathLike[str] | None = None,
    recursive: bool = True,
    rejected: list[tuple[str, str]] | None = None,
) -> tuple[list[Path], list[str]]:
    """The files named by folders, globs or paths: the one finder of modisoft.

    A folder is searched recursively for files whose name ends in one of ``suffixes``
    (case-insensitive); a glob (or a plain path) gives the files it matches, whatever their
    names.

    Parameters
    ----------
    patterns
        Folders, glob patterns or file paths; ``~`` is expanded, and relative ones are
        relative to ``base`` (the current folder when ``None``).
    suffixes
        The file name endings a folder search keeps.
    base
        The folder relative patterns start from (a run's config folder).
    recursive
        Search folders recursively (the default) or only their own files.
    rejected
        When given, a file whose name is not valid UTF-8 is left out and appended here as
        ``(name with undecodable bytes as \\xNN, reason)`` (a batch goes on; else it raises
        :class:`~modisoft.errors.GranuleReadError`), and so is anything named like one of
        ``suffixes`` that is not a regular file (a folder, a dangling link or a loop of
        links, a pipe or a device; else it is left out silently).

    Returns
    -------
    (list of Path, list of str)
        The files found, sorted and without duplicates; the patterns (as given) that match
        nothing, in order.

    Examples
    --------
    >>> files, unmatched = find_files(["sample_tiles"])  # doctest: +SKIP
    """
    found: set[Path] = set()
    unmatched: list[str] = []
    for pattern in patterns:
        pattern = text_path(pattern)
        p = Path(pattern).expanduser()
        if base is not None and not p.is_absolute():
            p = Path(base) / p
        if p.is_dir():
            files = p.rglob("*") if recursive else p.iterdir()
            candidates = [q for q in files if q.suffix.lower() in suffixes]
        else:
            candidates = [Path(h) for h in sorted(glob.glob(str(p)))]
            if not candidates:
                unmatched.append(os.fspath(pattern))
        for q in candidates:
            if q.is_file():
                found.add(q)
            elif rejected is not None and q.suffix.lower() in suffixes:
                rejected.append((os.fsencode(q).decode("utf-8", "backslashreplace"),
                                 _not_a_file(q)))
    out = []
    for f in sorted(found):
        try:
            text_path(f)
        except GranuleReadError as exc:
            if rejected is None:
                raise
            rejected.append((exc.path, exc.reason))
            continue
        out.append(f)
    return out, unmatched


def _not_a_file(path: Path) -> str:
    """Why ``path``, named like a granule, is not one to read."""
    if path.is_symlink() and not path.exists():
        return "a symbolic link that leads nowhere (dangling, or a loop of links)"
    if path.is_dir():
        return "a folder named like a granule, not a file"
    return "not a regular file (a pipe, a device or a socket)"


def text_path(path: str | bytes | os.PathLike) -> str:
    """A path as text, or a :class:`~modisoft.errors.GranuleReadError` naming it when it is not
    valid UTF-8 (a ``bytes`` path, or a ``str`` holding ``surrogateescape`` characters).

    The HDF4 library, and the text attributes every output carries (source file, provenance),
    need names that are text; such a file or folder must be renamed.

    Examples
    --------
    >>> text_path(b"/data/MOD13A2.hdf")
    '/data/MOD13A2.hdf'
    """
    p = os.fsdecode(path)
    try:
        p.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(p).decode("utf-8", "backslashreplace")
        raise GranuleReadError(
            shown,
            "the file or folder name is not valid UTF-8 (undecodable bytes shown as \\xNN); "
            "rename it: the HDF libraries and the outputs' text metadata need text names",
        ) from None
    return p


@dataclass(frozen=True)
class Granule:
    """What one file is.

    Attributes
    ----------
    path
        The file.
    product, collection
        Short name (``"MOD13A2"``) and three-digit collection (``"061"``).
    tile
        ``(h, v)`` of a MODIS/VIIRS sinusoidal tile, or ``None``.
    nominal_date
        The nominal date of the ``AYYYYDDD`` field of the standard name (for most products the
        first day of the period; MCD43 names the centre day of its 16-day window).
    start_date, end_date
        The acquisition period from the metadata's range dates (``start_date`` falls back to
        ``nominal_date`` when the metadata has none).
    production_time
        When the granule was produced (UTC).
    granule_id
        The standard file name (``LOCALGRANULEID`` when the metadata has it).
    identified_from
        ``"filename"``, ``"metadata"`` or ``"filename+metadata"``.
    mismatches
        Human-readable disagreements between the file name and the metadata.
    """

    path: str
    product: str | None = None
    collection: str | None = None
    tile: tuple[int, int] | None = None
    nominal_date: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    production_time: datetime | None = None
    granule_id: str | None = None
    identified_from: str = "filename"
    mismatches: tuple[str, ...] = field(default=())

    @property
    def tile_id(self) -> str | None:
        """``"hHHvVV"`` or ``None``."""
        return None if self.tile is None else f"h{self.tile[0]:02d}v{self.tile[1]:02d}"

    def to_attrs(self) -> dict[str, Any]:
        """The identity as flat netCDF-safe attributes (strings and numbers only)."""
        out: dict[str, Any] = {}
        for key, val in (
            ("product", self.product),
            ("collection", self.collection),
            ("tile", self.tile_id),
            ("granule_id", self.granule_id),
            ("identified_from", self.identified_from),
        ):
            if val is not None:
                out[key] = val
        if self.nominal_date:
            out["nominal_date"] = self.nominal_date.isoformat()
        if self.start_date:
            out["start_date"] = self.start_date.isoformat()
        if self.end_date:
            out["end_date"] = self.end_date.isoformat()
        if self.production_time:
            out["production_time"] = self.production_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.mismatches:
            out["identity_mismatches"] = "; ".join(self.mismatches)
        return out


def parse_filename(path: str | os.PathLike[str]) -> Granule:
    """Identity from a standard file name; fields stay ``None`` when the name is not standard.

    Examples
    --------
    >>> g = parse_filename("MOD13A2.A2025001.h18v09.061.2025022080611.hdf")
    >>> g.product, g.collection, g.tile_id, g.start_date.isoformat()
    ('MOD13A2', '061', 'h18v09', '2025-01-01')

    Raises
    ------
    GranuleReadError
        When the name is not valid UTF-8, or starts like a standard name
        (``PRODUCT.AYYYYDDD.``) but its acquisition or production date is impossible (year 0,
        day 400, hour 25, a year outside :data:`YEARS`).
    """
    path = text_path(path)
    base = os.path.basename(path)
    head = _DATE_FIELD.match(base)
    m = _NAME.match(base)
    if head is None:
        return Granule(path=path, identified_from="none")
    start = _name_date(path, head["year"], head["doy"], "acquisition date A")
    if not m:
        return Granule(path=path, identified_from="none")
    p = m["prod"]
    prod_day = _name_date(path, p[:4], p[4:7], "production time ")
    hh, mm, ss = int(p[7:9]), int(p[9:11]), int(p[11:13])
    if hh > 23 or mm > 59 or ss > 60:
        raise GranuleReadError(
            path,
            f"file name production time {p} has the impossible time of day "
            f"{hh:02d}:{mm:02d}:{ss:02d}; accepted: YYYYDDDHHMMSS with HH 00-23, MM 00-59, "
            "SS 00-60",
        )
    prod_time = datetime(prod_day.year, prod_day.month, prod_day.day, tzinfo=UTC) + timedelta(
        hours=hh, minutes=mm, seconds=ss
    )
    tile = (int(m["h"]), int(m["v"])) if m["h"] is not None else None
    return Granule(
        path=path,
        product=m["product"].upper(),
        collection=m["collection"],
        tile=tile,
        nominal_date=start,
        start_date=start,
        production_time=prod_time,
        granule_id=os.path.basename(path),
        identified_from="filename",
    )


def _name_date(path: str, year: str, doy: str, what: str) -> date:
    """``YYYY`` + ``DDD`` of a file name as a date; a :class:`GranuleReadError` if impossible."""
    y, d = int(year), int(doy)
    lo, hi = YEARS
    if lo <= y <= hi:
        days = 366 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 365
        if 1 <= d <= days:
            return date(y, 1, 1) + timedelta(days=d - 1)
        why = f"day {doy} does not exist in {year} (1-{days})"
    else:
        why = f"year {year} is outside {lo}-{hi}"
    raise GranuleReadError(
        path,
        f"file name {what}{year}{doy} is not a valid date: {why}; accepted: YYYYDDD with YYYY "
        f"in {lo}-{hi} and DDD in 001-365 (366 in leap years); the name is damaged or mistyped",
    )


def odl_value(tree: Any, key: str) -> Any:
    """The ``VALUE`` of the first ``OBJECT=key`` anywhere in a parsed ODL tree, else ``None``."""
    if isinstance(tree, dict):
        if key in tree:
            obj = tree[key]
            obj = obj[0] if isinstance(obj, list) else obj
            if isinstance(obj, dict):
                return obj.get("VALUE")
            return obj
        for val in tree.values():
            found = odl_value(val, key)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for val in tree:
            found = odl_value(val, key)
            if found is not None:
                return found
    return None


def additional_attributes(tree: Any) -> dict[str, Any]:
    """``ADDITIONALATTRIBUTES`` containers (e.g. tile numbers) as ``{name: value}``."""
    out: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            name = node.get("ADDITIONALATTRIBUTENAME")
            if isinstance(name, dict) and "INFORMATIONCONTENT" in node:
                out[str(name.get("VALUE"))] = odl_value(
                    node["INFORMATIONCONTENT"], "PARAMETERVALUE"
                )
            for val in node.values():
                walk(val)
        elif isinstance(node, list):
            for val in node:
                walk(val)

    walk(tree)
    return out


def _parse_date(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _parse_time(text: Any) -> datetime | None:
    s = str(text).strip().rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _as_int(v: Any) -> int | None:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return None


def identity_from_metadata(
    path: str, core: dict[str, Any] | None, grid_tile: tuple[int, int] | None = None
) -> Granule:
    """Identity from a parsed ``CoreMetadata`` tree (and the tile found from grid corners)."""
    core = core or {}
    gid = odl_value(core, "LOCALGRANULEID")
    try:
        from_id = parse_filename(str(gid)) if gid else Granule(path=path, identified_from="none")
    except GranuleReadError as exc:
        raise MetadataError(path, f"CoreMetadata LOCALGRANULEID: {exc}") from None
    product = odl_value(core, "SHORTNAME") or from_id.product
    version = odl_value(core, "VERSIONID")
    collection = f"{int(version):03d}" if _as_int(version) is not None else from_id.collection
    extra = additional_attributes(core)
    h, v = _as_int(extra.get("HORIZONTALTILENUMBER")), _as_int(extra.get("VERTICALTILENUMBER"))
    tile = (h, v) if h is not None and v is not None else (grid_tile or from_id.tile)
    start = _parse_date(odl_value(core, "RANGEBEGINNINGDATE")) or from_id.start_date
    end = _parse_date(odl_value(core, "RANGEENDINGDATE"))
    prod_time = _parse_time(odl_value(core, "PRODUCTIONDATETIME")) or from_id.production_time
    known = any(x is not None for x in (product, collection, start))
    return Granule(
        path=path,
        product=str(product).upper() if product else None,
        collection=collection,
        tile=tile,
        nominal_date=from_id.nominal_date,
        start_date=start,
        end_date=end,
        production_time=prod_time,
        granule_id=str(gid) if gid else None,
        identified_from="metadata" if known else "none",
    )


def reconcile(
    from_name: Granule, from_meta: Granule, grid_tile: tuple[int, int] | None = None
) -> Granule:
    """Merge the two identities; the metadata wins and disagreements are listed.

    The file name's nominal date must equal the metadata's (``LOCALGRANULEID``) and lie inside
    the metadata's range dates; MCD43 names the centre of its 16-day window, so the nominal date
    is not compared with the range start.  A grid whose corners match a different tile than the
    metadata also counts as a mismatch.
    """
    if from_meta.identified_from == "none":
        return from_name
    if from_name.identified_from == "none":
        merged = from_meta
    else:
        merged = replace(from_meta, identified_from="filename+metadata")
    problems = []
    pairs = (
        ("product", from_name.product, from_meta.product),
        ("collection", from_name.collection, from_meta.collection),
        ("tile", from_name.tile_id, from_meta.tile_id),
        ("date", from_name.nominal_date, from_meta.nominal_date),
    )
    if from_name.identified_from != "none":
        for what, a, b in pairs:
            if a is not None and b is not None and a != b:
                problems.append(f"file name says {what} {a} but the metadata says {b}")
    nominal, start, end = from_name.nominal_date, from_meta.start_date, from_meta.end_date
    if nominal and start and end and not start <= nominal <= end:
        problems.append(
            f"file name date {nominal} is outside the metadata's range {start} to {end}"
        )
    if grid_tile is not None and from_meta.tile is not None and grid_tile != from_meta.tile:
        problems.append(
            f"grid corners are those of tile h{grid_tile[0]:02d}v{grid_tile[1]:02d} but the "
            f"metadata says {from_meta.tile_id}"
        )
    return replace(merged, path=from_name.path, mismatches=tuple(problems))


def find_granules(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    product: str | None = None,
    start: date | None = None,
    end: date | None = None,
    tiles: Iterable[str] | None = None,
) -> list[Granule]:
    """Granules among files and folders (not recursive), filtered by product, dates and tiles.

    Identity comes from the standard file name; files without one are kept only when no
    filter is given.  Sorted by product, tile and date.

    Examples
    --------
    >>> gs = find_granules(["sample-data"], product="MCD15A2")  # doctest: +SKIP
    """
    files, missing = find_files(inputs, recursive=False)
    if missing:
        raise GranuleReadError(missing[0], "no such file or folder")
    paths = [os.fspath(f) for f in files]
    want_tiles = None if tiles is None else {t.lower() for t in tiles}
    filtered = product is not None or start or end or want_tiles
    out = []
    for p in paths:
        g = parse_filename(p)
        if g.product is None:
            if not filtered:
                out.append(g)
            continue
        if product is not None and g.product.upper() != product.upper():
            continue
        d = g.nominal_date
        if (start and d < start) or (end and d > end):
            continue
        if want_tiles is not None and (g.tile_id or "").lower() not in want_tiles:
            continue
        out.append(g)
    return sorted(out, key=lambda g: (g.product or "", g.tile_id or "", g.nominal_date or date.min))
