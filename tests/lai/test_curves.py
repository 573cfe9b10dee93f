"""The shipped default curves regenerate from scripts/derive_default_curves.py.

Tolerance: relative 1e-6 on every number (bit-for-bit on the same numpy/numba/prosail; the
PROSAIL arithmetic is deterministic but floating-point dependent across versions).  Skipped,
and reported as such, when the optional ``prosail`` package (``modisoft[rt]``) is absent.
"""

from __future__ import annotations

import importlib.util
import math
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_default_table_regenerates(tmp_path):
    pytest.importorskip("prosail")
    spec = importlib.util.spec_from_file_location(
        "derive", ROOT / "scripts" / "derive_default_curves.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(["-o", str(tmp_path / "regen.toml")])
    new = tomllib.loads(out.read_text())
    old = tomllib.loads((ROOT / "modisoft/lai/data/default_curves.toml").read_text())
    assert new["generation"]["ranges_sha256"] == old["generation"]["ranges_sha256"]
    assert len(new["curve"]) == len(old["curve"]) == 14

    def close(a, b, where):
        if isinstance(a, dict):
            assert a.keys() == b.keys(), where
            for k in a:
                close(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, list):
            assert len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                close(x, y, f"{where}[{i}]")
        elif isinstance(a, float):
            assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12), (where, a, b)
        else:
            assert a == b, where

    for i, (a, b) in enumerate(zip(new["curve"], old["curve"], strict=True)):
        close(a, b, f"curve[{i}]")


def test_defaults_are_labelled_model_derived():
    text = (ROOT / "modisoft/lai/data/default_curves.toml").read_text()
    assert "NOT the Chen et al. (2002) coefficients" in text
    doc = tomllib.loads(text)
    assert all("NOT Chen et al. coefficients" in c["source"] for c in doc["curve"])
