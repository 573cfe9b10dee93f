"""What to search NASA's archive for: a product, where (tiles, a bounding box or a grid) and
when, checked completely before any request."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from modisoft.errors import ConfigError, GridError, NotInCmrError, RegistryError

__all__ = ["Query", "make_query", "parse_dates"]

_DOY = re.compile(r"^(\d{4})(\d{3})$")
DAY_NIGHT = ("day", "night", "both")


@dataclass(frozen=True)
class Query:
    """A checked granule search.

    Attributes
    ----------
    product, version
        The CMR collection: short name and version (``"MOD15A2H"``, ``"061"``).
    start, end
        The acquisition dates, inclusive (a composite counts by its first day).
    tiles
        MODIS tile ids (``"h26v05"``), or empty for a bounding-box search.
    bbox
        ``(west, south, east, north)`` in degrees, or ``None``.
    day_night
        ``"day"``, ``"night"`` or ``None`` (both).
    """

    product: str
    version: str
    start: date
    end: date
    tiles: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    day_night: str | None = None


def parse_dates(text: str) -> tuple[date, date]:
    """A date range from ``2020-01-01..2020-12-31``, ``2020001..2020366`` (year and day of
    year), a single date, a year ``2020`` or years ``2019..2020``.

    Examples
    --------
    >>> parse_dates("2020")
    (datetime.date(2020, 1, 1), datetime.date(2020, 12, 31))
    >>> parse_dates("2020-01-01..2020049")[1]
    datetime.date(2020, 2, 18)
    """
    parts = [p.strip() for p in str(text).split("..")]
    if len(parts) > 2 or not all(parts):
        raise ConfigError(f"dates {text!r}: need a date, a year or 'FIRST..LAST' (2020-01-01.."
                          "2020-12-31, 2020001..2020366, 2019..2020)")
    first, last = _one_date(parts[0], text, end=False), _one_date(parts[-1], text, end=True)
    if last < first:
        raise ConfigError(f"dates {text!r}: the last date {last} is before the first {first}")
    return first, last


def _one_date(part: str, text: str, end: bool) -> date:
    try:
        if re.fullmatch(r"\d{4}", part):
            return date(int(part), 12, 31) if end else date(int(part), 1, 1)
        if m := _DOY.match(part):
            year, doy = int(m[1]), int(m[2])
            if not 1 <= doy <= (366 if date(year, 12, 31).timetuple().tm_yday == 366 else 365):
                raise ValueError(f"day of year {doy}")
            return date(year, 1, 1) + timedelta(days=doy - 1)
        return date.fromisoformat(part)
    except ValueError as exc:
        raise ConfigError(f"dates {text!r}: {part!r} is not a date ({exc}); use YYYY-MM-DD, "
                          "YYYYDDD or YYYY") from None


def make_query(product: str, *, dates: str | None = None, years: Sequence[int] = (),
               tiles: str | Sequence[str] | None = None,
               bbox: Sequence[float] | None = None, grid: str | None = None,
               collection: str | None = None, day_night: str | None = None) -> Query:
    """Check a search's parameters and resolve them into a :class:`Query`.

    Parameters
    ----------
    product
        Short name (``"MOD15A2H"``); the registry's newest collection unless ``collection``.
    dates, years
        When: a range (see :func:`parse_dates`) or whole years (one of them).
    tiles, bbox, grid
        Where (one of them): tile ids or a preset (``"h26v05,h27v05"``, ``"china22"``), a
        ``(west, south, east, north)`` box in degrees, or a named national grid (its tiles).
    collection
        The collection (``"061"``).
    day_night
        ``"day"``, ``"night"`` or ``"both"``.

    Returns
    -------
    Query

    Raises
    ------
    ConfigError
        A parameter is missing, malformed or out of range (the message names it).
    NotInCmrError
        The product is not one CMR serves.
    """
    from modisoft.grids import (
        invalid_tile_ids,
        modis_tiles_covering,
        national_grid_tiles,
        tile_ids,
    )
    from modisoft.products import cmr_collection, get_product

    try:
        prod = get_product(product, collection)
    except RegistryError as exc:
        raise ConfigError(str(exc).replace(" collection None", "")) from None
    cmr = cmr_collection(prod)
    if cmr is None:
        raise NotInCmrError(f"product {prod.name} collection {prod.collection} is not served "
                            "through NASA's CMR as modisoft knows it; CMR serves MODIS "
                            "collection 061 and VIIRS collection 002 products (download "
                            "other products by hand and point [inputs] paths at them)")
    if sum(x is not None and x != () for x in (tiles, bbox, grid)) != 1:
        raise ConfigError("where: give exactly one of tiles, a bounding box or a grid")
    if (dates is None) == (not years):
        raise ConfigError("when: give exactly one of dates or years")
    start, end = parse_dates(dates) if dates is not None else (
        date(min(years), 1, 1), date(max(years), 12, 31))
    ids: tuple[str, ...] = ()
    box = None
    if tiles is not None:
        ids = tuple(tile_ids(tiles))
        bad = invalid_tile_ids(ids)
        if bad or not ids:
            raise ConfigError(f"tiles: {', '.join(bad) or 'none given'} is not a MODIS tile; "
                              "need hHHvVV with HH 00-35 and VV 00-17, or a preset "
                              "(china18, china19, china22)")
    elif grid is not None:
        try:
            ids = tuple(national_grid_tiles(grid))
        except GridError as exc:
            raise ConfigError(f"grid: {exc}") from None
    else:
        box = _check_bbox(bbox)
        ids = tuple(f"h{h:02d}v{v:02d}" for h, v in modis_tiles_covering(box))
    if day_night not in (None, *DAY_NIGHT):
        raise ConfigError(f"day_night {day_night!r}: need one of {', '.join(DAY_NIGHT)}")
    return Query(cmr[0], cmr[1], start, end, ids, box,
                 None if day_night in (None, "both") else day_night)


def _check_bbox(bbox: Sequence[float] | None) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in bbox or ())
    except (TypeError, ValueError):
        raise ConfigError(f"bbox {bbox!r}: need four numbers WEST SOUTH EAST NORTH in "
                          "degrees") from None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"bbox {w}, {s}, {e}, {n}: need -180 <= west, east <= 180 and "
                          "-90 <= south < north <= 90 (degrees)")
    return w, s, e, n
