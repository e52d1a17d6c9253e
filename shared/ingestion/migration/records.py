"""Where migrations are recorded: one state document per migration in the metadata location,
beside the registry, changed only by compare-and-swap::

    migrations/{id}.json          the state document (every step's intent and result)
    migrations/{id}.md            a readable summary, rewritten from it after each change
    migrations/reservations.json  which migration holds which bucket/prefix

A write carries the generation the writer read; a lost race is a ``MigrationConflict`` and
nothing is written, so two processes can never both advance one migration.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from ..adapters.storage.objects import Bucket, ObjectInfo, ObjectNotFound, PreconditionFailed
from .errors import MigrationConflict, Refused, UnknownMigration

FOLDER = "migrations"
RESERVATIONS = "reservations"
MIGRATION_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
Document = dict[str, Any]


def check_id(migration_id: str) -> str:
    if not isinstance(migration_id, str) or not MIGRATION_ID.fullmatch(migration_id):
        raise Refused(
            f"migration id {str(migration_id)[:60]!r} must be 1-48 lowercase letters, digits "
            "or '-', beginning with a letter or digit"
        )
    if migration_id == RESERVATIONS:
        raise Refused(f"{RESERVATIONS!r} is the name of the reservations document")
    return migration_id


def dump(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


class Records:
    """The migration documents of one metadata location (``bucket`` under ``root``)."""

    def __init__(self, bucket: Bucket, root: str = "") -> None:
        self.bucket = bucket
        self.folder = f"{root}/{FOLDER}" if root else FOLDER

    def path(self, migration_id: str, suffix: str = ".json") -> str:
        return f"{self.folder}/{check_id(migration_id)}{suffix}"

    def where(self, migration_id: str) -> str:
        return f"{self.bucket!r}:{self.path(migration_id)}"

    # -- state documents -------------------------------------------------------------------------

    def read(self, migration_id: str) -> tuple[Document, str]:
        try:
            data, generation = self.bucket.read_current(self.path(migration_id))
        except ObjectNotFound:
            raise UnknownMigration(f"no migration {migration_id!r} in {self.folder}/") from None
        return orjson.loads(data), generation

    def exists(self, migration_id: str) -> bool:
        try:
            self.bucket.stat(self.path(migration_id))
        except ObjectNotFound:
            return False
        return True

    def create(self, migration_id: str, document: Document) -> str:
        try:
            return self.bucket.write(self.path(migration_id), dump(document), "0")
        except PreconditionFailed:
            raise MigrationConflict(
                f"migration {migration_id!r} was created by another process at the same time"
            ) from None

    def write(self, migration_id: str, document: Document, generation: str) -> str:
        try:
            return self.bucket.write(self.path(migration_id), dump(document), generation)
        except PreconditionFailed:
            raise MigrationConflict(
                f"migration {migration_id!r} was changed by another process while this one "
                "worked on it; nothing more was written: see `ingestion migrate status "
                f"{migration_id}` and run the step again"
            ) from None

    def change(
        self, migration_id: str, update: Callable[[Document], Document]
    ) -> tuple[Document, str]:
        """Read, ``update`` a copy, write it back with compare-and-swap."""
        document, generation = self.read(migration_id)
        changed = update(copy.deepcopy(document))
        return changed, self.write(migration_id, changed, generation)

    def ids(self) -> list[str]:
        found = []
        for item in self.bucket.list(f"{self.folder}/", delimiter="/"):
            if isinstance(item, ObjectInfo) and item.name.endswith(".json"):
                stem = item.name[len(self.folder) + 1 : -len(".json")]
                if MIGRATION_ID.fullmatch(stem) and stem != RESERVATIONS:
                    found.append(stem)
        return sorted(found)

    def documents(self) -> Iterator[Document]:
        for migration_id in self.ids():
            try:
                yield self.read(migration_id)[0]
            except UnknownMigration:
                continue  # removed since listed

    def write_summary(self, migration_id: str, text: str) -> None:
        # Derived from the state document: the last writer's copy is as good as any.
        self.bucket.write(self.path(migration_id, ".md"), text.encode(), None)

    # -- reservations ----------------------------------------------------------------------------

    def reservations(self) -> tuple[Document, str]:
        name = f"{self.folder}/{RESERVATIONS}.json"
        try:
            data, generation = self.bucket.read_current(name)
        except ObjectNotFound:
            return {}, "0"
        return orjson.loads(data), generation

    def reserve(self, key: str, holder: Document, overlaps: Callable[[str, str], bool]) -> None:
        """Record that ``holder`` (its ``migration`` id) holds ``key`` (``bucket/prefix``);
        refused when another holder holds it or a prefix overlapping it."""
        name = f"{self.folder}/{RESERVATIONS}.json"
        for _ in range(20):  # concurrent reservations of other prefixes: read again and retry
            held, generation = self.reservations()
            for other, owner in held.items():
                if owner.get("migration") != holder["migration"] and overlaps(other, key):
                    raise Refused(
                        f"gs://{key} overlaps gs://{other}, reserved by migration "
                        f"{owner.get('migration')!r} of source {owner.get('source')!r}"
                    )
            if held.get(key, {}).get("migration") == holder["migration"]:
                return
            try:
                self.bucket.write(name, dump({**held, key: holder}), generation)
                return
            except PreconditionFailed:
                continue
        raise MigrationConflict("reservations.json keeps changing; try again")
