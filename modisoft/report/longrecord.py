"""The report's section on a long multi-sensor record (``modisoft record``) written into the
run's output folder: per record, its segments, the relations at the joins and the continuity
table, flagged joins marked.  Only the stores' attributes are read, never their pixels.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from modisoft.lai.record import RECORD_ATTR
from modisoft.lai.relation import ALL_COVERS
from modisoft.report.tables import Raw, table

__all__ = ["find_records", "record_section"]


def find_records(out_dir: Path) -> dict[Path, dict[str, Any]]:
    """The Zarr stores in ``out_dir`` (not below it) written by ``modisoft record``, with
    their ``modisoft_record`` attribute."""
    import zarr

    found = {}
    for p in sorted(out_dir.glob("*.zarr")):
        try:
            attrs = dict(zarr.open_group(str(p), mode="r").attrs)
        except Exception:  # a damaged or foreign store is not a record: left out
            attrs = {}
        if RECORD_ATTR in attrs:
            found[p] = json.loads(attrs[RECORD_ATTR])
    return found


def _f(x: Any, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _relation_text(join: dict[str, Any]) -> str:
    rel = join.get("relation") or {}
    fits = rel.get("fits")
    if isinstance(fits, list) and fits and isinstance(fits[0], dict):
        return "; ".join(f"cover {'all' if c.get('cover') == ALL_COVERS else c.get('cover')}"
                         + (f" {c['season']}" if "season" in c else "")
                         + f": a {_f(c.get('a'))}, b {_f(c.get('b'))}, "
                         f"n {_f(c.get('n'), '{:.0f}')}, r² {_f(c.get('r2'))}"
                         for c in fits)
    return json.dumps(rel, sort_keys=True)[:400]


def record_section(out_dir: Path) -> str:
    """The HTML section on the records in ``out_dir`` (empty when there is none)."""
    records = find_records(out_dir)
    if not records:
        return ""
    html = ['<h2 id="long-record">Long record: continuity at the joins</h2>']
    for path, r in records.items():
        segs = ", ".join(f"{s['sensor']} {s['first']} to {s['last']} ({s['periods_taken']} "
                         "periods taken)" for s in r.get("segments", []))
        html.append(f"<h3><code>{escape(path.name)}</code></h3><p>On "
                    f"<b>{escape(str(r.get('reference')))}</b>'s scale; segments {escape(segs)};"
                    f" priority {escape(' > '.join(r.get('priority', [])))}.</p>")
        html.append(table(["join", "relation", "overlap", "applied", "fit"], [
            [j["name"], f"{j['source']} → {j['target']}", " to ".join(j["overlap"]),
             "yes" if j["applied"] else "no (left uncorrected)", _relation_text(j)]
            for j in r.get("joins", [])], "record-joins"))
        rows = []
        for c in r.get("continuity", []):
            b, a = c.get("before") or {}, c.get("after") or {}
            flag = Raw('<span class="status bad">FLAG</span>') if c.get("flag") else ""
            rows.append([c["join"], c.get("boundary") or "-", c["cover"], b.get("n", 0),
                         _f(b.get("mean")), f"{_f(b.get('p10'))} / {_f(b.get('p50'))} / "
                         f"{_f(b.get('p90'))}", a.get("n", 0), _f(a.get("mean")),
                         f"{_f(a.get('p10'))} / {_f(a.get('p50'))} / {_f(a.get('p90'))}",
                         _f(c.get("jump"), "{:+.2f}"), flag])
        html.append(f"<p>Per cover type, the record's LAI in the year before each join's "
                    f"boundary against the year from it; FLAG: the mean jumps more than "
                    f"{_f(r.get('threshold'), '{:g}')} m² m⁻².</p>")
        html.append(table(["join", "boundary", "cover", "n before", "mean before",
                           "p10 / p50 / p90 before", "n after", "mean after",
                           "p10 / p50 / p90 after", "jump", "flag"], rows, "continuity"))
    return "\n".join(html)
