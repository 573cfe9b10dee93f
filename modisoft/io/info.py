"""``GranuleInfo``: everything known about a granule without reading pixels.

The readers (:mod:`modisoft.io.granule`, :mod:`~modisoft.io.swath`,
:mod:`~modisoft.io.hdf5_readers`, :mod:`~modisoft.io.avhrr_l1b`) build it; this module imports
none of them.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

from modisoft.catalog import Granule
from modisoft.errors import MetadataError, UnknownGridError
from modisoft.io.hdfeos import GridInfo
from modisoft.io.layers import RegistryMismatchWarning, layer_from_attrs, registry_mismatches
from modisoft.io.odl import ODLSyntaxError, join_split_attribute, parse_odl
from modisoft.products import Layer, Product

__all__ = ["GranuleInfo", "effective_layer", "metadata_tree"]


@dataclass(frozen=True)
class GranuleInfo:
    """Everything known about a granule without reading pixels.

    Attributes
    ----------
    path, granule
        The file and its identity (:class:`~modisoft.catalog.Granule`).
    product
        The registry entry, or ``None`` for an unknown product.
    grids
        The grids in the file (:class:`~modisoft.io.hdfeos.GridInfo`).
    sds
        Every SDS: name → ``{"index", "shape", "dtype", "attrs"}``.
    core, archive
        Parsed ``CoreMetadata`` and ``ArchiveMetadata`` (nested dicts; empty if absent).
    """

    path: str
    granule: Granule
    product: Product | None
    grids: tuple[GridInfo, ...]
    sds: dict[str, dict[str, Any]]
    core: dict[str, Any]
    archive: dict[str, Any]
    hdfeos_version: str | None = None
    format: str = "hdf4"
    kind: str = "grid"
    format_name: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def grid_layers(self) -> dict[str, list[str]]:
        """Grid name → its fields that exist in the file and span the grid's YDim and XDim."""
        return {
            g.name: [
                f.name
                for f in g.fields
                if f.name in self.sds and "YDim" in f.dims and "XDim" in f.dims
            ]
            for g in self.grids
        }

    @property
    def non_grid_layers(self) -> list[str]:
        """SDS that belong to no grid (e.g. MOD09GA's 1-D ``*_c`` compact layers)."""
        if self.kind != "grid":
            return []
        on_grid = {n for names in self.grid_layers.values() for n in names}
        return [n for n in self.sds if n not in on_grid]

    def grid_key(self, grid: GridInfo) -> str:
        """Short key of a grid (``"1km"``) from the registry, else its sanitised name."""
        if self.product is not None and grid.name in self.product.grids:
            return self.product.grids[grid.name]
        return re.sub(r"\W+", "_", grid.name)

    def find_grid(self, name: str) -> GridInfo:
        """The grid by name or short key; raises :class:`UnknownGridError`."""
        for g in self.grids:
            if name in (g.name, self.grid_key(g)):
                return g
        raise UnknownGridError(
            name, [f"{g.name} ({self.grid_key(g)})" for g in self.grids], self.path
        )

    def layer(self, name: str) -> Layer:
        """The registry layer, or the file's own attributes where the registry lacks the
        layer or the file contradicts it (see :func:`effective_layer`)."""
        return effective_layer(self, name)


def effective_layer(info: GranuleInfo, name: str, *, warn: bool = False) -> Layer:
    """The registry layer, or — when absent or contradicted by the file — the file's own."""
    meta = info.sds[name]
    convention = "hdfeos" if info.format == "hdf4" else "cf"
    reg = info.product.find_layer(name) if info.product is not None else None
    if reg is None:
        return layer_from_attrs(name, meta["dtype"], meta["attrs"], convention)
    problems = registry_mismatches(reg, meta["dtype"], meta["attrs"])
    if not problems:
        return reg
    if warn:
        warnings.warn(
            f"{info.path}: layer {name!r} disagrees with the registry: "
            + "; ".join(problems)
            + ". Using the file's own attributes.",
            RegistryMismatchWarning,
            stacklevel=3,
        )
    own = layer_from_attrs(name, meta["dtype"], meta["attrs"], convention)
    if reg.kind != "value":
        own = replace(own, kind=reg.kind, scaling=None, bit_fields=reg.bit_fields)
    return own


def metadata_tree(path: str, attrs: dict[str, Any], base: str) -> dict[str, Any]:
    """``CoreMetadata``/``ArchiveMetadata`` (split over ``base.0``, ``base.1``, …) parsed as
    ODL; empty when absent; :class:`MetadataError` when corrupted."""
    text = join_split_attribute(attrs, base) or join_split_attribute(attrs, "Old" + base)
    if not text:
        return {}
    try:
        return parse_odl(text)
    except ODLSyntaxError as exc:
        raise MetadataError(
            path, f"{base} is not valid ODL ({exc}); the metadata is corrupted"
        ) from None
