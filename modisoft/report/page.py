"""The report page: one self-contained HTML file (images as ``data:`` URIs, the style and a
small script inline, a Content-Security-Policy that forbids loading anything else), so it opens
from disk or as an e-mail attachment, offline.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from modisoft._version import __version__
from modisoft.report import figures
from modisoft.report.longrecord import record_section
from modisoft.report.points import PixelSeries, pixel_series
from modisoft.report.record import REPORT_NAME, RunRecord, file_rows, read_run, tile_date_status
from modisoft.report.tables import (
    Raw,
    human_bytes,
    input_rows,
    matrix_table,
    qa_percentages,
    reason_rows,
    table,
)
from modisoft.report.windows import gap_scan, percentile_of, scan

__all__ = ["build_report", "write_report"]

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1180px;padding:0 18px 40px;
color:#222}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px
solid #ccc}h3{font-size:15px;margin:16px 0 6px}
.status{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600}
.ok{background:#d8f0d8;color:#165c16}.bad{background:#fde2c8;color:#8a3b00}
img{max-width:100%;height:auto}
#annual-maps{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:8px}
.thumbs{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px}
.thumbs figure{margin:0}.thumbs img{width:100%;image-rendering:pixelated;border:1px solid #ccc}
figcaption{font-size:12px;color:#444}
table{border-collapse:collapse;font-size:12px;margin:6px 0}td,th{border:1px solid #ddd;
padding:2px 6px;text-align:left;vertical-align:top}thead th{background:#f3f3f3}
table.matrix td{text-align:center;padding:0 3px;cursor:default}
table.matrix th.d span{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:400}
td.present{background:#d8f0d8;color:#165c16}td.missing{background:#eee;color:#888}
td.failed{background:#f7c6c6;color:#9b0000;font-weight:700}
pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px;white-space:pre-wrap}
code,.mono{font-family:ui-monospace,monospace;font-size:12px}
details{margin:6px 0}summary{cursor:pointer;color:#0b4f8a}
"""

SCRIPT = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.dataset.images = String(imgs.length);
  document.body.dataset.imagesBad = String(bad.length);
  document.body.dataset.imagesOk = bad.length === 0 ? "true" : "false";
});
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'")


def write_report(out_dir: str | os.PathLike[str], *,
                 points: Sequence[tuple[float, float]] | None = None) -> Path:
    """Write ``report.html`` into a finished run's output folder (replacing it).

    Parameters
    ----------
    out_dir
        The run's ``[output] dir``.
    points
        ``(lon, lat)`` of pixels whose time series to show, besides the pixels of highest,
        median and lowest non-zero mean.

    Returns
    -------
    pathlib.Path
        ``<out_dir>/report.html``.

    Raises
    ------
    NotARunError
        When ``out_dir`` holds no finished run (:func:`~modisoft.report.read_run`).
    PointOutsideGridError
        When a point lies outside the run's grid.

    Examples
    --------
    >>> write_report("demo_output")  # doctest: +SKIP
    PosixPath('demo_output/report.html')
    """
    from modisoft.write import atomic_path

    rec = read_run(out_dir)
    text = build_report(rec, points=points)
    path = rec.out_dir / REPORT_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def build_report(rec: RunRecord, *, points: Sequence[tuple[float, float]] | None = None
                 ) -> str:
    """The report page of ``rec`` as HTML text (see :func:`write_report`)."""
    import dask

    with dask.config.set(scheduler="threads"):  # the store's reads, in this process
        maps = _maps(rec)
        body = [_header(rec), _run_paragraph(rec, maps), maps["html"], _qa(rec, maps),
                _inputs(rec), _series(rec, maps, points), record_section(rec.out_dir),
                _provenance(rec)]
    title = f"modisoft run report: {rec.config.get('output', {}).get('name', '')}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body></html>\n")


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">'


# ------------------------------------------------------------------------------ the run
def _header(rec: RunRecord) -> str:
    s = rec.summary
    ok = s.get("exit_code") == 0
    why = _incomplete(s)
    badge = (f'<span class="status {"ok" if ok else "bad"}" id="exit-status">'
             f'{"complete" if ok else "incomplete"}: exit status {s.get("exit_code")}</span>')
    name = rec.config.get("output", {}).get("name", "")
    return (f"<h1>modisoft run report: {escape(name)}</h1><p>{badge} "
            f"finished {escape(str(s.get('finished', '?')))}, output folder "
            f"<code>{escape(str(rec.out_dir.resolve()))}</code></p>"
            + (f"<ul>{''.join(f'<li>{escape(w)}</li>' for w in why)}</ul>" if why else ""))


def _incomplete(s: dict[str, Any]) -> list[str]:
    out = []
    if s.get("failures"):
        out.append(f"{len(s['failures'])} granule(s) failed and were left out")
    miss = s.get("missing") or {}
    if miss.get("dates"):
        out.append(f"{len(miss['dates'])} date(s) without any usable granule")
    if miss.get("tiles"):
        out.append(f"{sum(len(t) for t in miss['tiles'].values())} tile-date(s) without a "
                   "usable granule (the outputs have no data there)")
    if s.get("lost_total"):
        out.append(f"pixel check failed: {s['lost_total']} output pixel(s) without a value "
                   "although a valid source pixel lies under them")
    if (s.get("beps") or {}).get("uncovered"):
        out.append("BEPS files without any valid LAI: " + ", ".join(s["beps"]["uncovered"]))
    return out


def _run_paragraph(rec: RunRecord, maps: dict[str, Any]) -> str:
    from modisoft.plot import crs_label

    cfg, s, inv = rec.config, rec.summary, rec.inventory
    i, st, o = cfg.get("inputs", {}), cfg.get("steps", {}), cfg.get("output", {})
    grid, da = rec.grid, rec.dataset[rec.variable]
    dx, dy = grid.resolution
    unit = "°" if grid.crs.is_geographic else " m"
    dates = inv.get("dates", [])
    labels = maps["labels"]
    smoother = st.get("smoother", "none")
    series = (f"smoothed per pixel by {smoother}"
              + (f" ({_kv(st.get('smoother_params') or {})})" if st.get("smoother_params")
                 else "") + f", at least {st.get('min_obs') or 'the default number of'} "
              "observations, the daily curve averaged per period") if smoother != "none" \
        else f"composited per period ({st.get('reducer', 'max')})"
    mem = s.get("peak_memory") or {}
    times = s.get("timings") or {}
    parts = [
        f"modisoft {escape(_software(rec).get('modisoft', '?'))} made "
        f"<b>{escape(str(da.attrs.get('long_name', rec.variable)))}</b> "
        f"(<code>{escape(rec.variable)}</code>, {escape(str(da.attrs.get('units', '')))}) "
        f"from <b>{escape(i.get('product', '?'))}</b>"
        + (f" layer <code>{escape(i['layer'])}</code>" if i.get("layer") else "")
        + (f" with QA layer <code>{escape(i['qa_layer'])}</code>" if i.get("qa_layer") else "")
        + f": {inv.get('granules', '?')} granule(s) of {len(inv.get('tiles', []))} tile(s) "
        f"({escape(', '.join(inv.get('tiles', [])))}) on {len(dates)} date(s) from "
        f"{escape(dates[0] if dates else '?')} to {escape(dates[-1] if dates else '?')}.",
        (f"The grid is <b>{escape(cfg['grid']['name'])}</b>: " if cfg.get("grid", {}).get(
            "name") else "The grid (defined in [grid]) is ")
        + f"{escape(crs_label(grid.crs)[0])}, {grid.width} × {grid.height} pixels of "
        f"{abs(dx):g}{unit} × {abs(dy):g}{unit}.",
        f"Steps: QA rule <code>{escape(str(st.get('qa_rule')))}</code>"
        + (f" with weights <code>{escape(str(st['weights']))}</code> after resampling"
           if st.get("weights") else " at source resolution")
        + f"; resampling {escape(str(st.get('resampling')))} "
        f"(fuse {escape(str(st.get('fuse')))}); {escape(series)}; LAI from "
        f"{escape(str(st.get('lai', 'product')))}; <b>{len(labels)}</b> period(s) "
        f"<code>{escape(str(st.get('period')))}</code> from {escape(labels[0] if labels else '')}"
        f" to {escape(labels[-1] if labels else '')}, written as "
        f"{escape(', '.join(o.get('formats', [])))}.",
        f"It took <b>{times.get('total', float('nan')):.1f} s</b> ("
        + escape(", ".join(f"{k} {v:.1f} s" for k, v in times.items()
                           if k not in ("total", "report")))
        + f"), with a peak memory of {mem.get('main', 0) / 2**20:.0f} MiB in the main process"
        f" and {mem.get('children', 0) / 2**20:.0f} MiB in the largest child process, and "
        f"ended with exit status <b>{s.get('exit_code')}</b> ("
        + ("everything requested was produced from every input" if s.get("complete") else
           escape("; ".join(_incomplete(s)) or "incomplete")) + ").",
    ]
    return '<h2>The run</h2><p id="run-paragraph">' + " ".join(parts) + "</p>"


def _kv(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in d.items())


# ------------------------------------------------------------------------------- maps
def _maps(rec: RunRecord) -> dict[str, Any]:
    """The annual mean (weighted by the periods' days) and maximum, the period thumbnails."""
    from modisoft.plot import decimated, fill_legend_of

    ds, name = rec.dataset, rec.variable
    v = ds[name]
    starts = np.asarray(ds["time"].values).astype("datetime64[D]")
    ends = np.asarray(ds["period_end"].values).astype("datetime64[D]") \
        if "period_end" in ds.coords else starts
    labels = [str(x) for x in ds["period_label"].values] if "period_label" in ds.coords \
        else [str(x) for x in starts]
    days = (ends - starts).astype("int64") + 1
    import xarray as xr

    w = xr.DataArray(days.astype("float64"), dims="time", coords={"time": v["time"]})
    total = (v.fillna(0) * w).sum("time")
    weight = (v.notnull() * w).sum("time")
    # lazy: every map and statistic below reads the store a window at a time
    mean = (total / weight.where(weight > 0)).astype("float32").assign_attrs(v.attrs)
    top = v.max("time").assign_attrs(v.attrs)
    fc = ds.get("fill_class")
    if fc is not None and fc.ndim == 3:
        fc = fc.isel(time=-1)
    legend = fill_legend_of(v, fc) if fc is not None else {}
    present = set(decimated(fc, figures.MAP_PX, "nearest", codes=True)[1]) \
        if fc is not None else set()
    legend = {c: n for c, n in legend.items() if c in present}
    if name == "lai":
        vmax = 8.0
    else:
        biggest = float(top.max()) if "valid_max" not in v.attrs else float("nan")
        vmax = float(v.attrs.get("valid_max", biggest if np.isfinite(biggest) else 1.0))
    n_dates = len(rec.summary.get("series", {}).get("dates") or rec.inventory.get("dates", []))
    lazy = {"mean": (mean, figures.MAP_PX, "float32")}
    if figures.have_matplotlib():
        lazy.update(top=(top, figures.MAP_PX, "float32"),
                    periods=(v, figures.THUMB_PX, "float32"))
        if "n_obs" in ds and n_dates:
            share = (100.0 * ds["n_obs"] / n_dates).where(mean.notnull())
            lazy["share"] = (share, figures.MAP_PX // 2, "float64")
    out = scan(v, lazy, ds.get("n_obs"))  # every map below from one pass over the store
    out.update(labels=labels, starts=starts, ends=ends, n_dates=n_dates)
    out["shown"] = {"mean": out.pop("mean"), "top": out.pop("top", None)}
    out["mean"] = mean
    html = ["<h2>Maps</h2>"]
    if not figures.have_matplotlib():
        html.append("<p>No maps: drawing them needs matplotlib "
                    "(<code>pip install 'modisoft[plot]'</code>).</p>")
        out["html"] = "\n".join(html)
        return out
    html.append('<div id="annual-maps">')
    for key, da, what in (("mean", mean, "mean (weighted by the periods' days)"),
                          ("top", top, "maximum")):
        html.append(_img(figures.large_map(da, fc, f"{name}: {what} over the periods", vmax,
                                           out["shown"][key]),
                         f"map of the {what} over the periods"))
    html.append("</div><h3>Each period</h3>")
    units = v.attrs.get("units", "")
    html.append(_img(figures.colour_key(vmax, f"{name} [{units}]" if units else name, legend),
                     "colour key of the period maps"))
    html.append('<div class="thumbs" id="period-maps">')
    fcv = decimated(fc, figures.THUMB_PX, "nearest")[0] if fc is not None else None
    for k, label in enumerate(labels):
        uri = figures.thumbnail(out["periods"][k], fcv, legend, vmax)
        html.append(f'<figure class="period">{_img(uri, f"map of period {label}")}'
                    f"<figcaption>{escape(label)}: {starts[k]} to {ends[k]}</figcaption>"
                    "</figure>")
    html.append("</div>")
    out["html"] = "\n".join(html)
    return out


# --------------------------------------------------------------------------------- QA
def _qa(rec: RunRecord, maps: dict[str, Any]) -> str:
    status = tile_date_status(rec)
    pct, state, rows, overall = qa_percentages(status)
    html = ["<h2>Quality</h2>", "<h3>QA per date and tile</h3>"]
    if rows:
        html.append("<p>Over all granules: " + ", ".join(
            f"{k} {v:.1f} %" for k, v in overall.items() if np.isfinite(v))
                    + f" of the pixels (QA rule <code>"
                    f"{escape(str(rec.config.get('steps', {}).get('qa_rule')))}</code>; "
                    "cloudy: the QA cloud field says cloudy or mixed; fill: no value; not "
                    "vegetated: water, urban, snow and ice, barren, wetland).</p>")
        if figures.have_matplotlib():
            html.append(_img(figures.qa_heatmap(status["tiles"], status["dates"], pct, state),
                             "QA heat maps, dates by tiles"))
        html.append("<details><summary>the numbers (% of each granule's pixels)</summary>"
                    + table(["tile", "date", "pixels", *pct], rows, "qa") + "</details>")
    else:
        html.append("<p>No per-granule QA counts are recorded for this run.</p>")
    html.append(_observed(rec, maps))
    return "\n".join(html)


def _observed(rec: RunRecord, maps: dict[str, Any]) -> str:
    ds = rec.dataset
    n_dates = maps["n_dates"]
    html = ["<h3>Observed or gap-filled</h3>"]
    if "n_obs" in ds and n_dates:
        counts = maps["counts"]
        shares = 100.0 * np.arange(counts.size) / n_dates
        size = int(counts.sum())
        min_obs = rec.config.get("steps", {}).get("min_obs")
        median = percentile_of(shares, counts, 50) if size else 0
        html.append(f"<p>Of the {size} pixels with values, each period's value rests on "
                    f"usable observations at a median {median:.0f} % "
                    f"of the run's {n_dates} dates (<code>n_obs</code>); the rest of each "
                    "series is gap-filled"
                    + (f"; pixels with fewer than {min_obs} observations get no value"
                       if min_obs else "") + ".</p>")
        if figures.have_matplotlib() and size:
            html.append(_img(figures.share_figure(rec.grid, maps["share"], (shares, counts)),
                             "observed share of each pixel's series"))
    if "gap_days" in ds and ds["gap_days"].dims == ("time", "y", "x"):
        mean, p90, longest = _gap_days(ds["gap_days"])
        html.append('<p id="gap-days"><code>gap_days</code>: per period and pixel, the days to '
                    "the nearest good observation (0: observed in the period). Mean over the "
                    "pixels per period: " + ", ".join(f"{x:.1f}" for x in mean) + ".</p>")
        if figures.have_matplotlib() and np.isfinite(mean).any():
            html.append(_img(figures.gap_days_figure(rec.grid, longest, maps["labels"], mean,
                                                     p90), "gap_days"))
    return "\n".join(html)


def _gap_days(gap: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per period the mean and 90th percentile of ``gap`` over the pixels, and per pixel the
    largest over the periods, decimated for its map; negative: no value."""
    longest = gap.where(gap >= 0).max("time").astype("float64")
    return gap_scan(gap, longest, figures.MAP_PX // 2)


# ------------------------------------------------------------------------------ inputs
def _inputs(rec: RunRecord) -> str:
    status = tile_date_status(rec)
    rows = reason_rows(status)
    html = ["<h2>Missing and failed inputs</h2>",
            "<p>Tiles × dates: ● present, ○ missing, ✕ failed (hover a cell for the "
            "reason).</p>", matrix_table(status)]
    if rows:
        html.append(table(["tile", "date", "status", "file", "reason"], rows, "reasons"))
    else:
        html.append("<p>Every expected tile-date had a readable granule.</p>")
    return "\n".join(html)


# ------------------------------------------------------------------------------ series
def _series(rec: RunRecord, maps: dict[str, Any],
            points: Sequence[tuple[float, float]] | None) -> str:
    from modisoft.plot import pixel_of_points

    pixels = list(maps["pixels"])
    for lon, lat in points or []:
        (r, c), = pixel_of_points(rec.grid, [(lon, lat)])
        pixels.append((f"point ({lon:g}, {lat:g})", r, c))
    html = ["<h2>Time series at representative pixels</h2>"]
    if not pixels:
        return html[0] + "<p>No pixel has a value.</p>"
    units = rec.dataset[rec.variable].attrs.get("units", "")
    label = f"{rec.variable} [{units}]" if units else rec.variable
    found = pixel_series(rec, pixels)
    if figures.have_matplotlib():
        html.append(_img(figures.series_figure(found, label), "time series at the pixels"))
    html.append("<p>Red: the periods written; dots: the observations read again from the "
                "granules, coloured by their QA weight (hollow: weight 0, failing the QA "
                "rule); blue: the daily curve smoothed again from them with the run's method "
                "and parameters.</p>")
    for p in found:
        html.append(f'<div class="series" data-label="{escape(p.label)}">'
                    f"<p>{_series_caption(p)}</p>{_obs_table(p)}</div>")
    return "\n".join(html)


def _series_caption(p: PixelSeries) -> str:
    text = (f"{escape(p.label)}: row {p.row}, column {p.col} ({p.lon:.4f}°E, {p.lat:.4f}°N)"
            + (f", tile {escape(p.tile)}" if p.tile else "") + ". ")
    if p.obs_values is not None:
        n = int(np.count_nonzero(np.asarray(p.obs_weights) > 0))
        text += (f"{n} of {len(p.obs_values)} dates have a usable observation (source pixel "
                 "under the pixel's centre). ")
    d = p.max_difference
    if d is not None:
        text += (f'Recomputed from these observations, the periods differ from the store\'s by '
                 f'at most <span class="recomputed-diff">{d:.2g}</span>'
                 + ("" if p.same_gaps else "; the periods without a value differ") + ". ")
    if p.note:
        text += escape(p.note)
    return text


def _obs_table(p: PixelSeries) -> str:
    if p.obs_values is None:
        return ""
    rows = [[str(t), "" if not np.isfinite(v) else f"{v:.2f}", f"{w:.2f}", c]
            for t, v, w, c in zip(p.obs_dates, p.obs_values, p.obs_weights, p.obs_class,
                                  strict=True)]
    return ("<details><summary>the observations</summary>"
            + table(["date", "value", "QA weight", "fill class"], rows) + "</details>")


# -------------------------------------------------------------------------- provenance
def _software(rec: RunRecord) -> dict[str, str]:
    """The software versions the run recorded in its store's provenance."""
    from modisoft.write import Provenance

    try:
        return Provenance.from_attrs(rec.dataset.attrs).software
    except ValueError:  # a store without provenance: no versions to show
        return {}


def _provenance(rec: RunRecord) -> str:
    html = ["<h2>Provenance</h2>", "<h3>Configuration</h3>"]
    toml = rec.summary.get("config_toml")
    if toml:
        html.append(f'<pre id="config">{escape(toml)}</pre>')
    else:
        import json

        html.append(f'<pre id="config">{escape(json.dumps(rec.config, indent=1))}</pre>')
    software = _software(rec)
    html.append('<h3>Software</h3><p class="mono" id="software">' + " · ".join(
        f"{escape(k)} {escape(str(v))}" for k, v in sorted(software.items())) + "</p>")
    inputs = input_rows(rec.verified)
    html.append(f"<h3>Inputs</h3><details><summary>{len(inputs)} granule(s)</summary>"
                + table(["file", "bytes", "verification"], inputs, "inputs") + "</details>")
    rows = [[r["name"], Raw(f'<span title="{r["bytes"]} bytes">'
                            f'{escape(human_bytes(r["bytes"]))}</span>'),
             Raw(f'<span class="mono sha256">{r["sha256"]}</span>') if r["sha256"]
             else f"a folder of {r['files']} files" if r["files"]
             else "a symbolic link, not followed"]
            for r in file_rows(rec)]
    html.append(f"<h3>Output files</h3><details{' open' if len(rows) <= 40 else ''}><summary>"
                f"{len(rows)} file(s) and store(s), with their SHA-256 (the report itself and "
                "the run manifest, rewritten after it, aside)</summary>"
                + table(["file", "size", "SHA-256"], rows, "outputs") + "</details>")
    html.append(f"<p>Report made by modisoft {escape(__version__)}.</p>")
    return "\n".join(html)
