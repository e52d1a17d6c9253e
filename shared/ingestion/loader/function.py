"""The loader Cloud Function, minus the framework and minus its construction.

A push request carries one Pub/Sub message; it is answered 204 (acknowledged) only once the
object holding the message is written. A failed write answers 503 for every request of its batch
and a full loader 429, so Pub/Sub redelivers those messages (and slows its push rate). A request
that is no Pub/Sub message answers 400: Pub/Sub treats it as a failed delivery, so after the
subscription's attempts it lands in the dead-letter topic instead of being dropped.

Log lines say what happened and where, never what a message holds (raw messages keep IPs).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping

from ..adapters.envelope import InvalidEnvelope, parse_envelope
from ..core.message import Message
from ..observability import MetricLines
from .batches import Overloaded, WriteFailed
from .loader import Loader

log = logging.getLogger("ingestion.loader")

# The counters that are metrics (terraform/modules/monitoring): one ``loader count`` line per
# counter that moved since the previous counters line.
METRIC_LINE = "loader count"
METRIC_COUNTER = re.compile(
    r"messages_(written|failed|refused)|batches_(written|failed)|object_bytes_written"
)

OK = 204
NOT_A_MESSAGE = 400
OVERLOADED = 429
RETRY = 503


class LoaderFunction:
    def __init__(
        self,
        loader: Loader,
        *,
        counters_interval: float = 60.0,
        keep_message_id: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loader = loader
        self._keep_message_id = keep_message_id
        self._interval = counters_interval
        self._clock = clock
        self._last_log = clock()
        self._metric_lines = MetricLines(METRIC_LINE, METRIC_COUNTER)

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        """Load one pushed message; the status tells Pub/Sub to ack (2xx) or redeliver."""
        try:
            delivery = parse_envelope(body, headers)
        except InvalidEnvelope as exc:
            log.warning("request is not a Pub/Sub message", extra={"error": str(exc)[:300]})
            return NOT_A_MESSAGE, "not a Pub/Sub push request"
        try:
            message = delivery.message
            if not self._keep_message_id:
                message = stored_message(message, delivery.message_id)
            await self.loader.load(message)
        except Overloaded:
            return OVERLOADED, "loader full; will be redelivered"
        except WriteFailed as exc:
            log.error(
                "object write failed, asking Pub/Sub to redeliver",
                extra={"error": str(exc)[:300], "message_id": delivery.message_id},
            )
            return RETRY, "write failed; will be redelivered"
        self._maybe_log_counters()
        return OK, ""

    def _maybe_log_counters(self) -> None:
        now = self._clock()
        if now - self._last_log >= self._interval:
            self._last_log = now
            counters = self.loader.counter_values()
            log.info("loader counters", extra={"counters": counters})
            self._metric_lines.log(log, counters)


def stored_message(message: Message, message_id: str | None) -> Message:
    """The message as published: without the ``message_id`` the envelope copies in (the id of
    this subscription's delivery, not part of the document). The raw archive keeps it
    (``keep_message_id``): the decoder derives a stub-installer ping's document id from it, so a
    backfill of the archive must see the same id the live decoder saw."""
    if message_id is not None and message.attributes.get("message_id") == message_id:
        return message.evolve(drop_attributes=("message_id",))
    return message
