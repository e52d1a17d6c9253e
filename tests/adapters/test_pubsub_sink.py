"""Pure parts of the Pub/Sub sink, and ``deliver`` against an in-memory publisher (D-62, D-65..D-67,
D-69, D-76). The real client and emulator are exercised in tests/integration/test_pubsub_sink.py.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.adapters.pubsub_output import (
    DEBUG,
    DECODED,
    ERROR,
    compress,
    encode_payload,
    outgoing_attributes,
    provenance_attributes,
)
from ingestion.adapters.pubsub_sink import (
    BATCH_MAX_LATENCY_SECONDS,
    PUBLISH_RETRY_SECONDS,
    DeliveryFailed,
    PubSubSink,
)
from ingestion.adapters.pubsub_topics import DecodedTopics, topic_path
from ingestion.core.limits import MAX_ATTRIBUTES, MAX_ENCODABLE_MESSAGE_BYTES
from ingestion.core.message import Message
from ingestion.core.templates import MissingPlaceholder
from ingestion.entrypoints import decoder_function
from ingestion.settings import DecoderSettings

PROJECT = "p"
TEXT = ("Lorem ipsum dolor sit amet " * 100).encode()


class FakePublisher:
    """Records publishes; a topic in ``failing`` fails its future, ``hanging`` never finishes."""

    def __init__(
        self,
        failing: frozenset[str] = frozenset(),
        hanging: frozenset[str] = frozenset(),
        raise_on_call: int | None = None,
    ) -> None:
        self.failing = failing
        self.hanging = hanging
        self.raise_on_call = raise_on_call
        self.published: list[tuple[str, bytes, dict[str, str]]] = []
        self.futures: list[concurrent.futures.Future[str]] = []

    def publish(self, topic: str, data: bytes, **attributes: str) -> concurrent.futures.Future[str]:
        if self.raise_on_call is not None and len(self.futures) == self.raise_on_call:
            raise RuntimeError("Cannot publish on a stopped publisher.")
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        self.futures.append(future)
        name = topic.rsplit("/", 1)[-1]
        if name in self.failing:
            future.set_exception(LookupError(f"404 Topic not found: {name}"))
        elif name not in self.hanging:
            self.published.append((name, data, attributes))
            future.set_result(str(len(self.futures)))
        return future


def sink(publisher: FakePublisher | None = None, **options) -> PubSubSink:
    return PubSubSink(publisher or FakePublisher(), project=PROJECT, **options)


def decoded(doctype: str = "main", **attributes: str) -> Message:
    return Message(
        {"document_namespace": "telemetry", "document_type": doctype, **attributes}, b'{"a":1}'
    )


# --- topic naming ---------------------------------------------------------------------------
def test_topic_path():
    assert topic_path("proj", "decoded") == "projects/proj/topics/decoded"


@pytest.mark.parametrize(
    ("template", "attributes", "expected"),
    [
        ("decoded", {"document_namespace": "a", "document_type": "b"}, "decoded"),
        ("decoded", {}, "decoded"),
        ("${document_namespace}-${document_type}", {"document_namespace": "telemetry",
         "document_type": "main"}, "telemetry-main"),
        ("d.${document_type}", {"document_namespace": "x", "document_type": "event"}, "d.event"),
        ("d-${document_namespace:-none}", {"document_namespace": ""}, "d-none"),
        ("d-${document_type:-none}", {}, "d-none"),
    ],
)  # fmt: skip
def test_decoded_topic_rendering(template, attributes, expected):
    assert (
        DecodedTopics("proj", template).path_for(attributes) == f"projects/proj/topics/{expected}"
    )


def test_decoded_topic_is_cached_per_namespace_and_doctype():
    topics = DecodedTopics("proj", "${document_namespace}-${document_type}")
    first = topics.path_for({"document_namespace": "a", "document_type": "b", "x": "1"})
    again = topics.path_for({"document_namespace": "a", "document_type": "b", "x": "2"})
    other = topics.path_for({"document_namespace": "a", "document_type": "c"})
    assert first is again
    assert other.endswith("/a-c")
    assert len(topics._paths) == 2


def test_decoded_topic_template_may_only_use_routing_attributes():
    with pytest.raises(ValueError, match="submission_date"):
        DecodedTopics("proj", "decoded-${submission_date}")


def test_decoded_topic_without_default_needs_the_attribute():
    with pytest.raises(MissingPlaceholder):
        DecodedTopics("proj", "${document_type}").path_for({"document_namespace": "a"})


# --- payload encoding and truncation (D-62, D-67) -------------------------------------------
# CompressPayloadTest.testGzipCompress: Java's default gzip level (6) gives 68 bytes.
def test_gzip_at_javas_level_matches_the_reference_size():
    compressed = compress(TEXT, "gzip", level=6)
    assert len(compressed) == 68
    assert gzip.decompress(compressed) == TEXT


# CompressPayloadTest.testMaxCompressedBytes: a limit one under the compressed size cuts the
# uncompressed payload to the limit (67 bytes), which compresses to 50 bytes.
def test_max_compressed_bytes_truncates_the_uncompressed_payload():
    data, truncated = encode_payload(TEXT, "gzip", 67, level=6)
    assert truncated
    assert len(data) == 50
    assert gzip.decompress(data) == TEXT[:67]


def test_default_level_output_decompresses_and_is_deterministic():
    first = compress(TEXT, "gzip")
    assert first == compress(TEXT, "gzip")  # mtime fixed: same bytes every time
    assert gzip.decompress(first) == TEXT


@pytest.mark.parametrize(
    ("size", "limit", "truncated"),
    [(100, 100, False), (101, 100, True), (100, None, False)],
)
def test_truncation_boundary_without_compression(size, limit, truncated):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    data, was_truncated = encode_payload(payload, "none", limit)
    assert was_truncated is truncated
    assert data == (payload[:limit] if truncated else payload)


def test_compressible_payload_over_the_limit_is_not_truncated():
    payload = b"a" * (MAX_ENCODABLE_MESSAGE_BYTES + 1000)  # gzips to a few KiB
    data, truncated = encode_payload(payload, "gzip", MAX_ENCODABLE_MESSAGE_BYTES)
    assert not truncated
    assert gzip.decompress(data) == payload


def test_incompressible_payload_is_cut_to_the_limit_before_compression():
    limit = 64 * 1024
    payload = os.urandom(limit + 10)  # gzip output is larger than the input
    data, truncated = encode_payload(payload, "gzip", limit)
    assert truncated
    assert gzip.decompress(data) == payload[:limit]
    # Recompressing the cut payload can end a few bytes over the limit (as in the reference).
    assert limit < len(data) < limit + 1024


# --- attributes (D-62, D-67, D-69) ----------------------------------------------------------
def test_outgoing_attributes_drop_ip_and_truncate():
    long_value = "é" * 600  # 1200 bytes: cut to 1021 bytes without splitting a character
    attributes, unpublishable = outgoing_attributes(
        {
            "remote_addr": "192.0.2.1",
            "x_forwarded_for": "198.51.100.7",
            "k" * 300: "v",
            "host": long_value,
        }
    )
    assert unpublishable == []
    assert attributes == {"k" * 253 + "...": "v", "host": "é" * 510 + "..."}
    assert len(attributes["host"].encode()) == 1023


def test_extra_attributes_are_added_and_override():
    attributes, _ = outgoing_attributes({"job_name": "old", "a": "1"}, {"job_name": "new"})
    assert attributes == {"job_name": "new", "a": "1"}


def test_attributes_the_client_cannot_publish_are_dropped_and_named():
    attributes, unpublishable = outgoing_attributes({"timeout": "5", "topic": "t", "ok": "1"})
    assert attributes == {"ok": "1"}
    assert unpublishable == ["timeout", "topic"]


@pytest.mark.parametrize(
    ("input_name", "expected"),
    [
        ("projects/p/subscriptions/raw", {"input": "projects/p/subscriptions/raw",
         "input_type": "pubsub", "job_name": "job"}),
        ("", {"input_type": "pubsub", "job_name": "job"}),
    ],
)  # fmt: skip
def test_provenance_attributes(input_name, expected):
    assert provenance_attributes(input_name, "job") == expected


# --- preparing one delivery -----------------------------------------------------------------
def test_prepare_routes_and_copies_debug_messages():
    target = sink(decoded_topic="d-${document_type}", error_topic="err", debug_topic="dbg")
    messages = [decoded("main", x_debug_id=""), decoded("event")]
    errors = [
        Message({"error_type": "ParseUri", "x_debug_id": "me"}, b"raw"),
        Message({"error_type": "ParseUri"}, b"raw"),
    ]
    outgoing = target.prepare(messages, errors)
    assert [(item.kind, item.topic.rsplit("/", 1)[-1]) for item in outgoing] == [
        (DECODED, "d-main"),
        (DEBUG, "dbg"),
        (DECODED, "d-event"),
        (ERROR, "err"),
        (DEBUG, "dbg"),
        (ERROR, "err"),
    ]
    decoded_copy, error_copy = outgoing[1], outgoing[4]
    # Debug copies are uncompressed (D-76); the primary outputs are gzipped.
    assert gzip.decompress(outgoing[0].data) == decoded_copy.data == b'{"a":1}'
    assert gzip.decompress(outgoing[3].data) == error_copy.data == b"raw"
    # The debug copy of an error keeps what makes it recognisable as one (#528).
    assert error_copy.attributes["error_type"] == "ParseUri"
    assert error_copy.attributes["input_type"] == "pubsub"
    assert "input_type" not in decoded_copy.attributes


def test_no_debug_topic_means_no_copies():
    outgoing = sink().prepare([decoded(x_debug_id="x")], [Message({"x_debug_id": "x"}, b"")])
    assert [item.kind for item in outgoing] == [DECODED, ERROR]


def test_debug_copy_shares_bytes_when_compression_matches():
    target = sink(debug_topic="dbg", output_compression="none")
    primary, copy = target.prepare([decoded(x_debug_id="1")], [])
    assert primary.data is copy.data


@pytest.mark.parametrize("error_compression", ["none", "gzip"])
def test_error_truncation_is_counted_once_per_message(error_compression):
    target = sink(debug_topic="dbg", error_compression=error_compression)
    big = Message({"x_debug_id": "1"}, os.urandom(MAX_ENCODABLE_MESSAGE_BYTES + 1))
    error, copy = target.prepare([], [big])
    # The debug copy (uncompressed) is cut to the same 6 MiB as the error output.
    assert copy.data == big.payload[:MAX_ENCODABLE_MESSAGE_BYTES]
    assert compress(copy.data, error_compression) == error.data
    assert target.truncated_payloads == 1
    target.prepare([], [Message({}, b"small")])
    assert target.truncated_payloads == 1


def test_unknown_compression_is_rejected():
    with pytest.raises(ValueError, match="output_compression"):
        sink(output_compression="zstd")


# --- deliver --------------------------------------------------------------------------------
def test_deliver_publishes_everything_and_counts_by_kind():
    publisher = FakePublisher()
    target = sink(publisher, debug_topic="dbg", job_name="j")
    target.deliver([decoded(x_debug_id="1"), decoded()], [Message({"error_type": "E"}, b"")])
    assert [name for name, _, _ in publisher.published] == [
        "decoded",
        "dbg",
        "decoded",
        "decoder-errors",
    ]
    assert target.published == {DECODED: 2, DEBUG: 1, ERROR: 1}
    assert publisher.published[3][2] == {"error_type": "E", "input_type": "pubsub", "job_name": "j"}


def test_failed_publish_raises_after_all_futures_finished():
    publisher = FakePublisher(failing=frozenset({"decoded"}))
    target = sink(publisher)
    with pytest.raises(DeliveryFailed) as raised:
        target.deliver([decoded(), decoded()], [Message({"error_type": "E"}, b"")])
    assert (raised.value.failed, raised.value.attempted) == (2, 3)
    assert isinstance(raised.value.first_cause, LookupError)
    assert raised.value.__cause__ is raised.value.first_cause
    assert "2 of 3" in str(raised.value) and "Topic not found" in str(raised.value)
    assert target.published == {ERROR: 1}
    assert all(future.done() for future in publisher.futures)


def test_publish_that_raises_stops_publishing_and_waits_for_the_started_ones():
    publisher = FakePublisher(raise_on_call=1)
    target = sink(publisher)
    with pytest.raises(DeliveryFailed) as raised:
        target.deliver([decoded(), decoded(), decoded()], [])
    # One published, one raised, one never started: two of three failed.
    assert (raised.value.failed, raised.value.attempted) == (2, 3)
    assert isinstance(raised.value.first_cause, RuntimeError)
    assert target.published == {DECODED: 1}


def test_publish_that_never_finishes_times_out():
    publisher = FakePublisher(hanging=frozenset({"decoder-errors"}))
    target = sink(publisher, timeout_seconds=0.05)
    with pytest.raises(DeliveryFailed) as raised:
        target.deliver([decoded()], [Message({"error_type": "E"}, b"")])
    assert raised.value.failed == 1
    assert isinstance(raised.value.first_cause, TimeoutError)
    assert target.published == {DECODED: 1}


def test_empty_delivery_publishes_nothing():
    publisher = FakePublisher()
    sink(publisher).deliver([], [])
    assert publisher.published == []


def test_the_composition_root_builds_a_tuned_client(monkeypatch):
    pytest.importorskip("google.cloud.pubsub_v1")
    # The client needs no credentials for the emulator, and connects only when it publishes.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")
    settings = DecoderSettings.from_environ(
        {
            "GOOGLE_CLOUD_PROJECT": "proj",
            "DECODED_TOPIC": "out-${document_type}",
            "DEBUG_TOPIC": "dbg",
            "OUTPUT_COMPRESSION": "none",
            "INPUT_NAME": "raw",
            "JOB_NAME": "job",
        }
    )
    built = decoder_function.pubsub_sink(settings)
    try:
        client = built.publisher
        assert client.batch_settings.max_latency == BATCH_MAX_LATENCY_SECONDS  # type: ignore[attr-defined]
        assert client.publisher_options.retry.timeout == PUBLISH_RETRY_SECONDS  # type: ignore[attr-defined]
        assert built.timeout_seconds > PUBLISH_RETRY_SECONDS
        assert (
            built.decoded_topics.path_for({"document_type": "main"})
            == "projects/proj/topics/out-main"
        )
        assert built.debug_topic == "projects/proj/topics/dbg"
        assert built.error_topic == "projects/proj/topics/decoder-errors"
        assert built.output_compression == "none"
        assert built.error_compression == "gzip"
        assert built.error_provenance == {"input": "raw", "input_type": "pubsub", "job_name": "job"}
    finally:
        built.publisher.stop()  # type: ignore[attr-defined]


# --- routing: a decoded message its topic cannot take goes to the error topic ------------------
class NotFoundPublisher(FakePublisher):
    """Fails publishes to topics in ``missing`` with the client's NotFound."""

    def __init__(self, missing: frozenset[str]) -> None:
        super().__init__()
        self.missing = missing

    def publish(self, topic: str, data: bytes, **attributes: str) -> concurrent.futures.Future[str]:
        name = topic.rsplit("/", 1)[-1]
        if name not in self.missing:
            return super().publish(topic, data, **attributes)
        from google.api_core.exceptions import NotFound

        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        future.set_exception(NotFound(f"Topic not found: {name}"))
        return future


def routed(namespace: str, doctype: str) -> Message:
    attributes = {"document_namespace": namespace, "document_type": doctype, "x": "1"}
    return Message(attributes, b"{}")


@pytest.mark.parametrize(
    ("namespace", "doctype"),
    [
        ("org-mozilla-fenix!", "baseline"),  # a character Pub/Sub refuses
        ("org mozilla", "baseline"),
        ("a", "b" * 260),  # too long
        ("goog", "x"),  # reserved prefix
    ],
)
def test_an_invalid_rendered_topic_name_sends_the_message_to_the_error_topic(namespace, doctype):
    publisher = FakePublisher()
    out = sink(publisher, decoded_topic="${document_namespace}-${document_type}")
    out.deliver([routed(namespace, doctype)], [])
    ((topic, _, attributes),) = publisher.published
    assert topic == "decoder-errors"
    assert attributes["error_type"] == "InvalidDecodedTopic"
    assert attributes["document_type"] == doctype[:1024]
    assert out.counter_values()["rerouted:InvalidDecodedTopic"] == 1


def test_a_template_missing_its_attribute_sends_the_message_to_the_error_topic():
    publisher = FakePublisher()
    sink(publisher, decoded_topic="d-${document_type}").deliver([Message({}, b"{}")], [])
    assert [(t, a["error_type"]) for t, _, a in publisher.published] == [
        ("decoder-errors", "InvalidDecodedTopic")
    ]


def test_a_missing_decoded_topic_sends_the_message_to_the_error_topic_not_back_to_pubsub():
    pytest.importorskip("google.api_core")
    publisher = NotFoundPublisher(missing=frozenset({"t-nope"}))
    out = sink(publisher, decoded_topic="t-${document_type}")
    out.deliver([routed("ns", "nope"), routed("ns", "main")], [])
    delivered = sorted((t, a.get("error_type")) for t, _, a in publisher.published)
    assert delivered == [("decoder-errors", "DecodedTopicNotFound"), ("t-main", None)]
    # Other failures still ask for a redelivery.
    with pytest.raises(DeliveryFailed):
        sink(
            FakePublisher(failing=frozenset({"t-main"})), decoded_topic="t-${document_type}"
        ).deliver([routed("ns", "main")], [])


def test_a_static_decoded_topic_must_be_a_valid_name():
    with pytest.raises(ValueError, match="not a valid Pub/Sub topic name"):
        DecodedTopics("p", "no spaces allowed")


def test_the_topic_cache_is_bounded_whatever_names_arrive(monkeypatch):
    from ingestion.adapters import pubsub_topics as module

    monkeypatch.setattr(module, "MAX_CACHED_TOPICS", 50)
    topics = DecodedTopics("p", "d-${document_namespace}-${document_type}")
    for index in range(500):
        topics.path_for({"document_namespace": f"n{index}", "document_type": "t"})
        assert len(topics._paths) <= 50


# --- Pub/Sub's 100 attributes, enforced deterministically at the output -----------------------
@given(
    # Upper-case names: none of them is one the sink removes for other reasons.
    extra=st.dictionaries(
        st.text("ABCDEFGHIJ", min_size=1, max_size=8), st.text(max_size=4), max_size=150
    ),
    order=st.randoms(),
)
def test_at_most_100_attributes_are_published_and_always_the_same_ones(extra, order):
    base = {"document_namespace": "ns", "document_type": "t", "error_type": "ParsePayload"}
    attributes = {**extra, **base}
    shuffled = list(attributes.items())
    order.shuffle(shuffled)
    first, _ = outgoing_attributes(attributes, {"job_name": "j"})
    second, _ = outgoing_attributes(dict(shuffled), {"job_name": "j"})
    assert first == second
    assert len(first) <= MAX_ATTRIBUTES
    assert base.items() <= first.items() and first["job_name"] == "j"
    if len(attributes) + 1 > MAX_ATTRIBUTES:
        assert int(first["attributes_dropped"]) == len(attributes) + 1 - (MAX_ATTRIBUTES - 1)
