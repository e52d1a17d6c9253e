"""The decoder Cloud Function, minus the framework: one instance per process, built from settings.

A request is acknowledged (2xx) only after every message it produced was delivered to a decoded
or the error topic. A delivery failure (or Firestore failure in ``retry`` mode) answers 503 so
Pub/Sub redelivers; a deterministic rejection goes to the error topic and is acknowledged, so a
poison message is never retried forever. A request that is not a Pub/Sub message at all becomes a
``DecodePubsubMessages`` error carrying the request body (IP attributes removed), and is
acknowledged too: nothing is lost, nothing loops.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Mapping
from typing import Any

import orjson

from ..adapters.dedup import DedupStore, InMemoryDedupStore, NoDedup
from ..adapters.envelope import InvalidEnvelope, parse_envelope
from ..adapters.files import READ_ERROR_TYPE
from ..core.error_output import to_error_message
from ..core.message import CLIENT_IP_ATTRIBUTES, Message
from ..observability import OutcomeCounters, configure_logging, log_fields
from ..pipeline import Outcome
from ..settings import DecoderSettings
from .decoder import DecoderService, Sink

log = logging.getLogger("ingestion.decoder")

OK = 204
RETRY = 503


class RetryableFailure(Exception):
    """Raised by a sink or dedup store when the message must be redelivered."""


class DecoderFunction:
    def __init__(
        self,
        settings: DecoderSettings,
        context_source: Any,
        sink: Sink,
        dedup: DedupStore,
        *,
        retryable: tuple[type[BaseException], ...] = (),
        resources: object = None,
    ) -> None:
        self.settings = settings
        self.resources = resources  # the context provider, for its counters
        self.sink = sink
        self.dedup = dedup
        self.counters = OutcomeCounters(interval=settings.counters_interval_seconds)
        self.service = DecoderService(
            context_source, sink, dedup, include_stack_trace=settings.include_stack_trace
        )
        self.service.counters = self.counters
        self._retryable: tuple[type[BaseException], ...] = (RetryableFailure, *retryable)

    @classmethod
    def from_settings(cls, settings: DecoderSettings) -> DecoderFunction:
        """Everything an instance reuses across requests: clients, schemas, GeoIP readers."""
        from ..adapters.firestore_dedup import DedupUnavailable, FirestoreDedupStore
        from ..adapters.pubsub_sink import DeliveryFailed, PubSubSink
        from ..resources.reloading import ContextProvider

        configure_logging(settings.log_level)
        provider = ContextProvider(settings)
        dedup: DedupStore
        if settings.dedup_backend == "firestore":
            dedup = FirestoreDedupStore.from_settings(settings)
        elif settings.dedup_backend == "memory":
            dedup = InMemoryDedupStore(window_seconds=settings.dedup_window_seconds)
        else:
            dedup = NoDedup()
        return cls(
            settings,
            provider.current,
            PubSubSink.from_settings(settings),
            dedup,
            retryable=(DeliveryFailed, DedupUnavailable),
            resources=provider,
        )

    def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        """Process one push request; the status code tells Pub/Sub to ack (2xx) or redeliver."""
        try:
            delivery = parse_envelope(body, headers)
        except InvalidEnvelope as exc:
            return self._reject_envelope(body, exc)
        try:
            outcome = self.service.process(delivery.message)
        except self._retryable as exc:
            self.counters.add("retry")
            log.error(
                "delivery failed, asking Pub/Sub to redeliver",
                extra={"error": str(exc), "message_id": delivery.message_id,
                       **log_fields(delivery.message.attributes)},
            )  # fmt: skip
            return RETRY, "delivery failed; will be redelivered"
        self._log_outcome(outcome, delivery.message_id)
        self.counters.maybe_log(log, self._store_counters())
        return OK, ""

    def _reject_envelope(self, body: bytes, exc: InvalidEnvelope) -> tuple[int, str]:
        error = to_error_message(
            Message(attributes={}, payload=_without_ip(body)),
            exc,
            READ_ERROR_TYPE,
            include_stack_trace=self.settings.include_stack_trace,
        )
        try:
            self.sink.deliver([], [error])
        except self._retryable:
            self.counters.add("retry")
            log.exception("could not deliver an unreadable request to the error topic")
            return RETRY, "delivery failed; will be redelivered"
        self.counters.record(Outcome(errors=[error]))
        log.warning("request is not a Pub/Sub message", extra={"error": str(exc)})
        return OK, ""

    def _log_outcome(self, outcome: Outcome, message_id: str | None) -> None:
        for error in outcome.errors:
            attributes = error.attributes
            log.info(
                "message rejected",
                extra={
                    "error_type": attributes.get("error_type"),
                    "error_message": attributes.get("error_message", "")[:300],
                    "message_id": message_id,
                    **log_fields(attributes),
                },
            )
        for bug in outcome.dropped:
            log.info("message dropped by a scrubber rule", extra={"bug": bug})
        for decoded in outcome.decoded:
            log.debug("message decoded", extra=log_fields(decoded.attributes))

    def _store_counters(self) -> dict[str, int]:
        """The adapters' own counters (dedup hits, failures, publishes, reloads) for the log."""
        extra: dict[str, int] = {}
        owners = (("dedup", self.dedup), ("sink", self.sink), ("resources", self.resources))
        for prefix, owner in owners:
            for name in ("counts", "failures", "published", "truncated_payloads", "reloads"):
                value = getattr(owner, name, None)
                if isinstance(value, Mapping):
                    extra.update({f"{prefix}:{name}:{k}": int(v) for k, v in value.items()})
                elif isinstance(value, int) and not isinstance(value, bool):
                    extra[f"{prefix}:{name}"] = value
        return extra


def _without_ip(body: bytes) -> bytes:
    """The request body with any IP attribute removed from the message it may carry."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    changed = False
    for holder in (document, document.get("data") if isinstance(document, dict) else None):
        message = holder.get("message") if isinstance(holder, dict) else None
        attributes = message.get("attributes") if isinstance(message, dict) else None
        if isinstance(attributes, dict):
            for key in CLIENT_IP_ATTRIBUTES:
                changed |= attributes.pop(key, None) is not None
    return orjson.dumps(document) if changed else body


_instance: DecoderFunction | None = None
_instance_lock = threading.Lock()


def instance(environ: Mapping[str, str]) -> DecoderFunction:
    """The process-wide function, built on first use (cold start) and reused afterwards."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = DecoderFunction.from_settings(DecoderSettings.from_environ(environ))
                # Clients, schemas and databases live as long as the instance: keep them out
                # of the collector's generations so per-request collections stay cheap.
                gc.collect()
                gc.freeze()
    return _instance
