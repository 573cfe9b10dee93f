"""Granule search in NASA's Common Metadata Repository (CMR), through earthaccess.

earthaccess's :class:`~earthaccess.search.DataGranules` builds the query (python-cmr's
parameters) and pages through CMR's UMM-JSON results with the ``CMR-Search-After`` header;
modisoft points it at the configured CMR, gives its session retries with backoff, and turns
each UMM-G record into a :class:`RemoteGranule`: the data file's name, URL, size and the
checksum CMR publishes for it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from modisoft.acquire.http import http_session
from modisoft.acquire.query import Query
from modisoft.errors import AcquireError

__all__ = ["RemoteGranule", "cmr_url", "search", "lookup", "from_umm", "read_granule_list"]

_DATA_SUFFIXES = (".hdf", ".h5", ".he5", ".nc")


@dataclass(frozen=True)
class RemoteGranule:
    """One granule in NASA's archive: what :func:`search` found and a download needs.

    Attributes
    ----------
    name
        The data file's name (``MOD15A2H.A2020001.h23v04.061.2020010040310.hdf``).
    url
        Its HTTPS download URL.
    size
        Its size in bytes (``None`` when CMR does not say).
    checksum, algorithm
        The archive's checksum of the file and its UMM-G algorithm (``"MD5"``,
        ``"SHA-256"``, ...), or ``None``.
    granule_ur, concept_id
        CMR's identifiers of the granule.
    tile, date
        From the file name (``"h23v04"``, the first day of the period), when it has them.
    """

    name: str
    url: str
    size: int | None
    checksum: str | None
    algorithm: str | None
    granule_ur: str
    concept_id: str
    tile: str | None = None
    date: date | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = None if self.date is None else self.date.isoformat()
        return d


def cmr_url(url: str | None = None) -> str:
    """The CMR search endpoint: ``url``, else ``$MODISOFT_CMR_URL``, else NASA's operational
    CMR; always ending in ``/`` (python-cmr appends ``granules.umm_json``)."""
    from modisoft.products import CMR_URL

    url = url or os.environ.get("MODISOFT_CMR_URL") or CMR_URL
    return url if url.endswith("/") else url + "/"


def search(query: Query, *, url: str | None = None, session: Any = None) -> list[RemoteGranule]:
    """Every granule of a query, sorted by date and tile.

    Composites are kept when their first day lies inside the query's dates (CMR also returns
    those that merely overlap them), tiles when they are among the query's.

    Parameters
    ----------
    query
        A checked :class:`~modisoft.acquire.query.Query`.
    url
        The CMR search endpoint (see :func:`cmr_url`).
    session
        A :func:`~modisoft.acquire.http.http_session` (default: a new one).

    Returns
    -------
    list of RemoteGranule

    Raises
    ------
    AcquireError
        CMR kept failing (after retries) or answered with something that is not UMM-JSON.
    """
    q = _granules(url, session)
    q.short_name(query.product).version(query.version)
    q.temporal(f"{query.start.isoformat()}T00:00:00Z", f"{query.end.isoformat()}T23:59:59Z")
    if query.bbox is not None:
        q.bounding_box(*query.bbox)
    elif query.tiles:
        q.readable_granule_name([f"{query.product}.A*.{t}.*" for t in query.tiles])
    if query.day_night:
        q.day_night_flag(query.day_night)
    found = [g for g in _fetch(q) if _wanted(g, query)]
    return sorted(found, key=lambda g: (g.date or date.min, g.tile or "", g.name))


def lookup(names: Iterable[str], *, url: str | None = None,
           session: Any = None) -> dict[str, RemoteGranule]:
    """The CMR records of granules named by file name, granule id or URL:
    ``{given name: granule}`` (names CMR does not know are left out)."""
    wanted: dict[str, str] = {}
    for item in names:
        stem = _stem(urlsplit(item).path.rsplit("/", 1)[-1] if "://" in item else item.strip())
        if stem:
            wanted[stem] = item
    groups: dict[tuple[str, str], list[str]] = {}
    for stem in sorted(wanted):  # CMR wants a collection: PRODUCT.AYYYYDDD....VERSION....
        fields = stem.split(".")
        key = (fields[0], fields[3]) if len(fields) >= 5 else (fields[0], "")
        groups.setdefault(key, []).append(stem)
    out: dict[str, RemoteGranule] = {}
    for (short, version), stems in groups.items():
        for i in range(0, len(stems), 100):
            q = _granules(url, session).short_name(short)
            if version:
                q.version(version)
            q.readable_granule_name(stems[i:i + 100])
            q.options.pop("readable_granule_name", None)  # exact names, not patterns
            for g in _fetch(q):
                item = wanted.get(_stem(g.name)) or wanted.get(g.granule_ur)
                if item is not None:
                    out[item] = g
    return out


def read_granule_list(path: str | os.PathLike[str]) -> list[str]:
    """Granule ids, file names or URLs from a text file, one per line (blank lines and
    ``#`` comments skipped).

    Raises
    ------
    ConfigError
        When the file cannot be read or lists nothing.
    """
    from modisoft.errors import ConfigError

    try:
        lines = open(path, encoding="utf-8").read().splitlines()  # noqa: SIM115
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--from {path}: cannot read it ({exc})") from None
    names = [s.split("#", 1)[0].strip() for s in lines]
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        raise ConfigError(f"--from {path}: lists no granule (one id, file name or URL per "
                          "line)")
    return names


def _stem(name: str) -> str:
    """A file name without its granule suffix (``.hdf``, ``.h5``, ...): the granule id."""
    sfx = _suffix(name)
    return name[: -len(sfx)] if sfx else name


def _suffix(name: str) -> str:
    return next((s for s in _DATA_SUFFIXES if name.lower().endswith(s)), "")


def _granules(url: str | None, session: Any) -> Any:
    from earthaccess.search import DataGranules

    q = DataGranules()
    q.session = session or http_session(auth=False)
    return q.mode(cmr_url(url))


def _fetch(q: Any) -> list[RemoteGranule]:
    import requests

    where = q._base_url
    try:
        with warnings.catch_warnings():  # earthaccess's own deprecation of DataGranule.size()
            warnings.simplefilter("ignore", FutureWarning)
            items = q.get(q.hits())
    except (RuntimeError, requests.RequestException, KeyError, ValueError) as exc:
        raise AcquireError(f"CMR search at {where} failed: {_short(exc)}") from None
    out = []
    for item in items:
        g = from_umm(item)
        if g is not None:
            out.append(g)
    return out


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(exc).__name__


def _wanted(g: RemoteGranule, query: Query) -> bool:
    if g.date is not None and not query.start <= g.date <= query.end:
        return False
    return not (query.tiles and query.bbox is None and g.tile not in query.tiles)


def from_umm(item: dict[str, Any]) -> RemoteGranule | None:
    """A :class:`RemoteGranule` from one UMM-JSON search item (``{"meta": ..., "umm": ...}``);
    ``None`` when it lists no data file with an HTTPS URL."""
    from modisoft.catalog import parse_filename

    umm, meta = item.get("umm") or {}, item.get("meta") or {}
    files = ((umm.get("DataGranule") or {}).get("ArchiveAndDistributionInformation")) or []
    urls = [u.get("URL", "") for u in umm.get("RelatedUrls") or []
            if u.get("Type") == "GET DATA" and str(u.get("URL", "")).startswith("http")]
    for info in files:
        name = str(info.get("Name") or "")
        if not _suffix(name):
            continue
        url = next((u for u in urls if u.rsplit("/", 1)[-1] == name), None)
        if url is None:
            continue
        checksum = info.get("Checksum") or {}
        try:
            parsed = parse_filename(name)
        except Exception:
            parsed = None
        tile = None if parsed is None else parsed.tile_id
        return RemoteGranule(
            name=name, url=_data_url(url), size=_size(info), checksum=checksum.get("Value"),
            algorithm=checksum.get("Algorithm"), granule_ur=str(umm.get("GranuleUR", name)),
            concept_id=str(meta.get("concept-id", "")),
            tile=tile, date=None if parsed is None else parsed.start_date)
    return None


def _size(info: dict[str, Any]) -> int | None:
    """The exact size (``SizeInBytes``); ``Size`` with ``SizeUnit`` is rounded, so it is not
    used to verify a file."""
    value = info.get("SizeInBytes")
    return int(value) if isinstance(value, int | float) and value >= 0 else None


def _data_url(url: str) -> str:
    """``url`` with its scheme and host replaced by ``$MODISOFT_DATA_URL`` (a mirror or a
    test server), when set."""
    base = os.environ.get("MODISOFT_DATA_URL")
    if not base:
        return url
    b, u = urlsplit(base), urlsplit(url)
    path = b.path.rstrip("/") + u.path
    return urlunsplit((b.scheme, b.netloc, path, u.query, ""))
