import base64
import gzip
import json

import pytest

from ingestion.adapters.envelope import MAX_BODY_BYTES, InvalidEnvelope, parse_envelope

MESSAGE = {
    "data": base64.b64encode(b'{"a": 1}').decode(),
    "attributes": {"uri": "/submit/x/y/1/z"},
    "messageId": "123",
    "publishTime": "2026-11-20T10:00:00Z",
}


def body(value) -> bytes:
    return json.dumps(value).encode()


def test_raw_push_body():
    delivery = parse_envelope(
        body({"message": MESSAGE, "subscription": "projects/p/subscriptions/s"}), {}
    )
    assert delivery.message.payload == b'{"a": 1}'
    assert delivery.message.attributes == {"uri": "/submit/x/y/1/z", "message_id": "123"}
    assert delivery.subscription == "projects/p/subscriptions/s"
    assert delivery.publish_time == "2026-11-20T10:00:00Z"


def test_snake_case_fields_and_missing_data():
    record = {"attributes": {"uri": "/stub/v8"}, "message_id": "77", "publish_time": "t"}
    delivery = parse_envelope(body({"message": record, "subscription": "s"}), {})
    assert delivery.message.payload == b""
    assert delivery.message.attributes["message_id"] == "77"
    assert delivery.publish_time == "t"


def test_binary_cloudevent_takes_the_id_from_headers_when_the_message_has_none():
    record = {k: v for k, v in MESSAGE.items() if k != "messageId"}
    headers = {"ce-id": "ce-9", "ce-type": "google.cloud.pubsub.topic.v1.messagePublished"}
    delivery = parse_envelope(body({"message": record, "subscription": "s"}), headers)
    assert delivery.message.attributes["message_id"] == "ce-9"


def test_structured_cloudevent():
    event = {"specversion": "1.0", "id": "e1", "type": "t", "source": "s",
             "data": {"message": MESSAGE, "subscription": "s"}}  # fmt: skip
    delivery = parse_envelope(body(event), {"content-type": "application/cloudevents+json"})
    assert delivery.message.payload == b'{"a": 1}'
    assert delivery.message_id == "123"


def test_existing_message_id_attribute_is_the_pubsub_one():
    record = {**MESSAGE, "attributes": {"message_id": "spoofed"}}
    delivery = parse_envelope(body({"message": record}), {})
    assert delivery.message.attributes["message_id"] == "123"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        body({"subscription": "s"}),
        body({"message": "x"}),
        body({"message": {**MESSAGE, "data": "***"}}),
        body({"message": {**MESSAGE, "data": 5}}),
        body({"message": {**MESSAGE, "attributes": {"k": 1}}}),
        body({"specversion": "1.0", "data": None}),
    ],
)
def test_anything_else_is_an_invalid_envelope(raw):
    with pytest.raises(InvalidEnvelope):
        parse_envelope(raw, {})


# --- forms producers other than Pub/Sub push send --------------------------------------------
def test_structured_cloudevent_with_data_base64():
    data = base64.b64encode(body({"message": MESSAGE, "subscription": "s"})).decode()
    event = {"specversion": "1.0", "id": "e1", "type": "t", "source": "s", "data_base64": data}
    delivery = parse_envelope(body(event), {"Content-Type": "application/cloudevents+json"})
    assert delivery.message.payload == b'{"a": 1}'
    assert delivery.message_id == "123"


@pytest.mark.parametrize("data_base64", ["***", base64.b64encode(b"[1]").decode(), ""])
def test_structured_cloudevent_with_bad_data_base64_is_invalid(data_base64):
    with pytest.raises(InvalidEnvelope):
        parse_envelope(body({"specversion": "1.0", "data_base64": data_base64}), {})


@pytest.mark.parametrize("header", ["Content-Encoding", "content-encoding", "CONTENT-ENCODING"])
def test_a_gzip_encoded_body_is_inflated(header):
    compressed = gzip.compress(body({"message": MESSAGE, "subscription": "s"}))
    assert parse_envelope(compressed, {header: "gzip"}).message.payload == b'{"a": 1}'


@pytest.mark.parametrize(
    "raw",
    [
        b"not gzip at all",
        gzip.compress(body({"message": MESSAGE}))[:-12],  # truncated
        gzip.compress(b" " * (MAX_BODY_BYTES + 1)),  # a bomb: stops one byte past the limit
    ],
    ids=["not-gzip", "truncated", "bomb"],
)
def test_a_bad_gzip_body_is_an_invalid_envelope_carrying_what_arrived(raw):
    with pytest.raises(InvalidEnvelope) as raised:
        parse_envelope(raw, {"content-encoding": "gzip"})
    assert raised.value.body == raw
