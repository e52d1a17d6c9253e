"""The loader as a streaming-pull worker (``ingestion load``): the same ``Loader`` fed by a
Pub/Sub streaming pull instead of push requests.

The client library calls back on its own threads; each callback hands its message to the loader
on the worker's event loop and returns at once, and the message is acknowledged only when the
object holding it is written (nacked if the write failed, so it comes back). The subscription's
flow control (messages and bytes outstanding, set by the composition root below the loader's
memory bound) is what keeps batches full and memory bounded: up to that many messages wait in
partitions at once. On stop the worker writes every batch, acknowledges, then closes the stream;
what was leased but not written is redelivered after its ack deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any, Protocol

from ..core.message import Message
from .loader import Loader

log = logging.getLogger("ingestion.loader")


class Received(Protocol):
    """A message as the streaming-pull client hands it over."""

    data: bytes
    attributes: Any
    message_id: str

    def ack(self) -> None: ...
    def nack(self) -> None: ...


# (callback) -> the streaming pull future (``SubscriberClient.subscribe`` with its subscription
# and flow control bound).
Subscribe = Callable[[Callable[[Received], None]], "concurrent.futures.Future[Any]"]


async def run_pull(
    loader: Loader, subscribe: Subscribe, stop: asyncio.Event, *, keep_message_id: bool = False
) -> dict[str, int]:
    """Load what the subscription delivers until ``stop`` is set or the stream fails; the
    loader's counters at the end. ``keep_message_id`` stores the Pub/Sub message id as the
    ``message_id`` attribute, as the push function does for the raw archive."""
    loop = asyncio.get_running_loop()

    def settle(received: Received, done: concurrent.futures.Future[None]) -> None:
        if not done.cancelled() and done.exception() is None:
            received.ack()
        else:
            received.nack()

    def callback(received: Received) -> None:  # on a client thread
        attributes = dict(received.attributes)
        if keep_message_id and received.message_id:
            attributes["message_id"] = received.message_id
        message = Message(attributes, bytes(received.data))
        future = asyncio.run_coroutine_threadsafe(loader.load(message), loop)
        future.add_done_callback(lambda done: settle(received, done))

    streaming = subscribe(callback)
    stream_ended = asyncio.wrap_future(streaming)
    stopped = loop.create_task(stop.wait())
    try:
        await asyncio.wait({stream_ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        await loader.close()  # write and acknowledge what is queued before the stream goes
        streaming.cancel()
        await asyncio.wait({stream_ended}, timeout=30)
    if stream_ended.done() and not stream_ended.cancelled() and stream_ended.exception():
        raise StreamFailed(str(stream_ended.exception())) from stream_ended.exception()
    return loader.counter_values()


class StreamFailed(RuntimeError):
    """The streaming pull stopped by itself (a missing subscription, a lost permission)."""
