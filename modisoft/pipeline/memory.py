"""Handing a process's freed memory back to the system: numpy's freed buffers otherwise stay
in the C heap and in the process's RSS.  The run's worker tasks call it after each task and
the run's own process between its output stages, so what either holds does not creep up
with the work done before."""

from __future__ import annotations

import functools
import sys
from typing import Any

__all__ = ["release_memory"]


def release_memory() -> None:
    """Return the C heap's free memory to the system (glibc ``malloc_trim``; elsewhere a
    no-op)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None (not Linux, or another C library)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
