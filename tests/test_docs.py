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


def test_smoothing_quicklook_example_writes_a_png(tmp_path):
    """docs/examples/smooth_quicklook.py runs on the real 2012 h17v03 year and writes a PNG."""
    import pytest
    from conftest import SAMPLE_DIR

    if len(list(SAMPLE_DIR.glob("MCD15A2.A2012*.h17v03.005.*.hdf"))) != 46:
        pytest.skip("the 46 MCD15A2 h17v03 2012 files are not present")
    spec = importlib.util.spec_from_file_location("quicklook",
                                                  DOCS / "examples" / "smooth_quicklook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(tmp_path / "q.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
