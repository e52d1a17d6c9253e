"""The Firestore dedup store without Firestore: its pure parts, and its failure handling on a fake
client (the real thing runs in tests/integration/test_firestore_dedup.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

pytest.importorskip("google.api_core")

from google.api_core import exceptions as api_exceptions
from google.auth.exceptions import TransportError

from ingestion.adapters.firestore_dedup import (
    EXPIRE_AT_FIELD,
    MAX_STORED_URI_CHARS,
    URI_FIELD,
    DedupUnavailable,
    FirestoreDedupStore,
    document_id,
    is_live,
    stored_uri,
)
from support import FakeClock

MAIN_PING_URI = (
    "/submit/telemetry/ce39b608-f595-4c69-b6a6-f7a436604648/main/Firefox/61.0a1/nightly/"
    "20180328030202"
)
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


# --- document ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # FIPS 180-2 test vectors: the id is the plain sha256 hex of the uri's UTF-8 bytes.
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ],
)
def test_document_id_is_the_sha256_hex_of_the_uri(uri, expected):
    assert document_id(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        MAIN_PING_URI,
        "/stub/v6/1/2/3",
        "/submit/x/" + "a" * 5000,
        "/submit/é/ü/😀",
        "/submit/\ud800/lone-surrogate",
    ],
)
def test_document_ids_are_valid_firestore_ids(uri):
    doc_id = document_id(uri)
    assert len(doc_id) == 64
    assert set(doc_id) <= set("0123456789abcdef")  # no "/", never "__x__", never "." or ".."


def test_distinct_uris_get_distinct_ids():
    uris = [f"{MAIN_PING_URI}?n={n}" for n in range(1000)] + [MAIN_PING_URI, MAIN_PING_URI + "/"]
    assert len({document_id(uri) for uri in uris}) == len(uris)


def test_stored_uri_is_bounded_and_valid_utf8():
    assert stored_uri(MAIN_PING_URI) == MAIN_PING_URI
    long = "/submit/" + "é" * 5000
    assert len(stored_uri(long)) == MAX_STORED_URI_CHARS
    assert stored_uri(long) == long[:MAX_STORED_URI_CHARS]
    stored_uri("/x/\ud800").encode("utf-8")  # would raise if the surrogate were kept


# --- expiry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expire_at", "live"),
    [
        (NOW + timedelta(minutes=10), True),
        (NOW + timedelta(microseconds=1), True),
        (NOW, True),  # inclusive, like InMemoryDedupStore
        (NOW - timedelta(microseconds=1), False),
        (NOW - timedelta(hours=20), False),  # expired, not yet swept by the TTL policy
        # the same instant in another zone is the same instant
        (datetime(2026, 11, 22, 13, 5, tzinfo=timezone(timedelta(hours=1))), True),
        (datetime(2026, 11, 22, 12, 55, tzinfo=timezone(timedelta(hours=1))), False),
        # not a timestamp: no mark (Firestore's TTL would never delete it either)
        (None, False),
        ("2099-01-01T00:00:00Z", False),
        (4102444800, False),
        (datetime(2099, 1, 1), False),  # naive: never compared (it would raise)
    ],
)
def test_is_live(expire_at, live):
    assert is_live(expire_at, NOW) is live


# --- the store on a fake client -------------------------------------------------------------


class FakeSnapshot:
    def __init__(self, data: dict[str, Any] | None) -> None:
        self.exists = data is not None
        self._data = data

    def to_dict(self) -> dict[str, Any] | None:
        return None if self._data is None else dict(self._data)


class FakeFirestore:
    """Just enough of ``firestore.Client`` for the store; ``error`` makes every call raise it."""

    def __init__(self) -> None:
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error: Exception | None = None

    def collection(self, name: str) -> FakeCollection:
        return FakeCollection(self, name)


class FakeCollection:
    def __init__(self, db: FakeFirestore, name: str) -> None:
        self.db, self.name = db, name

    def document(self, doc_id: str) -> FakeDocument:
        return FakeDocument(self.db, (self.name, doc_id))


class FakeDocument:
    def __init__(self, db: FakeFirestore, key: tuple[str, str]) -> None:
        self.db, self.key = db, key

    def get(self, field_paths: list[str] | None = None, **kwargs: Any) -> FakeSnapshot:
        self.db.calls.append(("get", {"field_paths": field_paths, **kwargs}))
        if self.db.error is not None:
            raise self.db.error
        data = self.db.documents.get(self.key)
        if data is not None and field_paths is not None:
            data = {k: v for k, v in data.items() if k in field_paths}
        return FakeSnapshot(data)

    def set(self, data: dict[str, Any], **kwargs: Any) -> None:
        self.db.calls.append(("set", kwargs))
        if self.db.error is not None:
            raise self.db.error
        self.db.documents[self.key] = dict(data)


def make_store(**kwargs: Any) -> tuple[FirestoreDedupStore, FakeFirestore, FakeClock]:
    db, clock = FakeFirestore(), FakeClock(NOW)
    store = FirestoreDedupStore(db, clock=clock, **kwargs)  # type: ignore[arg-type]
    return store, db, clock


def test_seen_only_after_mark_and_within_the_window():
    store, db, clock = make_store(window_seconds=600)
    assert not store.is_duplicate(MAIN_PING_URI)
    store.mark_delivered(MAIN_PING_URI)
    assert db.documents[("decoder-dedup", document_id(MAIN_PING_URI))] == {
        EXPIRE_AT_FIELD: NOW + timedelta(seconds=600),
        URI_FIELD: MAIN_PING_URI,
    }
    clock.now += timedelta(seconds=600)
    assert store.is_duplicate(MAIN_PING_URI)
    clock.now += timedelta(microseconds=1)
    assert not store.is_duplicate(MAIN_PING_URI)
    assert store.counts == {"misses": 2, "expired": 1, "hits": 1, "marked": 1}
    assert (store.hits, store.misses) == (1, 2)
    assert not store.failures


def test_every_call_has_the_deadline_and_no_retry_loop():
    store, db, _ = make_store(timeout_seconds=0.75, collection="elsewhere")
    store.is_duplicate("/u")
    store.mark_delivered("/u")
    assert [(op, kw["retry"], kw["timeout"]) for op, kw in db.calls] == [
        ("get", None, 0.75),
        ("set", None, 0.75),
    ]
    assert db.calls[0][1]["field_paths"] == [EXPIRE_AT_FIELD]
    assert list(db.documents) == [("elsewhere", document_id("/u"))]


FAILURES = [
    api_exceptions.DeadlineExceeded("deadline"),
    api_exceptions.ServiceUnavailable("failed to connect to all addresses"),
    api_exceptions.PermissionDenied("missing permission"),
    api_exceptions.RetryError("timeout", cause=None),
    TransportError("metadata server unreachable"),
]


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_deliver_mode_swallows_counts_and_logs_failures(error, caplog):
    store, db, _ = make_store(on_failure="deliver")
    db.error = error
    uri = "/submit/telemetry/secret-document-id/main"
    with caplog.at_level(logging.WARNING, logger="ingestion.adapters.firestore_dedup"):
        assert store.is_duplicate(uri) is False
        store.mark_delivered(uri)
        store.mark_delivered(uri)
    assert store.failures == {"read_failed": 1, "write_failed": 2}
    assert not store.counts
    assert len(caplog.records) == 3
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert type(error).__name__ in caplog.records[0].getMessage()
    assert "secret-document-id" not in caplog.text


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_retry_mode_raises_dedup_unavailable(error, caplog):
    store, db, _ = make_store(on_failure="retry")
    db.error = error
    with caplog.at_level(logging.WARNING, logger="ingestion.adapters.firestore_dedup"):
        with pytest.raises(DedupUnavailable) as read:
            store.is_duplicate("/u")
        with pytest.raises(DedupUnavailable) as write:
            store.mark_delivered("/u")
    assert read.value.__cause__ is error
    assert write.value.__cause__ is error
    assert isinstance(read.value, RuntimeError)
    assert store.failures == {"read_failed": 1, "write_failed": 1}
    assert len(caplog.records) == 2


def test_programming_errors_are_not_swallowed():
    store, db, _ = make_store(on_failure="deliver")
    db.error = TypeError("bug")
    with pytest.raises(TypeError):
        store.is_duplicate("/u")


def test_a_document_without_a_timestamp_is_not_a_duplicate():
    store, db, _ = make_store()
    db.documents[("decoder-dedup", document_id("/u"))] = {URI_FIELD: "/u"}
    assert not store.is_duplicate("/u")
    db.documents[("decoder-dedup", document_id("/u"))] = {EXPIRE_AT_FIELD: "tomorrow"}
    assert not store.is_duplicate("/u")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"on_failure": "ignore"},
        {"window_seconds": 0},
        {"timeout_seconds": -1},
        {"clock": lambda: datetime(2026, 1, 1)},  # naive
    ],
)
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        FirestoreDedupStore(FakeFirestore(), **kwargs)  # type: ignore[arg-type]
