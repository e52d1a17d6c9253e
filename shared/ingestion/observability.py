"""Structured logs Cloud Logging understands, and counters per outcome.

On Cloud Functions a JSON object printed on stdout becomes a structured log entry: ``severity``
and ``message`` are recognised, other keys land in ``jsonPayload``. Log lines carry document ids,
namespaces, types and error types; never attributes wholesale and never an IP address.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson

from .pipeline import Outcome

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stdout for the whole process (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.handlers[:] = [handler]
    root.setLevel(level)


# Attributes safe and useful to identify a message in a log line.
LOG_ATTRIBUTES = ("document_namespace", "document_type", "document_version", "document_id")


def log_fields(attributes: Mapping[str, str]) -> dict[str, str]:
    return {key: attributes[key] for key in LOG_ATTRIBUTES if key in attributes}


class ReportsCounters(Protocol):
    """An adapter that counts what it did (dedup hits, publishes, reloads...)."""

    def counter_values(self) -> Mapping[str, int]:
        """Its counts now, by name; logged with the outcome counters."""
        ...


def counter_values(sources: Mapping[str, ReportsCounters]) -> dict[str, int]:
    """Every source's counts, each name prefixed with the source's (``dedup:counts:hits``)."""
    return {
        f"{prefix}:{name}": int(value)
        for prefix, source in sources.items()
        for name, value in source.counter_values().items()
    }


class OutcomeCounters:
    """Thread-safe counts by outcome (``decoded``, ``error:<type>``, ``dropped:<bug>``...),
    logged as one line every ``interval`` seconds."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._interval = interval
        self._clock = clock
        self._last = clock()

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.counts["input"] += 1
            self.counts["decoded"] += len(outcome.decoded)
            for error in outcome.errors:
                self.counts[f"error:{error.attributes.get('error_type', 'unknown')}"] += 1
            for bug in outcome.dropped:
                self.counts[f"dropped:{bug}"] += 1

    def add(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[key] += amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def maybe_log(
        self,
        logger: logging.Logger,
        extra: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        """Log the counts once the interval has passed; ``extra`` (the adapters' counters) is
        only asked for then, not on every request."""
        now = self._clock()
        if now - self._last < self._interval:
            return
        self._last = now
        counts = self.snapshot()
        counts.update(extra() if extra is not None else {})
        logger.info("decoder counters", extra={"counters": counts})
