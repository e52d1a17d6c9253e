"""``ingestion sources``: read and change the data-source registry.

    ingestion sources list
    ingestion sources show NAME
    ingestion sources resolve NAME [--where DIM=VALUE ...] [--records N]
    ingestion sources validate FILE
    ingestion sources put NAME --from FILE [--schema FILE] [--expect REVISION]
    ingestion sources history NAME
    ingestion sources rollback NAME --to REVISION

The registry is ``--metadata LOCATION`` (``gs://bucket[/path]`` or a local directory), by
default ``METADATA_LOCATION``. ``put`` and ``rollback`` are compare-and-swap writes: a change
made by someone else since the revision they are based on is reported, and nothing is written.

``--where`` takes ``DIM=VALUE`` (one value), ``DIM=V1,V2`` (any of them) or ``DIM=MIN..MAX``
(a range, either bound may be left out). Exit status: 0 done; 1 not found, invalid document or
lost to a concurrent change; 2 misuse.
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
from ..core.lines import line_from_message
from ..registry import (
    Dataset,
    InvalidDocument,
    QueryError,
    Registry,
    RegistryError,
)
from ..registry.documents import load_json, parse_schema, parse_source, parse_sources
from ..settings import METADATA_LOCATION, SettingsError

OK, FAILED, USAGE = 0, 1, 2


def add_commands(commands: Any) -> None:
    sources = commands.add_parser("sources", help="read and change the data-source registry")
    sources.add_argument(
        "--metadata",
        metavar="LOCATION",
        help="gs://bucket[/path] or a directory (default: $METADATA_LOCATION, else "
        f"{METADATA_LOCATION.default})",
    )
    actions = sources.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every source, where its data lives")
    show = actions.add_parser("show", help="a source's entries, schema and revision")
    show.add_argument("name")
    resolve = actions.add_parser("resolve", help="the objects (and records) of a source")
    resolve.add_argument("name")
    resolve.add_argument("--where", action="append", default=[], metavar="DIM=VALUE")
    resolve.add_argument("--records", type=int, default=0, metavar="N", help="print N records")
    validate = actions.add_parser("validate", help="check a sources.json, entry or schema.json")
    validate.add_argument("file", type=Path)
    put = actions.add_parser("put", help="add or change a source's consumer entry")
    put.add_argument("name")
    put.add_argument("--from", dest="entry", required=True, type=Path, metavar="FILE")
    put.add_argument("--schema", type=Path, metavar="FILE", help="also put its schema.json")
    put.add_argument("--expect", metavar="REVISION", help="the revision the change is based on")
    put.add_argument("--reason", default="", help="recorded in the history")
    history = actions.add_parser("history", help="every change of a source's entry")
    history.add_argument("name")
    rollback = actions.add_parser("rollback", help="restore an entry from an earlier revision")
    rollback.add_argument("name")
    rollback.add_argument("--to", required=True, metavar="REVISION")
    rollback.add_argument("--reason", default="")
    sources.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        location = args.metadata or METADATA_LOCATION.read(os.environ)
        if args.action == "validate":
            return _validate(args.file)
        registry = Registry.open(location)
        return int(ACTIONS[args.action](registry, args))
    except (QueryError, LocationError, SettingsError, ValueError) as exc:
        if isinstance(exc, InvalidDocument):
            return _fail(str(exc))
        print(f"ingestion sources: {one_line(exc)}", file=sys.stderr)
        return USAGE
    except (RegistryError, ObjectStoreError, OSError) as exc:
        return _fail(one_line(exc))


def _fail(message: str) -> int:
    print(f"ingestion sources: {message}", file=sys.stderr)
    return FAILED


def _print_json(value: Any) -> None:
    sys.stdout.write(
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    )
    sys.stdout.write("\n")


def _list(registry: Registry, args: argparse.Namespace) -> int:
    for name, entry in sorted(registry.sources().items()):
        print(
            f"{name}\tgs://{entry.bucket}/{entry.prefix}\t{entry.metadata_prefix}\t{entry.description}"
        )
    return OK


def _show(registry: Registry, args: argparse.Namespace) -> int:
    entry = registry.source(args.name)
    _print_json(
        {
            "source": args.name,
            "revision": registry.revision(),
            "consumer": entry.to_json(),
            "writer": registry.writer_entry(args.name).to_json(),
            "schema": registry.schema(args.name).to_json(),
        }
    )
    return OK


def _resolve(registry: Registry, args: argparse.Namespace) -> int:
    dataset = Dataset.from_source(args.name, registry=registry)
    dataset = dataset.where(**dict(_clause(text) for text in args.where))
    count = total = 0
    per_partition: dict[str, list[int]] = {}
    for item in dataset.objects():
        print(f"{item.size}\tgs://{item.bucket}/{item.name}")
        folder = item.name.rsplit("/", 1)[0]
        tally = per_partition.setdefault(folder, [0, 0])
        tally[0] += 1
        tally[1] += item.size
        count += 1
        total += item.size
    for folder, (objects, size) in sorted(per_partition.items()):
        print(f"partition {folder}: {objects} objects, {size} bytes")
    print(f"{count} objects, {total} bytes")
    if args.records > 0:
        for shown, message in enumerate(dataset.records(), start=1):
            sys.stdout.buffer.write(line_from_message(message) + b"\n")
            if shown >= args.records:
                break
        sys.stdout.flush()
    return OK


def _clause(text: str) -> tuple[str, Any]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise QueryError(f"--where {text!r}: expected DIM=VALUE")
    if ".." in value:
        low, _, high = value.partition("..")
        return name, {key: bound for key, bound in (("min", low), ("max", high)) if bound}
    if "," in value:
        return name, [item for item in value.split(",") if item]
    return name, value


def _validate(path: Path) -> int:
    value = load_json(path.read_bytes(), str(path))
    if isinstance(value, dict) and "dimensions" in value:
        schema = parse_schema(path.stem, value, str(path))
        print(f"{path}: a valid schema.json, {len(schema.dimensions())} dimensions")
    elif isinstance(value, dict) and "bucket" in value:
        parse_source(path.stem, value, str(path))
        print(f"{path}: a valid source entry")
    else:
        sources = parse_sources(value, str(path))
        print(f"{path}: a valid sources.json, {len(sources)} sources")
    return OK


def _put(registry: Registry, args: argparse.Namespace) -> int:
    entry = parse_source(args.name, load_json(args.entry.read_bytes(), str(args.entry)))
    expected = args.expect
    if expected is None and args.name in registry.sources():
        expected = registry.revision()  # the state just read: still a compare-and-swap
    if args.schema is not None:
        schema = load_json(args.schema.read_bytes(), str(args.schema))
        exists = registry.has_schema(entry.metadata_prefix)
        current = registry.schema_revision(entry.metadata_prefix) if exists else None
        registry.put_schema(entry.metadata_prefix, schema, expected=current)
    revision = registry.put_source(args.name, entry, expected=expected, reason=args.reason)
    print(f"{args.name}: revision {revision}")
    return OK


def _history(registry: Registry, args: argparse.Namespace) -> int:
    for change in registry.history(args.name):
        where = (
            "(removed)"
            if change.entry is None
            else f"gs://{change.entry.get('bucket')}/{change.entry.get('prefix')}"
        )
        print(
            f"{change.revision}\t{change.time.isoformat()}\t{change.author}\t{where}\t{change.reason}"
        )
    return OK


def _rollback(registry: Registry, args: argparse.Namespace) -> int:
    revision = registry.rollback(args.name, to=args.to, reason=args.reason)
    print(f"{args.name}: revision {revision} (as at revision {args.to})")
    return OK


ACTIONS = {
    "list": _list,
    "show": _show,
    "resolve": _resolve,
    "put": _put,
    "history": _history,
    "rollback": _rollback,
}
