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
from collections import deque
from collections.abc import Iterator
from typing import Any

from modisoft.errors import ODLSyntaxError
from modisoft.io.limits import MAX_METADATA_BYTES, MAX_ODL_DEPTH

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


def _scan(text: str) -> Iterator[tuple[str, str, int]]:
    """The tokens of ``text``, lazily (a 4 MiB text never becomes a list of a million)."""
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ODLSyntaxError(f"unexpected character {text[pos]!r} at offset {pos}")
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            yield kind, m.group(), pos
        pos = m.end()


def _scalar(kind: str, tok: str, pos: int) -> Any:
    if kind in ("string", "symbol"):
        return tok[1:-1]
    try:
        if _INT.match(tok):
            return int(tok)
        if _FLOAT.match(tok):
            return float(tok.replace("d", "e").replace("D", "e"))
    except ValueError:  # e.g. an integer of more than 4300 digits
        raise ODLSyntaxError(f"number {tok[:20]!r}... at offset {pos} is too long") from None
    return tok


def _too_deep(what: str, pos: int) -> ODLSyntaxError:
    return ODLSyntaxError(
        f"{what} at offset {pos} nests deeper than {MAX_ODL_DEPTH} levels, the limit (real "
        "HDF-EOS metadata nest at most 7 deep); the metadata are damaged"
    )


class _Parser:
    """An iterative parser: explicit stacks instead of recursion, so no nesting reaches
    Python's recursion limit; nesting is capped at :data:`MAX_ODL_DEPTH`."""

    def __init__(self, text: str):
        self.toks = _scan(text)
        self.buf: deque[tuple[str, str, int]] = deque()

    def peek(self, k: int = 0) -> tuple[str, str, int] | None:
        while len(self.buf) <= k:
            tok = next(self.toks, None)
            if tok is None:
                return None
            self.buf.append(tok)
        return self.buf[k]

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ODLSyntaxError("unexpected end of text")
        return self.buf.popleft()

    def expect(self, value: str) -> None:
        _kind, tok, pos = self.take()
        if tok != value:
            raise ODLSyntaxError(f"expected {value!r} at offset {pos}, found {tok!r}")

    def skip_comma(self) -> None:
        nxt = self.peek()
        if nxt is not None and nxt[1] == ",":
            self.take()

    def value(self) -> Any:
        kind, tok, pos = self.take()
        if tok not in ("(", "{"):
            if kind == "punct":
                raise ODLSyntaxError(f"unexpected {tok!r} at offset {pos}")
            return _scalar(kind, tok, pos)
        # (close, opened at, opening token, items) per open list
        stack: list[tuple[str, int, str, list[Any]]] = [(")" if tok == "(" else "}", pos, tok, [])]
        while True:
            close, opened, opener, items = stack[-1]
            nxt = self.peek()
            if nxt is None:
                raise ODLSyntaxError(f"unclosed {opener!r} opened at offset {opened}")
            if nxt[1] == close:
                self.take()
                stack.pop()
                if not stack:
                    return tuple(items)
                stack[-1][3].append(tuple(items))
                self.skip_comma()
                continue
            after = self.peek(1)
            if nxt[0] == "word" and after is not None and after[1] == "=":
                raise ODLSyntaxError(f"unclosed {opener!r} opened at offset {opened}")
            kind, tok, pos = self.take()
            if tok in ("(", "{"):
                if len(stack) >= MAX_ODL_DEPTH:
                    raise _too_deep(f"list {tok!r}", pos)
                stack.append((")" if tok == "(" else "}", pos, tok, []))
                continue
            if kind == "punct":
                raise ODLSyntaxError(f"unexpected {tok!r} at offset {pos}")
            items.append(_scalar(kind, tok, pos))
            self.skip_comma()

    def document(self) -> dict[str, Any]:
        root: dict[str, Any] = {}
        # (block dict, expected END_ keyword, block name) per open block; the root has none
        stack: list[tuple[dict[str, Any], str | None, str | None]] = [(root, None, None)]
        while True:
            out, end, name = stack[-1]
            tok = self.peek()
            if tok is None:
                if end is None:
                    return root
                raise ODLSyntaxError(f"{end}={name} missing: block {name!r} is not closed")
            kind, key, pos = self.take()
            if kind != "word":
                raise ODLSyntaxError(f"expected a keyword at offset {pos}, found {key!r}")
            ukey = key.upper()
            nxt = self.peek()
            if ukey == "END" and (nxt is None or nxt[1] != "="):
                if end is not None:
                    raise ODLSyntaxError(f"END reached inside block {name!r}")
                return root
            if ukey in ("END_GROUP", "END_OBJECT"):
                closing = None
                if nxt is not None and nxt[1] == "=":
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
                stack.pop()
                continue
            self.expect("=")
            if ukey in ("GROUP", "OBJECT"):
                child_name = str(self.value())
                if len(stack) > MAX_ODL_DEPTH:
                    raise _too_deep(f"{key}={child_name}", pos)
                child: dict[str, Any] = {}
                _add(out, child_name, child)
                stack.append((child, "END_" + ukey, child_name))
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
        If the text is not well-formed (unclosed block, mismatched ``END_GROUP``, ...), nests
        deeper than :data:`~modisoft.io.limits.MAX_ODL_DEPTH` (64) levels, or is longer than
        :data:`~modisoft.io.limits.MAX_METADATA_BYTES` (4 MiB).

    Examples
    --------
    >>> parse_odl('GROUP=G\\n X=(1,2)\\n N="a b"\\nEND_GROUP=G\\nEND')
    {'G': {'X': (1, 2), 'N': 'a b'}}
    """
    if len(text) > MAX_METADATA_BYTES:
        raise ODLSyntaxError(
            f"the text is {len(text):,} characters long, over the limit of "
            f"{MAX_METADATA_BYTES:,} (4 MiB, docs/reference/limits.md); real HDF-EOS metadata "
            "are a few kB: the metadata are damaged"
        )
    text = text.replace("\x00", "")
    return _Parser(text).document()


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
