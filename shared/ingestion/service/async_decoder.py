"""The decoder service on one event loop: the same order as ``DecoderService``, awaited.

For each input: remove the IP (``pipeline.protect``) → await the dedup check → decode →
await the delivery of every output → count → await the mark. The three awaited calls are where
concurrent requests meet: the adapters behind them send one RPC for everything submitted while
the previous one was in flight (``service/batcher.py``), which is what makes the function cheap.

What stays the same as the synchronous service, and why the two are not one: the rules
(``dedup_key``, ``duplicate_error``, ``unreadable_error``, the stub exception, mark only after a
delivered decoded output) are the module functions of ``service/decoder.py``, shared. The
synchronous service batches by flushing a sink once per batch, which the CLI and the backfill
need; here a request is one message and the batching happens across requests, inside the
adapters.

Very large payloads are decoded off the loop, in a small thread pool, so that one of them does not
hold every other request's RPC results for the whole of its decode. The threshold is on the
payload as it arrives (``offload_bytes``, 256 KiB by default, gzipped: several milliseconds of
decode and above). It is high because the hop is dear: the GIL still serialises the CPU work, and
the decode thread and the loop trading it cost about as much CPU again as the decode moved —
measured on the benchmark's mix at 32 concurrent requests, offloading from 32 KiB (6 % of the
messages, 56 % of the bytes) made the function's CPU per message 1.31 ms against 0.99 with none
offloaded, and from 128 KiB 1.13. Below the threshold a payload stalls the loop for its decode,
a few milliseconds at most, which the other requests' latency absorbs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from .. import pipeline
from ..context import Context
from ..core.errors import UnreadableInput
from ..core.message import Message
from ..observability import OutcomeCounters
from ..pipeline import Outcome
from .decoder import Input, dedup_key, duplicate_error, unreadable_error

DEFAULT_OFFLOAD_BYTES = 256 * 1024


class AsyncSink(Protocol):
    async def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        """Return once every message is durably published; raise a ``TransientFailure``."""
        ...


class AsyncDedupStore(Protocol):
    async def is_duplicate(self, uri: str) -> bool: ...

    async def mark_delivered(self, uri: str) -> None: ...


class AsyncDecoderService:
    def __init__(
        self,
        context: Callable[[], Awaitable[Context]],
        sink: AsyncSink,
        dedup: AsyncDedupStore | None = None,
        *,
        counters: OutcomeCounters | None = None,
        include_stack_trace: bool = True,
        executor: concurrent.futures.Executor | None = None,
        offload_bytes: int = DEFAULT_OFFLOAD_BYTES,
    ) -> None:
        self._context = context
        self.sink = sink
        self.dedup = dedup
        self.counters = counters if counters is not None else OutcomeCounters()
        self.include_stack_trace = include_stack_trace
        self._executor = executor
        self._offload_bytes = offload_bytes

    async def process(self, item: Input) -> Outcome:
        """Decode and deliver one input; raises only when delivery (or dedup in ``retry``
        mode) failed, so that the message is redelivered. Nothing is counted or marked then."""
        trace = self.include_stack_trace
        if isinstance(item, UnreadableInput):
            outcome = Outcome(errors=[unreadable_error(item, include_stack_trace=trace)])
            key = None
        else:
            outcome, key = await self._decode(item)
        await self.sink.deliver(outcome.decoded, outcome.errors)
        self.counters.record(outcome)
        if key is not None and outcome.decoded and self.dedup is not None:
            await self.dedup.mark_delivered(key)
        return outcome

    async def _decode(self, raw: Message) -> tuple[Outcome, str | None]:
        trace = self.include_stack_trace
        context = await self._context()
        protected = pipeline.protect(raw, context, include_stack_trace=trace)
        if not protected.decoded:
            return protected, None
        message = protected.decoded[0]
        key = dedup_key(message)
        if key is not None and self.dedup is not None and await self.dedup.is_duplicate(key):
            return Outcome(errors=[duplicate_error(message, include_stack_trace=trace)]), key
        if len(message.payload) < self._offload_bytes:
            return pipeline.decode(message, context, include_stack_trace=trace), key
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(
            self._executor, _decode_in_thread, message, context, trace
        )
        return outcome, key


def _decode_in_thread(message: Message, context: Context, trace: bool) -> Outcome:
    return pipeline.decode(message, context, include_stack_trace=trace)
