"""Explicit ``[grid] bounds`` in a run: as given (like ``gdalwarp -te``) by default, snapped
outwards only with ``snap = true``, and then the run says so."""

from __future__ import annotations

import xarray as xr
from pipeline.test_run import quiet, write_config

from modisoft.pipeline import load_config, run

OFF = "bounds = [3580300, 3380000, 3699500, 3459700]"  # edges off the 2 km lattice


def config(tmp_path, snap: str | None):
    cfg = write_config(tmp_path, formats='["zarr"]')
    on = "bounds = [3580000, 3380000, 3700000, 3460000]"
    text = cfg.read_text().replace('end = "2012-04-30"', 'end = "2012-01-20"')  # 3 dates
    cfg.write_text(text.replace(on, OFF if snap is None else f"{OFF}\nsnap = {snap}"))
    return cfg


def test_bounds_are_kept_by_default_and_snapped_on_request(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    kept = run(load_config(config(a, None)), progress=False, echo=quiet)
    z = xr.open_zarr(a / "out" / "lai.zarr")
    # left/top as given, 2 km pixels, 59.6 → 60 columns and 39.85 → 40 rows (gdalwarp -te)
    assert float(z.x[0]) == 3580300 + 1000 and float(z.y[0]) == 3459700 - 1000
    assert (z.sizes["x"], z.sizes["y"]) == (60, 40)
    assert "snapped" not in kept.inventory
    assert "report" not in kept.outputs and not (a / "out" / "report.html").exists()  # false
    snapped = run(load_config(config(b, "true")), progress=False, echo=quiet)
    z = xr.open_zarr(b / "out" / "lai.zarr")
    assert float(z.x[0]) == 3580000 + 1000 and float(z.y[0]) == 3460000 - 1000
    assert "bounds [3580300.0, 3380000.0, 3699500.0, 3459700.0] snapped outwards to the 2000 " \
           "lattice: [3580000.0, 3380000.0, 3700000.0, 3460000.0]" in snapped.inventory
