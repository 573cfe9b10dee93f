"""``python -m modisoft``."""

from modisoft.cli import main

main()
