"""The run manifest: what a run has finished, so that a rerun skips it.

One JSON file in the output folder, rewritten atomically after every finished piece (a row
band of the Zarr store, a per-period file). It is keyed by the config's digest: a folder that
holds the outputs of another config (other than compute settings) is refused unless the run
is forced, and then started over rather than mixing results.  It also keeps what the run
learnt about its inputs: each granule's verification (with the file's size and modification
time, so a replaced file is verified again) and a fingerprint of the granules used (a rerun
whose usable inputs changed recomputes everything).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from modisoft.errors import ConfigChangedError
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

    def __init__(self, path: str | os.PathLike[str], digest: str, *, force: bool = False,
                 config: dict[str, Any] | None = None):
        self.path = Path(path)
        self.digest = digest
        self.data: dict[str, Any] = {"digest": digest, "done": [], "failures": [],
                                     "config": config or {}}
        self.resumed = False
        self.replaced: dict[str, Any] | None = None
        old: dict[str, Any] = {}
        if self.path.exists():
            try:
                old = json.loads(self.path.read_text())
            except (OSError, ValueError):
                old = {}
        if old.get("digest") not in (None, digest) and old.get("done"):
            changed = _changed_keys(old.get("config") or {}, config or {})
            if not force:
                raise ConfigChangedError(
                    f"{self.path.parent}: holds the outputs of another configuration "
                    f"(changed: {', '.join(changed) or 'unknown keys'}); rerun with --force "
                    "to replace them, or choose another [output] dir")
            self.replaced = {"digest": old["digest"], "changed": changed,
                             "done": len(old["done"])}
        if old.get("digest") == digest:
            self.data["verified"] = old.get("verified", {})
            if not force:
                self.data.update({k: v for k, v in old.items()  # a summary: once finished
                                  if k not in ("failures", "config", "summary")})
                self.resumed = bool(old.get("done"))

    def check_inputs(self, used: list) -> bool:
        """Record a fingerprint of the granules used (path, size, modification time); when a
        resumed run's differs (a failed granule was replaced and now reads, a file was added
        or removed), forget the finished work so that everything is computed from the new
        inputs.  Returns whether finished work was forgotten."""
        seen = self.data.get("verified", {})
        paths = [os.fsdecode(g.path) for g in used]
        rows = sorted([p, seen.get(p, {}).get("size"), seen.get(p, {}).get("mtime_ns")]
                      for p in paths)
        fingerprint = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
        old = self.data.get("inputs")
        self.data["inputs"] = fingerprint
        reset = bool(self.resumed and old is not None and old != fingerprint
                     and self.data["done"])
        if reset:
            self.data["done"] = []
            self.data.pop("lost", None)
            self.resumed = False
        self.save()
        return reset

    def is_done(self, key: str) -> bool:
        """Whether the piece ``key`` (e.g. ``"zarr:band:3"``) was finished."""
        return key in self.data["done"]

    def mark_done(self, key: str) -> None:
        """Record a finished piece and persist."""
        if key not in self.data["done"]:
            self.data["done"].append(key)
            self.save()

    def add_failure(self, path: str | os.PathLike[str], reason: str, stage: str = "open") -> None:
        """Record a granule the run could not use, and where it failed: ``inventory`` (its
        file name is damaged, or it is not a regular file), or a stage of the verification
        (:data:`modisoft.pipeline.verify.STAGES`)."""
        item = {"file": os.fsdecode(path), "stage": stage, "reason": reason}
        if item not in self.data["failures"]:
            self.data["failures"].append(item)
            self.save()

    @property
    def failures(self) -> list[dict[str, str]]:
        """``[{"file", "stage", "reason"}]`` of the granules that failed in this run."""
        return list(self.data["failures"])

    def save(self) -> None:
        """Write the manifest atomically (temporary file + rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)


def _changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two config dicts."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b and key != "compute":
            out.append(f"{prefix}{key}")
    return out
