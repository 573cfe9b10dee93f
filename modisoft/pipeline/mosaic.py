"""One date's layers on the output grid: the decoded values and their fill classes, the QA
layer, and the run's own check that every valid source pixel reached the mosaic.

Each tile is decoded at its own resolution and mosaicked with :func:`modisoft.warp.mosaic`,
exactly what a user writes with the public API, so a run's per-date output *is* ``mosaic()``'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modisoft.pipeline.schema import RunConfig

__all__ = ["class_method", "dominant_fill_class", "lost_in_mosaic", "mosaic_decoded",
           "mosaic_qa", "nearest_support", "store_rows"]


def dominant_fill_class(codes: np.ndarray) -> np.ndarray:
    """Kernel: per pixel of a ``(..., time)`` array of fill-class codes (0 = valid value), the
    most frequent non-zero code when the pixel never had a valid value, else 0.

    Examples
    --------
    >>> dominant_fill_class(np.array([[254, 254, 250], [0, 254, 254]], "uint8"))
    array([254,   0], dtype=uint8)
    """
    codes = np.asarray(codes)
    flat = codes.reshape(-1, codes.shape[-1])
    out = np.zeros(len(flat), codes.dtype)
    never = ~(flat == 0).any(axis=1)
    if never.any() and codes.dtype == np.uint8:  # compiled: one pass, 256 counts per row
        from modisoft.lookup import byte_row_mode

        out[never] = byte_row_mode(flat[never])
    elif never.any():
        sub = flat[never]
        vals = np.unique(sub)
        counts = np.stack([(sub == v).sum(axis=1) for v in vals], axis=1)
        out[never] = vals[np.argmax(counts, axis=1)]
    return out.reshape(codes.shape[:-1])


def class_method(method: str) -> str:
    """How a categorical companion (fill classes, QA, land cover) is resampled when the
    values use ``method``: ``mode`` for the area methods, else ``nearest``.

    Examples
    --------
    >>> class_method("average"), class_method("bilinear")
    ('mode', 'nearest')
    """
    return "nearest" if method in ("nearest", "bilinear") else "mode"


def mosaic_decoded(cfg: RunConfig, stacks: list, grid: Any,
                   cache_dir: Any = None, mask_classes: bool = True) -> tuple[Any, Any]:
    """Per-tile stacks of one stored layer decoded and mosaicked onto ``grid``: the physical
    values (float32, NaN where none) and the ``<layer>_class`` fill codes (or ``None``).

    This is exactly what a user writes with the public API,
    ``mosaic([decode(tile)[layer] ...], grid, method=...)``: each tile is decoded at its own
    resolution and the physical values are resampled, so an area average keeps full
    precision (no rounding to the stored DN step). The fill classes are mosaicked beside
    (``nearest``, or ``mode`` for the area methods) and are 0 wherever a value exists.

    Parameters
    ----------
    cfg
        The run configuration (``[steps]`` resampling and fuse, ``[output]`` chunk).
    stacks
        Per tile, a lazy ``(time, y, x)`` stack of stored values (QA applied at source).
    grid
        The output grid.
    cache_dir
        Where resample plans are cached on disk (``None``: in memory only).
    mask_classes
        ``False``: the fill classes as mosaicked, not yet 0 where a value exists (the caller
        applies that, as :func:`store_rows` does).

    Returns
    -------
    (xarray.DataArray, xarray.DataArray or None)
        The lazy values and fill classes on ``grid``.
    """
    from modisoft.warp import mosaic

    s = cfg.steps
    decoded = [_decode_stack(raw) for raw in stacks]
    values = mosaic([v for v, _c in decoded], grid, method=s.resampling,
                    chunks=cfg.output.chunk, fuse=s.fuse, cache_dir=cache_dir)
    if any(c is None for _v, c in decoded):
        return values, None
    classes = mosaic([c for _v, c in decoded], grid, method=class_method(s.resampling),
                     chunks=cfg.output.chunk, fuse=s.fuse if s.fuse != "mean" else "first",
                     cache_dir=cache_dir)
    if not mask_classes:
        return values, classes
    return values, classes.where(~np.isfinite(values), classes.dtype.type(0))


def _decode_stack(raw: Any) -> tuple[Any, Any]:
    """Decode one tile's stack of stored values: (physical values, ``<layer>_class`` codes or
    None), each keeping the tile's coordinates and grid."""
    from modisoft.decode import decode

    name = raw.name
    raw_ds = raw.to_dataset(name=name)
    raw_ds.attrs["registry_product"] = raw.attrs.get("registry_product", "")
    dec = decode(raw_ds)
    values = dec[name]
    values.attrs.setdefault("layer", raw.attrs.get("layer", name))
    for key in ("registry_product", "granule_id", "source"):
        if key in raw.attrs:
            values.attrs[key] = raw.attrs[key]
    return values, dec.get(f"{name}_class")


def mosaic_qa(cfg: RunConfig, qa_stacks: list, grid: Any, cache_dir: Any = None) -> Any:
    """The QA layer on ``grid`` (``mode`` for area resampling, else ``nearest``).

    Parameters
    ----------
    cfg, grid, cache_dir
        As for :func:`mosaic_decoded`.
    qa_stacks
        Per tile, a lazy ``(time, y, x)`` stack of the QA layer (empty: no QA to mosaic).

    Returns
    -------
    xarray.DataArray or None
    """
    from modisoft.warp import mosaic

    if not qa_stacks:
        return None
    s = cfg.steps
    return mosaic(qa_stacks, grid, method=class_method(s.resampling),
                  chunks=cfg.output.chunk, fuse=s.fuse if s.fuse != "mean" else "first",
                  cache_dir=cache_dir)


def nearest_support(cfg: RunConfig, stacks: list, grid: Any, cache_dir: Any = None) -> Any:
    """The source pixel under each output pixel's centre, for :func:`lost_in_mosaic`: a
    ``nearest`` mosaic (GDAL's nearest rule, its own plan) of the same decoded tiles as
    :func:`mosaic_decoded`, so one ``dask.compute`` of both decodes each tile once.
    ``None`` for ``nearest`` runs, whose mosaic *is* that lookup.

    Parameters
    ----------
    cfg, grid, cache_dir
        As for :func:`mosaic_decoded`.
    stacks
        The date's per-tile stacks of stored values, as given to :func:`mosaic_decoded`.

    Returns
    -------
    xarray.DataArray or None
        The lazy lookup on ``grid`` (float32, NaN where no valid source pixel).
    """
    if cfg.steps.resampling == "nearest":
        return None
    from modisoft.warp import mosaic

    decoded = [_decode_stack(raw)[0] for raw in stacks]
    return mosaic(decoded, grid, method="nearest", chunks=cfg.output.chunk, fuse="first",
                  cache_dir=cache_dir)


def lost_in_mosaic(support: Any, values: Any) -> Any:
    """Output pixels of a mosaic without a value although the source pixel under their
    centre is valid.

    Every method (``average``, ``mode``, ``min``, ``max``, ``bilinear``) gives a value
    wherever that pixel is valid, since it lies inside the footprint each of them reads. For
    ``nearest`` runs there is no :func:`nearest_support` (the mosaic *is* that lookup); the
    check then guards the later stages (:func:`modisoft.pipeline.series.lost_in_series`).

    Parameters
    ----------
    support
        The :func:`nearest_support` values (numpy or dask).
    values
        The mosaic, the same shape.

    Returns
    -------
    int or dask scalar
        The pixels lost (0 for a correct run); lazy when the inputs are.

    Examples
    --------
    >>> int(lost_in_mosaic(np.array([1.0, np.nan, 2.0]), np.array([np.nan, np.nan, 2.0])))
    1
    """
    return (np.isfinite(support) & ~np.isfinite(values)).sum()


def store_rows(layers: list, targets: list, k: int, rows: tuple[int, int], *,
               classes: int | None, check: bool) -> int:
    """Compute rows ``rows`` of one date's mosaics and write them into the stage.

    One task per output window computes every layer from the source blocks it reads
    (:func:`modisoft.warp.mosaic.mosaic_windows`), sets the fill classes to 0 where a value
    exists, writes each layer's window at time ``k`` and counts the window's lost pixels.
    Layers that are not plain :func:`~modisoft.warp.mosaic` results are computed as whole rows.

    Parameters
    ----------
    layers
        The date's lazy mosaics: values first, then the other staged layers in the order of
        ``targets``, then (``check``) the :func:`nearest_support`.
    targets
        The stage's Zarr arrays, ``(time, y, x)``, one per staged layer.
    k
        The date's time index.
    rows
        Output rows ``(r0, r1)``, on chunk boundaries.
    classes
        Position of the fill classes (mosaicked with ``mask_classes=False``) in ``layers``.
    check
        Whether the last layer is the support to count lost pixels against.

    Returns
    -------
    int
        The pixels lost in these rows (:func:`lost_in_mosaic`; 0 without ``check``).
    """
    import functools

    import dask

    from modisoft.warp.mosaic import mosaic_windows

    func = functools.partial(_store_window, targets, k, classes, check)
    # the classes are kept only where the values have none: computed there alone
    per_window = mosaic_windows(layers, rows, func,
                                only_where_missing=None if classes is None else {classes: 0})
    if per_window is not None:
        return int(per_window.compute().sum())
    done = dask.compute(*[a.data[:, rows[0]:rows[1]] for a in layers])
    return func((*rows, 0, layers[0].shape[-1]), [d[0] for d in done])


def _store_window(targets: list, k: int, classes: int | None, check: bool,
                  box: tuple[int, int, int, int], arrays: list) -> int:
    r0, r1, c0, c1 = box
    values = arrays[0]
    if classes is not None:
        arrays = list(arrays)
        codes = arrays[classes]
        arrays[classes] = np.where(np.isfinite(values), codes.dtype.type(0), codes)
    for target, a in zip(targets, arrays, strict=False):  # the support (last) is not stored
        target[k, r0:r1, c0:c1] = a
    return int(lost_in_mosaic(arrays[-1], values)) if check else 0
