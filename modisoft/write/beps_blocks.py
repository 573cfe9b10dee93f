"""The BEPS coding (:func:`encode_beps`) and the LAI files written window by window: the
process that writes them holds one window of the ``(time, y, x)`` stack at a time (a dask
chunk of it, or a band of rows of at most :data:`WINDOW_BYTES`), never a full-grid array of
LAI values.

Each period's file is a row-major uint8 raster; a window's rows are put at their offsets in
the file (``os.pwrite``), so the windows may come in any order and the file's bytes are those
of a write from start to end.  The land cover BEPS gets (1 byte per pixel) is the one
full-grid array kept: every period's DN 0 is taken from it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.products import get_product
from modisoft.products.beps import BEPS_MASK_CODE
from modisoft.write._common import OutputError, atomic_path

__all__ = ["MAX_BEPS_LAI", "MOD15_NONVEG_CLASSES", "WINDOW_BYTES", "encode_beps",
           "landcover_codes", "windows", "write_periods"]

MAX_BEPS_LAI = 25.4
"""The largest LAI a uint8 DN can carry: (255 − 1)/10."""

MOD15_NONVEG_CLASSES = get_product("MCD15A2H", "061").layer("Lai_500m").nonveg_codes
"""MOD15 fill classes that mean "not vegetated" (urban, wetland, snow/ice, barren, water),
from the registry (``FillClass.nonvegetated``)."""

WINDOW_BYTES = 64 * 2**20
"""The largest window of the stack read at once (float32 bytes, all its periods) when the
stack is not chunked (a numpy array); a chunked stack is read one chunk at a time."""


def encode_beps(
    lai: np.ndarray,
    *,
    fill_class: np.ndarray | None = None,
    excluded: np.ndarray | None = None,
    nonveg_classes: Sequence[int] = MOD15_NONVEG_CLASSES,
    nonveg_dn: int = 1,
    fill_dn: int = 1,
) -> np.ndarray:
    """Kernel: LAI (float, NaN = none) → BEPS DN (uint8).

    ``DN = floor(10·clip(LAI, 0, 25.4) + 0.5) + 1``; ``excluded`` pixels → 0; NaN LAI →
    ``nonveg_dn`` where ``fill_class`` is in ``nonveg_classes``, else ``fill_dn``.

    Examples
    --------
    >>> encode_beps(np.array([0.0, 0.04, 0.05, 2.3, 30.0, np.nan])).tolist()
    [1, 1, 2, 24, 255, 1]
    """
    x = np.asarray(lai, dtype="float64")
    valid = np.isfinite(x)
    dn = np.floor(10.0 * np.clip(np.where(valid, x, 0.0), 0.0, MAX_BEPS_LAI) + 0.5) + 1.0
    out = dn.astype(np.uint8)
    if fill_class is not None:
        nonveg = np.isin(np.asarray(fill_class), np.asarray(nonveg_classes))
    else:
        nonveg = np.zeros(x.shape, bool)
    out = np.where(valid, out, np.where(nonveg, np.uint8(nonveg_dn), np.uint8(fill_dn)))
    if excluded is not None:
        out = np.where(np.asarray(excluded, bool), np.uint8(0), out)
    return out.astype(np.uint8)


def windows(stack: Any, limit: int | None = None) -> list[tuple[int, int, int, int]]:
    """``(r0, r1, c0, c1)`` of every window of ``stack`` (dims ``(time, y, x)``), row-major:
    its dask chunks, or bands of rows of at most ``limit`` bytes (default
    :data:`WINDOW_BYTES`; at least one row)."""
    limit = WINDOW_BYTES if limit is None else limit
    data = stack.data
    chunks = getattr(data, "chunks", None)
    if chunks:
        rows, cols = chunks[1], chunks[2]
    else:
        n, h, w = stack.shape
        step = max(1, limit // max(1, 4 * n * w))
        rows = tuple(min(step, h - r) for r in range(0, h, step)) or (h,)
        cols = (w,)
    re_ = np.cumsum((0, *rows))
    ce = np.cumsum((0, *cols))
    return [(int(a), int(b), int(c), int(d)) for (a, b), (c, d) in
            itertools.product(itertools.pairwise(re_), itertools.pairwise(ce))]


def landcover_codes(landcover: Any, stack: Any, opts: Any, where: Path) -> Any:
    """The land cover BEPS gets (uint8 ``(y, x)``, 0 = not simulated), or ``None``: the given
    codes with 0 for ``excluded_classes`` and, with ``exclude_missing``, for every pixel
    without LAI in some period (:data:`BEPS_MASK_CODE` elsewhere when no land cover is
    given); the stack is read one window at a time."""
    shape = stack.shape[1:]
    lc = None
    if landcover is not None:
        lc = np.asarray(landcover.data if hasattr(landcover, "dims") else landcover)
        if lc.shape != shape:
            raise OutputError(where, f"landcover shape {lc.shape} is not the grid's {shape}")
        if lc.dtype.kind == "f":
            lc = np.where(np.isfinite(lc), lc, 0)
        if lc.size and (lc.min() < 0 or lc.max() > 255):
            raise OutputError(where, f"land-cover codes {int(lc.min())}..{int(lc.max())}: BEPS "
                                     "reads one byte per pixel, codes 0-255")
        lc = np.where(np.isin(lc, opts.excluded_classes), 0, lc).astype(np.uint8)
    if not opts.exclude_missing:
        return lc
    if lc is None:
        lc = np.full(shape, BEPS_MASK_CODE, np.uint8)
    for r0, r1, c0, c1 in windows(stack):
        band = np.asarray(stack.data[:, r0:r1, c0:c1])
        lc[r0:r1, c0:c1][np.isnan(band).any(axis=0)] = 0
    return lc


def combined(idx: list[int], combine: str) -> list[int]:
    """The time steps of a period that enter its file."""
    return idx[:1] if combine == "first" else idx[-1:] if combine == "last" else idx


def _period_window(band: Any, fcb: Any, idx: list[int], combine: str):
    """LAI and fill class of one window of one output period (time steps combined);
    ``band``/``fcb``: the window, the time steps read."""
    idx = combined(idx, combine)
    lai = np.asarray(band[idx], dtype="float64")
    cls = None
    if fcb is not None:
        cls = np.asarray(fcb[[i if fcb.shape[0] > 1 else 0 for i in idx]])[-1]
    if len(idx) == 1:
        return lai[0], cls
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
        return np.nanmean(lai, axis=0), cls


def write_periods(paths: list[Path], stack: Any, fc: Any, lc: Any, groups: list[list[int]],
                  opts: Any) -> list[dict]:
    """Write every period's file, reading each window of ``stack`` once for all periods (a
    chunk of a store holds every period: reading it per period would decompress it once per
    period); return each file's pixel counts.  All files are committed only when all are
    complete."""
    width = stack.shape[2]
    with contextlib.ExitStack() as files:
        fds = []
        for path in paths:
            tmp = files.enter_context(atomic_path(path, overwrite=opts.overwrite))
            f = files.enter_context(open(tmp, "wb"))
            f.truncate(stack.shape[1] * width)
            fds.append(f.fileno())
        counts = [
            dict.fromkeys(("valid", "clipped", "nonveg", "fill", "excluded"), 0) for _ in paths
        ]
        groups = [combined(idx, opts.combine) for idx in groups]
        need = sorted({i for idx in groups for i in idx})
        at = {i: k for k, i in enumerate(need)}
        local = [[at[i] for i in idx] for idx in groups]
        for r0, r1, c0, c1 in windows(stack):
            band = np.asarray(stack.data[need, r0:r1, c0:c1])
            fcb = None
            if fc is not None:
                fcb = np.asarray(fc[need if fc.shape[0] > 1 else [0], r0:r1, c0:c1])
            excl = np.asarray(lc[r0:r1, c0:c1]) == 0 if lc is not None else None
            for fd, idx, cnt, path in zip(fds, local, counts, paths, strict=True):
                dn = _encode_window(cnt, band, fcb, excl, idx, (r0, r1), opts, path)
                _put(fd, dn, r0, c0, width)
    return counts


def _put(fd: int, dn: np.ndarray, r0: int, c0: int, width: int) -> None:
    """Write the uint8 window ``dn`` at rows ``r0…``, columns ``c0…`` of a row-major file
    ``width`` pixels wide."""
    dn = np.ascontiguousarray(dn, dtype=np.uint8)
    if dn.shape[1] == width:  # whole rows: one write
        os.pwrite(fd, dn.tobytes(order="C"), r0 * width)
        return
    for i, row in enumerate(dn):
        os.pwrite(fd, row.tobytes(), (r0 + i) * width + c0)


def _encode_window(counts: dict, band: Any, fcb: Any, excl: Any, idx: list[int],
                   rows: tuple[int, int], opts: Any, path: Path) -> np.ndarray:
    """The DN of one window of one period (``band``/``fcb``: the window, all time steps
    read; ``excl``: its pixels not simulated, or ``None``), its pixels added to ``counts``."""
    lai, cls = _period_window(band, fcb, idx, opts.combine)
    valid = np.isfinite(lai)
    nonveg = np.isin(cls, np.asarray(opts.nonveg_classes)) if cls is not None else \
        np.zeros(lai.shape, bool)
    simulated = ~excl if excl is not None else np.ones(lai.shape, bool)
    missing = simulated & ~valid
    n_fill = int((missing & ~nonveg).sum())
    if opts.fill_dn is None and n_fill:
        raise OutputError(
            path,
            f"{n_fill} simulated pixels (rows {rows[0]}-{rows[1] - 1}) have no LAI and "
            "fill_dn=None",
        )
    counts["valid"] += int((simulated & valid).sum())
    counts["clipped"] += int((simulated & valid & ((lai < 0) | (lai > MAX_BEPS_LAI))).sum())
    counts["nonveg"] += int((missing & nonveg).sum())
    counts["fill"] += n_fill
    counts["excluded"] += int((~simulated).sum())
    return encode_beps(lai, fill_class=cls, excluded=excl,
                       nonveg_classes=opts.nonveg_classes, nonveg_dn=opts.nonveg_dn,
                       fill_dn=opts.fill_dn or 1)
