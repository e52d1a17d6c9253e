"""Structured logs Cloud Logging understands, and counters per outcome.

On Cloud Functions a JSON object printed on stdout becomes a structured log entry: ``severity``
and ``message`` are recognised, other keys land in ``jsonPayload``. Log lines carry document ids,
namespaces, types and error types; never attributes wholesale and never an IP address. Lines
written while a request is handled carry its trace (``tracing``), so Cloud Logging shows them
under the request.

The counters become metrics through the ``decoder count`` lines: with each counters line, one
line per metric counter that moved (``{"counter": "error:ParseUri", "count": 3}``, the increase
since the previous line). Terraform's log-based metrics (terraform/modules/monitoring) extract
their values and labels from those lines; tests/terraform/test_log_metrics.py emits them through
this code and checks every metric's filter against them.
"""

from __future__ import annotations

import collections
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson

from . import tracing
from .pipeline import Outcome

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; with a ``project``, the current request's trace fields."""

    def __init__(self, project: str = "") -> None:
        super().__init__()
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        trace = tracing.current()
        if trace is not None and self.project:
            entry.update(tracing.log_fields(trace, self.project))
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO", project: str = "") -> None:
    """JSON lines on stdout for the whole process (idempotent); ``project`` names the traces."""
    root = logging.getLogger()
    formatters = [h.formatter for h in root.handlers if isinstance(h.formatter, JsonFormatter)]
    if formatters:
        for formatter in formatters:
            formatter.project = project or formatter.project
    else:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter(project))
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


# The counters that are metrics (a ``decoder count`` line each when they move): outcomes, dedup
# results and failures, publishes and failed publishes per topic kind. The others (batch sizes,
# retries of single items, reloads...) stay in the counters line only.
METRIC_COUNTER = re.compile(
    r"input|decoded|retry|error:\w+|dropped:[-\w.]+|dedup:(counts|failures):\w+"
    r"|sink:published:\w+|sink:batch:\w+:items_failed"
)
METRIC_LINE = "decoder count"


class MetricLines:
    """Turns cumulative counters into increase lines a log-based metric can sum: each ``log``
    writes ``{"message": <message>, "counter": <name>, "count": <increase>}`` for each counter
    matching ``pattern`` that grew since the previous call (a counter that went down restarted:
    its whole value is the increase)."""

    def __init__(self, message: str, pattern: re.Pattern[str]) -> None:
        self.message = message
        self.pattern = pattern
        self._logged: dict[str, int] = {}

    def increases(self, now: Mapping[str, int]) -> dict[str, int]:
        increases: dict[str, int] = {}
        for name, value in now.items():
            if self.pattern.fullmatch(name) is None:
                continue
            previous = self._logged.get(name, 0)
            increase = value - previous if value >= previous else value
            if increase > 0:
                increases[name] = increase
        self._logged = dict(now)
        return increases

    def log(self, logger: logging.Logger, now: Mapping[str, int]) -> None:
        for name, increase in self.increases(now).items():
            logger.info(self.message, extra={"counter": name, "count": increase})


class OutcomeCounters:
    """Thread-safe counts by outcome (``decoded``, ``error:<type>``, ``dropped:<bug>``...),
    logged as one line every ``interval`` seconds, with a ``decoder count`` line per metric
    counter that moved since."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._interval = interval
        self._clock = clock
        self._last = clock()
        self._metric_lines = MetricLines(METRIC_LINE, METRIC_COUNTER)

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
        self._metric_lines.log(logger, counts)
