"""Every registry entry against the attributes of the real sample files, and its consistency.

Where the registry intentionally differs from what a file stores, the layer's ``deviations``
must say why; the test fails on any undeclared difference.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sample_hdf4_files

from modisoft import inspect_granule
from modisoft.products import all_products, find_product, get_product
from modisoft.products.model import Layer


def _registered_layers():
    out = []
    seen = set()
    for path in sample_hdf4_files():
        info = inspect_granule(path)
        if info.product is None:
            continue
        struct = (info.product.key, tuple(sorted(info.sds)))
        if struct in seen and not path.name.startswith("MOD09A1"):
            continue  # the 46 MCD15A2 dates share one layout: check each layout once
        seen.add(struct)
        for name in info.sds:
            layer = info.product.find_layer(name)
            if layer is not None:
                out.append(pytest.param(path, layer, id=f"{path.name}:{name}"))
    return out


def _same(a, b) -> bool:
    return np.allclose(
        np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"), rtol=1e-7, atol=0
    )


@pytest.mark.parametrize("path, layer", _registered_layers())
def test_registry_matches_file_attributes(path, layer: Layer):
    info = inspect_granule(path)
    meta = info.sds[layer.name]
    attrs = meta["attrs"]
    assert meta["dtype"] == layer.dtype
    problems = []
    if "_FillValue" in attrs:
        if not set(np.atleast_1d(attrs["_FillValue"]).tolist()) <= set(layer.fill_values):
            problems.append("_FillValue")
    elif layer.fill_values:
        problems.append("_FillValue (absent in file)")
    if "valid_range" in attrs and (
        layer.valid_range is None or not _same(attrs["valid_range"], layer.valid_range)
    ):
        problems.append("valid_range")
    scale = attrs.get("scale_factor")
    offset = attrs.get("add_offset", 0.0)
    if scale is not None:
        if layer.scaling is None or not _same(scale, layer.scaling.scale):
            problems.append("scale_factor")
        elif not _same(offset or 0.0, layer.scaling.offset):
            problems.append("add_offset")
    elif layer.scaling is not None and not (
        layer.scaling.scale == 1.0 and layer.scaling.offset == 0.0
    ):
        problems.append("scale_factor (absent in file)")
    undeclared = [p for p in problems if p.split()[0] not in layer.deviations]
    assert not undeclared, f"{path.name}:{layer.name} differs from the file in {undeclared}"


def test_every_sample_product_is_registered():
    names = {inspect_granule(p).granule.product for p in sample_hdf4_files()}
    assert names, "no sample files found"
    for name in names:
        assert find_product(name) is not None, name


def test_required_products_present():
    required = {
        "MOD15A2": ["005"],
        "MCD15A2": ["005"],
        "MOD15A2H": ["006", "061"],
        "MYD15A2H": ["006", "061"],
        "MCD15A2H": ["006", "061"],
        "MCD15A3H": ["006", "061"],
        "MOD09A1": ["006", "061"],
        "MYD09A1": ["006", "061"],
        "MOD09GA": ["006", "061"],
        "MOD13A1": ["061"],
        "MOD13A2": ["006", "061"],
        "MOD13Q1": ["061"],
        "MYD13A1": ["061"],
        "MYD13A2": ["061"],
        "MYD13Q1": ["061"],
        "MOD11A1": ["006", "061"],
        "MOD11B2": ["006", "061"],
        "MCD43A3": ["006", "061"],
        "MCD12Q1": ["061"],
    }
    for name, colls in required.items():
        for c in colls:
            assert find_product(name, c) is not None, (name, c)


@pytest.mark.parametrize("product", all_products(), ids=lambda p: f"{p.name}.{p.collection}")
def test_registry_entries_are_consistent(product):
    assert product.source and product.title
    for layer in product.layers:
        info = np.iinfo(layer.dtype) if np.issubdtype(np.dtype(layer.dtype), np.integer) else None
        assert layer.source, layer.name
        for code in layer.nodata_codes:
            assert info is None or info.min <= code <= info.max, (layer.name, code)
        if layer.valid_range is not None and info is not None:
            lo, hi = layer.valid_range
            assert info.min <= lo <= hi <= info.max, layer.name
        if layer.kind == "value":
            assert layer.physical_range is not None, layer.name
            assert layer.units, layer.name
        else:
            assert layer.scaling is None, layer.name
        for fc in layer.fill_classes:
            assert fc.name.isidentifier(), fc


def test_lai_fill_classes_documented():
    lai = get_product("MCD15A2H", "061").layer("Lai_500m")
    assert {c.code: c.name for c in lai.fill_classes} == {
        249: "unclassified",
        250: "urban",
        251: "wetland",
        252: "snow_ice",
        253: "barren",
        254: "water",
        255: "fill",
    }
    sd = get_product("MCD15A2H", "061").layer("LaiStdDev_500m")
    assert 248 in [c.code for c in sd.fill_classes] and 248 not in lai.nodata_codes
    assert lai.keeps_classes and not get_product("MCD15A2H").layer("FparLai_QC").keeps_classes


def test_conventions_recorded_for_the_quirks():
    assert get_product("MOD13A2", "061").layer("1 km 16 days NDVI").scaling.convention == "divide"
    assert get_product("MOD09GA", "006").layer("sur_refl_b01_1").scaling.convention == "divide"
    assert get_product("MOD09A1", "006").layer("sur_refl_b01").scaling.scale == 0.0001
    assert get_product("MOD11A1", "006").layer("Day_view_angl").scaling.convention == "cf"
    raz = get_product("MOD09A1", "006").layer("sur_refl_raz")
    assert 0 not in raz.nodata_codes and "_FillValue" in raz.deviations
    assert get_product("MOD09GA", "006").layer("QC_500m_1").fill_values == (787410671,)


def test_lookup_and_errors():
    from modisoft.errors import RegistryError, UnknownLayerError

    assert get_product("mcd15a2h").collection == "061"
    assert get_product("MOD13A2", 61).collection == "061"
    with pytest.raises(RegistryError, match="registered collections: 005"):
        get_product("MCD15A2", "061")
    with pytest.raises(RegistryError, match="not registered"):
        get_product("NOPE01")
    with pytest.raises(UnknownLayerError, match="Lai_500m") as exc:
        get_product("MCD15A2H").layer("LAI")
    assert isinstance(exc.value, KeyError)


def test_roles_name_the_layers_the_name_rules_find():
    """Every product's roles against independent rules on its layer names: the LAI layer is the
    ``Lai*`` layer that is not a standard deviation, its QA word is ``FparLai_QC``, and the
    reflectance bands are those :func:`modisoft.lai.find_bands` recognises by name."""
    from modisoft.lai import find_bands

    class Names:  # a Dataset's layer names, for find_bands
        def __init__(self, names):
            self.data_vars = names

    for p in all_products():
        names = [x.name for x in p.layers]
        lai = next((n for n in names if n.lower().startswith("lai")
                    and "stddev" not in n.lower()), None)
        assert p.role_layer("lai") == lai, p.key
        assert p.role_layer("lai_qa") == ("FparLai_QC" if lai and "FparLai_QC" in names
                                          else None), p.key
        bands = {r: n for r, n in p.roles.items() if r in ("red", "nir", "swir", "blue")}
        assert bands == find_bands(Names(names)), p.key
    assert get_product("MOD09A1", "061").roles["swir"] == "sur_refl_b06"  # 1.6 um, not b07
    assert "swir" not in get_product("MOD13A2", "061").roles  # its MIR is band 7 (2.1 um)


def test_date_offsets_and_role_checks():
    offsets = {p.name: p.date_offset_days for p in all_products() if p.date_offset_days}
    assert offsets == {f"MYD13{k}": 8 for k in ("A1", "A2", "Q1")}  # Aqua VI: day 9, 25, ...
    from modisoft.products.model import Product

    lyr = Layer("Lai", "uint8")
    with pytest.raises(ValueError, match="unknown role 'leaf'"):
        Product("X", "001", "x", (lyr,), roles={"leaf": "Lai"})
    with pytest.raises(ValueError, match="not a layer"):
        Product("X", "001", "x", (lyr,), roles={"lai": "Lai_1km"})


def test_mod15_non_vegetated_classes():
    """The registry's non-vegetated MOD15 fill classes are the land-cover classes of the
    legend other than "unclassified", and what the BEPS writer codes as non-vegetated."""
    from modisoft.write.beps import MOD15_NONVEG_CLASSES

    for name in ("MCD15A2", "MOD15A2H", "MCD15A3H", "VNP15A2H"):
        p = get_product(name)
        lai = p.layer(p.role_layer("lai"))
        by_legend = tuple(c.code for c in lai.fill_classes
                          if c.meaning.startswith("land cover assigned as")
                          and "unclassified" not in c.meaning)
        assert lai.nonveg_codes == by_legend == MOD15_NONVEG_CLASSES, name
    assert MOD15_NONVEG_CLASSES == (250, 251, 252, 253, 254)  # QA.md §2: urban … water
