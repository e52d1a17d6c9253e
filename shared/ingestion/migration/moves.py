"""Steps 3, 6 and 7: ``cutover`` (the writer entry), ``publish`` (the consumer entry) and
``rollback`` (both back).

Each one reads the entry it changes and its revision, and:

- finds it already as the step wants it: a run before a crash made the change, nothing to do;
- finds it as the step found it at ``reserve``: changes it with compare-and-swap on that
  revision (``RegistryConflict`` -> ``MigrationConflict``: someone changed it meanwhile);
- finds anything else: refuses, naming what it found (someone else moved the source).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from ..registry import RegistryConflict, WriterEntry
from .errors import MigrationConflict, OutOfOrder, Refused
from .layout import bring_up_to_date
from .machine import ABANDONED, ACTIVE, DONE, PUBLISHED, ROLLED_BACK, iso
from .outcome import Outcome
from .records import Document

if TYPE_CHECKING:
    from .workflow import Workflow


def _where(entry: dict[str, Any]) -> tuple[str, str, str]:
    return entry["bucket"], entry["prefix"].strip("/"), entry["metadata_prefix"]


def _url(entry: dict[str, Any]) -> str:
    return f"gs://{entry['bucket']}/{entry['prefix']}"


def _writer(place: dict[str, Any], since: str) -> WriterEntry:
    return WriterEntry(
        bucket=place["bucket"],
        prefix=place["prefix"],
        metadata_prefix=place["metadata_prefix"],
        effective_from=datetime.datetime.fromisoformat(since),
    )


def terraform_hint(document: Document) -> list[str]:
    """What changes in Terraform: the loader module reads the writer entry at run time, so only
    a new bucket needs a variable change; a loader whose output Terraform fixes needs its own."""
    old, new = document["from"], document["to"]
    lines = ["terraform/modules/loader follows the writer entry within LOADER_RECHECK_SECONDS;"]
    if old["bucket"] != new["bucket"]:
        lines += [
            "its service account may create objects in buckets.data only: apply first",
            f'  buckets = {{ data = "{old["bucket"]}" }}  ->  '
            f'buckets = {{ data = "{new["bucket"]}" }}',
        ]
    else:
        lines.append("  the bucket is unchanged: no variable changes")
    lines += [
        "for a loader whose output location Terraform sets instead, at the cutover time:",
        f'  output_location = "{_url(old)}"  ->  output_location = "{_url(new)}"',
        f'  output_schema = "{old["metadata_prefix"]}/schema.json"  ->  '
        f'output_schema = "{new["metadata_prefix"]}/schema.json"',
    ]
    return lines


def cutover(w: Workflow, migration_id: str, *, dry_run: bool = False) -> Outcome:
    document = w.read(migration_id)
    step = w.machine.step(document, "cutover")
    if step.get("state") == DONE:
        return Outcome("cutover", [f"{migration_id}: cutover already done at {step['at']}"], step)
    w.machine.require(document, "cutover")
    source, old, new = document["source"], document["from"], document["to"]
    lines = [f"writer entry of {source}: {_url(old)} -> {_url(new)}", *terraform_hint(document)]
    if dry_run:
        return Outcome("cutover", ["would move the " + lines[0], *lines[1:]], {}, True)
    step = w.machine.begin(migration_id, "cutover", {"at": iso(w.clock())})
    bring_up_to_date(w.registry, f"writers/{source}.json")
    revision = w.registry.writer_revision(source)
    current = w.registry.writer_entry(source).to_json()
    if _where(current) == _where(new):
        at = current["effective_from"]  # moved before a crash: its time is the one recorded
    elif _where(current) == _where(old):
        try:
            w.registry.put_writer(
                source,
                _writer(new, step["at"]),
                expected=revision,
                reason=f"migration {migration_id}: cutover",
            )
        except RegistryConflict as exc:
            raise MigrationConflict(str(exc)) from None
        at = step["at"]
    else:
        raise Refused(
            f"the writer entry of {source} points at {_url(current)}, neither the old nor the "
            "new location: someone else moved it; nothing was changed"
        )
    result = {"at": at, "writer_revision": w.registry.writer_revision(source)}
    done = w.machine.finish(migration_id, "cutover", result)
    return Outcome("cutover", [f"{migration_id}: cut over at {at}", *lines], done)


def published_entry(document: Document) -> dict[str, Any]:
    """The consumer entry as publish writes it: the old one (extra keys kept) moved."""
    new = document["to"]
    return {
        **document["from"]["entry"],
        "bucket": new["bucket"],
        "prefix": new["prefix"],
        "metadata_prefix": new["metadata_prefix"],
    }


def publish(w: Workflow, migration_id: str, *, dry_run: bool = False) -> Outcome:
    document = w.read(migration_id)
    step = w.machine.step(document, "publish")
    if step.get("state") == DONE:
        return Outcome(
            "publish",
            [f"{migration_id}: already published at {step['at']} (revision {step['revision']})"],
            step,
        )
    w.machine.require(document, "publish")
    source, old_entry = document["source"], document["from"]["entry"]
    entry = published_entry(document)
    line = f"consumer entry of {source}: {_url(old_entry)} -> {_url(entry)}"
    if dry_run:
        return Outcome("publish", [f"would change the {line}"], {"entry": entry}, True)
    step = w.machine.begin(migration_id, "publish", {"at": iso(w.clock()), "entry": entry})
    registry = w.registry
    bring_up_to_date(registry, "sources.json")
    revision = registry.revision()
    current = registry.source(source).to_json()
    if current == entry:
        revision = registry.history(source)[-1].revision  # published before a crash
    elif current == old_entry:
        try:
            revision = registry.put_source(
                source, entry, expected=revision, reason=f"migration {migration_id}: publish"
            )
        except RegistryConflict as exc:
            raise MigrationConflict(str(exc)) from None
    else:
        raise Refused(
            f"the consumer entry of {source} is now {_url(current)}, changed since reserve by "
            "someone else; nothing was published"
        )
    staging = document["staging"]["decoded"]
    if staging in registry.sources():  # the source itself holds the new location now
        registry.remove_source(
            staging, expected=registry.revision(), reason=f"migration {migration_id}: published"
        )
    result = {"revision": revision, "previous_entry": old_entry, "at": step["at"]}
    done = w.machine.finish(migration_id, "publish", result, status=PUBLISHED)
    return Outcome("publish", [f"{migration_id}: published the {line} (revision {revision})"], done)


def rollback(
    w: Workflow, migration_id: str, *, writer: bool, force: bool, dry_run: bool
) -> Outcome:
    document = w.read(migration_id)
    status = document["status"]
    if status in (ROLLED_BACK, ABANDONED):
        return Outcome("rollback", [f"{migration_id}: already {status}"], document)
    published = status == PUBLISHED
    cut = w.machine.is_done(document, "cutover") or bool(w.machine.step(document, "cutover"))
    if status != ACTIVE and not published:
        raise OutOfOrder(f"migration {migration_id!r} is {status}: nothing to roll back")
    if cut and not published and not writer:
        raise Refused(
            "the loader writes to the new location since the cutover: roll back with --writer "
            "(the consumer entry was never changed)"
        )
    source, old = document["source"], document["from"]
    plan = []
    if published:
        plan.append(f"consumer entry of {source} back to {_url(old['entry'])}")
    if writer and cut:
        plan.append(f"writer entry of {source} back to {_url(old)}")
    if dry_run:
        return Outcome(
            "rollback", ["would restore:", *plan] if plan else ["would abandon"], {}, True
        )
    step = w.machine.begin(migration_id, "rollback", {"at": iso(w.clock()), "writer": writer})
    bring_up_to_date(w.registry, "sources.json", f"writers/{source}.json")
    if published:
        _restore_consumer(w, document, force)
    if writer and cut:
        _restore_writer(w, document, step["at"], force)
    lines = [f"{migration_id}: restored " + "; ".join(plan) if plan else "abandoned"]
    if cut and writer:
        cutover_at = w.machine.step(document, "cutover").get("at", step["at"])
        lines.append(
            f"records the loader wrote to {_url(document['to'])} between {cutover_at} and "
            f"{step['at']} are not in {_url(old)}: backfill that window into the old location "
            "(docs/migration.md, rollback)"
        )
    final = ROLLED_BACK if published else ABANDONED
    done = w.machine.finish(migration_id, "rollback", {"restored": plan}, status=final)
    return Outcome("rollback", lines, done)


def _restore_consumer(w: Workflow, document: Document, force: bool) -> None:
    registry, source = w.registry, document["source"]
    previous, published = document["from"]["entry"], published_entry(document)
    revision = registry.revision()
    current = registry.source(source).to_json()
    if current == previous:
        return
    if current != published and not force:
        raise Refused(
            f"the consumer entry of {source} is {_url(current)}, changed since publish; pass "
            "--force to restore the old entry anyway"
        )
    try:
        registry.put_source(
            source, previous, expected=revision, reason=f"migration {document['id']}: rollback"
        )
    except RegistryConflict as exc:
        raise MigrationConflict(str(exc)) from None


def _restore_writer(w: Workflow, document: Document, at: str, force: bool) -> None:
    registry, source = w.registry, document["source"]
    old, new = document["from"], document["to"]
    revision = registry.writer_revision(source)
    current = registry.writer_entry(source).to_json()
    if _where(current) == _where(old):
        return
    if _where(current) != _where(new) and not force:
        raise Refused(
            f"the writer entry of {source} points at {_url(current)}, not the new location; "
            "pass --force to restore the old one anyway"
        )
    try:
        registry.put_writer(
            source,
            _writer(old, at),
            expected=revision,
            reason=f"migration {document['id']}: rollback",
        )
    except RegistryConflict as exc:
        raise MigrationConflict(str(exc)) from None
