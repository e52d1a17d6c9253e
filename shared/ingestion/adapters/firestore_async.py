"""The Firestore deduplication store for one asyncio event loop: the same marks as
``firestore_dedup`` (document id, fields, TTL, expiry, failure modes: one copy of each rule, shared
with it), but the checks and marks of concurrent requests travel together.

Why: on the synchronous store every message costs two RPCs of its own (a ``get`` of ~0.9 ms CPU and
a ``set`` of ~1.1 ms). Measured, one ``get_all`` of 10–100 documents costs 0.09–0.17 ms a document
instead of 0.71, and one batched write 0.06–0.11 ms a mark instead of 0.42. So ``is_duplicate`` and
``mark_delivered`` submit their document to a micro-batcher (made by the injected factory: this
module may not import ``ingestion.service``), which sends whatever was queued as soon as the
previous RPC of its kind returned:

- **reads**: one ``BatchGetDocuments`` of the batch's documents (only ``expire_at``), answers
  mapped back to the requests by document name; a missing document is no mark. At most
  ``max_reads_per_batch`` (100) documents: the measured gain is already flat between 10 and 100,
  while a larger batch only makes one response longer and puts more requests behind one deadline
  and one failure; and 100 a read RPC is still far above what one instance can decode.
- **writes**: one non-atomic ``BatchWrite`` RPC of full-document writes (what ``set`` sends), at
  most 500 (Firestore's limit for one request). Each write has its own status, so a failed write
  fails only its own mark. The library has no public non-atomic batch write but ``BulkWriter``,
  which in a prototype silently lost 10–19 of 300 writes and is ruled out; an atomic ``WriteBatch``
  would let one bad write fail all.

Both RPCs are sent as raw protobuf messages on the channel the ``AsyncClient`` holds
(``_FirestoreRpcs``), with the database path and metadata it would send itself: measured at 10
documents a batch, the library's ``get_all`` (snapshots, proto-plus wrappers, value decoding) and
its GAPIC wrapper cost 0.19 ms of CPU a document against 0.08 this way, and a mark 0.08–0.1
against 0.04. The two fields of a mark are encoded here, checked byte for byte against what
``DocumentReference.set`` stores (tests): both stores read each other's marks.

Deadlines and failures are the synchronous store's, per request: every RPC has the short deadline
and ``retry=None``; a Firestore error is logged (its class and a bounded message, never a uri),
counted, then either ignored (``deliver``) or raised as ``DedupUnavailable`` (``retry``). A failed
RPC fails each of its requests this way (it is not sent again item by item: the batcher does that
only for errors that are not Firestore's, which are bugs and reach the caller as they are).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import grpc
from google.api_core import exceptions as api_exceptions
from google.api_core.gapic_v1 import routing_header
from google.cloud.firestore_v1 import _helpers as firestore_helpers
from google.cloud.firestore_v1.types import Document, Write
from google.cloud.firestore_v1.types import firestore as firestore_types

from .batching import BatcherFactory
from .dedup import DEFAULT_WINDOW_SECONDS
from .firestore_dedup import (
    DEFAULT_COLLECTION,
    DEFAULT_TIMEOUT_SECONDS,
    EXPIRE_AT_FIELD,
    MAX_LOGGED_ERROR_CHARS,
    STORE_ERRORS,
    DedupUnavailable,
    FirestoreDedupRules,
    document_id,
    utc_now,
)

if TYPE_CHECKING:
    from google.cloud import firestore

__all__ = ["AsyncFirestoreDedupStore", "DedupUnavailable"]

log = logging.getLogger(__name__)

DEFAULT_MAX_READS_PER_BATCH = 100
MAX_WRITES_PER_BATCH = 500  # Firestore's limit for one BatchWrite request
DEFAULT_WARM_TIMEOUT_SECONDS = 10.0
# The warm-up reads this id: marks are 64 hex digits, so no document by this name is ever a mark.
WARM_UP_DOCUMENT_ID = "warm-up"


@dataclass(frozen=True, slots=True)
class _Failed:
    """A Firestore error as one request's outcome: returned, not raised by the batcher, as every
    request of a failed RPC shares the one error."""

    error: Exception


class _Mark(NamedTuple):
    document_id: str
    fields: dict[str, Any]


_ReadOutcome = Mapping[str, Any] | None | _Failed


_GetRequest = firestore_types.BatchGetDocumentsRequest.pb()
_GetResponse = firestore_types.BatchGetDocumentsResponse.pb()
_WriteRequest = firestore_types.BatchWriteRequest.pb()
_WriteResponse = firestore_types.BatchWriteResponse.pb()
_WritePb = Write.pb()
_DocumentPb = Document.pb()


class _FirestoreRpcs:
    """``BatchGetDocuments`` and ``BatchWrite`` as raw protobuf calls on ``client``'s channel,
    with its metadata and the routing header its GAPIC client adds; a gRPC error comes out as the
    ``google.api_core`` exception the library would raise."""

    def __init__(self, client: firestore.AsyncClient) -> None:
        self.database = client._database_string
        self.metadata = (
            *client._rpc_metadata,
            routing_header.to_grpc_metadata((("database", self.database),)),
        )
        channel = client._firestore_api.transport.grpc_channel
        service = "/google.firestore.v1.Firestore"
        self._get = channel.unary_stream(
            f"{service}/BatchGetDocuments",
            request_serializer=_GetRequest.SerializeToString,
            response_deserializer=_GetResponse.FromString,
        )
        self._write = channel.unary_unary(
            f"{service}/BatchWrite",
            request_serializer=_WriteRequest.SerializeToString,
            response_deserializer=_WriteResponse.FromString,
        )

    async def get(self, names: list[str], field: str, timeout: float) -> dict[str, Any]:
        """Each found document's ``field`` (its protobuf ``Value``, or None), by document name."""
        request = _GetRequest(database=self.database, documents=names)
        request.mask.field_paths.append(field)
        found: dict[str, Any] = {}
        try:
            async for response in self._get(request, metadata=self.metadata, timeout=timeout):
                if response.HasField("found"):
                    fields = response.found.fields
                    found[response.found.name] = fields.get(field, None)
        except grpc.aio.AioRpcError as exc:
            raise api_exceptions.from_grpc_error(exc) from exc
        return found

    async def write(self, writes: list[Any], timeout: float) -> list[tuple[int, str]]:
        """(code, message) of each write's status, in order."""
        request = _WriteRequest(database=self.database, writes=writes)
        try:
            response = await self._write(request, metadata=self.metadata, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_exceptions.from_grpc_error(exc) from exc
        return [(status.code, status.message) for status in response.status]


def _timestamp(value: Any) -> datetime | None:
    """A ``Value`` read back: its time if it is a timestamp (anything else is no mark)."""
    if value is None or value.WhichOneof("value_type") != "timestamp_value":
        return None
    return value.timestamp_value.ToDatetime(tzinfo=UTC)


def _encoded_fields(document: Any, fields: Mapping[str, Any]) -> None:
    """``fields`` into ``document.fields`` as ``set`` encodes them: times and strings here (a
    mark's two fields), anything else through the library's encoder."""
    for name, value in fields.items():
        target = document.fields[name]
        if isinstance(value, datetime):
            target.timestamp_value.FromDatetime(value)
        elif isinstance(value, str):
            target.string_value = value
        else:
            target.CopyFrom(firestore_helpers.encode_value(value)._pb)


class AsyncFirestoreDedupStore(FirestoreDedupRules):
    """``DedupStore`` on a Firestore collection, with async ``is_duplicate`` and
    ``mark_delivered`` batched across the requests of one event loop.

    ``make_batcher(send, max_items=..., name=...)`` makes its two batchers, ``reads`` and
    ``writes``; ``close()`` sends what they hold and closes the client.
    """

    def __init__(
        self,
        client: firestore.AsyncClient,
        make_batcher: BatcherFactory,
        collection: str = DEFAULT_COLLECTION,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        on_failure: str = "deliver",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = utc_now,
        *,
        max_reads_per_batch: int = DEFAULT_MAX_READS_PER_BATCH,
        max_writes_per_batch: int = MAX_WRITES_PER_BATCH,
        warm_timeout_seconds: float = DEFAULT_WARM_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(window_seconds, on_failure, timeout_seconds, clock)
        if max_reads_per_batch < 1 or not 1 <= max_writes_per_batch <= MAX_WRITES_PER_BATCH:
            raise ValueError(
                f"max_reads_per_batch must be at least 1, max_writes_per_batch 1 to "
                f"{MAX_WRITES_PER_BATCH}"
            )
        if warm_timeout_seconds <= 0:
            raise ValueError("warm_timeout_seconds must be positive")
        self.warm_timeout_seconds = warm_timeout_seconds
        self._client = client
        self._rpcs = _FirestoreRpcs(client)
        # Documents by full name: what the RPCs take and answer.
        path = client.collection(collection).document(WARM_UP_DOCUMENT_ID).path
        self._documents = f"{self._rpcs.database}/documents/{path.rsplit('/', 1)[0]}"
        self._reads = make_batcher(self._read, max_items=max_reads_per_batch, name="dedup-reads")
        self._writes = make_batcher(
            self._write, max_items=max_writes_per_batch, name="dedup-writes"
        )
        self._closed = False

    def counter_values(self) -> dict[str, int]:
        values = super().counter_values()
        for prefix, batcher in (("reads", self._reads), ("writes", self._writes)):
            values.update({f"{prefix}:{k}": v for k, v in batcher.counter_values().items()})
        return values

    async def is_duplicate(self, uri: str) -> bool:
        outcome: _ReadOutcome = await self._reads.submit(document_id(uri))
        if isinstance(outcome, _Failed):
            self._read_failed(outcome.error)
            return False
        return self._verdict(outcome)

    async def mark_delivered(self, uri: str) -> None:
        # The expiry is taken now, as the synchronous store takes it, not when the batch leaves.
        outcome: _Failed | None = await self._writes.submit(
            _Mark(document_id(uri), self._mark_fields(uri))
        )
        if outcome is not None:
            self._write_failed(outcome.error)
            return
        self._count("marked")

    async def warm(self) -> bool:
        """Open the channel (and, on Google Cloud, fetch the token) before requests need it: one
        read of a document that cannot exist, with ``warm_timeout_seconds`` for a deadline.

        A cold client's first calls take longer than the 2 s deadline, so without this the first
        messages of an instance would pass unchecked. The composition root schedules
        ``warm()`` as a task at start-up and serves at once, without awaiting it: readiness does
        not wait for Firestore (an outage must not keep an instance from serving, as dedup is best
        effort). The read goes through the read batcher, so the checks of requests that arrive
        meanwhile queue behind it, since a partial batch waits for the one in flight (only a
        full one may go beside it, with ``max_in_flight`` above 1), and leave
        together, on the now open channel, the moment it returns; checks of the same loop
        iteration share its longer deadline. Marks come after their request's check, so they find
        the channel open too. Returns whether Firestore answered; never raises for Firestore
        (not even in ``retry`` mode: no message is at stake), only ``BatcherClosed`` after
        ``close()``.
        """
        outcome: _ReadOutcome = await self._reads.submit(WARM_UP_DOCUMENT_ID)
        if isinstance(outcome, _Failed):
            log.warning(
                "dedup warm-up failed (%s: %s); checks go on with their own deadline",
                type(outcome.error).__name__,
                str(outcome.error)[:MAX_LOGGED_ERROR_CHARS],
            )
            return False
        return True

    async def close(self) -> None:
        """Send what the batchers hold, wait for the RPCs in flight, close the client's channel;
        idempotent."""
        await self._reads.close()
        await self._writes.close()
        if not self._closed:
            self._closed = True
            # AsyncClient has no close(): its GAPIC client's transport holds the grpc channel.
            await self._client._firestore_api.transport.close()

    # --- the batchers' RPCs --------------------------------------------------------------------
    async def _read(self, ids: list[str]) -> list[_ReadOutcome]:
        """One ``BatchGetDocuments`` for a batch of document ids: each id's fields, None where no
        document."""
        names = {doc_id: f"{self._documents}/{doc_id}" for doc_id in ids}  # each once
        timeout = (
            self.warm_timeout_seconds if WARM_UP_DOCUMENT_ID in names else self.timeout_seconds
        )
        try:
            found = await self._rpcs.get(list(names.values()), EXPIRE_AT_FIELD, timeout)
        except STORE_ERRORS as exc:
            return [_Failed(exc)] * len(ids)
        outcomes: list[_ReadOutcome] = []
        for doc_id in ids:
            name = names[doc_id]
            if name not in found:
                outcomes.append(None)
                continue
            expire_at = _timestamp(found[name])
            outcomes.append({} if expire_at is None else {EXPIRE_AT_FIELD: expire_at})
        return outcomes

    async def _write(self, marks: list[_Mark]) -> list[_Failed | None]:
        """One ``BatchWrite`` for a batch of marks: None for each mark written, else its error."""
        # BatchWrite refuses two writes to one document: a uri marked twice in one batch is
        # written once, with the later mark (the later expiry), and both get its status.
        latest = {mark.document_id: mark for mark in marks}
        writes = []
        for doc_id, mark in latest.items():
            document = _DocumentPb(name=f"{self._documents}/{doc_id}")
            _encoded_fields(document, mark.fields)
            writes.append(_WritePb(update=document))
        try:
            statuses = await self._rpcs.write(writes, self.timeout_seconds)
        except STORE_ERRORS as exc:
            return [_Failed(exc)] * len(marks)
        if len(statuses) != len(writes):
            error = api_exceptions.Unknown(
                f"BatchWrite answered {len(statuses)} statuses for {len(writes)} writes"
            )
            return [_Failed(error)] * len(marks)
        outcomes = {
            doc_id: None if code == 0 else _Failed(api_exceptions.from_grpc_status(code, message))
            for doc_id, (code, message) in zip(latest, statuses, strict=True)
        }
        return [outcomes[mark.document_id] for mark in marks]
