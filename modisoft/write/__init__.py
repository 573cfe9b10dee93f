"""Writers: Zarr, NetCDF-CF, Cloud-optimised GeoTIFF and BEPS binary files, with provenance.

Every writer takes a georeferenced ``xarray`` object (dims ``(time, y, x)`` or ``(y, x)``,
pixel-centre ``x``/``y`` coordinates and a ``spatial_ref`` grid-mapping coordinate), writes
under a temporary name in the target directory and renames when done
(:func:`atomic_path`, the one way modisoft writes a file), and records a :class:`Provenance`.
:func:`write_geotiff` is the one GeoTIFF/COG writer; :func:`write_dataset` and
:func:`write_mosaic` are the plain outputs of the commands.  See ``docs/reference/outputs.md``.
"""

from modisoft.write._common import OutputError, atomic_path, confined_to
from modisoft.write.beps import (
    BEPS_D_DEKADS,
    MAX_BEPS_LAI,
    BepsControl,
    BepsFile,
    BepsOptions,
    BepsOutput,
    SuffixScheme,
    decode_beps,
    encode_beps,
    write_beps,
)
from modisoft.write.cog import CogFile, write_cog
from modisoft.write.geotiff import write_geotiff, write_mask_geotiff, write_stack_geotiff
from modisoft.write.netcdf import write_netcdf
from modisoft.write.plain import write_dataset, write_dataset_blocks, write_mosaic
from modisoft.write.provenance import PROVENANCE_ATTR, Provenance, software_versions
from modisoft.write.stac import write_stac
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
    "write_stac",
    "write_beps",
    "encode_beps",
    "decode_beps",
    "BepsOptions",
    "BepsControl",
    "BepsOutput",
    "BepsFile",
    "SuffixScheme",
    "BEPS_D_DEKADS",
    "MAX_BEPS_LAI",
    "atomic_path",
    "confined_to",
    "write_geotiff",
    "write_stack_geotiff",
    "write_mask_geotiff",
    "write_dataset",
    "write_dataset_blocks",
    "write_mosaic",
]
