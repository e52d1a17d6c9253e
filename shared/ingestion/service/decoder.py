"""The decoder service: pipeline, deduplication and delivery, in the order the spec requires.

For each raw message: remove the IP (``pipeline.protect``) → skip it as a ``Duplicate`` if its uri
was already delivered → decode (``pipeline.decode``) → deliver every output → only then mark the
uri as delivered. The sink and the dedup store are narrow interfaces so that the same service runs
in the Cloud Function (Pub/Sub, Firestore), the CLI (files, memory) and the backfill.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from .. import pipeline
from ..adapters.dedup import DedupStore, NoDedup
from ..context import Context
from ..core.error_output import to_error_message
from ..core.errors import DuplicateMessage
from ..core.message import Message
from ..observability import OutcomeCounters
from ..pipeline import Outcome

STUB_PREFIX = "/stub/"


class Sink(Protocol):
    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        """Deliver every message; return only once all of them are durably written."""
        ...


def dedup_key(message: Message) -> str | None:
    """The uri, except for stub-installer pings, whose URIs carry no unique id (§0.1)."""
    uri = message.attributes.get("uri")
    if not uri or uri.startswith(STUB_PREFIX):
        return None
    return uri


def duplicate_error(message: Message, *, include_stack_trace: bool) -> Message:
    """Only the metadata of a duplicate: all its attributes, an empty payload (D-74)."""
    return to_error_message(
        message.evolve(payload=b""),
        DuplicateMessage(),
        "Duplicate",
        include_stack_trace=include_stack_trace,
    )


class DecoderService:
    def __init__(
        self,
        context: Context | Callable[[], Context],
        sink: Sink,
        dedup: DedupStore | None = None,
        *,
        include_stack_trace: bool = True,
    ) -> None:
        # A callable supplies the current context per message, so resources can be swapped
        # (schema or database updates) while messages keep flowing.
        self._context = context
        self.sink = sink
        self.dedup: DedupStore = dedup if dedup is not None else NoDedup()
        self.include_stack_trace = include_stack_trace
        self.counters = OutcomeCounters()

    @property
    def context(self) -> Context:
        return self._context if isinstance(self._context, Context) else self._context()

    def process(self, raw: Message) -> Outcome:
        """Decode and deliver one message; raises only when delivery itself failed."""
        outcome = self.decode(raw)
        self.sink.deliver(outcome.decoded, outcome.errors)
        self.counters.record(outcome)
        key = dedup_key(raw)
        if key is not None and outcome.decoded:
            self.dedup.mark_delivered(key)
        return outcome

    def decode(self, raw: Message) -> Outcome:
        """Everything but delivery: the outputs ``raw`` gives, duplicates included."""
        trace = self.include_stack_trace
        context = self.context
        protected = pipeline.protect(raw, context, include_stack_trace=trace)
        if not protected.decoded:
            return protected
        message = protected.decoded[0]
        key = dedup_key(message)
        if key is not None and self.dedup.is_duplicate(key):
            return Outcome(errors=[duplicate_error(message, include_stack_trace=trace)])
        return pipeline.decode(message, context, include_stack_trace=trace)
