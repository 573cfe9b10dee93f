"""The quantity each registry layer is written as: names and CF standard names, checked against
the CF Standard Name Table the IOOS compliance checker ships (an independent copy)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modisoft.products import LAI, all_products, get_product, quantity_of


def cf_table() -> dict[str, str]:
    """Standard name → canonical units, from compliance-checker's packaged table."""
    cc = pytest.importorskip("compliance_checker")
    text = (Path(cc.__file__).parent / "data" / "cf-standard-name-table.xml").read_text()
    return dict(re.findall(r'<entry id="([a-z0-9_]+)">\s*<canonical_units>([^<]*)<', text))


def test_every_standard_name_is_in_the_cf_table_with_matching_units():
    cf_units = pytest.importorskip("cf_units")
    table = cf_table()
    seen = set()
    for p in all_products():
        for layer in p.layers:
            if layer.kind != "value":
                continue
            q = quantity_of(layer)
            if q.standard_name is None:
                continue
            base, *modifier = q.standard_name.split()
            assert base in table, (p.name, layer.name, base)
            assert modifier in ([], ["standard_error"]), q.standard_name
            canon = table[base]  # UDUNITS equivalence, as CF asks (m2 m-2 is 1)
            assert cf_units.Unit(q.units).is_convertible(cf_units.Unit(canon)), \
                (p.name, layer.name, q.units, canon)
            seen.add(base)
    assert {"leaf_area_index", "normalized_difference_vegetation_index",
            "surface_temperature", "surface_albedo"} <= seen


@pytest.mark.parametrize(("product", "collection", "layer", "name"), [
    ("MCD15A2H", "061", "Lai_500m", "lai"),
    ("MCD15A2H", "061", "Fpar_500m", "fpar"),
    ("MCD15A2H", "061", "LaiStdDev_500m", "lai_stddev"),
    ("MOD13A2", "061", "1 km 16 days NDVI", "ndvi"),
    ("MOD13A2", "061", "1 km 16 days EVI", "evi"),
    ("MOD09A1", "061", "sur_refl_b01", "sur_refl_b01"),
])
def test_layers_are_named_for_what_they_hold(product, collection, layer, name):
    q = quantity_of(get_product(product, collection).layer(layer))
    assert q.name == name
    assert q.is_lai == (name == "lai")
    assert re.fullmatch(r"[a-z][a-z0-9_]*", q.name)


def test_lai_is_the_retrieved_quantity():
    assert LAI.is_lai and LAI.attrs()["standard_name"] == "leaf_area_index"
    assert LAI.attrs()["units"] == "m2 m-2"
