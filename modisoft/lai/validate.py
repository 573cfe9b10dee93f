"""Compare a retrieved LAI with a reference: statistics per cover type and a density plot."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import ModisoftError
from modisoft.lai.calibrate import agreement
from modisoft.write._common import atomic_path

__all__ = ["validation_stats", "density_plot"]


def _arr(a: Any) -> np.ndarray:
    return np.asarray(a.values if hasattr(a, "values") else a, dtype="float64")


def validation_stats(
    lai: Any, reference: Any, cover: Any = None, cover_types: Sequence[str] = ()
) -> dict[str, dict[str, float]]:
    """n, R², RMSE and bias (retrieved − reference) overall (``"all"``) and per cover type.

    ``cover`` holds cover codes 1..n (names from ``cover_types``), broadcast against ``lai``.
    """
    p, r = _arr(lai), _arr(reference)
    if p.shape != r.shape:
        raise ModisoftError(f"retrieved LAI {p.shape} and reference {r.shape} differ in shape")
    out = {"all": agreement(p, r)}
    if cover is not None:
        c = np.broadcast_to(
            np.asarray(cover.values if hasattr(cover, "values") else cover), p.shape
        )
        for code, name in enumerate(cover_types, start=1):
            sel = c == code
            if sel.any():
                out[name] = agreement(p[sel], r[sel])
    return out


def density_plot(
    lai: Any,
    reference: Any,
    path: str | os.PathLike[str],
    *,
    title: str = "LAI: retrieved vs reference",
    stats: dict[str, float] | None = None,
    # source: choice, plot axis maximum
    vmax: float = 8.0,
) -> Path:
    """Scatter/density (hexbin) PNG of retrieved vs reference LAI with the 1:1 line.

    matplotlib is optional (``pip install matplotlib``); its object API is used (no pyplot).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModisoftError("density_plot needs matplotlib: pip install matplotlib") from exc
    p, r = _arr(lai).ravel(), _arr(reference).ravel()
    ok = np.isfinite(p) & np.isfinite(r)
    st = stats or agreement(p, r)
    fig = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if ok.sum() > 0:
        hb = ax.hexbin(
            r[ok],
            p[ok],
            gridsize=40,
            extent=(0, vmax, 0, vmax),
            mincnt=1,
            bins="log",
            cmap="viridis",
        )
        fig.colorbar(hb, ax=ax, label="pairs (log)")
    ax.plot([0, vmax], [0, vmax], "k--", lw=1)
    ax.set(
        xlim=(0, vmax), ylim=(0, vmax), xlabel="reference LAI", ylabel="retrieved LAI", title=title
    )
    text_xy = (0.03, 0.97)  # source: choice, text position in axes fraction
    ax.text(
        *text_xy,
        f"n={st['n']}  R²={st['r2']:.2f}\nRMSE={st['rmse']:.2f}  bias={st['bias']:+.2f}",
        transform=ax.transAxes,
        va="top",
        fontsize=9,
    )
    out = Path(path)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return out
