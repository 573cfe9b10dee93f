"""A local stand-in for NASA's archive on 127.0.0.1: CMR's granule search and the data server.

Synthetic, written from CMR's documented search API (``/search/granules.umm_json``: UMM-JSON
``{"hits", "took", "items": [{"meta", "umm"}]}``, the ``CMR-Hits`` header, paging with
``page_size`` ≤ 2000 and the ``CMR-Search-After`` header, ``short_name``, ``version``,
``temporal[]``, ``readable_granule_name[]`` with ``options[readable_granule_name][pattern]``,
``bounding_box``) and UMM-G 1.6 (``GranuleUR``, ``TemporalExtent.RangeDateTime``,
``DataGranule.ArchiveAndDistributionInformation[]`` with ``SizeInBytes`` and ``Checksum``
``{Value, Algorithm}``, ``RelatedUrls`` of type ``GET DATA``).  The data server answers range
requests (206 + ``Content-Range``) and misbehaves on request, per file: a 500 first, a body
cut short, a 401, a 429 with ``Retry-After``, no range support.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Entry:
    """One granule the archive holds: its file name and bytes (or only a size, for listings
    that are never downloaded), the checksum CMR publishes, and how the server misbehaves."""

    name: str
    data: bytes | None = None
    size: int | None = None
    algorithm: str = "MD5"
    checksum: str | None = None
    faults: list[str] = field(default_factory=list)  # consumed one per request

    def __post_init__(self) -> None:
        if self.data is not None:
            self.size = len(self.data) if self.size is None else self.size
            if self.checksum is None:
                h = hashlib.new({"MD5": "md5", "SHA-256": "sha256"}[self.algorithm])
                h.update(self.data)
                self.checksum = h.hexdigest()

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def start(self) -> date:
        a = self.name.split(".")[1]
        return date(int(a[1:5]), 1, 1) + timedelta(days=int(a[5:8]) - 1)


class Archive:
    """The server: ``entries`` by file name, ``requests`` logged as (path, Range header)."""

    def __init__(self, entries: list[Entry], period_days: int = 8) -> None:
        self.entries = {e.name: e for e in entries}
        self.period = period_days
        self.requests: list[tuple[str, str | None]] = []
        self.sent = 0  # data bytes sent
        self.no_range: set[str] = set()
        self.rate: float | None = None  # bytes per second per transfer (None: unlimited)
        self._lock = threading.Lock()
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a) -> None:
                pass

            def do_GET(self) -> None:
                archive.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Archive:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def cmr_url(self) -> str:
        return f"{self.url}/search/"

    # ---------------------------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        with self._lock:
            self.requests.append((parts.path, h.headers.get("Range")))
        if parts.path == "/search/granules.umm_json":
            return self._search(h, parse_qs(parts.query, keep_blank_values=True))
        if parts.path.startswith("/data/"):
            return self._data(h, unquote(parts.path[len("/data/"):]))
        self._reply(h, 404, b"not found")

    def _reply(self, h, status: int, body: bytes, headers: dict | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, str(v))
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    # CMR -----------------------------------------------------------------------------------
    def _search(self, h, q: dict) -> None:
        if q.get("short_name") is None:
            return self._reply(h, 400, json.dumps({"errors": ["short_name needed"]}).encode())
        found = [e for e in self.entries.values() if self._matches(e, q)]
        found.sort(key=lambda e: e.name)
        size = min(int(q.get("page_size", ["10"])[0]), 2000)
        after = h.headers.get("CMR-Search-After")
        start = json.loads(after)[0] if after else 0
        page = found[start:start + size]
        headers = {"Content-Type": "application/vnd.nasa.cmr.umm_results+json; version=1.6.6",
                   "CMR-Hits": len(found), "CMR-Took": 3, "CMR-Request-Id": "test"}
        if page:
            headers["CMR-Search-After"] = json.dumps([start + len(page), page[-1].stem])
        body = {"hits": len(found), "took": 3, "items": [self._umm(e) for e in page]}
        self._reply(h, 200, json.dumps(body).encode(), headers)

    def _matches(self, e: Entry, q: dict) -> bool:
        product = e.name.split(".")[0]
        if q["short_name"][0] != product or q.get("version", [e.name.split(".")[3]])[0] != \
                e.name.split(".")[3]:
            return False
        for rng in q.get("temporal[]", []):
            lo, hi = (date.fromisoformat(t[:10]) for t in rng.split(","))
            if e.start > hi or e.start + timedelta(days=self.period - 1) < lo:
                return False
        names = q.get("readable_granule_name[]")
        if names:
            pattern = q.get("options[readable_granule_name][pattern]", ["false"])[0] == "true"
            ok = any(fnmatch.fnmatchcase(e.stem, n) if pattern else n in (e.stem, e.name)
                     for n in names)
            if not ok:
                return False
        return True

    def _umm(self, e: Entry) -> dict:
        end = e.start + timedelta(days=self.period - 1)
        return {
            "meta": {"concept-id": f"G{abs(hash(e.name)) % 10**10}-TESTDAAC",
                     "provider-id": "TESTDAAC", "native-id": e.stem, "revision-id": 1,
                     "format": "application/vnd.nasa.cmr.umm+json"},
            "umm": {
                "GranuleUR": e.stem,
                "CollectionReference": {"ShortName": e.name.split(".")[0],
                                        "Version": e.name.split(".")[3]},
                "TemporalExtent": {"RangeDateTime": {
                    "BeginningDateTime": f"{e.start.isoformat()}T00:00:00.000Z",
                    "EndingDateTime": f"{end.isoformat()}T23:59:59.000Z"}},
                "DataGranule": {
                    "DayNightFlag": "Day",
                    "ArchiveAndDistributionInformation": [
                        {"Name": e.name, "SizeInBytes": e.size, "Size": round(
                            (e.size or 0) / 2**20, 2), "SizeUnit": "MB",
                         "Checksum": {"Value": e.checksum, "Algorithm": e.algorithm}},
                        {"Name": e.name + ".xml", "SizeInBytes": 9000, "SizeUnit": "NA"},
                    ]},
                "RelatedUrls": [
                    {"URL": f"{self.url}/data/{e.name}", "Type": "GET DATA"},
                    {"URL": f"s3://test-bucket/{e.name}", "Type": "GET DATA VIA DIRECT ACCESS"},
                    {"URL": f"{self.url}/data/{e.name}.xml", "Type": "EXTENDED METADATA"},
                ],
            },
        }

    # data ----------------------------------------------------------------------------------
    def _data(self, h, name: str) -> None:
        e = self.entries.get(name)
        if e is None or e.data is None:
            return self._reply(h, 404, b"no such file")
        fault = e.faults.pop(0) if e.faults else None
        if fault == "500":
            return self._reply(h, 500, b"internal error")
        if fault == "401":
            return self._reply(h, 401, b"unauthorized")
        if fault == "429":
            return self._reply(h, 429, b"slow down", {"Retry-After": "1"})
        data, start, status = e.data, 0, 200
        rng = h.headers.get("Range")
        if rng and name not in self.no_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                return self._reply(h, 416, b"", {"Content-Range": f"bytes */{len(data)}"})
            status = 206
        body = data[start:]
        h.send_response(status)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "none" if name in self.no_range else "bytes")
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.send_header("Connection", "close")
        h.end_headers()
        if fault == "cut":  # half the body, then the connection drops
            body = body[: len(body) // 2]
        step = 1 << 16
        try:
            for i in range(0, len(body), step):
                h.wfile.write(body[i:i + step])
                with self._lock:
                    self.sent += len(body[i:i + step])
                if self.rate:
                    time.sleep(step / self.rate)
        except OSError:  # the client went away (a killed download)
            pass
        h.close_connection = True


def sample_entries(folder: Path, pattern: str) -> list[Entry]:
    """Entries serving real sample files (their own bytes and MD5)."""
    return [Entry(p.name, p.read_bytes()) for p in sorted(folder.glob(pattern))]
