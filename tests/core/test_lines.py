"""The json and raw line forms (pure: bytes in, message out, and back)."""

import json

import pytest

from ingestion.core.lines import UnreadableLine, line_from_message, message_from_line
from ingestion.core.message import Message


def test_json_form_with_message_id():
    line = json.dumps(
        {"attributeMap": {"uri": "/x", "n": None}, "payload": "e30=", "messageId": "42"}
    ).encode()
    message = message_from_line(line)
    assert message.attributes == {"uri": "/x", "message_id": "42"}
    assert message.payload == b"{}"


def test_json_form_with_null_attributes_and_missing_payload():
    message = message_from_line(b'{"attributeMap": null}')
    assert message.attributes == {}
    assert message.payload == b""


def test_flat_raw_landfill_form():
    line = json.dumps({"uri": "/submit/a", "submission_timestamp": "t", "payload": "e30="})
    message = message_from_line(line.encode())
    assert message.attributes == {"uri": "/submit/a", "submission_timestamp": "t"}
    assert message.payload == b"{}"


@pytest.mark.parametrize(
    "line", [b"not json", b"[1]", b'{"payload": "***"}', b'{"payload": 5}', b'{"attributeMap": 3}']
)
def test_unreadable_lines_are_reported(line):
    with pytest.raises(UnreadableLine):
        message_from_line(line)


def test_round_trip_sorts_attribute_keys():
    message = Message({"b": "2", "a": "1"}, b"\x00\xff")
    line = line_from_message(message)
    assert line.startswith(b'{"attributeMap":{"a":"1","b":"2"}')
    assert message_from_line(line) == message
