"""The Pub/Sub sink of the event-loop function: the decoder's outputs (``pubsub_output.py``)
published through the GAPIC ``google.pubsub_v1.PublisherAsyncClient``, with one Publish RPC per
topic for everything the requests of an instance submitted while that topic's previous RPC was in
flight.

Why: ``PublisherClient`` costs about 0.86 ms of CPU per request (a commit thread, a timer and
futures per batch, and a batch per request), and one Publish RPC carrying 10-100 messages costs
0.08-0.14 ms per message against 0.48 ms for one. The batching is the cross-request batcher of
``service/batcher.py``; adapters may not import the service, so the composition root injects it as
a factory (``BatcherFactory``, which ``Batcher`` itself satisfies), and the limits of a Publish
request stay here.

- One batcher per topic path, made on first use. The decoded topics come from the schema store's
  canonical names, but their count is capped anyway (``MAX_TOPIC_BATCHERS``): the least recently
  used batcher is closed (it sends what it holds) and its counts are kept.
- A topic's ``send`` is one Publish RPC with the deadline ``publish_timeout``, retried on
  transient codes for half of it. ``NotFound`` belongs to the topic: every item of the batch gets
  it and none is retried alone. Any other error fails the batch, which the batcher then retries
  item by item, so a poison message fails only its own request.
- ``deliver`` submits every message, awaits them all, reroutes a decoded message whose topic does
  not exist to the error topic exactly as the synchronous sink does, and raises
  ``DeliveryFailed`` for any other failure once every submit has completed. There is no
  ``flush``: ``deliver`` returns only when everything is published.
- A cancelled ``deliver`` cancels its submits: an item not sent yet is never sent.

The deployed function publishes through ``ChannelPublisher``: the same RPC as the GAPIC client's
``publish`` (routing header, retry, deadline, ``google.api_core`` exceptions), sent as a raw
protobuf message on that client's channel, which measured 0.06 ms of CPU a message against 0.09
for the GAPIC wrapper and its proto-plus request at 8 messages a Publish.

A submit may wait for the RPC in flight, then its own, then its single retry: at most three
``publish_timeout`` (30 s by default), well inside the function's 60 s.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import logging
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Protocol, Unpack

from ..core.message import Message
from .batching import BatcherFactory, BatchQueue
from .pubsub_output import (
    MAX_REQUEST_BYTES,
    Missing,
    Outgoing,
    OutputOptions,
    OutputPreparer,
    is_not_found,
    transient_errors,
)
from .pubsub_sink import DeliveryFailed

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 10.0
MAX_REQUEST_MESSAGES = 1000  # Pub/Sub's limit per Publish request
MAX_TOPIC_BATCHERS = 1000

# An item's share of a PublishRequest: its data, its attribute keys and values (UTF-8), and the
# protobuf framing, counted at its largest: a tag and a 4-byte length before the message and
# before its data (payloads under 256 MB), and three tags and 2-byte lengths per attribute (the
# map entry, its key and its value: keys are cut to 256 bytes and values to 1024). The request's
# own framing and topic fit in the 1 MB that ``MAX_REQUEST_BYTES`` leaves under Pub/Sub's 10 MB.
MESSAGE_OVERHEAD_BYTES = 10
ATTRIBUTE_OVERHEAD_BYTES = 9

# Counters of the batchers that are a maximum across batchers, not a sum.
_MAXIMUM_COUNTERS = frozenset({"largest_batch"})


class AsyncPublisher(Protocol):
    """The part of ``google.pubsub_v1.PublisherAsyncClient`` the sink uses."""

    def publish(
        self, *, topic: str, messages: list[Any], retry: Any, timeout: float
    ) -> Awaitable[Any]: ...


class ChannelPublisher:
    """``AsyncPublisher`` on the channel of a ``PublisherAsyncClient``: Publish with a raw
    ``PublishRequest``, its ``retry`` around each attempt, ``timeout`` the deadline of each."""

    def __init__(self, client: Any) -> None:
        from google.pubsub_v1.types import PublishRequest, PublishResponse

        self.client = client  # owns the channel
        request, response = PublishRequest.pb(), PublishResponse.pb()
        self._request = request
        self._publish = client.transport.grpc_channel.unary_unary(
            "/google.pubsub.v1.Publisher/Publish",
            request_serializer=request.SerializeToString,
            response_deserializer=response.FromString,
        )

    def publish(self, *, topic: str, messages: list[Any], retry: Any, timeout: float) -> Any:
        from google.api_core.gapic_v1 import routing_header

        request = self._request(topic=topic, messages=messages)
        metadata = (routing_header.to_grpc_metadata((("topic", topic),)),)
        return retry(self._attempt)(request, metadata, timeout)

    async def _attempt(self, request: Any, metadata: Any, timeout: float) -> Any:
        import grpc
        from google.api_core import exceptions

        try:
            return await self._publish(request, metadata=metadata, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise exceptions.from_grpc_error(exc) from exc


def message_size(item: Outgoing) -> int:
    """The bytes ``item`` adds to a Publish request, at most."""
    attributes = len("".join(itertools.chain.from_iterable(item.attributes.items())).encode())
    framing = MESSAGE_OVERHEAD_BYTES + ATTRIBUTE_OVERHEAD_BYTES * len(item.attributes)
    return len(item.data) + attributes + framing


def publish_retry(deadline: float) -> Any:
    """An ``AsyncRetry`` on transient codes that stops retrying after ``deadline`` seconds."""
    from google.api_core.retry import AsyncRetry, if_exception_type

    predicate = if_exception_type(*transient_errors())
    return AsyncRetry(predicate=predicate, initial=0.05, maximum=1.0, timeout=deadline)


class AsyncPubSubSink(OutputPreparer):
    """Delivers decoded and error messages through batched Publish RPCs on one event loop; the
    options and counters are ``OutputPreparer``'s, plus each topic kind's batcher counters
    (``batch:<kind>:<counter>``, summed over the topics of the kind)."""

    def __init__(
        self,
        client: AsyncPublisher,
        make_batcher: BatcherFactory,
        *,
        project: str,
        publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
        **output: Unpack[OutputOptions],
    ) -> None:
        from google.pubsub_v1.types import PubsubMessage

        if publish_timeout <= 0:
            raise ValueError(f"publish_timeout={publish_timeout!r}: must be positive seconds")
        super().__init__(project, **output)
        self.client = client
        self.publish_timeout = publish_timeout
        self._retry = publish_retry(publish_timeout / 2)
        # The raw protobuf class, not the proto-plus wrapper: 9 µs a message instead of 39 for
        # building and marshalling the request (the client takes either).
        self._message = PubsubMessage.pb()
        self._make_batcher = make_batcher
        # topic path -> (topic kind, its batcher), least recently used first
        self._batchers: collections.OrderedDict[str, tuple[str, BatchQueue[Outgoing, str]]] = (
            collections.OrderedDict()
        )
        self._retiring: dict[asyncio.Task[None], tuple[str, BatchQueue[Outgoing, str]]] = {}
        self._retired: dict[str, dict[str, int]] = collections.defaultdict(dict)
        self._closed = False

    async def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        """Publish everything, return once it all is; raise ``DeliveryFailed``."""
        if self._closed:
            raise RuntimeError("AsyncPubSubSink is closed")
        missing = await self._publish(self.prepare_delivery(decoded, errors))
        if missing:
            await self._publish(self.prepare_rerouted(missing))

    async def close(self) -> None:
        """Send what is queued and wait for every batch in flight; a later ``deliver`` raises."""
        self._closed = True
        batchers = [batcher.close() for _, batcher in self._batchers.values()]
        await asyncio.gather(*batchers, *self._retiring)

    def counter_values(self) -> dict[str, int]:
        totals = {kind: dict(counts) for kind, counts in self._retired.items()}
        for kind, batcher in [*self._batchers.values(), *self._retiring.values()]:
            _merge(totals.setdefault(kind, {}), batcher.counter_values())
        values = super().counter_values()
        for kind, counts in totals.items():
            values.update({f"batch:{kind}:{name}": count for name, count in counts.items()})
        return values

    # --- internals ----------------------------------------------------------------------------
    async def _publish(self, outgoing: list[Outgoing]) -> list[Missing]:
        """Submit and await every item; the decoded messages whose topic was not found, or
        raise once all are settled."""
        outcomes = await self._outcomes(outgoing)
        missing, failures = self.settle(
            (item, outcome if isinstance(outcome, BaseException) else None)
            for item, outcome in zip(outgoing, outcomes, strict=True)
        )
        if failures:
            raise DeliveryFailed(len(failures), len(outgoing), failures[0]) from failures[0]
        return missing

    async def _outcomes(self, outgoing: list[Outgoing]) -> list[str | BaseException]:
        """Each item's message id or exception. A request's one message (the usual case) is
        awaited as it is: a task and a gather for it would cost a third of the sink's own CPU."""
        if len(outgoing) != 1:
            submits = (self._submit(item) for item in outgoing)
            return await asyncio.gather(*submits, return_exceptions=True)
        try:
            return [await self._submit(outgoing[0])]
        except Exception as exc:
            return [exc]

    async def _submit(self, item: Outgoing) -> str:
        # The batcher is looked up when the submit runs, not before: in between, another
        # request may have evicted (closed) it.
        return await self._batcher(item).submit(item)

    def _batcher(self, item: Outgoing) -> BatchQueue[Outgoing, str]:
        entry = self._batchers.get(item.topic)
        if entry is not None:
            self._batchers.move_to_end(item.topic)
            return entry[1]
        if len(self._batchers) >= MAX_TOPIC_BATCHERS:
            self._retire(*self._batchers.popitem(last=False))
        batcher = self._make_batcher(
            functools.partial(self._send, item.topic),
            max_items=MAX_REQUEST_MESSAGES,
            max_bytes=MAX_REQUEST_BYTES,
            size=message_size,
            name=item.topic,
        )
        self._batchers[item.topic] = (item.kind, batcher)
        return batcher

    def _retire(self, topic: str, entry: tuple[str, BatchQueue[Outgoing, str]]) -> None:
        """Close an evicted batcher in the background; its counts join the retired ones."""
        task = asyncio.get_running_loop().create_task(entry[1].close(), name=f"close {topic}")
        self._retiring[task] = entry
        task.add_done_callback(self._retired_one)

    def _retired_one(self, task: asyncio.Task[None]) -> None:
        kind, batcher = self._retiring.pop(task)
        _merge(self._retired[kind], batcher.counter_values())
        if not task.cancelled() and task.exception() is not None:
            log.error("closing an evicted topic's batcher failed", exc_info=task.exception())

    async def _send(self, topic: str, items: list[Outgoing]) -> Sequence[str | BaseException]:
        """One Publish RPC for ``items``: their message ids, in order."""
        messages = [self._message(data=item.data, attributes=item.attributes) for item in items]
        try:
            response = await self.client.publish(
                topic=topic, messages=messages, retry=self._retry, timeout=self.publish_timeout
            )
        except Exception as exc:
            if is_not_found(exc):  # the topic's error, not an item's: no item goes alone
                return [exc] * len(items)
            raise
        return list(response.message_ids)


def _merge(totals: dict[str, int], counts: Mapping[str, int]) -> None:
    for name, count in counts.items():
        previous = totals.get(name, 0)
        totals[name] = max(previous, count) if name in _MAXIMUM_COUNTERS else previous + count
