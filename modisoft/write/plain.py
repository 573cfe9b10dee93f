"""Plain outputs of the commands: a dataset to Zarr or NetCDF by its extension, and a mosaic
to GeoTIFF/COG or Zarr, each written atomically (no CF preparation or provenance; for those use
:func:`~modisoft.write.write_zarr`, :func:`~modisoft.write.write_netcdf`,
:func:`~modisoft.write.write_cog`)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from modisoft.write._common import OutputError, atomic_path, remove_path, temp_sibling
from modisoft.write.geotiff import plain_attrs, write_stack_geotiff

__all__ = ["write_dataset", "write_dataset_blocks", "write_mosaic", "MOSAIC_SUFFIXES"]

MOSAIC_SUFFIXES = (".tif", ".tiff", ".zarr")
"""Output extensions :func:`write_mosaic` knows."""


def _is_zarr(path: Path) -> bool:
    return str(path).rstrip("/").endswith(".zarr")


def write_dataset(ds: Any, path: str | os.PathLike[str]) -> Path:
    """Write a Dataset to Zarr (``*.zarr``) or NetCDF (h5netcdf), atomically.

    Examples
    --------
    >>> write_dataset(smoothed, "lai_smooth.nc")  # doctest: +SKIP
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if _is_zarr(path):
            ds.to_zarr(tmp, mode="w")
        else:
            ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def write_dataset_blocks(template: Any, blocks: Iterable[tuple[slice, Any]],
                         path: str | os.PathLike[str], *, dim: str = "y",
                         rest: Callable[[], Any] | None = None) -> Path:
    """Write a Dataset that is computed in bands along ``dim``, one band at a time, atomically.

    The output is created from ``template`` (the lazy full Dataset, never computed): its
    coordinates, attributes, and each variable's dims, dtype and encoding.  Each band
    ``(rows, ds)`` of ``blocks`` (a slice of ``dim`` and the computed variables that have
    ``dim``) is written as it arrives and may be freed after; ``rest()``, called after the
    last band, gives the variables without ``dim`` (e.g. a count over all bands).  The values
    equal those of :func:`write_dataset` of the computed whole.

    A ``*.zarr`` store gets on-disk chunks of the template's ``dim`` chunk size (each band
    must start on one) and the template's other chunks; a NetCDF file (h5netcdf, laid out as
    :func:`write_dataset` does) is streamed from a hidden temporary Zarr store beside it,
    removed after.  Nothing appears under ``path`` unless every band was written.

    Parameters
    ----------
    template
        The full Dataset, lazy (dask) in the variables that have ``dim``.
    blocks
        ``(rows, band)`` pairs covering ``dim`` (e.g. :func:`modisoft.timeseries.smooth_blocks`
        wrapped in a progress bar).
    path
        ``*.zarr`` or a NetCDF file.
    dim
        The dimension of the bands.
    rest
        The variables of ``template`` without ``dim``, computed (default: none).

    Raises
    ------
    OutputError
        For a band that does not start on a chunk of ``dim``.

    Examples
    --------
    >>> job = smooth_blocks(lai, "whittaker", weights=w)  # doctest: +SKIP
    >>> write_dataset_blocks(job.template, job, "lai_smooth.nc", rest=job.rest)  # doctest: +SKIP
    """
    import xarray as xr

    path = Path(path)
    with atomic_path(path) as tmp:
        if _is_zarr(path):
            _zarr_blocks(template, blocks, tmp, dim, rest)
            return path
        store = temp_sibling(path, ".zarr")
        try:
            _zarr_blocks(template, blocks, store, dim, rest)
            banded = xr.open_zarr(store)
            ds = template.copy()  # its encodings (the NetCDF layout of write_dataset)
            for name in ds.variables:  # every lazy variable, from the store: none recomputed
                if ds[name].chunks is not None and name in banded.variables:
                    ds[name] = ds[name].copy(data=banded[name].data)
            ds.to_netcdf(tmp, engine="h5netcdf")
        finally:
            remove_path(store)
    return path


def _banded(ds: Any, dim: str) -> list[str]:
    """The variables of ``ds`` written band by band: those with ``dim``, but no index."""
    return [str(n) for n in ds.variables if dim in ds[n].dims and n not in ds.dims]


def _zarr_blocks(template: Any, blocks: Iterable[tuple[slice, Any]], store: Path, dim: str,
                 rest: Callable[[], Any] | None) -> None:
    """Create ``store`` from ``template``, then write each band into it (a region of ``dim``)
    and last the variables without ``dim``."""
    template = template.copy()
    for name in _banded(template, dim):  # on-disk chunks: the template's, not the input's
        for key in ("chunks", "preferred_chunks", "shards"):
            template[name].encoding.pop(key, None)
    step = {int(c[0]) for n in _banded(template, dim) if template[n].chunks
            for c in [template[n].chunks[template[n].dims.index(dim)]]}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        template.to_zarr(store, mode="w", compute=False)  # metadata, coordinates
        for rows, band in blocks:
            if any(rows.start % s for s in step):
                raise OutputError(store, f"band {rows} of {dim!r} does not start on a chunk "
                                         f"boundary (chunks of {sorted(step)})")
            keep = [n for n in band.data_vars if dim in band[n].dims]
            band = band[keep].drop_vars([c for c in band.coords if dim not in band[c].dims])
            band.to_zarr(store, region={dim: rows}, consolidated=False)
        if rest is not None:
            extra = rest()
            extra.drop_vars(list(extra.coords)).to_zarr(store, mode="r+", consolidated=False)


def write_mosaic(arr: Any, path: str | os.PathLike[str], *, cog: bool = False) -> Path:
    """Write a mosaic (``(time, y, x)`` or ``(y, x)``) chunk by chunk to GeoTIFF/COG or Zarr.

    A ``.tif`` gets one band per date (:func:`~modisoft.write.geotiff.write_stack_geotiff`);
    a ``.zarr`` one variable named after the array with plain attributes.

    Raises
    ------
    OutputError
        For another extension.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        ds = arr.to_dataset(name=str(arr.name or "values"))
        for v in list(ds.variables.values()):
            v.attrs = plain_attrs(v.attrs)
        ds.attrs = {}
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata")
            ds.to_zarr(tmp, mode="w")
        return path
    if suffix not in (".tif", ".tiff"):
        raise OutputError(path, "use a .tif or .zarr output")
    return write_stack_geotiff(arr, path, cog=cog)
