"""Readers: HDF4 access, HDF-EOS metadata, and :func:`open_granule`."""

from modisoft.io.granule import GranuleInfo, inspect_granule, open_granule

__all__ = ["GranuleInfo", "inspect_granule", "open_granule"]
