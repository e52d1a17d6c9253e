"""The decoder service: pipeline, deduplication and delivery, in the order the spec requires.

For each raw message: remove the IP (``pipeline.protect``) → skip it as a ``Duplicate`` if its uri
was already delivered → decode (``pipeline.decode``) → hand every output to the sink → once the
sink says they are durable (``flush``), mark the uri as delivered. Input that is not a message at
all (``UnreadableInput``) becomes a ``DecodePubsubMessages`` error here, and only here, for every
runtime: the function, the CLI and the backfill.

The sink and the dedup store are narrow interfaces, so the same service runs in the Cloud Function
(Pub/Sub, Firestore), the CLI (files, memory) and the backfill (objects). A sink may buffer:
``process_batch`` delivers a batch, flushes once, and only then marks its uris, so a writer that
turns a chunk into one object is correct by construction; a uri repeated inside the batch is a
duplicate of its first copy, as it would be one message at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from .. import pipeline
from ..adapters.dedup import DedupStore, NoDedup
from ..context import Context
from ..core.error_output import to_error_message
from ..core.errors import READ_ERROR_TYPE, DuplicateMessage, UnreadableInput
from ..core.message import STUB_PREFIX, Message
from ..core.redact import without_client_ip
from ..observability import OutcomeCounters
from ..pipeline import Outcome

Input = Message | UnreadableInput


class Sink(Protocol):
    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        """Accept every message (it may be buffered); raise a ``TransientFailure`` if it cannot."""
        ...

    def flush(self) -> None:
        """Return only once everything delivered so far is durably written."""
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


def unreadable_error(unreadable: UnreadableInput, *, include_stack_trace: bool) -> Message:
    """The error output of input that is not a message: what arrived, without any client IP."""
    return to_error_message(
        Message(attributes={}, payload=without_client_ip(unreadable.body)),
        unreadable,
        READ_ERROR_TYPE,
        include_stack_trace=include_stack_trace,
    )


class DecoderService:
    def __init__(
        self,
        context: Context | Callable[[], Context],
        sink: Sink,
        dedup: DedupStore | None = None,
        *,
        counters: OutcomeCounters | None = None,
        include_stack_trace: bool = True,
    ) -> None:
        # A callable supplies the current context per message, so resources can be swapped
        # (schema or database updates) while messages keep flowing.
        self._context = context
        self.sink = sink
        self.dedup: DedupStore = dedup if dedup is not None else NoDedup()
        # With deduplication off, a uri repeated inside a batch is no duplicate either.
        self._dedup_on = not isinstance(self.dedup, NoDedup)
        self.include_stack_trace = include_stack_trace
        self.counters = counters if counters is not None else OutcomeCounters()

    @property
    def context(self) -> Context:
        return self._context if isinstance(self._context, Context) else self._context()

    def process(self, item: Input) -> Outcome:
        """Decode and deliver one input; raises only when delivery itself failed."""
        return self.process_batch((item,))[0]

    def process_batch(self, items: Sequence[Input]) -> list[Outcome]:
        """Decode and deliver every input, flush the sink once, then mark the delivered uris.

        Raises (a ``TransientFailure``) when delivery failed; nothing is marked or counted then.
        """
        outcomes: list[Outcome] = []
        delivered: list[str] = []
        in_batch: set[str] = set()
        for item in items:
            if isinstance(item, UnreadableInput):
                outcome = Outcome(errors=[self.unreadable_error(item)])
            else:
                outcome = self.decode(item, delivered_before=in_batch)
                key = dedup_key(item)
                if key is not None and outcome.decoded and self._dedup_on:
                    delivered.append(key)
                    in_batch.add(key)
            self.sink.deliver(outcome.decoded, outcome.errors)
            outcomes.append(outcome)
        self.sink.flush()
        for outcome in outcomes:
            self.counters.record(outcome)
        for key in delivered:
            self.dedup.mark_delivered(key)
        return outcomes

    def decode(self, raw: Message, *, delivered_before: Collection[str] = ()) -> Outcome:
        """Everything but delivery: the outputs ``raw`` gives, duplicates included.

        ``delivered_before``: uris delivered but not yet marked (earlier in the same batch).
        """
        trace = self.include_stack_trace
        context = self.context
        protected = pipeline.protect(raw, context, include_stack_trace=trace)
        if not protected.decoded:
            return protected
        message = protected.decoded[0]
        key = dedup_key(message)
        if key is not None and (key in delivered_before or self.dedup.is_duplicate(key)):
            return Outcome(errors=[duplicate_error(message, include_stack_trace=trace)])
        return pipeline.decode(message, context, include_stack_trace=trace)

    def unreadable_error(self, unreadable: UnreadableInput) -> Message:
        return unreadable_error(unreadable, include_stack_trace=self.include_stack_trace)
