"""Deduplication stores: the narrow interface the decoder service uses, and the in-memory one.

Deduplication is by the ``uri`` attribute, best effort (D-73, §0.1): a URI is *seen* only after a
decoded message for it was delivered, so a message whose delivery failed is never rejected as a
duplicate of itself on redelivery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

DEFAULT_WINDOW_SECONDS = 600.0


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


class InMemoryDedupStore:
    """URIs seen by this process; ``window_seconds=None`` keeps them for the whole run."""

    def __init__(
        self,
        window_seconds: float | None = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window_seconds
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

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
        expires = float("inf") if self._window is None else self._clock() + self._window
        with self._lock:
            self._expiry[uri] = expires

    def counter_values(self) -> dict[str, int]:
        return {"remembered": len(self._expiry)}

    def __len__(self) -> int:
        return len(self._expiry)
