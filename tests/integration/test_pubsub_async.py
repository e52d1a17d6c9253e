"""``AsyncPubSubSink`` against the official Pub/Sub emulator: publishing through
``ChannelPublisher`` on the GAPIC ``PublisherAsyncClient``'s channel (pointed at the emulator by
``PUBSUB_EMULATOR_HOST``), as the function does, batched by the real ``Batcher``. Topics are
created and read back with the helpers of test_pubsub_sink.py."""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ingestion.adapters.pubsub_async import AsyncPubSubSink, ChannelPublisher
from ingestion.adapters.pubsub_output import DECODED, ERROR
from ingestion.adapters.pubsub_sink import DeliveryFailed
from ingestion.core.message import Message
from ingestion.service.batcher import Batcher

from . import test_pubsub_sink
from .test_pubsub_sink import PROJECT, Topics, decoded_message

publisher_module = pytest.importorskip("google.pubsub_v1.services.publisher")
api_exceptions = pytest.importorskip("google.api_core.exceptions")

pytestmark = pytest.mark.filterwarnings("ignore:The return_immediately flag:DeprecationWarning")
topics = test_pubsub_sink.topics  # the fixture: unique topics with subscriptions, deleted after


def with_sink(main: Callable[[AsyncPubSubSink], Awaitable[None]], **options: Any) -> None:
    """Run ``main(sink)`` on a new event loop with a sink on a fresh client, then close both."""

    async def session() -> None:
        client = publisher_module.PublisherAsyncClient()  # on the loop: its channel is grpc.aio
        publisher = ChannelPublisher(client)
        sink = AsyncPubSubSink(publisher, project=PROJECT, make_batcher=Batcher, **options)
        try:
            await main(sink)
        finally:
            await sink.close()
            await client.transport.close()

    asyncio.run(asyncio.wait_for(session(), timeout=60))


def test_200_concurrent_delivers_arrive_complete_and_uncorrupted(topics: Topics) -> None:
    topics.create("decoded")
    topics.create("errors")
    messages = [
        decoded_message("telemetry", "main", n=str(n), blob=os.urandom(8).hex()) for n in range(200)
    ]
    errors = [
        Message({"error_type": "ParsePayload", "n": str(n)}, os.urandom(n)) for n in range(20)
    ]

    async def main(sink: AsyncPubSubSink) -> None:
        delivers = [
            sink.deliver([message], errors[n : n + 1]) for n, message in enumerate(messages)
        ]
        await asyncio.gather(*delivers)
        assert sink.published == {DECODED: 200, ERROR: 20}
        counts = sink.counter_values()
        assert counts["batch:decoded:items_sent"] == 200
        assert counts["batch:decoded:batches_sent"] < 20  # shared RPCs, not one per request

    with_sink(main, decoded_topic=topics.name("decoded"), error_topic=topics.name("errors"))
    arrived = topics.pull("decoded", 200)
    assert sorted((a["n"], a, gzip.decompress(d)) for a, d in arrived) == sorted(
        (m.attributes["n"], m.attributes, m.payload) for m in messages
    )
    arrived_errors = topics.pull("errors", 20)
    assert sorted((int(a["n"]), gzip.decompress(d)) for a, d in arrived_errors) == [
        (n, error.payload) for n, error in enumerate(errors)
    ]
    assert all(a["input_type"] == "pubsub" for a, _ in arrived_errors)


def test_per_doctype_topics_from_a_template(topics: Topics) -> None:
    for doctype in ("main", "event", "crash"):
        topics.create(f"telemetry-{doctype}")
    doctypes = ["main", "event", "crash"] * 10

    async def main(sink: AsyncPubSubSink) -> None:
        delivers = [
            sink.deliver([decoded_message("telemetry", doctype, n=str(n))], [])
            for n, doctype in enumerate(doctypes)
        ]
        await asyncio.gather(*delivers)

    template = f"{topics.prefix}-${{document_namespace}}-${{document_type}}"
    with_sink(main, decoded_topic=template, output_compression="none")
    for doctype in ("main", "event", "crash"):
        arrived = topics.pull(f"telemetry-{doctype}", 10)
        assert {a["document_type"] for a, _ in arrived} == {doctype}
        assert sorted(int(a["n"]) for a, _ in arrived) == [
            n for n, expected in enumerate(doctypes) if expected == doctype
        ]


def test_a_missing_decoded_topic_sends_the_message_to_the_error_topic(topics: Topics) -> None:
    topics.create("telemetry-main")
    topics.create("errors")

    async def main(sink: AsyncPubSubSink) -> None:
        await asyncio.gather(
            sink.deliver([decoded_message("telemetry", "missing")], []),
            sink.deliver([decoded_message("telemetry", "main")], []),
        )
        assert sink.published == {DECODED: 1, ERROR: 1}
        assert sink.rerouted == {"DecodedTopicNotFound": 1}

    with_sink(
        main,
        decoded_topic=f"{topics.prefix}-${{document_namespace}}-${{document_type}}",
        error_topic=topics.name("errors"),
    )
    [(attributes, _)] = topics.pull("errors", 1)
    assert (attributes["error_type"], attributes["document_type"]) == (
        "DecodedTopicNotFound",
        "missing",
    )
    assert len(topics.pull("telemetry-main", 1)) == 1


def test_a_missing_error_topic_raises_delivery_failed(topics: Topics) -> None:
    topics.create("decoded")

    async def main(sink: AsyncPubSubSink) -> None:
        error = Message({"error_type": "ParseUri"}, b"x")
        with pytest.raises(DeliveryFailed) as raised:
            await sink.deliver([decoded_message("telemetry", "main")], [error])
        assert (raised.value.failed, raised.value.attempted) == (1, 2)
        assert isinstance(raised.value.first_cause, api_exceptions.NotFound)
        assert sink.published == {DECODED: 1}  # the other publish of the call still landed

    with_sink(
        main, decoded_topic=topics.name("decoded"), error_topic=f"{topics.prefix}-missing-errors"
    )
    assert len(topics.pull("decoded", 1)) == 1


def test_large_messages_are_split_under_the_request_limit(topics: Topics) -> None:
    topics.create("decoded")
    payloads = [os.urandom(3_000_000) for _ in range(5)]  # 15 MB: over one request's 10 MB

    async def main(sink: AsyncPubSubSink) -> None:
        messages = [decoded_message("telemetry", "main", n=str(n)) for n in range(5)]
        delivers = [
            sink.deliver([Message(m.attributes, p)], [])
            for m, p in zip(messages, payloads, strict=True)
        ]
        await asyncio.gather(*delivers)
        assert sink.counter_values()["batch:decoded:largest_batch"] == 2

    with_sink(main, decoded_topic=topics.name("decoded"), output_compression="none")
    arrived = topics.pull("decoded", 5)
    assert sorted(d for _, d in arrived) == sorted(payloads)
