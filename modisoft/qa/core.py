"""QA on xarray objects: decode words into fields, evaluate predicates, masks and weights.

Everything here is lazy: the bit arithmetic (:mod:`modisoft.qa.kernels`) is wrapped once with
:func:`xarray.apply_ufunc` and runs chunk by chunk when the result is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from modisoft.products import Layer, Product, all_products, find_product
from modisoft.products.model import BitField, QAPreset, WeightScheme
from modisoft.qa.expr import (
    Compare,
    MissingQALayerError,
    Name,
    Predicate,
    QAError,
    UnknownQAFieldError,
    UnknownQAValueError,
    as_predicate,
)
from modisoft.qa.kernels import extract_field, field_dtype, fill_code, fill_mask

__all__ = [
    "decode_qa",
    "qa_mask",
    "qa_mask_and_fill",
    "qa_weights",
    "where",
    "resolve_product",
    "qa_layer_of",
    "presets",
    "weight_schemes",
]


# --- products and layers ----------------------------------------------------------------------


def resolve_product(product: Product | str) -> Product:
    """A registry :class:`~modisoft.products.Product` from a product or ``"NAME[.COLL]"``."""
    if isinstance(product, Product):
        return product
    name, _, coll = str(product).partition(".")
    p = find_product(name, coll or None)
    if p is None:
        known = sorted({q.name for q in all_products() if q.qa_layers})
        raise MissingQALayerError(
            f"product {product!r} is not registered; products with QA layers: {', '.join(known)}"
        )
    return p


def _layer_name(da: Any) -> str:
    return str(da.attrs.get("layer", da.name))


def _qa_signature(p: Product, names: Iterable[str]) -> tuple:
    layers = tuple(p.find_layer(n) for n in names)
    return (
        tuple((lyr.bit_fields, lyr.fill_values, lyr.key) if lyr else None for lyr in layers),
        p.qa_presets,
        p.qa_weights,
    )


def _guess_product(names: Sequence[str]) -> Product:
    """The product for QA layers known only by name: every registered product holding them
    must agree on their bit fields, presets and weights (MOD15 collections do; VNP15 does not)."""
    cands = [
        p
        for p in all_products()
        if all((lyr := p.find_layer(n)) is not None and lyr.bit_fields for n in names)
    ]
    if not cands:
        raise MissingQALayerError(
            f"no registered product has QA bit fields for layer(s) {', '.join(map(repr, names))}"
        )
    if len({repr(_qa_signature(p, names)) for p in cands}) > 1:
        raise QAError(
            f"layer(s) {', '.join(map(repr, names))} have different QA layouts in "
            + ", ".join(f"{p.name}.{p.collection}" for p in cands)
            + "; pass product='NAME' (e.g. product='MCD15A2H')"
        )
    return cands[0]


def _product_for(obj: Any, product: Product | str | None, names: Sequence[str]) -> Product:
    if product is not None:
        return resolve_product(product)
    tag = obj.attrs.get("registry_product")
    if tag:
        return resolve_product(str(tag))
    return _guess_product(names)


def qa_layer_of(da: Any, product: Product | str | None = None) -> Layer:
    """The registry layer (with its bit fields) of a raw QA ``DataArray``.

    Raises
    ------
    MissingQALayerError
        When the product has no such layer or the layer declares no bit fields.
    """
    name = _layer_name(da)
    p = _product_for(da, product, [name])
    layer = p.find_layer(name)
    if layer is None or not layer.bit_fields:
        raise MissingQALayerError(
            f"{p.name}.{p.collection} has no QA layer {name!r}; its QA layers: "
            + (", ".join(repr(lyr.name) for lyr in p.qa_layers) or "none")
        )
    return layer


def presets(product: Product | str) -> dict[str, QAPreset]:
    """The named predicates of a product: name → :class:`~modisoft.products.QAPreset`."""
    return {q.name: q for q in resolve_product(product).qa_presets}


def weight_schemes(product: Product | str) -> dict[str, WeightScheme]:
    """The weight schemes of a product (the first is the default)."""
    return {w.name: w for w in resolve_product(product).qa_weights}


# --- decoding ---------------------------------------------------------------------------------


def _field_da(da: Any, bf: BitField, fill_values: Sequence[int]) -> Any:
    import xarray as xr

    return xr.apply_ufunc(
        extract_field,
        da,
        kwargs={"start": bf.start, "length": bf.length, "fill_values": tuple(fill_values)},
        dask="parallelized",
        output_dtypes=[field_dtype(bf.length)],
        keep_attrs=False,
    )


def _field_attrs(bf: BitField, layer: Layer, keep: Mapping[str, Any]) -> dict[str, Any]:
    labels = bf.labels
    dt = field_dtype(bf.length)
    end = bf.start + bf.length - 1
    return {
        **keep,
        "long_name": bf.description or bf.name.replace("_", " "),
        "layer": layer.name,
        "bits": f"{bf.start}" if bf.length == 1 else f"{bf.start}-{end}",
        "flag_values": np.array([*labels, fill_code(bf.length)], dtype=dt),
        "flag_meanings": " ".join([*labels.values(), "fill"]),
        "fill_code": dt.type(fill_code(bf.length)),
        "comment": "; ".join(f"{c}: {m}" for c, m in bf.values.items())
        + f"; {fill_code(bf.length)}: the QA word is fill {list(layer.fill_values)}",
    }


def decode_qa(
    layer: Any,
    name: str | None = None,
    *,
    product: Product | str | None = None,
    fields: Sequence[str] | None = None,
) -> Any:
    """Decode a QA layer into its named bit fields, lazily.

    Parameters
    ----------
    layer
        A raw QA ``DataArray`` from :func:`~modisoft.open_granule` (integer words; any dims),
        or the granule ``Dataset`` (its ``registry_product`` then names the product).
    name
        With a ``Dataset``: the QA layer to decode (needed when it holds several).
    product
        The registry product (``"MCD15A2H"``, ``"MCD15A2H.061"`` or a ``Product``) when the
        layer's name alone is ambiguous (``FparLai_QC`` differs between MOD15 and VNP15).
    fields
        Decode only these fields (default: all).

    Returns
    -------
    xarray.Dataset
        One small unsigned-integer variable per bit field (``uint8`` for fields up to 7 bits),
        with the layer's coordinates.  Where the word is fill the field holds its ``fill_code``
        attribute (255 for ``uint8``), never bits of the fill word.  ``flag_values`` /
        ``flag_meanings`` name the codes.

    Raises
    ------
    MissingQALayerError
        When the registry has no bit fields for this layer.
    UnknownQAFieldError
        For a name in ``fields`` that the layer does not have.

    Examples
    --------
    >>> ds = open_granule("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf")  # doctest: +SKIP
    >>> qc = decode_qa(ds["FparLai_QC"])  # doctest: +SKIP
    >>> (qc.scf_qc <= 1).sum().item()  # doctest: +SKIP
    """
    import xarray as xr

    if isinstance(layer, xr.Dataset):
        layer, product = _pick_layer(layer, name, product)
    lyr = qa_layer_of(layer, product)
    by_name = {b.name: b for b in lyr.bit_fields}
    wanted = list(fields) if fields is not None else list(by_name)
    unknown = [f for f in wanted if f not in by_name]
    if unknown:
        raise UnknownQAFieldError(
            f"layer {lyr.name!r} has no field(s) {', '.join(map(repr, unknown))}; "
            f"fields: {', '.join(by_name)}"
        )
    keep = {k: v for k, v in layer.attrs.items() if k == "grid_mapping"}
    out = {}
    for name in wanted:
        bf = by_name[name]
        da = _field_da(layer, bf, lyr.fill_values)
        da.attrs = _field_attrs(bf, lyr, keep)
        out[name] = da
    attrs = {
        "qa_layer": lyr.name,
        "qa_key": lyr.key,
        "fill_values": list(lyr.fill_values),
        "source": lyr.source,
    }
    return xr.Dataset(out, coords=layer.coords, attrs=attrs)


def _pick_layer(ds: Any, name: str | None, product: Any) -> tuple[Any, Any]:
    p = product if product is not None else ds.attrs.get("registry_product")
    names = [str(v) for v in ds.data_vars]
    if name is None:
        p_obj = resolve_product(p) if p is not None else _guess_product(names)
        qa = [n for n in names if n in {lyr.name for lyr in p_obj.qa_layers}]
        if len(qa) != 1:
            raise MissingQALayerError(
                f"pass the QA layer to decode; QA layers in the dataset: "
                f"{', '.join(map(repr, qa)) or 'none'}"
            )
        name = qa[0]
    if name not in ds.data_vars:
        raise MissingQALayerError(
            f"no layer {name!r} in the dataset; layers: {', '.join(map(repr, names))}"
        )
    return ds[name], p


# --- predicates -------------------------------------------------------------------------------


class _Context:
    """Resolves names against a product and evaluates predicates on the QA layers at hand."""

    def __init__(self, product: Product, data: Mapping[str, Any]):
        self.product = product
        self.data = dict(data)
        self._fields: dict[tuple[str, str], Any] = {}
        self._presets = {q.name: q for q in product.qa_presets}
        self._stack: list[str] = []
        self.used: set[str] = set()

    @property
    def label(self) -> str:
        return f"{self.product.name}.{self.product.collection}"

    def _all_fields(self) -> list[str]:
        out = []
        for lyr in self.product.qa_layers:
            for b in lyr.bit_fields:
                shared = sum(
                    b.name in {c.name for c in o.bit_fields} for o in self.product.qa_layers
                )
                out.append(b.name if shared == 1 else f"{lyr.key}.{b.name}")
        return out

    def _no_such(self, ref: str) -> UnknownQAFieldError | MissingQALayerError:
        if not self.product.qa_layers:
            with_qa = sorted({p.name for p in all_products() if p.qa_layers})
            return MissingQALayerError(
                f"{self.label} has no QA layer with bit fields, so {ref!r} cannot apply; "
                f"products with QA layers: {', '.join(with_qa)}"
            )
        elsewhere = sorted(
            {p.name for p in all_products() if ref in {q.name for q in p.qa_presets}}
        )
        hint = f" ({ref!r} is a preset of {', '.join(elsewhere)})" if elsewhere else ""
        return UnknownQAFieldError(
            f"{self.label} has no QA field or preset {ref!r}{hint}; fields: "
            f"{', '.join(self._all_fields())}; presets: "
            f"{', '.join(self._presets) or 'none'}"
        )

    def resolve(self, ref: str) -> tuple[Layer, BitField]:
        key, _, fname = ref.rpartition(".")
        hits = []
        for lyr in self.product.qa_layers:
            if key and key not in (lyr.key, lyr.name):
                continue
            hits += [(lyr, b) for b in lyr.bit_fields if b.name == fname]
        if not hits:
            if key and not any(key in (lyr.key, lyr.name) for lyr in self.product.qa_layers):
                raise UnknownQAFieldError(
                    f"{self.label} has no QA layer {key!r} (in {ref!r}); layer keys: "
                    + ", ".join(lyr.key for lyr in self.product.qa_layers)
                )
            raise self._no_such(ref)
        if len(hits) > 1:
            raise UnknownQAFieldError(
                f"field {ref!r} is ambiguous in {self.label}; write one of "
                + ", ".join(f"{lyr.key}.{b.name}" for lyr, b in hits)
            )
        lyr, bf = hits[0]
        if lyr.name not in self.data:
            raise MissingQALayerError(
                f"field {ref!r} lives in QA layer {lyr.name!r}, which is not in the data; "
                f"QA layers present: {', '.join(map(repr, self.data)) or 'none'} "
                f"(open the granule with that layer)"
            )
        return lyr, bf

    def field_array(self, lyr: Layer, bf: BitField) -> Any:
        self.used.add(lyr.name)
        key = (lyr.name, bf.name)
        if key not in self._fields:
            self._fields[key] = _field_da(self.data[lyr.name], bf, lyr.fill_values)
        return self._fields[key]

    def code(self, bf: BitField, value: int | str, ref: str) -> int:
        if isinstance(value, int):
            if value > bf.max_code:
                raise UnknownQAValueError(
                    f"value {value} does not fit the {bf.length}-bit field {ref!r} "
                    f"(codes 0..{bf.max_code})"
                )
            return value
        code = bf.code_of(value)
        if code is None:
            accepted = ", ".join(f"{lab} ({c})" for c, lab in bf.labels.items())
            raise UnknownQAValueError(
                f"field {ref!r} has no value {value!r}; accepted: {accepted or 'none named'}, "
                f"or a code 0..{bf.max_code}"
            )
        return code

    def compare(self, c: Compare) -> Any:
        lyr, bf = self.resolve(c.ref)
        codes = [self.code(bf, v, c.ref) for v in c.values]
        arr = self.field_array(lyr, bf)
        if c.op in ("in", "not in"):
            hit = arr.isin(codes)
            return hit if c.op == "in" else ~hit
        v = codes[0]
        return {
            "==": arr == v,
            "!=": arr != v,
            "<": arr < v,
            "<=": arr <= v,
            ">": arr > v,
            ">=": arr >= v,
        }[c.op]

    def name(self, n: Name) -> Any:
        try:
            self.resolve(n.ref)
        except UnknownQAFieldError as exc:
            if n.ref not in self._presets:
                raise exc from None
        else:
            return self.compare(Compare(n.ref, "!=", (0,)))
        if n.ref in self._stack:
            raise QAError(f"preset {n.ref!r} refers to itself: {' -> '.join(self._stack)}")
        self._stack.append(n.ref)
        try:
            return as_predicate(self._presets[n.ref].expression).evaluate(self.compare, self.name)
        finally:
            self._stack.pop()

    def valid(self, names: Iterable[str]) -> Any:
        """True where none of the named layers holds a fill word (``None``: no fills)."""
        import xarray as xr

        out = None
        for n in sorted(names):
            lyr = self.product.find_layer(n)
            if not lyr.fill_values:
                continue
            ok = xr.apply_ufunc(
                _not_fill,
                self.data[n],
                kwargs={"fill_values": tuple(lyr.fill_values)},
                dask="parallelized",
                output_dtypes=[bool],
                keep_attrs=False,
            )
            out = ok if out is None else out & ok
        return out

    def evaluate(self, pred: Predicate) -> tuple[Any, set[str]]:
        """The predicate's raw truth (fill not yet excluded) and the QA layers it read."""
        self.used = set()
        raw = pred.evaluate(self.compare, self.name)
        dims = {self.data[n].dims for n in self.used}
        if len(dims) > 1:
            raise QAError(
                f"predicate {str(pred)!r} combines QA layers on different grids "
                f"({', '.join(sorted(self.used))}); apply it per grid"
            )
        return raw, set(self.used)


def _with_coords(out: Any, ref: Any) -> Any:
    """``out`` with ``ref``'s coordinates, attributes included (arithmetic drops those of the
    grid-mapping coordinate, and the grid must stay recoverable)."""
    return out.assign_coords({k: ref.coords[k] for k in ref.coords if k in out.coords})


def _not_fill(words: np.ndarray, fill_values: Sequence[int]) -> np.ndarray:
    return ~fill_mask(words, fill_values)


def _context(obj: Any, product: Product | str | None) -> _Context:
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        data = {_layer_name(obj): obj}
    elif isinstance(obj, xr.Dataset):
        data = {_layer_name(obj[v]): obj[v] for v in obj.data_vars}
    else:
        raise TypeError(f"expected an xarray Dataset or DataArray, got {type(obj).__name__}")
    if product is None and not obj.attrs.get("registry_product"):
        guessable = [
            n
            for n in data
            if any((lyr := p.find_layer(n)) and lyr.bit_fields for p in all_products())
        ]
        p = _guess_product(guessable or list(data))
    else:
        p = _product_for(obj, product, list(data))
    qa_names = {lyr.name for lyr in p.qa_layers}
    return _Context(p, {n: da for n, da in data.items() if n in qa_names})


def _resolve_predicate(pred: Predicate | str, ctx: _Context) -> Predicate:
    if isinstance(pred, str) and pred.strip() in ctx._presets:
        return as_predicate(ctx._presets[pred.strip()].expression)
    return as_predicate(pred)


def _mask_and_valid(obj: Any, predicate: Predicate | str, product: Any) -> tuple[Any, Any, Any]:
    ctx = _context(obj, product)
    pred = _resolve_predicate(predicate, ctx)
    raw, used = ctx.evaluate(pred)
    valid = ctx.valid(used)
    mask = raw if valid is None else raw & valid
    ref = ctx.data[sorted(used)[0]]
    mask = _with_coords(mask, ref)
    mask.attrs = {
        "long_name": f"QA mask: {pred}",
        "qa_rule": str(predicate if isinstance(predicate, str) else pred),
        "qa_expression": str(pred),
        "qa_product": ctx.label,
        **{k: v for k, v in ref.attrs.items() if k == "grid_mapping"},
    }
    mask.name = "qa_mask"
    return mask, valid, ctx


def qa_mask_and_fill(
    obj: Any, predicate: Predicate | str, *, product: Product | str | None = None
) -> tuple[Any, Any]:
    """:func:`qa_mask`, and where the QA words it reads are not fill (``None`` without fill).

    The mask is ``False`` on fill; the second array tells fill apart from a failed test
    (``modisoft qa --mask`` writes 255 there).
    """
    mask, valid, _ = _mask_and_valid(obj, predicate, product)
    return mask, valid


def qa_mask(obj: Any, predicate: Predicate | str, *, product: Product | str | None = None) -> Any:
    """Where a QA predicate holds: a lazy boolean ``DataArray``.

    Parameters
    ----------
    obj
        A granule ``Dataset`` from :func:`~modisoft.open_granule` holding the QA layers the
        predicate reads (or one raw QA ``DataArray``); other variables are ignored.
    predicate
        A preset name (``"good_lai"``), an expression (``"cloud_state == clear and not
        snow_ice"``) or a :class:`~modisoft.qa.Predicate`.
    product
        The registry product, when ``obj`` does not carry ``registry_product``.

    Returns
    -------
    xarray.DataArray
        ``bool``; ``False`` wherever a QA layer the predicate reads holds a fill word.

    Raises
    ------
    QAExpressionError
        For an expression that does not parse.
    UnknownQAFieldError, UnknownQAValueError
        For an unknown field, preset or value; the message lists the accepted ones.
    MissingQALayerError
        When the product has no QA bit fields, or ``obj`` lacks a layer the predicate needs.

    Examples
    --------
    >>> ds = open_granule(path, ["FparLai_QC"])  # doctest: +SKIP
    >>> good = qa_mask(ds, "good_lai")  # doctest: +SKIP
    >>> lai = decode(open_granule(path, ["Lai_500m"])).Lai_500m.where(good)  # doctest: +SKIP
    """
    return _mask_and_valid(obj, predicate, product)[0]


def _scheme(product: Product, scheme: Any) -> WeightScheme:
    if scheme is None:
        if not product.qa_weights:
            raise MissingQALayerError(
                f"{product.name}.{product.collection} has no QA weight scheme; pass scheme="
            )
        return product.qa_weights[0]
    if isinstance(scheme, WeightScheme):
        return scheme
    if isinstance(scheme, str):
        found = {w.name: w for w in product.qa_weights}
        if scheme not in found:
            raise UnknownQAFieldError(
                f"{product.name}.{product.collection} has no weight scheme {scheme!r}; "
                f"schemes: {', '.join(found) or 'none'}"
            )
        return found[scheme]
    rules = scheme.items() if isinstance(scheme, Mapping) else scheme
    return WeightScheme("custom", tuple((str(e), float(w)) for e, w in rules), 0.0)


def qa_weights(obj: Any, *, product: Product | str | None = None, scheme: Any = None) -> Any:
    """Per-pixel weights in [0, 1] from QA classes, for smoothers and composites.

    Parameters
    ----------
    obj
        A granule ``Dataset`` (or a ``(time, y, x)`` stack) holding the QA layers the scheme
        reads, or one raw QA ``DataArray``.
    product
        The registry product, when ``obj`` does not carry ``registry_product``.
    scheme
        ``None`` for the product's default scheme; a scheme name (``"vi_quality"``); a
        :class:`~modisoft.products.WeightScheme`; or rules as a mapping or list of
        ``(expression, weight)`` pairs, tried in order (first match wins, else 0).

    Returns
    -------
    xarray.DataArray
        ``float32`` in [0, 1], named ``qa_weight``; 0 where a QA layer the scheme reads is fill.

    Examples
    --------
    >>> w = qa_weights(ds, product="MOD13A2")  # doctest: +SKIP
    >>> w = qa_weights(ds, scheme={"good_lai": 1.0, "main_algorithm": 0.3})  # doctest: +SKIP
    """
    import xarray as xr

    ctx = _context(obj, product)
    sch = _scheme(ctx.product, scheme)
    if not sch.rules:
        raise QAError(f"weight scheme {sch.name!r} has no rules")
    masks, used_all = [], set()
    for expr, w in sch.rules:
        raw, used = ctx.evaluate(_resolve_predicate(expr, ctx))
        valid = ctx.valid(used)
        masks.append((raw if valid is None else raw & valid, w))
        used_all |= used
    out = xr.full_like(masks[0][0], sch.default, dtype="float32")
    for m, w in reversed(masks):
        out = xr.where(m, np.float32(w), out)
    valid_all = ctx.valid(used_all)
    if valid_all is not None:
        out = xr.where(valid_all, out, np.float32(0.0))
    ref = ctx.data[sorted(used_all)[0]]
    out = _with_coords(out.astype("float32"), ref)
    out.name = "qa_weight"
    out.attrs = {
        "long_name": "QA weight",
        "units": "1",
        "qa_product": ctx.label,
        "qa_scheme": sch.name,
        "qa_rules": "; ".join(f"{e} -> {w:g}" for e, w in sch.rules)
        + f"; otherwise {sch.default:g}; fill -> 0",
        **{k: v for k, v in ref.attrs.items() if k == "grid_mapping"},
    }
    return out


def where(
    obj: Any,
    predicate: Predicate | str,
    *,
    qa: Any = None,
    product: Product | str | None = None,
) -> Any:
    """Keep values where a QA predicate holds, NaN elsewhere.

    Parameters
    ----------
    obj
        Values to mask: a ``DataArray`` or a ``Dataset`` (its QA layers are left unchanged).
    predicate
        A preset name, an expression or a :class:`~modisoft.qa.Predicate`.
    qa
        Where the QA layers are; default ``obj`` itself (a granule opened with its QA layers).
    product
        The registry product, when neither object carries ``registry_product``.

    Examples
    --------
    >>> ds = decode(open_granule(path))  # doctest: +SKIP
    >>> good = where(ds, "good_lai")  # Lai_500m NaN wherever good_lai fails  # doctest: +SKIP
    """
    import xarray as xr

    src = obj if qa is None else qa
    if product is None and qa is not None and "registry_product" in obj.attrs:
        product = obj.attrs["registry_product"] if "registry_product" not in qa.attrs else None
    mask, _, ctx = _mask_and_valid(src, predicate, product)
    if isinstance(obj, xr.DataArray):
        return obj.where(mask)
    qa_names = {lyr.name for lyr in ctx.product.qa_layers}
    out = obj.copy()
    for v in obj.data_vars:
        da = obj[v]
        if _layer_name(da) not in qa_names and set(mask.dims) <= set(da.dims):
            out[v] = da.where(mask)
    return out
