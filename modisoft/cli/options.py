"""What the commands share: ``-v``/``-q`` before or after the subcommand, and a variable
looked up as a usage error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import click

__all__ = ["EXIT_INTERRUPTED", "verbosity_options", "verbosity", "setup_logging", "variable"]

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
