"""A small parser for the ODL text of HDF-EOS metadata.

HDF-EOS stores ``StructMetadata.0`` (grid layout), ``CoreMetadata.0`` (inventory: granule id,
dates, ...) and ``ArchiveMetadata.0`` as Object Description Language text: nested
``GROUP=name ... END_GROUP=name`` and ``OBJECT=name ... END_OBJECT=name`` blocks of
``KEY = value`` lines, where a value is a number, a quoted string, an unquoted word, or a
parenthesised (possibly nested, possibly multi-line) list of those.  Long attributes are split
over ``StructMetadata.0``, ``StructMetadata.1``, ... and must be joined before parsing.

The parser returns plain dicts: a block becomes ``{key: value, ...}``; repeated block names
(e.g. several ``OBJECT=ADDITIONALATTRIBUTESCONTAINER``) become a list of dicts.
"""

from __future__ import annotations

import re
from typing import Any

from modisoft.errors import ODLSyntaxError

__all__ = ["ODLSyntaxError", "parse_odl", "join_split_attribute"]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>/\*.*?\*/)
  | (?P<string>"[^"]*")
  | (?P<symbol>'[^']*')
  | (?P<punct>[=(),{}])
  | (?P<word>[^\s=(),{}"']+)
    """,
    re.VERBOSE | re.DOTALL,
)

_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eEdD][+-]?\d+)?\Z")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ODLSyntaxError(f"unexpected character {text[pos]!r} at offset {pos}")
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            out.append((kind, m.group(), pos))
        pos = m.end()
    return out


def _scalar(kind: str, tok: str) -> Any:
    if kind == "string":
        return tok[1:-1]
    if kind == "symbol":
        return tok[1:-1]
    if _INT.match(tok):
        return int(tok)
    if _FLOAT.match(tok):
        return float(tok.replace("d", "e").replace("D", "e"))
    return tok


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str, int] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ODLSyntaxError("unexpected end of text")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        _kind, tok, pos = self.take()
        if tok != value:
            raise ODLSyntaxError(f"expected {value!r} at offset {pos}, found {tok!r}")

    def value(self) -> Any:
        kind, tok, pos = self.take()
        if tok in ("(", "{"):
            close = ")" if tok == "(" else "}"
            items: list[Any] = []
            while True:
                nxt = self.peek()
                if nxt is None:
                    raise ODLSyntaxError(f"unclosed {tok!r} opened at offset {pos}")
                if nxt[1] == close:
                    self.take()
                    return tuple(items)
                after = self.peek(1)
                if nxt[0] == "word" and after is not None and after[1] == "=":
                    raise ODLSyntaxError(f"unclosed {tok!r} opened at offset {pos}")
                items.append(self.value())
                nxt = self.peek()
                if nxt is not None and nxt[1] == ",":
                    self.take()
        if kind == "punct":
            raise ODLSyntaxError(f"unexpected {tok!r} at offset {pos}")
        return _scalar(kind, tok)

    def block(self, end: str | None, name: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            tok = self.peek()
            if tok is None:
                if end is None:
                    return out
                raise ODLSyntaxError(f"{end}={name} missing: block {name!r} is not closed")
            kind, key, pos = self.take()
            if kind != "word":
                raise ODLSyntaxError(f"expected a keyword at offset {pos}, found {key!r}")
            ukey = key.upper()
            if ukey == "END" and (self.peek() is None or self.peek()[1] != "="):
                if end is not None:
                    raise ODLSyntaxError(f"END reached inside block {name!r}")
                return out
            if ukey in ("END_GROUP", "END_OBJECT"):
                closing = None
                if self.peek() is not None and self.peek()[1] == "=":
                    self.take()
                    closing = self.value()
                if end is None:
                    raise ODLSyntaxError(f"{key} at offset {pos} closes no open block")
                if closing is not None and str(closing) != name:
                    raise ODLSyntaxError(
                        f"{key}={closing} at offset {pos} does not match block {name!r}"
                    )
                if ukey != end and closing is None:
                    raise ODLSyntaxError(f"{key} at offset {pos} does not close block {name!r}")
                # a GROUP closed by END_OBJECT=<same name> (or the reverse) occurs in real
                # VIIRS CoreMetadata: accepted when the name matches
                return out
            self.expect("=")
            if ukey in ("GROUP", "OBJECT"):
                child_name = str(self.value())
                child = self.block("END_" + ukey, child_name)
                _add(out, child_name, child)
            else:
                _add(out, key, self.value())


def _add(out: dict[str, Any], key: str, value: Any) -> None:
    if key in out:
        prev = out[key]
        if isinstance(prev, list):
            prev.append(value)
        else:
            out[key] = [prev, value]
    else:
        out[key] = value


def parse_odl(text: str) -> dict[str, Any]:
    """Parse ODL text into nested dicts.

    Parameters
    ----------
    text
        The ODL text, e.g. the value of the ``StructMetadata.0`` attribute.  Trailing NUL
        padding is ignored.

    Returns
    -------
    dict
        ``GROUP``/``OBJECT`` blocks become nested dicts keyed by the block name; parenthesised
        lists become tuples; numbers become ``int``/``float``; quoted strings lose their quotes.

    Raises
    ------
    ODLSyntaxError
        If the text is not well-formed (unclosed block, mismatched ``END_GROUP``, ...).

    Examples
    --------
    >>> parse_odl('GROUP=G\\n X=(1,2)\\n N="a b"\\nEND_GROUP=G\\nEND')
    {'G': {'X': (1, 2), 'N': 'a b'}}
    """
    text = text.replace("\x00", "")
    return _Parser(text).block(None, None)


def join_split_attribute(attrs: dict[str, Any], base: str) -> str | None:
    """Join ``base.0``, ``base.1``, ... (HDF-EOS splits long metadata) into one string.

    Returns ``None`` when ``base.0`` is absent.
    """
    parts = []
    i = 0
    while f"{base}.{i}" in attrs:
        val = attrs[f"{base}.{i}"]
        if isinstance(val, bytes):
            val = val.decode("latin-1")
        parts.append(str(val).replace("\x00", ""))
        i += 1
    return "".join(parts) if parts else None
