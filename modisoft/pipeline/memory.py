"""What a process of the run holds and shows: handing its freed memory back to the system
(numpy's freed buffers otherwise stay in the C heap and in the process's RSS; the run's
worker tasks call it after each task and the run's own process between its output stages,
so what either holds does not creep up with the work done before), and keeping a worker
task's library warnings off the terminal."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["release_memory", "warnings_to_log"]


@contextlib.contextmanager
def warnings_to_log() -> Iterator[None]:
    """Within the block, Python warnings (numpy's "All-NaN slice" of an empty window, ...)
    become records of the ``py.warnings`` logger, as the client's run log takes them: a
    worker of the run's own cluster logs nothing to the terminal at the default level, so a
    task on a worker prints none of them on the user's terminal."""
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)


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
