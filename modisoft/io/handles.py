"""A per-process cache of open file handles, shared by the HDF4 and HDF5 readers.

Handles are keyed by path and modification time (a replaced file is reopened), the least
recently used is closed beyond ``size``, and the cache is dropped in a forked child: a handle
is never shared across processes.  Callers hold their library's lock around every call.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from modisoft.errors import GranuleReadError

__all__ = ["HandleCache"]


class HandleCache:
    """Open handles of one library, per process.

    Parameters
    ----------
    close
        Closes a handle (errors while closing a broken handle are ignored).
    size
        How many handles stay open.
    """

    def __init__(self, close: Callable[[Any], Any], size: int = 32) -> None:
        self._close = close
        self.size = size
        self._handles: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._pid = os.getpid()

    def clear(self) -> None:
        """Close every handle this process opened, and forget those of a parent process."""
        if self._pid == os.getpid():
            for handle in self._handles.values():
                with contextlib.suppress(Exception):
                    self._close(handle)
        self._handles.clear()
        self._pid = os.getpid()

    def get(self, path: str, opener: Callable[[str, os.stat_result], Any]) -> Any:
        """The cached handle of ``path``, or ``opener(path, stat)``'s, which is then cached.

        Raises
        ------
        GranuleReadError
            If ``path`` does not exist (and whatever ``opener`` raises).
        """
        if self._pid != os.getpid():
            self.clear()
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise GranuleReadError(path, "no such file") from None
        key = (path, st.st_mtime_ns)
        handle = self._handles.get(key)
        if handle is not None:
            self._handles.move_to_end(key)
            return handle
        handle = opener(path, st)
        self._handles[key] = handle
        while len(self._handles) > self.size:
            _, old = self._handles.popitem(last=False)
            with contextlib.suppress(Exception):
                self._close(old)
        return handle
