"""The BEPS output of a run: its options from ``[output]`` and ``[beps]``, its land cover on the
output grid, and what the run's summary says of it (``modisoft.write.write_beps`` writes it).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from modisoft.pipeline.inputs import landcover_on_grid
from modisoft.pipeline.schema import RunConfig
from modisoft.pipeline.series import granule_days

__all__ = ["beps_landcover", "beps_lines", "beps_options", "observed_spans"]


def beps_options(cfg: RunConfig, options_cls: Any, **extra: Any) -> Any:
    """The :class:`~modisoft.write.BepsOptions` of ``[output]`` and ``[beps]``."""
    from dataclasses import asdict

    from modisoft.write import BepsControl

    o, b = cfg.output, cfg.beps
    control = BepsControl(**{k: v for k, v in asdict(b).items()
                             if k in BepsControl.__dataclass_fields__}) if b else BepsControl()
    return options_cls(suffixes=o.beps_suffixes, combine=o.beps_combine, control=control,
                       window=b.window if b else None, latlon=b.latlon if b else True,
                       **extra)


def beps_landcover(cfg: RunConfig, lai: Any) -> tuple[Any, dict[str, Any] | None]:
    """``[beps] landcover`` on the output grid (mode of the classes under each pixel) as
    BEPS_D codes (IGBP mapped by the registry's crosswalk, unlisted classes 0; the land
    cover's fill 0) and its description for the provenance, or ``(None, None)``."""
    import numpy as np

    from modisoft.grids import Grid
    from modisoft.products.beps import IGBP_TO_BEPS_D, IGBP_TO_BEPS_D_SOURCE

    b = cfg.beps
    if b is None or not b.landcover:
        return None, None
    lc, files = landcover_on_grid(cfg, Grid.from_xarray(lai), "beps")
    desc = {"files": files, "layer": b.landcover_layer,
            "resampling": lc.attrs["resampling_method"],
            "codes": b.landcover_codes,
            "mapping": IGBP_TO_BEPS_D_SOURCE if b.landcover_codes == "igbp" else "as given"}
    codes = np.asarray(lc.values)
    codes = np.where(np.isfinite(codes), codes, 0) if codes.dtype.kind == "f" else codes
    nodata = lc.attrs.get("nodata")
    if nodata is not None and np.isfinite(nodata):  # no land cover under the pixel: 0
        codes = np.where(codes == nodata, 0, codes)
    if b.landcover_codes == "beps":
        return codes, desc
    table = np.zeros(256, np.uint8)
    for igbp, beps in IGBP_TO_BEPS_D.items():
        table[igbp] = beps
    return table[np.clip(codes, 0, 255).astype(np.intp)], desc


def beps_lines(b: dict[str, Any]) -> list[str]:
    """The run summary's lines on the BEPS output (``beps/beps.json``)."""
    lc = b.get("landcover") or {}
    lines = [f"BEPS land cover: {lc.get('file')} from "
             + ("the [beps] land cover" if lc.get("from") == "land cover" else
                "a mask of the LAI (no [beps] landcover given): 0 = not simulated")]
    g = b.get("grid") or {}
    if g and not g.get("stock_beps_d_grid"):
        ny, nx = g["shape"]
        lat = ("latitude.img has this grid's" if b.get("latlon") else
               "set [beps] latlon = true for this grid's") + " latitudes and longitudes"
        lines.append(f"BEPS files: row stride {nx} (the grid width): compile BEPS_D with "
                     f"NPIX_CAN = {nx} and NLIN_CAN = {ny} (beps.h; stock BEPS_D has 5700 x "
                     f"4800); BEPS_D computes latitudes from its own Canadian grid: {lat}")
    if b.get("window_simulated_pixels") == 0:
        w = b.get("window", {})
        lines.append(f"BEPS window {list(w.values())}: no simulated pixel in it (land cover 0 "
                     "everywhere): BEPS would simulate nothing")
    if b.get("to_fill"):
        lines.append("BEPS control file: to fill before running BEPS (written as TO_FILL_...): "
                     + ", ".join(b["to_fill"]))
    if b.get("uncovered"):
        lines.append("BEPS: no observation or no valid LAI in " + ", ".join(b["uncovered"])
                     + " (their values are carried by the smoother from elsewhere, if any; "
                     "the control file's end day stops before the first of them)")
    if b.get("period") == "beps_d_guide":
        lines.append("BEPS periods: the guide's table (.001 = days 101-110, .020 = 294-304): "
                     "the run's other days are in no output")
    return lines


def observed_spans(cfg: RunConfig, prov: Any) -> list[tuple[date, date]]:
    """The days the run's granules cover: each granule's date to the end of its compositing
    period (the registry's ``period_days``; one day when it does not say)."""
    step = granule_days(cfg)
    out = set()
    for g in prov.granules:
        if g.get("start_date"):
            d = date.fromisoformat(str(g["start_date"])[:10])
            end = date.fromisoformat(str(g["end_date"])[:10]) if g.get("end_date") \
                else d + timedelta(days=step - 1)
            out.add((d, end))
    return sorted(out)
