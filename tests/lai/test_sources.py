"""No coefficient in the LAI code or data lacks a source."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import modisoft.lai
from modisoft.lai.params import load_clumping, load_cover_mapping, load_curves

PKG = Path(modisoft.lai.__file__).parent
TRIVIAL = {0.0, 1.0, 2.0, 0.5, 100.0, 1e-3, 1e-6, 1e-8, 1e-9, 1e-12, 0.05, 0.1}


def _rows_with_numbers(doc, path=""):
    """Every table (dict) in a TOML document that holds a number directly."""
    if isinstance(doc, dict):
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in doc.values()):
            yield path, doc
        for k, v in doc.items():
            yield from _rows_with_numbers(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _rows_with_numbers(v, f"{path}[{i}]")


def test_every_data_row_with_a_number_has_a_source():
    checked = 0
    for f in sorted((PKG / "data").glob("*.toml")):
        doc = tomllib.loads(f.read_text())
        for where, row in _rows_with_numbers(doc):
            # a row's own source, or (for inline parameter tables / metadata) its parent's
            parent = doc
            for part in [p for p in where.replace("]", "").split(".") if p][:-1]:
                name, _, idx = part.partition("[")
                parent = parent[name] if not idx else parent[name][int(idx)]
            has = str(row.get("source", "")).strip() or (
                isinstance(parent, dict) and str(parent.get("source", "")).strip()
            )
            assert has, f"{f.name}{where}: numbers without a source: {row}"
            checked += 1
    assert checked > 20


def test_loaders_reject_rows_without_source(tmp_path):
    import pytest

    from modisoft.lai.params import LaiParameterError

    bad = tmp_path / "c.toml"
    bad.write_text(
        'schema = "modisoft.lai.curves/1"\n[[curve]]\ncover_type = "grass"\n'
        'index = "SR"\nform = "linear"\nlai_max = 6.0\nparams = { a = 0.0, b = 0.5 }\n'
        'source = " "\n'
    )
    with pytest.raises(LaiParameterError, match="source"):
        load_curves(bad)
    assert load_curves() and load_clumping() and load_cover_mapping("LC_Type3")


def test_float_literals_in_code_carry_a_source_comment():
    """A float literal that is not a trivial constant must sit on a line (or the line above)
    with a '# source:' comment."""
    missing = []
    for f in sorted(PKG.glob("*.py")):
        lines = f.read_text().splitlines()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is float:
                if abs(node.value) in TRIVIAL:
                    continue
                near = " ".join(lines[max(node.lineno - 3, 0) : node.lineno])
                if "source:" not in near:
                    missing.append(f"{f.name}:{node.lineno} {node.value}")
    assert not missing, "coefficients without a '# source:' comment: " + ", ".join(missing)
