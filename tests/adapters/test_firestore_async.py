"""The asyncio Firestore dedup store without a server: a real ``AsyncClient`` (paths, database
string and metadata are the library's) whose channel is a fake answering the two RPCs,
``BatchGetDocuments`` and ``BatchWrite``, with the real protobuf messages, recording their calls;
batched by the real ``Batcher``. The RPCs against the emulator are in
tests/integration/test_firestore_async.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import grpc
import pytest

pytest.importorskip("google.cloud.firestore_v1")

from google.api_core import exceptions as api_exceptions
from google.api_core.gapic_v1 import routing_header
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers as firestore_helpers
from google.cloud.firestore_v1.types import Document
from google.cloud.firestore_v1.types import firestore as firestore_types
from google.rpc import code_pb2, status_pb2

from ingestion.adapters.firestore_async import (
    MAX_WRITES_PER_BATCH,
    WARM_UP_DOCUMENT_ID,
    AsyncFirestoreDedupStore,
)
from ingestion.adapters.firestore_dedup import (
    EXPIRE_AT_FIELD,
    URI_FIELD,
    DedupUnavailable,
    document_id,
)
from ingestion.service.batcher import Batcher
from support import FakeClock

T = TypeVar("T")
BatchGetResponse = firestore_types.BatchGetDocumentsResponse.pb()
BatchWriteResponse = firestore_types.BatchWriteResponse.pb()
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
SECRET = "/submit/telemetry/secret-document-id/main"
LOGGERS = ("ingestion.adapters.firestore_dedup", "ingestion.adapters.firestore_async")


def run(main: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(main, timeout=10))  # a hang fails


async def ticks(count: int = 5) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


class FakeTransport:
    def __init__(self, channel: FakeFirestore) -> None:
        self.closed = 0
        self.grpc_channel = channel

    async def close(self) -> None:
        self.closed += 1


class FakeFirestore:
    """A channel answering the two RPCs on a dict of documents by id. ``error`` makes them raise
    it, ``held`` makes them wait for ``release``, ``failing`` maps document ids to the status code
    of their write."""

    def __init__(self, client: firestore.AsyncClient) -> None:
        self.client = client
        self.documents: dict[str, dict[str, Any]] = {}
        self.reads: list[dict[str, Any]] = []
        self.writes: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self.failing: dict[str, int] = {}
        self.statuses_dropped = 0
        self.release = asyncio.Event()
        self.release.set()
        self.transport = FakeTransport(self)

    def unary_stream(self, method: str, **serializers: Any) -> Any:
        assert method == "/google.firestore.v1.Firestore/BatchGetDocuments"
        return self._batch_get

    def unary_unary(self, method: str, **serializers: Any) -> Any:
        assert method == "/google.firestore.v1.Firestore/BatchWrite"
        return self._batch_write

    async def _batch_get(self, request: Any, **kwargs: Any) -> AsyncIterator[Any]:
        ids = [name.rsplit("/", 1)[1] for name in request.documents]
        field_paths = list(request.mask.field_paths)
        self.reads.append({"ids": ids, "field_paths": field_paths, **kwargs})
        await self.release.wait()
        if self.error is not None:
            raise self.error
        for name, doc_id in zip(request.documents, ids, strict=True):
            data = self.documents.get(doc_id)
            if data is None:
                yield BatchGetResponse(missing=name)
                continue
            data = {k: v for k, v in data.items() if k in field_paths}
            fields = firestore_helpers.encode_dict(data)
            yield BatchGetResponse(found=Document(name=name, fields=fields)._pb)

    async def _batch_write(self, request: Any, **kwargs: Any) -> Any:
        self.writes.append({"database": request.database, "writes": list(request.writes), **kwargs})
        await self.release.wait()
        if self.error is not None:
            raise self.error
        statuses = []
        for write in request.writes:
            doc_id = write.update.name.rsplit("/", 1)[1]
            code = self.failing.get(doc_id, code_pb2.OK)
            if code == code_pb2.OK:
                fields = firestore_helpers.decode_dict(Document.wrap(write.update).fields, None)
                self.documents[doc_id] = fields
            statuses.append(status_pb2.Status(code=code, message=f"code {code}"))
        return BatchWriteResponse(status=statuses[self.statuses_dropped :])


def make_store(**kwargs: Any) -> tuple[AsyncFirestoreDedupStore, FakeFirestore, FakeClock]:
    """Call inside the event loop: the fake's Event belongs to it."""
    client = firestore.AsyncClient(project="test-project", credentials=AnonymousCredentials())
    fake = FakeFirestore(client)
    client._firestore_api_internal = fake  # what the _firestore_api property returns
    clock = FakeClock(NOW)
    store = AsyncFirestoreDedupStore(client, Batcher, clock=clock, **kwargs)
    return store, fake, clock


async def gather(*calls: Coroutine[Any, Any, T]) -> list[T | BaseException]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def started(call: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """``call`` as a task, once it has run as far as it goes before an answer arrives."""
    task = asyncio.create_task(call)
    await ticks()
    return task


# --- batching -------------------------------------------------------------------------------


def test_concurrent_checks_share_one_read_and_concurrent_marks_one_write():
    async def main() -> None:
        store, fake, _ = make_store(timeout_seconds=0.75)
        uris = [f"/submit/x/{n}" for n in range(50)]
        await gather(*(store.mark_delivered(uri) for uri in uris[::2]))
        assert await gather(*(store.is_duplicate(uri) for uri in uris)) == [
            n % 2 == 0 for n in range(50)
        ]
        assert len(fake.writes) == 1
        assert len(fake.writes[0]["writes"]) == 25
        assert [read["ids"] for read in fake.reads] == [[document_id(uri) for uri in uris]]
        assert fake.reads[0]["field_paths"] == [EXPIRE_AT_FIELD]
        assert fake.reads[0]["timeout"] == 0.75
        values = store.counter_values()
        assert values["counts:hits"] == values["counts:misses"] == values["counts:marked"] == 25
        assert (values["reads:batches_sent"], values["reads:largest_batch"]) == (1, 50)
        assert (values["writes:batches_sent"], values["writes:largest_batch"]) == (1, 25)
        assert not any(key.startswith("failures:") for key in values)

    run(main())


def test_batches_respect_the_limits_and_queue_behind_the_rpc_in_flight():
    async def main() -> None:
        store, fake, _ = make_store(max_reads_per_batch=10, max_writes_per_batch=7)
        fake.release.clear()
        first = await started(store.is_duplicate("/first"))
        rest = await started(gather(*(store.is_duplicate(f"/{n}") for n in range(25))))
        marks = await started(gather(*(store.mark_delivered(f"/{n}") for n in range(20))))
        assert [len(read["ids"]) for read in fake.reads] == [1]  # the rest waits for it
        assert [len(write["writes"]) for write in fake.writes] == [7]
        fake.release.set()
        await first
        await rest
        await marks
        assert [len(read["ids"]) for read in fake.reads] == [1, 10, 10, 5]
        assert [len(write["writes"]) for write in fake.writes] == [7, 7, 6]

    run(main())


def test_a_uri_twice_in_one_batch():
    async def main() -> None:
        store, fake, clock = make_store(window_seconds=60)
        # Marked twice in one BatchWrite (which refuses two writes to a document): written once,
        # with the later expiry.
        fake.release.clear()
        marks = [await started(store.mark_delivered(uri)) for uri in ("/in-flight", "/u")]
        clock.now += timedelta(seconds=5)
        marks += [await started(store.mark_delivered(uri)) for uri in ("/u", "/v")]
        fake.release.set()
        await gather(*marks)
        assert [len(write["writes"]) for write in fake.writes] == [1, 2]
        assert fake.documents[document_id("/u")][EXPIRE_AT_FIELD] == NOW + timedelta(seconds=65)
        # Checked twice in one read: one document asked for, both answered.
        assert await gather(store.is_duplicate("/u"), store.is_duplicate("/u")) == [True, True]
        assert fake.reads[-1]["ids"] == [document_id("/u")]
        assert store.counts == {"marked": 4, "hits": 2}

    run(main())


# --- what is read and written ---------------------------------------------------------------


def test_the_write_is_what_document_set_sends():
    async def main() -> None:
        store, fake, _ = make_store(window_seconds=600, timeout_seconds=1.5, collection="c")
        await store.mark_delivered("/submit/é")
        (call,) = fake.writes
        client = fake.client
        batch = client.batch()
        reference = client.collection("c").document(document_id("/submit/é"))
        batch.set(
            reference, {EXPIRE_AT_FIELD: NOW + timedelta(seconds=600), URI_FIELD: "/submit/é"}
        )
        assert call["writes"] == batch._write_pbs
        assert call["database"] == "projects/test-project/databases/(default)"
        # the routing header the library's GAPIC client adds to every call
        routing = routing_header.to_grpc_metadata((("database", call["database"]),))
        assert call["metadata"] == (*client._rpc_metadata, routing)
        assert call["timeout"] == 1.5

    run(main())


def test_expiry_follows_the_clock():
    async def main() -> None:
        store, fake, clock = make_store(window_seconds=600)
        await store.mark_delivered("/u")
        clock.now += timedelta(seconds=600)
        assert await store.is_duplicate("/u")
        clock.now += timedelta(microseconds=1)
        assert not await store.is_duplicate("/u")
        fake.documents[document_id("/v")] = {URI_FIELD: "/v"}  # no timestamp: no mark
        assert not await store.is_duplicate("/v")
        assert store.counts == {"marked": 1, "hits": 1, "misses": 2, "expired": 2}

    run(main())


# --- failures -------------------------------------------------------------------------------

FAILURES = [
    api_exceptions.DeadlineExceeded("deadline"),
    api_exceptions.ServiceUnavailable("failed to connect to all addresses"),
    api_exceptions.PermissionDenied("missing permission"),
]


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_deliver_mode_carries_on_after_a_failed_rpc(error, caplog):
    async def main() -> None:
        store, fake, _ = make_store(on_failure="deliver")
        fake.error = error
        checks = gather(*(store.is_duplicate(f"{SECRET}/{n}") for n in range(5)))
        marks = gather(*(store.mark_delivered(f"{SECRET}/{n}") for n in range(3)))
        assert await checks == [False] * 5
        assert await marks == [None] * 3
        assert store.failures == {"read_failed": 5, "write_failed": 3}
        assert not store.counts
        # One RPC each: a Firestore error is every item's outcome, not a cause to send them singly.
        assert (len(fake.reads), len(fake.writes)) == (1, 1)
        assert store.counter_values()["reads:items_retried_singly"] == 0

    with caplog.at_level(logging.WARNING, logger=LOGGERS[0]):
        run(main())
    assert len(caplog.records) == 8
    assert all(type(error).__name__ in record.getMessage() for record in caplog.records)
    assert "secret-document-id" not in caplog.text


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_retry_mode_raises_dedup_unavailable_for_every_request(error):
    async def main() -> None:
        store, fake, _ = make_store(on_failure="retry")
        fake.error = error
        outcomes = await gather(
            store.is_duplicate("/a"), store.is_duplicate("/b"), store.mark_delivered("/a")
        )
        assert all(isinstance(outcome, DedupUnavailable) for outcome in outcomes)
        assert all(outcome.__cause__ is error for outcome in outcomes)  # type: ignore[union-attr]
        assert store.failures == {"read_failed": 2, "write_failed": 1}

    run(main())


@pytest.mark.parametrize("on_failure", ["deliver", "retry"])
def test_a_failed_write_fails_its_own_mark_only(on_failure):
    async def main() -> None:
        store, fake, _ = make_store(on_failure=on_failure)
        fake.failing[document_id("/bad")] = code_pb2.FAILED_PRECONDITION
        outcomes = await gather(*(store.mark_delivered(uri) for uri in ("/a", "/bad", "/b")))
        assert len(fake.writes) == 1
        assert set(fake.documents) == {document_id("/a"), document_id("/b")}
        assert store.counts == {"marked": 2}
        assert store.failures == {"write_failed": 1}
        if on_failure == "retry":
            assert outcomes[0] is None and outcomes[2] is None
            assert isinstance(outcomes[1], DedupUnavailable)
            assert isinstance(outcomes[1].__cause__, api_exceptions.FailedPrecondition)
        else:
            assert outcomes == [None, None, None]

    run(main())


def test_statuses_that_do_not_match_the_writes_fail_every_mark():
    async def main() -> None:
        store, fake, _ = make_store()
        fake.statuses_dropped = 1
        await gather(store.mark_delivered("/a"), store.mark_delivered("/b"))
        assert store.failures == {"write_failed": 2}
        assert not store.counts

    run(main())


def test_programming_errors_reach_the_caller():
    async def main() -> None:
        store, fake, _ = make_store(on_failure="deliver")
        fake.error = TypeError("bug")
        with pytest.raises(TypeError):
            await store.is_duplicate("/u")
        with pytest.raises(TypeError):
            await store.mark_delivered("/u")
        assert not store.failures

    run(main())


# --- cancellation, warm-up, close -----------------------------------------------------------


def test_a_cancelled_request_leaves_nothing_queued():
    async def main() -> None:
        store, fake, _ = make_store()
        fake.release.clear()
        in_flight = await started(store.is_duplicate("/in-flight"))
        waiting = [asyncio.create_task(store.is_duplicate(f"/w{n}")) for n in range(3)]
        mark = asyncio.create_task(store.mark_delivered("/m"))
        await ticks(1)
        waiting[1].cancel()
        in_flight.cancel()  # already sent: the RPC goes on, its answer is dropped
        mark.cancel()  # cancelled before its batch left: never written
        await ticks()
        assert store._reads.queued == 2  # type: ignore[attr-defined]
        fake.release.set()
        checked = await gather(*waiting)
        assert checked[::2] == [False, False]
        assert isinstance(checked[1], asyncio.CancelledError)
        assert mark.cancelled()
        assert [read["ids"] for read in fake.reads] == [
            [document_id("/in-flight")],
            [document_id("/w0"), document_id("/w2")],
        ]
        assert fake.writes == []
        values = store.counter_values()
        assert (values["reads:items_cancelled"], values["writes:items_cancelled"]) == (1, 1)
        assert store._reads.queued == store._writes.queued == 0  # type: ignore[attr-defined]
        assert store.counts == {"misses": 2}

    run(main())


def test_checks_arriving_during_the_warm_up_wait_for_it():
    async def main() -> None:
        store, fake, _ = make_store(warm_timeout_seconds=9.0, timeout_seconds=0.5)
        await store.mark_delivered("/seen")
        fake.release.clear()
        warm = await started(store.warm())
        checks = await started(gather(store.is_duplicate("/seen"), store.is_duplicate("/")))
        assert [(read["ids"], read["timeout"]) for read in fake.reads] == [
            ([WARM_UP_DOCUMENT_ID], 9.0)
        ]
        fake.release.set()
        assert await warm is True
        assert await checks == [True, False]
        assert [len(read["ids"]) for read in fake.reads] == [1, 2]
        assert fake.reads[1]["timeout"] == 0.5
        assert store.counts == {"marked": 1, "hits": 1, "misses": 1}  # the warm-up counts nowhere

    run(main())


def test_a_failed_warm_up_is_logged_and_never_raises(caplog):
    async def main() -> None:
        store, fake, _ = make_store(on_failure="retry")
        fake.error = api_exceptions.DeadlineExceeded("cold")
        assert await store.warm() is False
        assert not store.failures

    with caplog.at_level(logging.WARNING, logger=LOGGERS[1]):
        run(main())
    assert ["DeadlineExceeded" in record.getMessage() for record in caplog.records] == [True]


def test_close_sends_what_is_queued_and_closes_the_channel():
    async def main() -> None:
        store, fake, _ = make_store()
        fake.release.clear()
        first = await started(store.mark_delivered("/a"))
        second = await started(store.mark_delivered("/b"))
        closing = await started(store.close())
        fake.release.set()
        await closing
        await store.close()
        assert await gather(first, second) == [None, None]
        assert len(fake.documents) == 2
        assert fake.transport.closed == 1

    run(main())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"on_failure": "ignore"},
        {"window_seconds": 0},
        {"max_reads_per_batch": 0},
        {"max_writes_per_batch": MAX_WRITES_PER_BATCH + 1},
        {"warm_timeout_seconds": 0},
    ],
)
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        make_store(**kwargs)


def test_a_grpc_error_becomes_the_library_exception():
    async def main() -> None:
        store, fake, _ = make_store(on_failure="retry")
        metadata = grpc.aio.Metadata()
        fake.error = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, metadata, metadata, "down")
        outcomes = await gather(store.is_duplicate("/a"), store.mark_delivered("/a"))
        causes = [outcome.__cause__ for outcome in outcomes]  # type: ignore[union-attr]
        assert all(isinstance(cause, api_exceptions.ServiceUnavailable) for cause in causes)
        assert store.failures == {"read_failed": 1, "write_failed": 1}

    run(main())
