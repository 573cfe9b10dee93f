"""The download manifest (``modisoft-downloads.json``): per file the URL, size, the archive's
checksum and algorithm, when it was verified and its status.  Written atomically after every
file, so a killed download leaves a manifest of what was finished; read back by every granule
read (:func:`modisoft.io.checksums.check_download_record`)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modisoft.io.checksums import DOWNLOAD_MANIFEST, read_download_manifest
from modisoft.write.partial import write_json_atomic

__all__ = ["DownloadManifest"]


class DownloadManifest:
    """The download manifest of ``folder`` (thread-safe; saved after every change).

    Parameters
    ----------
    folder
        The folder the files are downloaded into.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DOWNLOAD_MANIFEST
        self.files: dict[str, dict[str, Any]] = read_download_manifest(self.folder)
        self._lock = threading.Lock()

    def get(self, name: str) -> dict[str, Any] | None:
        """The record of file ``name``, or ``None``."""
        with self._lock:
            rec = self.files.get(name)
            return None if rec is None else dict(rec)

    def record(self, name: str, **fields: Any) -> None:
        """Replace the record of file ``name`` (stamped with the time) and save."""
        fields["time"] = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self.files[name] = fields
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.path, {"format": "modisoft download manifest 1",
                                          "files": self.files})
