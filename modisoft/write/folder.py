"""The output folder of a run: one run at a time, nothing written through a link out of it,
no temporary file left from an interrupted run.

:func:`claim_output_dir` takes the folder's lock (``filelock``: an OS file lock, released by
the operating system when the holder dies, so a run killed with ``kill -9`` never leaves a
lock that blocks the next one) and records the holder's process id beside it, so a second run
can say who holds the folder.  :func:`output_subdir` is how the run makes its sub-folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from modisoft.errors import OutputError, OutputInUseError, UnsafeOutputPathError
from modisoft.write._common import remove_path

__all__ = ["LOCK_NAME", "claim_output_dir", "leftover_temporaries", "output_subdir"]

#: The lock file in an output folder (the holder's pid is in ``LOCK_NAME + ".json"``).
LOCK_NAME = ".modisoft.lock"


def leftover_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Temporary files and stores (``.<name>.tmp-<hex>``, see
    :func:`~modisoft.write._common.temp_sibling`) under ``folder``, not following links."""
    out = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in list(dirs) + files:
            if name.startswith(".") and ".tmp-" in name:
                out.append(Path(root) / name)
        dirs[:] = [d for d in dirs if not (d.startswith(".") and ".tmp-" in d)]
    return sorted(out)


@contextlib.contextmanager
def claim_output_dir(folder: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """Create ``folder`` if needed, hold its lock for the ``with`` block, and remove the
    temporary files an interrupted run left in it.

    Parameters
    ----------
    folder
        The output folder.

    Yields
    ------
    list of Path
        The leftover temporaries that were removed.

    Raises
    ------
    OutputError
        When ``folder`` is a file or cannot be created.
    OutputInUseError
        When another process holds the folder (the message names its pid and host).
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(folder, "is a file; [output] dir must be a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(folder, f"cannot create the output folder ({exc.strerror})") from None
    lock = FileLock(str(folder / LOCK_NAME))
    info = folder / (LOCK_NAME + ".json")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputInUseError(f"{folder}: another modisoft run is writing here "
                               f"({_holder(info)}); wait for it to finish or choose another "
                               "[output] dir") from None
    try:
        info.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                    "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        stale = leftover_temporaries(folder)
        for p in stale:
            remove_path(p)
        yield stale
    finally:
        with contextlib.suppress(OSError):
            info.unlink()
        lock.release()


def _holder(info: Path) -> str:
    try:
        d = json.loads(info.read_text())
        return f"pid {d['pid']} on {d['host']}, since {d['since']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"


def output_subdir(folder: str | os.PathLike[str], name: str) -> Path:
    """``folder / name``, created if needed; never a link leading out of ``folder``.

    Raises
    ------
    UnsafeOutputPathError
        When ``folder / name`` is a symbolic link or resolves outside ``folder``.
    """
    folder = Path(folder)
    sub = folder / name
    if sub.is_symlink() or not sub.resolve().is_relative_to(folder.resolve()):
        raise UnsafeOutputPathError(sub, f"is a link to {os.path.realpath(sub)}, outside the "
                                         "output folder; remove it (modisoft writes only inside "
                                         "the output folder)")
    if sub.exists() and not sub.is_dir():
        raise UnsafeOutputPathError(sub, "is a file where the run writes a folder; remove it")
    sub.mkdir(exist_ok=True)
    return sub
