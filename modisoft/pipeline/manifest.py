"""The run manifest: what a run has finished, so that a rerun skips it.

One JSON file in the output folder, rewritten atomically after every finished piece (a row
band of the Zarr store, a per-period file). It is keyed by the config's digest: a changed
config (other than compute settings) starts over rather than mixing results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from modisoft.write._common import atomic_path

__all__ = ["Manifest"]


class Manifest:
    """Finished work of one run, persisted in ``<output dir>/modisoft-run.json``.

    Parameters
    ----------
    path
        The manifest file.
    digest
        :meth:`RunConfig.digest` of the run; a manifest with another digest is discarded.
    force
        Start over even when the manifest matches.
    """

    def __init__(self, path: str | os.PathLike[str], digest: str, *, force: bool = False):
        self.path = Path(path)
        self.digest = digest
        self.data: dict[str, Any] = {"digest": digest, "done": [], "failures": []}
        self.resumed = False
        if not force and self.path.exists():
            try:
                old = json.loads(self.path.read_text())
            except (OSError, ValueError):
                old = {}
            if old.get("digest") == digest:
                self.data = old
                self.resumed = bool(old.get("done"))

    def is_done(self, key: str) -> bool:
        """Whether the piece ``key`` (e.g. ``"zarr:band:3"``) was finished."""
        return key in self.data["done"]

    def mark_done(self, key: str) -> None:
        """Record a finished piece and persist."""
        if key not in self.data["done"]:
            self.data["done"].append(key)
            self.save()

    def add_failure(self, path: str, reason: str) -> None:
        """Record a granule the run could not use."""
        item = {"file": str(path), "reason": reason}
        if item not in self.data["failures"]:
            self.data["failures"].append(item)
            self.save()

    @property
    def failures(self) -> list[dict[str, str]]:
        """``[{"file", "reason"}]`` of the granules that failed."""
        return list(self.data["failures"])

    def save(self) -> None:
        """Write the manifest atomically (temporary file + rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)
