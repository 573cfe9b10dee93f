"""Downloading granules: parallel, verified against the archive's checksum, resumable.

Each file streams into ``.<name>.part`` beside its final name and is renamed only after its
size and its CMR checksum match.  A partial file left by a cut connection or a killed run is
resumed with an HTTP range request (started afresh where the server ignores ranges); a file
that fails verification is discarded and fetched again, then recorded as failed.  Files already
present and verified are skipped, so a rerun is a no-op.  HTTP 401/403 ends the download with
one line on how to log in.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modisoft.acquire.cmr import RemoteGranule
from modisoft.acquire.http import LOGIN_HELP, http_session
from modisoft.acquire.manifest import DownloadManifest
from modisoft.errors import AcquireError, EarthdataLoginError
from modisoft.io.checksums import checksum_supported, file_checksum
from modisoft.write.folder import claim_output_dir
from modisoft.write.partial import PartialFile

__all__ = ["DownloadReport", "download"]

log = logging.getLogger(__name__)

_BLOCK = 1 << 16
"""Bytes per read: what a cut connection can lose from the last read (the rest is kept)."""


@dataclass
class DownloadReport:
    """What a download did: files fetched, already present, failed (name → reason), and the
    bytes transferred (resumed parts count only their new bytes)."""

    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    bytes: int = 0

    @property
    def exit_code(self) -> int:
        """0 all there, 3 some failed, 1 none could be fetched."""
        if not self.failed:
            return 0
        return 3 if self.downloaded or self.present else 1


def download(granules: Sequence[RemoteGranule], folder: str | os.PathLike[str], *,
             jobs: int = 4, progress: bool = True, session: Any = None, tries: int = 3,
             backoff: float = 1.0, echo: Callable[[str], None] | None = None
             ) -> DownloadReport:
    """Download granules into ``folder``, verified, resuming partial files.

    Parameters
    ----------
    granules
        What :func:`~modisoft.acquire.cmr.search` found.
    folder
        Where the files go (created); the download manifest is written beside them.
    jobs
        Files downloaded at once.
    progress
        Show one progress bar (bytes and rate) on stderr.
    session
        A :func:`~modisoft.acquire.http.http_session` (default: one with the Earthdata login).
    tries
        Attempts per file (a cut body resumes; a wrong size or checksum starts afresh).
    backoff
        Seconds before the second attempt, doubling after.
    echo
        Where one line per failed file goes (default: the log).

    Returns
    -------
    DownloadReport

    Raises
    ------
    EarthdataLoginError
        The archive refused the login (the download stops: every file would fail alike).
    OutputInUseError
        Another download or run is writing into ``folder``.
    """
    from tqdm import tqdm

    folder = Path(folder)
    session = session or http_session(backoff=backoff)
    report = DownloadReport()
    say = echo or log.warning
    total = sum(g.size or 0 for g in granules)
    with claim_output_dir(folder), \
            tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="download",
                 disable=not progress, leave=True) as bar, \
            ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        manifest = DownloadManifest(folder)
        job = _Job(session, folder, manifest, tries, backoff, bar)
        futures = {pool.submit(job.fetch, g): g for g in granules}
        try:
            for fut in as_completed(futures):
                g = futures[fut]
                status, detail = fut.result()
                if status == "failed":
                    report.failed[g.name] = detail
                    say(f"{g.name}: {detail}")
                else:
                    (report.downloaded if status == "downloaded" else report.present
                     ).append(g.name)
                    report.bytes += int(detail or 0)
        except BaseException:
            job.stop = True
            for f in futures:
                f.cancel()
            raise
    return report


class _Job:
    """One download's shared state; :meth:`fetch` runs in the pool's threads."""

    def __init__(self, session, folder, manifest, tries, backoff, bar) -> None:
        self.session, self.folder, self.manifest = session, folder, manifest
        self.tries, self.backoff, self.bar = max(1, tries), backoff, bar
        self.stop = False

    def fetch(self, g: RemoteGranule) -> tuple[str, Any]:
        """``("present" | "downloaded", bytes)`` or ``("failed", reason)``."""
        final = self.folder / g.name
        if final.is_file() and self._verified(g, final):
            self.bar.update(g.size or 0)
            return "present", 0
        part = PartialFile(final)
        reason, fetched = "not tried", 0
        for attempt in range(self.tries):
            if self.stop:
                raise KeyboardInterrupt
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            start = part.size
            try:
                fetched += self._stream(g, part)
            except EarthdataLoginError:
                raise
            except (OSError, AcquireError) as exc:  # requests' errors are OSErrors
                reason = _why(exc)
                fetched += max(0, part.size - start)
                continue
            reason = self._check(g, part.part)
            if reason is None:
                part.commit()
                self._record(g, final, "downloaded")
                return "downloaded", fetched
            if g.size is not None and part.size < g.size:  # cut short: the next one resumes
                reason = f"the transfer ended after {part.size} of {g.size} bytes"
                continue
            part.discard()  # wrong size or checksum: the next attempt starts afresh
        self.manifest.record(g.name, **_fields(g), status="failed",
                             reason=f"{reason} (after {self.tries} attempts)")
        return "failed", f"{reason} (after {self.tries} attempts)"

    def _stream(self, g: RemoteGranule, part: PartialFile) -> int:
        """Fetch the rest of ``g`` into its partial file; return the bytes written."""
        have = part.size
        if g.size is not None and have > g.size:
            part.discard()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self.session.get(g.url, headers=headers, stream=True, timeout=(30, 120)) as r:
            if r.status_code in (401, 403):
                raise EarthdataLoginError(f"{g.url}: the archive refused the request (HTTP "
                                          f"{r.status_code}); {LOGIN_HELP}")
            if r.status_code == 416 and have:  # the partial file is already whole
                return 0
            if r.status_code >= 400:
                raise AcquireError(f"HTTP {r.status_code} {r.reason}")
            resume = r.status_code == 206 and _range_start(r) == have
            written = 0
            with part.open(resume) as f:
                for block in r.iter_content(_BLOCK):
                    f.write(block)
                    written += len(block)
                    self.bar.update(len(block))
            if not resume and have:
                self.bar.update(-have)  # counted before, fetched again from the start
            return written

    def _check(self, g: RemoteGranule, path: Path) -> str | None:
        """Why the downloaded file is not the archive's, or ``None``."""
        size = path.stat().st_size
        if g.size is not None and size != g.size:
            return f"size {size} bytes, the archive says {g.size}"
        if g.checksum and checksum_supported(g.algorithm):
            got = file_checksum(path, g.algorithm)
            if got.lower() != g.checksum.lower():
                return f"{g.algorithm} checksum {got} differs from the archive's {g.checksum}"
        return None

    def _verified(self, g: RemoteGranule, final: Path) -> bool:
        """Whether an existing file is the archive's: its record says it was verified and it
        is unchanged since, or its size and checksum match now."""
        rec = self.manifest.get(g.name)
        st = final.stat()
        if rec and rec.get("status") in ("downloaded", "present") and \
                rec.get("mtime_ns") == st.st_mtime_ns and rec.get("size") == st.st_size and \
                rec.get("checksum") == g.checksum:
            return True
        if self._check(g, final) is not None:
            return False
        self._record(g, final, "present")
        return True

    def _record(self, g: RemoteGranule, final: Path, status: str) -> None:
        st = final.stat()
        fields = _fields(g)
        fields["size"] = st.st_size
        self.manifest.record(g.name, **fields, status=status, mtime_ns=st.st_mtime_ns,
                             verified=_how(g))


def _fields(g: RemoteGranule) -> dict[str, Any]:
    return {"url": g.url, "size": g.size, "checksum": g.checksum, "algorithm": g.algorithm,
            "granule_ur": g.granule_ur, "concept_id": g.concept_id}


def _how(g: RemoteGranule) -> str:
    if g.checksum and checksum_supported(g.algorithm):
        return f"size and {g.algorithm}"
    if g.checksum:
        return f"size only ({g.algorithm} is not supported)"
    return "size only (the archive lists no checksum)" if g.size is not None else "unverified"


def _range_start(r: Any) -> int | None:
    text = r.headers.get("Content-Range", "")
    try:
        return int(text.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
