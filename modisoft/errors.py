"""Errors raised by modisoft.

Every error derives from :class:`ModisoftError` and, where one fits, from the matching
builtin too, so ``except OSError`` or ``except KeyError`` still work in code that does not
know modisoft.  C-library errors (pyhdf's ``HDF4Error``, h5py's ``OSError``) are caught once,
at the I/O boundary, and re-raised as one of these with the file and layer named.
"""

from __future__ import annotations

import os

__all__ = [
    "ModisoftError",
    "GranuleReadError",
    "NotHDFError",
    "MetadataError",
    "UnknownLayerError",
    "UnknownGridError",
    "RegistryError",
    "ModisoftWarning",
    "UnknownProductWarning",
    "IdentityMismatchWarning",
]


class ModisoftError(Exception):
    """Root of every error raised by modisoft.

    ``exit_code`` is what the command line exits with when this error ends a command:
    1 for a data error (the default), 2 for a usage or configuration error.
    """

    exit_code: int = 1


class GranuleReadError(ModisoftError, OSError):
    """A granule could not be read.

    Parameters
    ----------
    path
        The file that failed.
    reason
        What went wrong, in words a user can act on.
    layer
        The layer (SDS or dataset) being read, if any.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, layer: str | None = None):
        self.path = os.fspath(path)
        self.layer = layer
        self.reason = reason
        where = f"{self.path}" + (f", layer {layer!r}" if layer else "")
        super().__init__(f"{where}: {reason}")

    def __str__(self) -> str:  # OSError's __str__ would print errno/strerror instead
        return self.args[0]

    def __reduce__(self):  # keep pickling (dask workers) faithful
        return (type(self), (self.path, self.reason, self.layer))


class NotHDFError(GranuleReadError):
    """The file is empty, truncated, or not in a format modisoft reads."""


class MetadataError(GranuleReadError):
    """The file opens but its HDF-EOS metadata is missing or cannot be parsed."""


class UnknownLayerError(ModisoftError, KeyError):
    """A layer name that the granule (or the product) does not have.

    Parameters
    ----------
    layer
        The name asked for.
    available
        The names that exist.
    path
        The file, if the lookup was in a file.
    """

    def __init__(self, layer: str, available: list[str] | tuple[str, ...], path: str | None = None):
        self.layer = layer
        self.available = list(available)
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(
            f"{where}no layer {layer!r}; available layers: "
            + ", ".join(repr(a) for a in self.available)
        )

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return self.args[0]

    def __reduce__(self):
        return (type(self), (self.layer, self.available, self.path))


class UnknownGridError(ModisoftError, KeyError):
    """A grid name that the granule does not have."""

    def __init__(self, grid: str, available: list[str], path: str | None = None):
        self.grid = grid
        self.available = list(available)
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}no grid {grid!r}; grids in the file: {', '.join(self.available)}")

    def __str__(self) -> str:
        return self.args[0]

    def __reduce__(self):
        return (type(self), (self.grid, self.available, self.path))


class RegistryError(ModisoftError, ValueError):
    """An inconsistent or unknown entry in the product registry."""


class ModisoftWarning(UserWarning):
    """Root of modisoft's warnings."""


class UnknownProductWarning(ModisoftWarning):
    """The granule's product is not in the registry: raw values and the file's own attributes."""


class IdentityMismatchWarning(ModisoftWarning):
    """The file name and the file's metadata disagree about what the granule is."""
