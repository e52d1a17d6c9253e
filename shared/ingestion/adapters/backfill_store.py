"""Backfill run and chunk state: Firestore documents, and an in-memory twin for unit tests.

One document per run (``{collection}/{run_id}``: the request, the plan summary, the state) and
one per chunk below it (``{collection}/{run_id}/chunks/{chunk_id}``: the byte range, the state,
attempts, the checkpoint, counts). Documents are plain dicts here; what the fields mean and
which transitions are allowed is the backfill package's business: ``transact`` runs its update
function on the current document inside a transaction, so a claim or a checkpoint is
read-modify-write with no lost update between two workers of the same chunk.

``query_chunks`` answers questions about a run's chunks without reading each one: chunks whose
field has a value (``count()``), the sum of a field (``sum()``), the first few chunks by a field
(a limited, ordered query). Each question is one field's query, so the single-field indexes
Firestore keeps by itself answer it (no composite index); an aggregation is billed one read per
1,000 index entries it scans (at least one), a limited query one read per chunk it returns. All
questions are answered in one read-only transaction: one snapshot of the run.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud import firestore

Document = dict[str, Any]
# Returns the fields to write (merged into the document), or None to leave it as it is.
Update = Callable[[Document | None], Document | None]

DEFAULT_COLLECTION = "backfill-runs"
CHUNKS = "chunks"
# A run's dedup marks: {key: document}, keys chosen by the caller. A TTL policy on this
# collection group (terraform/modules/backfill) deletes a mark after its EXPIRE_FIELD time: the
# name is specific because a TTL policy covers every collection of that id in the database.
MARKS = "backfill-marks"
EXPIRE_FIELD = "expire_at"
DEFAULT_MARK_DAYS = 30.0
# Writes per commit: Firestore allows 500; leave room.
BATCH_WRITES = 400


@dataclasses.dataclass(frozen=True)
class Firsts:
    """The first ``limit`` chunks with a positive number in ``field``, ordered by it (then by
    chunk id, both ascending or both descending), each with only its ``keep`` (top-level)
    fields."""

    field: str
    limit: int
    descending: bool = False
    keep: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ChunkQuery:
    """Questions about a run's chunks; fields are dotted paths (``counts.records``)."""

    counts: tuple[tuple[str, str], ...] = ()  # (field, value): how many chunks have it
    sums: tuple[str, ...] = ()  # field: the sum of its positive numbers over the chunks
    firsts: tuple[Firsts, ...] = ()


@dataclasses.dataclass(frozen=True)
class ChunkAnswer:
    counts: dict[tuple[str, str], int]
    sums: dict[str, int | float]
    firsts: dict[Firsts, list[tuple[str, Document]]]


def answer_from_documents(
    query: ChunkQuery, chunks: Iterable[tuple[str, Mapping[str, Any]]]
) -> ChunkAnswer:
    """What Firestore answers to ``query``, computed from the chunk documents themselves."""
    chunks = list(chunks)
    counts = {
        (field, value): sum(1 for _, doc in chunks if _field(doc, field) == value)
        for field, value in query.counts
    }
    sums = {
        field: _whole(sum(value for value, _, _ in _positives(chunks, field)))
        for field in query.sums
    }
    firsts: dict[Firsts, list[tuple[str, Document]]] = {}
    for first in query.firsts:
        found = sorted(_positives(chunks, first.field), reverse=first.descending)
        firsts[first] = [
            (chunk_id, {key: copy.deepcopy(doc[key]) for key in first.keep if key in doc})
            for _, chunk_id, doc in found[: first.limit]
        ]
    return ChunkAnswer(counts, sums, firsts)


def _positives(
    chunks: Sequence[tuple[str, Mapping[str, Any]]], field: str
) -> list[tuple[int | float, str, Mapping[str, Any]]]:
    """(value, chunk id, document) of the chunks whose ``field`` is a positive number."""
    found = []
    for chunk_id, doc in chunks:
        value = _field(doc, field)
        if _positive(value):
            found.append((value, chunk_id, doc))
    return found


def _field(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _positive(value: Any) -> bool:
    """What Firestore's ``> 0`` matches: numbers only (a boolean is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _whole(value: float) -> int | float:
    """Firestore sums nothing to 0.0 and integers past 2**63 to a double: keep integers whole."""
    return int(value) if float(value).is_integer() else value


class FirestoreBackfillStore:
    def __init__(
        self,
        client: firestore.Client,
        collection: str = DEFAULT_COLLECTION,
        timeout: float = 30,
        mark_days: float = DEFAULT_MARK_DAYS,
    ) -> None:
        self._client = client
        self._runs = client.collection(collection)
        self._timeout = timeout
        self._mark_lifetime = datetime.timedelta(days=mark_days)

    def _chunks(self, run_id: str) -> Any:
        return self._runs.document(run_id).collection(CHUNKS)

    def get_run(self, run_id: str) -> Document | None:
        snapshot = self._runs.document(run_id).get(timeout=self._timeout)
        return snapshot.to_dict() if snapshot.exists else None

    def create_run(self, run_id: str, document: Document) -> bool:
        """Create the run's document; False (and nothing written) if it exists already."""
        from google.api_core.exceptions import AlreadyExists

        try:
            self._runs.document(run_id).create(document, timeout=self._timeout)
        except AlreadyExists:
            return False
        return True

    def update_run(self, run_id: str, fields: Document) -> None:
        self._runs.document(run_id).set(fields, merge=True, timeout=self._timeout)

    def put_chunks(self, run_id: str, chunks: Sequence[tuple[str, Document]]) -> None:
        """Write (overwrite) chunk documents, ``BATCH_WRITES`` per commit."""
        self._write(run_id, ((chunk_id, doc, False) for chunk_id, doc in chunks))

    def update_chunks(self, run_id: str, chunk_ids: Iterable[str], fields: Document) -> None:
        self._write(run_id, ((chunk_id, fields, True) for chunk_id in chunk_ids))

    def _write(self, run_id: str, writes: Iterable[tuple[str, Document, bool]]) -> None:
        chunks = self._chunks(run_id)
        batch, pending = self._client.batch(), 0
        for chunk_id, document, merge in writes:
            batch.set(chunks.document(chunk_id), document, merge=merge)
            pending += 1
            if pending == BATCH_WRITES:
                batch.commit(timeout=self._timeout)
                batch, pending = self._client.batch(), 0
        if pending:
            batch.commit(timeout=self._timeout)

    def chunks(self, run_id: str) -> list[tuple[str, Document]]:
        return [
            (snapshot.id, snapshot.to_dict())
            for snapshot in self._chunks(run_id).stream(timeout=self._timeout)
        ]

    def query_chunks(self, run_id: str, query: ChunkQuery) -> ChunkAnswer:
        """``query`` answered by aggregation and limited queries in one read-only transaction."""
        from google.cloud import firestore
        from google.cloud.firestore_v1.base_query import FieldFilter

        chunks = self._chunks(run_id)
        timeout = self._timeout

        def where(field: str, op: str, value: Any) -> Any:
            return chunks.where(filter=FieldFilter(field, op, value))

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> ChunkAnswer:
            def aggregated(aggregation: Any) -> Any:
                [[result]] = aggregation.get(transaction=transaction, timeout=timeout)
                return result.value

            counts = {
                (field, value): int(aggregated(where(field, "==", value).count()))
                for field, value in query.counts
            }
            sums = {
                field: _whole(aggregated(where(field, ">", 0).sum(field))) for field in query.sums
            }
            firsts: dict[Firsts, list[tuple[str, Document]]] = {}
            for first in query.firsts:
                descending = first.descending
                direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
                ordered = where(first.field, ">", 0).order_by(first.field, direction=direction)
                limited = ordered.limit(first.limit).select(list(first.keep))
                firsts[first] = [
                    (snapshot.id, snapshot.to_dict() or {})
                    for snapshot in limited.stream(transaction=transaction, timeout=timeout)
                ]
            return ChunkAnswer(counts, sums, firsts)

        answer: ChunkAnswer = run(self._client.transaction(read_only=True))
        return answer

    def get_marks(self, run_id: str, keys: Sequence[str]) -> dict[str, Document]:
        """The marks that exist among ``keys`` (one ``get_all``)."""
        marks = self._runs.document(run_id).collection(MARKS)
        references = [marks.document(key) for key in dict.fromkeys(keys)]
        if not references:
            return {}
        found = self._client.get_all(references, timeout=self._timeout)
        return {snapshot.id: snapshot.to_dict() for snapshot in found if snapshot.exists}

    def put_marks(self, run_id: str, marks: Sequence[tuple[str, Document]]) -> None:
        collection = self._runs.document(run_id).collection(MARKS)
        expire = datetime.datetime.now(datetime.UTC) + self._mark_lifetime
        batch, pending = self._client.batch(), 0
        for key, document in marks:
            batch.set(collection.document(key), {**document, EXPIRE_FIELD: expire})
            pending += 1
            if pending == BATCH_WRITES:
                batch.commit(timeout=self._timeout)
                batch, pending = self._client.batch(), 0
        if pending:
            batch.commit(timeout=self._timeout)

    def transact(self, run_id: str, chunk_id: str, update: Update) -> Document | None:
        """Apply ``update`` to the chunk's document atomically; the document after it (None
        if there is no such chunk and ``update`` wrote nothing)."""
        from google.cloud import firestore

        reference = self._chunks(run_id).document(chunk_id)

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> Document | None:
            snapshot = reference.get(transaction=transaction)
            current = snapshot.to_dict() if snapshot.exists else None
            fields = update(copy.deepcopy(current))
            if fields is None:
                return current
            transaction.set(reference, fields, merge=True)
            return {**(current or {}), **fields}

        result: Document | None = run(self._client.transaction())
        return result


class InMemoryBackfillStore:
    """The same contract in a dict, for unit tests and the benchmark (one process only)."""

    def __init__(self) -> None:
        self.runs: dict[str, Document] = {}
        self.chunk_docs: dict[str, dict[str, Document]] = {}
        self.marks: dict[str, dict[str, Document]] = {}
        self._lock = threading.Lock()

    def get_marks(self, run_id: str, keys: Sequence[str]) -> dict[str, Document]:
        with self._lock:
            marks = self.marks.get(run_id, {})
            return {key: dict(marks[key]) for key in keys if key in marks}

    def put_marks(self, run_id: str, marks: Sequence[tuple[str, Document]]) -> None:
        with self._lock:
            self.marks.setdefault(run_id, {}).update((k, dict(v)) for k, v in marks)

    def get_run(self, run_id: str) -> Document | None:
        with self._lock:
            return copy.deepcopy(self.runs.get(run_id))

    def create_run(self, run_id: str, document: Document) -> bool:
        with self._lock:
            if run_id in self.runs:
                return False
            self.runs[run_id] = copy.deepcopy(document)
            self.chunk_docs.setdefault(run_id, {})
            return True

    def update_run(self, run_id: str, fields: Document) -> None:
        with self._lock:
            self.runs.setdefault(run_id, {}).update(copy.deepcopy(fields))

    def put_chunks(self, run_id: str, chunks: Sequence[tuple[str, Document]]) -> None:
        with self._lock:
            docs = self.chunk_docs.setdefault(run_id, {})
            for chunk_id, document in chunks:
                docs[chunk_id] = copy.deepcopy(document)

    def update_chunks(self, run_id: str, chunk_ids: Iterable[str], fields: Document) -> None:
        with self._lock:
            docs = self.chunk_docs.setdefault(run_id, {})
            for chunk_id in chunk_ids:
                docs.setdefault(chunk_id, {}).update(copy.deepcopy(fields))

    def chunks(self, run_id: str) -> list[tuple[str, Document]]:
        with self._lock:
            return copy.deepcopy(list(self.chunk_docs.get(run_id, {}).items()))

    def query_chunks(self, run_id: str, query: ChunkQuery) -> ChunkAnswer:
        with self._lock:
            return answer_from_documents(query, self.chunk_docs.get(run_id, {}).items())

    def transact(self, run_id: str, chunk_id: str, update: Update) -> Document | None:
        with self._lock:
            docs = self.chunk_docs.setdefault(run_id, {})
            current = docs.get(chunk_id)
            fields = update(copy.deepcopy(current))
            if fields is None:
                return copy.deepcopy(current)
            docs[chunk_id] = {**(current or {}), **copy.deepcopy(fields)}
            return copy.deepcopy(docs[chunk_id])
