import base64
import json

import pytest

from ingestion.adapters.envelope import InvalidEnvelope, parse_envelope
from ingestion.core.redact import without_client_ip

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


def test_rejected_envelope_body_loses_its_ip_attributes():
    record = {
        **MESSAGE,
        "data": "***",
        "attributes": {"remote_addr": "1.2.3.4", "x_forwarded_for": "5.6.7.8", "uri": "/u"},
    }
    cleaned = json.loads(without_client_ip(body({"message": record})))
    assert cleaned["message"]["attributes"] == {"uri": "/u"}
    structured = {"specversion": "1.0", "data": {"message": record}}
    assert "1.2.3.4" not in without_client_ip(body(structured)).decode()
    assert without_client_ip(b"plain") == b"plain"
