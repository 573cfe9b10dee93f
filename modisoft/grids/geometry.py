"""Small planar geometry kernels: densified rings and ring/rectangle intersection.

Pure numpy, no shapely.  Used to decide which tiles cover an area and which sources overlap an
output chunk.  A *ring* is an ``(n, 2)`` array of vertices (x, y), implicitly closed; it is
densified before it is transformed between CRSs so that its edges stay straight enough.
"""

from __future__ import annotations

import numpy as np

__all__ = ["densify_ring", "box_ring", "points_in_edges", "points_in_ring",
           "ring_intersects_box", "segments_cross_box"]


def densify_ring(ring: np.ndarray, max_step: float) -> np.ndarray:
    """Insert vertices so that no edge of the closed ``ring`` is longer than ``max_step``.

    Examples
    --------
    >>> densify_ring(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), 0.5).shape
    (7, 2)
    """
    ring = np.asarray(ring, dtype="float64")
    nxt = np.roll(ring, -1, axis=0)
    length = np.hypot(*(nxt - ring).T)
    n = np.maximum(np.ceil(length / max_step).astype(np.int64), 1)
    seg = np.repeat(np.arange(len(ring)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    return ring[seg] + (nxt[seg] - ring[seg]) * t[:, None]


def box_ring(left: float, bottom: float, right: float, top: float, n: int = 1) -> np.ndarray:
    """The ring of an axis-aligned box, counter-clockwise, ``n`` points per side."""
    t = np.arange(n, dtype="float64") / n
    xs = np.concatenate([left + (right - left) * t, np.full(n, right)])
    xs = np.concatenate([xs, right - (right - left) * t, np.full(n, left)])
    ys = np.concatenate([np.full(n, bottom), bottom + (top - bottom) * t])
    ys = np.concatenate([ys, np.full(n, top), top - (top - bottom) * t])
    return np.column_stack([xs, ys])


def points_in_ring(px: np.ndarray, py: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of the points ``(px, py)`` against ``ring``."""
    return points_in_edges(px, py, ring[:, 0], ring[:, 1], np.roll(ring[:, 0], -1),
                           np.roll(ring[:, 1], -1))


def points_in_edges(px: np.ndarray, py: np.ndarray, x0: np.ndarray, y0: np.ndarray,
                    x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Even-odd test of the points ``(px, py)`` against the edges ``(x0, y0) → (x1, y1)`` of a
    closed ring, or against only those of its edges that a horizontal ray from the points can
    cross (the others never change the count)."""
    px = np.atleast_1d(np.asarray(px, dtype="float64"))[:, None]
    py = np.atleast_1d(np.asarray(py, dtype="float64"))[:, None]
    x0, y0, x1, y1 = (np.asarray(a, dtype="float64")[None, :] for a in (x0, y0, x1, y1))
    crosses = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    return (np.count_nonzero(crosses & (px < xint), axis=1) % 2) == 1


def ring_intersects_box(
    ring: np.ndarray, left: float, bottom: float, right: float, top: float
) -> bool:
    """True when the closed ``ring`` (its interior included) intersects the box.

    Exact for the polygon given: a vertex inside the box, a box corner inside the polygon, or an
    edge crossing the box (Liang-Barsky clipping of every edge).
    """
    x, y = ring[:, 0], ring[:, 1]
    if np.any((x >= left) & (x <= right) & (y >= bottom) & (y <= top)):
        return True
    if points_in_ring([0.5 * (left + right)], [0.5 * (bottom + top)], ring)[0]:
        return True
    return segments_cross_box(x, y, np.roll(x, -1), np.roll(y, -1), left, bottom, right, top)


def segments_cross_box(x: np.ndarray, y: np.ndarray, x1: np.ndarray, y1: np.ndarray,
                       left: float, bottom: float, right: float, top: float) -> bool:
    """True when any segment ``(x, y) → (x1, y1)`` meets the closed box (Liang-Barsky)."""
    dx, dy = x1 - x, y1 - y
    t0, t1 = np.zeros(len(x)), np.ones(len(x))
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, x - left), (dx, right - x), (-dy, y - bottom), (dy, top - y)):
            r = q / p
            parallel_out = (p == 0) & (q < 0)
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
            t1 = np.where(parallel_out, -1.0, t1)
    return bool(np.any(t0 <= t1))
