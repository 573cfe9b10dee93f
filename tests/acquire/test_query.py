"""What to search for, checked before any request: date forms, the places (tiles, a box, a
named grid), and the error a user sees for each mistake."""

from __future__ import annotations

from datetime import date

import pytest

from modisoft.acquire import make_query, parse_dates
from modisoft.errors import ConfigError


@pytest.mark.parametrize("text, want", [
    ("2020", (date(2020, 1, 1), date(2020, 12, 31))),
    ("2019..2020", (date(2019, 1, 1), date(2020, 12, 31))),
    ("2020-03-01..2020-10-31", (date(2020, 3, 1), date(2020, 10, 31))),
    ("2020061..2020366", (date(2020, 3, 1), date(2020, 12, 31))),  # 2020 is a leap year
    ("2021-07-04", (date(2021, 7, 4), date(2021, 7, 4))),
])
def test_date_forms(text, want):
    assert parse_dates(text) == want


@pytest.mark.parametrize("text, match", [
    ("2021366", "not a date"),  # 2021 has 365 days
    ("2020-02-30", "not a date"),
    ("2020-12-31..2020-01-01", "before the first"),
    ("2020..", "FIRST..LAST"),
])
def test_bad_dates_name_the_value(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_dates(text)


def test_places():
    assert make_query("MOD15A2H", tiles="h26v05,h27v05", years=[2020]).tiles == (
        "h26v05", "h27v05")
    assert len(make_query("MOD15A2H", tiles="china19", years=[2020]).tiles) == 19
    q = make_query("VNP15A2H", bbox=(116.0, 39.5, 117.0, 40.5), dates="2021")
    assert (q.product, q.version, q.tiles) == ("VNP15A2H", "002", ("h26v04", "h26v05",
                                                                    "h27v05"))
    assert make_query("MOD15A2H", grid="china_albers_500m", years=[2020]).tiles[-1] == "h29v08"


@pytest.mark.parametrize("kw, match", [
    ({"tiles": "h36v05", "years": [2020]}, "h36v05 is not a MODIS tile"),
    ({"years": [2020]}, "exactly one of tiles"),
    ({"tiles": "h26v05", "grid": "china_albers_1km", "years": [2020]}, "exactly one"),
    ({"tiles": "h26v05"}, "exactly one of dates or years"),
    ({"grid": "mars_1km", "years": [2020]}, "unknown national grid 'mars_1km'"),
    ({"bbox": (100, 40, 110, 30), "years": [2020]}, "south < north"),
    ({"tiles": "h26v05", "years": [2020], "day_night": "dusk"}, "day_night 'dusk'"),
])
def test_mistakes_are_named(kw, match):
    with pytest.raises(ConfigError, match=match):
        make_query("MOD15A2H", **kw)


def test_an_unknown_product_lists_the_registry():
    with pytest.raises(ConfigError,
                       match=r"'MOD99' is not registered; registered products: .*MOD15A2H"):
        make_query("MOD99", tiles="h26v05", years=[2020])
