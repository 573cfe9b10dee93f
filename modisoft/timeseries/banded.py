"""Vectorised solver for many symmetric positive-definite pentadiagonal systems at once.

Whittaker (``W + λDᵀD``) and the LACC smoothing spline (``M + μQᵀΓQ``) both lead to one
pentadiagonal system per pixel series.  Rather than a Python loop over pixels, the banded
Cholesky factorisation runs once along the series axis, vectorised over all series.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve_pentadiagonal", "solve_pentadiagonal_tm"]


def solve_pentadiagonal(a0: np.ndarray, a1: np.ndarray, a2: np.ndarray,
                        b: np.ndarray) -> np.ndarray:
    """Solve ``A z = b`` for symmetric pentadiagonal ``A``, one system per row.

    Parameters
    ----------
    a0, a1, a2
        Main diagonal ``(n, t)``, first off-diagonal ``(n, t-1)``, second off-diagonal
        ``(n, t-2)`` of each system.
    b
        Right-hand sides ``(n, t)``.

    Returns
    -------
    numpy.ndarray
        ``(n, t)`` solutions (float64).  Systems that are not positive definite give NaN.
    """
    a0, a1, a2, b = (np.ascontiguousarray(np.asarray(a, "float64").T) for a in (a0, a1, a2, b))
    return solve_pentadiagonal_tm(a0, a1, a2, b).T


def solve_pentadiagonal_tm(a0: np.ndarray, a1: np.ndarray, a2: np.ndarray,
                           b: np.ndarray) -> np.ndarray:
    """:func:`solve_pentadiagonal` on time-major arrays ``(t, n)``, ``(t-1, n)``, ``(t-2, n)``
    (contiguous rows: each step of the recursion touches contiguous memory)."""
    t, n = a0.shape
    l0 = np.empty((t, n))
    l1 = np.zeros((t, n))
    l2 = np.zeros((t, n))
    y = np.empty((t, n))
    tmp = np.empty(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(t):
            diag = a0[i].copy()
            rhs = b[i].copy()
            if i >= 2:
                np.divide(a2[i - 2], l0[i - 2], out=l2[i])
                diag -= np.multiply(l2[i], l2[i], out=tmp)
                rhs -= np.multiply(l2[i], y[i - 2], out=tmp)
            if i >= 1:
                num = a1[i - 1] - l2[i] * l1[i - 1] if i >= 2 else a1[i - 1]
                np.divide(num, l0[i - 1], out=l1[i])
                diag -= np.multiply(l1[i], l1[i], out=tmp)
                rhs -= np.multiply(l1[i], y[i - 1], out=tmp)
            np.sqrt(diag, out=l0[i])
            np.divide(rhs, l0[i], out=y[i])
        z = np.empty((t, n))
        for i in range(t - 1, -1, -1):
            rhs = y[i].copy()
            if i + 1 < t:
                rhs -= np.multiply(l1[i + 1], z[i + 1], out=tmp)
            if i + 2 < t:
                rhs -= np.multiply(l2[i + 2], z[i + 2], out=tmp)
            np.divide(rhs, l0[i], out=z[i])
    return z
