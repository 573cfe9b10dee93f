"""What the commands share: ``-v``/``-q`` before or after the subcommand, and a variable
looked up as a usage error."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

__all__ = ["EXIT_INTERRUPTED", "verbosity_options", "verbosity", "setup_logging", "variable",
           "run_log"]

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, the shell's convention)."""

_KEY = "modisoft.verbosity"


def verbosity(ctx: click.Context | None = None) -> dict[str, Any]:
    """``{"verbose": n, "quiet": bool}`` of the whole command line (shared by all contexts)."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return {"verbose": 0, "quiet": False}
    return ctx.meta.setdefault(_KEY, {"verbose": 0, "quiet": False})


def setup_logging(verbose: int, quiet: bool) -> None:
    """Log level: ERROR with ``-q``, WARNING by default, INFO with ``-v``, DEBUG with ``-vv``."""
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING)
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("modisoft").setLevel(level)


NOISY = ("py.warnings", "distributed", "tornado", "asyncio", "bokeh", "numcodecs", "zarr")
"""Loggers of library noise (Python warnings such as ``ZarrUserWarning``, dask's nannies):
kept off the terminal at the default level, kept in the run's log file."""


class _NoNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        quiet_lib = record.name.split(".")[0] in {n.split(".")[0] for n in NOISY}
        return not quiet_lib or record.levelno >= logging.ERROR or \
            logging.getLogger("modisoft").level <= logging.INFO


@contextlib.contextmanager
def run_log(folder: Callable[[], Path]) -> Iterator[None]:
    """Keep library warnings off the terminal (unless ``-v``) and every log record of the
    block in ``<folder>/modisoft-run.log`` (appended at the end, when the folder exists: a
    run that fails its checks creates nothing)."""
    records: list[str] = []
    keep = logging.Handler(logging.DEBUG)
    keep.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    keep.emit = lambda r: records.append(keep.format(r))  # type: ignore[method-assign]
    root = logging.getLogger()
    level = root.level
    logging.captureWarnings(True)
    noise = _NoNoise()
    for h in root.handlers:
        h.addFilter(noise)
    shown = {h: h.level for h in root.handlers}
    for h in shown:  # the terminal shows what it showed; the file gets INFO too
        h.setLevel(max(h.level, level))
    root.addHandler(keep)
    root.setLevel(min(level, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(keep)
        root.setLevel(level)
        for h, lv in shown.items():
            h.setLevel(lv)
            h.removeFilter(noise)
        logging.captureWarnings(False)
        path = folder()
        if records and path.is_dir():
            with open(path / "modisoft-run.log", "a", encoding="utf-8") as f:
                f.write("\n".join(records) + "\n")


def _count(ctx: click.Context, _param: Any, value: int) -> None:
    if value:
        state = verbosity(ctx)
        state["verbose"] += value
        setup_logging(state["verbose"], state["quiet"])


def _quiet(ctx: click.Context, _param: Any, value: bool) -> None:
    if value:
        state = verbosity(ctx)
        state["quiet"] = True
        setup_logging(state["verbose"], state["quiet"])


def verbosity_options(f: Callable) -> Callable:
    """Add ``-v/--verbose`` (repeatable) and ``-q/--quiet`` to a command or group."""
    f = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_quiet,
        help="Only errors (and no progress output).",
    )(f)
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_count,
        help="More log output (-vv: debug, and tracebacks of errors).",
    )(f)


def variable(ds: Any, name: str, path: str) -> Any:
    """``ds[name]``, or a usage error naming the variables ``path`` has."""
    if name not in ds:
        raise click.UsageError(
            f"{path}: no variable {name!r}; variables: {', '.join(map(str, ds.data_vars))}"
        )
    return ds[name]
