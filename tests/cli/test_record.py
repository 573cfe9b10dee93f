"""``modisoft record``: the three-segment example (SYNTHETIC segments from real MCD15A2 sample
pixels, docs/examples/record_segments.py) prints its continuity table with the uncorrected
join flagged; a bad config ends with one line and exit status 2."""

from __future__ import annotations

from click.testing import CliRunner
from pipeline.test_record import example_module

from modisoft.cli import main


def test_modisoft_record_prints_the_continuity_table(tmp_path):
    cfg = example_module().write_example(tmp_path)
    r = CliRunner().invoke(main, ["record", str(cfg)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert any(line.startswith("wrote ") and "AVHRR 12, MODIS 32, VIIRS 8" in line
               for line in lines)
    assert "join MODIS-VIIRS: VIIRS -> MODIS fitted on 2007-01-01 to 2008-12-31 (8 periods), " \
        "left uncorrected" in lines
    flagged = [line.split()[0] for line in lines if line.rstrip().endswith("FLAG")]
    assert flagged == ["MODIS-VIIRS"] * 4
    assert sum(line.startswith("AVHRR-MODIS  2001-01-01") for line in lines) == 4
    assert (tmp_path / "record_output" / "lai_record.zarr").is_dir()


def test_a_bad_record_config_is_one_line_and_exit_2(tmp_path):
    cfg = example_module().write_example(tmp_path)
    cfg.write_text(cfg.read_text().replace('reference = "MODIS"', 'reference = "MODSI"'))
    r = CliRunner().invoke(main, ["record", str(cfg)])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [
        f"modisoft: error: {cfg}: [relation] reference 'MODSI' (did you mean 'MODIS'?); "
        "accepted: AVHRR, MODIS, VIIRS"]


def test_ctrl_c_says_to_rerun_and_exits_130(tmp_path, monkeypatch):
    import modisoft.pipeline.record as record_module

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(record_module, "make_record", interrupted)
    r = CliRunner().invoke(main, ["record", str(tmp_path / "record.toml")])
    assert r.exit_code == 130
    assert r.output.strip() == ("modisoft: interrupted; the record's store is written whole or "
                                "not at all: rerun the same command")


def test_quiet_prints_nothing_when_the_record_is_written(tmp_path):
    cfg = example_module().write_example(tmp_path)
    r = CliRunner().invoke(main, ["record", str(cfg), "-q"])
    assert r.exit_code == 0, r.output
    assert r.output == ""
    assert (tmp_path / "record_output" / "lai_record.zarr").is_dir()
