"""FirestoreDedupStore against the official Firestore emulator: marks, windows, shared state, and
what happens when Firestore dies or hangs under a running store."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore as gcf

from ingestion.adapters.firestore_dedup import (
    EXPIRE_AT_FIELD,
    MAX_STORED_URI_CHARS,
    URI_FIELD,
    DedupUnavailable,
    FirestoreDedupStore,
    document_id,
)
from ingestion.entrypoints import decoder_function
from ingestion.local.services import LocalService, ServiceUnavailable, firestore_emulator
from ingestion.settings import DecoderSettings
from support import FakeClock

PROJECT = "test-project"
COLLECTION = "decoder-dedup"
URI = "/submit/telemetry/ce39b608-f595-4c69-b6a6-f7a436604648/main/Firefox/61.0a1/nightly/2018"
SDK_ROOT = Path(os.environ.get("GCLOUD_SDK_ROOT", "/usr/lib/google-cloud-sdk"))


def stored(client: gcf.Client, uri: str, collection: str = COLLECTION) -> dict[str, Any] | None:
    return client.collection(collection).document(document_id(uri)).get().to_dict()


def stored_field(client: gcf.Client, uri: str, field: str, collection: str = COLLECTION) -> Any:
    document = stored(client, uri, collection)
    assert document is not None, "no mark stored"
    return document[field]


def test_uri_is_seen_only_after_it_was_marked(firestore):
    store = FirestoreDedupStore(firestore)
    assert not store.is_duplicate(URI)
    assert not store.is_duplicate(URI)  # a check alone marks nothing
    store.mark_delivered(URI)
    assert store.is_duplicate(URI)
    assert not store.is_duplicate(URI + "x")
    assert store.counts == {"misses": 3, "hits": 1, "marked": 1}
    assert not store.failures


def test_document_is_keyed_by_sha256_and_expires_after_the_window(firestore):
    store = FirestoreDedupStore(firestore, window_seconds=600)
    before = datetime.now(UTC)
    store.mark_delivered(URI)
    after = datetime.now(UTC)
    documents = list(firestore.collection(COLLECTION).stream())
    assert [d.id for d in documents] == [document_id(URI)]
    data = documents[0].to_dict()
    assert set(data) == {EXPIRE_AT_FIELD, URI_FIELD}
    assert data[URI_FIELD] == URI
    expire_at = data[EXPIRE_AT_FIELD]
    assert isinstance(expire_at, datetime)  # a Firestore timestamp, as the TTL policy needs
    assert expire_at.tzinfo is not None
    window = timedelta(seconds=600)
    # Firestore keeps microseconds: the stored value is exactly the one written.
    assert before + window <= expire_at <= after + window


def test_long_uri_is_stored_truncated_but_keyed_in_full(firestore):
    store = FirestoreDedupStore(firestore)
    long_uri = "/submit/telemetry/" + "a" * 5000
    store.mark_delivered(long_uri)
    assert stored_field(firestore, long_uri, URI_FIELD) == long_uri[:MAX_STORED_URI_CHARS]
    assert store.is_duplicate(long_uri)
    assert not store.is_duplicate(long_uri[:MAX_STORED_URI_CHARS])


def test_expired_but_unswept_document_is_not_a_duplicate(firestore):
    # What the TTL sweeper leaves behind for up to a day.
    past = datetime.now(UTC) - timedelta(hours=3)
    firestore.collection(COLLECTION).document(document_id(URI)).set(
        {EXPIRE_AT_FIELD: past, URI_FIELD: URI}
    )
    store = FirestoreDedupStore(firestore)
    assert stored(firestore, URI) is not None
    assert not store.is_duplicate(URI)
    assert store.counts == {"misses": 1, "expired": 1}


def test_window_follows_the_clock_and_a_new_mark_extends_it(firestore):
    clock = FakeClock(datetime.now(UTC))
    store = FirestoreDedupStore(firestore, window_seconds=600, clock=clock)
    store.mark_delivered(URI)
    clock.now += timedelta(seconds=599)
    assert store.is_duplicate(URI)
    store.mark_delivered(URI)  # delivered again (a redelivery that slipped through): overwrite
    clock.now += timedelta(seconds=599)
    assert store.is_duplicate(URI)
    clock.now += timedelta(seconds=2)
    assert not store.is_duplicate(URI)
    assert store.counts["expired"] == 1


def test_stub_installer_uris_are_stored_like_any_other(firestore):
    # The service leaves /stub/ uris out of dedup; the store itself does not care.
    store = FirestoreDedupStore(firestore)
    stub = "/stub/v6/1/Firefox/en-US/61.0/20180328030202"
    store.mark_delivered(stub)
    assert store.is_duplicate(stub)


def test_stores_sharing_a_collection_see_each_others_marks(firestore):
    # Two function instances: separate clients, same database and collection.
    first = FirestoreDedupStore(firestore)
    second = FirestoreDedupStore(gcf.Client(project=PROJECT))
    first.mark_delivered("/submit/a")
    second.mark_delivered("/submit/b")
    assert second.is_duplicate("/submit/a")
    assert first.is_duplicate("/submit/b")
    other_collection = FirestoreDedupStore(firestore, collection="other-dedup")
    assert not other_collection.is_duplicate("/submit/a")


def test_many_uris_round_trip(firestore):
    store = FirestoreDedupStore(firestore)
    uris = [f"/submit/telemetry/{n:08d}-0000-4000-8000-000000000000/main" for n in range(200)]
    assert not any(store.is_duplicate(uri) for uri in uris)
    for uri in uris[::2]:
        store.mark_delivered(uri)
    assert [store.is_duplicate(uri) for uri in uris] == [n % 2 == 0 for n in range(200)]
    assert len(list(firestore.collection(COLLECTION).select([]).stream())) == 100
    assert store.counts == {"misses": 300, "hits": 100, "marked": 100}


def test_concurrent_requests_share_one_store(firestore):
    store = FirestoreDedupStore(firestore)

    def handle(n: int) -> bool:
        uri = f"/submit/x/{n}"
        seen = store.is_duplicate(uri)
        store.mark_delivered(uri)
        return seen or not store.is_duplicate(uri)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert not any(pool.map(handle, range(80)))
    assert store.counts == {"misses": 80, "hits": 80, "marked": 80}


def test_the_composition_root_uses_project_database_and_collection(firestore):
    settings = DecoderSettings.from_environ(
        {
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "DEDUP_COLLECTION": "settings-dedup",
            "DEDUP_WINDOW_SECONDS": "30",
            "DEDUP_ON_FAILURE": "retry",
            "DEDUP_TIMEOUT_SECONDS": "1.5",
        }
    )
    store = decoder_function.dedup_store(settings)
    assert isinstance(store, FirestoreDedupStore)
    assert (store.on_failure, store.timeout_seconds) == ("retry", 1.5)
    before = datetime.now(UTC)
    store.mark_delivered(URI)
    expire_at = stored_field(firestore, URI, EXPIRE_AT_FIELD, "settings-dedup")
    assert before + timedelta(seconds=30) <= expire_at <= datetime.now(UTC) + timedelta(seconds=30)
    assert store.is_duplicate(URI)


# --- Firestore going away under a running store ---------------------------------------------


@pytest.fixture
def doomed_firestore(firestore_server, tmp_path) -> Iterator[tuple[LocalService, gcf.Client]]:
    """A second emulator of our own, and a client bound to it, for the test to kill or freeze."""
    try:
        service = firestore_emulator(tmp_path, SDK_ROOT).start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    try:
        # The client reads FIRESTORE_EMULATOR_HOST when it is constructed, and only then.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FIRESTORE_EMULATOR_HOST", service.host)
            client = gcf.Client(project=PROJECT)
        assert os.environ["FIRESTORE_EMULATOR_HOST"] == firestore_server.host
        # A fresh JVM takes over a second on its first write: warm it up outside the deadlines.
        client.collection("warm-up").document("x").set({"n": 1}, timeout=60)
        yield service, client
    finally:
        service.kill()  # not stop(): a frozen JVM would sit out the whole TERM grace period


def timed(call, *args):
    started = time.monotonic()
    try:
        return call(*args), time.monotonic() - started
    except DedupUnavailable as exc:
        return exc, time.monotonic() - started


def test_store_outlives_firestore_hanging_recovering_and_dying(doomed_firestore, firestore, caplog):
    service, client = doomed_firestore
    assert service.process is not None
    group = service.process.pid
    timeout = 0.5
    deliver = FirestoreDedupStore(client, timeout_seconds=timeout, on_failure="deliver")
    retry = FirestoreDedupStore(client, timeout_seconds=timeout, on_failure="retry")
    deliver.mark_delivered(URI)  # the channel is up and in use before anything goes wrong
    assert retry.is_duplicate(URI)
    assert stored(firestore, URI) is None  # it really went to the second emulator

    # Hanging: the port accepts connections but nothing answers; each call ends at its deadline.
    os.killpg(group, signal.SIGSTOP)
    try:
        result, elapsed = timed(deliver.is_duplicate, URI)
        assert result is False
        assert timeout - 0.05 <= elapsed < timeout + 1
        result, elapsed = timed(deliver.mark_delivered, URI)
        assert result is None
        assert timeout - 0.05 <= elapsed < timeout + 1
        result, elapsed = timed(retry.is_duplicate, URI)
        assert isinstance(result, DedupUnavailable)
        assert timeout - 0.05 <= elapsed < timeout + 1
    finally:
        os.killpg(group, signal.SIGCONT)
    assert deliver.failures == {"read_failed": 1, "write_failed": 1}
    assert retry.failures == {"read_failed": 1}

    # Recovering: the same stores work again, with no reconnect on our side.
    assert deliver.is_duplicate(URI)
    retry.mark_delivered("/submit/after-the-freeze")
    assert deliver.is_duplicate("/submit/after-the-freeze")

    # Dying: connections are refused and calls fail at once, well within the deadline.
    service.kill()
    result, elapsed = timed(deliver.is_duplicate, URI)
    assert result is False
    assert elapsed < timeout + 1
    result, elapsed = timed(deliver.mark_delivered, "/submit/other")
    assert result is None
    assert elapsed < timeout + 1
    assert deliver.failures == {"read_failed": 2, "write_failed": 2}
    for call in (retry.is_duplicate, retry.mark_delivered):
        result, elapsed = timed(call, URI)
        assert isinstance(result, DedupUnavailable)
        assert elapsed < timeout + 1
    assert retry.failures == {"read_failed": 2, "write_failed": 1}

    warnings = [r for r in caplog.records if r.name == "ingestion.adapters.firestore_dedup"]
    assert len(warnings) == 7
    assert all(r.levelname == "WARNING" for r in warnings)
    assert "/submit/" not in caplog.text  # failures are logged without the uri
