"""Raw AVHRR level-1b GAC files (NOAA POD and KLM formats, ``NSS.GHRR.…``).

modisoft recognises these files and reads their header itself (satellite, start and end time,
scan count), but does **no** calibration or navigation of its own: reading the data goes through
`pygac <https://github.com/pytroll/pygac>`_, an optional extra (``pip install
'modisoft[avhrr]'``).  pygac navigates with two-line elements; their folder must be given
(``MODISOFT_TLE_DIR`` or ``tle_dir=``) and is never fetched silently (``reference/PITFALLS.md``
§10).

POD header layout used here (NOAA POD Guide, data set header record; checked against the real
truncated TIROS-N file in the sample set, whose name ``D80003.S1147.E1332.B0630506`` it
reproduces): byte 0 spacecraft id, byte 1 data type (high nibble 2 = GAC), bytes 2-3 packed
year (7 bits) and day (9 bits), bytes 4-7 milliseconds of day, bytes 8-9 number of scans, bytes
10-15 end time, bytes 16-22 processing block id.  GAC POD records are 3220 bytes long.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from modisoft.catalog import Granule
from modisoft.errors import GranuleReadError, MetadataError
from modisoft.io.info import GranuleInfo

__all__ = ["parse_pod_header", "inspect_l1b", "open_l1b", "SATELLITE_CODES"]

SATELLITE_CODES = {
    "TN": "TIROS-N",
    "NA": "NOAA-6",
    "NC": "NOAA-7",
    "NE": "NOAA-8",
    "NF": "NOAA-9",
    "NG": "NOAA-10",
    "NH": "NOAA-11",
    "ND": "NOAA-12",
    "NJ": "NOAA-14",
    "NK": "NOAA-15",
    "NL": "NOAA-16",
    "NM": "NOAA-17",
    "NN": "NOAA-18",
    "NP": "NOAA-19",
    "M2": "MetOp-A",
    "M1": "MetOp-B",
    "M3": "MetOp-C",
}
"""NOAA CLASS file-name satellite codes (``NSS.GHRR.<code>.…``)."""

_NAME = re.compile(
    r"^NSS\.(?P<kind>GHRR|HRPT|LHRR)\.(?P<sat>[A-Z0-9]{2})\.D(?P<yy>\d{2})"
    r"(?P<ddd>\d{3})\.S(?P<s>\d{4})\.E(?P<e>\d{4})\.B(?P<b>\d{7})\.(?P<st>\w+)$"
)
POD_GAC_RECORD = 3220


def _pod_time(b: bytes) -> datetime:
    word = int.from_bytes(b[0:2], "big")
    year, day = word >> 9, word & 0x1FF
    year += 1900 if year > 70 else 2000
    ms = int.from_bytes(b[2:6], "big")
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day - 1, milliseconds=ms)


def parse_pod_header(head: bytes) -> dict[str, Any]:
    """The POD data set header: spacecraft id, data type, start/end time, scans, block id."""
    if len(head) < 23:
        raise ValueError("a POD header needs at least 23 bytes")
    return {
        "spacecraft_id": head[0],
        "data_type": {1: "LAC", 2: "GAC", 3: "HRPT"}.get(head[1] >> 4, f"code {head[1] >> 4}"),
        "start_time": _pod_time(head[2:8]),
        "scans_declared": int.from_bytes(head[8:10], "big"),
        "end_time": _pod_time(head[10:16]),
        "processing_block": head[16:23].decode("ascii", "replace"),
    }


def inspect_l1b(path: str) -> GranuleInfo:
    """GranuleInfo of an AVHRR level-1b file (header only)."""
    name = os.path.basename(path)
    m = _NAME.match(name)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    fmt = "KLM" if head[:3].isalpha() else "POD"
    extra: dict[str, Any] = {"l1b_format": fmt, "file_bytes": size}
    sat = SATELLITE_CODES.get(m["sat"], m["sat"]) if m else None
    start = end = None
    if fmt == "POD":
        try:
            hdr = parse_pod_header(head)
        except ValueError as exc:
            raise MetadataError(path, f"POD header unreadable ({exc})") from None
        start, end = hdr["start_time"], hdr["end_time"]
        complete = size // POD_GAC_RECORD - 1 if hdr["data_type"] == "GAC" else None
        extra.update(
            hdr,
            scans_present=complete,
            truncated=complete is not None and complete < hdr["scans_declared"],
        )
    elif m:
        yy = int(m["yy"])
        start = datetime(yy + (1900 if yy > 70 else 2000), 1, 1, tzinfo=UTC) + timedelta(
            days=int(m["ddd"]) - 1, hours=int(m["s"][:2]), minutes=int(m["s"][2:])
        )
        extra["note"] = "KLM header not parsed; times from the file name"
    extra["satellite"] = sat
    extra["start_time"] = start.isoformat() if start else None
    extra["end_time"] = end.isoformat() if end else None
    granule = Granule(
        path=path,
        product=f"AVHRR_{m['kind'] if m else 'L1B'}",
        nominal_date=start.date() if start else None,
        start_date=start.date() if start else None,
        end_date=end.date() if end else None,
        granule_id=name,
        identified_from="header" if fmt == "POD" else "filename",
    )
    return GranuleInfo(
        path=path,
        granule=granule,
        product=None,
        grids=(),
        sds={},
        core={},
        archive={},
        format="avhrr-l1b",
        kind="l1b",
        format_name=f"AVHRR level-1b ({fmt})",
        provenance={k: str(v) for k, v in extra.items() if v is not None},
        extra=extra,
    )


def open_l1b(info, layers: list[str] | None, chunks: Any, tle_dir: str | None = None):
    """Read an AVHRR level-1b file through pygac into a swath Dataset (``lat``/``lon`` 2-D).

    Raises
    ------
    GranuleReadError
        When pygac is not installed (naming the extra to install), when no TLE folder is
        given, or when pygac fails on the file.
    """
    try:
        import pygac
    except ImportError:
        raise GranuleReadError(
            info.path,
            "reading AVHRR level-1b needs the optional pygac backend: "
            "pip install 'modisoft[avhrr]' (modisoft does no calibration or "
            "navigation of its own)",
        ) from None
    tle_dir = tle_dir or os.environ.get("MODISOFT_TLE_DIR")
    if not tle_dir:
        raise GranuleReadError(
            info.path,
            "pygac navigates with two-line elements: set "
            "MODISOFT_TLE_DIR to a folder of TLE files (they are "
            "never downloaded silently)",
        )
    import xarray as xr

    try:
        reader = pygac.get_reader_class(info.path)(tle_dir=tle_dir)
        reader.read(info.path)
        channels = np.asarray(reader.get_calibrated_channels())
        lons, lats = reader.get_lonlat()
    except Exception as exc:  # pygac raises many types; name the file
        raise GranuleReadError(info.path, f"pygac could not read the file ({exc})") from None
    names = [f"channel_{i + 1}" for i in range(channels.shape[-1])]
    data = {
        n: (("y", "x"), channels[..., i], {"source": "pygac calibration"})
        for i, n in enumerate(names)
        if layers is None or n in layers
    }
    coords = {"lat": (("y", "x"), np.asarray(lats)), "lon": (("y", "x"), np.asarray(lons))}
    attrs = {
        "source": os.path.basename(info.path),
        "reader": f"pygac {pygac.__version__}",
        **info.provenance,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
