"""QA predicates: a small tree of field conditions, built in Python or parsed from text.

The text syntax is a safe subset of Python expressions, parsed with :mod:`ast` and never
evaluated::

    cloud_state == clear and not snow_ice
    scf_qc in (main, main_saturated) and cloud_state == 0
    state.cloud_state != cloudy or (aerosol <= low)
    good_lai and not FparExtra_QC.snow_ice

* a **field** is a bit-field name, or ``key.field`` where ``key`` is the QA layer's key or
  name (needed when two layers share a field name, e.g. MOD11 ``day.mandatory_qa``);
* a **value** is a code (``0``) or its name (``clear``; also as a string, ``"clear"``);
* comparisons: ``==  !=  <  <=  >  >=  in  not in`` (one per condition, field on the left);
* a bare field means "field != 0" (``not snow_ice`` = ``snow_ice == 0``);
* a bare name that is not a field is a **preset** of the product (``good_lai``);
* ``and``, ``or``, ``not`` and parentheses combine conditions.

Names are checked against the product when the predicate is applied: an unknown field, value or
preset raises an error that lists the accepted ones.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from modisoft.errors import (
    MissingQALayerError,
    QAError,
    QAExpressionError,
    UnknownQAFieldError,
    UnknownQAValueError,
)

__all__ = [
    "QAError",
    "QAExpressionError",
    "UnknownQAFieldError",
    "UnknownQAValueError",
    "MissingQALayerError",
    "Predicate",
    "Compare",
    "Name",
    "And",
    "Or",
    "Not",
    "FieldRef",
    "field",
    "parse",
    "as_predicate",
]

OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
_AST_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


Value = int | str


class Predicate:
    """Base class of QA predicates; combine with ``&``, ``|`` and ``~``.

    Predicates are unbound: field and value names are resolved against a product when the
    predicate is applied (:func:`modisoft.qa.qa_mask`).  ``str(p)`` gives the expression.
    """

    def __and__(self, other: Predicate | str) -> Predicate:
        return And((self, as_predicate(other)))

    def __rand__(self, other: Predicate | str) -> Predicate:
        return And((as_predicate(other), self))

    def __or__(self, other: Predicate | str) -> Predicate:
        return Or((self, as_predicate(other)))

    def __ror__(self, other: Predicate | str) -> Predicate:
        return Or((as_predicate(other), self))

    def __invert__(self) -> Predicate:
        return Not(self)

    def evaluate(self, compare: Callable[[Compare], Any], name: Callable[[Name], Any]) -> Any:
        """Fold the tree: ``compare`` evaluates a condition, ``name`` a bare name."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


@dataclass(frozen=True, repr=False)
class Compare(Predicate):
    """``ref op values``: ``ref`` is ``"field"`` or ``"key.field"``; ``values`` codes or names."""

    ref: str
    op: str
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise QAExpressionError(f"unknown comparison {self.op!r}; use one of {', '.join(OPS)}")
        if self.op not in ("in", "not in") and len(self.values) != 1:
            raise QAExpressionError(f"{self.ref} {self.op} needs exactly one value")

    def evaluate(self, compare, name):
        return compare(self)

    def __str__(self) -> str:
        vals = [str(v) for v in self.values]
        rhs = f"({', '.join(vals)}{',' if len(vals) == 1 else ''})" if "in" in self.op else vals[0]
        return f"{self.ref} {self.op} {rhs}"


@dataclass(frozen=True, repr=False)
class Name(Predicate):
    """A bare name: a preset of the product, or a field meaning ``field != 0``."""

    ref: str

    def evaluate(self, compare, name):
        return name(self)

    def __str__(self) -> str:
        return self.ref


@dataclass(frozen=True, repr=False)
class And(Predicate):
    parts: tuple[Predicate, ...]

    def evaluate(self, compare, name):
        out = None
        for p in self.parts:
            v = p.evaluate(compare, name)
            out = v if out is None else out & v
        return out

    def __str__(self) -> str:
        return " and ".join(_wrap(p, Or) for p in self.parts)


@dataclass(frozen=True, repr=False)
class Or(Predicate):
    parts: tuple[Predicate, ...]

    def evaluate(self, compare, name):
        out = None
        for p in self.parts:
            v = p.evaluate(compare, name)
            out = v if out is None else out | v
        return out

    def __str__(self) -> str:
        return " or ".join(_wrap(p, And) for p in self.parts)


@dataclass(frozen=True, repr=False)
class Not(Predicate):
    part: Predicate

    def evaluate(self, compare, name):
        return ~self.part.evaluate(compare, name)

    def __str__(self) -> str:
        return f"not {_wrap(self.part, (And, Or))}"


def _wrap(p: Predicate, kinds: Any) -> str:
    return f"({p})" if isinstance(p, kinds) else str(p)


class FieldRef(Predicate):
    """A field used in Python code: ``field("cloud_state") == "clear"``.

    On its own it means ``field != 0``, so ``~field("snow_ice")`` reads "no snow/ice".
    """

    def __init__(self, ref: str):
        _check_ref(ref, ref)
        self.ref = ref

    def _cmp(self, op: str, value: Any) -> Compare:
        return Compare(self.ref, op, (_check_value(value, self.ref),))

    def __eq__(self, value: Any) -> Compare:  # type: ignore[override]
        return self._cmp("==", value)

    def __ne__(self, value: Any) -> Compare:  # type: ignore[override]
        return self._cmp("!=", value)

    def __lt__(self, value: Any) -> Compare:
        return self._cmp("<", value)

    def __le__(self, value: Any) -> Compare:
        return self._cmp("<=", value)

    def __gt__(self, value: Any) -> Compare:
        return self._cmp(">", value)

    def __ge__(self, value: Any) -> Compare:
        return self._cmp(">=", value)

    __hash__ = None  # type: ignore[assignment]

    def isin(self, values: Iterable[Any]) -> Compare:
        """``field in (v1, v2, ...)``."""
        return Compare(self.ref, "in", tuple(_check_value(v, self.ref) for v in values))

    def notin(self, values: Iterable[Any]) -> Compare:
        """``field not in (v1, v2, ...)``."""
        return Compare(self.ref, "not in", tuple(_check_value(v, self.ref) for v in values))

    def evaluate(self, compare, name):
        return compare(Compare(self.ref, "!=", (0,)))

    def __str__(self) -> str:
        return self.ref


def field(ref: str) -> FieldRef:
    """A field for building predicates in Python.

    Examples
    --------
    >>> p = (field("cloud_state") == "clear") & ~field("snow_ice")
    >>> str(p)
    'cloud_state == clear and not snow_ice'
    """
    return FieldRef(ref)


def _check_ref(ref: str, expr: str) -> None:
    parts = ref.split(".")
    if not (1 <= len(parts) <= 2 and all(p.isidentifier() for p in parts)):
        raise QAExpressionError(
            f"{ref!r} in QA expression {expr!r} is not a field name ('field' or 'layer.field')"
        )


def _check_value(value: Any, ref: str) -> Value:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise QAExpressionError(f"value {value!r} for {ref}: use a code (int) or a value name")
    if isinstance(value, int) and value < 0:
        raise UnknownQAValueError(f"value {value} for {ref}: codes are >= 0")
    return value


def parse(expr: str) -> Predicate:
    """Parse a QA expression (syntax in the module docstring) into a :class:`Predicate`.

    Raises
    ------
    QAExpressionError
        For text that does not parse or uses anything beyond the documented syntax.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise QAExpressionError(f"empty QA expression {expr!r}")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise QAExpressionError(f"QA expression {expr!r} does not parse: {exc.msg}") from None
    return _node(tree.body, expr)


def _ref_of(node: ast.AST, expr: str) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _value_of(node: ast.AST, ref: str, expr: str) -> Value:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | str):
        return _check_value(node.value, ref)
    if isinstance(node, ast.Name):
        return node.id
    raise QAExpressionError(
        f"in QA expression {expr!r}: {ast.unparse(node)!r} is not a value "
        f"(use a code like 0 or a value name like clear)"
    )


def _node(node: ast.AST, expr: str) -> Predicate:
    if isinstance(node, ast.BoolOp):
        parts = tuple(_node(v, expr) for v in node.values)
        return And(parts) if isinstance(node.op, ast.And) else Or(parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Not(_node(node.operand, expr))
    ref = _ref_of(node, expr)
    if ref is not None:
        return Name(ref) if "." not in ref else Compare(ref, "!=", (0,))
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise QAExpressionError(
                f"in QA expression {expr!r}: chained comparison {ast.unparse(node)!r}; "
                "write 'a <= x and x <= b'"
            )
        ref = _ref_of(node.left, expr)
        if ref is None:
            raise QAExpressionError(
                f"in QA expression {expr!r}: the left side of {ast.unparse(node)!r} must be a "
                "field name"
            )
        op = _AST_OPS.get(type(node.ops[0]))
        if op is None:
            raise QAExpressionError(f"in QA expression {expr!r}: unsupported comparison")
        right = node.comparators[0]
        if op in ("in", "not in"):
            if not isinstance(right, ast.Tuple | ast.List | ast.Set) or not right.elts:
                raise QAExpressionError(
                    f"in QA expression {expr!r}: '{op}' needs a list of values, e.g. (0, 1)"
                )
            values = tuple(_value_of(v, ref, expr) for v in right.elts)
        else:
            values = (_value_of(right, ref, expr),)
        return Compare(ref, op, values)
    raise QAExpressionError(
        f"in QA expression {expr!r}: {ast.unparse(node)!r} is not supported; use field "
        f"comparisons ({', '.join(OPS)}) joined by and/or/not"
    )


def as_predicate(p: Predicate | str) -> Predicate:
    """A :class:`Predicate` from a predicate or an expression string."""
    if isinstance(p, Predicate):
        return p
    if isinstance(p, str):
        return parse(p)
    raise QAExpressionError(f"expected a QA expression or Predicate, got {type(p).__name__}")
