"""Deduplication stores: the narrow interface the decoder service uses, and the in-memory one.

Deduplication is by the ``uri`` attribute, best effort (D-73, §0.1): a URI is *seen* only after a
decoded message for it was delivered, so a message whose delivery failed is never rejected as a
duplicate of itself on redelivery.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

DEFAULT_WINDOW_SECONDS = 600.0
# About 200 MB of uris; the CLI's run-long store and the function's memory backend alike.
DEFAULT_MAX_ENTRIES = 1_000_000


class DedupStore(Protocol):
    def is_duplicate(self, uri: str) -> bool:
        """True when a message with this uri was delivered within the window."""
        ...

    def mark_delivered(self, uri: str) -> None:
        """Record that a decoded message with this uri has been delivered."""
        ...

    def counter_values(self) -> dict[str, int]:
        """Its own counts (hits, misses, failures...) for the counters log line."""
        ...


class NoDedup:
    """Deduplication switched off."""

    def is_duplicate(self, uri: str) -> bool:
        return False

    def mark_delivered(self, uri: str) -> None:
        return None

    def counter_values(self) -> dict[str, int]:
        return {}


class AsyncDedup:
    """A synchronous store (in memory: no I/O) behind the awaitable interface of the function."""

    def __init__(self, store: DedupStore) -> None:
        self.store = store

    async def is_duplicate(self, uri: str) -> bool:
        return self.store.is_duplicate(uri)

    async def mark_delivered(self, uri: str) -> None:
        self.store.mark_delivered(uri)

    def counter_values(self) -> dict[str, int]:
        return self.store.counter_values()


class InMemoryDedupStore:
    """URIs seen by this process; ``window_seconds=None`` keeps them for the whole run.

    Bounded, since uris come from clients: marks are kept in the order they were made (a mark
    made again moves to the end), so expired ones are swept from the front on every mark, and
    past ``max_entries`` the oldest are forgotten (dedup is best effort: a forgotten uri can only
    let a duplicate through, never reject a new message).
    """

    def __init__(
        self,
        window_seconds: float | None = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self._window = window_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self.forgotten = 0  # marks dropped to stay within max_entries

    def is_duplicate(self, uri: str) -> bool:
        with self._lock:
            expires = self._expiry.get(uri)
            if expires is None:
                return False
            if expires < self._clock():
                del self._expiry[uri]
                return False
            return True

    def mark_delivered(self, uri: str) -> None:
        now = self._clock()
        expires = float("inf") if self._window is None else now + self._window
        with self._lock:
            self._expiry.pop(uri, None)
            self._expiry[uri] = expires
            for oldest, oldest_expiry in list(itertools.islice(self._expiry.items(), 2)):
                if oldest_expiry >= now and len(self._expiry) <= self._max_entries:
                    break
                if oldest_expiry >= now:
                    self.forgotten += 1
                del self._expiry[oldest]

    def counter_values(self) -> dict[str, int]:
        return {"remembered": len(self._expiry), "forgotten": self.forgotten}

    def __len__(self) -> int:
        return len(self._expiry)
