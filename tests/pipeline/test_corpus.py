"""The bad-input corpus (issue 18, item 9): every damaged input of ``tests/corpus.py`` is opened
with ``open_granule`` and fed to a small national run, each in its own Python process, so that
a segfault, an abort or a hang is an observed outcome rather than the end of the test session.

* ``test_open_granule_on_every_case``: ``open_granule(target)`` and reading every layer; an
  ``error`` case must raise a ``ModisoftError`` subclass naming the file; nothing may crash,
  hang (60 s) or end in the traceback of another exception.
* ``test_small_run_per_case``: ``python -m modisoft run run.toml`` over three good granules and
  the case's input (2 dates x 2 tiles, a 30 x 20 grid, zarr only, no cluster); a damaged input
  must be recorded in the manifest's ``failures`` with exit code 3 and the good inputs' outputs
  written; never exit 0 when an input failed, never a traceback.
* ``test_corpus_summary``: the cases by outcome, with counts; zero tracebacks, hangs, crashes
  and exit-0-with-failed-inputs.

How each case runs. A fresh ``python -c ...`` / ``python -m modisoft run`` per case spends
~2 s of its ~3 s importing scipy, xarray, dask and zarr, which made the whole corpus take 9
minutes on two shared cores. So by default each case runs in a child **forked** from a
long-lived server process (``python -c SERVER``) that has imported every modisoft module and
nothing else (no file opened, no cache filled): the child is still its own process (a
segfault kills only it and is seen as a signal; the server kills it with SIGKILL after the
timeout), it runs the same code (``modisoft.cli.main.main(["run", cfg])`` is what
``python -m modisoft run cfg`` calls), and its stdout/stderr go to files in the case folder.
``MODISOFT_CORPUS_FRESH=1`` runs every case in a fresh interpreter instead, exactly
``subprocess.run([sys.executable, "-c", ...])`` and ``[sys.executable, "-m", "modisoft", "run",
cfg]``: slower, the same outcomes. Every child gets a 4 GiB address-space limit
(``RLIMIT_AS``; a normal run peaks near 1.1 GB), so a reader that allocates for 1e9 declared
pixels fails with a ``MemoryError`` here instead of taking 8 GB from the shared machine.

Environment: ``MODISOFT_CORPUS_CASES=name,prefix*`` runs a subset, ``MODISOFT_CORPUS_JOBS``
sets the number of cases run at once (default 2), ``MODISOFT_CORPUS_FRESH=1`` as above.
"""

from __future__ import annotations

import fnmatch
import json
import os
import queue
import re
import select
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from corpus import CASES, Built, Case, make_case, run_config

import modisoft.errors

# Its tests share a module fixture: one test process runs them all (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("pipeline/test_corpus")

ROOT = Path(__file__).resolve().parents[2]
OPEN_TIMEOUT = 60
RUN_TIMEOUT = 60
JOBS = max(1, int(os.environ.get("MODISOFT_CORPUS_JOBS", "2")))
FRESH = os.environ.get("MODISOFT_CORPUS_FRESH", "") not in ("", "0")
MEMORY_LIMIT = 4 * 2**30
TRACEBACK = "Traceback (most recent call last)"
MODISOFT_ERRORS = set(modisoft.errors.__all__)

# Run in a fresh interpreter: open the target, read every layer. A ModisoftError is reported
# as data; any other exception is left to print its traceback.
OPEN_SCRIPT = r"""
import json, sys, warnings
import modisoft
path = sys.argv[1]
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        ds = modisoft.open_granule(path)
        names = list(ds.data_vars)
        for name in names:
            ds[name].values
        out = {"status": "opened", "layers": names}
    except modisoft.ModisoftError as exc:
        out = {"status": "raised", "type": type(exc).__name__,
               "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}
out["warnings"] = sorted({f"{w.category.__name__}: {w.message}"[:300] for w in caught})
print("CORPUS-RESULT " + json.dumps(out))
"""


@dataclass
class Outcome:
    """What one case did in one of the two tests."""

    case: str
    status: str  # see classify_open / classify_run
    passed: bool
    detail: str
    seconds: float
    returncode: int | None = None
    traceback: bool = False
    hang: bool = False
    crash: bool = False
    exit0_failed_input: bool = False
    foreign: bool = False  # a non-ModisoftError ended the run (the CLI printed one line)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8:surrogateescape"}


def _selected() -> list[Case]:
    pattern = os.environ.get("MODISOFT_CORPUS_CASES")
    if not pattern:
        return list(CASES)
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    return [c for c in CASES if any(fnmatch.fnmatch(c.name, p) for p in pats)]


# A long-lived process that has imported modisoft and its libraries (imports only: no file
# opened, no cache filled, no thread started); per job it forks a child that runs one case
# with its stdout/stderr in files, and answers one JSON line: exit code (negative: the
# signal), whether it was killed for the timeout, seconds.
SERVER = r"""
import importlib, json, os, pkgutil, resource, signal, sys, time, traceback
import modisoft
names = [i.name for i in pkgutil.walk_packages(modisoft.__path__, "modisoft.")
         if not i.name.endswith("__main__")]
# the libraries modisoft imports inside functions (what a run would import on first use)
names += ["xarray", "dask.array", "dask.threaded", "distributed", "zarr", "numcodecs", "h5py",
          "pyhdf.SD", "rasterio", "pandas", "pyproj", "scipy.signal", "scipy.fftpack"]
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        pass
from modisoft.cli.main import main
OPEN = sys.argv[1]

def child(job):
    resource.setrlimit(resource.RLIMIT_AS, (job["memory"], job["memory"]))
    os.chdir(job["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    code = 0
    try:
        if job["kind"] in ("open", "code"):
            code_text = OPEN if job["kind"] == "open" else job["arg"]
            sys.argv = ["-c", job["arg"]]
            exec(compile(code_text, "<string>", "exec"), {"__name__": "__main__"})
        else:
            main(args=job["args"], prog_name="modisoft")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)

for line in sys.stdin:
    job = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(job)
    killed = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - t0 > job["timeout"]:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            killed = True
            break
        time.sleep(0.01)
    print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "killed": killed,
                      "secs": time.monotonic() - t0}), flush=True)
"""


class ForkServer:
    """One :data:`SERVER` process; :meth:`run` runs one job in a forked child."""

    def __init__(self, log: Path):
        self.log = log
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVER, OPEN_SCRIPT], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, env=_env(), cwd=ROOT, text=True,
                encoding="utf-8", errors="surrogateescape")

    def run(self, job: dict) -> tuple[int | None, float] | None:
        """``(exit code or None when killed for the timeout, seconds)``; ``None`` when the
        server itself died (it is restarted for the next job)."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], job["timeout"] + 120)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            return None
        res = json.loads(line)
        return (None if res["killed"] else res["rc"]), res["secs"]

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


# Fresh mode: set the memory limit, then become ``python <args>`` (``execv`` keeps rlimits;
# subprocess's ``preexec_fn`` is not safe with the threads that run cases side by side).
LIMIT_THEN_EXEC = (
    "import os, resource, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT})); "
    "os.execv(sys.executable, [sys.executable] + sys.argv[1:])"
)


def _exec(server: ForkServer | None, kind: str, arg, cwd: Path, timeout: float
          ) -> tuple[int | None, str, str, float]:
    """Run one case; ``(exit code or None on timeout, stdout, stderr, seconds)``. ``kind``:
    ``"open"`` (``arg``: the target path), ``"run"`` (``arg``: the config) or ``"code"``
    (``arg``: Python source; the harness's own check)."""
    if server is None:  # a fresh interpreter: python -c OPEN_SCRIPT path / -m modisoft run
        args = {"open": ["-c", OPEN_SCRIPT, os.fsencode(arg)],
                "run": ["-m", "modisoft", "run", str(arg)], "code": ["-c", arg]}[kind]
        t0 = time.perf_counter()
        try:
            res = subprocess.run([sys.executable, "-c", LIMIT_THEN_EXEC, *args], cwd=cwd,
                                 env=_env(), capture_output=True, timeout=timeout)
            rc, out, err = res.returncode, res.stdout, res.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = None, exc.stdout or b"", exc.stderr or b""
        secs = time.perf_counter() - t0
        return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), secs
    out_path, err_path = cwd / f"{kind}.stdout", cwd / f"{kind}.stderr"
    job = {"kind": kind, "cwd": str(cwd), "timeout": timeout, "memory": MEMORY_LIMIT,
           "stdout": str(out_path), "stderr": str(err_path)}
    if kind == "run":
        job["args"] = ["run", str(arg)]
    else:
        job["arg"] = os.fspath(arg)
    res = server.run(job)
    def read(p: Path) -> str:
        return p.read_bytes().decode("utf-8", "replace") if p.exists() else ""

    if res is None:
        return -signal.SIGKILL, read(out_path), "the corpus fork server died\n" + \
            read(err_path), 0.0
    rc, secs = res
    return rc, read(out_path), read(err_path), secs


def _signal_name(rc: int) -> str:
    try:
        return signal.Signals(-rc).name
    except ValueError:
        return f"signal {-rc}"


def _traceback_summary(text: str) -> str:
    """The exception line and the innermost frames of the last traceback in ``text``."""
    tail = text[text.rfind(TRACEBACK):].splitlines()
    frames = [ln.strip() for ln in tail if ln.strip().startswith("File ")][-2:]
    last = next((ln for ln in reversed(tail) if ln.strip() and not ln.startswith(" ")), "?")
    return f"{last.strip()[:240]} [at {' <- '.join(reversed(frames))[:300]}]"


def _names(message: str, target: Path) -> bool:
    text = os.fsdecode(os.fspath(target))
    return text in message or os.path.basename(text) in message


def classify_open(case: Case, built: Built, rc, out: str, err: str, secs: float) -> Outcome:
    """Statuses: ``clear error`` (a ModisoftError naming the file), ``error without the file
    name``, ``opened``, ``traceback``, ``hang``, ``crash``, ``died``."""
    if rc is None:
        return Outcome(case.name, "hang", False, f"no answer in {OPEN_TIMEOUT} s", secs,
                       hang=True)
    if rc < 0:
        return Outcome(case.name, "crash", False, f"killed by {_signal_name(rc)}; "
                       f"{err.strip()[-200:]}", secs, rc, crash=True)
    if TRACEBACK in err or TRACEBACK in out:
        return Outcome(case.name, "traceback", False, _traceback_summary(err + out), secs, rc,
                       traceback=True)
    line = next((ln for ln in out.splitlines() if ln.startswith("CORPUS-RESULT ")), None)
    if line is None:
        return Outcome(case.name, "died", False, f"exit {rc} without a result: "
                       f"{(err or out).strip()[-200:]}", secs, rc)
    res = json.loads(line[len("CORPUS-RESULT "):])
    warn = f" (warnings: {'; '.join(res['warnings'])[:200]})" if res["warnings"] else ""
    if res["status"] == "opened":
        status, detail = "opened", f"opened, {len(res['layers'])} layer(s) read{warn}"
    else:
        named = _names(res["message"], built.target)
        status = "clear error" if named else "error without the file name"
        detail = f"{res['type']}: {res['message'][:220]}"
    want = case.open_expect
    ok = (status == "clear error" if want == "raise" else status == "opened" if want == "ok"
          else status in ("clear error", "opened"))
    return Outcome(case.name, status, ok, detail, secs, rc)


def _manifest(built: Built) -> dict:
    path = built.run_dir / "out" / "modisoft-run.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _store(built: Built) -> dict:
    """The attributes of the run's Zarr store (zarr v3 ``zarr.json`` or v2 ``.zattrs``)."""
    store = built.run_dir / "out" / "lai.zarr"
    for name in ("zarr.json", ".zattrs"):
        try:
            data = json.loads((store / name).read_text())
        except (OSError, ValueError):
            continue
        return data.get("attributes", data)
    return {}


def classify_run(case: Case, built: Built, rc, out: str, err: str, secs: float) -> Outcome:
    """Statuses: ``recorded and continued``, ``ok``, ``exit 0 with a failed input``,
    ``aborted by a <non-ModisoftError>`` (the CLI's handler turned it into one line),
    ``aborted (exit N)``, ``exit 3 ...``, ``traceback``, ``hang``, ``crash``."""
    if rc is None:
        return Outcome(case.name, "hang", False, f"no end in {RUN_TIMEOUT} s", secs, hang=True)
    if rc < 0:
        return Outcome(case.name, "crash", False, f"killed by {_signal_name(rc)}; "
                       f"{err.strip()[-200:]}", secs, rc, crash=True)
    text = out + "\n" + err
    manifest = _manifest(built)
    failures = manifest.get("failures", [])
    failed_files = [f.get("file", "") for f in failures]
    named = any(_names(f, built.target) for f in failed_files)
    attrs = _store(built)
    complete = attrs.get("modisoft_status") == "complete" and "zarr" in manifest.get("done", [])
    try:
        used = [g.get("path", "") for g in json.loads(attrs["modisoft_provenance"])["granules"]]
    except (KeyError, TypeError, ValueError):
        used = []
    goods_used = all(any(u.endswith(g) for u in used) for g in case.goods)
    expect = case.run_expect
    if TRACEBACK in text:
        return Outcome(case.name, "traceback", False, f"exit {rc}: {_traceback_summary(text)}",
                       secs, rc, traceback=True, exit0_failed_input=rc == 0 and (
                           bool(failures) or expect == "failed"))
    last = next((ln for ln in reversed(err.splitlines()) if ln.strip()), "")
    m = re.search(r"^modisoft: error: ([A-Z]\w*): ", err, re.M)
    foreign = bool(m) and m[1] not in MODISOFT_ERRORS  # the handler names other exceptions
    fails = f"failures: {[os.path.basename(f) for f in failed_files]}" if failures else \
        "no failures recorded"
    if rc == 0 and (failures or expect == "failed"):
        return Outcome(case.name, "exit 0 with a failed input", False,
                       f"exit 0; {fails}; target used: "
                       f"{any(_names(u, built.target) for u in used)}", secs, rc,
                       exit0_failed_input=True)
    if rc == 3 and named and complete:
        status = "recorded and continued"
    elif rc == 0 and complete:
        status = "ok"
    elif rc == 3 and complete and not failures and expect == "incomplete":
        status = "incomplete, tile-date reported missing"
    elif rc == 3:
        status = "exit 3, " + ("outputs incomplete" if not complete else
                               "the input not named in failures")
    elif foreign:
        status = f"aborted by a {m[1]}"
    else:
        status = f"aborted (exit {rc})"
    detail = f"exit {rc}; {fails}"
    if status.startswith("aborted") or foreign:
        detail += f"; {last[:240]}"
    problems = []
    if not goods_used and complete:
        problems.append("the good inputs are not all in the provenance")
    if expect == "failed":
        passed = status == "recorded and continued" and goods_used
    elif expect == "incomplete":
        passed = rc == 3 and complete and not failures and goods_used
        if case.note and not re.search(case.note, text):
            problems.append(f"no note matching {case.note!r} in the output")
            passed = False
    else:
        passed = status == "ok" and goods_used
        if case.note and not re.search(case.note, text):
            problems.append(f"no note matching {case.note!r} in the output")
            passed = False
    if problems:
        detail += "; " + "; ".join(problems)
    return Outcome(case.name, status, passed and not foreign, detail, secs, rc, foreign=foreign)


# --------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, tuple[Case, Built]]:
    """Every selected case written into its own folder (seeded: the same bytes each time)."""
    root = tmp_path_factory.mktemp("corpus")
    t0 = time.perf_counter()
    built = {}
    for case in _selected():
        try:
            built[case.name] = (case, make_case(case, root))
        except FileNotFoundError as exc:  # ../shared/sample-data absent
            missing = root / case.name
            built[case.name] = (replace(case, skip=f"source missing: {exc.filename}"),
                                Built(missing / "in", missing / "in" / "none", missing))
    print(f"\ncorpus: {len(built)} cases written under {root} in "
          f"{time.perf_counter() - t0:.1f} s")
    yield built
    for _case, b in built.values():  # let the tmp cleanup remove mode-000 files
        for p in b.folder.rglob("*"):
            if not p.is_symlink() and p.is_file():
                os.chmod(p, 0o644)


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """:data:`JOBS` fork servers (none with ``MODISOFT_CORPUS_FRESH=1``), shared by the
    tests; each thread of the pool takes one for the length of a case."""
    pool: queue.Queue = queue.Queue()
    log = tmp_path_factory.mktemp("corpus-servers") / "server.log"
    made = [ForkServer(log) for _ in range(JOBS)] if not FRESH else [None] * JOBS
    for server in made:
        pool.put(server)
    yield pool
    for server in made:
        if server is not None:
            server.close()


def _run_all(items, servers: queue.Queue, work) -> tuple[dict[str, Outcome], float]:
    def one(item):
        case, built = item
        if case.skip:
            return Outcome(case.name, "skipped", True, case.skip, 0.0)
        server = servers.get()
        try:
            return work(server, case, built)
        finally:
            servers.put(server)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(JOBS) as pool:
        done = list(pool.map(one, items))
    return ({c.name: o for (c, _b), o in zip(items, done, strict=True)},
            time.perf_counter() - t0)


@pytest.fixture(scope="session")
def open_outcomes(corpus, servers) -> tuple[dict[str, Outcome], float]:
    def work(server, case: Case, built: Built) -> Outcome:
        res = _exec(server, "open", built.target, built.run_dir, OPEN_TIMEOUT)
        return classify_open(case, built, *res)

    return _run_all(list(corpus.values()), servers, work)


@pytest.fixture(scope="session")
def run_outcomes(corpus, servers) -> tuple[dict[str, Outcome], float]:
    def work(server, case: Case, built: Built) -> Outcome:
        res = _exec(server, "run", run_config(built, case.name), built.run_dir, RUN_TIMEOUT)
        return classify_run(case, built, *res)

    return _run_all(list(corpus.values()), servers, work)


def _table(title: str, corpus, outcomes: dict[str, Outcome], expect) -> str:
    rows = [f"\n{title}",
            f"{'case':34} {'cat':8} {'expect':6} {'status':28} {'pass':4} {'s':>5}  detail"]
    for name, (case, _b) in corpus.items():
        o = outcomes[name]
        rows.append(f"{name:34} {case.category:8} {expect(case):6} {o.status:28} "
                    f"{'yes' if o.passed else 'NO':4} {o.seconds:5.1f}  {o.detail}")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------ tests
def test_corpus_has_at_least_60_labelled_cases():
    assert len(CASES) >= 60
    for case in CASES:
        assert "synthetic-from-real" in case.description, case.name
        assert case.category in ("error", "recorded", "ok"), case.name
        assert case.open_expect in ("raise", "ok", "any")
        assert case.run_expect in ("failed", "ok", "incomplete")


def test_the_harness_sees_crashes_hangs_and_tracebacks(servers, tmp_path):
    """The corpus tests can only report what the harness sees: a segfault, a hang, an
    uncaught exception and a clean exit, each in its own child, in the current mode."""
    server = servers.get()
    try:
        crash = _exec(server, "code", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
                      tmp_path, 30)
        hang = _exec(server, "code", "import time; time.sleep(60)", tmp_path, 2)
        tb = _exec(server, "code", "raise KeyError('boom')", tmp_path, 30)
        clean = _exec(server, "code", "import sys; print('fine'); sys.exit(3)", tmp_path, 30)
    finally:
        servers.put(server)
    assert crash[0] == -signal.SIGSEGV
    assert hang[0] is None and hang[3] < 30
    assert tb[0] == 1 and TRACEBACK in tb[2] and "KeyError: 'boom'" in tb[2]
    assert clean[0] == 3 and clean[1].strip() == "fine"


def test_open_granule_on_every_case(corpus, open_outcomes):
    outcomes, secs = open_outcomes
    print(_table("open_granule + read every layer, one process per case", corpus, outcomes,
                 lambda c: c.open_expect))
    print(f"{len(outcomes)} cases in {secs:.1f} s ({JOBS} at a time)")
    bad = [f"{n}: {o.status}: {o.detail}" for n, o in outcomes.items() if not o.passed]
    assert not bad, f"{len(bad)} of {len(outcomes)} cases:\n" + "\n".join(bad)


def test_small_run_per_case(corpus, run_outcomes):
    outcomes, secs = run_outcomes
    print(_table("modisoft run over 3 good granules + the case, one process per case", corpus,
                 outcomes, lambda c: c.run_expect))
    print(f"{len(outcomes)} runs in {secs:.1f} s ({JOBS} at a time)")
    bad = [f"{n}: {o.status}: {o.detail}" for n, o in outcomes.items() if not o.passed]
    assert not bad, f"{len(bad)} of {len(outcomes)} cases:\n" + "\n".join(bad)


def test_corpus_summary(corpus, open_outcomes, run_outcomes):
    opened, runs = open_outcomes[0], run_outcomes[0]
    lines = ["", "corpus summary: cases by outcome"]
    for label, outcomes in (("open_granule", opened), ("run", runs)):
        by: dict[str, list[str]] = {}
        for name, o in outcomes.items():
            by.setdefault(o.status, []).append(name)
        lines.append(f"{label}:")
        for status, names in sorted(by.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"  {status:30} {len(names):3}  {', '.join(names)}")
    counts = {
        "tracebacks": [f"{k}:{n}" for k, oc in (("open", opened), ("run", runs))
                       for n, o in oc.items() if o.traceback],
        "hangs": [f"{k}:{n}" for k, oc in (("open", opened), ("run", runs))
                  for n, o in oc.items() if o.hang],
        "crashes": [f"{k}:{n}" for k, oc in (("open", opened), ("run", runs))
                    for n, o in oc.items() if o.crash],
        "exit-0-with-failed-inputs": [n for n, o in runs.items() if o.exit0_failed_input],
        "runs ended by a non-ModisoftError (a traceback behind the CLI's one-line handler)":
            [n for n, o in runs.items() if o.foreign],
    }
    passed = sum(o.passed for o in opened.values()), sum(o.passed for o in runs.values())
    lines.append(f"as expected: open {passed[0]}/{len(opened)}, run {passed[1]}/{len(runs)}")
    for key, names in counts.items():
        lines.append(f"{key}: {len(names)}" + (f" ({', '.join(names)})" if names else ""))
    print("\n".join(lines))
    assert not any(counts.values()), {k: v for k, v in counts.items() if v}
