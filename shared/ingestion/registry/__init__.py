"""The data-source registry: where each source's data lives and how it is laid out.

- ``documents``: ``sources.json`` and ``schema.json``, validated (pydantic models);
- ``history``: one document with compare-and-swap writes and every accepted version kept;
- ``store``: ``Registry`` (consumer and writer entries, schemas, history, rollback);
- ``dataset``: ``Dataset.from_source(...).where(...).objects() / .records()``.

Guide: docs/registry.md.
"""

from __future__ import annotations

from .dataset import Dataset, Partition, StoredObject
from .documents import FIELD_ALIASES, SourceEntry, StorageSchema, WriterEntry
from .errors import (
    InvalidDocument,
    QueryError,
    RegistryConflict,
    RegistryError,
    UnknownRevision,
    UnknownSource,
)
from .store import Change, Registry, WriterTarget

__all__ = [
    "FIELD_ALIASES",
    "Change",
    "Dataset",
    "InvalidDocument",
    "Partition",
    "QueryError",
    "Registry",
    "RegistryConflict",
    "RegistryError",
    "SourceEntry",
    "StorageSchema",
    "StoredObject",
    "UnknownRevision",
    "UnknownSource",
    "WriterEntry",
    "WriterTarget",
]
