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

__all__ = [
    "parse_pod_header",
    "inspect_l1b",
    "open_l1b",
    "SATELLITE_CODES",
    "POD_SPACECRAFT",
    "POD_YEARS",
]

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


POD_SPACECRAFT = {
    1: "NOAA-11 (TIROS-N before 1982)",
    2: "NOAA-6",
    3: "NOAA-14",
    4: "NOAA-7",
    5: "NOAA-12",
    6: "NOAA-8",
    7: "NOAA-9",
    8: "NOAA-10",
    25: "TIROS-N",
}
"""POD header spacecraft id → satellite (NOAA POD Guide; as pygac's POD reader)."""

POD_YEARS = (1978, 2010)
"""Years a POD file may start in: TIROS-N (1978) to NOAA-14, the last POD satellite."""

_TBM = 122  # the optional archive (TBM) header some CLASS orders put in front of POD files
_DATASET = re.compile(rb"^[A-Z0-9]{3}\.[A-Z]{4}\.[A-Z0-9]{2}\.D\d{5}")


def _pod_time(b: bytes, what: str) -> datetime | str:
    """A POD packed time, or why it is not one."""
    word = int.from_bytes(b[0:2], "big")
    year, day = word >> 9, word & 0x1FF
    year += 1900 if year > 70 else 2000
    ms = int.from_bytes(b[2:6], "big")
    days = 366 if year % 4 == 0 else 365
    if not POD_YEARS[0] <= year <= POD_YEARS[1] or not 1 <= day <= days or ms >= 86_400_000:
        return (f"{what} year {year} day {day} millisecond {ms} is not a valid time (accepted: "
                f"years {POD_YEARS[0]}-{POD_YEARS[1]}, day 1-{days}, millisecond < 86400000)")
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day - 1, milliseconds=ms)


def parse_pod_header(head: bytes, path: str = "(POD header)", offset: int = 0) -> dict[str, Any]:
    """The POD data set header: spacecraft id, data type, start/end time, scans, block id.

    Every field is checked: a known spacecraft id (:data:`POD_SPACECRAFT`), data type LAC,
    GAC or HRPT, valid start and end times in :data:`POD_YEARS`, an end after the start and
    within a day, at least one scan.

    Parameters
    ----------
    head
        The header's bytes (at least 23).
    path, offset
        The file and the header's byte offset in it, named in errors.

    Raises
    ------
    MetadataError
        Naming the file, the field, the value found and what is accepted.
    """
    def bad(why: str) -> MetadataError:
        return MetadataError(path, f"POD level-1b header at byte {offset} is not valid: {why}; "
                                   "the file is damaged or not an AVHRR level-1b file")

    if len(head) < 23:
        raise bad(f"a POD header needs at least 23 bytes, the file holds {len(head)}")
    if head[0] not in POD_SPACECRAFT:
        raise bad(f"spacecraft id {head[0]} is not a POD satellite "
                  f"(known: {sorted(POD_SPACECRAFT)})")
    kind = head[1] >> 4
    if kind not in (1, 2, 3):
        raise bad(f"data type code {kind} is not 1 (LAC), 2 (GAC) or 3 (HRPT)")
    start, end = _pod_time(head[2:8], "start time"), _pod_time(head[10:16], "end time")
    if isinstance(start, str):
        raise bad(start)
    if isinstance(end, str):
        raise bad(end)
    if not start <= end <= start + timedelta(days=1):
        raise bad(f"end time {end:%Y-%m-%d %H:%M} is not within a day after the start time "
                  f"{start:%Y-%m-%d %H:%M}")
    scans = int.from_bytes(head[8:10], "big")
    if scans == 0:
        raise bad("the header declares 0 scans")
    spacecraft = head[0]
    if spacecraft == 1 and start.year < 1982:
        spacecraft = 25  # TIROS-N and NOAA-11 share id 1 (pygac's rule)
    return {
        "spacecraft_id": head[0],
        "spacecraft": POD_SPACECRAFT[spacecraft],
        "data_type": {1: "LAC", 2: "GAC", 3: "HRPT"}[kind],
        "start_time": start,
        "scans_declared": scans,
        "end_time": end,
        "processing_block": head[16:23].decode("ascii", "replace"),
    }


def _name_time(path: str, m: re.Match[str]) -> datetime:
    yy, ddd, hh, mi = int(m["yy"]), int(m["ddd"]), int(m["s"][:2]), int(m["s"][2:])
    year = yy + (1900 if yy > 70 else 2000)
    days = 366 if year % 4 == 0 else 365
    if not 1 <= ddd <= days or hh > 23 or mi > 59:
        raise GranuleReadError(
            path, f"file name date D{m['yy']}{m['ddd']}.S{m['s']} is not a valid time; "
            f"accepted: DYYDDD with DDD 001-{days}, SHHMM with HH 00-23 and MM 00-59"
        )
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=ddd - 1, hours=hh, minutes=mi)


def _pod(path: str, size: int, head: bytes) -> dict[str, Any]:
    """The checked POD header, after an optional archive header."""
    offset = _TBM if _DATASET.match(head[30:74]) else 0
    hdr = parse_pod_header(head[offset:], path, offset)
    complete = None
    if hdr["data_type"] == "GAC":
        if size - offset < POD_GAC_RECORD:
            raise MetadataError(path, f"{size} bytes: shorter than one {POD_GAC_RECORD}-byte "
                                      "POD GAC header record")
        complete = (size - offset) // POD_GAC_RECORD - 1
        seconds = (hdr["end_time"] - hdr["start_time"]).total_seconds()
        if complete > hdr["scans_declared"] or hdr["scans_declared"] > 2.2 * seconds + 100:
            raise MetadataError(
                path,
                f"POD header declares {hdr['scans_declared']} scans over {seconds:.0f} s but the "
                f"file holds {complete} complete {POD_GAC_RECORD}-byte records; accepted: at "
                "most the declared scans (fewer when truncated), and at most 2 GAC scans per "
                "second (+10%)",
            )
    return {**hdr, "header_offset": offset, "scans_present": complete,
            "truncated": complete is not None and complete < hdr["scans_declared"]}


def inspect_l1b(path: str) -> GranuleInfo:
    """GranuleInfo of an AVHRR level-1b file (header only, checked: see
    :func:`parse_pod_header`; a KLM header is not parsed, its times come from the name).

    Raises
    ------
    MetadataError
        When the POD header is not valid, disagrees with the file size, or the file name's
        satellite code is unknown.
    GranuleReadError
        When the file name's date is impossible.
    """
    name = os.path.basename(path)
    m = _NAME.match(name)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(_TBM + 64)
    if m and m["sat"] not in SATELLITE_CODES:
        raise MetadataError(path, f"file name satellite code {m['sat']!r} is not known "
                                  f"(known: {', '.join(SATELLITE_CODES)})")
    named = _name_time(path, m) if m else None
    fmt = "KLM" if head[:3].isalpha() else "POD"
    extra: dict[str, Any] = {"l1b_format": fmt, "file_bytes": size}
    sat = SATELLITE_CODES[m["sat"]] if m else None
    start = end = None
    mismatches: tuple[str, ...] = ()
    if fmt == "POD":
        hdr = _pod(path, size, head)
        start, end = hdr["start_time"], hdr["end_time"]
        extra.update(hdr)
        if named is not None and abs((start - named).total_seconds()) >= 120:
            mismatches = (f"file name says start {named:%Y-%m-%d %H:%M} but the header says "
                          f"{start:%Y-%m-%d %H:%M}",)
    elif named is not None:
        start = named
        extra["note"] = "KLM header not parsed; times from the file name"
    extra["satellite"] = sat or extra.get("spacecraft")
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
        mismatches=mismatches,
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
