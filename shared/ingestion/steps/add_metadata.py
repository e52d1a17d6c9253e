"""AddMetadata (D-56..D-59): inject the attributes into the payload as nested metadata.

The decoded payload must stand on its own (BigQuery rows and replays lose Pub/Sub attributes), so
the attributes are laid out as the ``metadata/structured-ingestion.1`` and
``metadata/telemetry-ingestion.1`` schemas describe (D-59) and written *before* the payload's own
fields (D-57). ``metadata_from_attributes`` is the pure layout, reused by the sink formats (D-60).
The attributes themselves are kept untouched on the message (D-58); ``client_compression``,
``client_id``, ``os`` and ``os_version`` stay attributes only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ..context import Context
from ..core.errors import InvalidJsonObject
from ..core.jvm import parse_int
from ..core.message import Message
from ..core.metadata_layout import (
    HEADER_ATTRIBUTES,
    IDENTIFYING_FIELDS,
    PREFIXED_GROUPS,
    SAMPLE_ID,
    TELEMETRY_NAMESPACE,
    TOP_LEVEL_STRING_FIELDS,
    URI_ATTRIBUTES,
)
from .parse_json import reject_rounded_integers


def _route(key: str) -> tuple[str, str] | None:
    """Which metadata group an attribute goes to, and under which name."""
    for group, prefix in PREFIXED_GROUPS:
        if key.startswith(prefix):
            return group, key[len(prefix) :]
    if key in HEADER_ATTRIBUTES:
        return "header", key
    if key in URI_ATTRIBUTES:
        return "uri", key
    return None


# (attribute, group, name in the group) for each attribute that goes into a group, in order.
_Routing = tuple[tuple[str, str, str], ...]
_MAX_ROUTINGS = 1024
# Attribute names, in order -> their routing. Messages come in a handful of shapes, so this
# replaces a decision per attribute by one lookup per message. Emptied when full (names come
# from clients); threads may race on it, but they only ever store equal values.
_routings: dict[tuple[str, ...], _Routing] = {}


def _routing(names: tuple[str, ...]) -> _Routing:
    routing = _routings.get(names)
    if routing is None:
        routing = tuple((name, *route) for name in names if (route := _route(name)) is not None)
        if len(_routings) >= _MAX_ROUTINGS:
            _routings.clear()
        _routings[names] = routing
    return routing


def metadata_from_attributes(attributes: Mapping[str, str]) -> dict[str, Any]:
    """The injected metadata object for ``attributes`` (D-56).

    ``geo``, ``isp``, ``user_agent`` and ``header`` are always present, even empty; ``uri`` only
    for telemetry. Keys inside a group follow the attributes' order.
    """
    groups: dict[str, dict[str, str]] = {"geo": {}, "isp": {}, "user_agent": {}, "header": {}}
    groups["uri"] = {}
    for attribute, group, name in _routing(tuple(attributes)):
        groups[group][name] = attributes[attribute]

    metadata: dict[str, Any] = groups
    if attributes.get("document_namespace") != TELEMETRY_NAMESPACE:
        del metadata["uri"]
    for name in IDENTIFYING_FIELDS:
        if (field := attributes.get(name)) is not None:
            metadata[name] = field

    payload: dict[str, Any] = {"metadata": metadata}
    for name in TOP_LEVEL_STRING_FIELDS:
        if (field := attributes.get(name)) is not None:
            payload[name] = field
    sample_id = attributes.get(SAMPLE_ID)
    if sample_id is not None and (number := parse_int(sample_id)) is not None:
        payload[SAMPLE_ID] = number
    return payload


def merge_payload(payload: bytes, metadata: bytes) -> bytes:
    """The reference's byte-level merge (D-57): metadata fields, then the payload's own."""
    if len(payload) < 2 or payload[0] != ord("{"):
        raise InvalidJsonObject("invalid json object: must start with {")
    separator = b"," if len(payload) > 2 else b""
    return metadata[:-1] + separator + payload[1:]


def add_metadata(message: Message, context: Context) -> Message:
    metadata = metadata_from_attributes(message.attributes)
    document = message.document
    if document is None:
        merged_bytes = merge_payload(message.payload, orjson.dumps(metadata))
        return message.evolve(payload=merged_bytes)
    # A dict merge keeps the same order as the byte merge: metadata keys first.
    merged = {**metadata, **document}
    output = orjson.dumps(merged)
    reject_rounded_integers(output, message.payload)
    return message.evolve(payload=output, document=merged)
