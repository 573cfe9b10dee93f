"""Inputs of the LAI tools: a granule as physical values, or a stack as stored."""

from __future__ import annotations

import os
from typing import Any

from modisoft.decode import decode
from modisoft.io.granule import open_granule
from modisoft.io.stack import open_stack

__all__ = ["open_input"]


def open_input(path: str | os.PathLike[str], layers: list[str] | None = None) -> Any:
    """A NetCDF/Zarr stack (``*.nc``, ``*.zarr`` or a folder) as stored, else a granule
    decoded to physical values (only ``layers`` when given).

    Examples
    --------
    >>> lc = open_input("MCD12Q1.A2020001.h24v07.061.2022172012059.hdf", ["LC_Type1"])
    ... # doctest: +SKIP
    """
    p = os.fspath(path)
    if p.endswith((".nc", ".zarr")) or os.path.isdir(p):
        return open_stack(p)
    return decode(open_granule(p, layers) if layers else open_granule(p))
