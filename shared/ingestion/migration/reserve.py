"""Step 1, ``reserve``: claim the new location and record the new layout.

Refused (before anything is written) when the source is unknown or already migrating, when its
writer entry and consumer entry differ (a move is under way), when the new prefix (or the
prefix the backfill's errors go to) overlaps one that a source or another migration holds, or
holds any object, and when the new metadata prefix holds another schema.

Then, each write idempotent: the state document (status ``active``), the reservation in
``migrations/reservations.json`` (a compare-and-swap, so two migrations cannot both take one
prefix), the new ``schema.json`` (which may change the dimensions: a layout change is a
migration too), and two staging sources in ``sources.json`` that the backfill function writes
into by name: ``migration-{id}`` (the new location) and ``migration-{id}-errors``.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from ..registry import RegistryError
from ..registry.documents import check_metadata_prefix, parse_schema
from .errors import Refused
from .layout import (
    Location,
    bring_up_to_date,
    check_empty,
    check_metadata_prefix_free,
    check_unheld,
    entry_location,
    overlaps,
)
from .machine import ACTIVE, iso
from .outcome import Outcome
from .records import Document, check_id

if TYPE_CHECKING:
    from .workflow import Workflow

ERRORS_SCHEMA = {
    "version": 1,
    "dimensions": [
        {"field_name": "error_type", "allowed_values": "*"},
        {"field_name": "submission_date", "allowed_values": "*"},
    ],
}
DATE_LEVEL = re.compile(r"\d{4}_\d{2}_\d{2}")


def default_id(now: float, source: str, to: Location) -> str:
    day = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%d")
    slug = re.sub(r"[^a-z0-9]+", "-", f"{source}-{to.prefix.rsplit('/', 1)[-1]}".lower())
    return f"{day}-{slug.strip('-')}"[:48].rstrip("-")


def staging_names(migration_id: str) -> dict[str, str]:
    return {"decoded": f"migration-{migration_id}", "errors": f"migration-{migration_id}-errors"}


def reserve(
    w: Workflow,
    source: str,
    to: str,
    *,
    schema: dict[str, Any] | None = None,
    metadata_prefix: str | None = None,
    raw_source: str = "telemetry-raw",
    since: str | None = None,
    migration_id: str | None = None,
    dry_run: bool = False,
) -> Outcome:
    registry = w.registry
    location = Location.parse(to)
    try:
        entry = registry.source(source)
        old_schema = registry.schema(source).to_json()
        writer = registry.writer_entry(source)
    except RegistryError as exc:
        raise Refused(str(exc)) from None
    new_schema = parse_schema(source, schema, "--schema").to_json() if schema else old_schema
    metadata_prefix = metadata_prefix or location.prefix
    try:
        check_metadata_prefix(metadata_prefix)
    except ValueError as exc:
        raise Refused(f"metadata prefix: {exc}") from None
    errors = Location(location.bucket, f"{location.prefix}-migration-errors")
    migration_id = check_id(migration_id or default_id(w.clock(), source, location))
    staging = staging_names(migration_id)
    document: Document = {
        "id": migration_id,
        "source": source,
        "status": ACTIVE,
        "created_at": iso(w.clock()),
        "created_by": registry.author,
        "from": {
            **_location(entry_location(entry), entry.metadata_prefix),
            "entry": entry.to_json(),
            "schema": old_schema,
            "consumer_revision": registry.revision(),
            "writer": writer.to_json(),
            "writer_revision": registry.writer_revision(source),
        },
        "to": {**_location(location, metadata_prefix), "schema": new_schema},
        "errors_to": _location(errors, f"{metadata_prefix}-migration-errors"),
        "staging": staging,
        "raw_source": raw_source,
        "settle_seconds": w.options.settle_seconds,
        "steps": {},
        "log": [],
        "revision": 0,
    }
    if w.records.exists(migration_id):
        recorded = w.read(migration_id)
        if (recorded["source"], recorded["to"]["bucket"], recorded["to"]["prefix"]) != (
            source,
            location.bucket,
            location.prefix,
        ):
            raise Refused(
                f"migration id {migration_id!r} is taken by a migration of {recorded['source']!r}"
                f" to gs://{recorded['to']['bucket']}/{recorded['to']['prefix']}: pass --id"
            )
        if w.machine.is_done(recorded, "reserve"):
            return Outcome("reserve", [f"{migration_id}: already reserved {location}"], recorded)
        document = recorded  # resume: what was recorded stands
    _check(w, document)
    since_hour = document.get("since") or _since(w, raw_source, since)
    lines = [
        f"migration {migration_id}: move {source} from gs://{entry.bucket}/{entry.prefix} to "
        f"{location}",
        f"  layout: {_fields(old_schema)} -> {_fields(new_schema)}",
        f"  schema: {metadata_prefix}/schema.json; backfill errors: {errors}",
        f"  staging sources (backfill destinations): {staging['decoded']}, {staging['errors']}",
        f"  history from {since_hour} in raw source {raw_source}",
    ]
    if dry_run:
        return Outcome("reserve", ["checks passed; would reserve:", *lines], document, True)
    if not w.records.exists(migration_id):
        w.records.create(migration_id, {**document, "since": since_hour})
    w.machine.begin(migration_id, "reserve", {})
    _claim(w, document)
    done = w.machine.finish(migration_id, "reserve", {"reserved": str(location)})
    return Outcome("reserve", ["reserved:", *lines], done)


def _check(w: Workflow, document: Document) -> None:
    registry = w.registry
    ours = tuple(document["staging"].values())
    for other in w.records.documents():
        if (
            other.get("source") == document["source"]
            and other.get("status") == ACTIVE
            and other.get("id") != document["id"]
        ):
            raise Refused(
                f"source {document['source']!r} is already being moved by migration "
                f"{other['id']!r}: finish or roll it back first"
            )
    old, writer = document["from"], document["from"]["writer"]
    if (writer["bucket"], writer["prefix"]) != (old["bucket"], old["prefix"]):
        raise Refused(
            f"source {document['source']!r}: its writer entry (gs://{writer['bucket']}/"
            f"{writer['prefix']}) differs from its consumer entry: a move is under way"
        )
    for key in ("to", "errors_to"):
        location = Location(document[key]["bucket"], document[key]["prefix"])
        check_unheld(registry, location, ignore=ours)
        _check_unreserved(w, location, document["id"])
        check_empty(registry, location)
    for key in ("to", "errors_to"):
        check_metadata_prefix_free(registry, document[key]["metadata_prefix"], ignore=ours)
    new = document["to"]
    if registry.has_schema(new["metadata_prefix"]):
        existing = registry.bucket.read(_schema_path(w, new["metadata_prefix"]))
        if parse_schema("", existing, "schema.json").to_json() != new["schema"]:
            raise Refused(f"{new['metadata_prefix']}/schema.json exists with another layout")


def _check_unreserved(w: Workflow, location: Location, migration_id: str) -> None:
    held, _ = w.records.reservations()
    for key, holder in held.items():
        if holder.get("migration") != migration_id and overlaps(key, location.key):
            raise Refused(
                f"{location} overlaps gs://{key}, reserved by migration {holder['migration']!r}"
            )


def _claim(w: Workflow, document: Document) -> None:
    """The writes of ``reserve``, each skipped when a run before a crash made it."""
    registry = w.registry
    bring_up_to_date(
        registry,
        "sources.json",
        f"{document['to']['metadata_prefix']}/schema.json",
        f"{document['errors_to']['metadata_prefix']}/schema.json",
    )
    holder = {"migration": document["id"], "source": document["source"], "at": iso(w.clock())}
    for key in ("to", "errors_to"):
        w.records.reserve(f"{document[key]['bucket']}/{document[key]['prefix']}", holder, overlaps)
    schemas = ((document["to"], document["to"]["schema"]), (document["errors_to"], ERRORS_SCHEMA))
    for where, schema in schemas:
        if not registry.has_schema(where["metadata_prefix"]):
            registry.put_schema(
                where["metadata_prefix"],
                schema,
                expected=None,
                reason=f"migration {document['id']}: reserve",
            )
    descriptions = {
        "decoded": f"Staging of migration {document['id']}: the new location of "
        f"{document['source']}, filled by its backfills",
        "errors": f"Errors of the backfills of migration {document['id']}",
    }
    sources = registry.sources()
    for kind, where in (("decoded", document["to"]), ("errors", document["errors_to"])):
        name = document["staging"][kind]
        if name in sources:
            continue
        entry = {
            "description": descriptions[kind],
            "bucket": where["bucket"],
            "prefix": where["prefix"],
            "metadata_prefix": where["metadata_prefix"],
            "status": "migration-staging" if kind == "decoded" else "migration-errors",
        }
        registry.put_source(name, entry, expected=None, reason=f"migration {document['id']}")


def _since(w: Workflow, raw_source: str, since: str | None) -> str:
    """The first hour of history: ``since`` (a date), else the raw archive's first day."""
    if since:
        try:
            day = datetime.date.fromisoformat(since)
        except ValueError:
            raise Refused(f"--since {since[:40]!r} is not YYYY-MM-DD") from None
        return f"{day.isoformat()}T00"
    from ..registry import Dataset

    try:
        dataset = Dataset.from_source(raw_source, registry=w.registry)
        days = dataset.where(submission_date=lambda level: bool(DATE_LEVEL.fullmatch(level)))
        found = [partition.values[-1] for partition in days.partitions()]
    except RegistryError as exc:
        raise Refused(f"raw source {raw_source!r}: {exc}") from None
    if not found:
        raise Refused(f"raw source {raw_source!r} holds no day of history: pass --since")
    return f"{min(found).replace('_', '-')}T00"


def _location(location: Location, metadata_prefix: str) -> dict[str, str]:
    return {
        "bucket": location.bucket,
        "prefix": location.prefix,
        "metadata_prefix": metadata_prefix,
    }


def _fields(schema: dict[str, Any]) -> str:
    return "/".join(d["field_name"] for d in schema.get("dimensions", [])) or "(none)"


def _schema_path(w: Workflow, metadata_prefix: str) -> str:
    root = w.registry.root
    return f"{root}/{metadata_prefix}/schema.json" if root else f"{metadata_prefix}/schema.json"
