"""The ``ingestion`` command: one module per command group, each adding its own sub-commands.

``decode`` runs the whole decoder over message files. Exit codes are the same for every
command: 0 when the run completed (rejected messages are data, not failures), 1 when it completed
but some input could not be read to its end (what could be read was processed; each damage is
reported on a line of its own), 2 with a one-line reason for misuse and configuration errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import backfill, decode, load, migrate, sources

COMMAND_GROUPS = (decode, load, sources, backfill, migrate)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ingestion", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
