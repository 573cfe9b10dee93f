"""Derive modisoft's default index → effective-LAI curves from PROSAIL simulations.

These are **model-derived defaults, not the Chen et al. (2002) or Deng et al. (2006)
coefficients** (those tables are not public; ``reference/ALGORITHMS.md`` §1.1, §2).

Recipe (every input in ``modisoft/lai/data/prosail_ranges.toml``, each with its source):

1. For each LAIe on a fixed grid and each point of an unscrambled Halton sequence over the
   leaf / structure / soil / sun-zenith box, run PROSAIL (PyPI ``prosail``: PROSPECT-5 + 4SAIL,
   nadir view) and average the 1 nm reflectance over the MODIS band 1, 2 and 6 limits (boxcar).
2. SR = NIR/red; RSR with SWIRmin/SWIRmax = the 1st/99th percentiles of all simulated band-6
   reflectances (recorded in the table).
3. The curve is the monotone lookup table (form ``lut``) through the **median** index of the
   samples at each LAIe of the grid (knots where the median stops increasing are dropped), for
   SR and RSR, per cover type.  A saturating exponential ``a − b·exp(−c·LAIe)`` was tried and
   rejected: the simulated median SR is sigmoid in LAIe and the exponential misses it by up to
   1.6 LAI units at high LAI.  The table's ``n``, ``r2``, ``rmse`` and ``bias`` score the curve
   against *all* samples, so they show the spread leaf and soil variability leave around it.

Deterministic: no random numbers.  Regenerating on the same numpy / numba / prosail versions
gives the shipped table bit for bit; across versions ``tests/lai/test_curves.py``
accepts a relative difference of 1e-6.

Usage::

    pip install 'modisoft[rt]'
    python scripts/derive_default_curves.py   # rewrites modisoft/lai/data/default_curves.toml
    python scripts/derive_default_curves.py -o out.toml
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modisoft.lai.calibrate import agreement  # noqa: E402
from modisoft.lai.curves import Curve, curve_lai  # noqa: E402
from modisoft.lai.params import data_path, write_curves  # noqa: E402

RANGES = data_path("prosail_ranges.toml")
OUT = data_path("default_curves.toml")
PARAMS = ("n", "cab", "cm", "cw_rel", "cbrown", "ala", "hspot", "psoil")


def load_ranges(path: Path = RANGES) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def halton_box(box: dict[str, dict], n: int, tts: tuple[float, float]) -> dict[str, np.ndarray]:
    """n unscrambled Halton points mapped onto the [min, max] box (+ sun zenith)."""
    from scipy.stats import qmc

    u = qmc.Halton(d=len(PARAMS) + 1, scramble=False).random(n + 1)[1:]  # skip the origin
    out = {
        k: box[k]["min"] + u[:, i] * (box[k]["max"] - box[k]["min"]) for i, k in enumerate(PARAMS)
    }
    out["tts"] = tts[0] + u[:, -1] * (tts[1] - tts[0])
    return out


def band_mean(spectrum: np.ndarray, lo_hi: list[int]) -> float:
    """Boxcar band average of a 400-2500 nm, 1 nm spectrum."""
    lo, hi = lo_hi
    return float(np.mean(spectrum[lo - 400 : hi - 400 + 1]))


def simulate(cfg: dict[str, Any], box: dict[str, dict]) -> dict[str, np.ndarray]:
    """PROSAIL red / NIR / SWIR over the LAI grid × Halton samples (flattened)."""
    import prosail

    g = cfg["lai_grid"]
    lai = np.arange(g["start"], g["stop"] + g["step"] / 2, g["step"])
    geo = cfg["geometry"]
    s = halton_box(box, int(cfg["n_samples"]["value"]), (geo["tts_min"], geo["tts_max"]))
    bands = cfg["bands_nm"]
    rows = {"lai": [], "red": [], "nir": [], "swir": []}
    for L in lai:
        for j in range(int(cfg["n_samples"]["value"])):
            cm = float(s["cm"][j])
            cw = cm * float(s["cw_rel"][j]) / (1.0 - float(s["cw_rel"][j]))
            rho = prosail.run_prosail(
                float(s["n"][j]),
                float(s["cab"][j]),
                float(cfg["car"]["value"]),
                float(s["cbrown"][j]),
                cw,
                cm,
                float(L),
                float(s["ala"][j]),
                float(s["hspot"][j]),
                float(s["tts"][j]),
                geo["tto"],
                geo["psi"],
                prospect_version=cfg["prospect_version"],
                typelidf=cfg["typelidf"]["value"],
                rsoil=float(cfg["rsoil"]["value"]),
                psoil=float(s["psoil"][j]),
            )
            rows["lai"].append(float(L))
            for b in ("red", "nir", "swir"):
                rows[b].append(band_mean(rho, bands[b]))
    return {k: np.array(v) for k, v in rows.items()}


def derive(cfg: dict[str, Any]) -> tuple[list[Curve], dict[str, Any]]:
    """The default curves (SR and RSR per cover type) and the generation metadata."""
    import prosail

    cache: dict[str, tuple[dict, float, float]] = {}
    curves: list[Curve] = []
    lo_p, hi_p = cfg["swir_percentiles"]["value"]
    for ct, box_name in cfg["cover_types"].items():
        if box_name not in cache:
            sim = simulate(cfg, cfg[box_name])
            smin, smax = (float(v) for v in np.percentile(sim["swir"], [lo_p, hi_p]))
            cache[box_name] = (sim, smin, smax)
        sim, smin, smax = cache[box_name]
        sr = sim["nir"] / sim["red"]
        rsr = np.maximum(sr * (smax - sim["swir"]) / (smax - smin), 0.0)
        for name, idx in (("SR", sr), ("RSR", rsr)):
            src = (
                f"model-derived default (NOT Chen et al. coefficients): PROSAIL "
                f"{prosail.__version__} simulations over the '{box_name}' ranges of "
                f"prosail_ranges.toml, median-index LUT by scripts/derive_default_curves.py"
            )
            grid = np.unique(sim["lai"])
            med = np.array([np.median(idx[sim["lai"] == v]) for v in grid])
            keep = np.concatenate([[True], np.diff(med) > 0]) & (med >= np.maximum.accumulate(med))
            c = Curve(
                ct,
                name,
                "lut",
                {"index_knots": med[keep].tolist(), "lai_knots": grid[keep].tolist()},
                float(grid[keep][-1]),
                src,
            )
            laie, _ = curve_lai(c, idx)
            st = agreement(laie, sim["lai"])
            extra: dict[str, Any] = {
                "n": st["n"],
                "r2": st["r2"],
                "rmse": st["rmse"],
                "bias": st["bias"],
            }
            if name == "RSR":
                extra.update(swir_min=smin, swir_max=smax)
            curves.append(Curve(ct, name, c.form, c.params, c.lai_max, src, extra))
    meta = {
        "title": "modisoft default index -> effective-LAI curves (model-derived, PROSAIL)",
        "source": "scripts/derive_default_curves.py; inputs modisoft/lai/data/prosail_ranges.toml",
        "lai_kind": "effective",
        "generation": {
            "prosail_version": prosail.__version__,
            "ranges_sha256": hashlib.sha256(RANGES.read_bytes()).hexdigest(),
            "fit": "monotone LUT through the median simulated index at each LAIe of the grid",
            "stats_note": "n, r2, rmse, bias: LAIe retrieved from the simulated index vs the "
            "simulated LAIe",
        },
    }
    return curves, meta


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=OUT)
    args = ap.parse_args(argv)
    cfg = load_ranges()
    curves, meta = derive(cfg)
    out = write_curves(
        curves,
        args.output,
        header=meta,
        comment="GENERATED by scripts/derive_default_curves.py - do not edit.\n"
        "Model-derived defaults (PROSAIL), NOT the Chen et al. (2002) "
        "coefficients.",
    )
    print(f"wrote {out} ({len(curves)} curves)")
    return out


if __name__ == "__main__":
    main()
