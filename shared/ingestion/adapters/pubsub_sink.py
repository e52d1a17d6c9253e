"""The synchronous Pub/Sub sink: the decoder's outputs (``pubsub_output.py``: topics, payloads,
attributes, routing, counters) published through one ``google.cloud.pubsub_v1.PublisherClient``.

``deliver`` publishes all messages of one call concurrently and returns only when every publish
has completed; if any failed it raises ``DeliveryFailed``, so the function answers the Pub/Sub
push with an error and the input is redelivered. The client batches the publishes of one call,
with a commit thread, a timer and a future per batch; the event-loop function uses
``AsyncPubSubSink`` (``pubsub_async.py``) instead, which shares one RPC across requests.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from typing import Any, Protocol, Unpack

from ..core.errors import TransientFailure
from ..core.message import Message
from .pubsub_output import (
    MAX_REQUEST_BYTES,
    Missing,
    Outgoing,
    OutputOptions,
    OutputPreparer,
    Result,
    transient_errors,
)

# How long ``deliver`` waits for all of its publishes; the client built by ``tuned_publisher`` gives
# up retrying earlier (``PUBLISH_RETRY_SECONDS``), so no publish is still running once it returns.
DELIVERY_TIMEOUT_SECONDS = 60.0
PUBLISH_RETRY_SECONDS = 50.0

# A function publishes a handful of messages per request and waits for them, so every request
# pays up to ``max_latency`` before its batch is sent: 5 ms keeps that small while concurrent
# requests of one instance still share batches (measured against the emulator, see the report).
BATCH_MAX_LATENCY_SECONDS = 0.005
BATCH_MAX_MESSAGES = 100
BATCH_MAX_BYTES = MAX_REQUEST_BYTES


class Publisher(Protocol):
    """The part of ``google.cloud.pubsub_v1.PublisherClient`` the sink uses."""

    def publish(
        self, topic: str, data: bytes, **attributes: Any
    ) -> concurrent.futures.Future[str]: ...


class DeliveryFailed(TransientFailure):
    """At least one publish of a ``deliver`` call failed or did not finish in time."""

    def __init__(self, failed: int, attempted: int, first_cause: BaseException) -> None:
        super().__init__(
            f"{failed} of {attempted} Pub/Sub publishes failed; first cause: "
            f"{type(first_cause).__name__}: {first_cause}"
        )
        self.failed = failed
        self.attempted = attempted
        self.first_cause = first_cause


class PubSubSink(OutputPreparer):
    """Delivers decoded and error messages to Pub/Sub through one ``PublisherClient``; the
    options and counters are ``OutputPreparer``'s."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        project: str,
        timeout_seconds: float = DELIVERY_TIMEOUT_SECONDS,
        **output: Unpack[OutputOptions],
    ) -> None:
        super().__init__(project, **output)
        self.publisher = publisher
        self.timeout_seconds = timeout_seconds

    def flush(self) -> None:
        """Nothing to do: ``deliver`` returns only once every publish has completed."""

    def deliver(self, decoded: Sequence[Message], errors: Sequence[Message]) -> None:
        """Publish everything concurrently, wait for all of it; raise ``DeliveryFailed``.

        A decoded message whose topic name is invalid or whose topic does not exist goes to the
        error topic instead (``OutputPreparer``).
        """
        missing = self._publish(self.prepare_delivery(decoded, errors))
        if missing:
            self._publish(self.prepare_rerouted(missing))

    def _publish(self, outgoing: list[Outgoing]) -> list[Missing]:
        """Publish and wait; the decoded messages whose topic was not found, or raise."""
        started: list[tuple[Outgoing, concurrent.futures.Future[str]]] = []
        results: list[Result] = []
        for item in outgoing:
            try:
                future = self.publisher.publish(item.topic, item.data, **item.attributes)
            except Exception as exc:  # e.g. a stopped client: publish nothing more
                results = [(unsent, exc) for unsent in outgoing[len(started) :]]
                break
            started.append((item, future))

        done, _ = concurrent.futures.wait(
            [future for _, future in started], timeout=self.timeout_seconds
        )
        late = TimeoutError(f"publish not finished after {self.timeout_seconds:g} s")
        results += [
            (item, future.exception() if future in done else late) for item, future in started
        ]
        missing, failures = self.settle(results)
        if failures:
            raise DeliveryFailed(len(failures), len(outgoing), failures[0]) from failures[0]
        return missing


def tuned_publisher() -> Any:
    """A ``PublisherClient`` for a few messages a request, with a retry deadline that ends
    before ``deliver`` stops waiting (the library default is 600 s)."""
    from google.api_core import retry
    from google.api_core.timeout import ConstantTimeout
    from google.cloud import pubsub_v1

    publish_retry = retry.Retry(
        predicate=retry.if_exception_type(*transient_errors()),
        initial=0.1,
        maximum=10.0,
        multiplier=4.0,
        timeout=PUBLISH_RETRY_SECONDS,
    )
    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(
            max_bytes=BATCH_MAX_BYTES,
            max_latency=BATCH_MAX_LATENCY_SECONDS,
            max_messages=BATCH_MAX_MESSAGES,
        ),
        publisher_options=pubsub_v1.types.PublisherOptions(
            retry=publish_retry, timeout=ConstantTimeout(PUBLISH_RETRY_SECONDS)
        ),
    )
