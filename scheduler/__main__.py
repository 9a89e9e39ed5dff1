"""Allow `python -m scheduler` as an alias of the `newsmon` command."""

from scheduler.cli import main

main()
