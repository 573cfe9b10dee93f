"""Writers: Zarr, NetCDF-CF, Cloud-optimised GeoTIFF and BEPS binary files, with provenance.

Every writer takes a georeferenced ``xarray`` object (dims ``(time, y, x)`` or ``(y, x)``,
pixel-centre ``x``/``y`` coordinates and a ``spatial_ref`` grid-mapping coordinate), writes
under a temporary name in the target directory and renames when done, and records a
:class:`Provenance`.  See ``docs/reference/outputs.md``.
"""

from modisoft.write._common import OutputError
from modisoft.write.beps import (
    BEPS_D_DEKADS,
    MAX_BEPS_LAI,
    BepsFile,
    BepsOptions,
    BepsOutput,
    SuffixScheme,
    decode_beps,
    encode_beps,
    write_beps,
)
from modisoft.write.cog import CogFile, write_cog
from modisoft.write.netcdf import write_netcdf
from modisoft.write.provenance import PROVENANCE_ATTR, Provenance, software_versions
from modisoft.write.zarr_store import (
    create_zarr,
    finalize_zarr,
    write_zarr,
    write_zarr_region,
    zarr_status,
)

__all__ = [
    "OutputError",
    "Provenance",
    "PROVENANCE_ATTR",
    "software_versions",
    "write_zarr",
    "create_zarr",
    "write_zarr_region",
    "finalize_zarr",
    "zarr_status",
    "write_netcdf",
    "write_cog",
    "CogFile",
    "write_beps",
    "encode_beps",
    "decode_beps",
    "BepsOptions",
    "BepsOutput",
    "BepsFile",
    "SuffixScheme",
    "BEPS_D_DEKADS",
    "MAX_BEPS_LAI",
]
