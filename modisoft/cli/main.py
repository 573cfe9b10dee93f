"""The ``modisoft`` root group: version, ``-v``/``-q``, the subcommands and the one error
handler.

Every command is a thin shell over one library call.  Errors end a command here, once: a
:class:`~modisoft.errors.ModisoftError` prints ``modisoft: error: <message>`` on one line and
exits with its ``exit_code`` (1 data, 2 usage or configuration); any other exception prints one
line too and exits 1; Ctrl-C prints one line and exits 130.  Tracebacks only with ``-vv``.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, NoReturn

import click

from modisoft._version import __version__
from modisoft.cli.acquire import download_command, search_command
from modisoft.cli.info import info_command
from modisoft.cli.lai import lai_command
from modisoft.cli.mosaic import mosaic_command
from modisoft.cli.options import EXIT_INTERRUPTED, setup_logging, verbosity, verbosity_options
from modisoft.cli.plot import plot_command
from modisoft.cli.qa import qa_command
from modisoft.cli.record import record_command
from modisoft.cli.report import report_command
from modisoft.cli.run import run_command
from modisoft.cli.smooth import smooth_command
from modisoft.errors import ModisoftError

__all__ = ["main", "ModisoftGroup"]

_CLICK_FLOW = (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort)


class ModisoftGroup(click.Group):
    """A click group whose :meth:`invoke` turns every error of a subcommand into one line on
    stderr and an exit code (the one error handler of the command line)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _CLICK_FLOW:
            raise
        except ModisoftError as exc:
            _fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", EXIT_INTERRUPTED)
        except Exception as exc:
            _fail(ctx, f"{type(exc).__name__}: {exc}", 1)


def _fail(ctx: click.Context, message: str, code: int) -> NoReturn:
    if verbosity(ctx)["verbose"] >= 2:
        traceback.print_exc(file=sys.stderr)
    click.echo(f"modisoft: error: {message}", err=True)
    ctx.exit(code)


@click.group(
    "modisoft", cls=ModisoftGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="modisoft")
@verbosity_options
def main() -> None:
    """modisoft: satellite granules to LAI maps for carbon-cycle models."""
    state = verbosity()
    setup_logging(state["verbose"], state["quiet"])


for _command in (
    info_command,
    qa_command,
    mosaic_command,
    smooth_command,
    lai_command,
    run_command,
    record_command,
    report_command,
    plot_command,
    search_command,
    download_command,
):
    main.add_command(_command)
