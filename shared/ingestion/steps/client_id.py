"""The ``client_id`` attribute, normalised and written back into the payload (D-39, §10).

Sources in order: Glean's ``client_info.client_id``, then the top-level ``client_id``, then the
top-level ``clientId``. A value counts only when it normalises as a UUID (braces stripped, parsed
as Java would, lower-cased); the normalised value replaces the field it came from, in place, so
that every output carries the same spelling. Glean's value always overwrites the attribute, but an
attribute already present (a replay of decoded output) suppresses the top-level lookups and their
rewrite, exactly as the reference's ``attributes.get("client_id") == null`` checks do.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..core.message import Message
from ..core.uuids import normalize_uuid

CLIENT_ID = "client_id"
_TOP_LEVEL_FIELDS = (CLIENT_ID, "clientId")


def _normalize_in_place(container: dict[str, Any], field: str) -> str | None:
    value = container.get(field)
    if not isinstance(value, str) or not value:
        return None
    normalized = normalize_uuid(value)
    if normalized is not None:
        container[field] = normalized
    return normalized


def normalize_client_id(message: Message, context: Context) -> Message:
    document = message.document
    if document is None:
        return message
    client_id: str | None = None
    client_info = document.get("client_info")
    if isinstance(client_info, dict):
        client_id = _normalize_in_place(client_info, CLIENT_ID)
    if client_id is None and CLIENT_ID not in message.attributes:
        for field in _TOP_LEVEL_FIELDS:
            client_id = _normalize_in_place(document, field)
            if client_id is not None:
                break
    if client_id is None:
        return message
    return message.evolve(set_attributes={CLIENT_ID: client_id})
