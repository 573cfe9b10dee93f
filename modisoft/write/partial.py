"""A download in progress: a hidden ``.<name>.part`` file beside the final one that survives a
killed run (so the next run resumes it) and is renamed onto the final name only once
verified."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO, Any

from modisoft.write._common import atomic_path

__all__ = ["PartialFile", "write_json_atomic"]


class PartialFile:
    """The partial file of ``path``: ``.<name>.part`` in the same folder.

    Examples
    --------
    >>> PartialFile("/data/MOD15A2H.A2020001.h23v04.061.2020010040310.hdf").part.name
    '.MOD15A2H.A2020001.h23v04.061.2020010040310.hdf.part'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.part = self.path.with_name(f".{self.path.name}.part")

    @property
    def size(self) -> int:
        """Bytes already downloaded (0 when there is no partial file)."""
        try:
            return self.part.stat().st_size
        except FileNotFoundError:
            return 0

    def open(self, resume: bool) -> IO[bytes]:
        """The partial file for writing: appended to (``resume``) or started afresh."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return open(self.part, "ab" if resume else "wb")

    def commit(self) -> Path:
        """Rename the verified partial file onto the final name (atomic); return it."""
        os.replace(self.part, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the partial file (a failed verification: the next try starts afresh)."""
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (readers see the old or the new file)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
