"""One registry document with compare-and-swap writes and its full history.

Each document (``sources.json``, ``writers/{source}.json``, ``{metadata_prefix}/schema.json``)
has a history folder ``history/{document}/`` holding one record per accepted version::

    history/sources.json/00000007.json
    {"revision": 7, "time": "2026-01-02T03:04:05.123456+00:00", "author": "...", "reason": "...",
     "previous_generation": "<generation of the document this change was based on>",
     "document": {...the whole document...}}

The history is the log and the document itself a copy of its latest record, so readers keep
reading the historical format at the historical place. A change:

1. reads the latest record (or, before the first one, the document as found: it becomes record
   1, so nothing written by hand before the registry was used is lost);
2. computes the new document from it (the caller's check of its ``expected`` revision runs
   here);
3. creates record ``n + 1`` with a create-only write (``if_generation="0"``): of concurrent
   changes based on record ``n`` exactly one creates it; the others start again from 1 (and,
   when their expectation no longer holds, fail with ``RegistryConflict``);
4. copies the latest record to the document with a compare-and-swap on the generation read
   *before* looking for the latest record, so a slower writer can never put an older record
   back over a newer one; whoever created the latest record copies it last.

A writer that dies between 3 and 4 leaves the document one record behind until the next change
copies it; the record is not lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from ..adapters.storage.objects import Bucket, ObjectInfo, ObjectNotFound, PreconditionFailed
from .errors import InvalidDocument, RegistryConflict, UnknownRevision

HISTORY = "history"
IMPORTED = "the document as found"  # the reason of a record 1 made from an unrecorded document
_ATTEMPTS = 20  # concurrent changes to one document before giving up with a conflict


@dataclasses.dataclass(frozen=True)
class Record:
    revision: int
    time: datetime
    author: str
    reason: str
    previous_generation: str | None
    document: Any  # the parsed JSON of the document

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "revision": self.revision,
                "time": self.time.isoformat(),
                "author": self.author,
                "reason": self.reason,
                "previous_generation": self.previous_generation,
                "document": self.document,
            },
            option=orjson.OPT_INDENT_2,
        )


def record_from_json(data: bytes, where: str) -> Record:
    try:
        value = orjson.loads(data)
        return Record(
            revision=int(value["revision"]),
            time=datetime.fromisoformat(value["time"]),
            author=str(value["author"]),
            reason=str(value["reason"]),
            previous_generation=value.get("previous_generation"),
            document=value["document"],
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidDocument(f"{where}: not a history record ({exc})") from exc


def dump(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


class VersionedDocument:
    """``path`` in ``bucket`` (relative to ``root``) and its history."""

    def __init__(self, bucket: Bucket, root: str, path: str) -> None:
        self._bucket = bucket
        self.path = f"{root}/{path}" if root else path
        self._history = f"{root}/{HISTORY}/{path}/" if root else f"{HISTORY}/{path}/"

    def __repr__(self) -> str:
        return f"VersionedDocument({self.path})"

    # -- reads ---------------------------------------------------------------------------------

    def read(self) -> tuple[bytes, str] | None:
        """The document's bytes and generation; None when it does not exist."""
        try:
            return self._bucket.read_current(self.path)
        except ObjectNotFound:
            return None

    def generation(self) -> str | None:
        """The document's generation (one metadata call); None when it does not exist."""
        try:
            return self._bucket.stat(self.path).generation
        except ObjectNotFound:
            return None

    def revisions(self) -> list[int]:
        """The revision numbers recorded, oldest first."""
        numbers = []
        for item in self._bucket.list(self._history, delimiter="/"):
            if isinstance(item, ObjectInfo):
                stem = item.name[len(self._history) :].removesuffix(".json")
                if stem.isdigit():
                    numbers.append(int(stem))
        return sorted(numbers)

    def record(self, revision: int) -> Record:
        name = self._record_name(revision)
        try:
            data = self._bucket.read(name)
        except (ObjectNotFound, ValueError) as exc:
            raise UnknownRevision(f"{self.path} has no revision {revision}") from exc
        return record_from_json(data, name)

    def records(self) -> list[Record]:
        return [self.record(revision) for revision in self.revisions()]

    def latest(self) -> Record | None:
        revisions = self.revisions()
        return self.record(revisions[-1]) if revisions else None

    def document_at(self, revision: int) -> Any:
        """The document as it was at ``revision`` (None: it did not exist). Revision 0 is the
        document before its first recorded change: as found, or as record 1 imported it."""
        if revision > 0:
            return self.record(revision).document
        if self.revisions():
            first = self.record(1)
            return first.document if first.reason == IMPORTED else None
        found = self.read()
        return _load(found[0], self.path) if found else None

    def revision(self) -> int:
        """The latest revision (0 before the first recorded change)."""
        revisions = self.revisions()
        return revisions[-1] if revisions else 0

    def _record_name(self, revision: int) -> str:
        if revision < 1:
            raise UnknownRevision(f"{self.path}: revisions are numbered from 1, not {revision}")
        return f"{self._history}{revision:08d}.json"

    # -- changes -------------------------------------------------------------------------------

    def change(
        self,
        update: Callable[[Any, int], Any],
        *,
        author: str,
        reason: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> Record:
        """Record ``update(current document or None, its revision)`` as the next revision and
        make it the document. ``update`` may raise (``RegistryConflict`` when the caller's
        expectation no longer holds); it may be called again after a lost race."""
        for _ in range(_ATTEMPTS):
            found = self.read()
            latest = self.latest() or self._import(found, now())
            base = latest.document if latest else None
            revision = latest.revision if latest else 0
            record = Record(
                revision=revision + 1,
                time=now(),
                author=author,
                reason=reason,
                previous_generation=found[1] if found else None,
                document=update(base, revision),
            )
            name, data = self._record_name(record.revision), record.to_json()
            try:
                self._bucket.write(name, data, "0")
            except PreconditionFailed:
                # A retried create whose first attempt had succeeded also ends here: it is ours
                # when the record holds exactly our bytes (our time to the microsecond).
                if self._bucket.read(name) != data:
                    continue  # another change took this revision: start again from it
            self.publish()
            return record
        raise RegistryConflict(
            f"{self.path}: {_ATTEMPTS} concurrent changes won in a row; nothing was written, "
            "try again"
        )

    def replace(self, value: Any, expected: str | int | None, *, author: str, reason: str) -> int:
        """Make the document ``value`` if it is still what it was at revision ``expected``
        (None: if it does not exist); returns the new revision."""
        base = (
            None
            if expected is None
            else self.document_at(parse_revision(expected, allow_zero=True))
        )

        def update(current: Any, revision: int) -> Any:
            if current != base:
                raise RegistryConflict(
                    f"{self.path} was changed after revision {expected} (now at revision "
                    f"{revision}); nothing was written: read it again and retry"
                    if expected is not None
                    else f"{self.path} already exists (revision {revision}); "
                    "pass the revision you based the change on"
                )
            return value

        return self.change(update, author=author, reason=reason).revision

    def publish(self) -> None:
        """Copy the latest record to the document (no-op when they agree)."""
        for _ in range(_ATTEMPTS):
            found = self.read()  # read before looking for the latest record: see the docstring
            latest = self.latest()
            if latest is None:
                return
            if found is not None and orjson.loads(found[0]) == latest.document:
                return
            try:
                self._bucket.write(self.path, dump(latest.document), found[1] if found else "0")
            except PreconditionFailed:
                continue
            return
        raise RegistryConflict(f"{self.path}: could not be brought up to date; try again")

    def _import(self, found: tuple[bytes, str] | None, time: datetime) -> Record | None:
        """Record 1 for a document that existed before its first recorded change."""
        if found is None:
            return None
        record = Record(
            1, time, "registry", "the document as found", found[1], _load(found[0], self.path)
        )
        try:
            self._bucket.write(self._record_name(1), record.to_json(), "0")
        except PreconditionFailed:
            return self.latest()  # another change imported it first
        return record


def parse_revision(value: str | int, *, allow_zero: bool = False) -> int:
    """A revision number given as text or int (0, "before any record", only when allowed)."""
    try:
        revision = int(value)
    except (TypeError, ValueError):
        raise UnknownRevision(f"{value!r} is not a revision number") from None
    if revision < (0 if allow_zero else 1):
        raise UnknownRevision(f"{value!r} is not a revision number")
    return revision


def _load(data: bytes, where: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidDocument(f"{where}: not JSON ({exc})") from exc
