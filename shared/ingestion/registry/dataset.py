"""``Dataset``: a source's objects and records, found through the registry.

    Dataset.from_source("telemetry", registry=Registry.open("gs://metadata"))
        .where(document_type="main", submission_date=lambda day: day >= "2026_01_01")
        .records()

A source's data lives under ``{bucket}/{prefix}/{dim1}/…/{dimN}/``, one level per dimension of
its ``schema.json`` (``core.partitions``). The listing walks one level at a time with delimiter
listings, keeps the folders whose level passes that dimension's clause, and stops descending
once no clause is left: everything below the folders kept is then listed in one go.

A clause is an exact value (sanitised with ``core.partitions.sanitize``, as the writers did, and
refused when the dimension could never hold it), a set of values, a ``{"min", "max"}`` range
(the forms of ``allowed_values``), or a predicate called with each level's (sanitised) value.
``UNKNOWN`` (missing) and ``OTHER`` (not allowed) are selected by name (or by a predicate),
never by a range, although they sort like any string. Dimensions are
named as the decoder names the attributes; the historical camelCase names work too.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from isal import igzip

from ..adapters.storage.objects import Bucket, ObjectInfo
from ..core.lines import is_content, message_from_line
from ..core.message import Message
from ..core.partitions import OTHER, UNKNOWN, WILDCARD, Dimension, allows, sanitize
from .documents import canonical_field
from .errors import QueryError
from .store import Registry

Clause = Callable[[str], bool]
GZIP_MAGIC = b"\x1f\x8b"


@dataclasses.dataclass(frozen=True, slots=True)
class StoredObject:
    bucket: str
    name: str
    size: int


@dataclasses.dataclass(frozen=True, slots=True)
class Partition:
    """A folder the walk selected: its prefix (ending in ``/``) and the levels above it."""

    prefix: str
    values: tuple[str, ...]  # one per dimension walked, in order


class Dataset:
    def __init__(
        self,
        source: str,
        bucket_name: str,
        bucket: Bucket,
        prefix: str,
        dimensions: tuple[Dimension, ...],
        clauses: Mapping[str, Clause] | None = None,
    ) -> None:
        self.source = source
        self.bucket_name = bucket_name
        self._bucket = bucket
        self.prefix = prefix.strip("/")
        self.dimensions = dimensions
        self._clauses: dict[str, Clause] = dict(clauses or {})

    @classmethod
    def from_source(cls, name: str, *, registry: Registry) -> Dataset:
        """The dataset ``sources.json`` points readers at for source ``name``."""
        entry = registry.source(name)
        dimensions = registry.schema(name).dimensions()
        bucket = registry.data_bucket(entry.bucket)
        return cls(name, entry.bucket, bucket, entry.prefix, dimensions)

    def __repr__(self) -> str:
        return f"Dataset({self.source!r}: {self.bucket_name}/{self.prefix})"

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(dimension.field_name for dimension in self.dimensions)

    def where(self, **conditions: Any) -> Dataset:
        """A narrower dataset: one clause per dimension (see the module docstring)."""
        clauses = dict(self._clauses)
        for given, condition in conditions.items():
            name = canonical_field(given)
            dimension = next((d for d in self.dimensions if d.field_name == name), None)
            if dimension is None:
                raise QueryError(
                    f"source {self.source!r} has no dimension {given!r} "
                    f"(its dimensions: {', '.join(self.dimension_names) or 'none'})"
                )
            if name in clauses:
                raise QueryError(
                    f"source {self.source!r}: there should be only one clause for {name!r}"
                )
            clauses[name] = self._clause(dimension, condition)
        return Dataset(
            self.source, self.bucket_name, self._bucket, self.prefix, self.dimensions, clauses
        )

    def _clause(self, dimension: Dimension, condition: Any) -> Clause:
        if callable(condition):
            return condition
        if isinstance(condition, set | frozenset):
            condition = sorted(condition)
        exact = [condition] if isinstance(condition, str) else []
        if isinstance(condition, list | tuple):
            exact = [value for value in condition if isinstance(value, str)]
        for value in exact:
            if value != WILDCARD and not self._can_hold(dimension, value):
                raise QueryError(
                    f"source {self.source!r}: dimension {dimension.field_name!r} does not allow "
                    f"{value!r}, so nothing is stored under it"
                )
        if isinstance(condition, Mapping):  # bounds are values too: sanitised like them
            condition = {k: sanitize(v) if isinstance(v, str) else v for k, v in condition.items()}
        try:
            test = allows(condition)
        except ValueError as exc:
            raise QueryError(
                f"source {self.source!r}, dimension {dimension.field_name!r}: {exc}"
            ) from None
        if isinstance(condition, Mapping):  # a range is about values: not the substitutes
            return lambda level: level not in (UNKNOWN, OTHER) and test(level)
        return test

    @staticmethod
    def _can_hold(dimension: Dimension, value: str) -> bool:
        """Whether a writer could have written ``value`` as this dimension's level."""
        cleaned = sanitize(value)
        return (
            cleaned in (UNKNOWN, OTHER) or dimension.level({dimension.field_name: value}) == cleaned
        )

    # -- listing -------------------------------------------------------------------------------

    def partitions(self) -> Iterator[Partition]:
        """The folders the clauses select, at the depth where the walk stops (the deepest
        dimension with a clause; the prefix itself when there is none)."""
        depth = max(
            (i + 1 for i, d in enumerate(self.dimensions) if d.field_name in self._clauses),
            default=0,
        )
        level = [Partition(f"{self.prefix}/" if self.prefix else "", ())]
        for dimension in self.dimensions[:depth]:
            clause = self._clauses.get(dimension.field_name)
            found = []
            for partition in level:
                for item in self._bucket.list(partition.prefix, delimiter="/"):
                    if isinstance(item, str):
                        value = item[len(partition.prefix) :].removesuffix("/")
                        if clause is None or clause(value):
                            found.append(Partition(item, (*partition.values, value)))
            level = found
        yield from level

    def objects(self) -> Iterator[StoredObject]:
        """The objects under the selected partitions, with their sizes."""
        depth = len(self.dimensions)
        for partition in self.partitions():
            for item in self._bucket.list(partition.prefix):
                if isinstance(item, ObjectInfo) and item.name.count("/") - partition.prefix.count(
                    "/"
                ) == depth - len(partition.values):
                    yield StoredObject(self.bucket_name, item.name, item.size)

    def records(self, *, workers: int = 4) -> Iterator[Message]:
        """The messages in the selected objects (``json`` lines, gzip or not), object by
        object in listing order; ``workers`` objects are downloaded at a time."""
        yield from _records(self._bucket, self.objects(), workers)


def _records(bucket: Bucket, objects: Iterable[StoredObject], workers: int) -> Iterator[Message]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dataset") as pool:
        pending: deque[tuple[StoredObject, Future[bytes]]] = deque()
        listed = iter(objects)
        for item in listed:
            pending.append((item, pool.submit(bucket.read, item.name)))
            if len(pending) >= workers:  # read ahead at most ``workers`` objects
                yield from _lines(*_done(pending.popleft()))
        while pending:
            yield from _lines(*_done(pending.popleft()))


def _done(entry: tuple[StoredObject, Future[bytes]]) -> tuple[StoredObject, bytes]:
    return entry[0], entry[1].result()


def _lines(item: StoredObject, data: bytes) -> Iterator[Message]:
    if data.startswith(GZIP_MAGIC):
        try:
            data = igzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise QueryError(
                f"{item.bucket}/{item.name}: not a readable gzip file ({exc})"
            ) from exc
    for number, line in enumerate(data.splitlines(), start=1):
        if is_content(line):
            try:
                yield message_from_line(line)
            except ValueError as exc:
                raise QueryError(f"{item.bucket}/{item.name}, line {number}: {exc}") from exc
