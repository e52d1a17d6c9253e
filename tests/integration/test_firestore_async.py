"""AsyncFirestoreDedupStore against the official Firestore emulator: batched reads and writes that
lose nothing, marks the synchronous store reads (and the other way round), the warm-up, and
Firestore refusing or not answering."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from google.cloud import firestore as gcf

from ingestion.adapters.firestore_async import AsyncFirestoreDedupStore
from ingestion.adapters.firestore_dedup import (
    EXPIRE_AT_FIELD,
    URI_FIELD,
    DedupUnavailable,
    FirestoreDedupStore,
    document_id,
)
from ingestion.local.services import free_port
from ingestion.service.batcher import Batcher
from support import FakeClock

from .test_firestore_dedup import doomed_firestore  # noqa: F401 (a fixture)

T = TypeVar("T")
PROJECT = "test-project"
COLLECTION = "decoder-dedup"


def run(main: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(main, timeout=60))


def async_store(host: str | None = None, **kwargs: Any) -> AsyncFirestoreDedupStore:
    """A store on a new AsyncClient (call it inside the loop that uses it); ``host``: another
    Firestore than the session's emulator."""
    with pytest.MonkeyPatch.context() as patch:
        if host is not None:  # the client reads FIRESTORE_EMULATOR_HOST when it is constructed
            patch.setenv("FIRESTORE_EMULATOR_HOST", host)
        client = gcf.AsyncClient(project=PROJECT)
    return AsyncFirestoreDedupStore(client, Batcher, **kwargs)


def uris(count: int, tag: str = "x") -> list[str]:
    return [f"/submit/telemetry/{n:08d}-0000-4000-8000-{tag:0>12}/main" for n in range(count)]


async def each(calls: Any) -> list[Any]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


def test_300_concurrent_marks_are_all_stored_and_seen(firestore):
    marked = uris(300)

    async def main() -> dict[str, int]:
        store = async_store(timeout_seconds=10)  # the session's emulator: a JVM, slow at first
        try:
            assert await each(store.is_duplicate(uri) for uri in marked[:100]) == [False] * 100
            assert await each(store.mark_delivered(uri) for uri in marked) == [None] * 300
            assert await each(store.is_duplicate(uri) for uri in marked) == [True] * 300
            return store.counter_values()
        finally:
            await store.close()

    values = run(main())
    stored = {doc.id: doc.to_dict() for doc in firestore.collection(COLLECTION).stream()}
    assert set(stored) == {document_id(uri) for uri in marked}
    assert all(stored[document_id(uri)][URI_FIELD] == uri for uri in marked)
    assert (values["counts:marked"], values["counts:hits"], values["counts:misses"]) == (
        300,
        300,
        100,
    )
    # One BatchWrite for all 300 marks; reads of 100 documents at the most.
    assert (values["writes:batches_sent"], values["writes:items_sent"]) == (1, 300)
    assert (values["reads:batches_sent"], values["reads:largest_batch"]) == (4, 100)
    assert not any(key.startswith("failures:") for key in values)


def test_requests_checking_and_marking_share_rpcs(firestore):
    async def handle(store: AsyncFirestoreDedupStore, uri: str) -> bool:
        seen = await store.is_duplicate(uri)
        await store.mark_delivered(uri)
        return seen or not await store.is_duplicate(uri)

    async def main() -> dict[str, int]:
        store = async_store(timeout_seconds=10)
        try:
            assert await each(handle(store, uri) for uri in uris(200)) == [False] * 200
            return store.counter_values()
        finally:
            await store.close()

    values = run(main())
    assert (values["counts:misses"], values["counts:hits"], values["counts:marked"]) == (200,) * 3
    assert values["reads:items_sent"] == 400
    assert values["reads:batches_sent"] <= 8  # 400 checks in 100s, not one RPC each
    assert values["writes:batches_sent"] <= 4
    assert len(list(firestore.collection(COLLECTION).select([]).stream())) == 200


def test_both_stores_see_each_others_marks(firestore):
    # Instances moving from one store to the other share the collection: same ids, same fields.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=123456))
    sync = FirestoreDedupStore(firestore, window_seconds=600, clock=clock)
    sync.mark_delivered("/submit/by-sync")
    before = firestore.collection(COLLECTION).document(document_id("/submit/by-sync")).get()

    async def main() -> list[Any]:
        store = async_store(window_seconds=600, clock=clock)
        try:
            await store.mark_delivered("/submit/by-async")
            await store.mark_delivered("/submit/by-sync")  # the same mark again, by the other
            return await each(
                store.is_duplicate(uri) for uri in ("/submit/by-sync", "/submit/by-async", "/n")
            )
        finally:
            await store.close()

    assert run(main()) == [True, True, False]
    assert sync.is_duplicate("/submit/by-async")
    documents = {doc.id: doc.to_dict() for doc in firestore.collection(COLLECTION).stream()}
    assert documents == {
        document_id(uri): {EXPIRE_AT_FIELD: clock.now + timedelta(seconds=600), URI_FIELD: uri}
        for uri in ("/submit/by-sync", "/submit/by-async")
    }
    assert documents[document_id("/submit/by-sync")] == before.to_dict()  # written identically


def test_expired_but_unswept_marks_are_not_duplicates(firestore):
    past = datetime.now(UTC) - timedelta(hours=3)
    firestore.collection(COLLECTION).document(document_id("/old")).set(
        {EXPIRE_AT_FIELD: past, URI_FIELD: "/old"}
    )

    async def main() -> bool:
        store = async_store()
        try:
            return await store.is_duplicate("/old")
        finally:
            await store.close()

    assert run(main()) is False


def test_checks_queued_during_the_warm_up_are_answered(firestore):
    firestore.collection(COLLECTION).document(document_id("/seen")).set(
        {EXPIRE_AT_FIELD: datetime.now(UTC) + timedelta(minutes=5), URI_FIELD: "/seen"}
    )

    async def main() -> tuple[bool, list[Any], dict[str, int]]:
        store = async_store()  # a cold client: no channel yet
        try:
            warm = asyncio.create_task(store.warm())  # as the composition root does: not awaited
            await asyncio.sleep(0.01)
            checks = await each(store.is_duplicate(uri) for uri in ("/seen", "/new", "/seen"))
            return await warm, checks, store.counter_values()
        finally:
            await store.close()

    warmed, checks, values = run(main())
    assert warmed is True
    assert checks == [True, False, True]
    assert (values["reads:batches_sent"], values["reads:largest_batch"]) == (2, 3)
    assert values["counts:hits"] == 2
    assert "failures:read_failed" not in values


# --- Firestore refusing, or not answering ---------------------------------------------------


@pytest.mark.parametrize("on_failure", ["deliver", "retry"])
def test_unreachable_firestore(firestore_server, on_failure, caplog):
    timeout = 0.5

    async def main() -> tuple[list[Any], bool, float]:
        store = async_store(f"127.0.0.1:{free_port()}", on_failure=on_failure, timeout_seconds=0.5)
        try:
            started = time.monotonic()
            outcomes = await each(
                [
                    *(store.is_duplicate(f"/submit/{n}") for n in range(5)),
                    store.mark_delivered("/m"),
                ]
            )
            elapsed = time.monotonic() - started
            return outcomes, await store.warm(), elapsed
        finally:
            await store.close()

    outcomes, warmed, elapsed = run(main())
    assert warmed is False
    assert elapsed < timeout + 1
    if on_failure == "deliver":
        assert outcomes == [False] * 5 + [None]
    else:
        assert all(isinstance(outcome, DedupUnavailable) for outcome in outcomes)
    assert "/submit/" not in caplog.text


def test_hanging_firestore_fails_a_batch_at_its_deadline_once(doomed_firestore):  # noqa: F811
    service, _ = doomed_firestore
    assert service.process is not None
    group = service.process.pid
    timeout = 0.5

    async def main() -> None:
        store = async_store(service.host, timeout_seconds=timeout)
        try:
            assert await store.warm()
            await store.mark_delivered("/submit/before")
            os.killpg(group, signal.SIGSTOP)
            try:
                started = time.monotonic()
                checks = await each(store.is_duplicate(f"/submit/{n}") for n in range(20))
                elapsed = time.monotonic() - started
            finally:
                os.killpg(group, signal.SIGCONT)
            assert checks == [False] * 20
            # One RPC to its deadline, not one after another nor one per check.
            assert timeout - 0.05 <= elapsed < timeout + 1
            values = store.counter_values()
            assert values["failures:read_failed"] == 20
            assert values["reads:batches_sent"] == 2  # the warm-up, then the 20
            assert values["reads:items_retried_singly"] == 0
            assert await store.is_duplicate("/submit/before")  # recovered, same channel
        finally:
            await store.close()

    run(main())
