"""Quicklook of the three smoothers on real pixels: raw MCD15A2 LAI (2012, h17v03), its QA
weights (good_lai → 1, else 0) and the Whittaker (V-curve), LACC and Savitzky–Golay fits.

Run from the repository root with ``../shared`` beside it::

    python docs/examples/smooth_quicklook.py  # writes docs/images/smooth_quicklook.png
"""

from __future__ import annotations

from pathlib import Path

import dask
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

import modisoft
from modisoft.timeseries import smooth

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT.parent / "shared" / "sample-data"
# (row, col) in the 1200 × 1200 tile: grassland and forest pixels of Ireland and Britain
PIXELS = [(590, 640), (585, 700), (700, 1000), (900, 1100)]


def main(out: Path = ROOT / "docs" / "images" / "smooth_quicklook.png") -> Path:
    files = sorted(SAMPLE.glob("MCD15A2.A2012*.h17v03.005.*.hdf"))
    rows, cols = [p[0] for p in PIXELS], [p[1] for p in PIXELS]
    lai, qc, times = [], [], []
    with dask.config.set(scheduler="synchronous"):
        for f in files:
            ds = modisoft.open_granule(f, ["Lai_1km", "FparLai_QC"])
            lai.append(modisoft.decode(ds).Lai_1km.values[rows, cols])
            qc.append(ds.FparLai_QC.values[rows, cols])
            times.append(np.datetime64(ds.attrs["start_date"], "ns"))
    q = np.array(qc, dtype=np.uint8)
    w = ((q != 255) & ((q >> 5) <= 1) & (((q >> 3) & 3) == 0)).astype("float32")
    coords = {"time": times, "x": np.arange(len(PIXELS))}
    stack = xr.DataArray(np.array(lai)[:, None, :], dims=("time", "y", "x"),
                         coords={**coords, "y": [0]}, name="lai",
                         attrs={"plausible_range": [0.0, 10.0]})
    wts = xr.DataArray(w[:, None, :], dims=stack.dims, coords=stack.coords)
    days = np.arange(times[0].astype("datetime64[D]"), times[-1].astype("datetime64[D]") + 8)
    fits = {m: smooth(stack, m, weights=wts, at=days).lai.values[:, 0, :]
            for m in ("whittaker", "lacc", "savgol")}
    fig, axes = plt.subplots(len(PIXELS), 1, figsize=(9, 2.6 * len(PIXELS)), sharex=True)
    t = np.array(times)
    for k, ax in enumerate(axes):
        good = w[:, k] > 0
        ax.plot(t[~good], np.array(lai)[~good, k], "x", color="0.6", label="raw, weight 0")
        ax.plot(t[good], np.array(lai)[good, k], "o", color="k", ms=4, label="raw, good QA")
        for m, c in zip(fits, ("tab:blue", "tab:orange", "tab:green"), strict=True):
            ax.plot(days, fits[m][:, k], color=c, label=m)
        ax.set_ylabel("LAI (m² m⁻²)")
        ax.set_title(f"MCD15A2 h17v03 row {rows[k]}, column {cols[k]}", fontsize=9)
    axes[0].legend(ncol=5, fontsize=8, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    return out


if __name__ == "__main__":
    print(main())
