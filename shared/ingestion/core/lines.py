"""The ``json`` and ``raw`` line forms of a message, as bytes in and bytes out (D-07, D-09, D-63).

Pure: it works on a line from any source (a local file, a Cloud Storage byte range, an Avro
record's body) and never opens anything.

``json`` lines are ``{"attributeMap": {...}|null, "payload": "<base64>", "messageId": ...}``;
``raw`` lines carry every attribute as a top-level string field beside ``payload``. A line that is
neither is an ``UnreadableLine`` carrying the line, which the service turns into an error output
of type ``DecodePubsubMessages``, so no input is ever lost. Output lines are always ``json``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from .errors import UnreadableInput
from .message import Message

COMMENT_PREFIX = b"//"


class UnreadableLine(UnreadableInput):
    """An input line that is not a message in the json or raw form; ``body`` is the line."""


def is_content(line: bytes) -> bool:
    """False for a blank line and a ``//`` comment, which carry no message."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith(COMMENT_PREFIX)


def message_from_line(line: bytes) -> Message:
    """Parse one line of the json or raw form; raises ``UnreadableLine``."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise UnreadableLine(f"line is not JSON: {exc}", line) from exc
    if not isinstance(record, dict):
        raise UnreadableLine("line is not a JSON object", line)
    try:
        payload = _decode_payload(record.get("payload"))
        if "attributeMap" in record or set(record) <= {"payload", "messageId"}:
            attributes = _string_map(record.get("attributeMap") or {})
            message_id = record.get("messageId")
            if isinstance(message_id, str) and message_id and "message_id" not in attributes:
                attributes["message_id"] = message_id
        else:  # flat raw landfill row: every other field is an attribute
            attributes = _string_map({k: v for k, v in record.items() if k != "payload"})
    except UnreadableLine as exc:
        exc.body = line
        raise
    return Message(attributes=attributes, payload=payload)


def read_line(line: bytes) -> Message | UnreadableLine:
    """The message of a line, or the reason it is not one (for the service to report)."""
    try:
        return message_from_line(line)
    except UnreadableLine as exc:
        return exc


def _decode_payload(value: Any) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise UnreadableLine("payload is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableLine(f"payload is not valid base64: {exc}") from exc


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UnreadableLine("attributes are not an object")
    attributes: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue  # null attributes are dropped, as Pub/Sub has no null values
        attributes[key] = item if isinstance(item, str) else orjson.dumps(item).decode()
    return attributes


def line_pieces(message: Message, *, newline: bool = False) -> tuple[bytes, bytes, bytes]:
    """The ``json`` line of a message in three pieces (the attributes, the base64 payload, the
    end), for a writer that hands them on without joining them.

    Joined, they are exactly ``orjson.dumps({"attributeMap": ..., "payload": ...},
    option=OPT_SORT_KEYS)``: attribute keys sorted (a line is the same whatever order the
    attributes were set in), the payload's base64 written as it is (its alphabet needs no JSON
    escape), so the payload is encoded once and never copied into a ``str`` nor scanned again.
    """
    return (
        b'{"attributeMap":'
        + orjson.dumps(message.attributes, option=orjson.OPT_SORT_KEYS)
        + b',"payload":"',
        binascii.b2a_base64(message.payload, newline=False),
        b'"}\n' if newline else b'"}',
    )


def line_from_message(message: Message) -> bytes:
    """The ``json`` line of a message (no newline); attribute keys sorted."""
    return b"".join(line_pieces(message))
