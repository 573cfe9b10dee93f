"""The run's summary (:class:`RunSummary`) and its last step, :func:`finish_run`: the summary
recorded in the manifest under ``"summary"``, with what ``modisoft report`` needs to rebuild
the report from the output folder alone, and the report written (:mod:`modisoft.report`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modisoft.errors import ModisoftError
from modisoft.pipeline.beps_run import beps_lines
from modisoft.pipeline.inputs import lai_layers
from modisoft.pipeline.manifest import Manifest
from modisoft.pipeline.memory import release_memory, warnings_to_log
from modisoft.pipeline.schema import RunConfig
from modisoft.pipeline.series import beps_also, run_span

__all__ = ["RunSummary", "finish_run", "peak_memory", "series_record"]


@dataclass
class RunSummary:
    """What a run did: outputs, failed granules, resumed pieces, timings per stage."""

    outputs: dict[str, list[str]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    inventory: str = ""
    bands_total: int = 0  # pieces of the output (row band x output chunk) to compute
    bands_skipped: int = 0  # pieces a resumed run found already done
    timings: dict[str, float] = field(default_factory=dict)
    dashboard: str | None = None
    lost: dict[str, int] = field(default_factory=dict)
    """Per date (ISO): output pixels without a value although a valid source pixel lies
    under them (see ``docs/reference/resampling.md``, "A run checks itself"); all 0 in a
    correct run."""
    missing: dict[str, Any] = field(default_factory=dict)
    """What the run expected and did not have: ``{"dates": [ISO dates with no granule],
    "tiles": {ISO date: [tile ids]}}``, the tile-dates of failed granules included."""
    interrupted: bool = False
    no_metadata: list[str] = field(default_factory=list)  # ACDD keys no [metadata] gave
    beps: dict[str, Any] = field(default_factory=dict)
    """The BEPS output's loose ends (``beps/beps.json``): ``to_fill`` (control-file fields
    left as placeholders), ``uncovered`` (files without any valid LAI), ``landcover``."""
    peak_memory: dict[str, int] = field(default_factory=dict)
    """Peak resident memory in bytes (:func:`peak_memory`): ``main`` (this process),
    ``children`` (the largest of its finished child processes)."""

    @property
    def complete(self) -> bool:
        """Whether everything requested was produced from every input."""
        return not (self.failures or self.lost_total or self.missing.get("dates")
                    or self.missing.get("tiles") or self.beps.get("uncovered"))

    @property
    def exit_code(self) -> int:
        """What ``modisoft run`` exits with: 0 when :attr:`complete`, else 3 (outputs written
        but inputs failed, tile-dates missing or the pixel check failed)."""
        return 0 if self.complete else 3

    @property
    def lost_total(self) -> int:
        """Pixels lost over all dates (0 in a correct run)."""
        return sum(self.lost.values())

    def pixel_check(self) -> dict[str, Any]:
        """The pixel check as recorded in the provenance of every output."""
        bad = {d: n for d, n in sorted(self.lost.items()) if n}
        return {"description": "per date, output pixels without a value although a valid "
                               "source pixel lies under their centre",
                "dates_checked": len(self.lost), "lost_pixels": self.lost_total,
                "dates_with_losses": bad, "status": "failed" if bad else "passed"}

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-able data, with :attr:`exit_code`, :attr:`complete` and
        :attr:`lost_total` (what ``modisoft-run.json`` keeps under ``"summary"``)."""
        d = asdict(self)
        d.update(exit_code=self.exit_code, complete=self.complete, lost_total=self.lost_total)
        return json.loads(json.dumps(d, default=str))

    def report(self) -> str:
        """A human summary."""
        lines = [self.inventory]
        lines.append(f"pieces: {self.bands_total} ({self.bands_skipped} already done)")
        for kind, files in self.outputs.items():
            lines.append(f"{kind}: {len(files)} file(s), e.g. {files[0]}" if files else kind)
        lines.append("stage times: " + ", ".join(f"{k} {v:.1f} s"
                                                 for k, v in self.timings.items()))
        if self.peak_memory:
            lines.append("peak memory: " + ", ".join(
                f"{k} {v / 2**20:.0f} MiB" for k, v in self.peak_memory.items()))
        bad = {d: n for d, n in sorted(self.lost.items()) if n}
        if bad:
            lines.append(f"pixel check FAILED: {self.lost_total} output pixel(s) got no value "
                         "although a valid source pixel lies under them:")
            lines += [f"  {d}: {n} pixel(s)" for d, n in bad.items()]
        else:
            lines.append(f"pixel check: every valid source pixel reached the output "
                         f"({len(self.lost)} date(s) checked)")
        if self.no_metadata:
            lines.append("metadata: the NetCDF/Zarr lack the ACDD attributes only you can give "
                         f"(add them in a [metadata] table): {', '.join(self.no_metadata)}")
        if self.beps:
            lines += beps_lines(self.beps)
        if self.failures:
            lines.append(f"{len(self.failures)} granule(s) failed:")
            lines += [f"  {f['file']} ({f.get('stage', 'open')}): {f['reason']}"
                      for f in self.failures]
        if self.missing.get("dates") or self.missing.get("tiles"):
            n = sum(len(t) for t in self.missing.get("tiles", {}).values())
            lines.append(f"missing from the outputs: {len(self.missing.get('dates', []))} "
                         f"date(s) with no granule, {n} tile-date(s) without a usable granule")
        return "\n".join(lines)


def peak_memory() -> dict[str, int]:
    """Peak resident set size in bytes of this process (``main``) and of the largest of its
    child processes that have ended (``children``: the granule readers, the LocalCluster's
    workers), from :func:`resource.getrusage`."""
    import resource
    import sys

    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
    return {"main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale,
            "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale}


def series_record(cfg: RunConfig, work: Any) -> dict[str, Any]:
    """What a report needs to compute a pixel's series as the run did: the layers read
    (``value_layer``, ``qa_layers``), and for a product run its ``dates`` (ISO), the
    ``span`` given to the smoother (or ``None``) and the ``also_period``."""
    rec: dict[str, Any] = {"lai": cfg.steps.lai}
    if cfg.steps.lai == "product":
        layer, want = lai_layers(cfg)
        rec.update(value_layer=layer, qa_layers=want[1:])
    if getattr(work, "dates", 0):
        times = work.times
        span = run_span(cfg, times)
        rec.update(dates=[str(t) for t in times.astype("datetime64[D]")],
                   span=[span[0].isoformat(), span[1].isoformat()] if span else None,
                   also_period="beps_d" if beps_also(cfg) else None)
    return rec


def finish_run(cfg: RunConfig, out_dir: Path, manifest: Manifest, summary: RunSummary,
               work: Any, t0: float, echo: Callable[[str], None],
               client: Any = None) -> RunSummary:
    """The run's last step, after every other output: record ``summary`` (with the total
    time since ``t0``, :func:`peak_memory`, :func:`series_record` of ``work``, the config's
    TOML text, the inventory's description) in ``manifest`` under ``"summary"``, then write
    ``report.html`` into ``out_dir`` (:func:`modisoft.report.write_report`): by one task on
    a worker of the dask.distributed ``client`` (so this process never reads the store), or
    here without one (``None``).

    A report that cannot be written (a disk error) is said through ``echo`` and left out of
    ``summary.outputs``; the run's other outputs stand.

    Returns
    -------
    RunSummary
        ``summary``, with the report listed and timed.
    """
    from modisoft.report import REPORT_NAME, write_report

    summary.timings["total"] = time.perf_counter() - t0
    summary.peak_memory = peak_memory()
    summary.outputs["report"] = [str(out_dir / REPORT_NAME)]
    manifest.data["summary"] = {
        **summary.to_dict(), "series": series_record(cfg, work), "config_toml": cfg.source,
        "inventory_description": manifest.data.get("inventory", {}),
        "finished": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    manifest.save()
    t1 = time.perf_counter()
    try:
        if cfg.output.report and client is not None:
            client.submit(_report_on_worker, out_dir, pure=False,
                          key=f"modisoft-report-{cfg.digest()[:12]}").result()
        elif cfg.output.report:
            release_memory()  # what the outputs freed, before the report reads the store
            write_report(out_dir)
        else:
            summary.outputs.pop("report")
    except (ModisoftError, OSError) as exc:
        summary.outputs.pop("report")
        echo(f"report: not written: {exc}")
    if cfg.output.report:
        summary.timings["report"] = time.perf_counter() - t1
    manifest.data["summary"].update(timings=dict(summary.timings), outputs=summary.outputs)
    manifest.save()
    return summary


def _report_on_worker(out_dir: Path) -> None:
    from modisoft.report import write_report

    with warnings_to_log():
        write_report(out_dir)
