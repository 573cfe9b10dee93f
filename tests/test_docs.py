"""The generated products table matches the registry (docs cannot drift)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_products_table_is_generated_from_the_registry():
    spec = importlib.util.spec_from_file_location("gen_products", DOCS / "gen_products.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    committed = (DOCS / "reference" / "products.md").read_text()
    assert committed == mod.render(), "run `python docs/gen_products.py` and commit the result"
