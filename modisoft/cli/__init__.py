"""The ``modisoft`` command line: one module per command group, each command a thin shell over
the library, and one error handler (:class:`~modisoft.cli.main.ModisoftGroup`)."""

from modisoft.cli.main import main

__all__ = ["main"]
