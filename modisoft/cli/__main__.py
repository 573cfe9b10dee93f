"""``python -m modisoft.cli``."""

from modisoft.cli import main

main()
