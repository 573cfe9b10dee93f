"""The generated products table matches the registry (docs cannot drift)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_products_table_is_generated_from_the_registry():
    spec = importlib.util.spec_from_file_location("gen_products", DOCS / "gen_products.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    committed = (DOCS / "reference" / "products.md").read_text()
    assert committed == mod.render(), "run `python docs/gen_products.py` and commit the result"


def test_smoothing_quicklook_example_writes_a_png(tmp_path):
    """docs/examples/smooth_quicklook.py runs on the real 2012 h17v03 year and writes a PNG."""
    import pytest
    from conftest import SAMPLE_DIR

    if len(list(SAMPLE_DIR.glob("MCD15A2.A2012*.h17v03.005.*.hdf"))) != 46:
        pytest.skip("the 46 MCD15A2 h17v03 2012 files are not present")
    spec = importlib.util.spec_from_file_location("quicklook",
                                                  DOCS / "examples" / "smooth_quicklook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(tmp_path / "q.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_resampling_figure_example_writes_a_png(tmp_path):
    """docs/examples/resampling_figure.py (the figure of docs/reference/resampling.md) runs
    on sample_tiles/ and writes a PNG."""
    spec = importlib.util.spec_from_file_location("resampling_figure",
                                                  DOCS / "examples" / "resampling_figure.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = mod.main(tmp_path / "r.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert "resampling_finer_coarser.png" in (DOCS / "reference" / "resampling.md").read_text()


def test_national_run_tutorial_python_block_runs(tmp_path, monkeypatch):
    """The step-by-step Python of docs/tutorials/national-run.md runs on sample_tiles/ and
    gives 12 BEPS periods on the 360 x 600 grid, and the two BEPS files it names."""
    import re

    import numpy as np
    import xarray as xr

    root = DOCS.parent
    code = re.findall(r"```python\n(.*?)```", (DOCS / "tutorials" / "national-run.md")
                      .read_text(), re.S)[0]
    code = code.replace('Path("sample_tiles")', f'Path("{root / "sample_tiles"}")')
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "national-run.md", "exec"), {})
    z = xr.open_zarr(tmp_path / "lai_by_hand.zarr").lai
    assert z.shape == (3, 360, 600) and np.isfinite(z.values).sum() > 100_000
    assert sorted(p.name for p in (tmp_path / "beps_by_hand").iterdir()
                  if re.fullmatch(r"lai\.\d{3}", p.name)) == ["lai.001", "lai.002", "lai.003"]


def test_cli_reference_is_generated_from_the_commands():
    spec = importlib.util.spec_from_file_location("gen_cli", DOCS / "gen_cli.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    page = (DOCS / "reference" / "cli.md").read_text()
    assert page == mod.render(mod.head_of(page)), "run `python docs/gen_cli.py` and commit"


def _gen_api():
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_api_reference_is_generated_from_the_public_api():
    page = (DOCS / "reference" / "api.md").read_text()
    assert page == _gen_api().render(), "run `python docs/gen_api.py` and commit"


def test_every_public_name_is_documented_and_every_error_is_a_modisoft_error():
    import inspect

    import modisoft

    names = _gen_api().public_names()
    assert {"open_granule", "decode", "national_grid", "mosaic", "qa_mask", "qa_weights",
            "composite", "smooth", "retrieve_lai", "calibrate", "write_zarr", "write_beps",
            "load_config", "run"} <= {n for n, _ in names}
    undocumented = [n for n, obj in names if not (inspect.getdoc(obj) or "").strip()]
    assert undocumented == []
    errors = [obj for _, obj in names if inspect.isclass(obj) and issubclass(obj, Exception)
              and not issubclass(obj, Warning)]
    assert len(errors) >= 30
    for err in errors[1:]:  # each is a ModisoftError and also the builtin a caller would catch
        assert err is not modisoft.ModisoftError
        assert issubclass(err, modisoft.ModisoftError), err
        assert any(issubclass(err, b) for b in (ValueError, KeyError, OSError)), err
    # every error class modisoft defines is in the one tree and exported
    import modisoft.errors as tree
    defined = {n for n, o in vars(tree).items() if inspect.isclass(o)
               and issubclass(o, (Exception, Warning)) and o.__module__ == tree.__name__
               and not n.startswith("_")}
    assert defined <= set(modisoft.__all__)
    import pkgutil

    elsewhere = []
    for info in pkgutil.walk_packages(modisoft.__path__, "modisoft."):
        if info.name.endswith("__main__"):
            continue  # running it is its whole job
        mod = importlib.import_module(info.name)
        elsewhere += [f"{info.name}.{n}" for n, o in vars(mod).items() if inspect.isclass(o)
                      and issubclass(o, (Exception, Warning)) and o.__module__ == info.name
                      and info.name != tree.__name__]
    assert elsewhere == []  # no error or warning class outside modisoft/errors.py


def test_cluster_how_to_builds_the_slurm_and_pbs_jobs_it_shows(capsys):
    """The dask-jobqueue block of docs/how-to/cluster.md builds both clusters (no batch
    system is needed for that) and their job scripts ask for what the text says: 8 worker
    processes of one thread, 8 GiB each, the queue, account and walltime."""
    import re

    pytest.importorskip("dask_jobqueue")
    code = re.findall(r"```python\n(.*?)```", (DOCS / "how-to" / "cluster.md").read_text(),
                      re.S)[0]
    scope: dict = {}
    try:
        exec(compile(code, "cluster.md", "exec"), scope)
        out = capsys.readouterr().out
    finally:
        for name in ("slurm", "pbs"):
            if name in scope:
                scope[name].close()
    slurm, pbs = out.split("#!/usr/bin/env bash")[1:]
    for script in (slurm, pbs):
        assert re.search(r"--nthreads 1 --memory-limit 8\.00GiB --nworkers 8", script), script
    assert "#SBATCH -p normal" in slurm and "#SBATCH -A carbon" in slurm
    assert "#SBATCH -t 04:00:00" in slurm and "#SBATCH --constraint=cpu" in slurm
    assert "#PBS -l select=1:ncpus=8:mem=64GB" in pbs and "#PBS -l walltime=04:00:00" in pbs
