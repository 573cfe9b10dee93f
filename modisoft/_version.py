"""The version of modisoft (one place; ``modisoft.__version__`` re-exports it)."""

__version__ = "0.1.0"
