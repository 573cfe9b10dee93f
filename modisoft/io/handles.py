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

import numpy as np

from modisoft.errors import GranuleReadError

__all__ = ["HandleCache", "LazyArray"]


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


class LazyArray:
    """A lazy, picklable view of one array in a file: ``shape``, ``dtype`` and ``__getitem__``.

    Holds only the path and the array's name, so it pickles to dask worker processes.  Integer
    and slice indices (positive steps) are turned into one contiguous block per axis, which
    :meth:`read` fetches; steps and integer axes are applied to that block afterwards.
    Subclasses implement :meth:`read`.
    """

    def __init__(self, path: str, name: str, shape: tuple[int, ...], dtype: str):
        self.path = path
        self.name = name
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)

    def read(self, start: tuple[int, ...], count: tuple[int, ...]) -> np.ndarray:
        """The block of ``count`` values from ``start`` on each axis."""
        raise NotImplementedError

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        start, count, post, squeeze = [], [], [], []
        for ax, (k, n) in enumerate(zip(key, self.shape, strict=True)):
            if isinstance(k, int | np.integer):
                k = int(k) + (n if k < 0 else 0)
                if not 0 <= k < n:
                    raise IndexError(f"index {k} out of range for axis {ax} of size {n}")
                start.append(k)
                count.append(1)
                post.append(slice(None))
                squeeze.append(ax)
            elif isinstance(k, slice):
                s0, s1, st = k.indices(n)
                if st < 1:
                    raise ValueError(f"negative steps are not supported ({st})")
                start.append(s0)
                count.append(max(0, s1 - s0))
                post.append(slice(None, None, st))
            else:
                kind = type(self).__name__
                raise TypeError(f"{kind} supports integer and slice indices, got {k!r}")
        if 0 in count:
            out = np.empty(tuple(count), dtype=self.dtype)
        else:
            out = self.read(tuple(start), tuple(count)).reshape(count)
        out = out[tuple(post)]
        return out.squeeze(axis=tuple(squeeze)) if squeeze else out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.path!r}, {self.name!r}, shape={self.shape}, "
                f"dtype={self.dtype})")
