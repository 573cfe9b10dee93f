"""Write the **synthetic** segments of the long-record example (docs/how-to/long-record.md).

    python docs/examples/record_segments.py record_example

writes into ``record_example/``: three LAI stores shaped like ``modisoft run`` outputs
(``avhrr.zarr`` 1998-2002, ``modis.zarr`` 2001-2008, ``viirs.zarr`` 2007-2010; periods
``"month"``, January to April of each year), a cover layer ``cover.zarr`` and the record's
configuration ``record.toml``.  Every store says it is synthetic (``comment`` and provenance).

How they are made (all of it labelled synthetic; the pixels are real):

* the *truth* is the real MODIS LAI of the sample granules ``sample_tiles/MCD15A2.A2012*
  .h17v03`` (decoded with :func:`modisoft.decode`, a 120 × 120 window of the tile's own 1 km
  sinusoidal grid), averaged per month (January to April 2012: the 16 dates the sample has),
  replicated over the years with a per-year factor in [0.98, 1.02];
* the *cover* layer is synthetic: the window's pixels in three classes by the terciles of
  their mean real LAI (1 low, 2 middle, 3 high);
* each sensor sees the truth T through a known per-cover line plus Gaussian noise
  (σ = 0.05): MODIS = T; AVHRR = c + d·T; VIIRS = o + s·T (:data:`AVHRR`, :data:`VIIRS`), so
  the relations back to MODIS's scale are a = −c/d, b = 1/d (and −o/s, 1/s).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
WINDOW = (slice(0, 120), slice(90, 210))  # rows, columns of the cropped h17v03 sample tile
MONTHS = 4  # January to April: the months of 2012 the sample granules cover
YEARS = {"AVHRR": (1998, 2002), "MODIS": (2001, 2008), "VIIRS": (2007, 2010)}
AVHRR = {1: (0.4, 0.80), 2: (0.3, 0.85), 3: (0.2, 0.90)}  # cover: (c, d), AVHRR = c + d·T
VIIRS = {1: (0.3, 1.00), 2: (0.4, 1.05), 3: (0.5, 1.10)}  # cover: (o, s), VIIRS = o + s·T
NOISE = 0.05
SYNTHETIC = ("SYNTHETIC: made by docs/examples/record_segments.py from the real MCD15A2 "
             "h17v03 2012 sample pixels (sample_tiles/) with known per-cover sensor "
             "relations; not a real {sensor} product")


def year_factor(year: int) -> float:
    """The truth's per-year factor, in [0.98, 1.02]."""
    return 1.0 + 0.01 * (((year * 7) % 5) - 2)


def truth_base() -> tuple[np.ndarray, np.ndarray, object]:
    """The real monthly LAI ``(4, 120, 120)`` (NaN: no value), the synthetic cover
    ``(120, 120)`` (NaN where no value) and the window's :class:`~modisoft.grids.Grid`."""
    import warnings

    import modisoft
    from modisoft.grids import Grid

    files = sorted((ROOT / "sample_tiles").glob("MCD15A2.A2012*.h17v03.005.*.hdf"))
    planes = []
    for f in files:
        da = modisoft.decode(modisoft.open_granule(f, ["Lai_1km"])).Lai_1km
        grid = Grid.from_xarray(da)[WINDOW]
        planes.append(np.asarray(da.values)[WINDOW])
    stack = np.stack(planes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels without any value
        base = np.stack([np.nanmean(stack[4 * m:4 * m + 4], 0) for m in range(MONTHS)])
        mean = np.nanmean(base, 0)
    base[:, ~np.isfinite(base).all(0)] = np.nan
    mean[~np.isfinite(base).all(0)] = np.nan
    lo, hi = np.nanpercentile(mean, [100 / 3, 200 / 3])
    cover = np.where(np.isfinite(mean), 1.0 + (mean > lo) + (mean > hi), np.nan)
    return base.astype("float64"), cover, grid


def periods(first: int, last: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Starts, ends and labels of the ``"month"`` periods January to April of the years."""
    starts, ends, labels = [], [], []
    for y in range(first, last + 1):
        for m in range(1, MONTHS + 1):
            s = np.datetime64(f"{y}-{m:02d}-01")
            starts.append(s)
            ends.append((s.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1)
            labels.append(f"{y}-{m:02d}-m1")
    return (np.array(starts, "datetime64[ns]"), np.array(ends, "datetime64[ns]"), labels)


def truth(base: np.ndarray, first: int, last: int) -> np.ndarray:
    """The truth ``(periods, y, x)`` of the years (no noise)."""
    return np.concatenate([base * year_factor(y) for y in range(first, last + 1)])


def sensor_values(sensor: str, base: np.ndarray, cover: np.ndarray,
                  rng: np.random.Generator, noise: float = NOISE) -> np.ndarray:
    """What ``sensor`` sees of the truth over its years, with noise."""
    t = truth(base, *YEARS[sensor])
    if sensor == "AVHRR":
        c = np.select([cover == k for k in AVHRR], [AVHRR[k][0] for k in AVHRR], np.nan)
        d = np.select([cover == k for k in AVHRR], [AVHRR[k][1] for k in AVHRR], np.nan)
        t = c + d * t
    elif sensor == "VIIRS":
        o = np.select([cover == k for k in VIIRS], [VIIRS[k][0] for k in VIIRS], np.nan)
        s = np.select([cover == k for k in VIIRS], [VIIRS[k][1] for k in VIIRS], np.nan)
        t = o + s * t
    return (t + rng.normal(0.0, noise, t.shape)).astype("float32")


RECORD_TOML = """\
# The long-record example (docs/how-to/long-record.md): SYNTHETIC segments made by
# docs/examples/record_segments.py from real MCD15A2 sample pixels.

[record]
period = "month"                  # the segments' period scheme (their runs' [steps] period)

[[segments]]
sensor = "AVHRR"
store = "avhrr.zarr"

[[segments]]
sensor = "MODIS"
store = "modis.zarr"

[[segments]]
sensor = "VIIRS"
store = "viirs.zarr"

[relation]
reference = "MODIS"               # the record is on MODIS's scale
cover = "cover.zarr"              # one relation per cover type
n_min = 30
threshold = 0.2                   # flag a join whose mean LAI jumps more (m2 m-2)
uncorrected = ["MODIS-VIIRS"]     # fitted and recorded, deliberately NOT applied

[relation.overlap]
AVHRR-MODIS = ["2001-01-01", "2002-12-31"]
MODIS-VIIRS = ["2007-01-01", "2008-12-31"]

[output]
dir = "record_output"
name = "lai_record"
"""


def write_example(out: str | Path, seed: int = 2012, noise: float = NOISE) -> Path:
    """Write the segments, the cover layer and ``record.toml`` into ``out``; returns the
    config's path (``noise``: the σ of each sensor's Gaussian noise)."""
    import xarray as xr

    from modisoft.write import Provenance, write_zarr

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base, cover, grid = truth_base()
    rng = np.random.default_rng(seed)
    for sensor in YEARS:
        starts, ends, labels = periods(*YEARS[sensor])
        ds = xr.Dataset(coords={**grid.xarray_coords(), "time": starts,
                                "period_end": ("time", ends),
                                "period_label": ("time", np.asarray(labels, object))})
        ds["lai"] = (("time", "y", "x"), sensor_values(sensor, base, cover, rng, noise),
                     {"long_name": "leaf area index", "units": "m2 m-2",
                      "grid_mapping": "spatial_ref"})
        ds.attrs["comment"] = SYNTHETIC.format(sensor=sensor)
        prov = Provenance().set_config({"steps": {"period": "month"}, "synthetic": True})
        prov.extra["synthetic"] = SYNTHETIC.format(sensor=sensor)
        write_zarr(ds, out / f"{sensor.lower()}.zarr", provenance=prov, overwrite=True)
    cov = xr.Dataset(coords=grid.xarray_coords())
    cov["cover"] = (("y", "x"), np.nan_to_num(cover, nan=0).astype("uint8"),
                    {"long_name": "SYNTHETIC cover class: terciles of the mean real LAI",
                     "grid_mapping": "spatial_ref", "nodata": 0})
    write_zarr(cov, out / "cover.zarr", overwrite=True)
    path = out / "record.toml"
    path.write_text(RECORD_TOML)
    return path


if __name__ == "__main__":
    print(write_example(sys.argv[1] if len(sys.argv) > 1 else "record_example"))
