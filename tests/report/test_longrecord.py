"""A record written into a run's output folder: the record's MODIS segment is that run (its
config, run first by ``make_record``), and the run's ``report.html`` gets a section with the
joins and the continuity table.  The VIIRS segment is **synthetic**: 0.3 + 1.1 × the run's
own LAI (real MCD15A2 sample granules), for 2012 and again for 2013, so the relation back to
MODIS is known exactly: a = −0.3 / 1.1, b = 1 / 1.1."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline.test_run import write_config

from modisoft.io.stack import open_stack
from modisoft.pipeline import load_config, run
from modisoft.pipeline.record import make_record
from modisoft.report.longrecord import find_records

# a small run (about 20 s here), then the record; one test process runs it all
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report/test_longrecord")]

RECORD = """
[[segments]]
sensor = "MODIS"
config = "run.toml"

[[segments]]
sensor = "VIIRS"
store = "viirs.zarr"

[relation]
n_min = 10
threshold = 0.2

[relation.overlap]
MODIS-VIIRS = ["2012-01-01", "2012-12-31"]

[output]
dir = "out"
"""


def quiet(_msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    import xarray as xr

    from modisoft.write import Provenance, write_zarr

    d = tmp_path_factory.mktemp("longrecord")
    cfg = write_config(d, formats='["zarr"]', period="month", report=True)
    run(load_config(cfg), progress=False, echo=quiet)
    modis = open_stack(d / "out" / "lai.zarr")
    lai = modis["lai"].reset_coords(drop=True)
    later = lai.assign_coords(time=(lai["time"].values.astype("datetime64[M]") + 12).astype(
        "datetime64[ns]"))  # the same months of 2013
    both = xr.concat([lai, later], "time")
    t = both["time"].values
    ends = ((t.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1).astype("datetime64[ns]")
    labels = [str(v) for v in modis["period_label"].values]
    ds = xr.Dataset({"lai": (0.3 + 1.1 * both).astype("float32")},
                    coords={"spatial_ref": modis["spatial_ref"], "period_end": ("time", ends),
                            "period_label": ("time", np.asarray(
                                labels + [v.replace("2012", "2013") for v in labels],
                                object))})
    ds["lai"].attrs["grid_mapping"] = "spatial_ref"
    ds.attrs["comment"] = "SYNTHETIC VIIRS: 0.3 + 1.1 x the MODIS run's LAI"
    write_zarr(ds, d / "viirs.zarr",
               provenance=Provenance().set_config({"steps": {"period": "month"}}))
    (d / "record.toml").write_text(RECORD)
    result = make_record(d / "record.toml")
    return d, result


def test_a_run_config_segment_is_run_and_its_relation_recovered(recorded):
    d, result = recorded
    modis = result.record["segments"][0]
    assert modis["store"] == str(d / "out" / "lai.zarr")
    assert "MCD15A2" in modis["provenance"] and "input granules" in modis["provenance"]
    (fit,) = result.record["joins"][0]["relation"]["fits"]  # no cover: the pooled fit
    assert fit["b"] == pytest.approx(1 / 1.1, abs=1e-3)
    assert fit["a"] == pytest.approx(-0.3 / 1.1, abs=1e-3)
    assert result.flagged == []
    sensors = [str(s) for s in open_stack(result.store)["sensor"].values]
    assert sensors == ["MODIS"] * 4 + ["VIIRS"] * 4


def test_the_run_report_gets_the_record_section(recorded):
    d, result = recorded
    assert result.report == d / "out" / "report.html"
    page = result.report.read_text()
    assert list(find_records(d / "out")) == [result.store]
    assert 'id="long-record"' in page and "<code>lai_record.zarr</code>" in page
    section = page[page.index('id="long-record"'):page.index("<h2>Provenance")]
    assert "MODIS-VIIRS" in section and "VIIRS → MODIS" in section
    assert section.count("<tr>") == 1 + 1 + 1 + 1  # joins: head + 1, continuity: head + 1
    assert "status bad" not in section  # no FLAG mark
