"""Every command-line example in README.md and docs/ runs, so the docs cannot drift from the CLI.

The examples are the lines of the fenced code blocks marked ``console``, ``bash``, ``sh`` or
``shell`` that start with ``modisoft`` or ``$ modisoft``; a line ending in ``\\`` continues on
the next; the lines after a command that are not commands are its printed output and are
ignored.  Each example runs as written, through ``bash -c`` (globs, ``~``, quotes and
comments as a reader's shell sees them), with a ``modisoft`` on ``PATH`` that runs this
checkout, in a folder prepared so that the relative paths the docs use exist:

* the real granules of ``../shared/sample-data`` linked into the folder (the docs name them
  bare, as if run where they are), ``sample_tiles/`` (its granules linked, ``demo.toml``
  copied, so that the demo's ``../demo_output`` lands in the folder) and ``../shared`` itself;
* the inputs a doc names that no sample file is (``data/``, ``template.tif``, ``stack.zarr``,
  ``sr.nc`` ...), made by the builders of :data:`BUILDERS` when a doc's commands name them;
* ``HOME`` a fresh folder; NASA's archive (``modisoft search``/``download``) replaced by the
  repository's local stand-in, ``tests/archive_server.py``, through ``MODISOFT_CMR_URL`` (the
  variable docs/how-to/download.md documents), with a synthetic ``EARTHDATA_TOKEN``.

The examples of one doc run in its order, in one folder (a tutorial plots what its run
wrote).  Each must exit 0, or the status a comment on its line states (``# exit 3``), and
print no traceback.  The test is parametrized per (doc, line), so a failure names both.
Examples that cannot run here are listed, with the reason, in :data:`SKIP`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE_DIR

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL_BLOCKS = {"console", "bash", "sh", "shell"}
GENERATED = {"docs/reference/cli.md"}  # the commands' --help text (docs/gen_cli.py)
TIMEOUT = 600  # seconds per command

SKIP: dict[tuple[str, int], str] = {
    ("docs/how-to/cluster.md", 103): "needs a dask scheduler and workers started with srun in a "
    "batch job; tests/cli/test_lost_worker.py runs this flow (dask scheduler, dask worker, "
    "modisoft run --scheduler) with processes it starts",
}
"""Examples that cannot run in a test, as ``(doc, line): reason``.  Keep it short: an
example that needs the network or a login runs against ``tests/archive_server.py``."""

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)")
_COMMAND = re.compile(r"^(?:\$[ \t]+)?(?P<command>modisoft[ \t]+[-a-z].*)$")
_EXIT = re.compile(r"#.*\bexit(?:s| status| code)?[ \t]+(?P<code>\d+)")


@dataclass(frozen=True)
class Example:
    """One command of a doc: where it is, the command line (continuations joined, without
    the ``$`` prompt) and the exit status it should end with."""

    doc: str
    line: int
    command: str
    exit_code: int = 0

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass(frozen=True)
class Outcome:
    """What running an example did."""

    returncode: int | None  # None: timed out
    stdout: str
    stderr: str


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """The fenced code blocks of a markdown text: (info string, line number of the first
    line inside, lines with the fence's indentation removed)."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        body, j = [], i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and stripped.strip(fence[0]) == "":
                break
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        out.append((m["info"].lower(), i + 2, body))
        i = j + 1
    return out


def extract_examples(text: str, doc: str) -> list[Example]:
    """The ``modisoft`` commands of the shell blocks of a markdown text (see the module's
    docstring for the rules)."""
    found = []
    for info, first, body in fenced_blocks(text):
        if info not in SHELL_BLOCKS:
            continue
        k = 0
        while k < len(body):
            m = _COMMAND.match(body[k].strip())
            if not m:
                k += 1
                continue
            start, parts = k, [m["command"]]
            while parts[-1].endswith("\\") and k + 1 < len(body):
                parts[-1] = parts[-1][:-1].rstrip()
                k += 1
                parts.append(body[k].strip())
            command = " ".join(parts)
            code = _EXIT.search(command)
            found.append(Example(doc, first + start, command, int(code["code"]) if code else 0))
            k += 1
    return found


def unmarked_commands(text: str) -> list[int]:
    """Lines of ``modisoft`` commands in fenced blocks not marked as shell (they would not be
    run): their line numbers."""
    return [first + k for info, first, body in fenced_blocks(text) if info not in SHELL_BLOCKS
            for k, line in enumerate(body) if _COMMAND.match(line.strip())]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


EXAMPLES = [ex for doc in DOCS for ex in extract_examples(doc.read_text(), _rel(doc))]


# --- running -----------------------------------------------------------------------------
def command_env(home: Path, bin_dir: Path, extra: dict[str, str] | None = None) -> dict:
    """The environment of the examples: this checkout's ``modisoft`` first on ``PATH``, a
    fresh ``HOME`` and no Earthdata login of the machine's."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "modisoft"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m modisoft "$@"\n')
    shim.chmod(0o755)
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EARTHDATA_", "MODISOFT_", "NETRC", "PYTEST"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", HOME=str(home),
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(":"),
               MPLBACKEND="Agg", **(extra or {}))
    return env


def run_example(example: Example, cwd: Path, env: dict) -> Outcome:
    """Run one example's command line with bash in ``cwd``."""
    try:
        p = subprocess.run(["bash", "-c", example.command], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, str(exc.stdout or ""), str(exc.stderr or ""))
    return Outcome(p.returncode, p.stdout, p.stderr)


def problem(example: Example, outcome: Outcome) -> str | None:
    """What is wrong with an example's outcome (None: nothing), naming the doc and line."""
    where = f"{example.id}: `{example.command}`"
    tail = f"\n--- stdout:\n{outcome.stdout[-2000:]}\n--- stderr:\n{outcome.stderr[-3000:]}"
    if outcome.returncode is None:
        return f"{where} did not finish within {TIMEOUT} s{tail}"
    if outcome.returncode != example.exit_code:
        return f"{where} exited {outcome.returncode}, the doc expects {example.exit_code}{tail}"
    if "Traceback (most recent call last)" in outcome.stdout + outcome.stderr:
        return f"{where} printed a traceback{tail}"
    return None


# --- inputs the docs name ----------------------------------------------------------------
def _china_granules(work: Path) -> None:
    """``data/``: 2 **synthetic** MCD15A2H 061 granules of China (h26v05, h27v05) dated
    2020-001, made by ``benchmarks/china_synth.py`` from the real 2012-001 h17v03 granule
    (its pixels, relabelled with a China tile's georeferencing and the 2020 date; each file
    says so in ``SYNTHETIC_NOTE``/``SYNTHETIC_SOURCE``)."""
    synth = sys.modules.get("china_synth")  # as tests/acquire/test_run_download.py loads it
    if synth is None:
        spec = importlib.util.spec_from_file_location("china_synth",
                                                      ROOT / "benchmarks" / "china_synth.py")
        synth = importlib.util.module_from_spec(spec)
        sys.modules["china_synth"] = synth  # its dataclasses look their module up
        spec.loader.exec_module(synth)
    real = synth.find_sources(SAMPLE_DIR)[0]
    source = synth.SourceGranule(real.path, dt.date(2020, 1, 1), "2020010120000")
    (work / "data").mkdir()
    for tile in ((26, 5), (27, 5)):
        synth.write_synth_file(synth.SynthFile(tile, source, "061"), work / "data")


def _template(work: Path) -> None:
    """``template.tif``: an empty uint8 GeoTIFF (written here) on a 300 x 200 km window of
    the 1 km China Albers grid around 115° E 35° N, inside the tiles of ``data/``."""
    import rasterio
    from pyproj import Transformer

    from modisoft.grids import national_grid

    grid = national_grid("china_albers_1km")
    x, y = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(115.0, 35.0)
    col, row = (int(v) for v in ~grid.transform @ (x, y))
    sub = grid[row - 100:row + 100, col - 150:col + 150]
    with rasterio.open(work / "template.tif", "w", driver="GTiff", width=sub.width,
                       height=sub.height, count=1, dtype="uint8", transform=sub.transform,
                       crs=rasterio.crs.CRS.from_wkt(sub.crs.to_wkt())) as dst:
        dst.write(np.zeros((1, sub.height, sub.width), "uint8"))


def _lai_stack(work: Path) -> None:
    """``stack.zarr``: the stack of docs/how-to/time-series.md (``lai`` and its ``good_lai``
    weights ``w``), built as that page builds it, from the 16 real h17v03 granules of
    ``sample_tiles/``."""
    import xarray as xr

    import modisoft

    lai, qc = [], []
    for f in sorted((ROOT / "sample_tiles").glob("MCD15A2.A2012*.h17v03.005.*.hdf")):
        ds = modisoft.open_granule(f, ["Lai_1km", "FparLai_QC"])
        t = np.datetime64(ds.attrs["start_date"], "ns")
        lai.append(modisoft.decode(ds).Lai_1km.expand_dims(time=[t]))
        qc.append(ds.FparLai_QC.expand_dims(time=[t]))
    q = xr.concat(qc, "time").astype("uint8")
    w = ((q != 255) & ((q >> 5) <= 1) & (((q >> 3) & 3) == 0)).astype("float32")
    xr.Dataset({"lai": xr.concat(lai, "time"), "w": w}).to_zarr(work / "stack.zarr",
                                                                consolidated=False)


def _calibration_set(work: Path) -> None:
    """``mod15.nc``, ``cover.nc``, ``sr.nc``, ``retrieved.nc`` of docs/how-to/lai-retrieval.md
    on one grid and dates: the real MOD15A2H LAI and MCD12Q1 cover of the Arcachon sample
    (``lai`` = stored value x 0.1 where not a fill class, ``qa_weight`` 1 where it is a
    value), and **synthetic** ``SR`` (an exponential curve of that LAI with 5 % noise) and
    ``retrieved`` LAI (1.1 x the reference + noise)."""
    import xarray as xr

    src = xr.open_dataset(SAMPLE_DIR / "arcachon_MOD15A2H_Lai500m_MCD12Q1_LCType1_2004_81x81.nc")
    lai = (src.Lai_500m.where(src.Lai_500m <= 100) * 0.1).astype("float32")
    rng = np.random.default_rng(2004)
    xr.Dataset({"lai": lai, "qa_weight": lai.notnull().astype("float32")}).to_netcdf(
        work / "mod15.nc")
    xr.Dataset({"cover": src.LC_Type1.fillna(255).astype("uint8")}).to_netcdf(
        work / "cover.nc")
    sr = (15 - 14 * np.exp(-0.45 * lai)) * np.exp(rng.normal(0, 0.05, lai.shape))
    xr.Dataset({"SR": sr.astype("float32")}).to_netcdf(work / "sr.nc")
    retrieved = (lai * 1.1 + rng.normal(0, 0.3, lai.shape)).clip(0)
    xr.Dataset({"lai": retrieved.astype("float32")}).to_netcdf(work / "retrieved.nc")


def _avhrr_stack(work: Path) -> None:
    """``stack.nc`` of docs/how-to/lai-retrieval.md: **synthetic** 8-day AVHRR SR and MODIS
    LAI of 6 x 8 pixels, 1998-2007, MODIS LAI only from 2000-02-18 on, LAI = 0.3 + 0.4 SR
    plus noise."""
    import xarray as xr

    rng = np.random.default_rng(1998)
    t = np.arange("1998-01-01", "2008-01-01", 8, dtype="datetime64[D]").astype("datetime64[ns]")
    season = 1.5 * np.sin(2 * np.pi * np.arange(t.size) / 46)[:, None, None]
    lai = 2 + season + rng.uniform(0, 1, (1, 6, 8))
    sr = (lai - 0.3) / 0.4 + rng.normal(0, 0.2, (t.size, 6, 8))
    lai = np.where(t[:, None, None] >= np.datetime64("2000-02-18"), lai, np.nan)
    dims = ("time", "y", "x")
    xr.Dataset({"sr_avhrr": (dims, sr.astype("float32")),
                "lai_modis": (dims, lai.astype("float32"))},
               coords={"time": t}).to_netcdf(work / "stack.nc")


def _record_example(work: Path) -> None:
    """``record_example/``: the **synthetic** segments, cover layer and ``record.toml`` of
    docs/how-to/long-record.md, written by ``docs/examples/record_segments.py`` (as the page
    runs it) from the real MCD15A2 pixels of ``sample_tiles/``."""
    spec = importlib.util.spec_from_file_location(
        "record_segments", ROOT / "docs" / "examples" / "record_segments.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.write_example(work / "record_example")


def _viirs_demo(work: Path) -> None:
    """``sample_tiles/viirs_synthetic/`` of ``sample_tiles/demo_viirs.toml``: the 32
    **synthetic** VNP15A2H granules ``scripts/synth_viirs.py`` writes from the real MCD15A2
    pixels of ``sample_tiles/`` (what ``python scripts/synth_viirs.py`` does before the
    docs' ``modisoft run sample_tiles/demo_viirs.toml``)."""
    from conftest import synth_viirs

    out = work / "sample_tiles" / "viirs_synthetic"
    if out.is_symlink():  # a checkout where the demo ran: write this folder's own
        out.unlink()
    synth_viirs().make_demo(out)


BUILDERS = {
    "data/": _china_granules,
    "template.tif": _template,
    "stack.zarr": _lai_stack,
    "mod15.nc": _calibration_set,
    "stack.nc": _avhrr_stack,
    "record_example/record.toml": _record_example,
    "sample_tiles/demo_viirs.toml": _viirs_demo,
}
"""Inputs the docs name that are not sample files, by the name a command uses."""


def prepare(folder: Path, examples: list[Example]) -> Path:
    """A working folder in ``folder`` for a doc's examples (see the module's docstring);
    returns it."""
    shutil.rmtree(folder, ignore_errors=True)  # what an earlier, failed preparation left
    work = folder / "work"
    work.mkdir(parents=True)
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (folder / "shared").symlink_to(shared, target_is_directory=True)
    if SAMPLE_DIR.is_dir():
        for f in SAMPLE_DIR.iterdir():
            (work / f.name).symlink_to(f)
    tiles = work / "sample_tiles"
    tiles.mkdir()
    for f in (ROOT / "sample_tiles").iterdir():
        if f.suffix in (".toml", ".md"):
            shutil.copy(f, tiles / f.name)  # a config's relative paths: this folder's
        else:
            (tiles / f.name).symlink_to(f)
    text = "\n".join(ex.command for ex in examples)
    for name, build in BUILDERS.items():
        if re.search(rf"(?<![\w./-]){re.escape(name)}(?![\w])", text):
            build(work)
    return work


class DocRun:
    """A doc's examples run in its order in one prepared folder; each result is kept."""

    def __init__(self, folder: Path, examples: list[Example], env: dict) -> None:
        self.examples = examples
        self.work = prepare(folder, examples)
        self.env = env
        self.outcomes: dict[int, Outcome] = {}

    def outcome(self, example: Example) -> Outcome:
        """The outcome of ``example``, running the doc's earlier examples first."""
        for ex in self.examples:
            if ex.line not in self.outcomes and (ex.doc, ex.line) not in SKIP:
                self.outcomes[ex.line] = run_example(ex, self.work, self.env)
            if ex == example:
                return self.outcomes[ex.line]
        raise KeyError(example.id)


@pytest.fixture(scope="module")
def archive():
    """The local stand-in for NASA's archive: 2 China tiles x 2 dates of MOD15A2H 061 in
    2020, each file a few **synthetic** bytes (downloads are verified against their MD5)."""
    from archive_server import Archive, Entry

    entries = [Entry(f"MOD15A2H.A2020{d:03d}.{t}.061.2021010040310.hdf",
                     data=f"synthetic stand-in for {t} 2020-{d:03d}\n".encode())
               for d in (1, 9) for t in ("h26v05", "h27v05")]
    with Archive(entries) as a:
        yield a


@pytest.fixture(scope="module")
def doc_runs(tmp_path_factory, archive):
    """``doc -> DocRun``, made on first use."""
    root = tmp_path_factory.mktemp("docs_examples")
    env = command_env(root / "home", root / "bin", {
        "MODISOFT_CMR_URL": archive.cmr_url, "EARTHDATA_TOKEN": "synthetic-test-token",
        "NETRC": str(root / "home" / ".netrc")})
    runs: dict[str, DocRun] = {}

    def get(doc: str) -> DocRun:
        if doc not in runs:
            examples = [ex for ex in EXAMPLES if ex.doc == doc]
            runs[doc] = DocRun(root / re.sub(r"\W", "_", doc), examples, env)
        return runs[doc]

    return get


# --- tests -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("example", [  # a doc's examples run in order in one test process
    pytest.param(ex, id=ex.id, marks=pytest.mark.xdist_group(f"docs-examples:{ex.doc}"))
    for ex in EXAMPLES])
def test_doc_example_runs(example, doc_runs):
    if (example.doc, example.line) in SKIP:
        pytest.skip(SKIP[example.doc, example.line])
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"{SAMPLE_DIR} (the real granules the docs name) is not present")
    run = doc_runs(example.doc)
    failure = problem(example, run.outcome(example))
    assert failure is None, failure


def test_the_docs_have_examples_of_every_command_and_the_skips_are_current():
    """The extractor finds the examples of the docs that have them, of every command that
    has an example; a skip names an example that still exists."""
    docs = {ex.doc for ex in EXAMPLES}
    assert {"docs/how-to/download.md", "docs/how-to/mosaic.md", "docs/how-to/qa-masks.md",
            "docs/how-to/time-series.md", "docs/tutorials/national-run.md",
            "docs/how-to/lai-retrieval.md"} <= docs
    verbs = {ex.command.split()[1] for ex in EXAMPLES}
    assert {"run", "plot", "mosaic", "qa", "smooth", "search", "download", "lai"} <= verbs
    assert set(SKIP) <= {(ex.doc, ex.line) for ex in EXAMPLES}


def test_no_command_hides_in_a_block_that_is_not_run():
    """A ``modisoft`` command in a fenced block not marked console/bash/sh/shell would never
    be run: there is none (the generated --help text of cli.md aside)."""
    hidden = {_rel(doc): unmarked_commands(doc.read_text()) for doc in DOCS
              if _rel(doc) not in GENERATED}
    assert {doc: lines for doc, lines in hidden.items() if lines} == {}


SYNTHETIC_DOC = """\
# A synthetic page

```console
$ modisoft plot --no-such-option x.zarr --out plots/
Usage: ...
$ gdalinfo x.tif
```

  ```bash
  # indented under a list item; a continuation; a stated exit status
  modisoft mosaic a.hdf \\
      --layer Lai_1km -o x.tif   # exits 3
  ```

```python
modisoft = 1
```

```
modisoft qa hidden.hdf
```
"""


def test_extractor_reads_prompts_continuations_output_and_exit_codes():
    """On a synthetic page: the prompt is dropped, the output and other tools' lines are
    left out, a continuation is joined, ``# exits 3`` is the expected status, blocks not
    marked as shell are not run, and an unmarked command is reported."""
    assert extract_examples(SYNTHETIC_DOC, "synthetic.md") == [
        Example("synthetic.md", 4, "modisoft plot --no-such-option x.zarr --out plots/", 0),
        Example("synthetic.md", 11, "modisoft mosaic a.hdf --layer Lai_1km -o x.tif   # exits 3",
                3),
    ]
    assert unmarked_commands(SYNTHETIC_DOC) == [20]


def test_a_broken_example_fails(tmp_path):
    """The extractor and runner report a failure, naming the doc and the line, for a
    misspelled option: on a synthetic page, and on a copy of docs/how-to/qa-masks.md with
    ``--mask`` misspelled (the real granule it names is there)."""
    env = command_env(tmp_path / "home", tmp_path / "bin")
    (ex, _) = extract_examples(SYNTHETIC_DOC, "synthetic.md")
    failure = problem(ex, run_example(ex, tmp_path, env))
    assert failure is not None
    assert failure.startswith("synthetic.md:4: `modisoft plot --no-such-option")
    assert "exited 2, the doc expects 0" in failure and "No such option" in failure

    doc = ROOT / "docs" / "how-to" / "qa-masks.md"
    broken = doc.read_text().replace("--mask good_lai", "--mask-rule good_lai")
    (ex,) = [e for e in extract_examples(broken, "docs/how-to/qa-masks.md")
             if "--mask-rule" in e.command]
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"{SAMPLE_DIR} is not present")
    work = prepare(tmp_path / "qa", [ex])
    failure = problem(ex, run_example(ex, work, env))
    assert failure is not None and failure.startswith("docs/how-to/qa-masks.md:")
    assert "exited 2" in failure and "--mask-rule" in failure
    # (the line as the doc has it runs in test_doc_example_runs)


def test_a_traceback_fails_even_with_the_expected_exit_status(tmp_path):
    """An example whose exit status is as stated but which printed a traceback fails."""
    ex = Example("synthetic.md", 1, "modisoft --version   # exit 0")
    out = Outcome(0, "", "Traceback (most recent call last):\n  ...\nValueError: x\n")
    assert "printed a traceback" in (problem(ex, out) or "")
    assert problem(ex, Outcome(0, "modisoft 1.0\n", "")) is None
