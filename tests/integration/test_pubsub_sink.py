"""The Pub/Sub sink against the official Pub/Sub emulator (D-62, D-65..D-67, D-69, D-76).

Every test creates its own topics and pull subscriptions with unique names, publishes through
``PubSubSink.deliver`` and pulls what arrived. The reference data comes from gcp-ingestion's
``PubsubIntegrationTest`` (``testdata/pubsub-integration``), read from ``../shared`` at run time.
"""

from __future__ import annotations

import gzip
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingestion.adapters.file_reader import read_lines
from ingestion.adapters.pubsub_output import DEBUG, DECODED, ERROR
from ingestion.adapters.pubsub_sink import DeliveryFailed, PubSubSink
from ingestion.core.limits import MAX_ENCODABLE_MESSAGE_BYTES
from ingestion.core.lines import message_from_line
from ingestion.core.message import Message
from ingestion.entrypoints import decoder_function
from ingestion.settings import DecoderSettings

pubsub_v1 = pytest.importorskip("google.cloud.pubsub_v1")
api_exceptions = pytest.importorskip("google.api_core.exceptions")
grpc = pytest.importorskip("grpc")
SubscriberGrpcTransport = pytest.importorskip(
    "google.pubsub_v1.services.subscriber.transports"
).SubscriberGrpcTransport

# ``return_immediately`` is deprecated for production pulls, but the emulator honours it and it
# is the quick way to assert that a subscription holds nothing.
pytestmark = pytest.mark.filterwarnings("ignore:The return_immediately flag:DeprecationWarning")

PROJECT = "test-project"
PULL_SECONDS = 5.0
REPO = Path(__file__).resolve().parents[2]
PUBSUB_INTEGRATION = (
    REPO
    / ".."
    / "shared"
    / "anchors"
    / "gcp-ingestion"
    / "ingestion-beam"
    / "src"
    / "test"
    / "resources"
    / "testdata"
    / "pubsub-integration"
)


def reference_messages(name: str) -> list[Message]:
    path = PUBSUB_INTEGRATION / name
    if not path.exists():
        pytest.skip(f"../shared/anchors/gcp-ingestion/.../pubsub-integration/{name} not found")
    return [message_from_line(line) for line in read_lines(path)]


Received = tuple[dict[str, str], bytes]


class Topics:
    """Creates uniquely named topics, each with a pull subscription, and reads them back."""

    def __init__(self, host: str) -> None:
        self.publisher = pubsub_v1.PublisherClient()
        # The emulator client's channel keeps gRPC's 4 MiB receive limit; the 6 MiB error test
        # needs more.
        channel = grpc.insecure_channel(host, options=[("grpc.max_receive_message_length", -1)])
        self.subscriber = pubsub_v1.SubscriberClient(
            transport=SubscriberGrpcTransport(channel=channel)
        )
        self.prefix = f"t-{uuid.uuid4().hex[:12]}"
        self.created: list[tuple[str, str]] = []

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def create(self, suffix: str) -> str:
        """Create topic ``<prefix>-<suffix>`` with a subscription; returns the topic name."""
        name = self.name(suffix)
        topic = self.publisher.topic_path(PROJECT, name)
        subscription = self.subscriber.subscription_path(PROJECT, name)
        self.publisher.create_topic(name=topic)
        self.subscriber.create_subscription(name=subscription, topic=topic)
        self.created.append((topic, subscription))
        return name

    def pull(self, suffix: str, expected: int) -> list[Received]:
        """What the topic's subscription holds: at least ``expected`` messages unless it takes
        more than ``PULL_SECONDS``, and whatever else is there.

        ``deliver`` has returned, so every message is already stored by the emulator; pulls
        return at once (``return_immediately``) and the loop only covers a pull that returns
        part of the backlog.
        """
        subscription = self.subscriber.subscription_path(PROJECT, self.name(suffix))
        received: list[Received] = []
        deadline = time.monotonic() + PULL_SECONDS
        while True:
            response = self.subscriber.pull(
                request={
                    "subscription": subscription,
                    "max_messages": 100,
                    "return_immediately": True,
                },
                timeout=10,
            )
            messages = response.received_messages
            received.extend((dict(m.message.attributes), m.message.data) for m in messages)
            if messages:
                self.subscriber.acknowledge(
                    subscription=subscription, ack_ids=[m.ack_id for m in messages]
                )
            elif len(received) >= expected or time.monotonic() > deadline:
                return received
            else:
                time.sleep(0.05)

    def close(self) -> None:
        for topic, subscription in self.created:
            self.subscriber.delete_subscription(subscription=subscription)
            self.publisher.delete_topic(topic=topic)
        self.subscriber.close()
        self.publisher.stop()


@pytest.fixture
def topics(pubsub) -> Iterator[Topics]:
    created = Topics(pubsub.host)
    try:
        yield created
    finally:
        created.close()


@pytest.fixture
def make_sink(pubsub) -> Iterator[Callable[..., PubSubSink]]:
    """``make_sink(**settings)``: a sink built by the composition root from environment values."""
    sinks: list[PubSubSink] = []

    def make(**values: str) -> PubSubSink:
        environ = {"GOOGLE_CLOUD_PROJECT": PROJECT, **{k.upper(): v for k, v in values.items()}}
        sink = decoder_function.pubsub_sink(DecoderSettings.from_environ(environ))
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.publisher.stop()  # type: ignore[attr-defined]


def decoded_message(namespace: str, doctype: str, **attributes: str) -> Message:
    payload = f'{{"namespace":"{namespace}","type":"{doctype}"}}'.encode()
    return Message(
        {"document_namespace": namespace, "document_type": doctype, **attributes}, payload
    )


def test_decoded_topic_chosen_by_namespace_and_doctype(topics, make_sink):
    main = topics.create("telemetry-main")
    event = topics.create("telemetry-event")
    topics.create("decoded")  # a static topic that must stay empty
    sink = make_sink(decoded_topic=f"{topics.prefix}-${{document_namespace}}-${{document_type}}")
    assert sink.decoded_topics.path_for(decoded_message("telemetry", "main").attributes).endswith(
        f"/topics/{main}"
    )

    messages = [
        decoded_message("telemetry", "main", n="1"),
        decoded_message("telemetry", "event", n="2"),
        decoded_message("telemetry", "main", n="3"),
    ]
    sink.deliver(messages, [])

    on_main = topics.pull("telemetry-main", 2)
    on_event = topics.pull("telemetry-event", 1)
    assert sorted(attributes["n"] for attributes, _ in on_main) == ["1", "3"]
    assert [attributes["n"] for attributes, _ in on_event] == ["2"]
    assert topics.pull("decoded", 0) == []
    # gzip by default (D-62); the bytes differ from Java's, so compare decompressed.
    for attributes, data in on_main + on_event:
        assert data[:2] == b"\x1f\x8b"
        original = next(m for m in messages if m.attributes["n"] == attributes["n"])
        assert gzip.decompress(data) == original.payload
    assert sink.published == {DECODED: 3}
    assert sink.decoded_topics.path_for(messages[1].attributes).endswith(f"/topics/{event}")


def test_uncompressed_output(topics, make_sink):
    topics.create("decoded")
    sink = make_sink(decoded_topic=topics.name("decoded"), output_compression="none")
    message = decoded_message("glean", "baseline")
    sink.deliver([message], [])
    [(attributes, data)] = topics.pull("decoded", 1)
    assert data == message.payload
    assert attributes == message.attributes


# PubsubIntegrationTest.canSendPubsubOutput: input.ndjson uncompressed -> truncated.ndjson.
def test_attributes_truncated_as_the_reference(topics, make_sink):
    inputs = reference_messages("input.ndjson")
    expected = reference_messages("truncated.ndjson")
    topics.create("out")
    sink = make_sink(decoded_topic=topics.name("out"), output_compression="none")
    sink.deliver(inputs, [])
    received = topics.pull("out", len(expected))
    as_pairs = sorted((sorted(m.attributes.items()), m.payload) for m in expected)
    assert sorted((sorted(a.items()), d) for a, d in received) == as_pairs
    assert {d for _, d in received} == {b"test", b""}


# PubsubIntegrationTest.canSendGzippedPayloads: input.ndjson gzipped -> gzipped.ndjson.
def test_gzipped_payloads_as_the_reference(topics, make_sink):
    inputs = reference_messages("input.ndjson")
    expected = reference_messages("gzipped.ndjson")
    topics.create("out")
    sink = make_sink(decoded_topic=topics.name("out"))
    sink.deliver(inputs, [])
    received = topics.pull("out", len(expected))
    decompressed = sorted((sorted(a.items()), gzip.decompress(d)) for a, d in received)
    assert decompressed == sorted(
        (sorted(m.attributes.items()), gzip.decompress(m.payload)) for m in expected
    )


# PubsubIntegrationTest.canSendPubsubErrorOutput: provenance attributes on errors (D-67).
def test_error_provenance_attributes(topics, make_sink):
    [error] = reference_messages("error-input.ndjson")
    [expected] = reference_messages("error-output.ndjson")
    topics.create("errors")
    sink = make_sink(
        error_topic=topics.name("errors"),
        error_compression="none",
        input_name="test input",
        job_name="test job name",
    )
    sink.deliver([], [error])
    assert topics.pull("errors", 1) == [(expected.attributes, expected.payload)]
    assert sink.published == {ERROR: 1}


def test_error_payload_over_6_mib_is_truncated_and_published(topics, make_sink):
    topics.create("errors")
    sink = make_sink(error_topic=topics.name("errors"))
    # Random bytes: gzip cannot shrink them, so the compressed payload is over 6 MiB.
    payload = os.urandom(7 * 1024 * 1024)
    error = Message({"error_type": "LimitPayloadSize", "uri": "/submit/x"}, payload)
    sink.deliver([], [error])
    [(attributes, data)] = topics.pull("errors", 1)
    assert gzip.decompress(data) == payload[:MAX_ENCODABLE_MESSAGE_BYTES]
    assert len(data) < 10 * 1000 * 1000
    assert attributes["error_type"] == "LimitPayloadSize"
    assert sink.truncated_payloads == 1


def test_debug_topic_gets_messages_with_x_debug_id(topics, make_sink):
    topics.create("decoded")
    topics.create("errors")
    topics.create("debug")
    sink = make_sink(
        decoded_topic=topics.name("decoded"),
        error_topic=topics.name("errors"),
        debug_topic=topics.name("debug"),
        job_name="decoder-test",
    )
    flagged = decoded_message("glean", "metrics", x_debug_id="")  # empty counts (D-76)
    plain = decoded_message("glean", "baseline")
    flagged_error = Message({"x_debug_id": "dbg", "error_type": "ParsePayload"}, b"{bad")
    plain_error = Message({"error_type": "ParsePayload"}, b"{bad")
    sink.deliver([flagged, plain], [flagged_error, plain_error])

    debug = topics.pull("debug", 2)
    by_kind = {("error" if "error_type" in a else "decoded"): (a, d) for a, d in debug}
    assert set(by_kind) == {"decoded", "error"}
    decoded_attributes, decoded_data = by_kind["decoded"]
    assert decoded_attributes == flagged.attributes
    assert decoded_data == flagged.payload  # debug copies are uncompressed (D-76)
    error_attributes, error_data = by_kind["error"]
    assert error_attributes["x_debug_id"] == "dbg"
    assert error_attributes["job_name"] == "decoder-test"
    assert error_attributes["input_type"] == "pubsub"
    assert error_data == b"{bad"
    assert len(topics.pull("decoded", 2)) == 2
    assert len(topics.pull("errors", 2)) == 2
    assert sink.published == {DECODED: 2, ERROR: 2, DEBUG: 2}


def test_no_debug_copy_without_x_debug_id(topics, make_sink):
    topics.create("decoded")
    topics.create("debug")
    sink = make_sink(decoded_topic=topics.name("decoded"), debug_topic=topics.name("debug"))
    sink.deliver([decoded_message("glean", "baseline")], [])
    assert topics.pull("debug", 0) == []
    assert sink.published == {DECODED: 1}
    # The empty pull above would have seen a message that was there:
    sink.deliver([decoded_message("glean", "baseline", x_debug_id="x")], [])
    assert len(topics.pull("debug", 0)) == 1


def test_a_missing_decoded_topic_sends_the_message_to_the_error_topic(topics, make_sink):
    topics.create("errors")
    sink = make_sink(
        decoded_topic=f"{topics.prefix}-missing-${{document_type}}",
        error_topic=topics.name("errors"),
    )
    error = Message({"error_type": "ParseUri"}, b"x")
    sink.deliver([decoded_message("telemetry", "main")], [error])  # no redelivery loop
    assert sink.published == {ERROR: 2}
    arrived = topics.pull("errors", 2)
    assert sorted(attributes["error_type"] for attributes, _ in arrived) == [
        "DecodedTopicNotFound",
        "ParseUri",
    ]


def test_publish_to_a_missing_error_topic_raises_delivery_failed(topics, make_sink):
    topics.create("decoded")
    sink = make_sink(
        decoded_topic=topics.name("decoded"), error_topic=f"{topics.prefix}-missing-errors"
    )
    error = Message({"error_type": "ParseUri"}, b"x")
    with pytest.raises(DeliveryFailed) as raised:
        sink.deliver([decoded_message("telemetry", "main")], [error])
    assert raised.value.failed == 1
    assert raised.value.attempted == 2
    assert isinstance(raised.value.first_cause, api_exceptions.NotFound)
    assert "1 of 2" in str(raised.value)
    # The other publish of the same call was still waited for, and it landed.
    assert sink.published == {DECODED: 1}
    assert len(topics.pull("decoded", 1)) == 1


def test_ip_attributes_are_never_published(topics, make_sink):
    topics.create("decoded")
    topics.create("errors")
    topics.create("debug")
    sink = make_sink(
        decoded_topic=topics.name("decoded"),
        error_topic=topics.name("errors"),
        debug_topic=topics.name("debug"),
    )
    leaky = {"remote_addr": "192.0.2.1", "x_forwarded_for": "198.51.100.7", "x_debug_id": "d"}
    sink.deliver(
        [decoded_message("telemetry", "main", **leaky)],
        [Message({"error_type": "ParseUri", **leaky}, b"x")],
    )
    received = topics.pull("decoded", 1) + topics.pull("errors", 1) + topics.pull("debug", 2)
    assert len(received) == 4
    for attributes, _ in received:
        assert "remote_addr" not in attributes
        assert "x_forwarded_for" not in attributes
        assert attributes["x_debug_id"] == "d"
