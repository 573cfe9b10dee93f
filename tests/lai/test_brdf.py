"""The angular iteration converges on a synthetic coefficient table (no real coefficients
exist in modisoft; the numbers below are invented test inputs, not science)."""

from __future__ import annotations

import numpy as np
import pytest

from modisoft.lai import Curve, iterate_lai, load_brdf_table
from modisoft.lai.brdf import BrdfTable, chebyshev_u, li_sparse_r, ross_thick
from modisoft.lai.params import LaiParameterError

TOML = """
schema = "modisoft.lai.brdf/1"
source = "synthetic test table"
lai_range = [0.0, 8.0]
reference = { sza = 45.0, vza = 0.0, raz = 0.0 }
[[coefficients]]
cover_type = "grass"
band = "red"
f_iso = [1.0, -0.05]
f_vol = [0.05, 0.02]
f_geo = [0.03, -0.01]
source = "synthetic"
[[coefficients]]
cover_type = "grass"
band = "nir"
f_iso = [1.0, 0.03]
f_vol = [0.25, 0.05, 0.01]
f_geo = [0.02, 0.01]
source = "synthetic"
"""


def test_chebyshev_u_and_kernels_at_known_points():
    x = np.array([-1.0, 0.0, 0.5, 1.0])
    # U2(x) = 4x² − 1 and U3(x) = 8x³ − 4x (closed forms)
    np.testing.assert_allclose(chebyshev_u([0, 0, 1], x), 4 * x**2 - 1)
    np.testing.assert_allclose(chebyshev_u([0, 0, 0, 1], x), 8 * x**3 - 4 * x)
    # at nadir sun and view both kernels vanish: Ross-Thick (π/2·1 + 0)/2 − π/4 = 0, LSR 0
    assert ross_thick(0, 0, 0) == pytest.approx(0.0, abs=1e-12)
    assert li_sparse_r(0, 0, 0) == pytest.approx(0.0, abs=1e-12)


def test_iteration_converges_and_recovers_truth(tmp_path):
    p = tmp_path / "brdf.toml"
    p.write_text(TOML)
    table = load_brdf_table(p)
    curve = Curve("grass", "SR", "exponential", {"a": 14.0, "b": 13.0, "c": 0.6}, 8.0, "synthetic")
    rng = np.random.default_rng(0)
    laie = rng.uniform(0.3, 5.0, 500)
    sza, vza, raz = rng.uniform(20, 60, 500), rng.uniform(0, 50, 500), rng.uniform(0, 180, 500)
    red_ref = np.full(500, 0.05)
    nir_ref = (14.0 - 13.0 * np.exp(-0.6 * laie)) * red_ref
    ref = table.reference
    obs = {}
    for band, rho in (("red", red_ref), ("nir", nir_ref)):
        obs[band] = rho * (
            table.factor("grass", band, laie, sza, vza, raz)
            / table.factor("grass", band, laie, ref["sza"], ref["vza"], ref["raz"])
        )
    with np.errstate(invalid="ignore"):  # SR above a: saturated, counts as a large error
        naive = np.nan_to_num(-np.log((14.0 - obs["nir"] / obs["red"]) / 13.0) / 0.6, nan=8.0)
    got, iters, conv = iterate_lai(obs["red"], obs["nir"], sza, vza, raz, curve, table, tol=1e-6)
    assert conv.all() and iters.max() < 30
    np.testing.assert_allclose(got, laie, atol=1e-4)
    assert np.abs(naive - laie).max() > 0.05  # the geometry mattered


def test_table_needs_sources(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(TOML.replace('source = "synthetic"\n', 'source = ""\n', 1))
    with pytest.raises(LaiParameterError, match="source"):
        load_brdf_table(p)
    ok = tmp_path / "ok.toml"
    ok.write_text(TOML)
    assert isinstance(load_brdf_table(ok), BrdfTable)
