"""``ingestion migrate``: move a data source to a new location, step by step.

    ingestion migrate reserve SOURCE --to gs://BUCKET/PREFIX [--schema FILE] [--since DATE]
    ingestion migrate backfill ID [--until YYYY-MM-DDTHH] [--redo]
    ingestion migrate cutover ID
    ingestion migrate fill-gap ID [--redo]
    ingestion migrate verify ID [--tolerance N]
    ingestion migrate publish ID
    ingestion migrate rollback ID [--writer] [--force]
    ingestion migrate status [ID] [--json]

Every step takes ``--dry-run`` (print what it would do, write nothing), ``--metadata LOCATION``
(default ``$METADATA_LOCATION``) and ``--backfill-url URL`` (the deployed backfill function;
without it backfills run in this process). A step refuses to run before the one it builds on,
does nothing the second time, and resumes where a killed run stopped; ``--take-over`` resumes a
step whose process died on another machine before its lease ran out. Exit status: 0 done; 1
refused, failed, lost to a concurrent change, or verification failed; 2 misuse. Runbook:
docs/migration.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from ..adapters.storage.fetch import ObjectStoreError
from ..adapters.storage.locations import LocationError
from ..core.errors import one_line
from ..entrypoints.migration import (
    MigrationConflict,
    MigrationError,
    Options,
    build_workflow,
    status_lines,
)
from ..registry import RegistryError
from ..settings import METADATA_LOCATION, SettingsError

OK, FAILED, USAGE = 0, 1, 2
STEPS = ("reserve", "backfill", "cutover", "fill-gap", "verify", "publish", "rollback", "status")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--metadata", metavar="LOCATION", help="registry location")
    common.add_argument("--backfill-url", metavar="URL", help="the deployed backfill function")
    common.add_argument("--dry-run", action="store_true", help="print what it would do")
    common.add_argument("--take-over", action="store_true", help="resume another's step")
    common.add_argument("--lease-seconds", type=float, default=Options.lease_seconds)
    return common


def add_commands(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="move a data source to a new location")
    actions = migrate.add_subparsers(dest="action", required=True)
    common = _common()
    reserve = actions.add_parser("reserve", parents=[common], help="claim the new location")
    reserve.add_argument("source")
    reserve.add_argument("--to", required=True, metavar="gs://BUCKET/PREFIX")
    reserve.add_argument("--schema", type=Path, metavar="FILE", help="the new schema.json")
    reserve.add_argument("--metadata-prefix", help="where the new schema.json goes")
    reserve.add_argument("--raw", default="telemetry-raw", help="the raw archive's source")
    reserve.add_argument("--since", metavar="YYYY-MM-DD", help="first day of history")
    reserve.add_argument("--id", dest="migration_id", help="the migration's id")
    reserve.add_argument(
        "--settle-seconds",
        type=float,
        default=Options.settle_seconds,
        help="after the cutover, how long until the raw archive holds all the old location got",
    )
    for name, text in (
        ("backfill", "history from the raw archive into the new location"),
        ("cutover", "move the writer entry: the loader writes to the new location"),
        ("fill-gap", "backfill from the backfill's end to the cutover"),
        ("verify", "compare the old and new locations"),
        ("publish", "move the consumer entry"),
        ("rollback", "restore the old consumer entry (and writer entry)"),
    ):
        step = actions.add_parser(name, parents=[common], help=text)
        step.add_argument("migration_id", metavar="ID")
        if name in ("backfill", "fill-gap"):
            step.add_argument("--redo", action="store_true", help="a fresh run, same window")
        if name == "backfill":
            step.add_argument("--until", metavar="YYYY-MM-DDTHH", help="end of the history")
        if name == "verify":
            step.add_argument("--tolerance", type=int, default=0, help="missing records allowed")
        if name == "rollback":
            step.add_argument("--writer", action="store_true", help="also the writer entry")
            step.add_argument("--force", action="store_true", help="even if changed since")
    status = actions.add_parser("status", parents=[common], help="where migrations stand")
    status.add_argument("migration_id", metavar="ID", nargs="?")
    status.add_argument("--json", action="store_true", help="the state documents")
    migrate.set_defaults(run=run)


def _say(line: str) -> None:
    print(line, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        location = args.metadata or METADATA_LOCATION.read(os.environ)
        options = Options(
            settle_seconds=getattr(args, "settle_seconds", Options.settle_seconds),
            lease_seconds=args.lease_seconds,
            tolerance=getattr(args, "tolerance", 0),
        )
        workflow = build_workflow(
            location,
            os.environ,
            backfill_url=args.backfill_url,
            options=options,
            take_over=args.take_over,
            say=_say,
        )
        if args.action == "status":
            return _status(workflow, args)
        outcome = _step(workflow, args)
    except MigrationConflict as exc:
        return _fail(f"conflict: {exc}")
    except (MigrationError, RegistryError, ObjectStoreError, OSError) as exc:
        return _fail(str(exc) if "\n" in str(exc) else one_line(exc))
    except (LocationError, SettingsError, ValueError) as exc:
        print(f"ingestion migrate: {one_line(exc)}", file=sys.stderr)
        return USAGE
    for line in outcome.lines:
        print(line)
    if outcome.dry_run:
        print("(dry run: nothing was written)")
    return OK


def _step(workflow: Any, args: argparse.Namespace) -> Any:
    dry = args.dry_run
    if args.action == "reserve":
        schema = orjson.loads(args.schema.read_bytes()) if args.schema else None
        return workflow.reserve(
            args.source,
            args.to,
            schema=schema,
            metadata_prefix=args.metadata_prefix,
            raw_source=args.raw,
            since=args.since,
            migration_id=args.migration_id,
            dry_run=dry,
        )
    migration_id = args.migration_id
    if args.action == "backfill":
        return workflow.backfill(migration_id, until=args.until, redo=args.redo, dry_run=dry)
    if args.action == "fill-gap":
        return workflow.fill_gap(migration_id, redo=args.redo, dry_run=dry)
    if args.action == "rollback":
        return workflow.rollback(migration_id, writer=args.writer, force=args.force, dry_run=dry)
    step = {"cutover": workflow.cutover, "verify": workflow.verify, "publish": workflow.publish}
    return step[args.action](migration_id, dry_run=dry)


def _status(workflow: Any, args: argparse.Namespace) -> int:
    documents = workflow.status(args.migration_id)
    if args.json:
        sys.stdout.write(orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n")
        return OK
    if not documents:
        print("no migrations recorded")
    for document in documents:
        print("\n".join(status_lines(document)))
    return OK


def _fail(message: str) -> int:
    print(f"ingestion migrate: {message}", file=sys.stderr)
    return FAILED
