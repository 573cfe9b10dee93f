"""Default-curve retrieval on the real MOD13A1 reflectance series of ten flux sites.

Input: ``phenofit_MOD13A1_10fluxsites_2000-2018.csv`` (MOD13A1 C6 red = b1, NIR = b2, raw
×1e-4; SummaryQA 0/1 kept), the site's IGBP class mapped with the shipped LC_Type1 table and
Ω per cover type.  Expectations (stated per site; sources in the comments) are about range and
timing only: the default curves are model-derived, not calibrated to these sites.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import SAMPLE_DIR

from modisoft.lai import default_params, retrieve_lai

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("lai/test_sites")

CSV = SAMPLE_DIR / "phenofit_MOD13A1_10fluxsites_2000-2018.csv"
IGBP = {
    "GRA": 10,
    "WSA": 8,
    "OSH": 7,
    "CRO": 12,
    "MF": 5,
    "WET": 11,
    "ENF": 1,
    "DBF": 4,
    "CSH": 6,
    "SAV": 9,
}  # IGBP abbreviations → MCD12Q1 LC_Type1 codes (PRODUCTS.md §9)


@pytest.fixture(scope="module")
def monthly():
    if not CSV.exists():
        pytest.skip("flux-site CSV not present")
    d = pd.read_csv(CSV)
    p = default_params()
    out = {}
    for site, g in d.groupby("site"):
        g = g[g.SummaryQA <= 1]  # 0 good, 1 marginal (QA.md §3.2)
        ds = xr.Dataset(
            {
                "500m 16 days red reflectance": ("t", g.sur_refl_b01.to_numpy() / 1e4),
                "500m 16 days NIR reflectance": ("t", g.sur_refl_b02.to_numpy() / 1e4),
            }
        )
        lc = xr.DataArray(np.full(len(g), IGBP[g.IGBPname.iloc[0]], "uint8"), dims="t")
        res = retrieve_lai(ds, lc, p, return_dataset=True)
        month = pd.to_datetime(g.date).dt.month.to_numpy()
        lai = res.lai.to_numpy()
        med = {
            m: float(np.nanmedian(lai[month == m]))
            if np.isfinite(lai[month == m]).any()
            else np.nan
            for m in range(1, 13)
        }
        out[site] = (med, res.lai_flag.to_numpy(), lai)
    return out


def _mean(med, months):
    return float(np.nanmean([med[m] for m in months]))


def test_changbaishan_mixed_forest(monthly):
    """CN-Cha: temperate broadleaf–Korean pine mixed forest (IGBP MF), 42.4 N.  Expectation:
    leaf-on peak in Jun–Aug well above winter (Dec–Feb, deciduous part leafless, evergreen part
    left); summer LAI in the range of temperate forests (3–7 m²/m²; MODIS C6 validation puts
    forest LAI mostly below 7, ALGORITHMS.md §6).  Source for the cover and latitude: the CSV's
    site table (IGBPname, lat)."""
    med, flag, _ = monthly["CN-Cha"]
    summer, winter = _mean(med, (6, 7, 8)), _mean(med, (12, 1, 2))
    print(f"CN-Cha monthly median LAI: {[round(med[m], 2) for m in range(1, 13)]}")
    assert 3.0 <= summer <= 7.0
    assert winter < 1.5 and summer - winter > 2.5
    peak = max(range(1, 13), key=lambda m: med[m])
    assert peak in (6, 7, 8)
    assert (flag <= 2).all()


@pytest.mark.parametrize(
    ("site", "season_hi", "season_lo"),
    [
        ("IT-Col", (6, 7, 8), (12, 1, 2)),  # deciduous beech forest, 41.8 N: summer leaf-on
        ("AT-Neu", (6, 7, 8), (12, 1, 2)),  # alpine meadow, 47.1 N: summer growing season
        ("AU-How", (1, 2, 3), (8, 9, 10)),  # tropical savanna, 12.5 S: wet season Dec-Apr
        ("ZA-Kru", (1, 2, 3), (7, 8, 9)),  # southern-African savanna, 25 S: summer rains
    ],
)
def test_seasonal_timing_by_hemisphere_and_climate(monthly, site, season_hi, season_lo):
    """Expectation: the growing season (from latitude and climate type of the CSV's site
    table; wet-season timing of the tropical sites is general climatology, a stated choice)
    has a higher median LAI than the dormant/dry season; no value is negative and none exceeds
    the saturation bound lai_max / Ω of the site's curve (≤ 7.75 / 0.7 ≈ 11.1 for deciduous)."""
    med, _, lai = monthly[site]
    assert _mean(med, season_hi) > _mean(med, season_lo) + 0.3
    assert np.nanmax(lai) <= 7.75 / 0.7 + 1e-3 and np.nanmin(lai) >= 0.0
    assert np.nanmedian(lai) < 4.0  # a median over all seasons far below saturation


def test_wetland_is_coded_not_retrieved(monthly):
    _, flag, lai = monthly["CZ-wet"]  # IGBP 11 permanent wetland → not vegetated in the table
    assert (flag == 10).all() and np.isnan(lai).all()


def test_evergreen_needleleaf_keeps_winter_lai(monthly):
    """DE-Obe (spruce, IGBP ENF): evergreen, so winter LAI stays well above zero (> 1.0) and
    the summer median is in the forest range 2–8."""
    med, _, _ = monthly["DE-Obe"]
    assert _mean(med, (12, 1, 2)) > 1.0 and 2.0 <= _mean(med, (6, 7, 8)) <= 8.0
