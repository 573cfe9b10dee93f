"""``modisoft record``: one long LAI record from AVHRR, MODIS and VIIRS segments.

:func:`make_record` checks the whole configuration first (:func:`~modisoft.pipeline.
record_check.check_record`: one grid, one period scheme, the joins and their overlaps), runs
the segments given as run configs, fits the relation of every join
(:func:`modisoft.lai.record.fit_joins`), puts every segment on the reference sensor's scale,
takes each period from one sensor by priority, checks the continuity at every join
(:func:`modisoft.lai.continuity.continuity_check`) and writes ``<dir>/<name>.zarr``
atomically: ``lai`` ``(time, y, x)`` with a ``sensor`` coordinate per period, and in the root
attribute ``modisoft_record`` (and the provenance's ``extra.record``) the segments, the
relations used and the continuity table.  When ``<dir>`` is a run's output folder, its
``report.html`` is rebuilt, with a section on the record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modisoft.errors import NotARunError, RecordError
from modisoft.lai.continuity import continuity_check, continuity_table
from modisoft.lai.record import (
    Segment,
    assemble,
    default_priority,
    fit_joins,
    to_reference,
)
from modisoft.lai.relation import ALL_COVERS
from modisoft.pipeline.record_check import SegmentPlan, check_record, open_cover
from modisoft.pipeline.record_config import RECORD_ATTR, RecordConfig, load_record_config

__all__ = ["RecordResult", "load_record_config", "make_record", "read_record"]


@dataclass
class RecordResult:
    """What :func:`make_record` wrote.

    Attributes
    ----------
    store
        The record's Zarr store.
    record
        The ``modisoft_record`` attribute: ``reference``, ``priority``, ``segments``,
        ``joins`` (each with its relation, overlap and whether it was applied),
        ``threshold`` and ``continuity`` (the rows of
        :func:`~modisoft.lai.continuity.continuity_check`).
    report
        The rebuilt ``report.html``, or ``None`` (the folder is not a run's).
    incomplete
        One line per segment whose run (a ``[[segments]] config``) ended incomplete (exit
        status 3); the record is made from what those runs wrote (``modisoft record`` then
        exits 3).
    """

    store: Path
    record: dict[str, Any] = field(default_factory=dict)
    report: Path | None = None
    incomplete: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[str]:
        """The joins with a flagged continuity row."""
        return sorted({r["join"] for r in self.record.get("continuity", []) if r["flag"]})

    def table(self) -> str:
        """The continuity table as text."""
        return continuity_table(self.record.get("continuity", []), self.record.get("threshold"))

    def report_text(self) -> str:
        """What ``modisoft record`` prints: the periods per sensor, the joins, the table."""
        r = self.record
        lines = [f"wrote {self.store}: {sum(s['periods_taken'] for s in r['segments'])} "
                 f"periods on {r['reference']}'s scale ("
                 + ", ".join(f"{s['sensor']} {s['periods_taken']}" for s in r["segments"])
                 + f"; priority {' > '.join(r['priority'])})"]
        for j in r["joins"]:
            lines.append(f"join {j['name']}: {j['source']} -> {j['target']} fitted on "
                         f"{j['overlap'][0]} to {j['overlap'][1]} ({j['periods']} periods), "
                         + ("applied" if j["applied"] else "left uncorrected"))
            lines += [f"  {line}" for line in _relation_lines(j["relation"])]
        lines += ["", self.table()]
        if self.report:
            lines.append(f"report: {self.report}")
        return "\n".join(lines)


def _relation_lines(rel: dict[str, Any]) -> list[str]:
    """A relation's coefficients per cover type (or an AVHRR tie's pixel counts), a line
    each."""
    def f(x: Any, fmt: str = "{:.3f}") -> str:
        return "-" if x is None else fmt.format(x) if isinstance(x, int | float) else str(x)

    rows = rel.get("fits")
    if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
        return [f"cover {'all' if r.get('cover') == ALL_COVERS else r.get('cover')}"
                + (f" {r['season']}" if "season" in r else "") + ": " + " ".join(
            f"{k} {f(r.get(k), '{:.0f}' if k == 'n' else '{:.3f}')}"
            for k in ("a", "b", "c", "n", "r2", "rmse", "bias", "bias_after") if k in r)
            for r in rows]
    if "pixels" in rel:
        return [f"per pixel: {rel['pixels']}; median a {f(rel.get('median_a'))}, "
                f"median b {f(rel.get('median_b'))}"]
    return []


def _segment(plan: SegmentPlan) -> tuple[Segment, str]:
    """The segment's values (lazy) and a one-line digest of its store's provenance."""
    from modisoft.io.stack import open_stack
    from modisoft.write import Provenance

    ds = open_stack(plan.store)
    keep = {c: ds[c] for c in ("spatial_ref", "period_end", "period_label") if c in ds.coords}
    values = ds[plan.variable].reset_coords(drop=True).assign_coords(keep)
    try:
        digest = Provenance.from_attrs(ds.attrs).summary(max_bytes=512)
    except ValueError:  # a store without provenance (OutputError is a ValueError)
        digest = "no provenance recorded"
    return Segment(plan.sensor, values, plan.quantity, str(plan.store)), digest


def _run_segments(plans: list[SegmentPlan], echo: Callable[[str], None]) -> list[str]:
    """Run the segments given as run configs; one line per run that ended incomplete."""
    from modisoft.pipeline.run import run

    incomplete = []
    for p in plans:
        if p.run is None:
            continue
        echo(f"running the {p.sensor} segment's config ({p.run.output.dir})")
        summary = run(p.run, progress=False, echo=echo)
        if not p.store.exists():
            raise RecordError(f"the {p.sensor} segment's run wrote no store {p.store} "
                              f"(exit status {summary.exit_code})")
        if summary.exit_code:
            incomplete.append(f"the {p.sensor} segment's run ({p.run.output.dir}) ended with "
                              f"exit status {summary.exit_code}: its store {p.store} lacks "
                              "granules or dates (its report.html says which)")
    return incomplete


def _check_target(store: Path) -> None:
    import zarr

    folder = next((q for q in (store.parent, *store.parent.parents) if q.exists()), None)
    if folder is not None and not folder.is_dir():
        what = "" if folder == store.parent else f"{folder} "
        raise RecordError(f"[output] dir {store.parent}: {what}is a file, not a folder; "
                          "choose another [output] dir")
    if not store.exists():
        return
    try:
        attrs = zarr.open_group(str(store), mode="r").attrs
    except Exception:  # not a Zarr store: never replaced
        attrs = {}
    if RECORD_ATTR not in attrs:
        raise RecordError(f"[output] {store} exists and is not a record written by 'modisoft "
                          "record'; choose another [output] dir or name")


def make_record(cfg: RecordConfig | str | os.PathLike[str], *,
                echo: Callable[[str], None] | None = None) -> RecordResult:
    """Make and write a long record (see the module's description).

    Parameters
    ----------
    cfg
        A :class:`~modisoft.pipeline.record_config.RecordConfig` or the path of its TOML.
    echo
        Called with progress messages (default: none).

    Returns
    -------
    RecordResult

    Raises
    ------
    ConfigError, RecordError
        A configuration or a segment that does not fit (before anything is computed).

    Examples
    --------
    >>> result = make_record("record.toml")  # doctest: +SKIP
    >>> print(result.table())  # doctest: +SKIP
    """
    from modisoft.write import Provenance, write_zarr
    from modisoft.write.folder import claim_output_dir

    if not isinstance(cfg, RecordConfig):
        cfg = load_record_config(cfg)
    say = echo or (lambda _msg: None)
    plans, grid = check_record(cfg)
    _check_target(cfg.store)
    incomplete = _run_segments(plans, say)
    segments, digests = zip(*[_segment(p) for p in plans], strict=True)
    cover = np.asarray(open_cover(cfg).values) if cfg.cover else None
    joins = fit_joins(segments, cfg.overlap, reference=cfg.reference, cover=cover,
                      form=cfg.form, season=cfg.season, n_min=cfg.n_min,
                      uncorrected=cfg.uncorrected)
    priority = list(cfg.priority) or default_priority(segments, cfg.reference)
    record = assemble(to_reference(segments, joins, cfg.reference, cover), priority)
    record.attrs = {"long_name": f"leaf area index on {cfg.reference}'s scale",
                    "units": "m2 m-2", "grid_mapping": "spatial_ref"}
    rows = continuity_check(record, [(j.name, b.sensor) for j, b in zip(joins, plans[1:],
                                                                         strict=True)],
                            cover=cover, threshold=cfg.threshold)
    taken = [str(s) for s in record["sensor"].values]
    doc = {
        "reference": cfg.reference, "priority": priority, "threshold": cfg.threshold,
        "period": next((p.period for p in plans if p.period), cfg.period),
        "segments": [{"sensor": p.sensor, "store": str(p.store), "variable": p.variable,
                      "quantity": p.quantity, "first": p.first.isoformat(),
                      "last": p.last.isoformat(), "periods_taken": taken.count(p.sensor),
                      "provenance": digest}
                     for p, digest in zip(plans, digests, strict=True)],
        "joins": [{"name": j.name, "source": j.source, "target": j.target, "kind": j.kind,
                   "overlap": [d.isoformat() for d in j.overlap], "periods": j.periods,
                   "applied": j.applied, "relation": j.record} for j in joins],
        "continuity": rows,
        "incomplete": incomplete,
    }
    ds = record.to_dataset()
    ds.attrs[RECORD_ATTR] = json.dumps(doc, sort_keys=True)
    prov = Provenance().set_grid(grid).set_config(cfg.data)
    prov.extra["record"] = doc
    out = cfg.resolve(cfg.out_dir)
    with claim_output_dir(out):  # one writer at a time (the folder may be a run's)
        say(f"writing {cfg.store}")
        write_zarr(ds, cfg.store, provenance=prov, overwrite=True,
                   chunks={"time": 1, "y": 512, "x": 512})
        report = _rebuild_report(out)
    return RecordResult(cfg.store, doc, report, incomplete)


def _rebuild_report(out: Path) -> Path | None:
    """``report.html`` rebuilt when ``out`` is a run's output folder (it then shows the
    record's section), else ``None``."""
    from modisoft.report import write_report

    try:
        return write_report(out)
    except NotARunError:
        return None


def read_record(store: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``modisoft_record`` attribute of a record's store (segments, relations,
    continuity).

    Raises
    ------
    RecordError
        When ``store`` is not a record written by :func:`make_record`.
    """
    import zarr

    try:
        attrs = zarr.open_group(str(store), mode="r").attrs
    except Exception as exc:  # a missing or damaged store: say which
        raise RecordError(f"{store}: not a Zarr store ({exc})") from None
    if RECORD_ATTR not in attrs:
        raise RecordError(f"{store}: not a record written by 'modisoft record'")
    return json.loads(attrs[RECORD_ATTR])
