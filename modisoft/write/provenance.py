"""Provenance: what went into an output, recorded in every writer's output.

A :class:`Provenance` collects the input granules (ids and production times), the QA rule,
weights, resampling method, smoother and retrieval parameters, the grid (WKT and transform),
the run configuration and the software versions.  It serialises to a JSON string for a
dataset attribute (``modisoft_provenance``) and to a JSON sidecar file.

The JSON is deterministic (sorted keys, granules sorted by id, no wall-clock time unless
``created`` is set), so rerunning the same configuration writes byte-identical outputs.
"""

from __future__ import annotations

import copy
import json
import os
import platform
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from modisoft.grids import Grid
from modisoft.io.checksums import read_download_manifest
from modisoft.write._common import PROVENANCE_ATTR, OutputError, atomic_path

__all__ = ["Provenance", "software_versions", "PROVENANCE_ATTR", "PROVENANCE_SCHEMA"]

PROVENANCE_SCHEMA = "modisoft-provenance/1"

_PACKAGES = (
    "modisoft", "numpy", "dask", "distributed", "xarray", "pandas", "pyproj", "affine",
    "scipy", "zarr", "h5netcdf", "h5py", "pyhdf", "rasterio",
)  # fmt: skip


def software_versions() -> dict[str, str]:
    """Versions of Python, modisoft and the libraries that shape an output.

    Packages that are not installed are left out.  ``gdal`` is the GDAL bundled with rasterio
    (used only to write GeoTIFFs).
    """
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    try:
        import rasterio

        out["gdal"] = str(rasterio.__gdal_version__)
    except ImportError:  # pragma: no cover - rasterio is a dependency
        pass
    return out


def _jsonable(obj: Any) -> Any:
    """Plain JSON types from config-like values (paths, dates, numpy scalars, dataclasses)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    if isinstance(obj, PurePath):
        return os.fspath(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return _jsonable(asdict(obj))
    return repr(obj)


def _granule_record(granule: Any, production_time: Any = None) -> dict[str, Any]:
    """A JSON record of one input granule from a ``Granule`` or a plain id/path."""
    if isinstance(granule, str | PurePath):
        gid = PurePath(granule).name
        return {"granule_id": gid, "production_time": _jsonable(production_time)}
    rec = {
        "granule_id": granule.granule_id or PurePath(granule.path).name,
        "path": os.fspath(granule.path),
        "product": granule.product,
        "collection": granule.collection,
        "tile_id": getattr(granule, "tile_id", None),
        "start_date": granule.start_date,
        "end_date": granule.end_date,
        "production_time": production_time or granule.production_time,
    }
    cmr = read_download_manifest(PurePath(granule.path).parent).get(PurePath(granule.path).name)
    if cmr and cmr.get("concept_id"):  # downloaded by modisoft: the archive's identifiers
        rec["cmr"] = {k: cmr.get(k) for k in ("concept_id", "granule_ur", "url", "checksum",
                                              "algorithm")}
    return _jsonable(rec)


@dataclass
class Provenance:
    """Builder of an output's provenance record.

    Every field is optional; set what the run knows.  Methods return ``self`` so calls chain.

    Attributes
    ----------
    granules
        Input granule records (``granule_id``, ``production_time``, and when built from a
        :class:`~modisoft.catalog.Granule` also ``path``, ``product``, ``collection``,
        ``tile_id``, ``start_date``, ``end_date``).
    failed
        Granules that failed to read: ``{"path", "reason"}``.
    qa_rule, weights, resampling, smoother, retrieval, compositing
        Free-form (JSON-able) descriptions of each step and its parameters.
    grid
        ``crs_wkt``, ``transform`` (affine a, b, c, d, e, f of pixel edges), ``geotransform``
        (GDAL order) and ``shape`` of the output grid.
    config
        The run configuration as given (e.g. the parsed TOML).
    software
        Library versions (:func:`software_versions`), filled in on creation.
    created
        An ISO timestamp, only if set: leave it ``None`` for byte-identical reruns.
    extra
        Anything else.
    metadata
        Discovery attributes (ACDD-1.3 names: ``title``, ``summary``, ``source``,
        ``keywords``, ``institution``, ``creator_name`` …) that the CF writers put in the
        global attributes of NetCDF files and Zarr stores.

    Examples
    --------
    >>> p = Provenance().set_step("qa_rule", {"mask": "SCF_QC <= 1"})
    >>> p.to_dict()["steps"]["qa_rule"]
    {'mask': 'SCF_QC <= 1'}
    """

    granules: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, Any] | None = None
    config: Any = None
    software: dict[str, str] = field(default_factory=software_versions)
    created: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    STEPS = ("qa_rule", "weights", "resampling", "compositing", "smoother", "retrieval")

    # building ---------------------------------------------------------------------------
    def add_granule(self, granule: Any, production_time: Any = None) -> Provenance:
        """Record one input granule (a :class:`~modisoft.catalog.Granule`, a path or an id)."""
        rec = _granule_record(granule, production_time)
        if rec not in self.granules:
            self.granules.append(rec)
        return self

    def add_granules(self, granules: Any) -> Provenance:
        """Record several input granules."""
        for g in granules:
            self.add_granule(g)
        return self

    def add_failure(self, path: Any, reason: str) -> Provenance:
        """Record a granule that could not be used, and why."""
        self.failed.append({"path": os.fspath(path), "reason": str(reason)})
        return self

    def set_step(self, step: str, description: Any) -> Provenance:
        """Record a processing step: one of :attr:`STEPS`, e.g. ``("smoother", {...})``.

        Raises
        ------
        OutputError
            For a step name outside :attr:`STEPS` (use :attr:`extra` for anything else).
        """
        if step not in self.STEPS:
            raise OutputError("<provenance>", f"unknown step {step!r}; use one of {self.STEPS}")
        self.steps[step] = _jsonable(description)
        return self

    def set_grid(self, grid: Grid) -> Provenance:
        """Record the output grid: WKT, affine transform of pixel edges, geotransform, shape."""
        self.grid = {
            "crs_wkt": grid.crs.to_wkt(),
            "transform": [float(v) for v in tuple(grid.transform)[:6]],
            "geotransform": [float(v) for v in grid.geotransform],
            "shape": [int(grid.shape[0]), int(grid.shape[1])],
        }
        return self

    def set_config(self, config: Any) -> Provenance:
        """Record the run configuration (any JSON-able mapping; paths and dates are converted)."""
        self.config = _jsonable(config)
        return self

    # serialising --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types, granules sorted by id."""
        out = {
            "schema": PROVENANCE_SCHEMA,
            "granules": sorted(self.granules, key=lambda r: (r["granule_id"], repr(r))),
            "failed": sorted(self.failed, key=lambda r: (r["path"], r["reason"])),
            "steps": self.steps,
            "grid": self.grid,
            "config": self.config,
            "software": self.software,
            "extra": _jsonable(self.extra),
        }
        if self.created is not None:
            out["created"] = self.created
        if self.metadata:
            out["metadata"] = self.metadata
        return _jsonable(out)

    def to_json(self, indent: int | None = None) -> str:
        """Deterministic JSON text (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False)

    def to_attrs(self) -> dict[str, str]:
        """``{"modisoft_provenance": <json>}`` for a dataset's global attributes."""
        return {PROVENANCE_ATTR: self.to_json()}

    def summary(self, max_bytes: int = 1024, *, sidecar: str | None = None) -> str:
        """A one-line digest of the record for a size-limited tag (a GeoTIFF's metadata).

        In order, what the record knows: the modisoft version, the products (``product.
        collection`` of the input granules), the processing steps, the number of input
        granules (and of failed ones), ``config sha256 <16 hex>`` (of the recorded
        configuration as sorted-key JSON, so it can be checked against the sidecar) and
        ``full record: <sidecar>``.  Parts are separated by ``"; "``.

        Parameters
        ----------
        max_bytes
            Largest size of the text, in UTF-8 bytes.  A long product list is cut to its
            first few names and ``(+N more)``; the pointer to the sidecar is always kept.
        sidecar
            The name of the file holding the full record (e.g. ``lai_20120101.tif.json``).

        Returns
        -------
        str
            At most ``max_bytes`` bytes of UTF-8.

        Raises
        ------
        OutputError
            If ``max_bytes`` cannot hold even the pointer to the sidecar (or 64 bytes).

        Examples
        --------
        >>> p = Provenance(software={"modisoft": "0.1.0"}).add_granule("a.hdf")
        >>> p.summary(sidecar="lai.tif.json")
        'modisoft 0.1.0; 1 input granule; full record: lai.tif.json'
        """
        import hashlib

        tail = f"full record: {sidecar}" if sidecar else ""
        floor = max(64, len(tail.encode()) + 8)
        if max_bytes < floor:
            raise OutputError(
                sidecar or "<provenance>",
                f"summary max_bytes={max_bytes} is too small; give at least {floor} bytes",
            )
        products = sorted({
            f"{g['product']}.{g['collection']}" if g.get("collection") else str(g["product"])
            for g in self.granules if g.get("product")
        })  # fmt: skip
        order = {s: i for i, s in enumerate(self.STEPS)}
        steps = sorted(self.steps, key=lambda s: (order.get(s, len(order)), s))
        n, nf = len(self.granules), len(self.failed)
        counts = f"{n} input granule{'s' if n != 1 else ''}" + (f" ({nf} failed)" if nf else "")
        config = ""
        if self.config is not None:
            text = json.dumps(_jsonable(self.config), sort_keys=True, ensure_ascii=False)
            config = f"config sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]}"

        def head(shown: int) -> str:
            label = "product" if len(products) == 1 else "products"
            if not products or shown == 0:
                prods = f"{len(products)} {label}" if products else ""
            else:
                more = f" (+{len(products) - shown} more)" if shown < len(products) else ""
                prods = f"{label} {', '.join(products[:shown])}{more}"
            parts = [
                f"modisoft {self.software.get('modisoft', '(version unknown)')}",
                prods,
                f"steps {', '.join(steps)}" if steps else "",
                counts,
                config,
            ]
            return "; ".join(p for p in parts if p)

        for shown in range(len(products), -1, -1):
            out = "; ".join(p for p in (head(shown), tail) if p)
            if len(out.encode()) <= max_bytes:
                return out
        # still too long (a tiny max_bytes): cut the head, keep the pointer to the sidecar
        end = f" ...; {tail}" if tail else " ..."
        cut = head(0).encode()[: max_bytes - len(end.encode())].decode(errors="ignore")
        return cut + end

    def write_sidecar(self, path: str | os.PathLike[str], **extra: Any) -> Path:
        """Write the record as a JSON file (atomically); ``extra`` keys go at the top level.

        ``extra`` may describe the file the sidecar belongs to (name, period, checksum).
        """
        doc = self.to_dict()
        for key, value in extra.items():
            if key in doc:
                raise OutputError(path, f"sidecar key {key!r} clashes with a provenance key")
            doc[key] = _jsonable(value)
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Provenance:
        """Rebuild from :meth:`to_dict` output (unknown top-level keys go to ``extra``)."""
        known = {"schema", "granules", "failed", "steps", "grid", "config", "software"}
        extra = dict(doc.get("extra") or {})
        extra.update({k: v for k, v in doc.items()
                      if k not in known | {"extra", "created", "metadata"}})
        return cls(
            granules=list(doc.get("granules", [])),
            failed=list(doc.get("failed", [])),
            steps=dict(doc.get("steps", {})),
            grid=doc.get("grid"),
            config=doc.get("config"),
            software=dict(doc.get("software", {})),
            created=doc.get("created"),
            extra=extra,
            metadata=dict(doc.get("metadata") or {}),
        )

    @classmethod
    def from_json(cls, text: str) -> Provenance:
        """Rebuild from :meth:`to_json` text."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> Provenance:
        """Rebuild from a dataset's attributes (the ``modisoft_provenance`` JSON string).

        Raises
        ------
        OutputError
            If the attributes hold no provenance.
        """
        if PROVENANCE_ATTR not in attrs:
            raise OutputError("<attrs>", f"no {PROVENANCE_ATTR!r} attribute")
        return cls.from_json(str(attrs[PROVENANCE_ATTR]))


def resolve_provenance(provenance: Provenance | None, grid: Grid) -> Provenance:
    """The provenance to write: the given one (grid filled in if missing) or a minimal one."""
    prov = copy.deepcopy(provenance) if provenance is not None else Provenance()
    if prov.grid is None:
        prov.set_grid(grid)
    return prov
