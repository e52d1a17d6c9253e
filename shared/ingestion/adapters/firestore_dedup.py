"""The Firestore deduplication store: one document per delivered uri, valid for a window.

Implements the decoder's dedup as the spec has it (D-73 as amended by §0.1, best effort, 10-minute
window): a uri counts as seen only once a decoded message for it was delivered, so the service
marks after delivery and checks before decoding. Each mark is a document whose id is the sha256 of
the uri (fixed length, no ``/``, spread evenly over the key space so there are no hot spots) with
an ``expire_at`` timestamp that Firestore's TTL policy on the collection group uses to delete it.
The sweeper can lag up to a day and expired documents stay readable until it runs, so
``is_duplicate`` compares ``expire_at`` with the clock itself.

Firestore being down or slow must not stop the decoder: each call has a short deadline and no
client-side retry loop (google-api-core's default retry for a read lasts up to 300 s), and a
failure is logged, counted and then either ignored (``deliver``: dedup is best effort) or raised as
``DedupUnavailable`` (``retry``: the push is answered non-2xx and Pub/Sub redelivers).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError

from ..core.errors import TransientFailure
from .dedup import DEFAULT_WINDOW_SECONDS

if TYPE_CHECKING:
    from google.cloud import firestore

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "decoder-dedup"
DEFAULT_TIMEOUT_SECONDS = 2.0
FAILURE_MODES = ("deliver", "retry")
# The TTL field: the Terraform's google_firestore_field must name this field and the collection.
EXPIRE_AT_FIELD = "expire_at"
URI_FIELD = "uri"
# The uri is kept only to make documents readable when debugging; real uris are ~150 characters,
# and a bound keeps a hostile one from making every write large.
MAX_STORED_URI_CHARS = 1024
MAX_LOGGED_ERROR_CHARS = 300

# What a Firestore call raises when the service is unreachable, slow, or refuses us: API errors
# (DeadlineExceeded, ServiceUnavailable, PermissionDenied, RetryError...) and credential failures.
STORE_ERRORS: tuple[type[Exception], ...] = (GoogleAPIError, GoogleAuthError)


class DedupUnavailable(TransientFailure):
    """Firestore could not be used and the failure mode is ``retry``: redeliver the message."""


def document_id(uri: str) -> str:
    """The id of the uri's mark: sha256 hex of its UTF-8 bytes."""
    # surrogatepass: a uri that arrived with a lone surrogate must still hash, not crash.
    return hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()


def stored_uri(uri: str) -> str:
    """The uri as kept in the document: bounded, and always valid UTF-8 for the protobuf."""
    return uri[:MAX_STORED_URI_CHARS].encode("utf-8", "replace").decode("utf-8")


def is_live(expire_at: object, now: datetime) -> bool:
    """True while a mark is inside its window (as the in-memory store: expiry is inclusive).

    Anything but a timestamp is no mark at all: Firestore's TTL ignores such documents too.
    """
    return isinstance(expire_at, datetime) and expire_at.tzinfo is not None and expire_at >= now


def utc_now() -> datetime:
    return datetime.now(UTC)


class FirestoreDedupRules:
    """What the synchronous store and the asyncio one (``firestore_async``) share, one copy of
    each rule: the settings and their checks, the counters, the verdict on a mark read back, the
    fields of a new mark, and what a failure does (log, count, then carry on or raise)."""

    def __init__(
        self,
        window_seconds: float,
        on_failure: str,
        timeout_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        if on_failure not in FAILURE_MODES:
            raise ValueError(f"on_failure={on_failure!r}: expected one of {FAILURE_MODES}")
        if window_seconds <= 0 or timeout_seconds <= 0:
            raise ValueError("window_seconds and timeout_seconds must be positive")
        if clock().tzinfo is None:
            raise ValueError("clock must return timezone-aware datetimes")
        self.window = timedelta(seconds=window_seconds)
        self.on_failure = on_failure
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        # hits, misses (of which ``expired``: present but past expire_at), marked.
        self.counts: collections.Counter[str] = collections.Counter()
        # read_failed, write_failed.
        self.failures: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def counter_values(self) -> dict[str, int]:
        with self._lock:
            values = {f"counts:{key}": count for key, count in self.counts.items()}
            values.update({f"failures:{key}": count for key, count in self.failures.items()})
        return values

    @property
    def hits(self) -> int:
        return self.counts["hits"]

    @property
    def misses(self) -> int:
        return self.counts["misses"]

    def _verdict(self, data: Mapping[str, Any] | None) -> bool:
        """Whether a mark read back (its fields; None: no document) makes the uri a duplicate."""
        if data is None:
            self._count("misses")
            return False
        if is_live(data.get(EXPIRE_AT_FIELD), self._clock()):
            self._count("hits")
            return True
        # Past its window but not yet swept by the TTL policy.
        self._count("misses", "expired")
        return False

    def _mark_fields(self, uri: str) -> dict[str, Any]:
        """The fields of the uri's mark, made now: the whole document (a write replaces it)."""
        return {EXPIRE_AT_FIELD: self._clock() + self.window, URI_FIELD: stored_uri(uri)}

    def _count(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self.counts[key] += 1

    def _read_failed(self, exc: Exception) -> None:
        self._failed("read_failed", exc, "delivering without the duplicate check")

    def _write_failed(self, exc: Exception) -> None:
        self._failed("write_failed", exc, "the uri stays unmarked")

    def _failed(self, key: str, exc: Exception, consequence: str) -> None:
        with self._lock:
            self.failures[key] += 1
        retrying = self.on_failure == "retry"
        # Only the error: never the uri or any other attribute of the message.
        log.warning(
            "dedup %s (%s: %s); %s",
            key.replace("_", " "),
            type(exc).__name__,
            str(exc)[:MAX_LOGGED_ERROR_CHARS],
            "the message will be redelivered" if retrying else consequence,
        )
        if retrying:
            raise DedupUnavailable(f"dedup {key.replace('_', ' ')}: {type(exc).__name__}") from exc


class FirestoreDedupStore(FirestoreDedupRules):
    """``DedupStore`` on a Firestore collection; safe to share between request threads."""

    def __init__(
        self,
        client: firestore.Client,
        collection: str = DEFAULT_COLLECTION,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        on_failure: str = "deliver",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(window_seconds, on_failure, timeout_seconds, clock)
        self._collection = client.collection(collection)

    def is_duplicate(self, uri: str) -> bool:
        reference = self._collection.document(document_id(uri))
        try:
            # retry=None: with Firestore down, the default retry keeps a read going for minutes;
            # a refused connection now fails in milliseconds and a hang ends at the deadline.
            snapshot = reference.get(
                field_paths=[EXPIRE_AT_FIELD], retry=None, timeout=self.timeout_seconds
            )
        except STORE_ERRORS as exc:
            self._read_failed(exc)
            return False
        return self._verdict((snapshot.to_dict() or {}) if snapshot.exists else None)

    def mark_delivered(self, uri: str) -> None:
        reference = self._collection.document(document_id(uri))
        document = self._mark_fields(uri)
        try:
            # A blind set(), not create() or a transaction: it is idempotent, and when the uri was
            # delivered again (a redelivery that raced the first mark, or one after the window)
            # the last writer wins and the window restarts from the latest delivery, which is
            # what it should measure. A transaction would only add latency (contended ones take
            # seconds) without closing the check-deliver-mark gap, which no lock can close.
            reference.set(document, retry=None, timeout=self.timeout_seconds)
        except STORE_ERRORS as exc:
            self._write_failed(exc)
            return
        self._count("marked")
