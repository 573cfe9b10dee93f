"""Compositing periods: calendar dekads (BEPS 10-day), pentads, months, N-day windows.

* ``"dekad"`` / ``"beps10"``: three per month, 1–10, 11–20 and 21–end (8–11 days) — the
  calendar dekads that BEPS's 10-day LAI files follow (``reference/BEPS.md`` §2);
* ``"pentad"``: six per month, 1–5, …, 21–25 and 26–end (3–6 days);
* ``"month"``;
* ``"8day"``, ``"16day"`` or any ``"<N>day"``: windows of N days from 1 January of each year,
  the last one of the year shorter (the MODIS compositing calendar for 8 and 16);
* ``"beps_d"``: BEPS_D's own day table (``readlai.c``, ``reference/BEPS.md`` §2): twenty
  periods per year by **day of year alone**, in leap and non-leap years alike: ``.001`` = days
  1–110, ``.002`` = 111–120, …, ``.020`` = 294 to the end of the year.  These are the days on
  which BEPS reads each file, so the first and the last period are cut to the run's days
  (``.001`` from the run's first day, ``.020`` to its last);
* ``"beps_d_guide"``: the same table with the BEPS guide's meaning of the open ends
  (``.001`` = days 101–110, April 11–20 in a non-leap year; ``.020`` = days 294–304,
  October 21–31), the Canadian growing season.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from modisoft.errors import TimeSeriesError
from modisoft.products.beps import BEPS_D_STARTS

__all__ = ["Period", "periods"]

_BEPS_GUIDE_ENDS = (101, 304)
"""The BEPS guide's first day of ``.001`` and last day of ``.020`` (April 11 and October 31 of a
non-leap year)."""


@dataclass(frozen=True)
class Period:
    """One compositing window, inclusive of both ends."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_parts(year: int, month: int, cuts: tuple[int, ...], kind: str) -> list[Period]:
    last = calendar.monthrange(year, month)[1]
    out = []
    bounds = [*cuts, last + 1]
    for k, (a, b) in enumerate(pairwise(bounds)):
        out.append(Period(date(year, month, a), date(year, month, b - 1),
                          f"{year}-{month:02d}-{kind}{k + 1}"))
    return out


def periods(kind: str, start: date, end: date) -> list[Period]:
    """The periods of ``kind`` that overlap ``[start, end]``.

    Examples
    --------
    >>> [p.days for p in periods("dekad", date(2012, 2, 1), date(2012, 2, 29))]
    [10, 10, 9]
    """
    kind = kind.lower()
    out: list[Period] = []
    if kind in ("beps_d", "beps_d_guide"):
        return _beps_d(kind, start, end)
    if kind in ("dekad", "beps10", "month", "pentad"):
        cuts = {"dekad": (1, 11, 21), "beps10": (1, 11, 21), "month": (1,),
                "pentad": (1, 6, 11, 16, 21, 26)}[kind]
        tag = {"dekad": "d", "beps10": "d", "month": "m", "pentad": "p"}[kind]
        y, m = start.year, start.month
        while date(y, m, 1) <= end:
            out += _month_parts(y, m, cuts, tag)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    else:
        match = re.fullmatch(r"(\d+)day", kind)
        if not match or int(match[1]) < 1:
            raise TimeSeriesError(f"unknown period kind {kind!r}; use 'beps_d', "
                                  "'beps_d_guide', 'dekad' (alias 'beps10'), 'pentad', "
                                  "'month' or '<N>day' such as '8day'")
        n = int(match[1])
        for year in range(start.year, end.year + 1):
            d = date(year, 1, 1)
            while d.year == year:
                e = min(d + timedelta(days=n - 1), date(year, 12, 31))
                out.append(Period(d, e, f"{year}-{d.timetuple().tm_yday:03d}"))
                d = e + timedelta(days=1)
    return [p for p in out if p.end >= start and p.start <= end]


def _beps_d(kind: str, start: date, end: date) -> list[Period]:
    """BEPS_D's day table over ``[start, end]``: its periods by day of year, the open ends
    cut to ``[start, end]`` (``"beps_d"``) or to the guide's days (``"beps_d_guide"``)."""
    out = []
    for year in range(start.year, end.year + 1):
        jan1 = date(year, 1, 1)
        last_doy = 366 if calendar.isleap(year) else 365
        bounds = [*BEPS_D_STARTS, last_doy + 1]
        for k, (a, b) in enumerate(pairwise(bounds)):
            if kind == "beps_d_guide":
                a = _BEPS_GUIDE_ENDS[0] if k == 0 else a
                b = _BEPS_GUIDE_ENDS[1] + 1 if k == len(BEPS_D_STARTS) - 1 else b
            p0 = max(jan1 + timedelta(days=a - 1), start)
            p1 = min(jan1 + timedelta(days=b - 2), end)
            if p0 <= p1:
                out.append(Period(p0, p1, f"{year}-beps{k + 1:03d}"))
    return out
