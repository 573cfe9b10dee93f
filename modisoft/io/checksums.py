"""The checksums NASA's archive publishes for its files, and the download manifest that
records them beside the downloaded granules.

``modisoft download`` writes ``modisoft-downloads.json`` into the folder it fills: per file
the URL, the size and the archive's checksum (UMM-G ``Checksum.Value`` and ``Algorithm``), the
file's modification time when it was verified, and the status.  Every read checks a granule
against that record first (:func:`check_download_record`): a file whose size differs, or that
was modified since and whose checksum no longer matches, is damaged and is not read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import Any

from modisoft.errors import ChecksumMismatchError

__all__ = ["DOWNLOAD_MANIFEST", "ALGORITHMS", "checksum_supported", "new_hasher",
           "file_checksum", "read_download_manifest", "check_download_record"]

DOWNLOAD_MANIFEST = "modisoft-downloads.json"
"""The download manifest's file name, in the folder of the files it describes."""

ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256",
              "SHA-384": "sha384", "SHA-512": "sha512", "Adler-32": "adler32"}
"""UMM-G checksum algorithm names (``DataGranule.ArchiveAndDistributionInformation[].
Checksum.Algorithm``) that modisoft verifies, and their hashlib (or zlib) names.  Others
(``Fletcher-32``, ``POSIX``, ...) are verified by size only, and the manifest says so."""

_BLOCK = 1 << 20


class _Adler32:
    """zlib's Adler-32 with hashlib's ``update``/``hexdigest`` (8 lowercase hex digits)."""

    def __init__(self) -> None:
        self.value = 1

    def update(self, data: bytes) -> None:
        self.value = zlib.adler32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value & 0xFFFFFFFF:08x}"


def checksum_supported(algorithm: str | None) -> bool:
    """Whether modisoft can verify a checksum of this UMM-G ``Algorithm`` (case-insensitive)."""
    return _name(algorithm) is not None


def _name(algorithm: str | None) -> str | None:
    if not algorithm:
        return None
    key = algorithm.strip().upper().replace("_", "-")
    for umm, name in ALGORITHMS.items():
        if key in (umm.upper(), umm.upper().replace("-", ""), name.upper()):
            return name
    return None


def new_hasher(algorithm: str) -> Any:
    """A fresh incremental hasher (``update``, ``hexdigest``) for a supported algorithm."""
    name = _name(algorithm)
    if name is None:
        raise KeyError(algorithm)
    return _Adler32() if name == "adler32" else hashlib.new(name)


def file_checksum(path: str | os.PathLike[str], algorithm: str) -> str:
    """The checksum of a file's bytes (lowercase hex), read in 1 MiB blocks."""
    h = new_hasher(algorithm)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def read_download_manifest(folder: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The download manifest of a folder: ``{file name: record}`` (empty when there is none
    or it cannot be parsed; a damaged manifest never stops a read)."""
    path = Path(folder) / DOWNLOAD_MANIFEST
    try:
        st = path.stat()
    except OSError:
        return {}
    return dict(_load_manifest(str(path), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=16)
def _load_manifest(path: str, _mtime_ns: int, _size: int) -> dict[str, dict[str, Any]]:
    """A manifest's files, parsed once per version of the file (every read of every granule
    of a folder consults it)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): v for k, v in files.items() if isinstance(v, dict)} \
        if isinstance(files, dict) else {}


def check_download_record(path: str | os.PathLike[str], *, full: bool = False) -> bool:
    """Check a granule against its download manifest record, before it is read.

    The size must match; the checksum is recomputed when the file was modified since it was
    verified (or always with ``full``).  A file without a record (not downloaded by
    modisoft) passes unchecked.

    Parameters
    ----------
    path
        The granule.
    full
        Recompute the checksum even when the file was not modified.

    Returns
    -------
    bool
        Whether a record was found and checked.

    Raises
    ------
    ChecksumMismatchError
        The file's size or checksum differs from the recorded one.
    """
    path = Path(path)
    record = read_download_manifest(path.parent).get(path.name)
    if not record or record.get("status") not in ("downloaded", "present"):
        return False
    st = path.stat()
    size = record.get("size")
    if isinstance(size, int) and size >= 0 and st.st_size != size:
        raise ChecksumMismatchError(path, f"the file has {st.st_size} bytes, but {size} were "
                                    f"downloaded and verified ({DOWNLOAD_MANIFEST}); "
                                    "download it again")
    algorithm, want = record.get("algorithm"), record.get("checksum")
    if not (want and checksum_supported(algorithm)):
        return True
    if full or record.get("mtime_ns") != st.st_mtime_ns:
        got = file_checksum(path, algorithm)
        if got.lower() != str(want).lower():
            raise ChecksumMismatchError(path, f"{algorithm} checksum {got} differs from the "
                                        f"archive's {want} ({DOWNLOAD_MANIFEST}); the file is "
                                        "damaged: download it again")
    return True
