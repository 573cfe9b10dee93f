"""QA kernels: pure numpy, vectorised bit arithmetic on whole arrays (no per-value loops).

A field of ``length`` bits starting at bit ``start`` (bit 0 = least significant) is
``(word >> start) & (2**length - 1)``, computed on the word's *unsigned* view so that a word
stored as ``int16`` (AVHRR CDR ``QA``) or ``int8`` (MOD13 pixel reliability) never sign-extends
(``reference/QA.md`` rule 2).  Fill words are tested *before* decoding (rule 1) and come out as
the field dtype's maximum, a code no field of that length can hold (:func:`fill_code`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from modisoft.errors import QAError

__all__ = [
    "as_unsigned",
    "field_dtype",
    "fill_code",
    "fill_mask",
    "extract_field",
    "decode_words",
]


def as_unsigned(words: np.ndarray) -> np.ndarray:
    """The words as an unsigned integer array of the same width (a view, no copy).

    Raises
    ------
    TypeError
        For non-integer input: QA words are integers.
    """
    words = np.asarray(words)
    if words.dtype.kind == "u":
        return words
    if words.dtype.kind != "i":
        raise TypeError(f"QA words must be integers, got dtype {words.dtype}")
    return words.view(words.dtype.str.replace("i", "u"))


def field_dtype(length: int) -> np.dtype:
    """The smallest unsigned dtype holding every code of a ``length``-bit field *and* the fill
    code: ``uint8`` up to 7 bits, ``uint16`` up to 15, ``uint32`` up to 31, else ``uint64``."""
    for dt in ("uint8", "uint16", "uint32"):
        if length < np.iinfo(dt).bits:
            return np.dtype(dt)
    return np.dtype("uint64")


def fill_code(length: int) -> int:
    """The code decoded fields carry where the word is fill (the field dtype's maximum)."""
    return int(np.iinfo(field_dtype(length)).max)


def fill_mask(words: np.ndarray, fill_values: Iterable[int]) -> np.ndarray:
    """True where a word equals one of ``fill_values`` (compared on the stored dtype)."""
    words = np.asarray(words)
    out = np.zeros(words.shape, dtype=bool)
    info = np.iinfo(words.dtype)
    for v in fill_values:
        if info.min <= int(v) <= info.max:  # a fill the dtype cannot hold never matches
            out |= words == words.dtype.type(v)
    return out


def extract_field(
    words: np.ndarray,
    start: int,
    length: int,
    fill_values: Sequence[int] = (),
    fill: np.ndarray | None = None,
) -> np.ndarray:
    """Kernel: one bit field of every word, as small unsigned integers.

    Parameters
    ----------
    words
        QA words, any integer dtype (signed words are read through their unsigned view).
    start, length
        First bit (0 = least significant) and number of bits.
    fill_values
        Stored fill words; they decode to :func:`fill_code` instead of bits.
    fill
        A precomputed :func:`fill_mask` (saves recomputing it for every field).

    Examples
    --------
    >>> extract_field(np.array([0x18, 0x08, 255], "uint8"), 3, 2, fill_values=[255])
    array([  3,   1, 255], dtype=uint8)
    """
    words = np.asarray(words)
    bits = as_unsigned(words).dtype.itemsize * 8
    if start < 0 or length < 1 or start + length > bits:
        raise QAError(f"bits {start}..{start + length - 1} do not fit a {bits}-bit word")
    uw = as_unsigned(words)
    out = ((uw >> uw.dtype.type(start)) & uw.dtype.type((1 << length) - 1)).astype(
        field_dtype(length)
    )
    if fill is None and len(fill_values):
        fill = fill_mask(words, fill_values)
    if fill is not None:
        out[fill] = fill_code(length)
    return out


def decode_words(
    words: np.ndarray, fields: Iterable[tuple[str, int, int]], fill_values: Sequence[int] = ()
) -> dict[str, np.ndarray]:
    """Kernel: every ``(name, start, length)`` field of ``words``; the fill test is done once."""
    words = np.asarray(words)
    fill = fill_mask(words, fill_values) if len(fill_values) else None
    return {name: extract_field(words, s, n, fill=fill) for name, s, n in fields}
