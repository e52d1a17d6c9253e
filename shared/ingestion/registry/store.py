"""``Registry``: the registry documents in a metadata location, read and changed safely.

The metadata location holds (under an optional root prefix)::

    sources.json                      the consumer entries: where readers look
    writers/{source}.json             the writer entries: where the loader writes, and since when
    {metadata_prefix}/schema.json     each source's dimensions
    history/{document}/{n:08d}.json   every accepted version of each of those (``history.py``)

A source has two pointers. Readers follow its ``sources.json`` entry; the loader follows its
writer entry, which falls back to the consumer entry until one is written. A migration moves the
writer first (cutover) and the consumer entry last (publish); until then both are equal.

Every change is a compare-and-swap: ``expected`` names the revision the caller based it on (as
``show`` prints it), and a change whose source was changed since fails with
``RegistryConflict``. Changes to other sources in between do not conflict.
"""

from __future__ import annotations

import dataclasses
import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..adapters.storage.gcs_bucket import GcsBucket
from ..adapters.storage.local_bucket import LocalBucket
from ..adapters.storage.objects import Bucket, check_prefix, open_bucket
from ..core.partitions import Dimension
from .documents import (
    SourceEntry,
    StorageSchema,
    WriterEntry,
    check_bucket_name,
    check_metadata_prefix,
    check_source_name,
    parse_schema,
    parse_source,
    parse_sources,
    parse_writer,
)
from .errors import InvalidDocument, RegistryConflict, UnknownRevision, UnknownSource
from .history import Record, VersionedDocument, parse_revision

SOURCES = "sources.json"
SINCE_ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class WriterTarget:
    """Where a source's writer (the loader) writes."""

    source: str
    bucket: str
    prefix: str
    dimensions: tuple[Dimension, ...]
    version: str  # changes when the writer entry or its schema changes (see writer_version)
    effective_from: datetime


@dataclasses.dataclass(frozen=True)
class Change:
    """One recorded change of a source's entry (consumer or writer)."""

    revision: int
    time: datetime
    author: str
    reason: str
    entry: dict[str, Any] | None  # None: the source did not exist at that revision


class Registry:
    def __init__(
        self,
        bucket: Bucket,
        root: str = "",
        *,
        data_buckets: Callable[[str], Bucket] | None = None,
        author: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.root = check_prefix(root.strip("/"))
        self._data_buckets = data_buckets or _data_buckets_beside(bucket)
        self.author = author or _default_author()
        self._sources = VersionedDocument(bucket, self.root, SOURCES)
        self._schema_paths: dict[str, str] = {}  # writer pointer generation -> schema path

    @classmethod
    def open(cls, location: str, **options: Any) -> Registry:
        """The registry at ``gs://bucket[/root]`` or in a local directory."""
        bucket, root = open_bucket(location)
        return cls(bucket, root, **options)

    def __repr__(self) -> str:
        return f"Registry({self.bucket!r}, root={self.root!r})"

    def data_bucket(self, name: str) -> Bucket:
        """The bucket a source entry names (for a local registry: a directory beside it)."""
        return self._data_buckets(name)

    # -- consumer entries ----------------------------------------------------------------------

    def sources(self) -> dict[str, SourceEntry]:
        found = self._sources.read()
        return parse_sources(found[0], self._sources.path) if found else {}

    def source(self, name: str) -> SourceEntry:
        check_source_name(name)
        try:
            return self.sources()[name]
        except KeyError:
            raise UnknownSource(f"unknown source {name!r} in {self._where(SOURCES)}") from None

    def revision(self) -> int:
        """The latest revision of ``sources.json`` (0 before the first recorded change)."""
        return self._sources.revision()

    def put_source(
        self,
        name: str,
        entry: SourceEntry | dict[str, Any],
        *,
        expected: str | int | None,
        reason: str = "",
    ) -> int:
        """Set ``name``'s consumer entry; ``expected`` is the revision the change is based on
        (None: the source must not exist yet). Returns the new revision."""
        check_source_name(name)
        value = parse_source(name, entry.to_json() if isinstance(entry, SourceEntry) else entry)
        return self._change_entry(name, value.to_json(), expected, reason or f"put {name}")

    def remove_source(self, name: str, *, expected: str | int, reason: str = "") -> int:
        return self._change_entry(name, None, expected, reason or f"remove {name}")

    def history(self, name: str) -> list[Change]:
        """The revisions of ``sources.json`` that changed ``name``'s entry, oldest first."""
        check_source_name(name)
        changes: list[Change] = []
        for record in self._sources.records():
            entry = _entry(record.document, name)
            if not changes and entry is None:
                continue
            if not changes or changes[-1].entry != entry:
                changes.append(
                    Change(record.revision, record.time, record.author, record.reason, entry)
                )
        if not changes:
            raise UnknownSource(f"source {name!r} has no history in {self._where(SOURCES)}")
        return changes

    def rollback(self, name: str, *, to: str | int, reason: str = "") -> int:
        """Make ``name``'s entry what it was at revision ``to`` (a new revision)."""
        target = self._sources.record(parse_revision(to))
        entry = _entry(target.document, name)
        if entry is None:
            raise UnknownRevision(f"source {name!r} did not exist at revision {to}")
        latest = self.revision()
        return self._change_entry(name, entry, latest, reason or f"rollback {name} to {to}")

    def live_at(self, name: str, when: datetime) -> SourceEntry | None:
        """The consumer entry of ``name`` that was live at ``when`` (None: none was)."""
        live = None
        for change in self.history(name):
            if change.time > when:
                break
            live = change.entry
        return None if live is None else parse_source(name, live)

    def _change_entry(
        self, name: str, entry: dict[str, Any] | None, expected: str | int | None, reason: str
    ) -> int:
        base_entry = (
            None
            if expected is None
            else self._entry_at(name, parse_revision(expected, allow_zero=True))
        )

        def update(document: Any, revision: int) -> Any:
            current = dict(document or {})
            if current.get(name) != base_entry:
                raise RegistryConflict(
                    f"source {name!r} was changed after revision {expected} (now at revision "
                    f"{revision}); nothing was written: read it again and retry"
                    if expected is not None
                    else f"source {name!r} already exists (revision {revision}); "
                    "pass the revision you based the change on"
                )
            if entry is None:
                current.pop(name, None)
            else:
                current[name] = entry
            parse_sources(current, SOURCES)  # the whole document stays valid
            return current

        return self._sources.change(update, author=self.author, reason=reason).revision

    def _entry_at(self, name: str, revision: int) -> dict[str, Any] | None:
        return _entry(self._sources.document_at(revision), name)

    # -- schemas -------------------------------------------------------------------------------

    def schema(self, name: str) -> StorageSchema:
        return self._schema_at(name, self.source(name).metadata_prefix)

    def put_schema(
        self,
        metadata_prefix: str,
        schema: StorageSchema | dict[str, Any],
        *,
        expected: str | int | None,
        reason: str = "",
    ) -> int:
        """Set ``{metadata_prefix}/schema.json``; ``expected``: the revision the change is
        based on (None: there must be none yet)."""
        document = self._schema_document(metadata_prefix)
        value = schema.to_json() if isinstance(schema, StorageSchema) else schema
        parse_schema(metadata_prefix, value, document.path)
        return document.replace(value, expected, author=self.author, reason=reason or "put schema")

    def has_schema(self, metadata_prefix: str) -> bool:
        return self._schema_document(metadata_prefix).generation() is not None

    def schema_revision(self, metadata_prefix: str) -> int:
        """The latest revision of ``{metadata_prefix}/schema.json`` (0: none recorded)."""
        return self._schema_document(metadata_prefix).revision()

    def _schema_document(self, metadata_prefix: str) -> VersionedDocument:
        try:
            check_metadata_prefix(metadata_prefix)
        except ValueError as exc:
            raise InvalidDocument(f"metadata_prefix: {exc}") from None
        return VersionedDocument(self.bucket, self.root, f"{metadata_prefix}/schema.json")

    def _schema_at(self, name: str, metadata_prefix: str) -> StorageSchema:
        document = self._schema_document(metadata_prefix)
        found = document.read()
        if found is None:
            raise UnknownSource(f"source {name!r}: {self._where(document.path)} does not exist")
        return parse_schema(name, found[0], document.path)

    # -- writer entries ------------------------------------------------------------------------

    def _writer_document(self, name: str) -> VersionedDocument:
        return VersionedDocument(self.bucket, self.root, f"writers/{check_source_name(name)}.json")

    def writer_entry(self, name: str) -> WriterEntry:
        """The writer entry of ``name`` (the consumer entry, since always, when none was put)."""
        found = self._writer_document(name).read()
        if found is not None:
            return parse_writer(name, found[0], self._writer_document(name).path)
        source = self.source(name)
        return WriterEntry(
            bucket=source.bucket,
            prefix=source.prefix,
            metadata_prefix=source.metadata_prefix,
            effective_from=SINCE_ALWAYS,
        )

    def writer(self, name: str) -> WriterTarget:
        # The version first: if the entry changes while it is read, the next check sees a new
        # version and reads it again (the other order could miss the change for good).
        version = self.writer_version(name)
        entry = self.writer_entry(name)
        return WriterTarget(
            source=name,
            bucket=entry.bucket,
            prefix=entry.prefix,
            dimensions=self._schema_at(name, entry.metadata_prefix).dimensions(),
            version=version,
            effective_from=entry.effective_from,
        )

    def writer_version(self, name: str) -> str:
        """A token that changes when ``name``'s writer entry or its schema changes: two or three
        metadata calls (generations only), cheap enough to re-check every few seconds."""
        generation = self._writer_document(name).generation()
        pointer = f"{name}:w{generation}" if generation else f"{name}:c{self._sources.generation()}"
        metadata_prefix = self._schema_paths.get(pointer)
        if metadata_prefix is None:  # the pointer moved: one read to learn its schema's place
            metadata_prefix = self.writer_entry(name).metadata_prefix
            self._schema_paths[pointer] = metadata_prefix
            if len(self._schema_paths) > 64:  # about one entry per source a process writes
                self._schema_paths.pop(next(iter(self._schema_paths)))
        return f"{pointer}:s{self._schema_document(metadata_prefix).generation()}"

    def put_writer(
        self,
        name: str,
        entry: WriterEntry | dict[str, Any],
        *,
        expected: str | int | None,
        reason: str = "",
    ) -> int:
        """Set where ``name``'s writer writes; ``expected``: the writer entry's revision the
        change is based on (None: none was written yet)."""
        self.source(name)  # a writer entry belongs to a registered source
        document = self._writer_document(name)
        value = (
            entry if isinstance(entry, WriterEntry) else parse_writer(name, entry, document.path)
        )
        return document.replace(
            value.to_json(), expected, author=self.author, reason=reason or f"writer {name}"
        )

    def writer_revision(self, name: str) -> int:
        return self._writer_document(name).revision()

    def writer_history(self, name: str) -> list[Record]:
        return self._writer_document(name).records()

    # -- recovery ------------------------------------------------------------------------------

    def repair(self, *paths: str) -> None:
        """Bring documents up to date with their history (``sources.json`` when no path is
        given): a change is recorded first and copied onto its document after, so a writer that
        died in between leaves the document one change behind until the next change. Every
        command that changes the registry, and every resumed migration step, calls this first,
        so nothing is decided on a stale copy. Paths are relative to the registry's root."""
        for path in paths or (SOURCES,):
            check_prefix(path)
            VersionedDocument(self.bucket, self.root, path).publish()

    def _where(self, path: str) -> str:
        return f"{self.bucket!r}:{path if not self.root else self.root + '/' + path}"


def _entry(document: Any, name: str) -> dict[str, Any] | None:
    return document.get(name) if isinstance(document, dict) else None


def _data_buckets_beside(bucket: Bucket) -> Callable[[str], Bucket]:
    """Data buckets next to the metadata bucket: on the same Cloud Storage client, or, for a
    local metadata directory, directories beside it (a local directory stands for a project)."""
    if isinstance(bucket, GcsBucket):
        return lambda name: GcsBucket(bucket.client, check_bucket_name(name))
    if isinstance(bucket, LocalBucket):
        return lambda name: LocalBucket(Path(bucket.root).parent / check_bucket_name(name))
    raise TypeError(f"pass data_buckets= for a {type(bucket).__name__}")


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
