"""``ingestion load``: the live loader as a streaming-pull worker, for local runs and small
deployments. It writes what a subscription delivers into its source's registered layout, each
message acknowledged only once the object holding it is written; SIGINT/SIGTERM write what is
queued and stop.

Options fill the loader's settings (``LOADER_*``, ``METADATA_LOCATION``); what is not given comes
from the environment, as for the function.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from ..entrypoints.loader_pull import run_worker
from ..settings import SettingsError

# option -> the environment variable it sets for the settings table.
_OPTION_VARIABLES = {
    "source": "LOADER_SOURCE",
    "metadata": "METADATA_LOCATION",
    "project": "GOOGLE_CLOUD_PROJECT",
    "flush_messages": "LOADER_FLUSH_MESSAGES",
    "flush_bytes": "LOADER_FLUSH_BYTES",
    "flush_seconds": "LOADER_FLUSH_SECONDS",
}


def add_commands(commands: Any) -> None:
    load = commands.add_parser("load", help="load a subscription's messages into a source")
    load.add_argument("--subscription", required=True, metavar="SUB",
                      help="projects/P/subscriptions/S, or S in --project")  # fmt: skip
    load.add_argument("--source", required=True, metavar="NAME", help="registry source")
    load.add_argument("--metadata", metavar="LOCATION",
                      help="registry location (gs://bucket or a directory; "
                           "default: $METADATA_LOCATION)")  # fmt: skip
    load.add_argument("--project", help="default: $GOOGLE_CLOUD_PROJECT")
    load.add_argument("--flush-messages", type=int, metavar="N")
    load.add_argument("--flush-bytes", type=int, metavar="N")
    load.add_argument("--flush-seconds", type=float, metavar="S")
    load.add_argument("--max-outstanding", type=int, default=5000, metavar="N",
                      help="messages leased at once (default: 5000)")  # fmt: skip
    load.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    environ.setdefault("GOOGLE_CLOUD_PROJECT", os.environ.get("PUBSUB_PROJECT_ID", ""))
    for option, variable in _OPTION_VARIABLES.items():
        value = getattr(args, option)
        if value is not None:
            environ[variable] = str(value)
    try:
        counters = asyncio.run(
            run_worker(environ, args.subscription, max_outstanding=args.max_outstanding)
        )
    except SettingsError as exc:
        print(f"ingestion load: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(counters, sort_keys=True))
    return 0
