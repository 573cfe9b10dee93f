"""What a report knows about a run: everything is read back from the output folder.

The run manifest ``modisoft-run.json`` holds the configuration, the inventory, each granule's
verification (with its pixel shares, :func:`modisoft.qa.pixel_shares`), the failures, and the
summary a run records when it ends (timings, peak memory, outputs, what is missing); the Zarr
store holds the pixels.  Nothing here needs the configuration file or the inputs' folder, so a
report can be rebuilt from a copied or moved output folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from modisoft.errors import GranuleReadError, NotARunError

__all__ = ["MANIFEST_NAME", "REPORT_NAME", "RunRecord", "file_rows", "read_run",
           "tile_date_status"]

MANIFEST_NAME = "modisoft-run.json"
"""The run manifest's file name in the output folder."""

REPORT_NAME = "report.html"
"""The report's file name in the output folder."""


@dataclass
class RunRecord:
    """A finished run as read from its output folder (:func:`read_run`).

    Attributes
    ----------
    out_dir
        The output folder.
    manifest
        ``modisoft-run.json`` as read.
    summary
        Its ``"summary"`` (:meth:`modisoft.pipeline.RunSummary.to_dict`, with ``series``,
        ``config_toml`` and ``finished``).
    outputs
        The summary's outputs per kind, as paths inside :attr:`out_dir` (a moved folder's
        too).
    """

    out_dir: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    outputs: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The run's configuration (``RunConfig.as_dict()``)."""
        return self.manifest.get("config") or {}

    @property
    def inventory(self) -> dict[str, Any]:
        """The inventory's description: ``dates``, ``tiles``, ``missing_dates`` …"""
        return self.manifest.get("inventory") or {}

    @property
    def verified(self) -> dict[str, dict[str, Any]]:
        """Per granule path, its verification (``ok``, ``stage``, ``reason``, ``shares``)."""
        return self.manifest.get("verified") or {}

    @property
    def store(self) -> Path:
        """The run's Zarr store."""
        return self.outputs["zarr"][0]

    @cached_property
    def dataset(self) -> Any:
        """The Zarr store, opened lazily (:func:`modisoft.io.stack.open_stack`)."""
        from modisoft.io.stack import open_stack

        return open_stack(self.store)

    @property
    def grid(self) -> Any:
        """The output :class:`~modisoft.grids.Grid`."""
        from modisoft.grids import Grid

        return Grid.from_xarray(self.dataset)

    @property
    def variable(self) -> str:
        """The name of the values variable (``lai``, or another quantity's name)."""
        ds = self.dataset
        return next(v for v in ds.data_vars if ds[v].dims == ("time", "y", "x")
                    and v != "gap_days")


def read_run(out_dir: str | os.PathLike[str]) -> RunRecord:
    """Read a finished run's record from its output folder.

    Parameters
    ----------
    out_dir
        The run's ``[output] dir``.

    Returns
    -------
    RunRecord

    Raises
    ------
    NotARunError
        When ``out_dir`` is not a folder, holds no ``modisoft-run.json``, one that is not
        JSON, one without a summary (the run has not finished), or its Zarr store is gone.

    Examples
    --------
    >>> rec = read_run("demo_output")  # doctest: +SKIP
    >>> rec.summary["exit_code"]  # doctest: +SKIP
    0
    """
    d = Path(out_dir)
    path = d / MANIFEST_NAME
    if not d.is_dir():
        raise NotARunError(f"{d}: no such folder (give the [output] dir of a run)")
    if not path.is_file():
        raise NotARunError(f"{d}: not the output folder of a run (no {MANIFEST_NAME} in it)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NotARunError(f"{path}: not a readable run manifest ({exc})") from None
    summary = manifest.get("summary") if isinstance(manifest, dict) else None
    if not isinstance(summary, dict) or not summary.get("outputs", {}).get("zarr"):
        raise NotARunError(f"{path}: the run has not finished (no summary recorded); run "
                           "'modisoft run CONFIG' again to finish it, then report")
    outputs = _relocated(d, summary["outputs"])
    if not outputs["zarr"][0].exists():
        raise NotARunError(f"{d}: the run's Zarr store {outputs['zarr'][0].name} is missing")
    return RunRecord(d, manifest, summary, outputs)


def _relocated(d: Path, outputs: dict[str, list[str]]) -> dict[str, list[Path]]:
    """The outputs' recorded (absolute) paths as paths inside ``d``, which may have been
    moved since: each is taken relative to the folder the run wrote into."""
    first = Path(outputs.get("report", outputs["zarr"])[0])
    root = first.parent
    out: dict[str, list[Path]] = {}
    for kind, files in outputs.items():
        out[kind] = []
        for f in files:
            p = Path(f)
            try:
                out[kind].append(d / p.relative_to(root))
            except ValueError:  # not under the run's folder (never, for a run's outputs)
                out[kind].append(p)
    return out


def _identity(path: str) -> tuple[str, str] | None:
    """``(tile id, ISO date)`` of a granule from its file name, or ``None``."""
    from modisoft.catalog import parse_filename

    try:
        g = parse_filename(path)
    except (GranuleReadError, ValueError):
        return None
    if g.tile_id is None or g.start_date is None:
        return None
    return g.tile_id, g.start_date.isoformat()


def tile_date_status(rec: RunRecord) -> dict[str, Any]:
    """Every expected tile-date of the run: present, missing or failed.

    Returns
    -------
    dict
        ``dates`` and ``tiles`` (sorted), ``cells`` ``{(tile, date): {"status", "file",
        "reason", "shares"}}`` (status ``present``, ``missing`` or ``failed``; ``shares`` of
        a present granule, from its verification, summed over the sensors' granules of a
        multi-sensor run), and ``unplaced``: failures whose file
        name gives no tile or date (a damaged name).
    """
    inv = rec.inventory
    dates = sorted(set(inv.get("dates", [])) | set(inv.get("missing_dates", [])))
    tiles = list(inv.get("tiles", []))
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for path, v in rec.verified.items():
        key = _identity(path)
        if key is not None and v.get("ok"):
            shares, old = v.get("shares"), cells.get(key, {}).get("shares")
            if shares and old:  # a multi-sensor run: the sensors' granules of a tile and date
                shares = {k: None if shares.get(k) is None or old.get(k) is None
                          else shares[k] + old[k] for k in shares}
            cells[key] = {"status": "present", "file": path, "reason": "", "shares": shares}
    unplaced = []
    for f in rec.summary.get("failures", []):
        key = _identity(f["file"])
        if key is None:
            unplaced.append(f)
            continue
        cells[key] = {"status": "failed", "file": f["file"],
                      "reason": f"{f.get('stage', 'open')}: {f['reason']}", "shares": None}
    for d in dates:
        for t in tiles:
            cells.setdefault((t, d), {"status": "missing", "file": "", "shares": None,
                                      "reason": "no granule of this tile and date among the "
                                                "inputs" if d not in inv.get("missing_dates", [])
                                      else "no granule of any tile on this date"})
    tiles = sorted(set(tiles) | {t for t, _ in cells})
    dates = sorted(set(dates) | {d for _, d in cells})
    return {"dates": dates, "tiles": tiles, "cells": cells, "unplaced": unplaced}


def file_rows(rec: RunRecord) -> list[dict[str, Any]]:
    """The run's output files: ``name`` (relative to the folder), ``bytes``, ``sha256``
    (``None`` for a Zarr store, a folder of many files: ``files`` says how many; and for a
    symbolic link, which is not followed: ``files`` 0).

    Hidden files, the manifest (rewritten after the report) and the report itself are left
    out.
    """
    from modisoft.write._common import sha256

    rows: list[dict[str, Any]] = []

    def walk(d: Path) -> None:
        for p in sorted(d.iterdir()):
            if p.name.startswith(".") or p.name in (MANIFEST_NAME, REPORT_NAME):
                continue
            if p.is_symlink():  # never a run's output (a run refuses them): not followed
                rows.append({"name": str(p.relative_to(rec.out_dir)), "bytes": 0,
                             "sha256": None, "files": 0})
                continue
            if p.is_dir() and p.suffix == ".zarr":
                files = [f for f in p.rglob("*") if f.is_file()]
                rows.append({"name": str(p.relative_to(rec.out_dir)) + "/",
                             "bytes": sum(f.stat().st_size for f in files),
                             "sha256": None, "files": len(files)})
            elif p.is_dir():
                walk(p)
            elif p.is_file():
                rows.append({"name": str(p.relative_to(rec.out_dir)),
                             "bytes": p.stat().st_size, "sha256": sha256(p), "files": 1})

    walk(rec.out_dir)
    return rows

