"""The decoder Cloud Function, minus the framework and minus its construction.

A request is acknowledged (2xx) only after every message it produced was delivered to a decoded
or the error topic. A ``TransientFailure`` (a publish failed, or Firestore in ``retry`` mode)
answers 503 so Pub/Sub redelivers; a deterministic rejection goes to the error topic and is
acknowledged, so a poison message is never retried forever. A request that is not a Pub/Sub
message at all is handed to the service as ``UnreadableInput`` and becomes a
``DecodePubsubMessages`` error carrying the request body (client IPs removed), acknowledged too:
nothing is lost, nothing loops.

Everything is injected by the composition root (``ingestion.entrypoints.decoder_function``):
the service, its counters and the adapters whose own counters are logged with them. The handler
is a coroutine: every request of an instance runs on one event loop, where the adapters batch
their RPCs across requests. A request that is cancelled (its client went away, or it timed out)
takes its queued items out of the batchers on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .. import tracing
from ..adapters.envelope import InvalidEnvelope, parse_envelope
from ..core.errors import TransientFailure
from ..core.message import Message
from ..observability import OutcomeCounters, ReportsCounters, counter_values, log_fields
from ..pipeline import Outcome
from .async_decoder import AsyncDecoderService

log = logging.getLogger("ingestion.decoder")

OK = 204
RETRY = 503


class DecoderFunction:
    def __init__(
        self,
        service: AsyncDecoderService,
        counter_sources: Mapping[str, ReportsCounters] | None = None,
    ) -> None:
        self.service = service
        self.counters: OutcomeCounters = service.counters
        self.counter_sources = dict(counter_sources or {})

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        """Process one push request; the status code tells Pub/Sub to ack (2xx) or redeliver."""
        tracing.bind(headers)  # this request's log lines carry its trace
        message_id: str | None = None
        item: Message | InvalidEnvelope
        try:
            delivery = parse_envelope(body, headers)
            item, message_id = delivery.message, delivery.message_id
        except InvalidEnvelope as exc:
            item = exc
        try:
            outcome = await self.service.process(item)
        except TransientFailure as exc:
            self.counters.add("retry")
            fields = log_fields(item.attributes) if isinstance(item, Message) else {}
            log.error(
                "delivery failed, asking Pub/Sub to redeliver",
                extra={"error": str(exc), "message_id": message_id, **fields},
            )
            # Also while every delivery fails: the failures must reach the metrics.
            self.counters.maybe_log(log, self._adapter_counters)
            return RETRY, "delivery failed; will be redelivered"
        if isinstance(item, InvalidEnvelope):
            log.warning("request is not a Pub/Sub message", extra={"error": str(item)})
        else:
            self._log_outcome(outcome, message_id)
        self.counters.maybe_log(log, self._adapter_counters)
        return OK, ""

    def _adapter_counters(self) -> dict[str, int]:
        return counter_values(self.counter_sources)

    def _log_outcome(self, outcome: Outcome, message_id: str | None) -> None:
        # Checked first: the fields would be built for every message, logged or not.
        if not log.isEnabledFor(logging.INFO):
            return
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
        if log.isEnabledFor(logging.DEBUG):
            for decoded in outcome.decoded:
                log.debug("message decoded", extra=log_fields(decoded.attributes))
