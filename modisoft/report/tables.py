"""The report's HTML tables: the tiles × dates matrix of the inputs, the QA shares per granule,
the inputs and the output files (with SHA-256), the software versions.  Every cell's text is
escaped; nothing here loads anything from outside the page.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import numpy as np

__all__ = ["MEASURES", "Raw", "human_bytes", "input_rows", "matrix_table", "qa_percentages",
           "reason_rows", "table"]

MEASURES = {"good": "good", "cloudy": "cloudy", "fill": "fill", "nonveg": "not vegetated"}
"""The per-granule pixel shares (:func:`modisoft.qa.pixel_shares` keys) and their titles."""

_MARK = {"present": "●", "missing": "○", "failed": "✕"}


def human_bytes(n: int) -> str:
    """A byte count for people.

    Examples
    --------
    >>> human_bytes(1536), human_bytes(12)
    ('1.5 KiB', '12 B')
    """
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """An HTML table; cells are escaped, except :class:`Raw` ones."""
    out = [f'<table class="{escape(cls)}"><thead><tr>'
           + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c if isinstance(c, Raw) else escape(str(c))}</td>"
                                    for c in row) + "</tr>")
    return "".join(out) + "</tbody></table>"


class Raw(str):
    """Markup that :func:`table` puts in a cell as is (already escaped)."""


def matrix_table(status: dict[str, Any]) -> str:
    """The tiles (rows) × dates (columns) matrix: present, missing or failed, the reason in
    each cell's ``title`` (a tooltip)."""
    dates, tiles, cells = status["dates"], status["tiles"], status["cells"]
    head = "".join(f'<th class="d"><span>{escape(d)}</span></th>' for d in dates)
    rows = [f'<table class="matrix"><thead><tr><th>tile</th>{head}</tr></thead><tbody>']
    for t in tiles:
        tds = []
        for d in dates:
            c = cells.get((t, d), {"status": "missing", "reason": "", "file": ""})
            tip = f"{t} {d}: {c['status']}" + (f" — {c['reason']}" if c["reason"] else "") \
                + (f" ({os.path.basename(c['file'])})" if c["file"] else "")
            tds.append(f'<td class="{c["status"]}" title="{escape(tip)}">'
                       f'{_MARK[c["status"]]}</td>')
        rows.append(f"<tr><th>{escape(t)}</th>{''.join(tds)}</tr>")
    return "".join(rows) + "</tbody></table>"


def reason_rows(status: dict[str, Any]) -> list[list[Any]]:
    """Rows ``[tile, date, status, file, reason]`` of every tile-date that is not present
    (a date without any granule once, as tile ``all``), and the failures without a tile or
    date in their file name."""
    cells = status["cells"]
    rows = []
    for d in status["dates"]:
        gone = [t for t in status["tiles"] if cells[(t, d)]["status"] != "present"]
        if gone and len(gone) == len(status["tiles"]) and \
                all(cells[(t, d)]["status"] == "missing" for t in gone):
            rows.append(["all", d, "missing", "", cells[(gone[0], d)]["reason"]])
            continue
        for t in gone:
            c = cells[(t, d)]
            rows.append([t, d, c["status"], os.path.basename(c["file"]), c["reason"]])
    for f in status["unplaced"]:
        rows.append(["?", "?", "failed", os.path.basename(f["file"]),
                     f"{f.get('stage', 'open')}: {f['reason']}"])
    return rows


def qa_percentages(status: dict[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray,
                                                    list[list[Any]], dict[str, float]]:
    """From the granules' pixel shares: per measure a tiles × dates array of percentages
    (NaN: no granule or not counted), the tiles × dates status (0 present, 1 missing,
    2 failed), the rows of a table and the percentages over every granule."""
    tiles, dates, cells = status["tiles"], status["dates"], status["cells"]
    pct = {title: np.full((len(tiles), len(dates)), np.nan) for title in MEASURES.values()}
    state = np.zeros((len(tiles), len(dates)), "int8")
    rows, totals = [], {k: 0 for k in (*MEASURES, "pixels")}
    for i, t in enumerate(tiles):
        for j, d in enumerate(dates):
            c = cells[(t, d)]
            state[i, j] = {"present": 0, "missing": 1, "failed": 2}[c["status"]]
            s = c.get("shares") or {}
            if not s.get("pixels"):
                continue
            row = [t, d, s["pixels"]]
            for key, title in MEASURES.items():
                if s.get(key) is None:
                    row.append("n/a")
                    continue
                pct[title][i, j] = 100.0 * s[key] / s["pixels"]
                row.append(f"{pct[title][i, j]:.1f}")
                totals[key] += s[key]
            totals["pixels"] += s["pixels"]
            rows.append(row)
    overall = {title: 100.0 * totals[key] / totals["pixels"] if totals["pixels"] else
               float("nan") for key, title in MEASURES.items()}
    return pct, state, rows, overall


def input_rows(verified: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Rows ``[file, bytes, verification]`` of every granule the run verified."""
    rows = []
    for path, v in sorted(verified.items(), key=lambda kv: os.path.basename(kv[0])):
        state = "readable" if v.get("ok") else f"failed ({v.get('stage')}): {v.get('reason')}"
        name = Raw(f'<span title="{escape(path)}">{escape(os.path.basename(path))}</span>')
        rows.append([name, v.get("size", ""), state])
    return rows
