"""The registry's vocabulary: plain frozen dataclasses holding facts about products.

Nothing here reads files.  A :class:`Product` lists its :class:`Layer`\\ s; a layer says how its
stored integers become physical values (:class:`Scaling`), which stored values mean "no data"
and which of those carry a meaning (:class:`FillClass`), and, for QA words, which bit fields it
holds (:class:`BitField`).  Every number carries a ``source``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np

from modisoft.errors import RegistryError

__all__ = [
    "Convention",
    "LayerKind",
    "Scaling",
    "FillClass",
    "BitField",
    "Layer",
    "QAPreset",
    "WeightScheme",
    "Product",
    "ROLES",
]

Convention = Literal["hdfeos", "cf", "divide"]
"""How stored integers become physical values (``reference/PRODUCTS.md`` §1):

* ``hdfeos``: ``(stored - offset) * scale`` (HDF4 calibration convention)
* ``cf``: ``stored * scale + offset`` (netCDF-CF)
* ``divide``: ``stored / scale`` (files that store 10000 or 100 meaning "divide by")
"""

LayerKind = Literal["value", "qa", "class"]
"""``value`` layers decode to float32; ``qa`` (bit words) and ``class`` (categorical codes)
keep their integer dtype."""


ROLES = {
    "lai": "the leaf area index layer a run uses from an LAI product",
    "lai_qa": "the QA word of the LAI layer (the QA rule of a run reads it)",
    "lai_qa_extra": "a second QA word the QA rule of a run reads with lai_qa (VIIRS "
                    "FparExtra_QC: the cloud confidence)",
    "red": "red surface reflectance (MODIS band 1, VIIRS I1/M5, AVHRR channel 1)",
    "nir": "near-infrared surface reflectance (MODIS band 2, VIIRS I2/M7, AVHRR channel 2)",
    "swir": "shortwave-infrared reflectance near 1.6 µm for the RSR (MODIS band 6, VIIRS I3/M10)",
    "blue": "blue surface reflectance for the EVI (MODIS band 3, VIIRS M3)",
}
"""What a layer can be for the rest of modisoft: a product's ``roles`` maps these to its layers."""


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Scaling:
    """The unpacking of a layer: the numbers *as stored in the file* and their convention.

    Parameters
    ----------
    scale
        The file's ``scale_factor`` (10000 for a ``divide`` layer, 0.0001 for a multiply one).
    offset
        The file's ``add_offset``.
    convention
        ``"hdfeos"``, ``"cf"`` or ``"divide"``.
    """

    scale: float = 1.0
    offset: float = 0.0
    convention: Convention = "hdfeos"

    def __post_init__(self) -> None:
        if self.convention not in ("hdfeos", "cf", "divide"):
            raise RegistryError(f"unknown unpacking convention {self.convention!r}")
        if self.convention == "divide" and self.scale == 0:
            raise RegistryError("a divide scaling needs a non-zero scale")

    def apply(self, stored: np.ndarray) -> np.ndarray:
        """Stored values (any numeric dtype) → physical values in float64."""
        x = np.asarray(stored, dtype="float64")
        if self.convention == "hdfeos":
            return (x - self.offset) * self.scale
        if self.convention == "cf":
            return x * self.scale + self.offset
        return x / self.scale + self.offset


@dataclass(frozen=True)
class FillClass:
    """A stored value that is not a measurement but has a meaning (e.g. LAI 254 = water).

    ``nonvegetated`` marks classes that say the pixel is not vegetation (urban, water, ...),
    which a BEPS writer codes as non-vegetated rather than missing.
    """

    code: int
    name: str
    meaning: str
    nonvegetated: bool = False


def _slug(text: str) -> str:
    """``"not set, assumed clear"`` → ``"not_set_assumed_clear"`` (an identifier)."""
    out = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    return out if out and not out[0].isdigit() else f"v_{out}"


@dataclass(frozen=True)
class BitField:
    """A bit field of a QA word: ``length`` bits starting at bit ``start`` (bit 0 = LSB).

    The field's value is ``(word >> start) & ((1 << length) - 1)``.

    Parameters
    ----------
    name
        An identifier, unique among the fields of one layer (``"cloud_state"``).
    start, length
        First bit (0 = least significant) and number of bits.
    values
        Documented code → meaning.  Codes not listed are undocumented (still decodable).
    description
        What the field is, with its source when it differs from the layer's.
    names
        Code → short identifier used in predicate expressions (``3: "not_set"``).  A code
        without one is named by its meaning made an identifier (``"not set, assumed clear"``
        → ``not_set_assumed_clear``).
    """

    name: str
    start: int
    length: int
    values: Mapping[int, str] = field(default_factory=dict)
    description: str = ""
    names: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))
        object.__setattr__(self, "names", _frozen(self.names))
        if self.start < 0 or self.length < 1:
            raise RegistryError(f"bit field {self.name!r}: start >= 0 and length >= 1 required")
        if not self.name.isidentifier():
            raise RegistryError(f"bit field {self.name!r}: the name must be an identifier")
        bad = [c for c in (*self.values, *self.names) if not 0 <= c < (1 << self.length)]
        if bad:
            raise RegistryError(
                f"bit field {self.name!r}: codes {bad} do not fit {self.length} bits")
        labels = list(self.labels.values())
        odd = [lab for lab in labels if not lab.isidentifier() or keyword.iskeyword(lab)]
        if odd:
            raise RegistryError(f"bit field {self.name!r}: value names {odd} are not identifiers")
        if len(set(labels)) != len(labels):
            raise RegistryError(f"bit field {self.name!r}: value names are not unique: {labels}")

    @property
    def mask(self) -> int:
        """The field's bits within the word (``0x18`` for bits 3-4)."""
        return ((1 << self.length) - 1) << self.start

    @property
    def max_code(self) -> int:
        """The largest value the field can hold, ``2**length - 1``."""
        return (1 << self.length) - 1

    @property
    def labels(self) -> dict[int, str]:
        """Code → identifier for every documented or named code."""
        codes = sorted(set(self.values) | set(self.names))
        return {c: self.names.get(c) or _slug(self.values[c]) for c in codes}

    def code_of(self, label: str) -> int | None:
        """The code called ``label`` (an identifier from :attr:`labels`), or ``None``."""
        return next((c for c, lab in self.labels.items() if lab == label), None)


@dataclass(frozen=True)
class Layer:
    """Everything known about one layer (SDS) of a product.

    Parameters
    ----------
    name
        The SDS / dataset name in the file (may contain spaces).
    dtype
        The stored numpy dtype name (``"uint8"``, ``"int16"``...).
    kind
        ``"value"``, ``"qa"`` or ``"class"``; see :data:`LayerKind`.
    units
        Physical units after decoding (CF/UDUNITS spelling), ``""`` if none.
    scaling
        The unpacking, ``None`` for layers that are not scaled.
    valid_range
        ``(min, max)`` of valid *stored* values, inclusive; outside → NaN when decoded.
    fill_values
        Stored values that mean "no data" (a set: VIIRS has two-element ``_FillValue``).
    fill_classes
        Stored values with a documented meaning (LAI 249-255).  A layer with more than one
        class gets a categorical ``<layer>_class`` companion when decoded.
    physical_range
        Where decoded values must lie, a plausibility check used by the tests.
    class_values
        For ``class`` layers: code → meaning (e.g. the IGBP legend).
    bit_fields
        For ``qa`` layers: the QA word's bit fields.
    deviations
        File attribute name → why the registry intentionally differs from what the file
        stores (e.g. MOD09A1 angle ``_FillValue = 0``, which is a valid azimuth).
    source
        Where the numbers come from.
    qa_key
        For layers with bit fields: a short identifier that qualifies field names in QA
        expressions (``"state"`` in ``state.cloud_state == clear``); the layer name when empty.
    """

    name: str
    dtype: str
    kind: LayerKind = "value"
    units: str = ""
    long_name: str = ""
    scaling: Scaling | None = None
    valid_range: tuple[float, float] | None = None
    fill_values: tuple[int, ...] = ()
    fill_classes: tuple[FillClass, ...] = ()
    physical_range: tuple[float, float] | None = None
    class_values: Mapping[int, str] = field(default_factory=dict)
    bit_fields: tuple[BitField, ...] = ()
    deviations: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    qa_key: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_values", _frozen(self.class_values))
        names = [b.name for b in self.bit_fields]
        if len(set(names)) != len(names):
            raise RegistryError(f"layer {self.name!r}: duplicate bit field names {names}")
        object.__setattr__(self, "deviations", _frozen(self.deviations))
        if self.kind not in ("value", "qa", "class"):
            raise RegistryError(f"layer {self.name!r}: unknown kind {self.kind!r}")
        np.dtype(self.dtype)  # raises TypeError on a bad name
        if self.keeps_classes and any(c.code == 0 for c in self.fill_classes):
            raise RegistryError(f"layer {self.name!r}: fill class code 0 clashes with 'valid'")

    @property
    def keeps_classes(self) -> bool:
        """True when decoding adds a categorical ``<layer>_class`` companion."""
        return self.kind == "value" and len(self.fill_classes) > 1

    @property
    def key(self) -> str:
        """The qualifier of this layer's bit fields in QA expressions (``qa_key`` or name)."""
        return self.qa_key or self.name

    @property
    def nonveg_codes(self) -> tuple[int, ...]:
        """The fill-class codes that mean "not vegetated" (see :class:`FillClass`)."""
        return tuple(c.code for c in self.fill_classes if c.nonvegetated)

    @property
    def nodata_codes(self) -> tuple[int, ...]:
        """Every stored value that is not a measurement (fills and fill classes)."""
        return tuple(sorted(set(self.fill_values) | {c.code for c in self.fill_classes}))


@dataclass(frozen=True)
class QAPreset:
    """A named QA predicate of a product, written in the QA expression syntax.

    Parameters
    ----------
    name
        An identifier (``"good_lai"``); may be used inside other expressions.
    expression
        E.g. ``"scf_qc <= 1 and cloud_state == clear"`` (see ``docs/concepts/qa.md``).
    description
        What passes, in words.
    source
        Where the rule comes from (a reference, or "choice" for an engineering decision).
    """

    name: str
    expression: str
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise RegistryError(f"QA preset {self.name!r}: the name must be an identifier")


@dataclass(frozen=True)
class WeightScheme:
    """QA classes → weights in [0, 1] for smoothers and composites.

    The rules are tried in order; a pixel gets the weight of the first rule whose expression
    holds, else ``default``.  Fill words always get weight 0.

    Parameters
    ----------
    name
        An identifier (``"default"``).
    rules
        ``(expression, weight)`` pairs.
    default
        The weight of pixels that no rule matches.
    description, source
        What the scheme means and where it comes from.
    """

    name: str
    rules: tuple[tuple[str, float], ...]
    default: float = 0.0
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple((str(e), float(w)) for e, w in self.rules))
        for _, w in (*self.rules, ("default", self.default)):
            if not 0.0 <= w <= 1.0:
                raise RegistryError(f"weight scheme {self.name!r}: weight {w} outside [0, 1]")


@dataclass(frozen=True)
class Product:
    """One product in one collection, e.g. MCD15A2H collection 061.

    Parameters
    ----------
    name
        Short name as in file names (``"MCD15A2H"``).
    collection
        Three-digit collection (``"005"``, ``"006"``, ``"061"``).
    title
        A one-line description.
    layers
        The layers, in file order.
    platform
        ``"Terra"``, ``"Aqua"``, ``"Terra+Aqua"``, ...
    period_days
        Compositing period (8, 16, 4, 1, 365) or ``None``.
    resolution
        Nominal resolution (``"500m"``), the main grid's if several.
    grids
        Grid name in the file → short key (``"1km"``), for files with several grids.
    source
        Where the facts come from.
    qa_presets
        Named QA predicates (``good_lai``, ``clear_land``, ``vi_good``).
    qa_weights
        Weight schemes; the first is the default one.
    roles
        Role (one of :data:`ROLES`) → the layer that plays it (``{"lai": "Lai_500m",
        "lai_qa": "FparLai_QC"}``, ``{"red": "sur_refl_b01", ...}``).
    date_offset_days
        Days from 1 January to the first compositing period of each year (8 for Aqua's
        16-day vegetation indices, whose periods start on day 9; else 0).
    """

    name: str
    collection: str
    title: str
    layers: tuple[Layer, ...]
    platform: str = ""
    period_days: int | None = None
    resolution: str = ""
    grids: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    qa_presets: tuple[QAPreset, ...] = ()
    qa_weights: tuple[WeightScheme, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)
    date_offset_days: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "grids", _frozen(self.grids))
        object.__setattr__(self, "roles", _frozen(self.roles))
        names = [lyr.name for lyr in self.layers]
        if len(set(names)) != len(names):
            raise RegistryError(f"{self.name}.{self.collection}: duplicate layer names")
        for role, layer in self.roles.items():
            if role not in ROLES:
                raise RegistryError(f"{self.name}.{self.collection}: unknown role {role!r}; "
                                 f"known: {', '.join(ROLES)}")
            if layer not in names:
                raise RegistryError(f"{self.name}.{self.collection}: role {role!r} names "
                                 f"{layer!r}, not a layer of the product")

    def role_layer(self, role: str) -> str | None:
        """The name of the layer playing ``role`` (see :data:`ROLES`), or ``None``.

        Examples
        --------
        >>> from modisoft.products import get_product
        >>> get_product("MCD15A2H", "061").role_layer("lai")
        'Lai_500m'
        """
        return self.roles.get(role)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.collection)

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; raises :class:`~modisoft.errors.UnknownLayerError`."""
        for lyr in self.layers:
            if lyr.name == name:
                return lyr
        from modisoft.errors import UnknownLayerError

        raise UnknownLayerError(name, [lyr.name for lyr in self.layers])

    def find_layer(self, name: str) -> Layer | None:
        """The layer called ``name``, or ``None``."""
        return next((lyr for lyr in self.layers if lyr.name == name), None)

    @property
    def qa_layers(self) -> tuple[Layer, ...]:
        """The layers that declare bit fields (QA words, pixel reliability)."""
        return tuple(lyr for lyr in self.layers if lyr.bit_fields)
