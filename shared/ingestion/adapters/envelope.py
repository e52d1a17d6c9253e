"""Pub/Sub messages out of the HTTP requests that deliver them to the function.

Three shapes arrive at the same endpoint: an Eventarc CloudEvent in binary mode (``ce-*`` headers,
the body is ``{"message": ..., "subscription": ...}``), a CloudEvent in structured mode
(``application/cloudevents+json``, the same object under ``data``), and a raw Pub/Sub push body.
Pub/Sub spells the message fields both ways (``messageId``/``message_id``,
``publishTime``/``publish_time``) and omits ``data`` for an empty payload, as a stub-installer
ping has. The Pub/Sub message id is copied into the ``message_id`` attribute: stub-installer
document ids are derived from it (D-06, D-13).

Two more forms are accepted because producers other than Pub/Sub push send them: a structured
CloudEvent whose payload is ``data_base64`` (the CloudEvents JSON format for binary data) or a
``data`` JSON string, and a body sent with ``Content-Encoding: gzip``, inflated up to
``MAX_BODY_BYTES`` (a Pub/Sub message is at most 10 MB, 13.4 MB once base64-encoded in JSON).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from ..core.errors import UnreadableInput
from ..core.message import Message

CLOUDEVENT_JSON = "application/cloudevents+json"
MAX_BODY_BYTES = 16 * 1024 * 1024


class InvalidEnvelope(UnreadableInput):
    """The request is not a Pub/Sub message in any shape we know; ``body`` is the request."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    message: Message
    message_id: str | None
    publish_time: str | None
    subscription: str | None


def _field(record: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = record.get(camel)
    return record.get(snake) if value is None else value


def parse_envelope(body: bytes, headers: Mapping[str, str]) -> Delivery:
    """The Pub/Sub message a push request carries; raises ``InvalidEnvelope``."""
    try:
        return _parse(body, headers)
    except InvalidEnvelope as exc:
        exc.body = body
        raise


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header by its lower-case name, from a case-insensitive or a plain mapping."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), "")
    return value


def _inflated(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        inflated = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise InvalidEnvelope(f"request body is not valid gzip: {exc}") from exc
    if len(inflated) > MAX_BODY_BYTES:
        raise InvalidEnvelope(f"request body inflates beyond {MAX_BODY_BYTES} bytes")
    if not inflater.eof:
        raise InvalidEnvelope("request body is truncated gzip")
    return inflated


def _cloudevent_data(document: dict[str, Any]) -> Any:
    """The object a structured CloudEvent carries, from ``data`` or ``data_base64``."""
    data = document.get("data")
    if data is None and isinstance(document.get("data_base64"), str):
        try:
            data = base64.b64decode(document["data_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidEnvelope("CloudEvent data_base64 is not valid base64") from exc
    if isinstance(data, str | bytes):  # JSON text, as some producers send it
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidEnvelope("CloudEvent data is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidEnvelope("CloudEvent has no data object")
    return data


def _parse(body: bytes, headers: Mapping[str, str]) -> Delivery:
    if _header(headers, "content-encoding").strip().lower() == "gzip":
        body = _inflated(body)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidEnvelope(f"request body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidEnvelope("request body is not a JSON object")
    content_type = _header(headers, "content-type")
    event_id = _header(headers, "ce-id") or None
    if content_type.startswith(CLOUDEVENT_JSON) or "specversion" in document:
        event_id = document.get("id")
        document = _cloudevent_data(document)
    record = document.get("message")
    if not isinstance(record, dict):
        raise InvalidEnvelope("no Pub/Sub message in the request")
    attributes = record.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise InvalidEnvelope("message attributes are not a string map")
    data = record.get("data") or ""
    if not isinstance(data, str):
        raise InvalidEnvelope("message data is not a base64 string")
    try:
        payload = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEnvelope(f"message data is not valid base64: {exc}") from exc
    message_id = _field(record, "messageId", "message_id") or event_id
    attributes = dict(attributes)
    if isinstance(message_id, str) and message_id:
        attributes["message_id"] = message_id
    publish_time = _field(record, "publishTime", "publish_time")
    subscription = document.get("subscription")
    return Delivery(
        message=Message(attributes=attributes, payload=payload),
        message_id=message_id if isinstance(message_id, str) else None,
        publish_time=publish_time if isinstance(publish_time, str) else None,
        subscription=subscription if isinstance(subscription, str) else None,
    )
