"""Sanity limits on what a file may declare, checked before anything is allocated.

A damaged or hostile file can declare a grid of 10⁹ pixels or a 50 MB metadata attribute; the
readers check these limits while reading metadata, so such a file fails with a
:class:`~modisoft.errors.MetadataError` naming the file, the key and the limit instead of
allocating gigabytes.  The figures are documented in ``docs/reference/limits.md``; real
granules are far below them (the largest MODIS tile is 4800 × 4800, the largest global grid
read, the 0.05° CMG, 7200 × 3600; real metadata attributes are at most ~50 kB).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from modisoft.errors import MetadataError

__all__ = [
    "MAX_AXIS",
    "MAX_PIXELS",
    "MAX_METADATA_BYTES",
    "MAX_ODL_DEPTH",
    "check_shape",
]

MAX_AXIS = 100_000
"""The largest size of a spatial axis (``XDim``/``YDim``, the last two axes of an array)."""

MAX_PIXELS = 2**31
"""The largest number of values one grid or one array may declare (2 147 483 648)."""

MAX_METADATA_BYTES = 4 * 1024 * 1024
"""The largest metadata text (one attribute, or joined ``StructMetadata``/``CoreMetadata``)
read or parsed: 4 MiB.  Real ones are a few kB (the largest in the sample set, a
``CoreMetadata.0``, is 46 kB)."""

MAX_ODL_DEPTH = 64
"""The deepest nesting of ODL ``GROUP``/``OBJECT`` blocks and parenthesised lists parsed
(real HDF-EOS metadata nest at most 7 deep)."""


def check_shape(path: str | os.PathLike[str], layer: str, shape: Sequence[int]) -> None:
    """Raise :class:`MetadataError` when an array's declared shape is over the limits.

    Every axis must be ≥ 0; the last two axes of an array with two or more (the spatial ones)
    at most :data:`MAX_AXIS`; the number of values at most :data:`MAX_PIXELS`.  One-dimensional
    arrays (MOD09GA's compact ``*_c`` layers) are only held to the total.

    Examples
    --------
    >>> check_shape("f.hdf", "Lai_500m", (2400, 2400))
    >>> check_shape("f.hdf", "Lai_500m", (2400, 200_000))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    modisoft.errors.MetadataError: f.hdf, layer 'Lai_500m': declared shape (2400, 200000) ...
    """
    dims = tuple(int(n) for n in shape)
    if any(n < 0 for n in dims):
        raise MetadataError(path, f"declared shape {dims} has a negative size", layer)
    spatial = dims[-2:] if len(dims) >= 2 else ()
    if any(n > MAX_AXIS for n in spatial):
        raise MetadataError(
            path,
            f"declared shape {dims} exceeds the limit of {MAX_AXIS:,} values per spatial axis "
            "(docs/reference/limits.md); the file's metadata are damaged",
            layer,
        )
    total = math.prod(dims)
    if total > MAX_PIXELS:
        raise MetadataError(
            path,
            f"declared shape {dims} holds {total:,} values, over the limit of {MAX_PIXELS:,} "
            "(2**31) per array (docs/reference/limits.md); the file's metadata are damaged",
            layer,
        )
