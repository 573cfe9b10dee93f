"""Getting the granules from NASA's archive: CMR search (:func:`search`), verified and
resumable downloads (:func:`download`) and the download manifest they leave beside the files.

Examples
--------
>>> from modisoft.acquire import make_query
>>> q = make_query("MOD15A2H", grid="china_albers_1km", years=[2020])
>>> q.product, q.version, len(q.tiles), q.start.isoformat(), q.end.isoformat()
('MOD15A2H', '061', 22, '2020-01-01', '2020-12-31')
"""

from __future__ import annotations

from modisoft.acquire.cmr import RemoteGranule, cmr_url, lookup, read_granule_list, search
from modisoft.acquire.download import DownloadReport, download
from modisoft.acquire.http import http_session
from modisoft.acquire.manifest import DownloadManifest
from modisoft.acquire.query import Query, make_query, parse_dates

__all__ = ["DownloadManifest", "DownloadReport", "Query", "RemoteGranule", "cmr_url",
           "download", "http_session", "lookup", "make_query", "parse_dates",
           "read_granule_list", "search"]
