"""The ``client_id`` attribute, normalised and written back into the payload (D-39, §10).

Which fields are read, in which order, and how a value is normalised is the shared rule of
``core.client_ids``; this step always writes the normalised value back, in place, so that every
output carries the same spelling. Glean's value always overwrites the attribute, but an attribute
already present (a replay of decoded output) suppresses the top-level lookups and their rewrite,
exactly as the reference's ``attributes.get("client_id") == null`` checks do.
"""

from __future__ import annotations

from ..context import Context
from ..core.client_ids import CLIENT_ID, payload_client_id
from ..core.message import Message


def normalize_client_id(message: Message, context: Context) -> Message:
    document = message.document
    if document is None:
        return message
    client_id = payload_client_id(
        document, write_back=True, top_level=CLIENT_ID not in message.attributes
    )
    if client_id is None:
        return message
    return message.evolve(set_attributes={CLIENT_ID: client_id})
