"""Verify every granule before the run trusts it, each in a reader process of its own.

A granule is opened, every block of the layers the run uses is read and decompressed, and
the values are checked against the layer's valid range, in a child process
(``python -m modisoft.pipeline.verify``), so whatever a damaged file does — a Python error,
an error of the HDF C library, a hang, or a crash of the reader itself — is recorded against
that file (file, stage, reason) and the run goes on without it.  Results are kept in the run
manifest with the file's size and modification time: a rerun trusts them for unchanged files
and verifies again a file that was replaced.

Protocol of the child: one JSON line ``{"layers": [...]}`` then one JSON line per path on
standard input; one JSON line per path on standard output, after that path is done.  When the
child dies or stalls, the first path without an answer is the culprit: it is recorded as
failed and a fresh child goes on with the rest.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["STAGES", "TIMEOUT_S", "file_stamp", "verify_granules"]

#: Seconds one granule may take to open and read before its reader is killed.
TIMEOUT_S = 300.0

#: Where a verification can fail: the checksum (a downloaded file no longer matches the size
#: or the archive's checksum recorded in ``modisoft-downloads.json``), opening (metadata),
#: the identity (the file name and the
#: embedded metadata disagree on product, collection, date or tile: the run places a granule
#: by its name), reading (data blocks), the values (too many outside the layer's valid
#: range: :func:`modisoft.decode.check_plausible`), the reader process itself (a crash or a
#: stall).
STAGES = ("checksum", "open", "identity", "read", "values", "reader")


def file_stamp(path: str) -> dict[str, int] | None:
    """``{"size", "mtime_ns"}`` of ``path``, or None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def verify_granules(paths: list[str], layers: list[str], known: dict[str, dict[str, Any]], *,
                    processes: int = 1, timeout: float = TIMEOUT_S,
                    echo: Callable[[str], None] = print,
                    qa_rule: str | None = None) -> dict[str, dict[str, Any]]:
    """Verify ``paths`` (open, read every block of ``layers``) in reader processes.

    Parameters
    ----------
    paths
        The granules.
    layers
        The layers the run reads from each.
    known
        Earlier results (from the manifest), reused when the file's size and modification
        time are unchanged and the same layers (and ``qa_rule``) were verified.
    processes
        Reader processes at once.
    timeout
        Seconds per granule before its reader is killed.
    echo
        Where the progress line goes.
    qa_rule
        The run's ``[steps] qa_rule``: when given, each readable granule's pixels are also
        counted by what the run makes of them (:func:`modisoft.qa.pixel_shares` of the first
        layer, with the QA layers among ``layers``), as ``"shares"``.

    Returns
    -------
    dict
        Per path ``{"ok", "stage", "reason", "size", "mtime_ns", "layers", "qa_rule"}``
        (and ``"shares"``), and ``"reused": True`` where an earlier result was kept (the
        file is unchanged).
    """
    out: dict[str, dict[str, Any]] = {}
    todo = []
    for p in paths:
        stamp = file_stamp(p)
        old = known.get(p)
        if stamp is None:
            out[p] = {"ok": False, "stage": "open", "reason": "no such file (or not readable)",
                      "layers": layers, "qa_rule": qa_rule}
        elif old and {k: old.get(k) for k in stamp} == stamp and old.get("layers") == layers \
                and old.get("qa_rule") == qa_rule:
            out[p] = {**old, "reused": True}
        else:
            todo.append(p)
    if todo:
        echo(f"verifying {len(todo)} granule(s) in {min(processes, len(todo))} reader "
             f"process(es)")
    n = max(1, min(processes, len(todo)))
    parts = [todo[i::n] for i in range(n)]
    results: list[dict[str, dict[str, Any]]] = [{} for _ in parts]
    live: list[subprocess.Popen] = []
    head = {"layers": layers, "qa_rule": qa_rule}
    threads = [threading.Thread(target=_drive, args=(part, head, timeout, res, live),
                                daemon=True)
               for part, res in zip(parts, results, strict=True) if part]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:  # also on Ctrl-C: no reader outlives the run
        for proc in list(live):
            if proc.poll() is None:
                _kill(proc)
    for res in results:
        for p, r in res.items():
            out[p] = {**r, **(file_stamp(p) or {}), "layers": layers, "qa_rule": qa_rule}
    return {p: out[p] for p in paths}


def _drive(paths: list[str], head: dict[str, Any], timeout: float,
           out: dict[str, dict[str, Any]], live: list[subprocess.Popen]) -> None:
    """Feed ``paths`` to reader children, one culprit recorded per child that dies."""
    left = list(paths)
    while left:
        done = _one_child(left, head, timeout, live)
        out.update(done)
        left = [p for p in left if p not in done]
        if left and left[0] not in done:  # the child died or stalled on left[0]
            out[left[0]] = done.pop("__culprit__", {
                "ok": False, "stage": "reader", "reason": "the reader process died"})
            left = left[1:]


def _one_child(paths: list[str], head: dict[str, Any], timeout: float,
               live: list[subprocess.Popen]) -> dict[str, Any]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.Popen([sys.executable, "-m", "modisoft.pipeline.verify"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True,
                            errors="surrogateescape", start_new_session=True)
    live.append(proc)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    def feed() -> None:  # a thread of its own: a stalled child must not block the parent
        try:
            proc.stdin.write(json.dumps(head) + "\n")  # type: ignore[union-attr]
            for p in paths:
                proc.stdin.write(json.dumps(p) + "\n")  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError, ValueError):
            pass

    threading.Thread(target=pump, daemon=True).start()
    threading.Thread(target=feed, daemon=True).start()
    done: dict[str, Any] = {}
    for p in paths:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            _kill(proc)
            done["__culprit__"] = {"ok": False, "stage": "reader",
                                   "reason": f"reading took longer than {timeout:g} s; "
                                             "the reader was stopped"}
            return done
        if line is None:
            proc.wait()
            code = proc.returncode
            why = (f"the reader process crashed ({signal.Signals(-code).name})" if code < 0
                   else f"the reader process exited with status {code}")
            done["__culprit__"] = {"ok": False, "stage": "reader", "reason": why}
            return done
        done[p] = json.loads(line)
    proc.wait()
    return done


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait()


def _check(path: str, layers: list[str], qa_rule: str | None = None) -> dict[str, Any]:
    """Open ``path`` and read every block of ``layers`` (in the child); with ``qa_rule``,
    count its pixels (:func:`_shares`)."""
    import dask

    from modisoft.decode import check_plausible, layer_of
    from modisoft.errors import IdentityMismatchWarning, ModisoftError
    from modisoft.io.checksums import check_download_record
    from modisoft.io.granule import open_granule

    try:  # a downloaded file: its bytes against the archive's checksum, in full, once
        check_download_record(path, full=True)
    except (ModisoftError, OSError) as exc:
        return {"ok": False, "stage": "checksum", "reason": _why(exc)}
    try:
        with warnings.catch_warnings():
            # the run placed this file by its name: a name the metadata contradicts (date,
            # tile, product, collection) would put its pixels in the wrong place
            warnings.simplefilter("error", IdentityMismatchWarning)
            ds = open_granule(path, layers)
    except IdentityMismatchWarning as exc:
        return {"ok": False, "stage": "identity", "reason": str(exc)}
    except (ModisoftError, OSError, ValueError, RecursionError, MemoryError) as exc:
        return {"ok": False, "stage": "open", "reason": _why(exc)}
    raw = {}
    try:
        with dask.config.set(scheduler="synchronous"):
            for name in layers:
                raw[name] = ds[name].data.compute()
    except (ModisoftError, OSError, ValueError, RuntimeError, MemoryError) as exc:
        return {"ok": False, "stage": "read", "reason": _why(exc)}
    implausible = {}
    try:
        for name in layers:
            layer = layer_of(ds[name], ds.attrs.get("registry_product"))
            implausible[name] = check_plausible(raw[name], layer, path=path)
    except ModisoftError as exc:
        return {"ok": False, "stage": "values", "reason": _why(exc)}
    out = {"ok": True, "stage": None, "reason": None,
           "implausible": {k: v for k, v in implausible.items() if v}}
    if qa_rule is not None:
        out["shares"] = _shares(ds, raw, layers, qa_rule)
    return out


def _shares(ds: Any, raw: dict[str, Any], layers: list[str], qa_rule: str) -> dict[str, Any]:
    """:func:`modisoft.qa.pixel_shares` of the first layer read, with the QA layers read (a
    failure is recorded, not the granule's: the run's QA step would say more)."""
    from modisoft.decode import layer_of
    from modisoft.errors import ModisoftError
    from modisoft.qa import pixel_shares

    tag = ds.attrs.get("registry_product")
    try:
        qa = [n for n in layers[1:] if layer_of(ds[n], tag).kind == "qa"]
        values = ds[layers[0]].copy(data=raw[layers[0]])
        qa_ds = ds[qa].copy(data={n: raw[n] for n in qa}) if qa else None
        return pixel_shares(values, qa_ds, qa_rule, product=tag)
    except (ModisoftError, ValueError, KeyError, TypeError) as exc:
        return {"error": _why(exc)}


def _why(exc: BaseException) -> str:
    from modisoft.errors import ModisoftError

    text = str(exc).strip() or "no message"
    return text if isinstance(exc, ModisoftError) else f"{type(exc).__name__}: {text}"


def main() -> None:  # pragma: no cover - runs in the child process
    """The reader child: verify paths from standard input, one answer line per path."""
    sys.setrecursionlimit(10_000)
    head = json.loads(sys.stdin.readline())
    layers, qa_rule = head["layers"], head.get("qa_rule")
    for line in sys.stdin:
        path = json.loads(line)
        try:
            result = _check(path, layers, qa_rule)
        except Exception as exc:  # any failure is this file's
            result = {"ok": False, "stage": "open", "reason": _why(exc)}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
